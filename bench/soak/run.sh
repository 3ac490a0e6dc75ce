#!/bin/bash
# Soak and flood measurements (bench/README.md, "bench-soak"): a private xend on the sim
# backend on free loopback ports, then
#   1. RSS at rest before;
#   2. soak: CLIENTS clients x REQS mixed requests (create, info, list, destroy) with SLOW
#      slow clients holding half heads meanwhile: p50/p99 per request type, errors;
#   3. RSS at rest after the soak;
#   4. flood: HOLD idle connections held while fresh requests are timed, xend's CPU over one
#      second of the hold, then RSS at rest once they have gone.
#
#   bench/soak/run.sh BUILD_DIR [CLIENTS] [REQS] [SLOW] [HOLD]
#
# EXTRA="key = value; ..." adds settings (http-max-connections = 20000; to let a flood in).
set -u
BUILD=$(cd "${1:?usage: run.sh BUILD_DIR [CLIENTS] [REQS] [SLOW] [HOLD]}" && pwd)
CLIENTS=${2:-100}
REQS=${3:-200}
SLOW=${4:-20}
HOLD=${5:-5000}
BS=$BUILD/bin/bench-soak
T=$(mktemp -d "${BENCH_DIR:-/tmp}/bench-soak.XXXXXX")
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

source "$(dirname "$0")/../lib.sh"
XEND_PORT=$(free_port)
bench_xend_dir "$T" "$XEND_PORT" "sim-memory = 65536;
# No console plugin: domain ids pass 10,000 in a soak, and console ports (base + id) then
# collide with other programs' ports on a shared machine (\"console port in use\").
plugins = [ \"hv-sim\", \"sched-bvt\", \"vif\", \"vbd\" ];
http-head-timeout = 2;
${EXTRA:-}"
cleanup() {
    "$BUILD/bin/xend" stop -c "$T/xend.conf" >/dev/null 2>&1
    "$BUILD/bin/xend-simhv" --stop --socket "$T/state/simhv.sock" >/dev/null 2>&1
    rm -rf "$T"
}
trap cleanup EXIT
"$BUILD/bin/xend" start -c "$T/xend.conf" || exit 1
PID=$(cat "$T/xend.pid")
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$PID/status"; }
rss_at_rest() { sleep 1.5; rss; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

echo "# bench-soak $(date -u +%FT%TZ) $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "rss start vmrss_kb=$(rss_at_rest)"
# The anchor: the same fresh requests on an idle xend, in this run, on this load.
"$BS" flood -p "$XEND_PORT" -m 0 -r 200 -t 0 | grep '^fresh' | sed 's/^/idle /'
"$BS" soak -R -p "$XEND_PORT" -k "$T/vmlinuz" -c "$CLIENTS" -n "$REQS" -s "$SLOW" | sed 's/^/reads-only /'
x0=$(ticks "$PID")
"$BS" soak -p "$XEND_PORT" -k "$T/vmlinuz" -c "$CLIENTS" -n "$REQS" -s "$SLOW"
echo "soak xend_cpu_s=$(( ($(ticks "$PID") - x0) / $(getconf CLK_TCK) ))"
echo "rss after-soak vmrss_kb=$(rss_at_rest)"
"$BS" flood -p "$XEND_PORT" -m "$HOLD" -r 50 -t 3 > "$T/flood" &
FL=$!
while ! grep -q '^flood errors' "$T/flood" 2>/dev/null; do sleep 0.1; done
a=$(ticks "$PID"); sleep 1; b=$(ticks "$PID")
wait "$FL"
cat "$T/flood"
echo "flood xend_cpu_ticks_per_s=$((b - a)) (of $(getconf CLK_TCK))"
echo "rss after-flood vmrss_kb=$(rss_at_rest)"
grep -c 'accept paused' "$T/xend.log" | sed 's/^/accept_paused_lines=/'
