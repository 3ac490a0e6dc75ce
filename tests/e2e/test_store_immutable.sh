#!/bin/bash
# Nothing reported done unless durable: with the store's domain directory immutable
# (chattr +i), a destroy of a (restart always) domain is refused with the domain left
# running (its record would restart it), a destroy of an ordinary domain is done (its
# record cannot bring it back) and the store deletes the record once it can, a shutdown
# says the store write failed, a restart that cannot be recorded is not
# done (the domain is halted and says why), and infos carry store_error. After chattr -i
# every record converges (the store retries) and an xend restart shows exactly what was
# acknowledged.
source "$(dirname "$0")/lib.sh"

xend_start || { not_ok "xend starts"; finish; }
ok "xend starts"
D=$T/state/domain
immutable() { chattr "$1" "$D" 2>/dev/null; }
mutable_again() { chattr -i "$D" 2>/dev/null || true; }
trap 'mutable_again; cleanup' EXIT

for n in always1 always2; do
    xpost /xend/domain op=create "config=$(vm_config $n 16 '(restart always)')" >/dev/null
    expect_eq "$n created" 201 "$(http_status)"
    xpost /xend/domain/$n op=unpause >/dev/null
done
xpost /xend/domain op=create "config=$(vm_config plain1 16)" >/dev/null
expect_eq "plain1 created" 201 "$(http_status)"
xpost /xend/domain/plain1 op=unpause >/dev/null
xpost /xend/domain op=create "config=$(vm_config plain2 16)" >/dev/null
xpost /xend/domain/plain2 op=unpause >/dev/null

if ! immutable +i; then
    echo "SKIP: chattr +i does not work on $D (file system without the flag?)"
    finish
fi
ok "domain directory made immutable"
key_of() { grep -l "(name $1)" "$D"/[!.]* 2>/dev/null | head -1; }
plain1_key=$(key_of plain1)
check "plain1 has a record" test -n "$plain1_key"

body=$(xpost /xend/domain/always1 op=destroy reason=halt)
expect_match "destroying a (restart always) domain is refused" \
    'xend.err.*not destroyed: the store cannot record' "$body"
expect_match "... and it runs on" '\(state [rb-]{2}-' "$(xget /xend/domain/always1)"
expect_match "... and says its record is not durable" 'store_error' "$(xget /xend/domain/always1)"

body=$(xpost /xend/domain/plain1 op=destroy reason=halt)
expect_eq "destroying an ordinary domain is done (its record cannot restart it)" 0 "$body"
xget /xend/domain/plain1 >/dev/null
expect_eq "plain1 is gone" 404 "$(http_status)"
check "its record is still there (the store retries the delete)" test -f "$plain1_key"
expect_match "the log says the record is not deleted yet" 'domain record not deleted' "$(cat "$T/xend.log")"

body=$(xpost /xend/domain/plain2 op=shutdown reason=halt)
expect_match "a shutdown that cannot be recorded is an error" 'xend.err.*store write failed' "$body"

# A reboot of a (restart always) domain while nothing can be recorded: not restarted.
xpost /xend/domain/always2 op=shutdown reason=reboot >/dev/null
halted() { xget /xend/domain/always2 | grep -q 'restart not done: the store cannot record it'; }
wait_until 20 halted && ok "a restart that cannot be recorded is not done, and says why" ||
    not_ok "a restart that cannot be recorded is not done" "$(xget /xend/domain/always2 | head -c 400)"

immutable -i
ok "domain directory writable again"
gone() { [ ! -e "$plain1_key" ]; }
wait_until 30 gone && ok "the store deletes plain1's record once it can" ||
    not_ok "the store deletes plain1's record once it can"
clean() { ! xget /xend/domain/always1 | grep -q store_error; }
wait_until 20 clean && ok "always1's record is written again: no store_error" ||
    not_ok "always1's record is written again: no store_error"
body=$(xpost /xend/domain/always1 op=destroy reason=halt)
expect_eq "now always1 can be destroyed" 0 "$body"

xend_stop
xend_start || { not_ok "xend restarts"; finish; }
xget /xend/domain/always1 >/dev/null
expect_eq "always1 (destroyed) does not come back" 404 "$(http_status)"
xget /xend/domain/plain1 >/dev/null
expect_eq "plain1 (destroyed) does not come back" 404 "$(http_status)"
expect_match "always2 is listed halted after the restart" '\(state -----\)' "$(xget /xend/domain/always2)"
finish
