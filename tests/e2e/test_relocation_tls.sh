#!/bin/bash
# The relocation port over mutual TLS: two hosts that pin each other's certificate (made by
# `xend cert`) migrate to each other, the hand-over's questions included; a host whose
# certificate is not trusted, and a peer speaking plain TCP, are refused before a byte of
# image is read, and the domain stays where it was.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_hosts.sh"
export ARGS='sim.load=10 sim.dirty_rate=0'

fingerprint() { # fingerprint NAME: make host NAME's identity, print its fingerprint
    printf 'relocation-cert = "%s";\nrelocation-key = "%s";\n' "$T/$1.crt" "$T/$1.key" > "$T/$1.cert.conf"
    "$XEND_BIN" cert -c "$T/$1.cert.conf" | sed -n 's/^fingerprint //p'
}
fa=$(fingerprint a)
fb=$(fingerprint b)
fc=$(fingerprint c)
expect_match "xend cert prints a SHA-256 fingerprint" '^[0-9a-f]{64}$' "$fa"
expect_eq "and keeps the identity it made" "$fa" "$(fingerprint a)"
check "the key is private" test "$(stat -c %a "$T/a.key")" = 600
tls() { # tls NAME PINNED...
    local h=$1
    shift
    printf 'relocation-tls = true;\nrelocation-cert = "%s";\nrelocation-key = "%s";\nrelocation-peers = "%s";\n' \
        "$T/$h.crt" "$T/$h.key" "$*"
}
start_host a "" "$(tls a "$fb")" || { not_ok "host a starts"; finish; }
start_host b "" "$(tls b "$fa")" || { not_ok "host b starts"; finish; }
start_host c "" "$(tls c "$fb")" || { not_ok "host c starts"; finish; }

on a xpost /xend/domain op=create "config=$(vm_config t1 32)" >/dev/null
on a xpost /xend/domain/t1 op=unpause >/dev/null
s=$(sum a t1)
body=$(on a xpost /xend/domain/t1 op=migrate "destination=127.0.0.1:${RPORT[b]}" live=0)
expect_migrated "two hosts that pin each other migrate over TLS" "${RPORT[b]}" "$body"
expect_eq "t1 is on b only" "b" "$(running_on t1)"
expect_eq "with its memory" "$s" "$(sum b t1)"
grep -q "relocation peer authenticated peer=127.0.0.1 cert=$fa" "$T/b/xend.log" &&
    ok "b logs a's certificate" || not_ok "b logs a's certificate" "$(grep relocation "$T/b/xend.log" | tail -3)"

on c xpost /xend/domain op=create "config=$(vm_config t2 32)" >/dev/null
body=$(on c xpost /xend/domain/t2 op=migrate "destination=127.0.0.1:${RPORT[b]}" live=0)
expect_match "a host b does not trust is refused" 'xend.err' "$body"
expect_eq "and t2 stays on c" "c" "$(running_on t2)"
wait_until 5 grep -q 'TLS peer not trusted' "$T/b/xend.log" && ok "b says why" ||
    not_ok "b says why" "$(grep -i 'fail\|refus' "$T/b/xend.log" | tail -3)"

exec 5<>/dev/tcp/127.0.0.1/"${RPORT[b]}"
# b may close before the write ends: that SIGPIPE is the subshell's, not the test's.
( trap '' PIPE; printf 'XENDIMG1\n10\n(vm (name x))\n' >&5 ) 2>/dev/null || true
reply=""
read -r -t 5 reply <&5 || true
exec 5>&-
expect_no_match "a plain TCP peer gets no (ready)" 'ready' "$reply"
has b x && not_ok "nothing of its stream is taken" || ok "nothing of its stream is taken"

# the hand-over's question goes over TLS too: b dies once it let go, a asks it
if ! grep -q 'crash_points=built-in' "$T/b/xend.log"; then
    echo "# this build has no crash points (configure with -DXEND_CRASH_POINTS=ON): skipped"
    finish
fi
on b xpost /xend/domain op=create "config=$(vm_config t3 32)" >/dev/null
on b xpost /xend/domain/t3 op=unpause >/dev/null
s3=$(sum b t3)
stop_host b
start_host b migrate.released
on b xpost /xend/domain/t3 op=migrate "destination=127.0.0.1:${RPORT[a]}" live=0 >/dev/null
wait_until 20 dead b || not_ok "b died once it let go"
start_host b
settled() { [ "$(running_on t3)" = a ] && on a xget /xend/domain/t3 | grep -qE '\(state [rb-]{2}-'; }
wait_until 30 settled && ok "a asked b over TLS and took t3 over" ||
    not_ok "a asked b over TLS and took t3 over" "[$(running_on t3)] $(grep -i doubt "$T/a/xend.log" | tail -2)"
expect_eq "with its memory" "$s3" "$(sum a t3)"
finish
