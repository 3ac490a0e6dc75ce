#!/bin/bash
# The crash walk of one xend: for each crash point of create, destroy, death and restart,
# device hot-plug, restore and the start-up reconcile (lib/crashpoint.h,
# docs/durability.md), start xend told to die there, run the operation, restart it, and
# check what the restart left: every domain it lists has its config and a record, no
# record is left half-done (phase creating or restarting), each domain is listed once, and
# the operation's own invariant holds. Then two points of xend-simhv. Save and migration points have their own walks
# (test_save_crash_points.sh, test_migration_handover.sh).
source "$(dirname "$0")/lib.sh"
export ARGS='sim.load=10 sim.dirty_rate=0'
mkdir -p "$T/scripts"
use_vif_script vif-ok <<'SCRIPT'
#!/bin/sh
exit 0
SCRIPT

xend_start "$CONF" || { not_ok "xend starts"; finish; }
if ! grep -q 'crash_points=built-in' "$T/xend.log"; then
    echo "# this build has no crash points (configure with -DXEND_CRASH_POINTS=ON): skipped"
    ok "xend starts"
    finish
fi
dead() { ! kill -0 "$(cat "$T/xend.pid" 2>/dev/null)" 2>/dev/null; }
restart() { # restart [CRASH-POINT]
    xend_stop
    rm -f "$T/xend.pid"
    if [ -n "${1:-}" ]; then XEND_CRASH_AT=$1 xend_start "$CONF"; else xend_start "$CONF"; fi
}
names() { xget /xend/domain | tr -d '()\n' | tr ' ' '\n' | grep -v '^$' | grep -v '^Domain-0$' | sort; }
sum() { xget "/xend/domain/$1?op=mem_checksum" | grep -oE '[0-9]+\)$' | tr -d ')'; }
has() { xget "/xend/domain/$1" >/dev/null; [ "$(http_status)" = 200 ]; }
# What any restart must leave: each listed domain once, with its config and a record; no
# half-done record; nothing adopted.
consistent() {
    local n dup
    dup=$(names | uniq -d)
    [ -z "$dup" ] || { echo "listed twice: $dup"; return 1; }
    for n in $(names); do
        xget "/xend/domain/$n" | grep -q '(config (vm' || { echo "$n has no config (adopted?)"; return 1; }
        grep -lq "(name $n)" "$T"/state/domain/* 2>/dev/null || { echo "$n has no record"; return 1; }
    done
    if grep -lE '\(phase (creating|restarting)\)' "$T"/state/domain/* >/dev/null 2>&1; then
        echo "a half-done record: $(grep -lE '\(phase (creating|restarting)\)' "$T"/state/domain/*)"
        return 1
    fi
}
settled() { consistent >/dev/null; }

vm() { vm_config "$1" 32 "(device (vif (mac aa:00:00:00:99:$(printf %02x $2)))) ${3:-}"; }
xpost /xend/domain op=create "config=$(vm base 1)" >/dev/null
xpost /xend/domain/base op=unpause >/dev/null
base_sum=$(sum base)
xpost /xend/domain op=create "config=$(vm saved 2)" >/dev/null
xpost /xend/domain/saved op=save "file=$T/saved.img" >/dev/null
expect_eq "an image to restore" 0 "$(cat "$T/.body")"

# ACTION for each point: the operation the crash cuts
op_create() { xpost /xend/domain op=create "config=$(vm c$1 $((10 + $1)))" >/dev/null; }
op_destroy() {
    xpost /xend/domain op=create "config=$(vm c$1 $((10 + $1)) '(restart always)')" >/dev/null
    xpost /xend/domain/c$1 op=destroy reason=halt >/dev/null
}
op_death() {
    ARGS='sim.crash=0.2 sim.dirty_rate=0' xpost /xend/domain op=create \
        "config=$(ARGS='sim.crash=0.2 sim.dirty_rate=0' vm c$1 $((10 + $1)) '(restart always)')" >/dev/null
    xpost /xend/domain/c$1 op=unpause >/dev/null
}
op_hotplug() {
    xpost /xend/domain op=create "config=$(vm c$1 $((10 + $1)))" >/dev/null
    xpost /xend/domain/c$1 op=device_create "config=(vif (mac aa:00:00:00:98:$(printf %02x $1)))" >/dev/null
}
op_restore() { xpost /xend/domain op=restore "file=$T/saved.img" >/dev/null; }
op_reconcile() { :; } # the restart itself passes the point

n=0
rounds=0
while read -r point action; do
    n=$((n + 1))
    # The reconcile's point is passed while xend starts: that start is the one that dies.
    if ! restart "$point" && [ "$action" != reconcile ]; then
        not_ok "$point: xend starts"
        continue
    fi
    op_$action $n
    if ! wait_until 20 dead; then
        not_ok "$point: xend died there" "$(tail -3 "$T/xend.log")"
        continue
    fi
    grep -q "crash point reached point=$point" "$T/xend.log" ||
        not_ok "$point: it died at that point" "$(grep 'crash point' "$T/xend.log" | tail -1)"
    restart || { not_ok "$point: xend restarts"; continue; }
    if wait_until 10 settled; then
        ok "$point ($action): the restart leaves every domain whole and once"
    else
        not_ok "$point ($action): the restart leaves every domain whole and once" "$(consistent)"
    fi
    expect_eq "$point: the domain beside it is untouched" "$base_sum" "$(sum base)"
    case $action in
    restore)
        if has saved; then
            ok "$point: the restore either happened"
        else
            xpost /xend/domain op=restore "file=$T/saved.img" >/dev/null
            expect_eq "$point: or its file restores again" 201 "$(http_status)"
        fi
        xpost /xend/domain/saved op=save "file=$T/saved.img.$n" >/dev/null
        mv "$T/saved.img.$n" "$T/saved.img" 2>/dev/null
        ;;
    death)
        # A (restart always) domain that crashed: restarted once, or halted with the reason
        # (too fast), never lost nor doubled.
        back() { has c$n; }
        wait_until 10 back && ok "$point: the dying domain is still xend's" ||
            not_ok "$point: the dying domain is still xend's" "$(names | tr '\n' ' ')"
        ;;
    esac
    has c$n && xpost /xend/domain/c$n op=destroy reason=halt >/dev/null
    rounds=$((rounds + 1))
done <<'WALK'
create.built create
create.recorded create
create.confirmed create
teardown.detached destroy
teardown.destroyed destroy
restart.intent death
restart.built death
device.attached hotplug
device.recorded hotplug
restore.intent restore
restore.image restore
restore.recorded restore
reconcile.loaded reconcile
WALK

# xend-simhv dying (a host crash, for the guests): xend answers the operation it cut with
# an error, brings simhv back, and keeps a consistent table. simhv inherits the crash
# setting from the xend that starts it, so each round starts both afresh.
for point in simhv.created simhv.saving; do
    n=$((n + 1))
    xend_stop
    simhv_stop
    XEND_CRASH_AT=$point xend_start "$CONF" || { not_ok "$point: xend starts"; continue; }
    if [ $point = simhv.created ]; then
        body=$(xpost /xend/domain op=create "config=$(vm c$n $((10 + n)))")
    else
        xpost /xend/domain op=create "config=$(vm c$n $((10 + n)))" >/dev/null
        body=$(xpost /xend/domain/c$n op=save "file=$T/c$n.img")
    fi
    expect_match "$point: the operation it cut is an error naming simhv" 'xend.err.*simhv' "$body"
    check "$point: xend lives on" test ! -z "$(xget /xend/node)"
    wait_until 10 settled && ok "$point: the table stays whole and once" ||
        not_ok "$point: the table stays whole and once" "$(consistent)"
    check "$point: no save file is left of the cut save" test ! -e "$T/c$n.img"
    xend_stop
    simhv_stop
    xend_start "$CONF" || { not_ok "$point: xend restarts"; continue; }
    wait_until 10 settled && ok "$point: and so after a restart" ||
        not_ok "$point: and so after a restart" "$(consistent)"
    rounds=$((rounds + 1))
done
echo "# crash walk: $rounds of $n points"
finish
