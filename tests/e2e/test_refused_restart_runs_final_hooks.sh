#!/bin/bash
# A domain whose restart is refused (it restarts too fast) gets the DESTROY hooks of its
# final death, so plugins let go of it: the console plugin closes the listener it kept for
# the restart, and the halted domain does not say (restart_state pending).
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
expect_no_match "a refused restart is not shown as pending" 'restart_state pending' "$info"
grep -E 'hook|console' "$T/xend.log" | grep -i crashy | tail -3 | sed 's/^/# /'
finish
