#!/bin/bash
# A local migration takes the name, devices and hooks only after the source let go, so a
# device that fails then must not cost the guest: the domain, the only copy by then, is
# kept and adopted (listed, with its memory), never destroyed.
source "$(dirname "$0")/lib.sh"
export ARGS='sim.load=10 sim.dirty_rate=0'
mkdir -p "$T/scripts"
use_vif_script vif-fail-up <<SCRIPT
#!/bin/sh
[ "\$1" = up ] && [ -f $T/fail-up ] && { echo "vif up refused for the test" >&2; exit 1; }
exit 0
SCRIPT
xend_start "$CONF" || { not_ok "xend starts"; finish; }

xpost /xend/domain op=create "config=$(vm_config lm 32 '(device (vif (mac aa:00:00:00:7d:01)))')" >/dev/null
expect_eq "lm created" 201 "$(http_status)"
sum() { xget "/xend/domain/$1?op=mem_checksum" | grep -oE '[0-9]+\)$' | tr -d ')'; }
s=$(sum lm)
touch "$T/fail-up"
body=$(xpost /xend/domain/lm op=migrate "destination=127.0.0.1:$RELOC_PORT" live=0)
expect_match "the migration reports the take-over's failure" 'xend.err' "$body"
listed() { xget /xend/domain/lm >/dev/null; [ "$(http_status)" = 200 ]; }
wait_until 10 listed && ok "the guest is still there, adopted" || not_ok "the guest is still there, adopted" "$(xget /xend/domain)"
expect_eq "with its memory" "$s" "$(sum lm)"
grep -q 'migrated domain take-over failed domain=lm .*action="left to be adopted"' "$T/xend.log" &&
    ok "the log says it was left to be adopted" ||
    not_ok "the log says it was left to be adopted" "$(grep -i 'lm' "$T/xend.log" | tail -3)"
finish
