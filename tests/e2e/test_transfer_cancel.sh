#!/bin/bash
# A running save or migration can be cancelled (POST op=cancel, xm cancel): the request that
# started it answers (xend.err "... cancelled ..."), the domain is exactly as before (running
# or paused, here, its record unmarked, its memory intact), no save file is left, and the
# event stream and log say so. A cancel with nothing running is an error, and so is one
# after the transfer's decision point (the file complete, or the destination holding the
# domain), held open here by lib.sh's vif script that waits while $T/hold-down exists.
# The transfers are slowed by a rate limit (resource, Mbit/s) so that a cancel lands
# mid-way; the test waits for their first progress event, never for a time.
source "$(dirname "$0")/lib.sh"

use_held_vif_script
xend_start "$CONF" || { not_ok "xend starts"; finish; }

# A 4 MB kernel makes a 4 MB image (simhv writes the pages the kernel occupies); no dirtying,
# so the memory checksum before and after says whether anything changed.
truncate -s 4M "$T/kernel4m"
config() { echo "(vm (name $1) (memory 64) (image (linux (kernel $T/kernel4m) (args 'sim.load=10 sim.dirty_rate=0'))) ${2:-})"; }
sum() { xget "/xend/domain/$1?op=mem_checksum" | grep -oE '[0-9]+\)$' | tr -d ')'; }
state() { xget "/xend/domain/$1" | grep -oE '\(state [^)]*\)'; }
record() { grep -l "(name $1)" "$T"/state/domain/* 2>/dev/null | head -1; }
progressing() { # progressing NAME OP: a progress event of this transfer, short of its end
    xget "/xend/event?since=${SINCE:-0}&pattern=xend.domain.progress" |
        grep -qE "\\(value \\($1 -?[0-9]+ $2 \\(done [0-9]+\\) \\(total [0-9]+\\) \\(percent [0-9]\\)"
}
held() { grep -q "^$1 held" "$T/vif.log" 2>/dev/null; }

xpost /xend/domain op=create "config=$(config c1)" >/dev/null
expect_eq "c1 created" 201 "$(http_status)"
xpost /xend/domain/c1 op=unpause >/dev/null

# ---- nothing running
body=$(xpost /xend/domain/c1 op=cancel)
expect_eq "a cancel with nothing running is an error" \
    "(xend.err 'Domain c1 has no save, migration or restore to cancel')" "$body"
out=$("$XM" cancel c1 2>&1)
expect_match "xm cancel says so too, and fails" "Error: Domain c1 has no save, migration or restore" \
    "$out$([ $? -ne 0 ] && echo)"
"$XM" cancel c1 >/dev/null 2>&1 && not_ok "xm cancel exits non-zero when nothing runs" ||
    ok "xm cancel exits non-zero when nothing runs"

# ---- a save cancelled mid-way (HTTP), the domain running
s1=$(sum c1)
rec1=$(cat "$(record c1)")
SINCE=$(last_seq)
post_bg "$T/save.out" /xend/domain/c1 op=save "file=$T/c1.img" resource=8
wait_until 30 progressing c1 save && ok "the save is under way" ||
    not_ok "the save is under way" "$(xget "/xend/event?since=$SINCE")"
body=$(xpost /xend/domain/c1 op=cancel)
expect_eq "the cancel is accepted" 0 "$body"
wait
expect_eq "the save answers that it was cancelled" \
    "(xend.err 'Save of domain c1 cancelled: no file written')" "$(cat "$T/save.out")"
expect_eq "with status 200, as every operation error (docs/http.md)" 200 "$(cat "$T/save.out.status")"
check "no save file is left" test ! -e "$T/c1.img"
expect_match "c1 runs on, not paused" '\(state [rb-]{2}-' "$(state c1)"
expect_eq "its memory is as it was" "$s1" "$(sum c1)"
expect_eq "its record is as it was (no transfer mark)" "$rec1" "$(cat "$(record c1)")"
expect_match "the event stream says it was cancelled" 'xend.domain.save\) \(value \(c1 [0-9]+ cancelled' \
    "$(xget "/xend/event?since=$SINCE&pattern=xend.domain.save")"
expect_match "and the log" 'transfer cancelled domain=c1 op=save' "$(cat "$T/xend.log")"
body=$(xpost /xend/domain/c1 op=cancel)
expect_match "nothing runs any more" "no save, migration or restore to cancel" "$body"

# ---- a paused domain's save cancelled with xm: it stays paused
xpost /xend/domain/c1 op=pause >/dev/null
SINCE=$(last_seq)
post_bg "$T/save2.out" /xend/domain/c1 op=save "file=$T/c1b.img" resource=8
wait_until 30 progressing c1 save && ok "a save of paused c1 is under way" ||
    not_ok "a save of paused c1 is under way"
"$XM" cancel c1 && ok "xm cancel stops it" || not_ok "xm cancel stops it"
wait
expect_match "the save answers cancelled" "cancelled" "$(cat "$T/save2.out")"
expect_match "c1 stays paused" '\(state ..p' "$(state c1)"
check "no save file is left" test ! -e "$T/c1b.img"
expect_eq "its memory is as it was" "$s1" "$(sum c1)"
xpost /xend/domain/c1 op=unpause >/dev/null

# ---- after the decision point: refused
vif() { echo "(device (vif (mac aa:00:00:00:7d:0$1)))"; }
# held_past_decision NAME N OUT OP ARGS...: create NAME (vif N), run OP on it with its
# source's vif release held open (the transfer is decided by then), and cancel it there:
# the refusal is in REFUSAL; the operation then goes on, its answer in OUT.
held_past_decision() {
    local name=$1 n=$2 out=$3
    shift 3
    xpost /xend/domain op=create "config=$(config "$name" "$(vif "$n")")" >/dev/null
    expect_eq "$name (with a vif) created" 201 "$(http_status)"
    xpost "/xend/domain/$name" op=unpause >/dev/null
    SUM=$(sum "$name")
    : > "$T/vif.log"
    touch "$T/hold-down"
    post_bg "$out" "/xend/domain/$name" "$@"
    wait_until 30 held down && ok "$name: $1 decided; its devices are being released" ||
        not_ok "$name: $1 decided; its devices are being released" "$(cat "$T/vif.log")"
    REFUSAL=$(xpost "/xend/domain/$name" op=cancel)
    rm -f "$T/hold-down"
    wait
}
held_past_decision c2 2 "$T/save3.out" op=save "file=$T/c2.img"
expect_eq "a cancel of a save whose file is complete is refused" \
    "(xend.err 'Save of domain c2 not cancelled: its file is complete, the domain is being taken down')" "$REFUSAL"
expect_eq "the save goes on to its end" "" "$(grep -o 'xend.err' "$T/save3.out")"
check "its file is there" test -s "$T/c2.img"

held_past_decision c3 3 "$T/mig.out" op=migrate "destination=127.0.0.1:$RELOC_PORT" live=0
expect_match "a cancel of a migration after the decision point is refused" \
    "Migration of domain c3 not cancelled: it passed the point of no return, the domain belongs to 127.0.0.1:$RELOC_PORT now" "$REFUSAL"
expect_migrated "the migration ends as it would have" "$RELOC_PORT" "$(cat "$T/mig.out")"
running() { [[ "$(state c3)" =~ \(state\ [rb-]{2}- ]]; }
wait_until 20 running && ok "c3 runs, migrated" || not_ok "c3 runs, migrated" "$(state c3)"
expect_eq "with its memory" "$SUM" "$(sum c3)"
finish
