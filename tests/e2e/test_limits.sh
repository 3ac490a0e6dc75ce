#!/bin/bash
# Request limits on the real daemon: a 10 MB body (with a length, chunked, or as a
# multipart upload), a config nested 10,000 to 400,000 levels deep, a URI over 4 KB and
# oversized headers each get an error reply, and after every one of them the same xend
# process still answers.
source "$(dirname "$0")/lib.sh"

xend_start || { not_ok "xend starts"; finish; }
ok "xend starts"
PID=$(cat "$T/xend.pid")
URL=http://127.0.0.1:$XEND_PORT

still_up() { # the same process answers GET /xend with the ls form
    expect_match "$1: xend still answers" '^\(ls ' "$(xget /xend)"
    kill -0 "$PID" 2>/dev/null && ok "$1: same xend process" || not_ok "$1: same xend process"
}

# curl_status ARGS...: the HTTP status of a request (000 if the connection failed), body in
# $T/.body.
curl_status() { curl -s -g -o "$T/.body" -w '%{http_code}' --max-time 20 "$@" || true; }

# 10 MB body with Content-Length: refused before it is read.
head -c $((10 * 1024 * 1024)) /dev/zero | tr '\0' a > "$T/big"
st=$(curl_status -X POST -H 'Content-Type: application/x-www-form-urlencoded' \
    --data-binary @"$T/big" "$URL/xend/domain?op=create")
expect_eq "a 10 MB body gets 413" 413 "$st"
expect_match "the 413 says why" 'xend.err' "$(cat "$T/.body")"
still_up "10 MB body"

# The same 10 MB without a length (chunked): refused once it passes the limit.
st=$(curl_status -X POST -H 'Transfer-Encoding: chunked' \
    -H 'Content-Type: application/x-www-form-urlencoded' --data-binary @"$T/big" \
    "$URL/xend/domain?op=create")
case $st in 413 | 400) ok "a chunked 10 MB body gets an error ($st)" ;;
*) not_ok "a chunked 10 MB body gets an error" "status $st" ;; esac
still_up "chunked 10 MB body"

# As a multipart upload, as xm create does with a config file.
st=$(curl_status -F op=create -F "config=@$T/big" "$URL/xend/domain")
expect_eq "a 10 MB multipart upload gets 413" 413 "$st"
still_up "10 MB upload"

# Deeply nested SXP configs: an error reply, no crash (a recursive parser would overflow
# its stack on the deeper one, which still fits the 1 MiB body limit).
repeat() { head -c "$2" /dev/zero | tr '\0' "$1"; } # repeat CHAR COUNT
nested() { repeat '(' "$1"; repeat ')' "$1"; }          # (((...))) DEPTH levels
nested 10000 > "$T/deep"
body=$(xpost /xend/domain op=create "config@$T/deep")
st=$(http_status)
expect_match "a config nested 10,000 levels is an error" 'xend.err' "$body"
expect_match "the error is about the nesting" '(deep|depth|nest)' "$body"
case $st in 200 | 4??) ok "10,000 levels: an error status or the 200 xend.err form ($st)" ;;
*) not_ok "10,000 levels: an error reply" "status $st" ;; esac
still_up "10,000 levels"

# 150,000 levels urlencoded (900 KB) and 400,000 as an upload (800 KB): both under the
# body limit, so it is the parser that has to refuse them.
nested 150000 > "$T/deeper"
body=$(xpost /xend/domain op=create "config@$T/deeper")
expect_match "a config nested 150,000 levels is an error from the parser" \
    'xend.err.*(deep|depth|nest)' "$body"
still_up "150,000 levels"
nested 400000 > "$T/deepest"
st=$(curl_status -F op=create -F "config=@$T/deepest" "$URL/xend/domain")
expect_match "a config nested 400,000 levels is an error from the parser" \
    'xend.err.*(deep|depth|nest)' "$(cat "$T/.body")"
still_up "400,000 levels"

# The 10,000 levels as a multipart file, and in an unclosed form.
st=$(curl_status -F op=create -F "config=@$T/deep" "$URL/xend/domain")
expect_match "a nested config uploaded as a file is an error" 'xend.err.*(deep|depth|nest)' "$(cat "$T/.body")"
still_up "nested upload"
repeat '(' 10000 > "$T/open"
body=$(xpost /xend/domain op=create "config@$T/open")
expect_match "an unclosed 10,000-level config is an error" 'xend.err' "$body"
still_up "unclosed nesting"

# A URI over 4 KB: 414.
long=$(head -c 5000 /dev/zero | tr '\0' 'x')
st=$(curl_status "$URL/xend/domain/$long")
expect_eq "a 5,000-byte path gets 414" 414 "$st"
still_up "long path"
st=$(curl_status "$URL/xend/domain?detail=$long")
expect_eq "a 5,000-byte query gets 414" 414 "$st"
still_up "long query"
st=$(curl_status "$URL/xend/$(head -c 64000 /dev/zero | tr '\0' 'y')")
case $st in 414 | 400 | 431) ok "a 64 KB URI gets an error ($st)" ;;
*) not_ok "a 64 KB URI gets an error" "status $st" ;; esac
still_up "64 KB URI"

# Oversized headers: 431.
hdr=$(head -c 20000 /dev/zero | tr '\0' 'h')
st=$(curl_status -H "X-Big: $hdr" "$URL/xend")
expect_eq "20 KB of headers get 431" 431 "$st"
still_up "big header"
args=()
for i in $(seq 1 400); do args+=(-H "X-H$i: $(head -c 60 /dev/zero | tr '\0' 'v')"); done
st=$(curl_status "${args[@]}" "$URL/xend")
expect_eq "400 headers of 60 bytes get 431" 431 "$st"
still_up "many headers"

# The head arriving a few bytes at a time: xend hands it to libevhtp only once whole
# (libevhtp 1.2.18 garbled a request line that came in pieces), line ends split across
# reads still end it, and the header limit still counts every byte. (The pauses only split the
# request into separate reads; the replies are awaited, not slept for.)
dribble() { # PAUSE_S CHUNK_BYTES REQUEST: send it in pieces, print the status line
    perl -MIO::Socket::INET -e '
        my ($port, $pause, $chunk, $req) = @ARGV;
        $req =~ s/\\r/\r/g; $req =~ s/\\n/\n/g;
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $port) or die "$!\n";
        $s->autoflush(1); setsockopt($s, 6, 1, 1); # TCP_NODELAY
        for (my $i = 0; $i < length $req; $i += $chunk) {
            print $s substr($req, $i, $chunk);
            select(undef, undef, undef, $pause);
        }
        $s->shutdown(1);
        my $line = <$s>; $line = "" unless defined $line; $line =~ s/\r?\n$//; print $line, "\n";
    ' "$XEND_PORT" "$@"
}
out=$(dribble 0.002 1 'GET /xend/domain/Domain-0 HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\n')
expect_match "a head sent one byte at a time is answered" '^HTTP/1\.1 200 ' "$out"
out=$(dribble 0.002 3 'POST /xend/domain/Domain-0 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 9\r\n\r\nop=nosuch')
expect_match "a POST whose head and body come in pieces reads its op" \
    '^HTTP/1\.1 501 Operation not implemented: nosuch' "$out"
# Lines ended by LF alone, as `printf 'GET /xend HTTP/1.0\n\n' | nc` sends: libevhtp never
# answered them; xend gives libevhtp the head with CRLFs.
out=$(dribble 0.001 1000 'GET /xend/domain/Domain-0 HTTP/1.0\n\n')
expect_match "a head with bare LF line ends is answered" '^HTTP/1\.0 200 ' "$out"
out=$(dribble 0.002 2 'GET /xend/domain/Domain-0 HTTP/1.1\nHost: 127.0.0.1\r\nAccept: */*\n\n')
expect_match "and one mixing LF and CRLF, in 2-byte pieces" '^HTTP/1\.1 200 ' "$out"
out=$(dribble 0.001 997 "GET /xend HTTP/1.1\r\nHost: x\r\nX-Big: $(head -c 9000 /dev/zero | tr '\0' h)\r\n\r\n")
expect_match "headers over the limit in pieces get 431" '^HTTP/1\.1 431 ' "$out"
still_up "split heads"

# A normal request on the same daemon after all of that.
xpost /xend/domain op=create "config=$(vm_config after 32)" >/dev/null
expect_eq "a normal create still works" 201 "$(http_status)"

# Once quiet, xend hands the memory those requests left free back (core/trim.c): once, not
# at every check while nothing happens.
trims() { grep -c 'heap trimmed' "$T/xend.log"; }
check "after the burst, a quiet xend trims its heap" wait_until 5 grep -q 'heap trimmed' "$T/xend.log"
n=$(trims)
more_trims() { [ "$(trims)" -gt "$n" ]; }
xget /xend >/dev/null
check "a request makes it trim again once quiet" wait_until 5 more_trims
n=$(trims)
# A negative needs a window: three checks (0.5 s apart) with no request in between.
sleep 1.6
expect_eq "and a quiet xend does not trim again" "$n" "$(trims)"

finish
