#!/bin/bash
# Review repro: a domain whose restart is refused (minimum restart time) or fails never gets
# its final DESTROY hooks. teardown_detached() runs DESTROY with reason FOR_RESTART before
# teardown_destroyed() decides to refuse the restart; the domain then stays HALTED, and a
# later destroy of the HALTED record (xend_lifecycle_destroy -> forget -> free) runs no
# DESTROY hook at all. domain.h: a handle "is freed after the DESTROY hooks of its final
# death". Visible effect: the console plugin keeps the halted domain's listener open (it
# kept it for the restart) although no instance exists any more. Also: the refused domain
# still says (restart_state pending).
source "$(dirname "$0")/lib.sh"

xend_start || { not_ok "xend starts"; finish; }
ok "xend starts"
xpost /xend/domain op=create "config=$(ARGS=sim.crash=0.3 vm_config crashy 32 '(restart always)')" >/dev/null
expect_eq "crashy created" 201 "$(http_status)"
xpost /xend/domain/crashy op=unpause >/dev/null
refused() { xget /xend/domain/crashy | grep -q 'restarting too fast'; }
wait_until 15 refused && ok "the crash loop is refused" || not_ok "the crash loop is refused"
info=$(xget /xend/domain/crashy)
port=$(printf '%s' "$info" | grep -oE '\(console_port [0-9]+\)' | grep -oE '[0-9]+' | head -1)
[ -z "$port" ] && port=$(printf '%s' "$info" | grep -oE '\(console [0-9]+\)' | grep -oE '[0-9]+' | head -1)
echo "# halted info: $(printf '%s' "$info" | head -c 400)"
if [ -n "$port" ] && (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
    not_ok "a halted domain (no instance) has no console listener" "port $port accepts connections"
else
    ok "a halted domain (no instance) has no console listener"
fi
# teardown() set restart_state "pending"; the refusal in teardown_destroyed() never clears it.
expect_no_match "a refused restart is not shown as pending" 'restart_state pending' "$info"
grep -E 'hook|console' "$T/xend.log" | grep -i crashy | tail -3 | sed 's/^/# /'
finish
