#!/bin/bash
# A flood of domain starts against an operator (bench/README.md, "bench-soak", starts):
# for each lane width (domain-starts-in-flight), a fresh private xend on the sim backend with
# every plugin gets COUNT creates from 256 clients at once, while one operator client lists
# the domains and reads one domain's info, one request at a time. Printed per run: the
# operator's p50/p99 for each, how long it took against the flood, the flood's creates/s.
#
#   bench/soak/starts.sh BUILD_DIR [COUNT] [ROUNDS] [LANES]     # defaults 6000 3 "0 64 16"
#
# Rounds alternate the lane widths, so that a change of the machine's load meets each alike.
set -u
BUILD=$(cd "${1:?usage: starts.sh BUILD_DIR [COUNT] [ROUNDS] [LANES]}" && pwd)
COUNT=${2:-6000}
ROUNDS=${3:-3}
LANES=${4:-0 64 16}
BL=$BUILD/bin/bench-lifecycle
T=$(mktemp -d "${BENCH_DIR:-/tmp}/bench-starts.XXXXXX")
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
source "$(dirname "$0")/../lib.sh"
bench_stop_at_exit "$BUILD" "$T"
field() { grep -oE "$1=[0-9.]+" "$2" | head -1 | cut -d= -f2; }

echo "# bench-starts $(date -u +%FT%TZ) $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg), $COUNT creates from 256 clients"
for r in $(seq "$ROUNDS"); do
    for lane in $LANES; do
        "$BUILD/bin/xend" stop -c "$T/xend.conf" >/dev/null 2>&1
        "$BUILD/bin/xend-simhv" --stop --socket "$T/state/simhv.sock" >/dev/null 2>&1
        rm -rf "$T/state"
        port=$(free_port)
        # Console ports base + id: 10,000 up, clear of a developer's xend and of free_port.
        bench_xend_dir "$T" "$port" "sim-memory = 1048576;
console-port-base = 10000;
domain-starts-in-flight = $lane;"
        "$BUILD/bin/xend" start -c "$T/xend.conf" || exit 1
        "$BL" create -p "$port" -k "$T/vmlinuz" -n 16 -c 16 -s 0 >/dev/null # b000000 for the info
        "$BL" create -p "$port" -k "$T/vmlinuz" -n "$COUNT" -c 256 -s 16 > "$T/flood" &
        flood=$!
        # The operator starts once the flood's 256 connections are in (with a deadline).
        for _ in $(seq 200); do
            n=$(curl -s "http://127.0.0.1:$port/xend/metrics" | awk '$1 == "xend_http_connections" { print $2 }')
            [ "${n:-0}" -ge 256 ] && break
            sleep 0.01
        done
        "$BL" latency -p "$port" -u /xend/domain -r 100 -q > "$T/list"
        "$BL" latency -p "$port" -u /xend/domain/b000000 -r 100 -q > "$T/info"
        wait "$flood"
        printf 'round=%s lane=%s list_p50_ms=%s list_p99_ms=%s info_p50_ms=%s info_p99_ms=%s operator_s=%s flood_s=%s creates_per_s=%s failed=%s\n' \
            "$r" "$lane" "$(field p50_ms "$T/list")" "$(field p99_ms "$T/list")" \
            "$(field p50_ms "$T/info")" "$(field p99_ms "$T/info")" \
            "$(awk -v a="$(field seconds "$T/list")" -v b="$(field seconds "$T/info")" 'BEGIN { print a + b }')" \
            "$(field seconds "$T/flood")" "$(field rate "$T/flood")" "$(field failed "$T/flood")"
    done
done
