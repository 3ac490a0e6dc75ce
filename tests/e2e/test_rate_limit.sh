#!/bin/bash
# The per-client rate limit (http-rate-limit, http-rate-burst; docs/http.md "Rate limit"):
# off by default; on, a client that spends its burst gets 429 with Retry-After and an
# (xend.err "...") body, one log line says so, and it is served again once a token is back.
source "$(dirname "$0")/lib.sh"

# Six requests on one connection, as fast as curl sends them: their statuses.
burst6() {
    local u="http://127.0.0.1:$XEND_PORT/xend/domain"
    local a=() i
    for i in 1 2 3 4 5 6; do a+=(-o /dev/null "$u"); done
    curl -s -w '%{http_code} ' "${a[@]}"
}

xend_start "" || { not_ok "xend starts"; finish; }
expect_eq "off by default: six quick requests are all answered" "200 200 200 200 200 200 " "$(burst6)"
xend_stop

xend_start "http-rate-limit = 1; http-rate-burst = 3;" || { not_ok "xend starts with a limit"; finish; }
ok "xend starts with a limit"
st=$(burst6)
expect_match "the burst of 3 is served, then 429" '^200 200 200 (200 )?429 429 (429 )?$' "$st"

out=$(curl -s -D "$T/.h" "http://127.0.0.1:$XEND_PORT/xend/domain")
expect_match "the status line says why" '^HTTP/1.1 429 Too many requests: more than 1 a second from uid 0' "$(head -1 "$T/.h")"
expect_match "with Retry-After" '^Retry-After: [0-9]+' "$(grep -i '^Retry-After' "$T/.h" | tr -d '\r')"
expect_match "and an xend.err body" "^\\(xend.err 'Too many requests: more than 1 a second from uid 0 \\(http-rate-limit\\)'\\)" "$out"
expect_match "one log line names the client" 'http rate limited client="uid 0" limit=1/s' "$(cat "$T/xend.log")"
n=$(grep -c 'http rate limited' "$T/xend.log")
expect_eq "once for a run of refusals" 1 "$n"

served() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$XEND_PORT/xend/domain")" = 200 ]; }
wait_until 5 served && ok "served again once a token is back" || not_ok "served again once a token is back"

finish
