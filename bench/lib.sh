# What the benchmark scripts share (sourced, bash): a free loopback port, and the state
# dir, scripts, kernel and config of an xend on the sim backend that nothing else uses.
#
#   free_port                         a free port on 127.0.0.1 (20000-31999)
#   bench_xend_dir DIR PORT [LINES]   make DIR/{state,scripts,vmlinuz} and DIR/xend.conf
#                                     for xend on PORT, LINES appended to the config
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
