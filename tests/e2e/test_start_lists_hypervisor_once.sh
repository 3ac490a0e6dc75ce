#!/bin/bash
# A start asks the hypervisor for its list of domains once (docs/store.md, "Start"): the
# reconcile matches the stored records against that list, and the check after it (adopt
# Domain-0 and strangers, reap what died) reads the same list. Seen from outside: the
# requests xend writes to xend-simhv's socket until it says it is ready, under strace.
# Then what that check still does: a domain made behind xend's back is adopted, and one
# destroyed behind its back while it was down is gone.
source "$(dirname "$0")/lib.sh"

command -v strace >/dev/null || { ok "SKIP: no strace"; finish; }
xend_start || { not_ok "xend starts"; finish; }
ok "xend starts"
for n in s1 s2 s3; do
    xpost /xend/domain op=create "config=$(vm_config $n 8)" >/dev/null
    expect_eq "create $n" 201 "$(http_status)"
done
s2=$(xget /xend/domain/s2 | grep -oE '\(id [0-9]+\)' | head -1 | grep -oE '[0-9]+')
xend_stop
# A stranger made by asking simhv directly, and s2 destroyed behind xend's back.
hv_request() {
    perl -MIO::Socket::UNIX -e '
        my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "simhv: $!\n";
        print $s "$ARGV[1]\n"; my $l = <$s>; print $l;
    ' "$T/state/simhv.sock" "$1"
}
hv_request "(dom_make 1 (name stranger) (mem_kb 8192) (kernel $(sim_kernel)))" | grep -q '^(ok' ||
    not_ok "simhv creates a stranger"
hv_request "(dom_destroy 2 (domid $s2))" | grep -q '^(ok' || not_ok "simhv destroys s2 ($s2)"

started() { [ "$(grep -c 'NOTICE xend started' "$T/xend.log")" -gt "$1" ]; }
before=$(grep -c 'NOTICE xend started' "$T/xend.log")
# LeakSanitizer cannot run under ptrace: the traced xend goes without it (not the others).
ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" strace -f -qq -e trace=write,sendto,sendmsg -e signal=none -s 48 -o "$T/strace" \
    "$XEND_BIN" start -c "$T/xend.conf" &
tracer=$!
wait_until 60 started "$before" || not_ok "xend starts under strace"
xend_stop
wait "$tracer"
# The ready handshake's "OK" ends the start; what follows is the running daemon's.
lists=$(sed -n '1,/"OK\\n"/p' "$T/strace" | grep -c '(dom_list ')
expect_eq "one hypervisor list during the start" 1 "$lists"
grep -q '"OK\\n"' "$T/strace" || not_ok "the trace shows the ready handshake"

xend_start || not_ok "xend starts again"
xget /xend/domain/stranger >/dev/null
expect_eq "a domain made behind xend's back is adopted" 200 "$(http_status)"
xget /xend/domain/s2 >/dev/null
expect_eq "a domain destroyed while xend was down is gone" 404 "$(http_status)"
for n in s1 s3; do
    xget /xend/domain/$n >/dev/null
    expect_eq "$n is reattached" 200 "$(http_status)"
done
finish
