#!/bin/bash
# A crashing xend leaves its last words in its log (core/log/crash.c): the signal, and the
# stack as module+offset frames that addr2line turns into source lines of this build. Then
# it dies of that signal, as without the report. (xend exports no symbols of its own:
# its frames are named by offset only.)
source "$(dirname "$0")/lib.sh"

if ldd "$XEND_BIN" | grep -q libasan; then
    ok "SKIP under a sanitizer (its own handler reports a crash)"
    finish
fi

for sig in SEGV ABRT; do
    xend_start || { not_ok "xend starts"; finish; }
    pid=$(cat "$T/xend.pid")
    kill -"$sig" "$pid"
    gone() { ! kill -0 "$pid" 2>/dev/null; }
    check "SIG$sig: xend is gone" wait_until 20 gone
    expect_match "SIG$sig: the log names the signal" \
        "ERROR crashed signal=$sig pid=$pid tid=[0-9]+" "$(grep crashed "$T/xend.log")"
    frames=$(grep -c ' ERROR crash frame=' "$T/xend.log")
    check "SIG$sig: and the frames of the stack ($frames)" test "$frames" -ge 3
    offsets=$(grep -oE 'crash frame=[0-9]+ at="xend\+0x[0-9a-f]+"' "$T/xend.log" |
        sed -E 's/.*\+(0x[0-9a-f]+)"/\1/')
    check "SIG$sig: frames in xend itself, by module and offset" test -n "$offsets"
    if command -v addr2line >/dev/null; then
        # A return address sits after its call: ask for the byte before it.
        src=$(for off in $offsets; do printf '0x%x\n' $((off - 1)); done |
            addr2line -f -e "$XEND_BIN" | paste - - | tr '\n' ' ')
        expect_match "SIG$sig: addr2line finds main in core/main.c among them" \
            '^main[[:space:]][^ ]*core/main\.c:[0-9]+|[[:space:]]main[[:space:]][^ ]*core/main\.c:[0-9]+' "$src"
    fi
    check "SIG$sig: one event per line (every line of the log starts with a time)" \
        test "$(grep -cvE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' "$T/xend.log")" = 0
    mv "$T/xend.log" "$T/xend.log.$sig"; rm -f "$T/xend.pid"
done

finish
