#!/bin/bash
# A crash of xend while it restarts a domain neither leaves the new instance paused forever
# nor believes its devices attached: the restart is recorded before the new instance is
# built, so the next start finishes or undoes it (the sim backend, like Xen 2.0, gives the
# new instance the same id and name, which must not be mistaken for the old live one).
source "$(dirname "$0")/lib.sh"

mkdir -p "$T/scripts"
use_vif_script vif-flag <<SCRIPT
#!/bin/sh
echo "\$1 start" >> $T/vif.log
[ "\$1" = up ] && [ -f $T/slow ] && sleep 4
echo "\$1 end" >> $T/vif.log
exit 0
SCRIPT

xend_start "$CONF" || { not_ok "xend starts"; finish; }
ok "xend starts"

xpost /xend/domain op=create "config=$(vm_config rc1 32 '(device (vif (mac aa:00:00:00:78:01)))')" >/dev/null
expect_eq "rc1 created" 201 "$(http_status)"
xpost /xend/domain/rc1 op=unpause >/dev/null
running() { xget /xend/domain/rc1 | grep -qE '\(state [rb]'; }
wait_until 10 running && ok "rc1 runs" || not_ok "rc1 runs"

# Make the restart's vif up script slow, reboot the guest, and kill xend while the new
# instance waits for its devices.
touch "$T/slow"
xpost /xend/domain/rc1 op=shutdown reason=reboot >/dev/null
second_up() { [ "$(grep -c '^up start' "$T/vif.log")" -ge 2 ]; }
wait_until 10 second_up && ok "the restart is attaching the new instance's vif" ||
    not_ok "the restart is attaching the new instance's vif" "$(cat "$T/vif.log")"
kill -9 "$(cat "$T/xend.pid")"
rm -f "$T/slow" "$T/xend.pid"
sleep 0.2

xend_start "$CONF" || { not_ok "xend restarts"; finish; }
ok "xend restarts"
info=$(xget /xend/domain/rc1)
echo "# after restart: $(printf '%s' "$info" | head -c 300)"
wait_until 10 running && ok "the restarted domain runs after xend recovered" ||
    not_ok "the restarted domain runs after xend recovered" "$(printf '%s' "$info" | head -c 300)"

finish
