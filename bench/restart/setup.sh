# What run.sh and cpu.sh share (sourced, bash): $T, the private state dir of an xend on the
# sim backend listening on $PORT, whose xend and xend-simhv are stopped (with the binaries
# of $STOP_BUILD) and which is removed when the script exits; populate BUILD, N domains
# made there by BUILD's xend, which is then stopped; ms, the clock in ms; median.
# BENCH_DIR (default /tmp) is where $T goes; BENCH_PORT, a port where 20000-31999 is taken.
T=$(mktemp -d "${BENCH_DIR:-/tmp}/bench-restart.XXXXXX")
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
PORT=${BENCH_PORT:-$(free_port)}
# No console plugin: 10,000 console listeners would measure the console, not the restart.
bench_xend_dir "$T" "$PORT" 'sim-memory = 1048576;
plugins = [ "hv-sim", "sched-bvt", "vif", "vbd" ];'

bench_stop_at_exit "$STOP_BUILD" "$T"
ms() { echo $(($(date +%s%N) / 1000000)); }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
populate() {
    "$1/bin/xend" start -c "$T/xend.conf" || exit 1
    "$1/bin/bench-lifecycle" create -p "$PORT" -k "$T/vmlinuz" -n "$N" -c 64 | sed 's/^/# /'
    "$1/bin/xend" stop -c "$T/xend.conf" >/dev/null
}
