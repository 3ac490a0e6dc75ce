#!/bin/bash
# A running restore can be cancelled like a save (POST /xend/domain/NAME op=cancel while
# the domain NAME comes in, xm cancel NAME): the restore answers (xend.err "... cancelled
# ..."), no domain is left behind, in xend or in the hypervisor (its memory is free again),
# nor its name (a later restore under it works) or its intent record; the save file is
# untouched, and the event stream and the log say so. A cancel after the image is whole is
# refused. The restores are slowed by a rate limit (resource, xm restore -r) so that a cancel
# lands mid-way; the test waits for their first progress event, never for a time.
source "$(dirname "$0")/lib.sh"

xend_start || { not_ok "xend starts"; finish; }

truncate -s 4M "$T/kernel4m"
config() { echo "(vm (name $1) (memory 64) (image (linux (kernel $T/kernel4m) (args 'sim.load=10 sim.dirty_rate=0'))))"; }
sum() { xget "/xend/domain/$1?op=mem_checksum" | grep -oE '[0-9]+\)$' | tr -d ')'; }
free_mb() { xget /xend/node | grep -oE '\(free_memory [0-9]+' | grep -oE '[0-9]+$'; }
records() { grep -l "(name $1)" "$T"/state/domain/* 2>/dev/null | wc -l; }
progressing() {
    xget "/xend/event?since=${SINCE:-0}&pattern=xend.domain.progress" |
        grep -qE "\\(value \\($1 -?[0-9]+ restore \\(done [0-9]+\\) \\(total [0-9]+\\) \\(percent [0-9]\\)"
}

run_and_save r1 "$(config r1)" "$T/r1.img"
s1=$SAVED_SUM
file_sum=$(sha256sum < "$T/r1.img")
free0=$(free_mb)

# ---- over HTTP
SINCE=$(last_seq)
post_bg "$T/rest.out" /xend/domain op=restore "file=$T/r1.img" resource=8
wait_until 30 progressing r1 && ok "the restore is under way" ||
    not_ok "the restore is under way" "$(xget "/xend/event?since=$SINCE")"
body=$(xpost /xend/domain/r1 op=cancel)
expect_eq "a cancel of the domain coming in is accepted" 0 "$body"
wait
expect_eq "the restore answers that it was cancelled" \
    "(xend.err 'Restore of domain r1 cancelled: no domain made, $T/r1.img as it was')" \
    "$(cat "$T/rest.out")"
expect_eq "with status 200, as every operation error" 200 "$(cat "$T/rest.out.status")"
xget /xend/domain/r1 >/dev/null
expect_eq "no domain r1 is left" 404 "$(http_status)"
expect_eq "nor its record" 0 "$(records r1)"
expect_eq "the hypervisor holds nothing of it: its memory is free again" "$free0" "$(free_mb)"
expect_eq "the save file is untouched" "$file_sum" "$(sha256sum < "$T/r1.img")"
expect_match "the event stream says it was cancelled" 'xend.domain.restore\) \(value \(r1 -1 cancelled' \
    "$(xget "/xend/event?since=$SINCE&pattern=xend.domain.restore")"
expect_match "and the log" 'transfer cancelled domain=r1 op=restore' "$(cat "$T/xend.log")"
body=$(xpost /xend/domain/r1 op=cancel)
expect_eq "nothing to cancel any more" "(xend.err 'invalid domain:r1')" "$body"

# ---- with xm
SINCE=$(last_seq)
"$XM" restore -r 8 "$T/r1.img" > "$T/xm.out" 2>&1 &
xm_pid=$!
wait_until 30 progressing r1 && ok "xm restore -r is under way" || not_ok "xm restore -r is under way"
"$XM" cancel r1 && ok "xm cancel stops it" || not_ok "xm cancel stops it"
wait $xm_pid && not_ok "xm restore fails once cancelled" || ok "xm restore fails once cancelled"
expect_match "and says why" "Error: Restore of domain r1 cancelled" "$(cat "$T/xm.out")"
xget /xend/domain/r1 >/dev/null
expect_eq "no domain r1 is left" 404 "$(http_status)"
expect_eq "its memory is free again" "$free0" "$(free_mb)"

# ---- the name and the file are as they were: a whole restore works
"$XM" restore "$T/r1.img" >/dev/null && ok "a restore to the end works" || not_ok "a restore to the end works"
expect_eq "with the memory that was saved" "$s1" "$(sum r1)"
body=$(xpost /xend/domain/r1 op=cancel)
expect_eq "a restored domain has nothing to cancel" \
    "(xend.err 'Domain r1 has no save, migration or restore to cancel')" "$body"
finish
