#!/bin/sh
# The shipped vnet script: argument handling and dry-run output everywhere; the real thing
# (a bridge made, a vnetif put on it, a del refused while a vif is on the bridge, then the
# bridge removed, a repeated add and del harmless, the module's policy file written) inside
# a network namespace of its own when run as root with unshare(1), else that part is
# skipped.
#
# Usage: test_script.sh SCRIPTS_DIR. Exit 0 pass, 1 fail.
set -eu

dir=${1:?usage: $0 SCRIPTS_DIR}
vnet=$dir/vnet

. "$(dirname "$0")/../vif/script_check.sh"

# ---- dry run: no changes, every command printed ----
out=$(XEND_SCRIPT_DRY_RUN=1 "$vnet" add id=97 bridge=vnet97 vnetif=vnetif97 security=auth 2>&1)
contains "dry-run add tells the module" \
    "dry-run: echo '(vnet.add (id 97) (bridge vnet97) (vnetif vnetif97) (security auth))' > /proc/vnet/policy" "$out"
contains "dry-run add makes the bridge" "dry-run: ip link add name vnet97 type bridge" "$out"
contains "dry-run add puts the vnetif on it" "dry-run: ip link set dev vnetif97 master vnet97" "$out"
out=$(XEND_SCRIPT_DRY_RUN=1 "$vnet" del id=97 bridge=vnet97 vnetif=vnetif97 2>&1)
contains "dry-run del removes the bridge" "dry-run: ip link del dev vnet97" "$out"
contains "dry-run del tells the module" "dry-run: echo '(vnet.del 97)' > /proc/vnet/policy" "$out"
out=$(XEND_SCRIPT_DRY_RUN=1 "$vnet" del id=12 2>&1)
contains "del without names uses the default bridge" "dry-run: ip link del dev vnet12" "$out"

# ---- argument errors ----
check "refuses an unknown action" 1 "$(XEND_SCRIPT_DRY_RUN=1 status "$vnet" sideways id=1)"
check "refuses no action" 1 "$(XEND_SCRIPT_DRY_RUN=1 status "$vnet" id=1)"
check "refuses a missing id" 1 "$(XEND_SCRIPT_DRY_RUN=1 status "$vnet" add bridge=b)"
check "refuses a non-numeric id" 1 "$(XEND_SCRIPT_DRY_RUN=1 status "$vnet" add 'id=1;rm')"
check "refuses a bad bridge name" 1 "$(XEND_SCRIPT_DRY_RUN=1 status "$vnet" add id=1 'bridge=a b')"
check "refuses a too long vnetif" 1 \
    "$(XEND_SCRIPT_DRY_RUN=1 status "$vnet" add id=1 vnetif=abcdefghijklmnop)"
check "refuses a bad security" 1 "$(XEND_SCRIPT_DRY_RUN=1 status "$vnet" add id=1 security=max)"
out=$(XEND_SCRIPT_DRY_RUN=1 "$vnet" add id=1 security=max 2>&1 || true)
contains "a bad security says what it wants" "want none, auth or conf" "$out"

# ---- the real thing, in a network namespace of our own ----
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null 2>&1 ||
    ! unshare -n true 2>/dev/null; then
    echo "skip network namespace part (needs root and unshare -n)"
else
    policy=$(mktemp)
    out=$(XEND_VNET_POLICY=$policy unshare -n sh -eu -c '
        vnet=$1
        ip link set lo up
        ip link add vnetif7 type veth peer name vnetif7p
        "$vnet" add id=7 bridge=vnet7 vnetif=vnetif7 security=none >/dev/null 2>&1
        echo "bridge-up=$(ip -o link show dev vnet7 | grep -c "[<,]UP[,>]")"
        echo "vnetif-master=$(ip -o link show dev vnetif7 | grep -o "master vnet7" || true)"
        echo "policy-after-add=$(cat "$XEND_VNET_POLICY")"
        "$vnet" add id=7 bridge=vnet7 vnetif=vnetif7 security=none >/dev/null 2>&1 &&
            echo "add-again=ok" || echo "add-again=failed"
        "$vnet" add id=8 bridge=vnet8 vnetif=vnetif8 >/dev/null 2>&1 &&
            echo "local-only=ok" || echo "local-only=failed"
        ip link add vif1.0 type veth peer name guest0
        ip link set dev vif1.0 master vnet7
        "$vnet" del id=7 bridge=vnet7 vnetif=vnetif7 2>&1 | sed "s/^/del-busy: /" || true
        echo "kept-with-port=$(ip -o link show dev vnet7 >/dev/null 2>&1 && echo yes || echo no)"
        ip link set dev vif1.0 nomaster
        "$vnet" del id=7 bridge=vnet7 vnetif=vnetif7 >/dev/null 2>&1 &&
            echo "del=ok" || echo "del=failed"
        echo "bridge-gone=$(ip -o link show dev vnet7 >/dev/null 2>&1 && echo no || echo yes)"
        echo "vnetif-kept=$(ip -o link show dev vnetif7 >/dev/null 2>&1 && echo yes || echo no)"
        "$vnet" del id=7 bridge=vnet7 vnetif=vnetif7 >/dev/null 2>&1 &&
            echo "del-again=ok" || echo "del-again=failed"
    ' sh "$vnet" 2>&1) || true
    contains "netns: add makes the bridge and brings it up" "bridge-up=1" "$out"
    contains "netns: add puts the vnetif on the bridge" "vnetif-master=master vnet7" "$out"
    contains "netns: add again is harmless" "add-again=ok" "$out"
    contains "netns: add without a vnetif makes a local bridge" "local-only=ok" "$out"
    contains "netns: del refuses while a vif is on the bridge" "del-busy: vnet: vnet 7: bridge vnet7 still has ports: vif1.0" "$out"
    contains "netns: the refused del keeps the bridge" "kept-with-port=yes" "$out"
    contains "netns: del succeeds" "del=ok" "$out"
    contains "netns: del removes the bridge" "bridge-gone=yes" "$out"
    contains "netns: del leaves the module's vnetif" "vnetif-kept=yes" "$out"
    contains "netns: del again is harmless" "del-again=ok" "$out"
    want="(vnet.add (id 7) (bridge vnet7) (vnetif vnetif7) (security none))"
    contains "netns: add tells the module" "policy-after-add=$want" "$out"
    contains "netns: del tells the module" "(vnet.del 7)" "$(cat "$policy")"
    rm -f "$policy"
fi

if [ "$fails" -ne 0 ]; then
    echo "$fails check(s) failed"
    exit 1
fi
echo "all checks passed"
