#!/bin/bash
# A save cut by a crash leaves exactly one copy of the guest: before its file is complete
# the domain comes back as it was (running) and the unfinished file is gone; once the file
# is complete the domain is gone and the file restores it. Each crash point of a save
# (lib/crashpoint.h, docs/durability.md) is walked once. Also: a save never overwrites.
source "$(dirname "$0")/lib.sh"
export ARGS='sim.load=10 sim.dirty_rate=0'

xend_start || { not_ok "xend starts"; finish; }
sum() { xget "/xend/domain/$1?op=mem_checksum" | grep -oE '[0-9]+\)$' | tr -d ')'; }
has() { xget "/xend/domain/$1" >/dev/null; [ "$(http_status)" = 200 ]; }
dead() { ! kill -0 "$(cat "$T/xend.pid" 2>/dev/null)" 2>/dev/null; }
restart() { # restart [CRASH-POINT]
    xend_stop
    rm -f "$T/xend.pid"
    if [ -n "${1:-}" ]; then XEND_CRASH_AT=$1 xend_start; else xend_start; fi
}

xpost /xend/domain op=create "config=$(vm_config sv 32)" >/dev/null
xpost /xend/domain/sv op=unpause >/dev/null
echo keep > "$T/exists.img"
body=$(xpost /xend/domain/sv op=save "file=$T/exists.img")
expect_match "a save onto an existing file is refused" "file exists" "$body"
expect_eq "and leaves the file alone" keep "$(cat "$T/exists.img")"
expect_match "and the domain running" '\(state [rb-]{2}-' "$(xget /xend/domain/sv)"
ln -s "$T/exists.img" "$T/link.img"
body=$(xpost /xend/domain/sv op=save "file=$T/link.img")
expect_match "a save onto a symlink is refused" "file exists" "$body"
body=$(xpost /xend/domain op=restore "file=$T/link.img")
expect_match "a restore through a symlink is refused" "xend.err" "$body"
xpost /xend/domain/sv op=destroy reason=halt >/dev/null

if ! grep -q 'crash_points=built-in' "$T/xend.log"; then
    echo "# this build has no crash points: walk skipped"
    finish
fi
# POINT WHERE-THE-GUEST-ENDS
n=0
while read -r point want; do
    n=$((n + 1))
    name=s$n
    restart "$point" || { not_ok "$point: xend starts"; continue; }
    xpost /xend/domain op=create "config=$(vm_config $name 32)" >/dev/null
    xpost /xend/domain/$name op=unpause >/dev/null
    s=$(sum $name)
    xpost /xend/domain/$name op=save "file=$T/$name.img" > /dev/null
    wait_until 20 dead || { not_ok "$point: xend died there"; continue; }
    restart
    if [ "$want" = domain ]; then
        running() { xget /xend/domain/$name | grep -qE '\(state [rb-]{2}-'; }
        wait_until 10 running && ok "$point: $name runs on, as before the save" ||
            not_ok "$point: $name runs on, as before the save" "$(xget /xend/domain/$name)"
        check "$point: the unfinished file is gone" test ! -e "$T/$name.img"
        expect_eq "$point: with the memory it had" "$s" "$(sum $name)"
        xpost /xend/domain/$name op=save "file=$T/$name.img" > /dev/null
        expect_eq "$point: it saves again" 0 "$(cat "$T/.body")"
    else
        gone() { ! has $name; }
        wait_until 10 gone && ok "$point: $name is gone: the file holds it" ||
            not_ok "$point: $name is gone: the file holds it" "$(xget /xend/domain/$name)"
    fi
    xpost /xend/domain op=restore "file=$T/$name.img" >/dev/null
    expect_eq "$point: its file restores it" 201 "$(http_status)"
    expect_eq "$point: with the memory it had" "$s" "$(sum $name)"
    xpost /xend/domain/$name op=destroy reason=halt >/dev/null
done <<'WALK'
save.marked domain
save.image_written domain
save.completed file
WALK
echo "# save crash walk: $n points"
finish
