#!/bin/bash
# Running out of file descriptors. With the default connection cap (half the descriptor
# limit) a flood of idle connections cannot take the descriptors the store needs: a create
# still works and xend still answers. With a cap set above what the limit allows, accept
# fails with EMFILE: xend pauses accepting instead of spinning (its CPU time over a second
# stays low), answers what it can with a 503, and serves fresh requests once the flood
# goes.
source "$(dirname "$0")/lib.sh"

HOLD=$SRC_DIR/tests/e2e/hold_connections.py
XEND_PORT=$(free_port) EVENT_PORT=$(free_port) RELOC_PORT=$(free_port) CONSOLE_BASE=$(free_port 64)
export XEND=127.0.0.1:$XEND_PORT
URL=http://127.0.0.1:$XEND_PORT

# start_limited NOFILE [CONFIG]: xend (a daemon: the limit is inherited) under ulimit -n.
start_limited() { (ulimit -n "$1" && xend_start "${2:-}"); }
flood_start() { rm -f "$T/held"; python3 "$HOLD" "$XEND_PORT" "$1" "$T/held" & FLOOD=$!; wait_until 30 test -f "$T/held"; }
flood_stop() { rm -f "$T/held"; wait "$FLOOD" 2>/dev/null; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime + stime, in clock ticks
answers() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$URL/xend")" = 200 ]; }

# --- the default cap keeps the store's descriptors ---
start_limited 128 || { not_ok "xend starts under ulimit -n 128"; finish; }
ok "xend starts under ulimit -n 128"
expect_match "the cap is half the limit" 'max_connections=64' "$(grep 'http listening' "$T/xend.log")"
flood_start 300
expect_match "a flood of 300 idle connections is held" '^held 300' "$(cat "$T/held")"
t0=$(date +%s%N)
answers && ok "xend answers during the flood" || not_ok "xend answers during the flood"
ms=$((($(date +%s%N) - t0) / 1000000))
[ $ms -lt 1000 ] && ok "within a second ($ms ms)" || not_ok "within a second" "$ms ms"
body=$(xpost /xend/domain op=create "config=$(vm_config flood1 64)")
expect_match "a create during the flood works" '^\(domain ' "$body"
expect_no_match "the store kept its descriptors" 'cannot write the store' "$body"
flood_stop
xend_stop
wait_until 10 sh -c "! test -f '$T/xend.pid'"

# --- past the limit: EMFILE, and no spin ---
start_limited 64 "http-max-connections = 1000;" || { not_ok "xend starts under ulimit -n 64"; finish; }
ok "xend starts under ulimit -n 64 with a cap it cannot reach"
PID=$(cat "$T/xend.pid")
flood_start 200
wait_until 10 grep -q 'accept paused.*Too many open files' "$T/xend.log" &&
    ok "accept hits EMFILE and pauses" || not_ok "accept hits EMFILE and pauses"
a=$(ticks "$PID")
sleep 1
b=$(ticks "$PID")
[ $((b - a)) -le 10 ] && ok "xend used $((b - a)) ticks of CPU in a second at EMFILE (no spin)" ||
    not_ok "no spin at EMFILE" "$((b - a)) ticks in one second"
st=$(curl -s -o "$T/.body" -w '%{http_code}' --max-time 3 "$URL/xend" || true)
case $st in
503) expect_match "a request at EMFILE gets the 503 that says why" 'Out of file descriptors' "$(cat "$T/.body")" ;;
*) ok "a request at EMFILE is not answered wrongly ($st)" ;;
esac
flood_stop
wait_until 10 answers && ok "a fresh request is answered once the flood has gone" ||
    not_ok "a fresh request is answered once the flood has gone"
kill -0 "$PID" && ok "the same xend process" || not_ok "the same xend process"

finish
