#!/bin/bash
# Set-up and daily commands for xend on Debian 12 (run as root on a fresh machine).
#
#   tools/dev.sh run    install the build dependencies, build, and run xend in the
#                       foreground on the simulated hypervisor (http://127.0.0.1:8000/xend)
#   tools/dev.sh test   install, build (plain and with ASan/UBSan) and run every test,
#                       then the real-hypervisor test (Xen 4.17 in QEMU: tests/xen/run.sh)
#                       where the machine can run it (XEND_SKIP_XEN=1 skips it)
#   tools/dev.sh build  install and build only
#
# Environment: BUILD_DIR (default ./build), JOBS (default: the number of cores).
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$(pwd)
BUILD_DIR=${BUILD_DIR:-$SRC/build}
JOBS=${JOBS:-$(nproc)}
# xend refuses plugins that group or others may write (docs/plugins.md): build them so.
umask 022
PACKAGES=(build-essential cmake pkg-config libevhtp-dev libevent-dev libconfig-dev
          libcmocka-dev libxen-dev libssl-dev curl iproute2 util-linux help2man
          clang-format)

# The browser tests only (tests/browser): Debian's chromium, driven by playwright-core from
# npm (tests/browser/package-lock.json). Node.js comes from Debian unless one is installed.
TEST_PACKAGES=(chromium)

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }

install_packages() { # install_packages [PACKAGE...] (default: PACKAGES)
    local missing=() wanted=("$@")
    [ $# -gt 0 ] || wanted=("${PACKAGES[@]}")
    for p in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} = 0 ] && return 0
    echo "== installing: ${missing[*]}"
    if [ "$(id -u)" != 0 ]; then
        echo "tools/dev.sh: need root to install ${missing[*]}" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Node.js and npm: the build fetches xterm.js for the console page (plugins/console/xterm;
# Debian 12's libjs-xterm has no browser bundle, docs/console-web.md), the browser tests
# their driver. Debian's packages, unless a node and npm are there already (a NodeSource
# nodejs carries its own npm and conflicts with Debian's).
install_node() {
    command -v node >/dev/null || install_packages nodejs
    command -v npm >/dev/null || install_packages npm
}

install_browser_tools() {
    install_packages "${TEST_PACKAGES[@]}"
    echo "== browser test tools (npm ci in tests/browser)"
    (cd "$SRC/tests/browser" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}

# The builds made here are developers' and tests' builds: they carry the crash points
# (inert unless XEND_CRASH_AT is set) that the crash tests walk. An install built with
# plain cmake has none.
build() { # build DIR [cmake args...]
    local dir=$1
    shift
    cmake -S "$SRC" -B "$dir" -DXEND_CRASH_POINTS=ON "$@" >/dev/null
    cmake --build "$dir" -j "$JOBS"
}

case "${1:-}" in
run)
    install_packages
    install_node
    build "$BUILD_DIR"
    mkdir -p /var/lib/xend
    # The scripts from the source tree, xterm.js from the build tree: nothing is installed.
    exec "$BUILD_DIR/bin/xend" start --foreground -c "$SRC/examples/xend.conf" \
        -o script-dir="$SRC/scripts" -o console-xterm-dir="$BUILD_DIR/share/xend/xterm" "${@:2}"
    ;;
test)
    install_packages
    install_node
    install_browser_tools
    build "$BUILD_DIR"
    echo "== tests (plain build)"
    (cd "$BUILD_DIR" && ctest --output-on-failure -j "$JOBS")
    echo "== tests (AddressSanitizer + UndefinedBehaviorSanitizer)"
    build "$BUILD_DIR-asan" -DXEND_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
    (cd "$BUILD_DIR-asan" && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j "$JOBS")
    if [ "${XEND_SKIP_XEN:-}" != 1 ]; then
        echo "== the real-hypervisor test (xenctrl backend, Xen 4.17 in QEMU)"
        tests/xen/run.sh "$BUILD_DIR"
    fi
    ;;
build)
    install_packages
    install_node
    build "$BUILD_DIR"
    ;;
-h | --help | help)
    usage
    ;;
*)
    usage >&2
    exit 2
    ;;
esac
