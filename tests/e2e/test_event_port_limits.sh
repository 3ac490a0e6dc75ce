#!/bin/bash
# The event port keeps the limits of HTTP's event routes (docs/http.md, "Events: followers
# and their budget"): (sys.inject ...) has op=inject's size cap, at the same byte count (below the port's
# 64 KiB request limit),
# and the port's followers share the one backlog budget with HTTP's: a port follower that
# does not read is dropped past it even when it is the only follower.
source "$(dirname "$0")/lib.sh"

xend_start "event-inject-max = 60000; event-backlog-budget = 1048576;" || { not_ok "xend starts"; finish; }
ok "xend starts"
URL=http://127.0.0.1:$XEND_PORT

# port_send TEXT: send one request on a fresh port connection; print what came back until
# the port closed it or 2 s passed, then "closed" or "open".
port_send() {
    python3 - "$EVENT_PORT" "$1" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(sys.argv[2].encode())
s.settimeout(0.2)
data, state, end = b"", "open", time.time() + 2
while time.time() < end:
    try:
        chunk = s.recv(65536)
    except socket.timeout:
        if b"(ok)" in data:
            break
        continue
    if not chunk:
        state = "closed"
        break
    data += chunk
print(data.decode(errors="replace").strip(), state)
PY
}
# ev NAME BYTES: an event (NAME aaa...) printed as exactly BYTES bytes.
ev() { local pad=$(($2 - ${#1} - 3)); printf '(%s %s)' "$1" "$(head -c "$pad" /dev/zero | tr '\0' a)"; }

curl -s -N "$URL/xend/event?follow=1&pattern=test.*" > "$T/follower" &
F=$!
wait_until 5 grep -q 'event follower' "$T/xend.log" || sleep 0.5

expect_eq "an event of the cap's size is 60000 bytes" 60000 "$(ev test.fits 60000 | wc -c)"
out=$(port_send "(sys.inject $(ev test.fits 60000))")
expect_match "the port takes an event of exactly the cap" '^\(ok \(ok\)\)' "$out"
out=$(port_send "(sys.inject $(ev test.over 60001))")
expect_match "one byte over, the port drops the connection without an ok" '^ *closed$' "$out"
expect_match "and logs the request it refused" 'event port bad request .*request=\(sys.inject \(test.over' \
    "$(cat "$T/xend.log")"
ev test.over 60001 > "$T/over"
xpost /xend/event op=inject "event@$T/over" >/dev/null
expect_eq "HTTP refuses the same event with 413" 413 "$(http_status)"
ev test.fits2 60000 > "$T/fits"
xpost /xend/event op=inject "event@$T/fits" >/dev/null
expect_eq "and takes the one of the cap's size" 200 "$(http_status)"
got() { grep -q "$1" "$T/follower"; }
wait_until 5 got test.fits2 && ok "followers get the events that fit" || not_ok "followers get the events that fit"
grep -q test.over "$T/follower" && not_ok "no refused event reaches a follower" || ok "no refused event reaches a follower"
kill "$F" 2>/dev/null; wait "$F" 2>/dev/null

# --- the budget: one port follower that never reads ---
python3 - "$EVENT_PORT" "$T/nr" <<'PY' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"(sys.subscribe test.*)")
open(sys.argv[2] + ".ready", "w").close()
time.sleep(30)
PY
NR=$!
wait_until 10 test -f "$T/nr.ready" || not_ok "the port follower connects"
sleep 0.3
ev test.load 60000 > "$T/load"
for i in $(seq 1 300); do
    xpost /xend/event op=inject "event@$T/load" >/dev/null
    grep -q 'event follower dropped kind=port' "$T/xend.log" && break
done
expect_match "past the shared budget the port follower is dropped" \
    'event follower dropped kind=port unread=[0-9]+ total=[0-9]+ budget=1048576' "$(cat "$T/xend.log")"
kill "$NR" 2>/dev/null; wait "$NR" 2>/dev/null
expect_match "xend still answers" '^\(ls ' "$(xget /xend)"

finish
