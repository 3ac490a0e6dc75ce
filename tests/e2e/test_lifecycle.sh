#!/bin/bash
# Domain lifecycle over HTTP on the sim backend: the root, errors, create, list, info,
# pause (cpu time stops), unpause, shutdown with each reason, destroy, restart modes and the
# minimum restart time, rollback of a failing create.
source "$(dirname "$0")/lib.sh"

xend_start || { not_ok "xend starts"; finish; }
ok "xend starts"

body=$(xget /xend)
expect_match "GET /xend lists the resources" '^\(ls +node domain console event device vnet\)$' "$body"

xget /xend/domain/nosuch >/dev/null
expect_eq "unknown domain is 404" 404 "$(http_status)"
xpost /xend/domain/Domain-0 >/dev/null
expect_eq "POST without op is 406" 406 "$(http_status)"
body=$(xpost /xend/domain/Domain-0 op=frobnicate)
expect_eq "unknown op is 501" 501 "$(http_status)"
expect_match "501 names the op" 'frobnicate' "$body"

body=$(xget /xend/domain/)
expect_match "Domain-0 is listed" 'Domain-0' "$body"
body=$(xget /xend/domain/0)
expect_match "Domain-0 info" '^\(domain \(id 0\) \(name Domain-0\)' "$body"

# create
body=$(xpost /xend/domain op=create "config=$(vm_config vm1 64)")
expect_eq "create replies 201" 201 "$(http_status)"
expect_match "create replies the info" '\(name vm1\)' "$body"
expect_match "the new domain is paused" '\(state --p--\)' "$(xget /xend/domain/vm1)"
body=$(xpost /xend/domain op=create "config=$(vm_config vm1 64)")
expect_match "a second vm1 is a name clash" 'xend.err.*vm name clash: vm1' "$body"
body=$(xpost /xend/domain op=create "config=$(vm_config averyveryverylongname 64)")
expect_match "names longer than 15 are refused" 'xend.err.*at most 15' "$body"
body=$(xpost /xend/domain op=create "config=(vm (name x1) (memory 64))")
expect_match "a config without image is refused" 'xend.err.*missing image' "$body"
body=$(xpost /xend/domain op=create "config=(vm (name x2) (memory 64) (image (linux (kernel /nonexistent))))")
expect_match "a missing kernel is refused" 'xend.err.*(not exist|Kernel)' "$body"
body=$(xpost /xend/domain op=create "config=$(vm_config big 999999)")
expect_match "too much memory is refused" 'xend.err' "$body"
body=$(xpost /xend/domain op=create "config=(vm (name x3")
expect_match "malformed SXP is an error" 'xend.err' "$body"
names=$(xget /xend/domain/)
expect_no_match "failed creates leave nothing behind" 'x1|x2|x3|big' "$names"

# unpause, cpu time grows; pause, it stops
xpost /xend/domain/vm1 op=unpause >/dev/null
expect_match "unpaused domain is not paused" '\(state [rb-]{2}-' "$(xget /xend/domain/vm1)"
cpu_time() { xget /xend/domain/vm1 | grep -oE '\(cpu_time [0-9.e-]+\)' | grep -oE '[0-9.e-]+'; }
grows() { local a; a=$(cpu_time); sleep 0.2; [ "$(cpu_time)" != "$a" ]; }
wait_until 10 grows && ok "cpu time grows while running" || not_ok "cpu time grows while running"
xpost /xend/domain/vm1 op=pause >/dev/null
expect_match "paused" '\(state --p--\)' "$(xget /xend/domain/vm1)"
a=$(cpu_time); sleep 0.3; b=$(cpu_time)
expect_eq "cpu time stops while paused" "$a" "$b"
xpost /xend/domain/vm1 op=unpause >/dev/null

# shutdown poweroff: gone
body=$(xpost /xend/domain/vm1 op=shutdown reason=poweroff)
expect_eq "shutdown replies 202" 202 "$(http_status)"
gone() { xget /xend/domain/vm1 >/dev/null; [ "$(http_status)" = 404 ]; }
wait_until 10 gone && ok "poweroff removes the domain" || not_ok "poweroff removes the domain"
body=$(xpost /xend/domain/Domain-0 op=shutdown reason=bogus)
expect_match "a bad reason is refused" 'invalid reason:bogus' "$body"

# reboot with the default mode (onreboot) restarts it with the same name
xpost /xend/domain op=create "config=$(vm_config vm2 32)" >/dev/null
xpost /xend/domain/vm2 op=unpause >/dev/null
xpost /xend/domain/vm2 op=shutdown reason=reboot >/dev/null
restarted() { xget /xend/domain/vm2 | grep -q 'restart_time'; }
wait_until 10 restarted && ok "reboot restarts the domain" || not_ok "reboot restarts the domain"
running() { xget /xend/domain/vm2 | grep -qE '\(state [rb]'; }
wait_until 10 running && ok "the restarted domain runs" || not_ok "the restarted domain runs"
# halt: no restart
xpost /xend/domain/vm2 op=shutdown reason=halt >/dev/null
gone2() { xget /xend/domain/vm2 >/dev/null; [ "$(http_status)" = 404 ]; }
wait_until 10 gone2 && ok "halt does not restart" || not_ok "halt does not restart"

# restart never: reboot does not restart
xpost /xend/domain op=create "config=$(vm_config vm3 32 '(restart never)')" >/dev/null
xpost /xend/domain/vm3 op=unpause >/dev/null
xpost /xend/domain/vm3 op=shutdown reason=reboot >/dev/null
gone3() { xget /xend/domain/vm3 >/dev/null; [ "$(http_status)" = 404 ]; }
wait_until 10 gone3 && ok "restart never: reboot ends it" || not_ok "restart never: reboot ends it"

# restart always + crash loop: restarted once, then refused within the minimum time
ARGS="sim.crash=0.3" xpost /xend/domain op=create "config=$(ARGS=sim.crash=0.3 vm_config crashy 32 '(restart always)')" >/dev/null
xpost /xend/domain/crashy op=unpause >/dev/null
refused() { xget /xend/domain/crashy | grep -q 'restarting too fast'; }
wait_until 15 refused && ok "a crash loop is stopped by the minimum restart time" \
    || not_ok "a crash loop is stopped by the minimum restart time" "$(xget /xend/domain/crashy)"
grep -q 'restart refused' "$T/xend.log" && ok "the refusal is logged" || not_ok "the refusal is logged"

# destroy
xpost /xend/domain op=create "config=$(vm_config vm4 32)" >/dev/null
body=$(xpost /xend/domain/vm4 op=destroy reason=halt)
expect_eq "destroy replies 0" 0 "$body"
xget /xend/domain/vm4 >/dev/null
expect_eq "destroyed domain is gone" 404 "$(http_status)"
body=$(xpost /xend/domain/crashy op=destroy reason=halt)
xget /xend/domain/crashy >/dev/null
expect_eq "a halted record can be destroyed" 404 "$(http_status)"

# detail=1 lists every info in one request
body=$(xget "/xend/domain?detail=1")
expect_match "detail=1 gives infos" '^\(\(domain \(id 0\)' "$body"

finish
