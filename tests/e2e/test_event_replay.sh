#!/bin/bash
# Events you can follow and resume: every event is numbered; GET /xend/event?since=N
# replays the held events after N (a notice first when N is too old or from elsewhere),
# as numbered SXP, JSON lines or Server-Sent Events, and follow=1 then goes on live; a
# plain follow=1 still gets the 2004 lines. xm events prints and follows them.
source "$(dirname "$0")/lib.sh"

xend_start "event-history = 5;" || { not_ok "xend starts"; finish; }
ok "xend starts"
U=http://127.0.0.1:$XEND_PORT
inject() { xpost /xend/event op=inject "event=($1)" >/dev/null; }
epoch_of() { sed -n 's/.*(epoch \([0-9a-f]*\)).*/\1/p' | head -1; }

for i in 1 2 3; do inject "test.a $i"; done
all=$(curl -s "$U/xend/event?since=0")
last=$(printf '%s\n' "$all" | sed -n 's/^(event (seq \([0-9]*\)).*(name test.a) (value (test.a 3)))$/\1/p')
[ -n "$last" ] && ok "since=0 replays numbered events" || not_ok "since=0 replays numbered events" "$all"
epoch=$(printf '%s\n' "$all" | epoch_of)
expect_match "each carries the epoch" '^[0-9a-f]{16}$' "$epoch"
got=$(curl -s "$U/xend/event?since=$((last - 1))")
expect_eq "since=N gives only what came after N" \
    "(event (seq $last) (epoch $epoch) (name test.a) (value (test.a 3)))" "$got"

# Past the history: the first line says what is gone and the oldest number held.
for i in 4 5 6 7 8 9; do inject "test.a $i"; done
got=$(curl -s "$U/xend/event?since=$last")
first=$(printf '%s\n' "$got" | head -1)
expect_match "too old: a first line says so" \
    "^\(event \(epoch $epoch\) \(name xend.event.missed\) \(value \(missed \(since $last\) \(oldest $((last + 2))\) \(last $((last + 6)))" "$first"
expect_eq "then the five events held" 5 "$(printf '%s\n' "$got" | grep -c '(seq ')"
got=$(curl -s "$U/xend/event?since=$((last + 6))")
expect_eq "nothing missed: nothing sent" "" "$got"
got=$(curl -s "$U/xend/event?since=$((last + 3))&epoch=0123456789abcdef" | head -1)
expect_match "another epoch: a notice says xend restarted" 'missed.*another epoch' "$got"
curl -s "$U/xend/event?since=x" > "$T/bad"
expect_match "a bad since is refused with a message" "xend.err 'invalid since: x" "$(cat "$T/bad")"

# JSON lines and SSE.
curl -s -H 'Accept: application/json' "$U/xend/event?since=$((last + 4))" > "$T/j"
python3 -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert [l["event"]["seq"] for l in lines] == [int(sys.argv[2]) + 5, int(sys.argv[2]) + 6], lines
assert lines[1]["event"]["name"] == "test.a" and lines[1]["event"]["value"] == {"test.a": 9}
' "$T/j" "$last" && ok "JSON lines (Accept: application/json) parse, numbered" ||
    not_ok "JSON lines parse" "$(cat "$T/j")"
got=$(curl -s "$U/xend/event?since=$((last + 5))&format=json")
expect_match "format=json asks for them too" '^\{"event": \{"seq": ' "$got"
curl -s -D "$T/sse.h" -H 'Accept: text/event-stream' "$U/xend/event?since=$((last + 5))" > "$T/sse"
expect_match "SSE has its content type" 'Content-Type: text/event-stream' "$(cat "$T/sse.h")"
expect_eq "SSE: id is the number, data the JSON" \
    "id: $((last + 6))|data: {\"event\": {\"seq\": $((last + 6)), \"epoch\": \"$epoch\", \"name\": \"test.a\", \"value\": {\"test.a\": 9}}}||" \
    "$(tr '\n' '|' < "$T/sse")"

# Follow: the old line form unless asked; Last-Event-ID resumes then goes on live.
curl -s -N -D "$T/plain.h" "$U/xend/event?follow=1&pattern=test.*" > "$T/plain" &
p1=$!
curl -s -N -H 'Accept: text/event-stream' -H "Last-Event-ID: $((last + 5))" \
    "$U/xend/event?follow=1&pattern=test.*" > "$T/live" &
p2=$!
wait_until 10 grep -q "^id: $((last + 6))" "$T/live" && ok "Last-Event-ID replays what came after it" ||
    not_ok "Last-Event-ID replays" "$(cat "$T/live")"
wait_until 10 grep -q '^HTTP/1.1 200' "$T/plain.h"
inject "test.b live"
wait_until 10 grep -q '"test.b": "live"' "$T/live" && ok "then the stream goes on live" ||
    not_ok "then the stream goes on live" "$(cat "$T/live")"
wait_until 10 grep -q 'test.b live' "$T/plain"
expect_eq "a plain follower gets the 2004 line, unnumbered" "(event test.b (test.b live))" "$(cat "$T/plain")"
kill $p1 $p2 2>/dev/null; wait $p1 $p2 2>/dev/null

# xm events
out=$("$XM" events --since $((last + 6)))
expect_match "xm events --since N prints what came after N" "^$((last + 7)) test.b \(test.b live\)$" "$out"
"$XM" events --since $((last + 6)) -o json > "$T/xj"
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$T/xj" &&
    ok "xm events -o json prints JSON lines" || not_ok "xm events -o json" "$(cat "$T/xj")"
out=$("$XM" events --since 1)
expect_match "xm events says when events were missed" "missed" "$out"
# xm's stream is the only follower once the curl ones are gone: then it is subscribed.
followers_are() { curl -s "$U/xend/metrics" | grep -qx "xend_event_followers{kind=\"http\"} $1"; }
wait_until 10 followers_are 0
"$XM" events --follow > "$T/xf" &
p3=$!
wait_until 10 followers_are 1
inject "test.c follow"
wait_until 10 grep -q 'test.c follow' "$T/xf" && ok "xm events --follow prints new events" ||
    not_ok "xm events --follow" "$(cat "$T/xf")"
kill $p3 2>/dev/null; wait $p3 2>/dev/null
finish
