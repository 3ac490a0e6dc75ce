#!/bin/bash
# A plugin whose init fails after registering something whose callback is its own code (a
# timer, a watch, a child, a worker job, a posted call, a device class, a scheduler, a
# backend, an event subscription, a describer, a store record) is unloaded with every such
# registration undone: xend keeps serving, and nothing calls into the unloaded code when
# the timers' time has passed, domains come and go, and events fly.
source "$(dirname "$0")/lib.sh"

TP=$BUILD_DIR/tests/plugins
kinds=(timer watch child work post class sched backend event describe store)
list=""
for p in "$BUILD_DIR"/lib/xend/plugins/*.so; do list="$list\"$p\", "; done
for k in "${kinds[@]}"; do
    [ -f "$TP/init_fails_$k.so" ] || { not_ok "test plugin init_fails_$k.so is built"; finish; }
    list="$list\"$TP/init_fails_$k.so\", "
done
xend_start "plugins = [ ${list%, } ];" || { not_ok "xend starts"; finish; }
ok "xend starts with plugins that fail their init"

log_has() { grep -F -- "$1" "$T/xend.log" >/dev/null; }
for k in "${kinds[@]}"; do
    check "init_fails_$k is refused with its reason" \
        log_has "plugin refused file=$TP/init_fails_$k.so reason=\"init failed: invalid argument: failing on purpose after registering a $k\""
done
check "the timers of the failed plugin were removed" \
    log_has "plugin loop registrations removed plugin=init_fails_timer watches=0 timers=2"
check "its child was killed, its result dropped" \
    log_has "plugin loop registrations removed plugin=init_fails_child watches=0 timers=0 children=1"

# Hooks, describers, events, the scheduler and device classes all run now.
xpost /xend/domain op=create "config=$(vm_config if1 32)" >/dev/null
expect_eq "a domain can be created" 201 "$(http_status)"
expect_match "it is described" '\(name if1\)' "$(xget /xend/domain/if1)"
body=$(xpost /xend/domain op=create "config=$(vm_config if2 32 '(device (init_fails_dev))')")
expect_match "the failed plugin's device class is unknown" 'xend.err' "$body"
xpost /xend/domain/if1 op=destroy reason=halt >/dev/null
expect_match "xend still serves" '^\(ls ' "$(xget /xend)"
check "the sim backend, not the failed one, is in use" log_has "backend=sim"
pid=$(cat "$T/xend.pid")
# The failed plugin's one-shot timer was due 100 ms after its init: that time has passed
# long ago (a create takes longer), and its repeating one would have fired many times.
check "xend is alive after the failed plugin's timers were due" kill -0 "$pid"
finish
