#!/bin/bash
# Durable creates per second, side by side in one run (bench/README.md, "bench-creates"):
#   - the floor: one writer making ~600-byte records durable (write, fdatasync, rename,
#     directory fsync) one at a time, on the same disk as xend's state dir;
#   - the anchor: libvirtd 9's test driver (Debian's libvirt-daemon; in memory, NOT
#     durable) on a socket private to this run, CLIENTS connections creating at once;
#   - xend on the sim backend with every plugin, each create durable in its store before
#     it is answered, the same CLIENTS.
# Rounds alternate anchor and xend at each client count; each line is one measurement and
# the summary gives xend / libvirtd and xend (1 client) / floor per round, the floor taken
# right before and right after xend's one-client run.
#
#   bench/creates/run.sh BUILD_DIR [SECONDS] [ROUNDS]
#
# Installs libvirt-daemon and libvirt-dev from Debian when missing (needs root). CLIENTS
# (default "1 16 64 256"); BENCH_DIR (default /tmp) holds the state dirs.
set -u
BUILD=$(cd "${1:?usage: run.sh BUILD_DIR [SECONDS] [ROUNDS]}" && pwd)
SECS=${2:-3}
ROUNDS=${3:-2}
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d "${BENCH_DIR:-/tmp}/bench-creates.XXXXXX")
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
source "$HERE/../lib.sh"

if ! command -v libvirtd >/dev/null || [ ! -e /usr/include/libvirt/libvirt.h ]; then
    echo "# installing libvirt-daemon libvirt-dev (the anchor)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libvirt-daemon libvirt-dev >/dev/null || { echo "cannot install libvirt" >&2; exit 1; }
fi
cc -O2 -o "$T/libvirt-creates" "$HERE/libvirt_creates.c" -lvirt -lpthread || exit 1

# libvirtd with only the drivers built into libvirt itself (test, remote): an empty module
# dir keeps the qemu and network drivers, which need users and services this run has not,
# from loading; its sockets and log stay in $T.
mkdir -p "$T/libvirt/drivers"
cat > "$T/libvirt/libvirtd.conf" <<CONF
unix_sock_dir = "$T/libvirt"
unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
log_outputs = "3:file:$T/libvirt/libvirtd.log"
max_clients = 5000
max_workers = 32
max_client_requests = 5
CONF
LIBVIRT_DRIVER_DIR=$T/libvirt/drivers libvirtd --config "$T/libvirt/libvirtd.conf" \
    --pid-file "$T/libvirt/pid" > "$T/libvirt/out" 2>&1 &
URI="test+unix:///default?socket=$T/libvirt/libvirt-sock"

XEND_PORT=$(free_port)
# Every domain listens on base + its id (the console plugin): each step starts a fresh
# xend, and MAX_CREATES (8,000) keeps the ports in 10,000-18,000: clear of a developer's
# xend (8000-8002, consoles from 9600), of free_port's 20,000-31,999 and of the ephemeral
# range (a service of this machine listens on 2024, which the old base 2000 met).
bench_xend_dir "$T" "$XEND_PORT" "sim-memory = 1048576;
console-port-base = 10000;"
xend_stop() {
    "$BUILD/bin/xend" stop -c "$T/xend.conf" >/dev/null 2>&1
    "$BUILD/bin/xend-simhv" --stop --socket "$T/state/simhv.sock" >/dev/null 2>&1
}
xend_fresh() {
    xend_stop
    rm -rf "$T/state" && mkdir -p "$T/state"
    "$BUILD/bin/xend" start -c "$T/xend.conf" || exit 1
}
cleanup() {
    [ -f "$T/libvirt/pid" ] && kill "$(cat "$T/libvirt/pid")" 2>/dev/null
    xend_stop
    rm -rf "$T"
}
trap cleanup EXIT
trap "exit 1" INT TERM # so that a killed run still stops its daemons
for _ in $(seq 1 100); do [ -S "$T/libvirt/libvirt-sock" ] && break; sleep 0.1; done
[ -S "$T/libvirt/libvirt-sock" ] || { echo "libvirtd did not start:"; cat "$T/libvirt/out"; exit 1; }

field() { grep -oE "$1=[0-9.]+" <<< "$2" | head -1 | cut -d= -f2; }
echo "# bench-creates $(date -u +%FT%TZ) $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg), state on $(df --output=source "$T" | tail -1)"
declare -A XR LR
mkdir -p "$T/floor"
# The disk's own rate swings by 2x within a minute here: the floor is taken right before and
# right after xend's one-client run, and xend is compared with their mean.
floor() { # floor LABEL: one run of the floor, its line printed, its rate in FLOOR_RATE
    local out
    out=$("$BUILD/bin/bench-create-floor" "$T/floor" "$SECS")
    echo "round=$r $1 $out"
    rm -f "$T"/floor/*
    FLOOR_RATE=$(field rate "$out")
}
declare -A FB FA
for r in $(seq "$ROUNDS"); do
    for c in ${CLIENTS:-1 16 64 256}; do
        out=$("$T/libvirt-creates" "$URI" "$c" "$SECS")
        echo "round=$r $out"
        LR[$r,$c]=$(field rate "$out")
        # As many creates as libvirtd made in the same time: equal speed, equal duration.
        n=$(awk -v r="${LR[$r,$c]}" -v s="$SECS" -v m="${MAX_CREATES:-8000}" \
            'BEGIN { n = int(r * s); print (n < 200 ? 200 : n > m ? m : n) }')
        xend_fresh
        if [ "$c" = 1 ]; then floor floor-before; FB[$r]=$FLOOR_RATE; fi
        out=$("$BUILD/bin/bench-lifecycle" create -p "$XEND_PORT" -k "$T/vmlinuz" -n "$n" \
            -c "$c" -m 1)
        echo "round=$r xend $out"
        XR[$r,$c]=$(field rate "$out")
        if [ "$c" = 1 ]; then floor floor-after; FA[$r]=$FLOOR_RATE; fi
    done
done
echo "# summary: durable creates/s of xend against libvirtd's in-memory test driver, same run"
for r in $(seq "$ROUNDS"); do
    line="round=$r"
    for c in ${CLIENTS:-1 16 64 256}; do
        line="$line clients=$c xend=${XR[$r,$c]} libvirtd=${LR[$r,$c]} ratio=$(awk -v a="${XR[$r,$c]}" -v b="${LR[$r,$c]}" 'BEGIN { printf "%.2f", a / b }')"
    done
    echo "$line"
    [ -n "${XR[$r,1]:-}" ] && echo "round=$r 1-client xend=${XR[$r,1]} floor-before=${FB[$r]} floor-after=${FA[$r]} ratio=$(awk -v a="${XR[$r,1]}" -v b="${FB[$r]}" -v c="${FA[$r]}" 'BEGIN { printf "%.2f", 2 * a / (b + c) }') (to the mean of the two)"
done
