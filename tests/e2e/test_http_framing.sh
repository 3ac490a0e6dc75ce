#!/bin/bash
# Strict HTTP framing on the real daemon: each ambiguous or malformed head gets its status
# and a reason, never a silent close, and xend goes on serving. Transfer-Encoding with
# Content-Length -> 400, a coding other than chunked -> 501, a version other than 1.0/1.1
# -> 505, control bytes (NUL too) in the request line -> 400, a malformed request line or
# header line -> 400.
source "$(dirname "$0")/lib.sh"

xend_start || { not_ok "xend starts"; finish; }
ok "xend starts"

# raw BYTES (printf format): send them on a fresh connection, print the status line.
raw() {
    exec 3<>"/dev/tcp/127.0.0.1/$XEND_PORT"
    printf "$1" >&3
    timeout 5 cat <&3 > "$T/raw" 2>/dev/null
    exec 3<&-
    head -n 1 "$T/raw" | tr -d '\r'
}

# case DESC STATUS REASON-REGEX BYTES
case_() {
    local line
    line=$(raw "$4")
    expect_match "$1: $2" "^HTTP/1\.[01] $2 " "$line"
    expect_match "$1: the reason says why" "$3" "$line"
    expect_match "$1: the body is an SXP error" '\(xend.err ' "$(cat "$T/raw")"
}

POSTH='POST /xend/domain HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n'
case_ "Transfer-Encoding with Content-Length" 400 'Transfer-Encoding together with Content-Length' \
    "${POSTH}Content-Length: 7\r\nTransfer-Encoding: chunked\r\n\r\n7\r\nop=list\r\n0\r\n\r\n"
case_ "an unknown transfer coding" 501 'Transfer coding not implemented: xchunked' \
    "${POSTH}Transfer-Encoding: xchunked\r\n\r\n7\r\nop=list\r\n0\r\n\r\n"
case_ "HTTP/9.9" 505 'HTTP version not supported: HTTP/9.9' 'GET /xend HTTP/9.9\r\n\r\n'
case_ "HTTP/2.0" 505 'HTTP version not supported' 'GET /xend HTTP/2.0\r\n\r\n'
case_ "a NUL in the request line" 400 'Control character in the request line' \
    'GET /xend/domain\0/x HTTP/1.1\r\nHost: x\r\n\r\n'
case_ "a control byte in the request line" 400 'Control character in the request line' \
    'GET /xend\001 HTTP/1.1\r\n\r\n'
case_ "a request line without a version" 400 'Malformed request line' 'GET /xend\r\n\r\n'
case_ "a request line of garbage" 400 'Malformed request line' 'hello there\r\n\r\n'
case_ "a header line without a colon" 400 'Malformed header line' \
    'GET /xend HTTP/1.1\r\nHost x\r\n\r\n'
case_ "a space before the colon" 400 'Malformed header line' \
    'GET /xend HTTP/1.1\r\nHost : x\r\n\r\n'
case_ "a malformed Content-Length" 400 'Malformed Content-Length' \
    "${POSTH}Content-Length: 7x\r\n\r\nop=list"

# What stays accepted: chunked alone, a plain length (both reach the router, which knows
# no POST op "list" on /xend/domain: its 501 shows the body was read), HTTP/1.0, bare LF.
line=$(raw "${POSTH}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n7\r\nop=list\r\n0\r\n\r\n")
expect_match "chunked alone is read and routed" '^HTTP/1\.1 501 Operation not implemented: list' "$line"
line=$(raw "${POSTH}Content-Length: 7\r\nConnection: close\r\n\r\nop=list")
expect_match "Content-Length alone is read and routed" '^HTTP/1\.1 501 Operation not implemented: list' "$line"
line=$(raw 'GET /xend HTTP/1.0\n\n')
expect_match "HTTP/1.0 with bare LF is accepted" '^HTTP/1\.0 200 ' "$line"
grep -q 'http request refused status=505' "$T/xend.log" && ok "refusals are logged" ||
    not_ok "refusals are logged"
expect_match "xend still answers" '^\(ls ' "$(xget /xend)"

finish
