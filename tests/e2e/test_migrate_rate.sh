#!/bin/bash
# xm migrate -r MBIT (2.0's resource) and xm save -r MBIT hold the transfer to that rate:
# a 16 MB image at 64 Mbit/s takes about 2 s. The bytes are counted where xend does not
# count them for itself: the destination's received bytes (its progress event, from its
# socket) and the save file's size; the time is the request's, as the caller sees it.
# Within 10% above the rate, and not far below it (the limit is a limit, not a stall).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_hosts.sh"

start_host a || { not_ok "host a starts"; finish; }
start_host b || { not_ok "host b starts"; finish; }
run_guest a r1 16 'sim.load=10 sim.dirty_rate=0'
RATE=64
now_ns() { date +%s%N; }
# within NAME BYTES NS: bytes/elapsed in Mbit/s, checked against RATE
within() {
    local mbit
    mbit=$(awk -v b="$2" -v ns="$3" 'BEGIN { printf "%.1f", b * 8 / (ns / 1e9) / 1e6 }')
    awk -v m="$mbit" -v r=$RATE 'BEGIN { exit !(m <= r * 1.1 && m >= r * 0.5) }' &&
        ok "$1: $2 bytes in $(($3 / 1000000)) ms = $mbit Mbit/s, within 10% of $RATE" ||
        not_ok "$1: $2 bytes in $(($3 / 1000000)) ms = $mbit Mbit/s, not within 10% of $RATE"
}

t0=$(now_ns)
out=$(XEND=127.0.0.1:${PORT[a]} "$XM" migrate -r $RATE r1 "127.0.0.1:${RPORT[b]}" 2>&1)
t1=$(now_ns)
expect_eq "xm migrate -r $RATE succeeds" "" "$out"
expect_eq "r1 runs on b" b "$(running_on r1)"
bytes=$(on b xget "/xend/event?since=0&pattern=xend.domain.progress" |
    grep -oE 'r1 -1 migrate .*\(percent 100\) \(bytes [0-9]+' | grep -oE '[0-9]+$' | tail -1)
[ "${bytes:-0}" -gt $((16 * 1024 * 1024)) ] && ok "b received the whole image (${bytes} bytes)" ||
    not_ok "b received the whole image" "${bytes:-none}"
within "migrate" "${bytes:-0}" $((t1 - t0))

t0=$(now_ns)
out=$(XEND=127.0.0.1:${PORT[b]} "$XM" save -r $RATE r1 "$T/r1.img" 2>&1)
t1=$(now_ns)
expect_eq "xm save -r $RATE succeeds" "" "$out"
within "save" "$(stat -c %s "$T/r1.img")" $((t1 - t0))
expect_match "a's log says the bytes and rate it saw" 'domain migrated out domain=r1 .* bytes=[0-9]+ mbit_s=[0-9.]+' "$(cat "$T/a/xend.log")"

# On a terminal xm's status line follows the transfer: percent, MB done of the estimated
# total, rate; the end line says what moved and, for a live migration, its last round and
# the downtime.
export XEND=127.0.0.1:${PORT[b]}
xpost_b() { on b xpost "$@"; }
xpost_b /xend/domain op=restore "file=$T/r1.img" >/dev/null
xpost_b /xend/domain/r1 op=unpause >/dev/null
tty_out=$(script -qec "$XM migrate -l -r $RATE r1 127.0.0.1:${RPORT[a]}" /dev/null | tr '\r' '\n')
expect_match "xm's line shows percent, bytes and rate while it runs" \
    'Migrating domain r1 to 127.0.0.1:[0-9]+\.\.\. [0-9]+% [0-9.]+/[0-9.]+ MB at [0-9.]+ Mbit/s [0-9]+s' "$tty_out"
expect_match "and at the end what moved, the last round and the downtime" \
    'Migrating domain r1 to 127.0.0.1:[0-9]+\.\.\. done \([0-9]+s, [0-9.]+ MB at [0-9.]+ Mbit/s, last round [0-9]+: [0-9.]+ MB, downtime [0-9]+ ms\)' "$tty_out"
expect_eq "r1 runs on a again" a "$(running_on r1)"
finish
