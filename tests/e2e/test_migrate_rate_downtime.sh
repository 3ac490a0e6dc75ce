#!/bin/bash
# A rate-limited live migration (xm migrate -l -r MBIT) keeps its downtime bounded: the
# stream is paced where its bytes leave for the destination, and no more than about a tenth
# of a second of it waits in buffers ahead of the pace. When megabytes of the first round
# still sat in the buffers between xend-simhv and the relocation socket as the guest was
# paused for its last round, they crawled out at the limited rate while the guest was down
# (about 2 s here at 16 Mbit/s); the bound says that no longer happens.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_hosts.sh"

start_host a || { not_ok "host a starts"; finish; }
start_host b || { not_ok "host b starts"; finish; }
run_guest a rd 8 'sim.dirty_rate=0'
RATE=16
BOUND_MS=1000

out=$(XEND=127.0.0.1:${PORT[a]} "$XM" migrate -l -r $RATE rd "127.0.0.1:${RPORT[b]}" 2>&1)
expect_eq "xm migrate -l -r $RATE succeeds" "" "$out"
expect_eq "rd runs on b" b "$(running_on rd)"
line=$(grep -E 'domain migrated out domain=rd ' "$T/a/xend.log" | tail -1)
down=$(grep -oE 'downtime_ms=[0-9]+' <<<"$line" | grep -oE '[0-9]+$')
rate=$(grep -oE 'mbit_s=[0-9.]+' <<<"$line" | grep -oE '[0-9.]+$')
awk -v m="${rate:-0}" -v r=$RATE 'BEGIN { exit !(m <= r * 1.1) }' &&
    ok "the image moved within the limit ($rate Mbit/s)" ||
    not_ok "the image moved within the limit" "$line"
[ -n "$down" ] && [ "$down" -le $BOUND_MS ] &&
    ok "the downtime stays bounded: ${down} ms <= ${BOUND_MS} ms at $RATE Mbit/s" ||
    not_ok "the downtime stays bounded (<= ${BOUND_MS} ms at $RATE Mbit/s)" "${line:-no log line}"
finish
