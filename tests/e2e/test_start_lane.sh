#!/bin/bash
# Domain starts go through a lane (domain-starts-in-flight, docs/http.md "Priority"): past
# the limit a create waits, in arrival order, having done nothing (no domain, no device
# script); lists and destroys are answered meanwhile; a waiting create whose client hangs
# up is dropped, never run; the waiting ones go as the running ones finish.
source "$(dirname "$0")/lib.sh"

use_held_vif_script
xend_start "$CONF
domain-starts-in-flight = 2;" || { not_ok "xend starts"; finish; }
ok "xend starts with a lane of 2"

xpost /xend/domain op=create "config=$(vm_config d0 32)" >/dev/null
expect_eq "d0 created while the lane is free" 201 "$(http_status)"

vif() { echo "(device (vif (mac aa:00:00:00:5a:0$1)))"; }
ups_held() { [ "$(grep -c '^up held' "$T/vif.log" 2>/dev/null)" = "$1" ]; }
logged() { grep -q "$1" "$T/xend.log"; }

# Two starts run and are held at their vif's up script; the third waits in the lane.
touch "$T/hold-up"
post_bg "$T/s1.out" /xend/domain op=create "config=$(vm_config s1 32 "$(vif 1)")"
post_bg "$T/s2.out" /xend/domain op=create "config=$(vm_config s2 32 "$(vif 2)")"
wait_until 30 ups_held 2 && ok "two starts run, held at their vif's up script" ||
    not_ok "two starts run, held at their vif's up script" "$(cat "$T/vif.log" 2>/dev/null)"
post_bg "$T/s3.out" /xend/domain op=create "config=$(vm_config s3 32 "$(vif 3)")"
wait_until 10 logged 'domain starts wait in_flight=2 limit=2' &&
    ok "the third waits, and the log says why" ||
    not_ok "the third waits, and the log says why" "$(tail -5 "$T/xend.log")"
expect_eq "a waiting start has made no domain" 404 "$(xget /xend/domain/s3 >/dev/null; http_status)"
expect_eq "nor run a device script" 2 "$(grep -c '^up up' "$T/vif.log")"
metrics=$(xget /xend/metrics)
expect_match "the metrics show two running" '^xend_domain_starts\{state="running"\} 2$' "$metrics"
expect_match "and one waiting" '^xend_domain_starts\{state="waiting"\} 1$' "$metrics"

# The lane full, the rest of xend answers.
expect_match "a list is answered" 'd0' "$(xget /xend/domain)"
expect_eq "a destroy is answered" 0 "$(xpost /xend/domain/d0 op=destroy reason=halt)"

# A fourth whose client gives up while it waits.
curl -s -m 1 -X POST --data-urlencode "config=$(vm_config s4 32 "$(vif 4)")" \
    --data-urlencode op=create "http://127.0.0.1:$XEND_PORT/xend/domain" >/dev/null
expect_eq "the fourth's client gave up waiting" 28 "$?"

rm -f "$T/hold-up"
for n in 1 2 3; do
    wait "%?s$n.out" 2>/dev/null
done
wait
for n in 1 2 3; do
    expect_eq "s$n created once the lane let it go" 201 "$(cat "$T/s$n.out.status")"
done
expect_eq "the start whose client went was never run" 404 \
    "$(xget /xend/domain/s4 >/dev/null; http_status)"
expect_match "and the log says it was dropped" \
    'domain start dropped request=[0-9]+ reason="its client went while it waited"' \
    "$(cat "$T/xend.log")"
expect_eq "three up scripts in all: s4 never reached its devices" 3 "$(grep -c '^up up' "$T/vif.log")"
expect_match "the metrics count the drop" '^xend_domain_starts_dropped_total 1$' "$(xget /xend/metrics)"

# Stopping with a start waiting: it is answered, not left hanging (nor leaked).
touch "$T/hold-up"
: > "$T/vif.log"
post_bg "$T/r1.out" /xend/domain op=create "config=$(vm_config r1 32 "$(vif a)")"
post_bg "$T/r1b.out" /xend/domain op=create "config=$(vm_config r1b 32 "$(vif b)")"
wait_until 30 ups_held 2 || not_ok "r1 and r1b run, held" "$(cat "$T/vif.log")"
post_bg "$T/r2.out" /xend/domain op=create "config=$(vm_config r2 32 "$(vif c)")"
waits_logged() { [ "$(grep -c 'domain starts wait' "$T/xend.log")" = "$1" ]; }
wait_until 10 waits_logged 2 || not_ok "r2 waits" "$(tail -3 "$T/xend.log")"
xend_stop &
stopper=$!
r2_answered() { [ -s "$T/r2.out.status" ]; }
wait_until 20 r2_answered
expect_match "at stop a waiting start is told xend is stopping" \
    "Domain start not done: xend is stopping" "$(cat "$T/r2.out")"
post_bg "$T/r3.out" /xend/domain op=create "config=$(vm_config r3 32)"
wait_until 10 test -s "$T/r3.out.status"
expect_match "and one that comes while it stops is refused the same way" \
    "Domain start not done: xend is stopping|^000$" "$(cat "$T/r3.out" "$T/r3.out.status")"
rm -f "$T/hold-up"
wait $stopper
wait

# No limit: 0 lets every start run at once.
xend_start "$CONF
domain-starts-in-flight = 0;" || { not_ok "xend starts without a lane"; finish; }
touch "$T/hold-up"
: > "$T/vif.log"
for n in 5 6 7; do
    post_bg "$T/s$n.out" /xend/domain op=create "config=$(vm_config s$n 32 "$(vif $n)")"
done
wait_until 30 ups_held 3 && ok "0: three starts run at once" ||
    not_ok "0: three starts run at once" "$(cat "$T/vif.log")"
rm -f "$T/hold-up"
wait

finish
