#!/bin/bash
# The cap on devices per domain (max-devices-per-domain): a config with more devices than
# the cap is refused, device_create past it is refused with a message that names the cap,
# the refused device leaves no trace, and removing one makes room again.
source "$(dirname "$0")/lib.sh"

xend_start "max-devices-per-domain = 4;" || { not_ok "xend starts"; finish; }
ok "xend starts"

vifs() { local i; for i in $(seq 1 "$1"); do printf ' (device (vif (mac aa:00:00:00:0%d:0%d)))' $((i / 10)) $((i % 10)); done; }
body=$(xpost /xend/domain op=create "config=$(vm_config big 64 "$(vifs 5)")")
expect_match "a config with 5 devices is refused" 'too many devices: domain big would have 5 \(max-devices-per-domain is 4\)' "$body"
expect_eq "with 413" 413 "$(http_status)"
xget /xend/domain/big >/dev/null
expect_eq "and no domain is left behind" 404 "$(http_status)"

body=$(xpost /xend/domain op=create "config=$(vm_config cap 64 "$(vifs 3)")")
expect_match "a config with 3 devices is created" '^\(domain ' "$body"
body=$(xpost /xend/domain/cap op=device_create "config=(vif (mac aa:00:00:00:01:04))")
expect_match "a fourth device is added" '^\(vif \(idx 3\)' "$body"
body=$(xpost /xend/domain/cap op=device_create "config=(vif (mac aa:00:00:00:01:05))")
expect_match "a fifth is refused and the message names the cap" \
    'too many devices: domain cap would have 5 \(max-devices-per-domain is 4\)' "$body"
expect_eq "with 413" 413 "$(http_status)"
n=$(xget "/xend/domain/cap?op=vifs" | grep -o '(vif (idx' | wc -l)
expect_eq "the domain still has 4 vifs" 4 "$n"
xpost /xend/domain/cap op=device_destroy type=vif idx=3 >/dev/null
body=$(xpost /xend/domain/cap op=device_create "config=(vif (mac aa:00:00:00:01:06))")
expect_match "after removing one, a device can be added again" '^\(vif \(idx ' "$body"

finish
