#!/bin/bash
# Restart throttling and up_time run on the boot clock, carried across an xend restart
# within one boot. The real clock cannot be stepped here, so the records are made to look
# as if it had been: with xend stopped, their wall-clock start_time and restart_time are
# moved an hour into the future (what a clock stepped back an hour since they were written
# would read). On the wall clock, up_time went negative and the next reboot was refused
# ("restarting too fast (-3572.0 s since the last restart)"); on the boot clock up_time
# goes on and a reboot is throttled only by the time that really passed.
source "$(dirname "$0")/lib.sh"

xend_start || { not_ok "xend starts"; finish; }
ok "xend starts"
for n in tick1 tick2; do
    xpost /xend/domain op=create "config=$(vm_config $n 16 '(restart always)')" >/dev/null
    expect_eq "$n created" 201 "$(http_status)"
    xpost /xend/domain/$n op=unpause >/dev/null
done
# Each restarts once, so it has a last restart for the throttle.
restarted() { xget /xend/domain/$1 | grep -q '(restart_time '; }
for n in tick1 tick2; do
    xpost /xend/domain/$n op=shutdown reason=reboot >/dev/null
    wait_until 20 restarted $n && ok "$n restarted once" || not_ok "$n restarted once"
done
up_before=$(xget /xend/domain/tick2 | sed -nE 's/.*\(up_time ([-0-9.e]+)\).*/\1/p')

xend_stop
future=$(($(date +%s) + 3600))
key_of() { grep -l "(name $1)" "$T/state/domain"/[!.]* | head -1; }
for n in tick1 tick2; do
    f=$(key_of $n)
    # A hand edit: the trailer goes with the change (docs/store.md).
    sed -i -E "s/\(start_time [-0-9.e+]+\)/(start_time $future)/; s/\(restart_time [-0-9.e+]+\)/(restart_time $future)/; /^# xend-store /d" "$f"
done
# tick2's last restart was, on the boot clock, a minute ago (/proc/uptime is that clock).
boot_s=$(cut -d. -f1 /proc/uptime)
sed -i -E "s/\(restart_ns [0-9]+\)/(restart_ns $((boot_s - 60))000000000)/" "$(key_of tick2)"
xend_start || { not_ok "xend restarts"; finish; }

info=$(xget /xend/domain/tick2)
up=$(printf '%s' "$info" | sed -nE 's/.*\(up_time ([-0-9.e]+)\).*/\1/p')
expect_match "up_time is not negative after the wall clock went back an hour" '^[0-9]' "$up"
check "up_time went on from before the xend restart ($up_before -> $up)" \
    awk -v a="$up_before" -v b="$up" 'BEGIN { exit !(b >= a) }'

# tick1 restarted a few seconds ago (minimum-restart-time is 20 s): a reboot now is
# throttled, by the time that really passed.
xpost /xend/domain/tick1 op=shutdown reason=reboot >/dev/null
refused() { xget /xend/domain/tick1 | grep -q 'restarting too fast'; }
wait_until 20 refused && ok "a second reboot within 20 s is refused" ||
    not_ok "a second reboot within 20 s is refused" "$(xget /xend/domain/tick1 | head -c 400)"
expect_match "the gap is the real one, not negative" \
    'restarting too fast \([0-9.]+ s since the last restart' "$(xget /xend/domain/tick1)"

# tick2 last restarted a minute ago by the boot clock: its reboot goes ahead although its
# wall-clock restart_time is an hour in the future.
xpost /xend/domain/tick2 op=shutdown reason=reboot >/dev/null
moved_on() { xget /xend/domain/tick2 | grep -qE "restart_time (1[0-9]{9})" &&
    ! xget /xend/domain/tick2 | grep -q "restart_time $future"; }
wait_until 20 moved_on && ok "tick2 reboots (a minute after its last restart)" ||
    not_ok "tick2 reboots" "$(xget /xend/domain/tick2 | head -c 400)"
expect_no_match "tick2 was not refused" 'restarting too fast' "$(xget /xend/domain/tick2)"
finish
