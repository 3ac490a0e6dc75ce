#!/bin/bash
# A migration to another host cancelled mid-way (xm cancel, or POST op=cancel on the
# source): the migrate request answers (xend.err "... cancelled: it stays here"), the source
# keeps the domain running as before (a live migration's guest too), and the destination
# drops what it had received: no domain, no record. The migrations are slowed by a rate
# limit (resource, Mbit/s); the test waits for their first progress event.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_hosts.sh"

start_host a || { not_ok "host a starts"; finish; }
start_host b || { not_ok "host b starts"; finish; }
truncate -s 4M "$T/kernel4m"
config() { echo "(vm (name $1) (memory 64) (image (linux (kernel $T/kernel4m) (args 'sim.load=10 sim.dirty_rate=${2:-0}'))))"; }
state() { on "$1" xget "/xend/domain/$2" | grep -oE '\(state [^)]*\)'; }
names() { on "$1" xget /xend/domain | tr -d '()\n' | tr ' ' '\n' | grep -v '^$' | sort | tr '\n' ' '; }
progressing() {
    on a xget "/xend/event?since=$SINCE&pattern=xend.domain.progress" |
        grep -qE "\\(value \\($1 [0-9]+ migrate \\(done [0-9]+\\) \\(total [0-9]+\\) \\(percent [0-9]\\)"
}
only_dom0_on_b() { [ "$(names b)" = "Domain-0 " ]; }
no_records_on_b() { [ -z "$(ls "$T/b/state/domain/" 2>/dev/null | grep -v '^\.')" ]; }

# migrate_cancelled NAME LIVE HOW: migrate NAME from a to b at 8 Mbit/s, cancel it once it
# moves (HOW: xm or http), and check both sides.
migrate_cancelled() {
    local name=$1 live=$2 how=$3 sum1
    sum1=$(sum a "$name")
    SINCE=$(on a last_seq)
    curl -s -X POST -o "$T/mig-$name.out" --data-urlencode op=migrate \
        --data-urlencode "destination=127.0.0.1:${RPORT[b]}" --data-urlencode "live=$live" \
        --data-urlencode resource=8 "http://127.0.0.1:${PORT[a]}/xend/domain/$name" &
    wait_until 30 progressing "$name" && ok "$name: the migration (live=$live) is under way" ||
        not_ok "$name: the migration (live=$live) is under way"
    if [ "$how" = xm ]; then
        XEND=127.0.0.1:${PORT[a]} "$XM" cancel "$name" && ok "$name: xm cancel is accepted" ||
            not_ok "$name: xm cancel is accepted"
    else
        expect_eq "$name: POST op=cancel is accepted" 0 "$(on a xpost "/xend/domain/$name" op=cancel)"
    fi
    wait
    expect_eq "$name: the migration answers that it was cancelled" \
        "(xend.err 'Migration of domain $name to 127.0.0.1:${RPORT[b]} cancelled: it stays here')" \
        "$(cat "$T/mig-$name.out")"
    expect_match "$name: it runs on a, not paused" '\(state [rb-]{2}-' "$(state a "$name")"
    [ "$live" = 0 ] && expect_eq "$name: its memory is as it was" "$sum1" "$(sum a "$name")"
    wait_until 20 only_dom0_on_b && ok "$name: b has no domain" || not_ok "$name: b has no domain" "$(names b)"
    wait_until 20 no_records_on_b && ok "$name: b keeps no record" ||
        not_ok "$name: b keeps no record" "$(ls -a "$T/b/state/domain/")"
    expect_match "$name: b's log says the incoming migration failed" \
        'incoming migration failed' "$(cat "$T/b/xend.log")"
    expect_match "$name: a's event stream says cancelled" "\\(value \\($name [0-9]+ cancelled" \
        "$(on a xget "/xend/event?since=$SINCE&pattern=xend.domain.migrate")"
}

on a xpost /xend/domain op=create "config=$(config m1)" >/dev/null
on a xpost /xend/domain/m1 op=unpause >/dev/null
migrate_cancelled m1 0 xm

on a xpost /xend/domain op=create "config=$(config m2 2000)" >/dev/null
on a xpost /xend/domain/m2 op=unpause >/dev/null
migrate_cancelled m2 1 http

# and afterwards it still migrates
body=$(on a xpost /xend/domain/m1 op=migrate "destination=127.0.0.1:${RPORT[b]}" live=0)
expect_migrated "m1 migrates afterwards" "${RPORT[b]}" "$body"
expect_eq "and runs on b only" "b" "$(running_on m1)"
finish
