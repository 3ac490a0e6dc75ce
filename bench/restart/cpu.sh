#!/bin/bash
# What a restart costs xend itself (bench/README.md, "bench-restart"): one state dir of N
# domains (default 10,000) made once, then `xend start` of build A and of build B in turn on
# it, ROUNDS times each. Per start: the wall time of `xend start` until ready, xend's cpu
# (user + system of every thread, its helpers' included, from /proc/PID/stat) and the loop
# thread's own (the start's critical path, from /proc/PID/task/PID/schedstat, in ns), read
# once `xend start` returned. The same binary of xend-simhv (A's) holds the domains throughout.
#
#   bench/restart/cpu.sh BUILD_A BUILD_B [N] [ROUNDS]     # defaults 10000 5
#
# BENCH_DIR and BENCH_PORT: see setup.sh.
set -u
A=$(cd "${1:?usage: cpu.sh BUILD_A BUILD_B [N] [ROUNDS]}" && pwd)
B=$(cd "${2:?usage: cpu.sh BUILD_A BUILD_B [N] [ROUNDS]}" && pwd)
N=${3:-10000}
ROUNDS=${4:-5}
STOP_BUILD=$A
source "$(dirname "$0")/setup.sh"
TCK=$(getconf CLK_TCK)

one() { # BUILD LABEL: a start, its figures appended to $T/LABEL
    local t0 t1 pid
    t0=$(ms)
    "$1/bin/xend" start -c "$T/xend.conf" || exit 1
    t1=$(ms)
    pid=$(cat "$T/xend.pid")
    local cpu loop
    cpu=$(awk -v t="$TCK" '{ print ($14 + $15) * 1000 / t }' "/proc/$pid/stat")
    loop=$(awk '{ printf "%d", $1 / 1000000 }' "/proc/$pid/task/$pid/schedstat")
    "$1/bin/xend" stop -c "$T/xend.conf" >/dev/null
    echo "$((t1 - t0)) $cpu $loop" >> "$T/$2"
    echo "$2: start $((t1 - t0)) ms; xend cpu $cpu ms; loop thread $loop ms"
}

echo "# bench-restart-cpu $(date -u +%FT%TZ) $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg), domains $N"
echo "# A=$A B=$B"
populate "$A"
: > "$T/A"
: > "$T/B"
for r in $(seq "$ROUNDS"); do
    one "$A" A
    one "$B" B
done
echo "# summary (medians of $ROUNDS; load $(cut -d' ' -f1-3 /proc/loadavg))"
for x in A B; do
    printf '%s: start %s ms; xend cpu %s ms; loop thread %s ms\n' "$x" \
        "$(cut -d' ' -f1 "$T/$x" | median)" "$(cut -d' ' -f2 "$T/$x" | median)" \
        "$(cut -d' ' -f3 "$T/$x" | median)"
done
