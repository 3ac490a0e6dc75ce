#!/bin/bash
# Limits on event followers: a cap on GET /xend/event?follow=1 followers (503 past it) and
# on event port connections, a size cap on op=inject (413), and one backlog budget across
# all followers: a follower that stops reading (over HTTP or on the event port) is dropped
# with a last line that says why, while a follower that reads keeps every event.
source "$(dirname "$0")/lib.sh"

xend_start "event-max-followers = 3; event-port-max-connections = 2;
event-backlog-budget = 1048576; event-inject-max = 200000;" || { not_ok "xend starts"; finish; }
ok "xend starts"
URL=http://127.0.0.1:$XEND_PORT

# --- the follower cap ---
pids=()
for i in 1 2 3; do
    curl -s -N -D "$T/f$i.h" "$URL/xend/event?follow=1" > "$T/f$i" &
    pids+=($!)
done
streaming() { for i in 1 2 3; do grep -q '^HTTP/1.1 200' "$T/f$i.h" || return 1; done; }
wait_until 10 streaming && ok "three followers stream" || not_ok "three followers stream"
hdr=$(curl -s -i --max-time 5 "$URL/xend/event?follow=1")
expect_match "a fourth follower gets 503" '^HTTP/1\.1 503 ' "$hdr"
expect_match "with Retry-After" 'Retry-After: 5' "$hdr"
expect_match "and says why" 'Too many event followers \(limit 3\)' "$hdr"
kill "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null

# --- the inject cap ---
head -c 250000 /dev/zero | tr '\0' a > "$T/big"
printf '(test.big %s)' "$(cat "$T/big")" > "$T/bigev"
body=$(xpost /xend/event op=inject "event@$T/bigev")
expect_eq "an injected event over the cap gets 413" 413 "$(http_status)"
expect_match "saying how large it was" 'Event too large: 250011 bytes \(limit 200000\)' "$body"
body=$(xpost /xend/event op=inject "event=(test.small 1)")
expect_eq "a small event is injected" "0" "$body"

# --- the event port cap ---
exec 5<>"/dev/tcp/127.0.0.1/$EVENT_PORT"
exec 6<>"/dev/tcp/127.0.0.1/$EVENT_PORT"
sleep 0.2
exec 7<>"/dev/tcp/127.0.0.1/$EVENT_PORT"
third=$(timeout 3 cat <&7)
expect_eq "a third event port connection is closed at once" "" "$third"
grep -q 'event port connection refused.*2 connections open' "$T/xend.log" &&
    ok "the refusal is logged" || not_ok "the refusal is logged"
exec 5<&- 6<&- 7<&-

# --- the budget: two clients that do not read, one that does ---
cat > "$T/nonreader.py" <<'PY'
import os, socket, sys, time
port, evport, go, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
def small(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    return s
h = small(socket.socket()); h.connect(("127.0.0.1", port))
h.sendall(b"GET /xend/event?follow=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
e = small(socket.socket()); e.connect(("127.0.0.1", evport))
open(out + ".ready", "w").close()
while not os.path.exists(go):
    time.sleep(0.05)
def drain(s, name):
    s.settimeout(10)
    data = b""
    try:
        while b"xend.event.dropped" not in data[-4096:] or not data.endswith(b"\n"):
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    with open(out + "." + name, "wb") as f:
        f.write(data[-2000:])
import threading
ts = [threading.Thread(target=drain, args=a) for a in ((h, "http"), (e, "port"))]
for t in ts:
    t.start()
for t in ts:
    t.join()
PY
python3 "$T/nonreader.py" "$XEND_PORT" "$EVENT_PORT" "$T/go" "$T/nr" &
NR=$!
curl -s -N "$URL/xend/event?follow=1&pattern=test.*" > "$T/reader" &
READER=$!
wait_until 10 test -f "$T/nr.ready" || not_ok "the non-readers connect"
sleep 0.5
head -c 150000 /dev/zero | tr '\0' b > "$T/mid"
printf '(test.load %s)' "$(cat "$T/mid")" > "$T/midev"
for i in $(seq 1 50); do xpost /xend/event op=inject "event@$T/midev" >/dev/null; done
wait_until 10 grep -q 'event follower dropped kind=http' "$T/xend.log" &&
    ok "the HTTP follower that does not read is dropped" || not_ok "the HTTP follower that does not read is dropped"
wait_until 10 grep -q 'event follower dropped kind=port' "$T/xend.log" &&
    ok "the event port client that does not read is dropped" ||
    not_ok "the event port client that does not read is dropped"
touch "$T/go"
wait "$NR"
expect_match "the HTTP follower's last line says why" \
    '\(event xend.event.dropped \(reason .dropped: followers hold [0-9]+ unread bytes, over the budget of 1048576' \
    "$(tr -d '\0' < "$T/nr.http" | tail -c 600)"
expect_match "the event port client's last message says why" \
    'xend.event.dropped \(reason .dropped: followers hold' "$(tail -c 600 "$T/nr.port")"
got_all() { [ "$(grep -c 'test.load' "$T/reader")" -ge 50 ]; }
wait_until 10 got_all && ok "the follower that reads got all 50 events" ||
    not_ok "the follower that reads got all 50 events" "$(grep -c test.load "$T/reader")"
kill -0 "$READER" && ok "and still follows" || not_ok "and still follows"
kill "$READER" 2>/dev/null; wait "$READER" 2>/dev/null
expect_match "xend still answers" '^\(ls ' "$(xget /xend)"

finish
