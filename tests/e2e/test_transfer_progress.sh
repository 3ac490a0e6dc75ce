#!/bin/bash
# Save, restore and migration report their progress on the event stream:
# xend.domain.progress (NAME ID OP (done D) (total T) (percent P) (bytes B) (bytes_per_s R)),
# B the bytes moved through the file or socket, at most once a second and
# always at the end.
source "$(dirname "$0")/lib.sh"

xend_start || { not_ok "xend starts"; finish; }
progress_events() { # the xend.domain.progress events held so far, one per line
    xget "/xend/event?since=0&pattern=xend.domain.progress" | grep 'xend.domain.progress'
}

xpost /xend/domain op=create "config=$(vm_config pg1 64)" >/dev/null
id=$(xget /xend/domain/pg1 | grep -oE '^\(domain \(id [0-9]+' | grep -oE '[0-9]+$')
check "the domain has an id" test -n "$id"
xpost /xend/domain/pg1 op=save "file=$T/pg1.img" >/dev/null
expect_eq "the save is done" 404 "$(xget /xend/domain/pg1 >/dev/null; http_status)"
ev=$(progress_events)
expect_match "the save reported its end: all of it, 100%" \
    "\\(value \\(pg1 $id save \\(done ([0-9]+)\\) \\(total \\1\\) \\(percent 100\\) \\(bytes [1-9][0-9]*\\) \\(bytes_per_s [0-9]+\\)\\)\\)" "$ev"

t0=$SECONDS
body=$(xpost /xend/domain op=restore "file=$T/pg1.img")
took=$((SECONDS - t0 + 1))
expect_eq "the restore is done" 201 "$(http_status)"
ev=$(progress_events)
expect_match "the restore reported its end (no id yet while it ran)" \
    '\(value \(pg1 -1 restore \(done ([0-9]+)\) \(total \1\) \(percent 100\) \(bytes [1-9][0-9]*\) \(bytes_per_s [0-9]+\)\)\)' "$ev"
n=$(printf '%s\n' "$ev" | grep -c 'restore (done')
[ "$n" -ge 1 ] && [ "$n" -le $((took + 1)) ] &&
    ok "the restore reported at most once a second, and its end ($n in ${took}s)" ||
    not_ok "the restore reported at most once a second, and its end" "$n reports in ${took}s"

# a local migration (to this xend's own relocation port) reports as migrate
xpost /xend/domain/pg1 op=unpause >/dev/null
body=$(xpost /xend/domain/pg1 op=migrate destination=127.0.0.1:$RELOC_PORT live=0 resource=0)
expect_migrated "the local migration replies with its URL there" "$RELOC_PORT" "$body"
ev=$(progress_events)
expect_match "the migration's sender reported its end" \
    '\(value \(pg1 [0-9]+ migrate \(done ([0-9]+)\) \(total \1\) \(percent 100\) \(bytes [1-9][0-9]*\) \(bytes_per_s [0-9]+\)\)\)' "$ev"
finish
