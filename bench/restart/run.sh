#!/bin/bash
# Restart with reconcile (bench/README.md, "bench-restart"): a private xend on the sim
# backend gets N domains (default 10,000), is stopped (xend-simhv keeps the domains, as Xen
# would), and started again; the figure is how long `xend start` takes until xend answers,
# which is after every stored domain was matched with the hypervisor and reattached. The
# anchor of the same run is the start of an xend with no domain at all, and the time to read
# every record file once (cat), which bounds what reading the store can cost.
#
#   bench/restart/run.sh BUILD_DIR [N] [ROUNDS]
#
# BENCH_DIR and BENCH_PORT: see setup.sh.
set -u
BUILD=$(cd "${1:?usage: run.sh BUILD_DIR [N] [ROUNDS]}" && pwd)
N=${2:-10000}
ROUNDS=${3:-3}
STOP_BUILD=$BUILD
source "$(dirname "$0")/setup.sh"
start_ms() { # the time `xend start` takes until xend is ready
    local t0 t1
    t0=$(ms)
    "$BUILD/bin/xend" start -c "$T/xend.conf" || exit 1
    t1=$(ms)
    echo $((t1 - t0))
}

echo "# bench-restart $(date -u +%FT%TZ) $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg), domains $N"
: > "$T/empty"
for r in $(seq "$ROUNDS"); do
    start_ms >> "$T/empty"
    "$BUILD/bin/xend" stop -c "$T/xend.conf" >/dev/null
done
populate "$BUILD"
: > "$T/full"
: > "$T/cat"
for r in $(seq "$ROUNDS"); do
    t0=$(ms); find "$T/state" -type f -exec cat {} + > /dev/null; t1=$(ms)
    echo $((t1 - t0)) >> "$T/cat"
    start_ms >> "$T/full"
    n=$(grep -c 'domain reattached' "$T/xend.log")
    "$BUILD/bin/xend" stop -c "$T/xend.conf" >/dev/null
    echo "round=$r start_ms=$(tail -1 "$T/full") empty_start_ms=$(sed -n "${r}p" "$T/empty") cat_records_ms=$(tail -1 "$T/cat")"
done
e=$(median < "$T/empty"); f=$(median < "$T/full"); c=$(median < "$T/cat")
echo "# summary (medians of $ROUNDS)"
printf 'restart with %s domains: %s ms; empty start %s ms; reading every record file %s ms; reconcile %s ms = %.1f us/domain\n' \
    "$N" "$f" "$e" "$c" "$((f - e))" "$(awk -v d="$((f - e))" -v n="$N" 'BEGIN { print d * 1000 / n }')"
