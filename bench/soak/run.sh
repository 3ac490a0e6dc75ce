#!/bin/bash
# Soak and flood measurements (bench/README.md, "bench-soak"): a private xend on the sim
# backend on free loopback ports, then
#   1. RSS at rest before;
#   2. soak: CLIENTS clients x REQS mixed requests (create, info, list, console connect,
#      destroy) with SLOW slow clients holding half heads and FOLLOWERS event followers
#      reading meanwhile: p50/p99 per request type, errors;
#   3. RSS at rest after the soak;
#   4. flood: HOLD idle connections held (by two processes, HOLD/2 each: a process may
#      hold no more descriptors than the hard limit, 20,000 here) while fresh requests are
#      timed, xend's CPU over one second of the hold, then RSS at rest once they have gone.
#
#   bench/soak/run.sh BUILD_DIR [CLIENTS] [REQS] [SLOW] [HOLD]
#
# EXTRA="key = value; ..." adds settings (http-max-connections = 19000; to let a flood in).
# FOLLOWERS (default 10) event followers; CONSOLES=0 leaves the console plugin out;
# FLOOD_ONLY=1 skips the soaks. XEND_TUNABLES: GLIBC_TUNABLES for xend (default: as the
# service unit sets it; empty for glibc's defaults).
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
FOLLOWERS=${FOLLOWERS:-10}
# Console ports: domain ids pass 10,000 in a soak, so base + id would leave the port range
# and meet other programs' ports; each client's domains name their port instead (base +
# the client's number), from a free run of CLIENTS ports below the ephemeral range.
CBASE=0
if [ "${CONSOLES:-1}" != 0 ]; then
    for _ in $(seq 1 200); do
        p=$((10000 + RANDOM % 9800)); ok=1 # below free_port's 20000-31999
        for i in $(seq 0 $((CLIENTS - 1))); do port_free $((p + i)) || { ok=0; break; }; done
        [ $ok = 1 ] && { CBASE=$p; break; }
    done
fi
PLUGINS='"hv-sim", "sched-bvt", "vif", "vbd"'
CONSOLE_CONF=""
if [ "$CBASE" != 0 ]; then
    PLUGINS="$PLUGINS, \"console\""
    CONSOLE_CONF="console-port-base = $CBASE;"
fi
bench_xend_dir "$T" "$XEND_PORT" "sim-memory = 65536;
plugins = [ $PLUGINS ];
$CONSOLE_CONF
http-head-timeout = 2;
${EXTRA:-}"
cleanup() {
    "$BUILD/bin/xend" stop -c "$T/xend.conf" >/dev/null 2>&1
    "$BUILD/bin/xend-simhv" --stop --socket "$T/state/simhv.sock" >/dev/null 2>&1
    [ -n "${KEEP:-}" ] && cp "$T/xend.log" "$KEEP"; rm -rf "$T"
}
trap cleanup EXIT
trap "exit 1" INT TERM # so that a killed run still stops its daemons
# As the service unit runs it (dist/systemd/xend.service.in, docs/packaging.md "Memory");
# XEND_TUNABLES= (empty) measures glibc's defaults instead.
XEND_TUNABLES=${XEND_TUNABLES-glibc.malloc.tcache_count=0}
GLIBC_TUNABLES=$XEND_TUNABLES "$BUILD/bin/xend" start -c "$T/xend.conf" || exit 1
PID=$(cat "$T/xend.pid")
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$PID/status"; }
rss_at_rest() { sleep 1.5; rss; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

echo "# bench-soak $(date -u +%FT%TZ) $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg), xend GLIBC_TUNABLES=${XEND_TUNABLES:-none}"
echo "rss start vmrss_kb=$(rss_at_rest)"
# The anchor: the same fresh requests on an idle xend, in this run, on this load.
"$BS" flood -p "$XEND_PORT" -m 0 -r 200 -t 0 | grep '^fresh' | sed 's/^/idle /'
if [ "${FLOOD_ONLY:-0}" = 0 ]; then
"$BS" soak -R -p "$XEND_PORT" -k "$T/vmlinuz" -c "$CLIENTS" -n "$REQS" -s "$SLOW" | sed 's/^/reads-only /'
x0=$(ticks "$PID")
"$BS" soak -p "$XEND_PORT" -k "$T/vmlinuz" -c "$CLIENTS" -n "$REQS" -s "$SLOW" -C "$CBASE" -f "$FOLLOWERS"
echo "soak xend_cpu_s=$(( ($(ticks "$PID") - x0) / $(getconf CLK_TCK) ))"
echo "rss after-soak vmrss_kb=$(rss_at_rest)"
fi
# The first half is held by a process that times nothing; the second times the fresh
# requests once both halves are held.
"$BS" flood -p "$XEND_PORT" -m $((HOLD / 2)) -r 0 -t 600 > "$T/flood1" &
FL1=$!
while ! grep -q '^flood errors' "$T/flood1" 2>/dev/null; do sleep 0.1; done
"$BS" flood -p "$XEND_PORT" -m $((HOLD - HOLD / 2)) -r 50 -t 3 > "$T/flood" &
FL=$!
while ! grep -q '^flood errors' "$T/flood" 2>/dev/null; do sleep 0.1; done
a=$(ticks "$PID"); sleep 1; b=$(ticks "$PID")
echo "flood xend_open_fds_while_held=$(ls /proc/$PID/fd | wc -l) vmrss_kb_while_held=$(rss)"
wait "$FL"
kill "$FL1" 2>/dev/null; wait "$FL1" 2>/dev/null
grep '^flood held' "$T/flood1"
cat "$T/flood"
echo "flood xend_cpu_ticks_per_s=$((b - a)) (of $(getconf CLK_TCK))"
echo "rss after-flood vmrss_kb=$(rss_at_rest) (1.5 s) $(sleep 3.5; rss) (5 s)"
grep -c 'accept paused' "$T/xend.log" | sed 's/^/accept_paused_lines=/'
