#!/bin/bash
# kill -9 of xend in the middle of a save, a local migration and a restore, then a restart:
# what the next start keeps is exactly what was acknowledged or still owned.
#  - save: once the image is durable the record is marked released before the teardown, so
#    a crash during the teardown does not bring the domain back (restart=always) next to
#    its image; the image restores.
#  - local migration, while the source lets go: its release record is durable before its
#    teardown, so the next start finishes the teardown and takes the received copy over.
#  - local migration, after the source let go: the receiver marks its record (received)
#    first, so a crash while it takes the domain over makes the next start finish the
#    take-over (the half-attached vif taken over too) instead of losing the domain.
#  - restore: a crash before it is acknowledged removes the half-restored domain, and the
#    file restores again.
# The windows are held open by a vif script that waits while $T/hold exists.
source "$(dirname "$0")/lib.sh"

use_held_vif_script

sum() { xget "/xend/domain/$1?op=mem_checksum" | grep -oE '[0-9]+\)$' | tr -d ')'; }
domid() { xget "/xend/domain/$1" | grep -oE '^\(domain \(id [0-9]+\)' | grep -oE '[0-9]+'; }
names() { xget /xend/domain | tr -d '()\n' | tr ' ' '\n' | grep -v '^$' | sort | tr '\n' ' '; }
held() { [ "$(grep -c "^$1 held" "$T/vif.log" 2>/dev/null)" -ge "${2:-1}" ]; }
crash() {
    kill -9 "$(cat "$T/xend.pid")"
    rm -f "$T"/hold-* "$T/xend.pid"
    sleep 0.2
}
restart() { xend_start "$CONF" || { not_ok "xend restarts"; finish; }; }
crash_and_restart() { crash; restart; }
vif() { echo "(device (vif (mac aa:00:00:00:7c:0$1)))"; }
# migrate_held NAME N HOLD WHAT: create NAME with vif N, keep its id and memory checksum in
# ID and SUM, then migrate it to this xend with the vif script's HOLD action (up: the
# receiver's, down: the source's) held open; WHAT says which moment that is.
migrate_held() {
    xpost /xend/domain op=create "config=$(vm_config "$1" 32 "$(vif "$2")")" >/dev/null
    expect_eq "$1 created" 201 "$(http_status)"
    ID=$(domid "$1")
    SUM=$(sum "$1")
    : > "$T/vif.log"
    touch "$T/hold-$3"
    ( xpost "/xend/domain/$1" op=migrate "destination=127.0.0.1:$RELOC_PORT" live=0 > "$T/mig-$1.out" ) &
    wait_until 20 held "$3" && ok "$4" || not_ok "$4" "$(cat "$T/vif.log")"
}

xend_start "$CONF" || { not_ok "xend starts"; finish; }
ok "xend starts"

# ---- save: crash while the saved domain's devices are being released
xpost /xend/domain op=create "config=$(vm_config sc1 32 "(restart always) $(vif 1)")" >/dev/null
expect_eq "sc1 created" 201 "$(http_status)"
s1=$(sum sc1)
touch "$T/hold-down"
( xpost /xend/domain/sc1 op=save "file=$T/sc1.img" > "$T/save.out" ) &
wait_until 20 held down && ok "the save is releasing sc1's vif" ||
    not_ok "the save is releasing sc1's vif" "$(cat "$T/vif.log")"
crash_and_restart
gone() { xget /xend/domain/sc1 >/dev/null; [ "$(http_status)" = 404 ]; }
wait_until 10 gone && ok "a domain saved before the crash does not come back" ||
    not_ok "a domain saved before the crash does not come back" "$(xget /xend/domain/sc1)"
only_dom0() { [ "$(names)" = "Domain-0 " ]; }
wait_until 10 only_dom0 && ok "the hypervisor no longer has it (nothing adopted)" ||
    not_ok "the hypervisor no longer has it (nothing adopted)" "$(names)"
grep -q 'saved domain released' "$T/xend.log" && ok "the start finished the release" ||
    not_ok "the start finished the release" "$(grep -i sc1 "$T/xend.log" | tail -3)"
xpost /xend/domain op=restore "file=$T/sc1.img" >/dev/null
expect_eq "its image restores" 201 "$(http_status)"
expect_eq "with the memory it had" "$s1" "$(sum sc1)"
xpost /xend/domain/sc1 op=destroy reason=halt >/dev/null

# ---- local migration: crash while the source releases its copy. The receiver answered
# (received) only once it held the image durably, and the source let go only once its
# release record was durable: the next start gives the domain to the received copy (a new
# id, the same memory) and finishes the source's teardown, whatever order records load in.
migrate_held sc2 2 down "the migration holds the image and the source is letting go"
id2=$ID
s2=$SUM
crash
check "the source's release record is durable" test -n "$(ls "$T/state/handover" 2>/dev/null)"
restart
only_sc2() { [ "$(names)" = "Domain-0 sc2 " ]; }
wait_until 10 only_sc2 && ok "one sc2, nothing else" || not_ok "one sc2, nothing else" "$(names)"
new2=$(domid sc2)
[ -n "$new2" ] && [ "$new2" != "$id2" ] && ok "sc2 is the received copy (id $id2 -> $new2)" ||
    not_ok "sc2 is the received copy" "ids $id2 -> '$new2'"
expect_eq "with the memory it had" "$s2" "$(sum sc2)"
grep -q 'migrated domain released domain=sc2' "$T/xend.log" && ok "the start finished the source's release" ||
    not_ok "the start finished the source's release" "$(grep -i sc2 "$T/xend.log" | tail -3)"
xpost /xend/domain/sc2 op=destroy reason=halt >/dev/null

# ---- local migration: crash while the receiver takes the domain over, after the source
# let go. The domain then exists only on the receiving side: the next start must finish
# the take-over (its vif, half attached at the crash, taken over too), not remove it.
migrate_held sc4 4 up "the source let go and the receiver is bringing up sc4's vif"
id4=$ID
s4=$SUM
grep -q '^down ' "$T/vif.log" && ok "the source's vif went down first" ||
    not_ok "the source's vif went down first" "$(cat "$T/vif.log")"
crash
grep -rqE "\(received \(paused 1\)" "$T/state/domain" &&
    ok "the receiver recorded that the domain is its own now" ||
    not_ok "the receiver recorded that the domain is its own now" "$(cat "$T"/state/domain/* | head -c 600)"
restart
taken() { grep -q 'migrated domain taken over domain=sc4' "$T/xend.log"; }
wait_until 10 taken && ok "the next start finished the take-over" ||
    not_ok "the next start finished the take-over" "$(grep -i sc4 "$T/xend.log" | tail -5)"
new4=$(domid sc4)
[ -n "$new4" ] && [ "$new4" != "$id4" ] && ok "sc4 is the received copy (id $id4 -> $new4)" ||
    not_ok "sc4 is the received copy" "ids $id4 -> '$new4'"
expect_eq "with the memory it had" "$s4" "$(sum sc4)"
expect_match "still paused, as it was sent" '^..p' "$(xget /xend/domain/sc4 | grep -oE '\(state [^)]*\)' | cut -c8-)"
grep -q 'device taken over plugin=vif class=vif domain=sc4' "$T/xend.log" && ok "its half-attached vif was taken over" ||
    not_ok "its half-attached vif was taken over" "$(grep -i 'sc4' "$T/xend.log" | tail -5)"
only_sc4() { [ "$(names)" = "Domain-0 sc4 " ]; }
wait_until 10 only_sc4 && ok "one sc4, nothing else" || not_ok "one sc4, nothing else" "$(names)"
restart_again() { crash; restart; }
restart_again
expect_eq "and it stays across another restart" "$new4" "$(domid sc4)"
xpost /xend/domain/sc4 op=destroy reason=halt >/dev/null

# ---- restore: crash while the restored domain's vif comes up
xpost /xend/domain op=create "config=$(vm_config sc3 32 "$(vif 3)")" >/dev/null
s3=$(sum sc3)
expect_eq "sc3 saved" 0 "$(xpost /xend/domain/sc3 op=save "file=$T/sc3.img")"
: > "$T/vif.log"
touch "$T/hold-up"
( xpost /xend/domain op=restore "file=$T/sc3.img" > "$T/restore.out" ) &
wait_until 20 held up && ok "the restore is bringing up sc3's vif" ||
    not_ok "the restore is bringing up sc3's vif" "$(cat "$T/vif.log")"
crash_and_restart
wait_until 10 only_dom0 && ok "an unacknowledged restore leaves nothing" ||
    not_ok "an unacknowledged restore leaves nothing" "$(names)"
xpost /xend/domain op=restore "file=$T/sc3.img" >/dev/null
expect_eq "the file restores again" 201 "$(http_status)"
expect_eq "with its memory" "$s3" "$(sum sc3)"

finish
