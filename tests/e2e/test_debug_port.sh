#!/bin/bash
# The manual's debugging interface on the event port: help, info, traceon, traceoff, quit,
# typed as plain lines; the trace goes to trace-file.
. "$(dirname "$0")/lib.sh"
xend_start "trace-file = \"$T/xend.trace\";" || { not_ok "xend starts"; finish; }
xpost /xend/domain op=create "config=$(vm_config dbg1 32)" >/dev/null
expect_eq "a domain to describe" 201 "$(http_status)"

# One session: each command, then read until the port closes after quit.
session() { # session LINE...: send the lines, quit last, print what came back
    exec 3<>/dev/tcp/127.0.0.1/"$EVENT_PORT" || return 1
    printf '%s\n' "$@" quit >&3
    timeout 10 cat <&3
    exec 3<&-
}
out=$(session help)
expect_match "help lists the manual's commands" 'traceon +write every event' "$out"
expect_match "help names quit" 'quit +close this connection' "$out"
expect_match "quit says bye" 'bye' "$out"

out=$(session info)
expect_match "info lists the device controllers" 'device controllers:' "$out"
expect_match "info lists each domain with its console" 'dbg1 \([0-9]+\): .*\(console .*console_port [0-9]+' "$out"
expect_match "info says the trace is off" 'trace: off' "$out"

out=$(session traceon)
expect_match "traceon says where the trace goes" "trace on, to $T/xend.trace" "$out"
xm pause dbg1 >/dev/null 2>&1
wait_until 10 grep -q 'event seq=[0-9]* xend.domain.pause (dbg1 ' "$T/xend.trace" &&
    ok "an event while tracing is a line of the trace file" ||
    not_ok "an event while tracing is a line of the trace file" "$(cat "$T/xend.trace" 2>&1)"
out=$(session info traceoff)
expect_match "info shows the trace on" "trace: on, to $T/xend.trace" "$out"
expect_match "traceoff stops it" 'trace off' "$out"
grep -q 'debug peer=127.0.0.1:[0-9]* info' "$T/xend.trace" && ok "the debug requests are traced" ||
    not_ok "the debug requests are traced"
before=$(wc -l < "$T/xend.trace")
xm unpause dbg1 >/dev/null 2>&1
xm pause dbg1 >/dev/null 2>&1
xm unpause dbg1 >/dev/null 2>&1
expect_eq "nothing is traced after traceoff" "$before" "$(wc -l < "$T/xend.trace")"

out=$(session frobnicate)
expect_match "an unknown word gets a hint, and the session goes on to quit" \
    "unknown command 'frobnicate': try help.*bye" "$(printf '%s' "$out" | tr '\n' ' ')"

# The SXP form stays, for programs.
out=$(session '(help)')
expect_match "(help) still answers in SXP" '^\(ok \(console.disconnect help info quit' "$out"

# traceon where the file cannot be opened: a reason, no crash
xend_stop
simhv_stop
mkdir -p "$T/ro"
unset EVENT_PORT XEND_PORT RELOC_PORT CONSOLE_BASE
xend_start "trace-file = \"$T/ro/no/such/dir/t\";" ||
    { not_ok "xend restarts"; finish; }
out=$(session traceon)
expect_match "an unusable trace-file is refused with the reason" \
    "trace not started: cannot open trace-file $T/ro/no/such/dir/t" "$out"
finish
