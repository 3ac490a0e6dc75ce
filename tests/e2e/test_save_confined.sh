#!/bin/bash
# A save never overwrites (O_EXCL|O_NOFOLLOW: "file exists", the domain runs on as before),
# a restore opens only a regular file, and save-dir confines both.
source "$(dirname "$0")/lib.sh"

mkdir -p "$T/saves" "$T/elsewhere"
ln -s "$T/elsewhere" "$T/saves/link"
xend_start "save-dir = \"$T/saves\";" || { not_ok "xend starts"; finish; }

xpost /xend/domain op=create "config=$(vm_config cf1 32)" >/dev/null
xpost /xend/domain/cf1 op=unpause >/dev/null
# The paused flag (the third of the five state letters): running and blocked alternate.
state() { xget /xend/domain/cf1 | grep -oE '\(state [^)]*\)' | cut -c10; }
before=$(state)
expect_eq "the domain runs (not paused)" "-" "$before"

echo "precious" > "$T/saves/taken.img"
body=$(xpost /xend/domain/cf1 op=save "file=$T/saves/taken.img")
expect_match "a save onto an existing file is refused" "file exists: $T/saves/taken.img" "$body"
expect_eq "the existing file is untouched" "precious" "$(cat "$T/saves/taken.img")"
expect_eq "the domain runs on exactly as before" "$before" "$(state)"

ln -s "$T/elsewhere/target" "$T/saves/dangling.img"
body=$(xpost /xend/domain/cf1 op=save "file=$T/saves/dangling.img")
expect_match "a save onto a symlink (even a dangling one) is refused" 'file exists' "$body"
check "nothing was created through the symlink" test ! -e "$T/elsewhere/target"

body=$(xpost /xend/domain/cf1 op=save "file=$T/elsewhere/cf1.img")
expect_match "a save outside save-dir is refused" 'outside save-dir' "$body"
body=$(xpost /xend/domain/cf1 op=save "file=$T/saves/../elsewhere/cf1.img")
expect_match "a .. out of save-dir is refused" 'outside save-dir' "$body"
body=$(xpost /xend/domain/cf1 op=save "file=$T/saves/link/cf1.img")
expect_match "a symlinked parent pointing out of save-dir is refused" 'outside save-dir' "$body"
check "nothing was written outside save-dir" test -z "$(ls "$T/elsewhere")"
expect_eq "after the refusals the domain is as before" "$before" "$(state)"

body=$(xpost /xend/domain/cf1 op=save "file=$T/saves/cf1.img")
expect_eq "a save inside save-dir works" 0 "$body"
expect_eq "the save file is private (0600)" 600 "$(stat -c %a "$T/saves/cf1.img")"

ln -s "$T/saves/cf1.img" "$T/saves/alias.img"
body=$(xpost /xend/domain op=restore "file=$T/saves/alias.img")
expect_match "restore through a symlink is refused" 'not a regular file' "$body"
mkfifo "$T/saves/fifo.img"
body=$(xpost /xend/domain op=restore "file=$T/saves/fifo.img")
expect_match "restore from a FIFO is refused (and does not hang)" 'not a regular file' "$body"
cp "$T/saves/cf1.img" "$T/elsewhere/cf1.img"
body=$(xpost /xend/domain op=restore "file=$T/elsewhere/cf1.img")
expect_match "restore from outside save-dir is refused" 'outside save-dir' "$body"

body=$(xpost /xend/domain op=restore "file=$T/saves/cf1.img")
expect_eq "restore from inside save-dir works" 201 "$(http_status)"
expect_match "the restored domain is listed" '\(name cf1\)' "$(xget /xend/domain/cf1)"
finish
