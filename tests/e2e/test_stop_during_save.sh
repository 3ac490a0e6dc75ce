#!/bin/bash
# Idle connections to the relocation port do not hold the workers that saves, restores and
# migrations need; and xend stopping while a save is queued or running finishes or fails
# that save before it closes the backend, the plugins and the store (no call through a
# closed backend, no completion against a freed store; ASan/UBSan report in $T/san.*).
source "$(dirname "$0")/lib.sh"

xend_start || { not_ok "xend starts"; finish; }
ok "xend starts"
xpost /xend/domain op=create "config=$(vm_config sv1 64)" >/dev/null
expect_eq "sv1 created" 201 "$(http_status)"
xpost /xend/domain/sv1 op=unpause >/dev/null

# Four idle relocation connections: nothing is sent on them.
( exec 3<>/dev/tcp/127.0.0.1/$RELOC_PORT 4<>/dev/tcp/127.0.0.1/$RELOC_PORT \
       5<>/dev/tcp/127.0.0.1/$RELOC_PORT 6<>/dev/tcp/127.0.0.1/$RELOC_PORT
  exec sleep 120 ) &
holder=$!
sleep 0.3
( out=$(curl -s -g -X POST --data-urlencode op=save --data-urlencode "file=$T/sv1.img" \
      "http://127.0.0.1:$XEND_PORT/xend/domain/sv1"); echo "$out" > "$T/save.out" ) &
saver=$!
saved() { [ -s "$T/save.out" ]; }
wait_until 5 saved && ok "a save is not held up by idle relocation connections" ||
    not_ok "a save is not held up by idle relocation connections" "no reply after 5 s"

# Stop xend while the save is still queued, then let the workers go.
"$XEND_BIN" stop -c "$T/xend.conf" > "$T/stop.out" 2>&1 &
stopper=$!
sleep 1
kill $holder
wait $stopper
stop_rc=$?
wait $saver 2>/dev/null
sleep 0.5
echo "# save replied: $(cat "$T/save.out" 2>/dev/null); stop rc=$stop_rc: $(cat "$T/stop.out")"
grep -E 'xend stopped' "$T/xend.log" >/dev/null && ok "xend stopped cleanly" ||
    not_ok "xend stopped cleanly" "$(tail -3 "$T/xend.log")"
reports=$(sanitizer_reports)
if [ -n "$reports" ]; then
    not_ok "no use of closed or freed state when a queued save runs during the stop" \
        "$(grep -h -m4 -E 'ERROR|SUMMARY|#[0-4] ' $reports | head -8)"
else
    ok "no use of closed or freed state when a queued save runs during the stop"
fi
rm -f "$T"/san.*
finish
