#!/bin/bash
# Set-up and daily commands for xend on Debian 12 (run as root on a fresh machine).
#
#   tools/dev.sh run    install the build dependencies, build, and run xend in the
#                       foreground on the simulated hypervisor (http://127.0.0.1:8000/xend)
#   tools/dev.sh test   install, build (plain and with ASan/UBSan), check the style
#                       (clang-format, include layers, clang-tidy) and run every test,
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
          clang-format clang-tidy strace)

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
    cmake -S "$SRC" -B "$dir" -DXEND_CRASH_POINTS=ON "$@" >/dev/null &&
        cmake --build "$dir" -j "$JOBS"
}

# stage NAME [--needs EARLIER] COMMAND...: run one stage of the test command, timed; a
# stage whose EARLIER stage failed is skipped. stage_summary prints them all and fails if
# any failed.
STAGE_LINES=()
STAGE_FAILED=()
stage() {
    local name=$1 start=$SECONDS rc=0
    shift
    if [ "$1" = --needs ]; then
        local f
        for f in "${STAGE_FAILED[@]}"; do
            if [ "$f" = "$2" ]; then
                STAGE_LINES+=("SKIPPED $name: '$2' failed")
                STAGE_FAILED+=("$name")
                return 0
            fi
        done
        shift 2
    fi
    echo "== $name"
    "$@" || rc=$?
    if [ $rc = 0 ]; then
        STAGE_LINES+=("PASS    $name ($((SECONDS - start)) s)")
    else
        STAGE_LINES+=("FAIL    $name ($((SECONDS - start)) s, exit $rc; its output is above)")
        STAGE_FAILED+=("$name")
    fi
}
stage_summary() {
    echo "== summary of tools/dev.sh test"
    printf '%s\n' "${STAGE_LINES[@]}"
    [ ${#STAGE_FAILED[@]} = 0 ]
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
    # Every stage runs even when one before it failed (only a stage that needs a failed
    # build is skipped), and the summary says which passed, failed or were skipped.
    # The style checks (ctest label "style") are a stage of their own, once, on the plain
    # build: a finding of clang-format, of the include layers or of clang-tidy fails it.
    stage "build (plain)" build "$BUILD_DIR" -DXEND_LINT=ON
    stage "style (clang-format, include layers, clang-tidy)" --needs "build (plain)" \
        sh -c 'cd "$1" && XEND_TIDY_JOBS="$2" ctest -L style --output-on-failure' - \
        "$BUILD_DIR" "$JOBS"
    stage "tests (plain build)" --needs "build (plain)" \
        sh -c 'cd "$1" && ctest -LE style --output-on-failure -j "$2"' - "$BUILD_DIR" "$JOBS"
    stage "build (AddressSanitizer + UndefinedBehaviorSanitizer)" \
        build "$BUILD_DIR-asan" -DXEND_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
    stage "tests (AddressSanitizer + UndefinedBehaviorSanitizer)" \
        --needs "build (AddressSanitizer + UndefinedBehaviorSanitizer)" \
        sh -c 'cd "$1" && ASAN_OPTIONS=detect_leaks=1 ctest -LE style --output-on-failure -j "$2"' - \
        "$BUILD_DIR-asan" "$JOBS"
    if [ "${XEND_SKIP_XEN:-}" != 1 ]; then
        stage "the real-hypervisor test (xenctrl backend, Xen 4.17 in QEMU)" \
            --needs "build (plain)" tests/xen/run.sh "$BUILD_DIR"
    else
        STAGE_LINES+=("SKIPPED the real-hypervisor test: XEND_SKIP_XEN=1")
    fi
    stage_summary
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
