#!/bin/bash
# Review repro: a shutdown request's reason is not persisted. shutdown reason=halt must
# cancel any restart (PROTOCOL-2.0 §14), but dom->shutdown_requested lives only in memory
# (xend_domain_record() does not store it) and the 202 is sent without a store write. If
# xend restarts before the guest has finished shutting down, the halt is forgotten and a
# (restart always) domain is restarted when it exits (simhv.log: "shut down, reason 0",
# "destroyed", "created" again).
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
