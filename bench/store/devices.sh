#!/bin/bash
# What one device_create costs as a domain grows (bench/README.md, "bench-devices"): a
# private xend on the sim backend, one domain, vifs added one at a time over one keep-alive
# connection (a vif script that only exits, so the script is a constant), up to the largest
# count. For each count it prints the median wall time of the 10 device_creates that end
# there, what the store wrote for the last one (the domain record file, or the device's
# change record), and the domain record's size.
#
#   bench/store/devices.sh BUILD_DIR [COUNTS]      # default 10,100,1000,3000
#
# BENCH_DIR (default /tmp) is where the private state dir goes.
set -u
BUILD=$(cd "${1:?usage: devices.sh BUILD_DIR [COUNTS]}" && pwd)
COUNTS=${2:-10,100,1000,3000}
MAX=$(tr ',' '\n' <<< "$COUNTS" | sort -n | tail -1)
T=$(mktemp -d "${BENCH_DIR:-/tmp}/bench-devices.XXXXXX")
source "$(dirname "$0")/../lib.sh"
PORT=${BENCH_PORT:-$(free_port)} # BENCH_PORT: where 20000-31999 is taken
bench_xend_dir "$T" "$PORT" "max-devices-per-domain = $((MAX + 1));
vif-script = \"vif-exit\";
plugins = [ \"hv-sim\", \"sched-bvt\", \"vif\" ];"
printf '#!/bin/sh\nexit 0\n' > "$T/scripts/vif-exit"
chmod 755 "$T/scripts/vif-exit"
cleanup() {
    "$BUILD/bin/xend" stop -c "$T/xend.conf" >/dev/null 2>&1
    "$BUILD/bin/xend-simhv" --stop --socket "$T/state/simhv.sock" >/dev/null 2>&1
    rm -rf "$T"
}
trap cleanup EXIT
trap "exit 1" INT TERM # so that a killed run still stops its daemons
"$BUILD/bin/xend" start -c "$T/xend.conf" || exit 1
echo "# bench-devices $(date -u +%FT%TZ) $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg), build $BUILD"
python3 - "$PORT" "$T" "$COUNTS" <<'PY'
import glob, http.client, os, statistics, sys, time, urllib.parse
port, T, counts = int(sys.argv[1]), sys.argv[2], sorted(int(c) for c in sys.argv[3].split(','))
c = http.client.HTTPConnection('127.0.0.1', port)
def post(path, **form):
    body = urllib.parse.urlencode(form)
    c.request('POST', path, body, {'Content-Type': 'application/x-www-form-urlencoded'})
    r = c.getresponse()
    return r.status, r.read().decode()
st, out = post('/xend/domain', op='create',
               config='(vm (name devs) (memory 16) (image (linux (kernel %s/vmlinuz))))' % T)
assert st == 201, out
rec = [f for f in glob.glob(T + '/state/domain/*') if '(name devs)' in open(f).read()][0]
times = []
for i in range(1, counts[-1] + 1):
    mac = 'aa:00:00:%02x:%02x:%02x' % (i >> 16, (i >> 8) & 255, i & 255)
    t0 = time.monotonic()
    st, out = post('/xend/domain/devs', op='device_create', config='(vif (mac %s))' % mac)
    times.append((time.monotonic() - t0) * 1000)
    if st != 200:
        sys.exit('device %d failed: %d %s' % (i, st, out))
    if i in counts:
        newest = max(glob.glob(T + '/state/*/*'), key=os.path.getmtime)
        print('devices=%-5d device_create_ms=%.2f last_write=%s:%d record_bytes=%d' % (
            i, statistics.median(times[-10:]), os.path.basename(os.path.dirname(newest)),
            os.path.getsize(newest), os.path.getsize(rec)))
        sys.stdout.flush()
PY
