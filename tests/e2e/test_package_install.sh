#!/bin/bash
# `cpack -G DEB` makes a package that works once installed: it is unpacked into a root of
# the test's own (dpkg -x, as dpkg would lay it out), and the xend, plugins, scripts and
# xm in it start, answer `xm list`, and carry their man pages and units. Then it is
# installed for real, with dpkg -i, on a throwaway copy of this machine (an overlay of /
# in a mount namespace of the test's own, entered with chroot), where the installed xend
# checks its shipped config, starts and answers, and dpkg -r / -P take it away again.
source "$(dirname "$0")/lib.sh"

command -v cpack >/dev/null && command -v dpkg-deb >/dev/null || { ok "SKIP: no cpack or dpkg-deb"; finish; }
mkdir -p "$T/pkg"
if ! (cd "$BUILD_DIR" && cpack -G DEB -B "$T/pkg" > "$T/cpack.log" 2>&1); then
    not_ok "cpack -G DEB makes a package" "$(tail -5 "$T/cpack.log")"
    finish
fi
deb=$(ls "$T"/pkg/xend_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] && ok "cpack -G DEB makes a package" || { not_ok "cpack -G DEB makes a package"; finish; }
expect_match "the package depends on the libraries xend links" "libevhtp" "$(dpkg-deb -f "$deb" Depends)"
conffiles=$(dpkg-deb -I "$deb" conffiles)
expect_match "the config is a conffile" "^/etc/xen/xend.conf$" "$conffiles"
expect_match "and so are the site scripts" "^/etc/xen/vif-bridge$" "$conffiles"
R=$T/root
dpkg-deb -x "$deb" "$R"
prefix=$(grep -oE '^set\(CPACK_PACKAGING_INSTALL_PREFIX "[^"]*"' "$BUILD_DIR/CPackConfig.cmake" | cut -d'"' -f2)
P=$R$prefix
for f in sbin/xend sbin/xm sbin/xend-simhv lib/xend/plugins/hv-sim.so lib/xend/plugins/vif.so \
         share/man/man8/xend.8 lib/systemd/system/xend.service; do
    [ -e "$P/$f" ] && ok "the package has $f" || not_ok "the package has $f"
done
[ -f "$R/etc/xen/xend.conf" ] && ok "the package has /etc/xen/xend.conf" || not_ok "the package has /etc/xen/xend.conf"
expect_match "the unit runs the installed xend" "ExecStart=$prefix/sbin/xend start -f" "$(cat "$P/lib/systemd/system/xend.service")"
expect_match "the unit keeps glibc's per-thread cache off (docs/packaging.md, Memory)" \
    "Environment=GLIBC_TUNABLES=glibc.malloc.tcache_count=0" "$(cat "$P/lib/systemd/system/xend.service")"

# Run what was unpacked: its own plugins (found beside its binary), scripts and simhv.
# package_conf DIR [SCRIPT_DIR]: a config on fresh ports with its state, log and pid under
# DIR (a path as the xend that reads it sees it), printed.
package_conf() {
    XEND_PORT=$(free_port) EVENT_PORT=$(free_port) RELOC_PORT=$(free_port) CONSOLE_BASE=$(free_port 64)
    local scripts=""
    [ -n "${2:-}" ] && scripts="script-dir = \"$2\";"
    cat <<CONF
xend-port = $XEND_PORT;
xend-address = "127.0.0.1";
xend-event-port = $EVENT_PORT;
xend-relocation-port = $RELOC_PORT;
state-dir = "$1/state";
log-file = "$1/xend.log";
pid-file = "$1/xend.pid";
backend = "sim";
simhv-socket = "$1/state/simhv.sock";
console-port-base = $CONSOLE_BASE;
$scripts
CONF
}
mkdir -p "$T/state"
package_conf "$T" "$R/etc/xen" > "$T/xend.conf"
"$P/sbin/xend" start -c "$T/xend.conf" && ok "the installed xend starts" || {
    not_ok "the installed xend starts" "$(tail -3 "$T/xend.log" 2>/dev/null)"; finish; }
out=$(XEND=127.0.0.1:$XEND_PORT "$P/sbin/xm" list 2>&1)
expect_match "the installed xm lists Domain-0" "^Domain-0 +0 " "$out"
check "the installed xend loaded the installed plugins" grep -qE "plugins loaded dir=$P/(sbin/\.\./)?lib/xend/plugins count=[1-9]" "$T/xend.log"
"$P/sbin/xend" stop -c "$T/xend.conf" >/dev/null
"$P/sbin/xend-simhv" --stop --socket "$T/state/simhv.sock" >/dev/null 2>&1

# ---- dpkg -i on a copy of this machine ----------------------------------------------------
# A process holds the mount namespace in which / is overlaid (writes go to $T/upper); each
# step enters it with nsenter and runs in the copy with chroot. Nothing reaches the host.
M=$T/machine
mkdir -p "$T/upper" "$T/work" "$M"
unshare --mount --propagation private -- sh -c "
    mount -t overlay overlay -o lowerdir=/,upperdir=$T/upper,workdir=$T/work $M &&
    mount --bind /proc $M/proc && mount --bind /dev $M/dev && mount --bind /sys $M/sys &&
    mount -t tmpfs tmpfs $M/run && touch $T/ns-ready && exec sleep 600" 2>"$T/ns.err" &
holder=$!
trap 'kill $holder 2>/dev/null; cleanup' EXIT
if ! wait_until 10 test -e "$T/ns-ready"; then
    not_ok "a copy of this machine to install on (root, unshare, overlayfs)" "$(cat "$T/ns.err")"
    finish
fi
in_ns() { nsenter -t "$holder" -m -- "$@"; }
in_copy() { in_ns chroot "$M" "$@"; }
in_ns cp "$deb" "$M/var/tmp/xend.deb"
if out=$(in_copy dpkg -i /var/tmp/xend.deb 2>&1); then
    ok "dpkg -i installs the package"
else
    not_ok "dpkg -i installs the package" "$(printf '%s' "$out" | tail -3)"
fi
expect_match "dpkg knows it as installed" "^Status: install ok installed" "$(in_copy dpkg -s xend 2>&1)"
out=$(in_copy "$prefix/sbin/xend" check -c /etc/xen/xend.conf 2>&1)
expect_eq "the installed xend finds its shipped config, plugins and scripts good" \
    "/etc/xen/xend.conf: ok" "$out"
package_conf /var/tmp/xend > "$T/copy.conf"
in_copy mkdir -p /var/tmp/xend
in_ns cp "$T/copy.conf" "$M/var/tmp/xend-test.conf"
if in_copy "$prefix/sbin/xend" start -c /var/tmp/xend-test.conf; then
    ok "the installed xend starts in the copy"
    out=$(XEND=127.0.0.1:$XEND_PORT in_copy "$prefix/sbin/xm" list 2>&1)
    expect_match "and its xm lists Domain-0" "^Domain-0 +0 " "$out"
    in_copy "$prefix/sbin/xend" stop -c /var/tmp/xend-test.conf >/dev/null
    in_copy "$prefix/sbin/xend-simhv" --stop --socket /var/tmp/xend/state/simhv.sock >/dev/null 2>&1
else
    not_ok "the installed xend starts in the copy" "$(in_copy tail -3 /var/tmp/xend/xend.log 2>&1)"
fi
in_copy sh -c 'echo "# the operator was here" >> /etc/xen/xend.conf; echo "# and here" >> /etc/xen/vif-bridge'
check "installing it again (an upgrade) succeeds" in_copy dpkg -i --force-confold /var/tmp/xend.deb
check "and keeps the operator's config (a conffile)" in_copy grep -q "operator was here" /etc/xen/xend.conf
check "and the operator's site script" in_copy grep -q "and here" /etc/xen/vif-bridge
check "dpkg -r removes it" in_copy dpkg -r xend
check "its programs are gone" in_copy test ! -e "$prefix/sbin/xend"
check "its config stays (a conffile)" in_copy test -f /etc/xen/xend.conf
check "dpkg -P purges it" in_copy dpkg -P xend
check "and the config with it" in_copy test ! -e /etc/xen/xend.conf
finish
