#!/bin/bash
# Migration between two xends on loopback (bench/README.md, "bench-migrate"): a sim guest of
# MB megabytes (default 1024; its image that size: the guest's kernel file is as large),
# migrated back and forth ROUNDS times (default 3) not live, then live while it dirties
# DIRTY pages a second (default 51200 = 200 MB/s). Printed for each: the image's bytes and
# throughput as the sender counted them (its log line `domain migrated out ... bytes= `),
# the CPU seconds each xend and xend-simhv spent per GB, and for live the downtime: the
# sender's `downtime_ms` (from the guest's pause for the last round to the destination's
# `(ok)`), of which the sending simhv's part (its log: `paused N ms`, to the image's end). The
# anchor of the same run: the same bytes through plain loopback TCP (bench-migrate-tcp).
#
#   bench/migrate/run.sh BUILD_DIR [MB] [ROUNDS] [DIRTY]
#
# BENCH_DIR (default /tmp) is where the private state dirs go.
set -u
BUILD=$(cd "${1:?usage: run.sh BUILD_DIR [MB] [ROUNDS] [DIRTY]}" && pwd)
MB=${2:-1024}
ROUNDS=${3:-3}
DIRTY=${4:-51200}
T=$(mktemp -d "${BENCH_DIR:-/tmp}/bench-migrate.XXXXXX")
source "$(dirname "$0")/../lib.sh"
declare -A PORT RPORT
for h in a b; do
    PORT[$h]=$(free_port)
    RPORT[$h]=$(free_port)
    # No console plugin: its listeners would take ports of their own and measure nothing here.
    BENCH_LOG_LEVEL=info bench_xend_dir "$T/$h" "${PORT[$h]}" "sim-memory = $((MB * 2 + 512));
plugins = [ \"hv-sim\", \"sched-bvt\", \"vif\", \"vbd\" ];"
    sed -i "s/^xend-relocation-port = 0;/xend-relocation-port = ${RPORT[$h]};/" "$T/$h/xend.conf"
done
cleanup() {
    for h in a b; do
        "$BUILD/bin/xend" stop -c "$T/$h/xend.conf" >/dev/null 2>&1
        "$BUILD/bin/xend-simhv" --stop --socket "$T/$h/state/simhv.sock" >/dev/null 2>&1
    done
    rm -rf "$T"
}
trap cleanup EXIT
trap "exit 1" INT TERM # so that a killed run still stops its daemons
for h in a b; do "$BUILD/bin/xend" start -c "$T/$h/xend.conf" || exit 1; done
# simhv writes the pages the kernel occupies: a kernel as large as the guest (less a little
# room) makes an image of the guest's size. Sparse: nothing is read from disk.
truncate -s $((MB - 8))M "$T/kernel"

post() { curl -s -X POST "${@:2}" "http://127.0.0.1:${PORT[$1]}/xend/domain${PATH_:-}"; }
cpu() { # CPU seconds (user+system) of the processes whose pid files are given
    local s=0 f pid
    for f in "$@"; do
        pid=$(cat "$f" 2>/dev/null) || continue
        s=$((s + $(awk '{ print $14 + $15 }' "/proc/$pid/stat")))
    done
    echo "$s"
}
pids() { echo "$T/$1/xend.pid"; }
simhv_pid() { pgrep -f "xend-simhv.*$T/$1/state/simhv.sock" | head -1; }
hz=$(getconf CLK_TCK)
# migrate NAME FROM TO LIVE: one migration; prints "bytes ms downtime_ms cpu_xend cpu_simhv
# rounds paused_ms"
migrate() {
    local name=$1 from=$2 to=$3 live=$4 t0 t1 line x0 s0 x1 s1
    echo "$(simhv_pid a)" > "$T/simhv-a.pid"
    echo "$(simhv_pid b)" > "$T/simhv-b.pid"
    x0=$(cpu "$(pids a)" "$(pids b)")
    s0=$(cpu "$T/simhv-a.pid" "$T/simhv-b.pid")
    t0=$(date +%s%N)
    out=$(PATH_=/$name post "$from" --data-urlencode op=migrate \
        --data-urlencode "destination=127.0.0.1:${RPORT[$to]}" --data-urlencode live=$live)
    t1=$(date +%s%N)
    # As 2.0 answered: the domain's URL at the destination.
    [[ "$out" =~ ^http://[^/]+/xend/domain/[0-9]+$ ]] || { echo "migrate failed: $out" >&2; return 1; }
    x1=$(cpu "$(pids a)" "$(pids b)")
    s1=$(cpu "$T/simhv-a.pid" "$T/simhv-b.pid")
    line=$(grep "domain migrated out domain=$name " "$T/$from/xend.log" | tail -1)
    saved=$(grep "save done" "$T/$from/state/simhv.log" | tail -1)
    echo "$(sed -E 's/.* bytes=([0-9]+).*/\1/' <<<"$line") $(((t1 - t0) / 1000000)) \
$(sed -E 's/.*downtime_ms=([0-9]+).*/\1/' <<<"$line") $((x1 - x0)) $((s1 - s0)) \
$(sed -E 's/.* in ([0-9]+) round.*/\1/' <<<"$saved") $(sed -E 's/.*paused ([0-9]+) ms.*/\1/' <<<"$saved")"
}
report() { # report KIND BYTES MS DOWNTIME CPU_XEND CPU_SIMHV ROUNDS PAUSED_MS TCP_MB_S
    awk -v k="$1" -v b="$2" -v ms="$3" -v dt="$4" -v cx="$5" -v cs="$6" -v hz="$hz" -v r="$7" \
        -v p="$8" -v tcp="$9" 'BEGIN {
        mbs = b / (ms / 1000) / 1e6; gb = b / 1e9
        printf "%-6s bytes=%.0f ms=%d mb_s=%.0f tcp_mb_s=%.0f ratio=%.2f rounds=%d", k, b, ms, mbs, tcp, mbs / tcp, r
        if (k == "live") printf " downtime_ms=%d (paused_last_round=%d)", dt, p
        printf " xend_cpu_ms_per_gb=%.0f simhv_cpu_ms_per_gb=%.0f\n", cx * 1000 / hz / gb / 2, cs * 1000 / hz / gb / 2 }'
}

echo "# bench-migrate $(date -u +%FT%TZ) $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg), guest ${MB} MB, live dirtying $DIRTY pages/s"
cfg() { echo "(vm (name $1) (memory $MB) (image (linux (kernel $T/kernel) (args 'sim.load=10 sim.dirty_rate=$2'))))"; }
# back_and_forth NAME LIVE KIND: ROUNDS migrations of NAME, from a to b and back, reported
back_and_forth() {
    local from=a to=b t r bytes ms dt cx cs rounds paused tcp
    for r in $(seq "$ROUNDS"); do
        read -r bytes ms dt cx cs rounds paused < <(migrate "$1" $from $to "$2") || exit 1
        tcp=$("$BUILD/bin/bench-migrate-tcp" "$bytes" | sed -E 's/.*mb_s=([0-9]+).*/\1/')
        report "$3" "$bytes" "$ms" "$dt" "$cx" "$cs" "$rounds" "$paused" "$tcp"
        t=$from from=$to to=$t
    done
    LAST_HOST=$from
}
PATH_= post a --data-urlencode op=create --data-urlencode "config=$(cfg cold 0)" >/dev/null
back_and_forth cold 0 plain
PATH_=/cold post "$LAST_HOST" --data-urlencode op=destroy --data-urlencode reason=halt >/dev/null
PATH_= post a --data-urlencode op=create --data-urlencode "config=$(cfg hot "$DIRTY")" >/dev/null
PATH_=/hot post a --data-urlencode op=unpause >/dev/null
back_and_forth hot 1 live
