#!/bin/bash
# A stop finishes what the backend has not answered yet (docs/http.md "Server lifecycle"):
# a destroy whose hypervisor answer is still to come when `xend stop` begins is answered to
# its client and its record removed before xend exits, not dropped with the backend's
# connection. The simulated hypervisor is held (SIGSTOP) so that its answer comes only
# after the stop has begun.
source "$(dirname "$0")/lib.sh"

xend_start || { not_ok "xend starts"; finish; }
xpost /xend/domain op=create "config=$(vm_config d1 32)" >/dev/null
expect_eq "d1 created" 201 "$(http_status)"

logged() { grep -q "$1" "$T/xend.log"; }
simhv_pid=$(pgrep -f -- "--socket $T/state/simhv.sock" | head -1)
[ -n "$simhv_pid" ] || { not_ok "xend-simhv found"; finish; }
kill -STOP "$simhv_pid"
post_bg "$T/d1.out" /xend/domain/d1 op=destroy reason=halt
wait_until 10 logged 'domain destroy domain=d1' && ok "the destroy went to the held hypervisor" ||
    not_ok "the destroy went to the held hypervisor" "$(tail -3 "$T/xend.log")"

xend_stop &
stopper=$!
wait_until 10 logged 'xend stopping' && ok "the stop began" || not_ok "the stop began"
expect_eq "xend waits for the answer (the destroy's client has none yet)" "" \
    "$(cat "$T/d1.out.status" 2>/dev/null)"
kill -0 "$(cat "$T/xend.pid")" 2>/dev/null && ok "xend is still running" ||
    not_ok "xend is still running"

kill -CONT "$simhv_pid"
wait "$stopper"
wait
expect_eq "the destroy is answered" 200 "$(cat "$T/d1.out.status")"
expect_match "its teardown ended before xend did" 'domain gone domain=d1.*xend stopped' \
    "$(tr '\n' ' ' < "$T/xend.log")"
expect_no_match "nothing was left in flight" 'stopping with work in flight' "$(cat "$T/xend.log")"

xend_start || { not_ok "xend starts again"; finish; }
expect_no_match "after a restart d1 is gone for good" 'd1' "$(xget /xend/domain)"
finish
