#!/bin/bash
# A console client's deadlines (console-idle-timeout, console-send-timeout; docs/console.md
# "Deadlines"): a client that neither reads nor writes is disconnected once idle, which
# frees the console's one slot for the next client; a client that leaves the guest's output
# unread is disconnected once its queue has made no progress for the send timeout, which
# frees the queue; both are logged with the reason.
source "$(dirname "$0")/lib.sh"

xend_start "console-idle-timeout = 2; console-send-timeout = 1;" || { not_ok "xend starts"; finish; }
ok "xend starts"

field() { xget "/xend/domain/$1" | grep -oE "\\($2 [^()]*\\)" | head -n 1 | sed -E "s/^\\($2 (.*)\\)$/\\1/"; }
console_status() { xget "/xend/console/$1" | grep -oE '\(status [a-z]+\)'; }
logged() { grep -qE "$1" "$T/xend.log"; }

xpost /xend/domain op=create "config=$(vm_config c1 32)" >/dev/null
xpost /xend/domain/c1 op=unpause >/dev/null
port=$(field c1 console_port)

# ---- idle: connected, silent both ways ----
exec 3<>"/dev/tcp/127.0.0.1/$port"
wait_until 5 sh -c "curl -s http://127.0.0.1:$XEND_PORT/xend/console/$port | grep -q connected" \
    && ok "a client connects" || not_ok "a client connects"
exec 4<>"/dev/tcp/127.0.0.1/$port"
refused=$(timeout 5 head -c 200 <&4)
expect_match "meanwhile the slot is taken" 'Cannot connect to console' "$refused"
exec 4>&-
wait_until 10 logged 'console disconnected .*reason="idle for 2000 ms"' \
    && ok "the silent client is disconnected once idle, and logged" \
    || not_ok "the silent client is disconnected once idle, and logged"
expect_eq "the console listens again" "(status listening)" "$(console_status "$port")"
exec 3>&-
exec 3<>"/dev/tcp/127.0.0.1/$port"
wait_until 5 sh -c "curl -s http://127.0.0.1:$XEND_PORT/xend/console/$port | grep -q connected" \
    && ok "the next client gets the slot" || not_ok "the next client gets the slot"
exec 3>&-
wait_until 5 sh -c "curl -s http://127.0.0.1:$XEND_PORT/xend/console/$port | grep -q listening"

# ---- a client that writes but never reads: the guest echoes, the queue fills ----
flood=$(perl -MIO::Socket::INET -MTime::HiRes=time -e '
    $SIG{PIPE} = "IGNORE";
    my ($port, $secs, $log) = @ARGV;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $port) or die "$!\n";
    $s->blocking(0);
    my $line = ("x" x 4000) . "\r\n";
    my ($start, $next, $closed) = (time, time, 0);
    while (time < $start + $secs) {
        my $n = syswrite($s, $line);
        if (!defined $n) {
            if ($!{EAGAIN}) { select(undef, undef, undef, 0.002); } else { $closed = 1; }
        }
        next if time < $next;
        $next = time + 0.2;
        open(my $f, "<", $log) or next;
        if (grep { /console disconnected .*did not read/ } <$f>) { print "dropped"; exit 0; }
    }
    print "not dropped";
' "$port" 60 "$T/xend.log")
expect_eq "a client that leaves output unread is disconnected" "dropped" "$flood"
expect_match "with the reason logged" 'console disconnected .*reason="client did not read for 1000 ms"' \
    "$(cat "$T/xend.log")"
expect_eq "the console listens again" "(status listening)" "$(console_status "$port")"

finish
