#!/bin/sh
# The shipped network and vif-bridge scripts: argument handling and dry-run output
# everywhere; the real thing (a bridge, a port, addresses moved and moved back) inside a
# network namespace of its own when run as root with unshare(1), else that part is skipped.
#
# Usage: test_scripts.sh SCRIPTS_DIR. Exit 0 pass, 1 fail, 77 when nothing could run.
set -eu

dir=${1:?usage: $0 SCRIPTS_DIR}
net=$dir/network
vif=$dir/vif-bridge

. "$(dirname "$0")/../vif/script_check.sh"

# ---- dry run: no changes, every command printed ----
out=$(XEND_SCRIPT_DRY_RUN=1 "$vif" up domain=vm1 vif=vif5.0 mac=aa:00:00:12:34:56 \
    bridge=xen-br0 "ip=10.0.0.5/24 10.0.0.6" 2>&1)
contains "vif-bridge dry-run joins the bridge" "dry-run: ip link set dev vif5.0 master xen-br0" "$out"
contains "vif-bridge dry-run admits each address" \
    "dry-run: iptables -A FORWARD -m physdev --physdev-is-bridged --physdev-in vif5.0 -s 10.0.0.6 -j ACCEPT" "$out"
out=$(XEND_SCRIPT_DRY_RUN=1 "$vif" down domain=vm1 vif=vif5.0 mac=aa:00:00:12:34:56 \
    bridge=xen-br0 2>&1)
contains "vif-bridge dry-run down leaves the bridge" "dry-run: ip link set dev vif5.0 nomaster" "$out"
contains "vif-bridge dry-run down drops the rule" \
    "dry-run: iptables -D FORWARD -m physdev --physdev-is-bridged --physdev-in vif5.0 -j ACCEPT" "$out"
out=$(XEND_SCRIPT_DRY_RUN=1 "$net" start bridge=br9 antispoof=yes netdev=none 2>&1)
contains "network dry-run start makes the bridge" "dry-run: ip link set dev br9 up" "$out"
contains "network dry-run start sets FORWARD policy" "dry-run: iptables -P FORWARD DROP" "$out"
out=$(XEND_SCRIPT_DRY_RUN=1 "$net" stop bridge=br9 antispoof=no netdev=none 2>&1)
contains "network dry-run stop removes the bridge" "dry-run: ip link del dev br9" "$out"

# ---- argument errors ----
check "vif-bridge refuses an unknown action" 1 "$(status "$vif" sideways vif=vif1.0 bridge=b)"
check "vif-bridge refuses a bad vif name" 1 "$(status "$vif" up "vif=vif1.0;rm" bridge=b)"
check "vif-bridge refuses a bad address" 1 \
    "$(XEND_SCRIPT_DRY_RUN=1 status "$vif" up vif=vif1.0 bridge=b "ip=10.0.0.1 \$(x)")"
check "network refuses a bad antispoof" 1 \
    "$(XEND_SCRIPT_DRY_RUN=1 status "$net" start bridge=b antispoof=maybe)"
out=$("$vif" up domain=vm1 vif=vif1.0 mac=aa:00:00:00:00:01 bridge=nosuchbr0 2>&1 || true)
contains "vif-bridge up onto a missing bridge says why" "bridge nosuchbr0 does not exist" "$out"

# ---- the real thing, in a network namespace of our own ----
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null 2>&1 ||
    ! unshare -n true 2>/dev/null; then
    echo "skip network namespace part (needs root and unshare -n)"
else
    out=$(unshare -n sh -eu -c '
        net=$1 vif=$2
        ip link set lo up
        ip link add eth0 type veth peer name eth0p
        ip link set eth0 up
        ip addr add 10.9.0.2/24 dev eth0
        ip route add default via 10.9.0.1
        "$net" start bridge=xbr0 antispoof=no netdev=eth0 >/dev/null 2>&1
        echo "eth0-master=$(ip -o link show dev eth0 | grep -o "master xbr0" || true)"
        echo "bridge-addr=$(ip -o -4 addr show dev xbr0 | awk "{print \$4}")"
        echo "route=$(ip route show default | awk "{print \$3, \$5}")"
        ip link add vif5.0 type veth peer name guest0
        "$vif" up domain=vm1 vif=vif5.0 mac=aa:00:00:12:34:56 bridge=xbr0 >/dev/null 2>&1
        echo "vif-master=$(ip -o link show dev vif5.0 | grep -o "master xbr0" || true)"
        echo "vif-up=$(ip -o link show dev vif5.0 | grep -o "<[^>]*UP" | head -1 | grep -c UP)"
        "$net" stop bridge=xbr0 antispoof=no netdev=eth0 >/dev/null 2>&1
        echo "kept-with-port=$(ip -o link show dev xbr0 >/dev/null 2>&1 && echo yes || echo no)"
        "$vif" down domain=vm1 vif=vif5.0 mac=aa:00:00:12:34:56 bridge=xbr0 >/dev/null 2>&1
        echo "vif-after-down=$(ip -o link show dev vif5.0 | grep -o "master xbr0" || true)"
        "$net" stop bridge=xbr0 antispoof=no netdev=eth0 >/dev/null 2>&1
        echo "bridge-gone=$(ip -o link show dev xbr0 >/dev/null 2>&1 && echo no || echo yes)"
        echo "eth0-addr=$(ip -o -4 addr show dev eth0 | awk "{print \$4}")"
        echo "route-back=$(ip route show default | awk "{print \$3, \$5}")"
    ' sh "$net" "$vif" 2>&1) || true
    contains "netns: start puts netdev on the bridge" "eth0-master=master xbr0" "$out"
    contains "netns: start moves the address to the bridge" "bridge-addr=10.9.0.2/24" "$out"
    contains "netns: start moves the default route" "route=10.9.0.1 xbr0" "$out"
    contains "netns: vif up joins the bridge" "vif-master=master xbr0" "$out"
    contains "netns: vif up brings it up" "vif-up=1" "$out"
    contains "netns: stop keeps a bridge that still has vifs" "kept-with-port=yes" "$out"
    contains "netns: vif down leaves the bridge" "vif-after-down=
" "$out"
    contains "netns: stop removes the empty bridge" "bridge-gone=yes" "$out"
    contains "netns: stop gives the address back" "eth0-addr=10.9.0.2/24" "$out"
    contains "netns: stop gives the route back" "route-back=10.9.0.1 eth0" "$out"
fi

if [ "$fails" -ne 0 ]; then
    echo "$fails check(s) failed"
    exit 1
fi
echo "all checks passed"
