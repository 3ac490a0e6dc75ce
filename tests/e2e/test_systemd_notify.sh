#!/bin/bash
# Under systemd (Type=notify, dist/systemd/xend.service) xend says READY=1 on NOTIFY_SOCKET
# once it serves HTTP, with its pid, and STOPPING=1 when it stops: the readiness protocol
# spoken without libsystemd. Plays systemd's part with a unix datagram socket of its own.
source "$(dirname "$0")/lib.sh"

xend_prepare

# Receive datagrams on $T/notify until one holds $1 (or 20 s pass); each goes to stdout.
python3 - "$T/notify" > "$T/notify.log" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(0.2)
deadline = time.time() + 30
while time.time() < deadline:
    try:
        msg = s.recv(4096).decode()
    except socket.timeout:
        continue
    print(msg.replace("\n", " "), flush=True)
    if "STOPPING=1" in msg:
        break
PY
LISTENER=$!
wait_until 10 test -S "$T/notify" || { not_ok "the notify socket is made"; finish; }

NOTIFY_SOCKET=$T/notify "$XEND_BIN" start -f -c "$T/xend.conf" > "$T/fg.log" 2>&1 &
XPID=$!
ready() { grep -q "READY=1" "$T/notify.log"; }
wait_until 20 ready && ok "xend says READY=1" || not_ok "xend says READY=1" "$(cat "$T/notify.log")"
# READY=1 comes once HTTP serves: the first request after it is answered.
xget /xend/node >/dev/null
expect_eq "HTTP answers once READY=1 was said" 200 "$(http_status)"
expect_match "READY=1 names xend's pid" "MAINPID=$XPID" "$(cat "$T/notify.log")"
kill -TERM "$XPID"
stopping() { grep -q "STOPPING=1" "$T/notify.log"; }
wait_until 20 stopping && ok "xend says STOPPING=1 when told to stop" ||
    not_ok "xend says STOPPING=1 when told to stop" "$(cat "$T/notify.log")"
wait "$XPID"
wait "$LISTENER" 2>/dev/null
finish
