#!/bin/bash
# A shutdown with reason halt cancels any restart of the domain (as in 2.0), and that
# decision is durable: it is in the domain's record before the 202 goes out. If xend
# restarts before the guest has finished shutting down, a (restart always) domain still
# stays down when it exits (simhv.log shows no second create).
source "$(dirname "$0")/lib.sh"

xend_start || { not_ok "xend starts"; finish; }
ok "xend starts"
# The guest takes 3 s to act on a shutdown request.
xpost /xend/domain op=create "config=$(ARGS='sim.load=100 sim.shutdown_delay_ms=3000' vm_config hl1 32 '(restart always)')" >/dev/null
expect_eq "hl1 created" 201 "$(http_status)"
xpost /xend/domain/hl1 op=unpause >/dev/null
xpost /xend/domain/hl1 op=shutdown reason=halt >/dev/null
expect_eq "shutdown halt accepted" 202 "$(http_status)"
xend_stop
xend_start || { not_ok "xend restarts"; finish; }
gone() { xget /xend/domain/hl1 >/dev/null; [ "$(http_status)" = 404 ]; }
wait_until 15 gone && ok "a halted domain is not restarted across an xend restart" ||
    not_ok "a halted domain is not restarted across an xend restart" "$(xget /xend/domain/hl1 | head -c 300)"
finish
