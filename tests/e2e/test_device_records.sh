#!/bin/bash
# Device hot-plug writes a record of its own (docs/store.md, "Device records"): a
# device_create, device_configure or device_destroy leaves the domain's record file as it
# was and writes one small file under state/device; an xend restart gives back exactly the
# devices acknowledged, in order, also after a later rewrite of the domain record folded the
# changes in (and the start then drops the folded change files); a crash before the change
# is durable (device.attached) loses it, one after (device.recorded) keeps it.
source "$(dirname "$0")/lib.sh"
export ARGS='sim.dirty_rate=0'
mkdir -p "$T/scripts"
use_vif_script vif-ok <<'SCRIPT'
#!/bin/sh
exit 0
SCRIPT

xend_start "$CONF" || { not_ok "xend starts"; finish; }
ok "xend starts"
crash_points=0
grep -q 'crash_points=built-in' "$T/xend.log" && crash_points=1

mac() { printf 'aa:00:00:00:77:%02x' "$1"; }
macs() { xget "/xend/domain/$1?op=vifs" | grep -oE 'aa:00:00:00:77:[0-9a-f]{2}' | tr '\n' ' '; }
record_file() { grep -l "(name $1)" "$T"/state/domain/* 2>/dev/null | head -1; }
config_macs() { xget "/xend/domain/$1" | sed 's/.*(config (vm//' | grep -oE 'aa:00:00:00:77:[0-9a-f]{2}' | tr '\n' ' '; }
restart() { xend_stop; rm -f "$T/xend.pid"; xend_start "$CONF"; }
add() { xpost "/xend/domain/$1" op=device_create "config=(vif (mac $(mac "$2")))" >/dev/null; }

xpost /xend/domain op=create "config=$(vm_config d1 32 "(device (vif (mac $(mac 1))))")" >/dev/null
expect_eq "a domain with one vif" 201 "$(http_status)"
rec=$(record_file d1)
before=$(sha256sum < "$rec")
for i in 2 3 4 5; do add d1 $i; done
expect_eq "four vifs hot-plugged" 200 "$(http_status)"
expect_eq "the domain record file is not rewritten by a hot-plug" "$before" "$(sha256sum < "$rec")"
n=$(ls "$T/state/device" 2>/dev/null | grep -vc '^\.')
expect_eq "one change record per device changed" 4 "$n"
xpost /xend/domain/d1 op=device_destroy type=vif idx=2 >/dev/null
expect_eq "a vif removed" 200 "$(http_status)"
xpost /xend/domain/d1 op=device_configure "config=(vif (mac $(mac 5)) (bridge br9))" idx=4 >/dev/null
expect_eq "a vif reconfigured" 200 "$(http_status)"
expect_eq "still not rewritten by a removal or a configure" "$before" "$(sha256sum < "$rec")"
want="$(mac 1) $(mac 2) $(mac 4) $(mac 5) "
expect_eq "the devices before the restart" "$want" "$(macs d1)"

bridge() { xget "/xend/domain/$1?op=vifs" | grep -oE "mac $(mac "$2")\) \(bridge [a-z0-9-]+" | sed 's/.*bridge //'; }
expect_eq "the reconfigured vif's bridge" br9 "$(bridge d1 5)"
restart || not_ok "xend restarts"
expect_eq "the reconfigured vif keeps its bridge across the restart" br9 "$(bridge d1 5)"
expect_eq "an xend restart gives back exactly those devices, in order" "$want" "$(macs d1)"
expect_eq "and the config lists them" "$want" "$(config_macs d1)"
add d1 6
want="$(mac 1) $(mac 2) $(mac 4) $(mac 5) $(mac 6) "
expect_eq "a hot-plug after the restart" "$want" "$(macs d1)"

# A rewrite of the domain record for another reason folds the changes in.
xpost /xend/domain/d1 op=maxmem_set memory=48 >/dev/null
expect_eq "maxmem_set rewrites the record" 200 "$(http_status)"
grep -q "$(mac 6)" "$rec" && ok "the rewritten record holds the hot-plugged devices" ||
    not_ok "the rewritten record holds the hot-plugged devices" "$(cat "$rec")"
restart || not_ok "xend restarts again"
expect_eq "after the fold and a restart, the same devices" "$want" "$(macs d1)"
grep -q 'device changes dropped' "$T/xend.log" && ok "the start drops the change files folded in" ||
    not_ok "the start drops the change files folded in"
# The start drops them with the store's ordinary (asynchronous) deletes: a moment later.
change_files() { ls "$T/state/device" 2>/dev/null | grep -vc '^\.'; }
no_change_files() { [ "$(change_files)" = 0 ]; }
wait_until 10 no_change_files
expect_eq "no change file is left" 0 "$(change_files)"

# A destroyed domain's changes are dropped by the next start.
add d1 7
xpost /xend/domain/d1 op=destroy reason=halt >/dev/null
restart || not_ok "xend restarts after the destroy"
wait_until 10 no_change_files
expect_eq "the destroyed domain's change files are gone" 0 "$(change_files)"

# A vif removed and another hot-plugged under the same index (a vif index is reused once it
# is the highest), with no rewrite of the record in between: the new one's change supersedes
# the removal's, and still a restart puts it where it went, at the end of the lists.
printf 'disk\n' > "$T/img3"
order() { xget "/xend/domain/$1" | sed 's/.*(config (vm//' | grep -oE "\(vif \(mac aa:00:00:00:77:[0-9a-f]{2}|\(vbd" | sed 's/(vif (mac //; s/(vbd/vbd/' | tr '\n' ' '; }
xpost /xend/domain op=create "config=$(vm_config d3 32 "(device (vif (mac $(mac 30)))) (device (vif (mac $(mac 31)))) (device (vbd (uname file:$T/img3) (dev sda1) (mode r)))")" >/dev/null
expect_eq "a domain with two vifs and a vbd" 201 "$(http_status)"
xpost /xend/domain/d3 op=device_destroy type=vif idx=1 >/dev/null
add d3 32
expect_match "the new vif has the removed one's index" '^\(idx 1\)' \
    "$(xget "/xend/domain/d3?op=vifs" | grep -oE "\(idx [0-9]+\) \(vif [0-9]+\) \(vifname [^)]*\) \(mac $(mac 32)\)")"
want="$(mac 30) vbd $(mac 32) "
expect_eq "the new vif is at the end" "$want" "$(order d3)"
restart || not_ok "xend restarts with a reused index"
expect_eq "and a restart keeps it there" "$want" "$(order d3)"
xpost /xend/domain/d3 op=destroy reason=halt >/dev/null

if [ $crash_points = 0 ]; then
    echo "# this build has no crash points (configure with -DXEND_CRASH_POINTS=ON): crashes skipped"
    finish
fi
dead() { ! kill -0 "$(cat "$T/xend.pid" 2>/dev/null)" 2>/dev/null; }
crash_run() { # crash_run POINT OP... : restart told to die at POINT, run OP, wait for the death
    local point=$1
    shift
    xend_stop
    rm -f "$T/xend.pid"
    XEND_CRASH_AT=$point xend_start "$CONF" || { not_ok "$point: xend starts"; return 1; }
    "$@" >/dev/null
    wait_until 20 dead || { not_ok "$point: xend died there"; return 1; }
    xend_start "$CONF" || { not_ok "$point: xend restarts"; return 1; }
}
xpost /xend/domain op=create "config=$(vm_config d2 32 "(device (vif (mac $(mac 20))))")" >/dev/null
crash_run device.attached add d2 21 &&
    expect_eq "device.attached: a hot-plug not yet durable is not there" "$(mac 20) " "$(macs d2)"
crash_run device.recorded add d2 22 &&
    expect_eq "device.recorded: a durable hot-plug is there" "$(mac 20) $(mac 22) " "$(macs d2)"
crash_run device.recorded xpost /xend/domain/d2 op=device_destroy type=vif idx=0 &&
    expect_eq "device.recorded: a durable removal is done" "$(mac 22) " "$(macs d2)"
crash_run device.attached xpost /xend/domain/d2 op=device_configure "config=(vif (mac $(mac 22)) (bridge br7))" idx=1 &&
    expect_eq "device.attached: a configure not yet durable is not" xen-br0 "$(bridge d2 22)"
crash_run device.recorded xpost /xend/domain/d2 op=device_configure "config=(vif (mac $(mac 22)) (bridge br8))" idx=1 &&
    expect_eq "device.recorded: a durable configure is" br8 "$(bridge d2 22)"
finish
