#!/bin/bash
# Connection limits of the HTTP server: a head or body that does not complete within its
# deadline is answered 408 (slowloris), an idle connection is closed after the idle
# timeout, and past the connection cap the connection idle the longest is closed to make
# room, or, when every connection is busy, the new one gets 503 with Retry-After. Small
# deadlines keep it fast.
source "$(dirname "$0")/lib.sh"

xend_start "http-head-timeout = 1; http-body-timeout = 1; http-idle-timeout = 2;
http-send-timeout = 1; http-max-connections = 4; event-inject-max = 300000;
event-backlog-budget = 268435456;" || { not_ok "xend starts"; finish; }
ok "xend starts"
PORT=$XEND_PORT

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# read_all FD SECONDS: what the server sends on FD until it closes (or SECONDS pass).
read_all() { timeout "$2" cat <&"$1" 2>/dev/null; }

# --- head deadline: half a request line, then nothing ---
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET /xend HT' >&3
t0=$(now_ms)
reply=$(read_all 3 6)
t1=$(now_ms)
exec 3<&-
expect_match "half a head is answered 408" '^HTTP/1\.[01] 408 ' "$reply"
expect_match "the 408 says which deadline" 'head not complete' "$reply"
if [ $((t1 - t0)) -ge 800 ] && [ $((t1 - t0)) -lt 4000 ]; then ok "after about the 1 s deadline ($((t1 - t0)) ms)"
else not_ok "after about the 1 s deadline" "$((t1 - t0)) ms"; fi

# A head that trickles a byte at a time still meets the deadline from its first byte.
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
t0=$(now_ms)
for c in G E T ' ' /; do printf '%s' "$c" >&3 2>/dev/null; sleep 0.3; done
reply=$(read_all 3 6)
t1=$(now_ms)
exec 3<&-
expect_match "a trickled head is answered 408" '^HTTP/1\.[01] 408 ' "$reply"
if [ $((t1 - t0)) -lt 4000 ]; then ok "the trickle did not extend the deadline ($((t1 - t0)) ms)"
else not_ok "the trickle did not extend the deadline" "$((t1 - t0)) ms"; fi

# --- body deadline: a whole head, a tenth of the body ---
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
printf 'POST /xend/domain HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nop=list&x' >&3
reply=$(read_all 3 6)
exec 3<&-
expect_match "a body that stops short is answered 408" '^HTTP/1\.[01] 408 ' "$reply"
expect_match "the 408 names the body" 'body not complete' "$reply"

# --- idle timeout: a keep-alive connection after its reply, and one that never spoke ---
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET /xend HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' >&3
t0=$(now_ms)
reply=$(read_all 3 8)
t1=$(now_ms)
exec 3<&-
expect_match "a keep-alive request is answered" '^HTTP/1\.1 200 ' "$reply"
if [ $((t1 - t0)) -ge 1500 ] && [ $((t1 - t0)) -lt 6000 ]; then ok "then closed after the 2 s idle timeout ($((t1 - t0)) ms)"
else not_ok "then closed after the 2 s idle timeout" "$((t1 - t0)) ms"; fi
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
reply=$(read_all 3 8)
exec 3<&-
expect_eq "a silent connection is closed without a reply" "" "$reply"
grep -q 'http connection closed.*idle for 2000 ms' "$T/xend.log" && ok "the idle close is logged" ||
    not_ok "the idle close is logged"

# --- the cap (4): idle connections make room for a new one ---
for fd in 3 4 5 6; do eval "exec $fd<>/dev/tcp/127.0.0.1/$PORT"; sleep 0.1; done
exec 7<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET /xend HTTP/1.0\r\n\r\n' >&7
reply=$(read_all 7 5)
expect_match "past the cap a new request is answered" '^HTTP/1\.0 200 ' "$reply"
first=$(read_all 3 3)
expect_eq "the connection idle the longest was closed for it" "" "$first"
grep -q 'reason="connection cap 4: idle the longest"' "$T/xend.log" && ok "the eviction is logged" ||
    not_ok "the eviction is logged"
for fd in 3 4 5 6 7; do eval "exec $fd<&-"; done

# --- the cap with every connection busy: 503 with Retry-After ---
pids=()
for i in 1 2 3 4; do
    curl -s -N -D "$T/follow$i.h" "http://127.0.0.1:$PORT/xend/event?follow=1" > "$T/follow$i" &
    pids+=($!)
done
# A follower's stream head arrives once xend runs its request (busy from then on).
followers() { for i in 1 2 3 4; do grep -q '^HTTP/1.1 200' "$T/follow$i.h" || return 1; done; }
wait_until 5 followers && ok "four followers connect" || not_ok "four followers connect"
headers=$(curl -s -i --max-time 5 "http://127.0.0.1:$PORT/xend")
expect_match "with four busy connections a fifth gets 503" '^HTTP/1\.[01] 503 ' "$headers"
expect_match "the 503 carries Retry-After" 'Retry-After: [0-9]+' "$headers"
expect_match "the 503 says why" 'Too many connections \(limit 4\)' "$headers"
kill "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null
answers() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$PORT/xend")" = 200 ]; }
wait_until 10 answers && ok "once they leave, requests are answered again" ||
    not_ok "once they leave, requests are answered again"

# --- send timeout: a follower that stops reading is closed once writing stalls ---
cat > "$T/stall.py" <<'PY'
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /xend/event?follow=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
time.sleep(float(sys.argv[2]))
PY
python3 "$T/stall.py" "$PORT" 30 &
STALL=$!
sleep 0.5
head -c 250000 /dev/zero | tr '\0' c > "$T/mid"
printf '(test.load %s)' "$(cat "$T/mid")" > "$T/midev"
stalled() { grep -q 'reason="client did not read for 1000 ms"' "$T/xend.log"; }
for i in $(seq 1 60); do
    xpost /xend/event op=inject "event@$T/midev" >/dev/null
    stalled && break
done
wait_until 10 stalled && ok "a client that stops reading is closed after the 1 s send timeout" ||
    not_ok "a client that stops reading is closed after the 1 s send timeout"
kill "$STALL" 2>/dev/null; wait "$STALL" 2>/dev/null

finish
