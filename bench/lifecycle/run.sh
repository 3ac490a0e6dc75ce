#!/bin/bash
# Run the lifecycle benchmarks (bench/README.md, "bench-lifecycle"): start a private xend on
# the sim backend on free loopback ports, and measure
#   - list latency (GET /xend/domain?detail=1) with 1, 100 and 1,000 domains, and the bare
#     libevhtp server's latency sending the same body (the transfer's own cost),
#   - durable creates per second (each acknowledged create is in the store), at several
#     client counts, while growing to 5,000 domains,
#   - xend's resident memory (VmRSS) with 0, 1,000 and 5,000 domains,
#   - GET /xend/domain/D per second against the bare libevhtp server with the same body,
#     with client and servers sharing the cpus, then each on a cpu of its own.
# Prints one line per measurement, then a summary against the targets.
#
#   bench/lifecycle/run.sh BUILD_DIR [SECONDS-PER-GET-RUN]
#
# PLUGINS="hv-sim sched-bvt vif vbd" loads only those (default: every plugin); COUNTS="1 100
# 1000 5000" sets the domain counts at which list latency and memory are taken (issue 22's
# row is COUNTS="1 1000 10000"); BENCH_DIR
# (default /tmp) is where the private state dir goes: /dev/shm takes the disk out.
set -u
BUILD=$(cd "${1:?usage: run.sh BUILD_DIR [SECONDS]}" && pwd)
SECS=${2:-5}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BL=$BUILD/bin/bench-lifecycle
T=$(mktemp -d "${BENCH_DIR:-/tmp}/bench-lifecycle.XXXXXX")
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

source "$(dirname "$0")/../lib.sh"
XEND_PORT=$(free_port)
BARE_PORT=$(free_port)
# Console ports are base + domain id: from 9,800, 10,000 domains stay clear of a developer's
# xend (8000-8002, consoles 9600 + its few ids) and below free_port's 20,000-31,999 and the
# ephemeral range (base 3000 crossed both of the first).
CONSOLE_BASE=${CONSOLE_BASE:-9800}

bench_xend_dir "$T" "$XEND_PORT" "sim-memory = 65536;"
if [ -n "${PLUGINS:-}" ]; then
    printf 'plugins = [ %s ];\n' "$(printf '"%s", ' $PLUGINS | sed 's/, $//')" >> "$T/xend.conf"
fi
# (an unknown key is an error, so the console's only when it is loaded)
case " ${PLUGINS:-console} " in *" console "*) echo "console-port-base = $CONSOLE_BASE;" >> "$T/xend.conf" ;; esac

cleanup() {
    [ -n "${BARE_PID:-}" ] && kill "$BARE_PID" 2>/dev/null
    "$BUILD/bin/xend" stop -c "$T/xend.conf" >/dev/null 2>&1
    "$BUILD/bin/xend-simhv" --stop --socket "$T/state/simhv.sock" >/dev/null 2>&1
    rm -rf "$T"
}
trap cleanup EXIT
trap "exit 1" INT TERM # so that a killed run still stops its daemons

"$BUILD/bin/xend" start -c "$T/xend.conf" || exit 1
PID=$(cat "$T/xend.pid")
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$PID/status"; }
# Memory at rest: xend hands freed heap pages back once a check (every 0.5 s, core/trim.c)
# finds it quiet, so the figure that stays is the one 1.5 s after the last request; the one
# right after the burst is printed too.
rss_at_rest() { sleep 1.5; rss; }
field() { grep -oE "$1=[0-9.]+" "$2" | head -1 | cut -d= -f2; }
ndom=0
# CPU time (user + system, all threads) of a process, in clock ticks.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
SIMHV_PID=$(pgrep -f "xend-simhv.*$T/state/simhv.sock" | head -1)
create() { # create N [CONNS]: N more domains; then the cpu each process spent per create
    local x0 s0 hz
    x0=$(ticks "$PID"); s0=$(ticks "$SIMHV_PID")
    "$BL" create -p "$XEND_PORT" -k "$T/vmlinuz" -n "$1" -c "${2:-1}" -s "$ndom"
    hz=$(getconf CLK_TCK)
    awk -v x="$(( $(ticks "$PID") - x0 ))" -v s="$(( $(ticks "$SIMHV_PID") - s0 ))" -v n="$1" \
        -v hz="$hz" 'BEGIN { printf "cpu_us_per_create xend=%.0f simhv=%.0f\n", x * 1e6 / hz / n, s * 1e6 / hz / n }'
    ndom=$((ndom + $1))
}
latency() { # latency REPS [-q]: detail=1 one request at a time
    "$BL" latency -p "$XEND_PORT" -u '/xend/domain?detail=1' -r "$@" | sed "s/^/domains=$ndom /"
}

echo "# bench-lifecycle $(date -u +%FT%TZ) $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg), plugins: ${PLUGINS:-all}"
"$BL" latency -p "$XEND_PORT" -u /xend -r 200 >/dev/null # warm up
echo "rss domains=0 vmrss_kb=$(rss_at_rest)" | tee "$T/rss0"
# Grow to each count, creating with more clients as the steps get bigger; at each count take
# the list latency and the memory.
for n in ${COUNTS:-1 100 1000 5000}; do
    step=$((n - ndom))
    conns=$((step >= 1000 ? 256 : step >= 100 ? 64 : step >= 10 ? 16 : 1))
    create "$step" "$conns" > "$T/create$n"
    sed "s/^/to=$n /" "$T/create$n"
    echo "rss-right-after domains=$ndom vmrss_kb=$(rss)"
    echo "rss domains=$ndom vmrss_kb=$(rss_at_rest)" | tee "$T/rss$n"
    reps=$((n >= 5000 ? 20 : n >= 1000 ? 50 : 300))
    latency "$reps" > "$T/lat$n"
    latency "$reps" -q > "$T/latq$n"
    cat "$T/lat$n" "$T/latq$n"
    # The anchor: the bare libevhtp server sending the same body, so that the transfer
    # itself (this machine's loopback TCP and memory) is told apart from xend's own work.
    curl -s -o "$T/listbody" "http://127.0.0.1:$XEND_PORT/xend/domain?detail=1"
    "$BUILD/bin/bench-bare-evhtp" "$BARE_PORT" "$T/listbody" nodelay &
    BARE_PID=$!
    until ! port_free "$BARE_PORT"; do sleep 0.05; done
    "$BL" latency -p "$BARE_PORT" -u /xend/domain -r "$reps" | sed "s/^/bare domains=$ndom /" > "$T/blat$n"
    "$BL" latency -p "$BARE_PORT" -u /xend/domain -r "$reps" -q | sed "s/^/bare domains=$ndom /" > "$T/blatq$n"
    kill "$BARE_PID"; wait "$BARE_PID" 2>/dev/null; BARE_PID=
    until port_free "$BARE_PORT"; do sleep 0.05; done
    cat "$T/blat$n" "$T/blatq$n"
    # The list builds and frees a reply of ~450 bytes per domain; what stays of it at rest.
    echo "rss-after-list domains=$ndom vmrss_kb=$(rss_at_rest)" | tee "$T/rssl$n"
done

D=/xend/domain/b000000
curl -s -o "$T/body" "http://127.0.0.1:$XEND_PORT$D"
"$BUILD/bin/bench-bare-evhtp" "$BARE_PORT" "$T/body" &
BARE_PID=$!
until ! port_free "$BARE_PORT"; do sleep 0.05; done
# Alternated rounds, the median of each side: on a shared 2-cpu VM one run against the
# other moves by +-30%. Two placements: "shared", client and server wherever the scheduler
# puts them (they compete for the cpus), and "pinned", each server on cpu 0 and the client
# on cpu 1, which compares the servers' own cost per request and moves much less between
# runs. Pinned needs taskset and two cpus.
ROUNDS=${ROUNDS:-3}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
PLACES=shared
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then PLACES="shared pinned"; fi
for place in $PLACES; do
    client=()
    if [ "$place" = pinned ]; then
        for t in /proc/"$PID"/task/*; do taskset -pc 0 "${t##*/}" >/dev/null; done
        taskset -pc 0 "$BARE_PID" >/dev/null
        client=(taskset -c 1)
    fi
    for c in 1 16; do
        : > "$T/xrates$place$c"
        : > "$T/brates$place$c"
        for r in $(seq "$ROUNDS"); do
            "${client[@]}" "$BL" get -p "$XEND_PORT" -u "$D" -c $c -t "$SECS" -q > "$T/xget$c"
            sed "s/^/xend $place body=$(stat -c %s "$T/body") round=$r /" "$T/xget$c"
            field rate "$T/xget$c" >> "$T/xrates$place$c"
            "${client[@]}" "$BL" get -p "$BARE_PORT" -u "$D" -c $c -t "$SECS" -q > "$T/bget$c"
            sed "s/^/bare $place round=$r /" "$T/bget$c"
            field rate "$T/bget$c" >> "$T/brates$place$c"
        done
    done
done

echo "# summary"
for n in ${COUNTS:-1 100 1000 5000}; do
    printf 'domains %5s: detail=1 median %8s ms (client quickack: %8s ms); creates/s on the way %6s (%s clients; cpu us/create xend %s, simhv %s); VmRSS %6s kB, after a list %6s kB\n' \
        "$n" "$(field p50_ms "$T/lat$n")" "$(field p50_ms "$T/latq$n")" "$(field rate "$T/create$n")" \
        "$(field conns "$T/create$n")" "$(field xend "$T/create$n")" "$(field simhv "$T/create$n")" \
        "$(field vmrss_kb "$T/rss$n")" "$(field vmrss_kb "$T/rssl$n")"
done
for n in ${COUNTS:-1 100 1000 5000}; do
    printf 'domains %5s: the same list body from bare libevhtp: median %8s ms (quickack: %8s ms); xend / bare %s (quickack %s)\n' \
        "$n" "$(field p50_ms "$T/blat$n")" "$(field p50_ms "$T/blatq$n")" \
        "$(awk -v x="$(field p50_ms "$T/lat$n")" -v b="$(field p50_ms "$T/blat$n")" 'BEGIN { printf "%.2f", x / b }')" \
        "$(awk -v x="$(field p50_ms "$T/latq$n")" -v b="$(field p50_ms "$T/blatq$n")" 'BEGIN { printf "%.2f", x / b }')"
done
echo "targets: creates >= 5000/s; detail=1 <= 0.5 ms at 1,000 domains and <= 5 ms at 10,000; VmRSS (at rest) <= 4096 kB + 4 kB/domain"
r0=$(field vmrss_kb "$T/rss0")
for n in ${COUNTS:-1 100 1000 5000}; do
    r=$(field vmrss_kb "$T/rss$n")
    rl=$(field vmrss_kb "$T/rssl$n")
    printf 'VmRSS at %s domains: %s kB = %s kB + %s kB/domain (after a list: %s kB/domain); target %s kB\n' \
        "$n" "$r" "$r0" "$(awk -v a="$r0" -v b="$r" -v n="$n" 'BEGIN { printf "%.1f", (b - a) / n }')" \
        "$(awk -v a="$r0" -v b="$rl" -v n="$n" 'BEGIN { printf "%.1f", (b - a) / n }')" "$((4096 + 4 * n))"
done
for place in $PLACES; do
    for c in 1 16; do
        x=$(median < "$T/xrates$place$c"); b=$(median < "$T/brates$place$c")
        printf 'GET %s with %s connection(s), %s: xend %s/s, bare libevhtp %s/s = %s%% (medians of %s alternated runs)   issue 22: >= 100%%\n' \
            "$D" "$c" "$place" "$x" "$b" "$(awk -v x="$x" -v b="$b" 'BEGIN { printf "%.0f", 100 * x / b }')" "$ROUNDS"
    done
done
