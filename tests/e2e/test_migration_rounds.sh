#!/bin/bash
# A live migration's pre-copy rounds are reported and bounded. Each round's end is logged
# (transfer round ... round=N pages=P dirty_mb_s=R) and is a progress event with (round N)
# (round_pages P) (round_bytes B) (dirty_bytes_per_s R), the stop-and-copy round with
# (last 1); the migration's end says its rounds, its last round's size and its downtime.
# A guest that dirties its memory four times faster than the link (held by a rate limit)
# still finishes: it is slowed until its dirty set fits migration-max-last-round, within
# migration-max-rounds; with fewer rounds allowed than it needs, it stops at that many.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_hosts.sh"

start_host a "" "migration-max-rounds = 10;
migration-max-last-round = 256;" || { not_ok "host a starts"; finish; }
start_host b || { not_ok "host b starts"; finish; }
start_host c "" "migration-max-rounds = 3;" || { not_ok "host c starts"; finish; }

# 32 MB: 8192 pages dirtied at 50000 a second, sent at 400 Mbit/s (about 12000 a second).
# Its 24 MB kernel makes the first round larger than what the sockets on the way buffer
# (several MB), so that the first round's rate is the link's, not the buffers'.
truncate -s 24M "$T/kernel24m"
migrate_fast() { # migrate_fast HOST NAME: a fast-dirtying guest from HOST to b, live
    local config="(vm (name $2) (memory 32) (image (linux (kernel $T/kernel24m) (args 'sim.load=10 sim.dirty_rate=50000'))))"
    on "$1" xpost /xend/domain op=create "config=$config" >/dev/null
    on "$1" xpost "/xend/domain/$2" op=unpause >/dev/null
    on "$1" xpost "/xend/domain/$2" op=migrate "destination=127.0.0.1:${RPORT[b]}" live=1 \
        resource=400
}
field() { grep -oE "$1=[0-9]+" | tail -1 | grep -oE '[0-9]+$'; }

SINCE=$(on a last_seq)
body=$(migrate_fast a fast)
expect_migrated "a guest dirtying faster than the link migrates live" "${RPORT[b]}" "$body"
expect_eq "and runs on b only" "b" "$(running_on fast)"
out=$(grep 'domain migrated out domain=fast ' "$T/a/xend.log")
rounds=$(field rounds <<< "$out")
last=$(field last_round_pages <<< "$out")
dt=$(field downtime_ms <<< "$out")
[ -n "$rounds" ] && [ "$rounds" -ge 3 ] && [ "$rounds" -le 10 ] &&
    ok "in $rounds rounds, within migration-max-rounds" ||
    not_ok "in rounds within migration-max-rounds" "$out"
[ -n "$last" ] && [ "$last" -le 64 ] &&
    ok "its last round ($last pages) within migration-max-last-round (256 KiB)" ||
    not_ok "its last round within migration-max-last-round" "$out"
[ -n "$dt" ] && ok "the log says its downtime (${dt} ms)" || not_ok "the log says its downtime" "$out"
rlog=$(grep 'transfer round domain=fast op=migrate' "$T/a/xend.log")
expect_eq "each round is logged" "$rounds" "$(grep -c . <<< "$rlog")"
expect_match "the first is every page" 'round=1 last=0 pages=[0-9]{4}' "$rlog"
throttled=$(grep -oE 'throttle_pct=[1-9][0-9]*' <<< "$rlog" | head -1)
[ -n "$throttled" ] && ok "the guest was slowed to converge ($throttled)" ||
    not_ok "the guest was slowed to converge" "$rlog"
expect_match "the last round is logged as such" "round=$rounds last=1 pages=$last " "$rlog"
ev=$(on a xget "/xend/event?since=$SINCE&pattern=xend.domain.progress")
expect_match "progress events carry a round, its size and the dirty rate" \
    '\(value \(fast [0-9]+ migrate .*\(round 2\) \(round_pages [0-9]+\) \(round_bytes [0-9]+\) \(round_ms [0-9]+\) \(dirty_bytes_per_s [1-9][0-9]*\) \(throttle_pct [0-9]+\)\)' "$ev"
expect_match "and the last round says so" "\\(round $rounds\\) \\(round_pages $last\\) .*\\(last 1\\)" "$ev"
expect_match "the migration's end event says rounds, last round and downtime" \
    "\\(value \\(fast done \\(downtime_ms $dt\\) \\(rounds $rounds\\) \\(last_round_pages $last\\)\\)\\)" \
    "$(on a xget "/xend/event?since=$SINCE&pattern=xend.domain.migrate")"

body=$(migrate_fast c fast3)
expect_migrated "with 3 rounds allowed it migrates too" "${RPORT[b]}" "$body"
rounds=$(grep 'domain migrated out domain=fast3 ' "$T/c/xend.log" | field rounds)
expect_eq "in exactly 3 rounds" 3 "$rounds"
expect_eq "and runs on b only" "b" "$(running_on fast3)"
finish
