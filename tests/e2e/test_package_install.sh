#!/bin/bash
# `cpack -G DEB` makes a package that works once installed: it is unpacked into a root of
# the test's own (dpkg -x, as dpkg would lay it out), and the xend, plugins, scripts and
# xm in it start, answer `xm list`, and carry their man pages and units.
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

# Run what was unpacked: its own plugins (found beside its binary), scripts and simhv.
XEND_PORT=$(free_port) EVENT_PORT=$(free_port) RELOC_PORT=$(free_port) CONSOLE_BASE=$(free_port 64)
mkdir -p "$T/state"
cat > "$T/xend.conf" <<CONF
xend-port = $XEND_PORT;
xend-address = "127.0.0.1";
xend-event-port = $EVENT_PORT;
xend-relocation-port = $RELOC_PORT;
state-dir = "$T/state";
log-file = "$T/xend.log";
pid-file = "$T/xend.pid";
backend = "sim";
script-dir = "$R/etc/xen";
simhv-socket = "$T/state/simhv.sock";
console-port-base = $CONSOLE_BASE;
CONF
"$P/sbin/xend" start -c "$T/xend.conf" && ok "the installed xend starts" || {
    not_ok "the installed xend starts" "$(tail -3 "$T/xend.log" 2>/dev/null)"; finish; }
out=$(XEND=127.0.0.1:$XEND_PORT "$P/sbin/xm" list 2>&1)
expect_match "the installed xm lists Domain-0" "^Domain-0 +0 " "$out"
check "the installed xend loaded the installed plugins" grep -qE "plugins loaded dir=$P/(sbin/\.\./)?lib/xend/plugins count=[1-9]" "$T/xend.log"
"$P/sbin/xend" stop -c "$T/xend.conf" >/dev/null
"$P/sbin/xend-simhv" --stop --socket "$T/state/simhv.sock" >/dev/null 2>&1
finish
