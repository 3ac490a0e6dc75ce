#!/bin/bash
# Who may use xend (docs/security.md): the refusals (a page of another origin, a Host that
# is not xend's, a browser form without its token, a local user who is neither root nor in
# the admin group, over TCP, the unix socket, a console port and the event port) and the
# successes (the xm client as
# root, curl as the 2.0 client sends, the browser's own form with its token, a member of
# the admin group), each with its audit line.
#
# The parts about other users need root (runuser, groupadd); without it they are skipped
# with a message, the rest still runs.
source "$(dirname "$0")/lib.sh"

AS_ROOT=0
[ "$(id -u)" = 0 ] && command -v runuser >/dev/null && command -v groupadd >/dev/null && AS_ROOT=1
GRP=xat$$
USR=xatu$$
if [ $AS_ROOT = 1 ]; then
    groupadd "$GRP" || AS_ROOT=0
    useradd -M -N -g nogroup -G "$GRP" -s /usr/sbin/nologin -d /nonexistent "$USR" || AS_ROOT=0
    trap 'cleanup; userdel "$USR" 2>/dev/null; groupdel "$GRP" 2>/dev/null' EXIT
    # Other users must reach the unix socket's directory: the socket's own mode decides.
    chmod 755 "$T"
    ADMIN_CONF="admin-group = \"$GRP\";"
else
    echo "# SKIP: not root: the tests with other users and groups do not run"
    ADMIN_CONF=""
fi
SOCK=$T/xend.sock
xend_start "xend-unix-path = \"$SOCK\";
$ADMIN_CONF" || { not_ok "xend starts"; finish; }
ok "xend starts"
URL=http://127.0.0.1:$XEND_PORT

# req ARGS...: curl, the status in $ST, the body in $BODY
req() {
    ST=$(curl -s -g -o "$T/.b" -w '%{http_code}' "$@") || ST=000
    BODY=$(cat "$T/.b" 2>/dev/null)
}
exists() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/xend/domain/$1")" = 200 ]; }
audit() { grep -E "audit .*$1" "$T/xend.log"; }

# ---- the xm client, and curl as the 2.0 client sends, as root ----
vm_config vm-xm 32 > "$T/vm-xm.sxp"
out=$(xm create -F "$T/vm-xm.sxp" 2>&1)
expect_match "xm create as root works" 'Started domain vm-xm' "$out"
expect_match "xm list as root works" 'vm-xm' "$(xm list 2>&1)"
check "xm destroy as root works" xm destroy vm-xm
expect_match "xm over the unix socket as root works" 'Domain-0' "$(XEND=unix:$SOCK xm list 2>&1)"
body=$(xpost /xend/domain op=create "config=$(vm_config vm-curl 32)")
expect_eq "curl's urlencoded create (the 2.0 form) is 201" 201 "$(http_status)"
check "the audit line names root, sock_diag and the result" \
    audit 'uid=0 user=root via=sock_diag peer=127\.0\.0\.1:[0-9]+ method=POST path=/xend/domain op=create status=201'
req -F op=create -F "config=@$T/vm-xm.sxp" "$URL/xend/domain"
expect_eq "a multipart create from curl (xm create's form) is 201" 201 "$ST"

# ---- browsers: another origin, another Host ----
req -H 'Origin: http://evil.example' --data-urlencode op=create \
    --data-urlencode "config=$(vm_config evil1 32)" "$URL/xend/domain"
expect_eq "a POST with a foreign Origin is 403" 403 "$ST"
expect_match "and says why" 'xend.err .*another origin' "$BODY"
exists evil1 && not_ok "the foreign create made no domain" || ok "the foreign create made no domain"
check "the refused create has its audit line" audit 'op=create status=403'
req -H 'Referer: http://evil.example/page.html' --data-urlencode op=destroy \
    --data-urlencode reason=halt "$URL/xend/domain/vm-curl"
expect_eq "a destroy with a foreign Referer is 403" 403 "$ST"
check "and the domain is still there" exists vm-curl
req -H 'Host: evil.example:'"$XEND_PORT" "$URL/xend/domain"
expect_eq "a foreign Host (DNS rebinding) is 421" 421 "$ST"
expect_match "and says why" 'Host' "$BODY"
req -H "Host: localhost:$XEND_PORT" "$URL/xend/domain"
expect_eq "Host localhost is served" 200 "$ST"

# ---- the browser's own form, with and without its token ----
page=$(curl -s -H 'Accept: text/html' -A 'Mozilla/5.0' "$URL/xend/domain")
token=$(printf '%s' "$page" | sed -n 's/.*name="xend_csrf" value="\([0-9a-f]*\)".*/\1/p' | head -1)
expect_match "the HTML forms embed the token" '^[0-9a-f]{64}$' "$token"
ORIGIN=(-A 'Mozilla/5.0' -H 'Accept: text/html' -H "Origin: $URL" -H "Referer: $URL/xend/domain/")
vm_config form1 32 > "$T/form1.sxp"
req "${ORIGIN[@]}" -F op=create -F "xend_csrf=$token" -F "config=@$T/form1.sxp" "$URL/xend/domain"
# A browser's form post gets post/redirect/get: 303 to the new domain's page (docs/ui.md).
expect_eq "the same-origin multipart form with its token creates (303 to its page)" 303 "$ST"
check "the domain is there" exists form1
req "${ORIGIN[@]}" --data-urlencode op=create --data-urlencode "config=$(vm_config form2 32)" \
    "$URL/xend/domain"
expect_eq "the same form without the token is 403" 403 "$ST"
expect_match "and says the token is missing" 'missing' "$BODY"
req "${ORIGIN[@]}" --data-urlencode op=create --data-urlencode "config=$(vm_config form3 32)" \
    --data-urlencode "xend_csrf=$(printf '%064d' 0)" "$URL/xend/domain"
expect_eq "with a wrong token it is 403" 403 "$ST"
exists form2 || exists form3 && not_ok "neither made a domain" || ok "neither made a domain"
req "${ORIGIN[@]}" --data-urlencode op=destroy --data-urlencode reason=halt \
    --data-urlencode "xend_csrf=$token" "$URL/xend/domain/form1"
expect_eq "a same-origin destroy with the token works (303)" 303 "$ST"
req -H 'Cookie: a=b' --data-urlencode op=destroy --data-urlencode reason=halt "$URL/xend/domain/vm-curl"
expect_eq "a POST with a Cookie but no token is 403" 403 "$ST"
req -H "Referer: $URL/" "$URL/xend/domain/vm-curl?op=mem_target_set&target=16"
expect_eq "a browser's GET of a state-changing op is 403" 403 "$ST"
if grep -q "$token" "$T/xend.log"; then not_ok "the token is never logged"; else ok "the token is never logged"; fi

# ---- other local users ----
if [ $AS_ROOT = 1 ]; then
    asn() { runuser -u nobody -- "$@"; }
    # as USER curl ARGS...: the status in $ST, the body in $BODY (the user cannot write $T)
    as() {
        local who=$1 out
        shift
        out=$(runuser -u "$who" -- curl -s -g -w '\n%{http_code}' "$@") || out=$'\n000'
        ST=${out##*$'\n'}
        BODY=${out%$'\n'*}
    }
    as nobody "$URL/xend/domain"
    expect_eq "nobody over TCP gets 403" 403 "$ST"
    expect_match "told who it is and how to get access" \
        "user nobody \\(uid 65534, by sock_diag\\) is neither root nor in group '$GRP'.*docs/security.md" \
        "$BODY"
    as nobody --data-urlencode op=destroy --data-urlencode reason=halt "$URL/xend/domain/vm-curl"
    expect_eq "nobody's destroy is 403" 403 "$ST"
    check "the domain is still there" exists vm-curl
    check "nobody's refusal has its audit line" \
        audit 'uid=65534 user=nobody via=sock_diag .*op=destroy status=403'
    expect_eq "the unix socket is root's, the admin group's, 0660" \
        "root $GRP 660" "$(stat -c '%U %G %a' "$SOCK")"
    asn curl -s --unix-socket "$SOCK" http://localhost/xend >/dev/null 2>&1
    rc=$?
    expect_eq "nobody cannot even connect to the unix socket (curl exit 7)" 7 "$rc"
    # Should an operator widen the socket, xend's own check still says no.
    chmod 666 "$SOCK"
    as nobody --unix-socket "$SOCK" http://localhost/xend
    expect_eq "nobody on a widened unix socket gets 403" 403 "$ST"
    expect_match "found by SO_PEERCRED" 'uid 65534, by peercred' "$BODY"
    chmod 660 "$SOCK"

    asu() { runuser -u "$USR" -- "$@"; }
    ST=$(asu curl -s -o /dev/null -w '%{http_code}' "$URL/xend/domain") || ST=000
    expect_eq "a member of the admin group is admitted over TCP" 200 "$ST"
    ST=$(asu curl -s -o /dev/null -w '%{http_code}' --data-urlencode op=create \
        --data-urlencode "config=$(vm_config byadmin 32)" "$URL/xend/domain") || ST=000
    expect_eq "and creates" 201 "$ST"
    check "with an audit line that names the user" \
        audit "user=$USR via=sock_diag .*op=create status=201"
    out=$(asu env XEND="unix:$SOCK" "$XM" list 2>&1)
    expect_match "and uses xm over the unix socket" 'byadmin' "$out"

    # ---- console ports: the same check ----
    cport=$(xget /xend/domain/vm-curl | grep -oE '\(console_port [0-9]+\)' | grep -oE '[0-9]+')
    xpost /xend/domain/vm-curl op=unpause >/dev/null
    # console CLIENT: connect to the console port as CLIENT, send a line, print what came
    # back until EOF or 3 s (perl: nobody can run it; no nc here)
    console() {
        runuser -u "$1" -- perl -MIO::Socket::INET -MIO::Select -e '
            my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $ARGV[0]) or die "$!\n";
            syswrite($s, "hello console\r\n");
            my ($got, $sel, $end) = ("", IO::Select->new($s), time + 3);
            while (time < $end && $sel->can_read(0.2)) {
                my $n = sysread($s, my $buf, 65536);
                last unless $n;
                $got .= $buf;
                last if $got =~ /echo: hello console/;
            }
            print $got;' "$cport"
    }
    out=$(console nobody)
    expect_match "nobody on a console port is told why" \
        "^Access denied: user nobody \\(uid 65534, by sock_diag\\) is neither root nor in group '$GRP'" "$out"
    expect_no_match "and sees nothing of the guest" 'echo:|Linux' "$out"
    check "the log says the console refused it" grep -q 'console client refused.*reason=access' "$T/xend.log"
    out=$(console "$USR")
    expect_match "a member of the admin group reaches the guest" 'echo: hello console' "$out"

    # ---- the event port: it can read every event and inject any ----
    evport() {
        runuser -u "$1" -- perl -MIO::Socket::INET -MIO::Select -e '
            my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $ARGV[0]) or die "$!\n";
            syswrite($s, "(help)\n");
            my ($got, $sel, $end) = ("", IO::Select->new($s), time + 3);
            while (time < $end && $sel->can_read(0.2)) {
                my $n = sysread($s, my $buf, 65536);
                last unless $n;
                $got .= $buf;
                last if $got =~ /\(ok /;
            }
            print $got;' "$EVENT_PORT"
    }
    out=$(evport nobody)
    expect_match "nobody on the event port is told why" "^\\(xend.err .Access denied: user nobody" "$out"
    expect_no_match "and gets no reply" '\(ok ' "$out"
    expect_match "a member of the admin group gets the event port" '\(ok \(console.disconnect' "$(evport "$USR")"
fi

finish
