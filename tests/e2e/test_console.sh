#!/bin/bash
# Consoles end to end (issue 7) against the real daemon on the sim backend: a new domain's
# port shows its boot lines to a late client, input is echoed, a second client is refused
# with the 2.0 line, the API lists, describes and disconnects, the client stays connected
# across a reboot of the domain, listeners come back after kill -9 of xend, a domain's
# death closes its port, and a client that reads nothing while the guest writes a lot does
# not grow xend's memory past the cap.
source "$(dirname "$0")/lib.sh"

xend_start || { not_ok "xend starts"; finish; }
ok "xend starts"

# cclient TARGET SECONDS [SEND] [REGEX]: a raw console client. TARGET is a port or fd:N (a
# connection the shell holds). Sends SEND (\r and \n understood), then reads until what
# arrived matches REGEX (exit 0), or EOF (exit 1; 0 when no REGEX), or SECONDS pass (exit 2).
# Prints what arrived.
cclient() {
    perl -MIO::Socket::INET -MIO::Select -MTime::HiRes=time -e '
        my ($target, $timeout, $send, $re) = @ARGV;
        my $s;
        if ($target =~ /^fd:(\d+)$/) { open($s, "+<&=", $1) or die "fd $1: $!\n"; }
        else { $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $target)
                   or die "connect $target: $!\n"; }
        binmode $s;
        if (defined $send && length $send) {
            $send =~ s/\\r/\r/g; $send =~ s/\\n/\n/g;
            syswrite($s, $send) == length $send or die "write: $!\n";
        }
        my $want = defined $re && length $re;
        my ($got, $end, $sel) = ("", time + $timeout, IO::Select->new($s));
        while (1) {
            if ($want && $got =~ /$re/) { print $got; exit 0; }
            my $left = $end - time;
            if ($left <= 0) { print $got; exit 2; }
            next unless $sel->can_read($left);
            my $n = sysread($s, my $buf, 65536);
            if (!$n) { print $got; exit($want ? 1 : 0); }
            $got .= $buf;
        }
    ' "$@"
}

field() { xget "/xend/domain/$1" | grep -oE "\\($2 [^()]*\\)" | head -n 1 | sed -E "s/^\\($2 (.*)\\)$/\\1/"; }
console_field() { xget "/xend/console/$1" | grep -oE "\\($2 [^()]*\\)" | head -n 1 | sed -E "s/^\\($2 (.*)\\)$/\\1/"; }
rss_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$(cat "$T/xend.pid")/status"; }

# ---- a new domain's port: boot lines, echo ----
xpost /xend/domain op=create "config=$(vm_config con1 32)" >/dev/null
expect_eq "create answers 201" 201 "$(http_status)"
id=$(field con1 id)
port=$(field con1 console_port)
expect_eq "the console port is console-port-base + the domain id" $((CONSOLE_BASE + id)) "$port"
cid=$(console_field "$port" id)
expect_match "the console has an id" '^[0-9]+$' "$cid"
expect_eq "GET /xend/console lists the port" "($port)" "$(xget /xend/console)"
expect_eq "a new console is listening" listening "$(console_field "$port" status)"
expect_match "the domain info carries the console" \
    "\\(console \\(status listening\\) \\(id $cid\\) \\(domain $id\\) \\(local_port [0-9]+\\) \\(remote_port 1\\) \\(console_port $port\\)\\)" \
    "$(xget /xend/domain/con1)"
xpost /xend/domain/con1 op=unpause >/dev/null
# Nobody is connected while the guest boots: a late client must still see the boot lines.
running() { [ "$(field con1 state | cut -c1-2)" != "--" ]; }
wait_until 10 running
out=$(cclient "$port" 10 "" 'login: ')
expect_match "a late client sees the boot lines" 'Linux version .*simhv' "$out"
expect_match "and the login prompt" 'con1 login: $' "$out"
out=$(cclient "$port" 10 'hello console\r\n' 'echo: hello console')
expect_match "a line written to the port is echoed by the guest" 'echo: hello console' "$out"

# ---- one client at a time ----
exec 3<>"/dev/tcp/127.0.0.1/$port"
wait_until 5 sh -c "curl -s http://127.0.0.1:$XEND_PORT/xend/console/$port | grep -q connected"
out=$(cclient "$port" 10 "" "")
expect_eq "a second client gets the 2.0 refusal and is closed" \
    "Cannot connect to console $cid on domain $id" "$out"
out=$(cclient fd:3 10 'still mine\r\n' 'echo: still mine')
expect_match "the first client keeps the console" 'echo: still mine' "$out"
info=$(xget "/xend/console/$port")
expect_match "GET /xend/console/PORT shows the connected client" \
    "^\\(console \\(status connected\\) \\(id $cid\\) \\(domain $id\\) \\(local_port [0-9]+\\) \\(remote_port 1\\) \\(console_port $port\\) \\(connected 127\\.0\\.0\\.1 [0-9]+\\)\\)$" \
    "$info"
out=$(xm consoles 2>&1)
expect_match "xm consoles shows the connection" "^ *$id +$port +$cid +127\\.0\\.0\\.1:[0-9]+$" \
    "$(printf '%s\n' "$out" | tail -n +2)"

# ---- disconnect through the API ----
expect_eq "POST op=disconnect answers 0" 0 "$(xpost "/xend/console/$port" op=disconnect)"
cclient fd:3 10 "" "" >/dev/null
expect_eq "the client is dropped" 0 $?
exec 3>&-
expect_eq "the console listens again" listening "$(console_field "$port" status)"
exec 3<>"/dev/tcp/127.0.0.1/$port"
wait_until 5 sh -c "curl -s http://127.0.0.1:$XEND_PORT/xend/console/$port | grep -q connected"
allow=$(curl -s -D - -o /dev/null "http://127.0.0.1:$XEND_PORT/xend/console/$port?op=disconnect")
expect_match "GET op=disconnect (the manual's form) is 405: a GET never changes state" \
    '^HTTP/1.1 405' "$allow"
expect_match "and names the method that does it" $'Allow: POST\r' "$allow"
expect_eq "the client is still connected" connected "$(console_field "$port" status)"
xpost "/xend/console/$port" op=disconnect >/dev/null
cclient fd:3 10 "" "" >/dev/null
expect_eq "the POST drops it" 0 $?
exec 3>&-
# The event port's (console.disconnect (id N)) drops the client too, and the port shows the
# console events.
exec 5<>"/dev/tcp/127.0.0.1/$EVENT_PORT"
exec 3<>"/dev/tcp/127.0.0.1/$port"
out=$(cclient fd:5 10 "" "xend\\.console\\.connect \\($cid 127\\.0\\.0\\.1 [0-9]+\\)")
expect_match "the event port shows the connect" "xend\\.console\\.connect \\($cid 127\\.0\\.0\\.1 [0-9]+\\)" "$out"
out=$(cclient fd:5 10 "(console.disconnect (id $cid))\\n" "xend\\.console\\.disconnect \\($cid ")
expect_match "(console.disconnect (id N)) on the event port emits the disconnect" \
    "xend\\.console\\.disconnect \\($cid 127\\.0\\.0\\.1 [0-9]+\\)" "$out"
cclient fd:3 10 "" "" >/dev/null
expect_eq "and drops the client" 0 $?
exec 3>&- 5>&-
# The core answers operation errors with 200 and the (xend.err ...) that xm prints.
expect_match "an unknown console is an error naming it" 'xend\.err .invalid console:1.' \
    "$(xget /xend/console/1)"
expect_match "a disconnect of an unknown console too" 'xend\.err .invalid console:1.' \
    "$(xpost /xend/console/1 op=disconnect)"

# ---- the client stays connected across a reboot of the domain ----
exec 3<>"/dev/tcp/127.0.0.1/$port"
wait_until 5 sh -c "curl -s http://127.0.0.1:$XEND_PORT/xend/console/$port | grep -q connected"
xpost /xend/domain/con1 op=shutdown reason=reboot >/dev/null
restarted() { xget /xend/domain/con1 | grep -q restart_time && [ "$(field con1 state | cut -c1-2)" != "--" ]; }
wait_until 20 restarted && ok "xm shutdown -R restarts the domain" \
    || not_ok "xm shutdown -R restarts the domain" "$(xget /xend/domain/con1)"
out=$(cclient fd:3 15 "" 'booted')
expect_match "the connected client sees the old instance go down" 'going down for reboot' "$out"
expect_match "and the new one boot" 'Linux version' "$(printf '%s\n' "$out" | sed -n '/going down/,$p')"
out=$(cclient fd:3 10 'after reboot\r\n' 'echo: after reboot')
expect_match "and talks to it" 'echo: after reboot' "$out"
expect_eq "the port is the same after the restart" "$port" "$(field con1 console_port)"
exec 3>&-

# ---- a client that reads nothing while the guest writes a lot ----
# The guest echoes every line: a client that writes long lines and never reads makes the
# guest write as much back. xend may queue console-buffer-max (256 KiB by default) of it on
# top of the kernel's socket buffers; the rest must be dropped, with one log line.
rss_before=$(rss_kb VmRSS)
# Write until xend logs the drop (at most 90 s): how long that takes depends on how fast
# the simulated guest echoes and on the kernel's socket buffers in front of xend's queue.
# The client keeps the default receive buffer: with a tiny one (4 KiB was tried) its kernel
# prunes what it queued and drops xend's segments, the window updates they carry included,
# and both directions then wait on TCP's persist timer for seconds: a TCP stall, not xend.
flood=$(perl -MIO::Socket::INET -MTime::HiRes=time -e '
    my ($port, $secs, $log) = @ARGV;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $port) or die "$!\n";
    $s->blocking(0);
    my $line = ("x" x 4000) . "\r\n";
    my ($sent, $start, $next) = (0, time, time);
    while (time < $start + $secs) {
        my $n = syswrite($s, $line);
        if (defined $n) { $sent += $n; } else { select(undef, undef, undef, 0.002); }
        next if time < $next;
        $next = time + 0.2;
        open(my $f, "<", $log) or next;
        last if grep { /console output dropped.*reason=slow-client/ } <$f>;
    }
    printf "%d %.1f", $sent, time - $start;
' "$port" 90 "$T/xend.log")
rss_after=$(rss_kb VmHWM)
echo "# flood: ${flood% *} bytes of input in ${flood#* } s; xend VmRSS before ${rss_before} kB, peak after ${rss_after} kB"
drops=$(grep -c 'console output dropped.*reason=slow-client' "$T/xend.log")
[ "$drops" -ge 1 ] && ok "the guest output the client did not read is dropped, and logged" \
    || not_ok "the guest output the client did not read is dropped, and logged" "flood: $flood"
expect_eq "one drop line for the episode" 1 "$drops"
[ $((rss_after - rss_before)) -lt 8192 ] && ok "xend's memory stays within the cap (+$((rss_after - rss_before)) kB)" \
    || not_ok "xend's memory stays within the cap" "grew $((rss_after - rss_before)) kB"

# ---- listeners come back after kill -9 of xend ----
kill -9 "$(cat "$T/xend.pid")"
wait_until 5 port_free "$port"
xend_start || not_ok "xend restarts after kill -9"
expect_eq "after kill -9: the same console port" "$port" "$(field con1 console_port)"
# The flood left half a line in the guest: end it first.
out=$(cclient "$port" 10 '\r\nback again\r\n' 'echo: back again')
expect_match "after kill -9: the port accepts and reaches the guest" 'echo: back again' "$out"

# ---- death closes the port ----
exec 3<>"/dev/tcp/127.0.0.1/$port"
wait_until 5 sh -c "curl -s http://127.0.0.1:$XEND_PORT/xend/console/$port | grep -q connected"
xpost /xend/domain/con1 op=destroy reason=halt >/dev/null
cclient fd:3 10 "" "" >/dev/null
expect_eq "destroy drops the client" 0 $?
exec 3>&-
wait_until 5 port_free "$port" && ok "destroy closes the listener" || not_ok "destroy closes the listener"
expect_eq "GET /xend/console is empty" "()" "$(xget /xend/console)"

# ---- an idle console holds a listener, and no stream to the hypervisor ----
# simhv keeps a domain's output while nobody reads it, so xend opens the stream only while a
# client is connected: ten new domains cost ten sockets, not twenty.
nfds() { ls "/proc/$(cat "$T/xend.pid")/fd" | wc -l; }
fds_before=$(nfds)
for i in $(seq 1 10); do xpost /xend/domain op=create "config=$(vm_config idle$i 16)" >/dev/null; done
fds_after=$(nfds)
[ $((fds_after - fds_before)) -ge 10 ] && [ $((fds_after - fds_before)) -le 12 ] \
    && ok "ten idle consoles hold ten sockets (+$((fds_after - fds_before)))" \
    || not_ok "ten idle consoles hold ten sockets" "fds $fds_before -> $fds_after"
iport=$(field idle1 console_port)
xpost /xend/domain/idle1 op=unpause >/dev/null
out=$(cclient "$iport" 10 'are you there\r\n' 'echo: are you there')
expect_match "a client of an idle console sees its boot lines" 'Linux version .*simhv' "$out"
expect_match "and reaches its guest" 'echo: are you there' "$out"
for i in $(seq 1 10); do xpost /xend/domain/idle$i op=destroy reason=halt >/dev/null; done

# ---- a taken port fails the create, with the port named ----
perl -MIO::Socket::INET -e '
    my $l = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => $ARGV[0], Listen => 1,
                                  ReuseAddr => 1) or die "$!\n";
    print "ready\n"; $| = 1; sleep 30;
' $((CONSOLE_BASE + 40)) > "$T/holder.out" &
holder=$!
wait_until 5 grep -q ready "$T/holder.out"
out=$(xpost /xend/domain op=create "config=$(vm_config taken 32 "(console $((CONSOLE_BASE + 40)))")")
expect_match "a port in use fails the create" "console port in use: $((CONSOLE_BASE + 40))" "$out"
xget /xend/domain/taken >/dev/null
expect_eq "and the domain is rolled back" 404 "$(http_status)"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null

finish
