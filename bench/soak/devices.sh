#!/bin/bash
# What one device_create costs as a domain fills up to the device cap (bench/README.md,
# "bench-soak"): a private xend on the sim backend, one domain, then vifs added one at a
# time up to max-devices-per-domain (256); prints the time of each tenth, and the size of
# the domain's record in the store (every hot-plug rewrites it whole).
#
#   bench/soak/devices.sh BUILD_DIR [COUNT]
set -u
BUILD=$(cd "${1:?usage: devices.sh BUILD_DIR [COUNT]}" && pwd)
COUNT=${2:-256}
T=$(mktemp -d "${BENCH_DIR:-/tmp}/bench-devices.XXXXXX")
source "$(dirname "$0")/../lib.sh"
PORT=$(free_port)
bench_xend_dir "$T" "$PORT" "console-port-base = 3000;
max-devices-per-domain = $COUNT;"
cleanup() {
    "$BUILD/bin/xend" stop -c "$T/xend.conf" >/dev/null 2>&1
    "$BUILD/bin/xend-simhv" --stop --socket "$T/state/simhv.sock" >/dev/null 2>&1
    [ -n "${KEEP:-}" ] && cp "$T/xend.log" "$KEEP"; rm -rf "$T"
}
trap cleanup EXIT
trap "exit 1" INT TERM # so that a killed run still stops its daemons
"$BUILD/bin/xend" start -c "$T/xend.conf" || exit 1
URL=http://127.0.0.1:$PORT
curl -s -o /dev/null --data-urlencode "op=create" \
    --data-urlencode "config=(vm (name devs) (memory 16) (image (linux (kernel $T/vmlinuz))))" "$URL/xend/domain"
echo "# bench-devices $(date -u +%FT%TZ) $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq 1 "$COUNT"); do
    mac=$(printf 'aa:00:00:00:%02x:%02x' $((i / 256)) $((i % 256)))
    ms=$(curl -s -o "$T/out" -w '%{time_total}' --data-urlencode "op=device_create" \
        --data-urlencode "config=(vif (mac $mac))" "$URL/xend/domain/devs")
    grep -q '^(vif' "$T/out" || { echo "device $i failed: $(cat "$T/out")"; break; }
    if [ $((i % 32)) = 0 ] || [ "$i" = 1 ]; then
        rec=$(grep -l '(name devs)' "$T"/state/domain/* 2>/dev/null | head -1)
        printf 'devices=%-4d device_create_ms=%.2f record_bytes=%s\n' "$i" "$(echo "$ms * 1000" | bc)" \
            "$( [ -n "$rec" ] && wc -c < "$rec" || echo ?)"
    fi
done
mac=aa:00:00:00:ff:ff
curl -s -o "$T/out" --data-urlencode "op=device_create" --data-urlencode "config=(vif (mac $mac))" "$URL/xend/domain/devs"
echo "past the cap: $(cat "$T/out")"
