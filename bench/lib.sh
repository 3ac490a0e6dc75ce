# What the benchmark scripts share (sourced, bash): a free loopback port, and the state
# dir, scripts, kernel and config of an xend on the sim backend that nothing else uses.
#
#   free_port                         a free port on 127.0.0.1 (20000-31999)
#   bench_xend_dir DIR PORT [LINES]   make DIR/{state,scripts,vmlinuz} and DIR/xend.conf
#                                     for xend on PORT, LINES appended to the config
#   bench_stop_at_exit BUILD DIR      at exit (or INT/TERM), stop the xend and xend-simhv of
#                                     DIR with BUILD's binaries, and remove DIR
port_free() { ! (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; }
free_port() { local p; while :; do p=$((20000 + RANDOM % 12000)); port_free $p && { echo $p; return; }; done; }

bench_xend_dir() {
    local dir=$1 port=$2 extra=${3:-}
    mkdir -p "$dir/state" "$dir/scripts"
    cp -r "$(dirname "${BASH_SOURCE[0]}")"/../scripts/. "$dir/scripts/" 2>/dev/null
    printf 'simulated kernel\n' > "$dir/vmlinuz"
    cat > "$dir/xend.conf" <<CONF
xend-port = $port;
xend-address = "127.0.0.1";
xend-event-port = 0;
xend-relocation-port = 0;
state-dir = "$dir/state";
log-file = "$dir/xend.log";
log-level = "${BENCH_LOG_LEVEL:-notice}";
pid-file = "$dir/xend.pid";
backend = "sim";
script-dir = "$dir/scripts";
simhv-socket = "$dir/state/simhv.sock";
$extra
CONF
}

bench_stop_at_exit() {
    BENCH_STOP_BUILD=$1 BENCH_STOP_DIR=$2
    trap '"$BENCH_STOP_BUILD/bin/xend" stop -c "$BENCH_STOP_DIR/xend.conf" >/dev/null 2>&1
        "$BENCH_STOP_BUILD/bin/xend-simhv" --stop --socket "$BENCH_STOP_DIR/state/simhv.sock" >/dev/null 2>&1
        rm -rf "$BENCH_STOP_DIR"' EXIT
    trap "exit 1" INT TERM # so that a killed run still stops its daemons
}
