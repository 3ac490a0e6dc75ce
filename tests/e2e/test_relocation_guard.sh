#!/bin/bash
# The relocation port admits only the peers xend-relocation-hosts-allow names, before a
# byte is read, and holds nobody forever: a header must be whole within
# relocation-header-timeout, a whole receive must end within relocation-timeout; a slot
# held by a slow peer is freed when either passes, and what the receive had begun is undone.
source "$(dirname "$0")/lib.sh"
export ARGS='sim.load=10 sim.dirty_rate=0'
count() { grep -c "$1" "$T/xend.log" 2>/dev/null || true; }
logged() { [ "$(count "$1")" -ge "$2" ]; }

# ---- a peer not admitted
xend_start 'xend-relocation-hosts-allow = "^10\\.";' || { not_ok "xend starts"; finish; }
xpost /xend/domain op=create "config=$(vm_config g1 16)" >/dev/null
body=$(xpost /xend/domain/g1 op=migrate "destination=127.0.0.1:$RELOC_PORT" live=0)
expect_match "a migration from a peer that hosts-allow does not name fails" 'xend.err' "$body"
wait_until 5 logged 'relocation refused peer=127.0.0.1 reason="not in xend-relocation-hosts-allow"' 1 &&
    ok "the refusal is logged with the peer" ||
    not_ok "the refusal is logged with the peer" "$(grep relocation "$T/xend.log" | tail -3)"
expect_match "and the domain stays" '\(state [rb-]{2}[p-]' "$(xget /xend/domain/g1)"
xpost /xend/domain/g1 op=save "file=$T/g1.img" >/dev/null
expect_eq "an image for later" 0 "$(cat "$T/.body")"
xend_stop

# ---- deadlines: small ones for the test
xend_start 'relocation-header-timeout = 1;
relocation-timeout = 3;' || { not_ok "xend starts again"; finish; }
exec 5<>/dev/tcp/127.0.0.1/"$RELOC_PORT"
exec 6<>/dev/tcp/127.0.0.1/"$RELOC_PORT"
printf 'XEN' >&5
printf 'X' >&6
# both slots are held; a third peer is refused at once
exec 7<>/dev/tcp/127.0.0.1/"$RELOC_PORT"
wait_until 5 logged 'relocation refused reason="2 receives in progress"' 1 &&
    ok "two slow peers hold both receive slots" || not_ok "two slow peers hold both receive slots"
exec 7>&-
wait_until 5 logged 'reason="no whole header in time"' 2 &&
    ok "each is dropped once its header is late" ||
    not_ok "each is dropped once its header is late" "$(grep relocation "$T/xend.log" | tail -4)"
exec 5>&- 6>&-
xpost /xend/domain op=create "config=$(vm_config g2 16)" >/dev/null
body=$(xpost /xend/domain/g2 op=migrate "destination=127.0.0.1:$RELOC_PORT" live=0)
expect_migrated "their slots are free again: a migration goes through" "$RELOC_PORT" "$body"

# a whole header, then nothing: the receive is undone when its deadline passes
head -n 3 "$T/g1.img" > "$T/g1.head"
exec 5<>/dev/tcp/127.0.0.1/"$RELOC_PORT"
cat "$T/g1.head" >&5
line=""; read -r -t 5 line <&5
expect_eq "the receiver checks the header and is ready for the image" "(ready)" "$line"
wait_until 8 logged 'reason="the transfer took too long"' 1 &&
    ok "a receive that outlives relocation-timeout is cut" ||
    not_ok "a receive that outlives relocation-timeout is cut" "$(grep relocation "$T/xend.log" | tail -3)"
exec 5>&-
gone() { xget /xend/domain/g1 >/dev/null; [ "$(http_status)" = 404 ]; }
wait_until 5 gone && ok "nothing is left of the cut receive" || not_ok "nothing is left of the cut receive"
xpost /xend/domain op=restore "file=$T/g1.img" >/dev/null
expect_eq "its name is free: the image restores" 201 "$(http_status)"
finish
