#!/bin/bash
# Live migration is live: the guest keeps running (and dirtying its memory) while its pages
# are copied in rounds; the backend stops it for the last round only, and the sender logs
# and emits the downtime it saw. A guest its user paused is copied paused and lands paused,
# its memory intact.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_hosts.sh"

start_host a || { not_ok "host a starts"; finish; }
start_host b || { not_ok "host b starts"; finish; }

ARGS='sim.load=10 sim.dirty_rate=4000' on a xpost /xend/domain op=create \
    "config=$(ARGS='sim.load=10 sim.dirty_rate=4000' vm_config busy 64)" >/dev/null
on a xpost /xend/domain/busy op=unpause >/dev/null
body=$(on a xpost /xend/domain/busy op=migrate "destination=127.0.0.1:${RPORT[b]}" live=1)
expect_migrated "a running guest migrates live" "${RPORT[b]}" "$body"
expect_eq "and runs on b only" "b" "$(running_on busy)"
expect_match "running, not paused" '\(state [rb-]{2}-' "$(on b xget /xend/domain/busy)"
rounds=$(grep -oE 'save done, [0-9]+ pages in [0-9]+ round' "$T/a/state/simhv.log" | tail -1 |
    grep -oE '[0-9]+ round' | grep -oE '[0-9]+')
[ "${rounds:-0}" -ge 2 ] && ok "its pages went in $rounds rounds while it ran" ||
    not_ok "its pages went in rounds while it ran" "$(grep -i save "$T/a/state/simhv.log" | tail -3)"
dt=$(grep -oE 'domain migrated out domain=busy .*downtime_ms=[0-9]+' "$T/a/xend.log" | grep -oE '[0-9]+$')
[ -n "$dt" ] && ok "the sender logs the downtime it saw (${dt} ms)" ||
    not_ok "the sender logs the downtime it saw" "$(grep 'migrated out' "$T/a/xend.log")"

export ARGS='sim.load=10 sim.dirty_rate=0'
on a xpost /xend/domain op=create "config=$(vm_config still 32)" >/dev/null
s=$(sum a still)
body=$(on a xpost /xend/domain/still op=migrate "destination=127.0.0.1:${RPORT[b]}" live=1)
expect_migrated "a paused guest migrates with live=1" "${RPORT[b]}" "$body"
expect_match "and lands paused" '\(state ..p' "$(on b xget /xend/domain/still)"
expect_eq "its memory intact" "$s" "$(sum b still)"
finish
