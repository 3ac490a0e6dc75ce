#!/bin/bash
# GET /xend/metrics: the Prometheus text format (version 0.0.4) with every family
# docs/metrics.md lists, counters that move after an operation, and a read-only route.
source "$(dirname "$0")/lib.sh"

xend_start || { not_ok "xend starts"; finish; }
ok "xend starts"
U=http://127.0.0.1:$XEND_PORT
scrape() { curl -s "$U/xend/metrics"; }
# value NAME{LABELS}: the sample's value in the last scrape ($M)
value() { printf '%s\n' "$M" | awk -v k="$1" '$1 == k { print $2 }'; }

curl -s -D "$T/h" -o "$T/m" "$U/xend/metrics"
expect_match "text/plain; version=0.0.4" 'Content-Type: text/plain; version=0\.0\.4' "$(cat "$T/h")"
M=$(cat "$T/m")
for f in xend_domains xend_operations_total xend_operation_duration_seconds \
    xend_http_requests_total xend_http_connections xend_store_commit_duration_seconds \
    xend_store_batch_records xend_event_followers xend_event_seq xend_console_clients \
    xend_host_memory_bytes process_resident_memory_bytes; do
    expect_match "family $f has HELP and TYPE" "# TYPE $f (counter|gauge|histogram)" "$M"
done
expect_eq "Domain-0 counts as a domain" 1 \
    "$(( $(value 'xend_domains{state="running"}') + $(value 'xend_domains{state="blocked"}') ))"
rss=$(value process_resident_memory_bytes)
[ "${rss:-0}" -gt 1000000 ] && ok "xend's RSS is there ($rss bytes)" || not_ok "xend's RSS" "$rss"
# Every sample line is NAME{labels} NUMBER: what a Prometheus parser takes.
bad=$(printf '%s\n' "$M" | grep -vE '^(# (HELP|TYPE) .*|[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? (-?[0-9.e+-]+|\+Inf|NaN))$' | head -3)
expect_eq "every line is a comment or a sample" "" "$bad"

# An operation moves its counters: a create, then a pincpu that fails.
xpost /xend/domain op=create "config=$(vm_config vm1 32)" >/dev/null
expect_eq "a domain is created" 201 "$(http_status)"
xpost /xend/domain/vm1 op=pincpu cpu=x >/dev/null
M=$(scrape)
expect_eq "create counted ok" 1 "$(value 'xend_operations_total{op="create",result="ok"}')"
expect_eq "an error answered 200 (xend.err ...) counts as an error" 1 \
    "$(value 'xend_operations_total{op="pincpu",result="error"}')"
expect_eq "its latency observed" 1 "$(value 'xend_operation_duration_seconds_count{op="create"}')"
expect_eq "two domains now" 2 "$(printf '%s\n' "$M" | awk '/^xend_domains\{/ { s += $2 } END { print s }')"
batches=$(value xend_store_commit_duration_seconds_count)
[ "${batches:-0}" -ge 1 ] && ok "the store's commits are timed ($batches)" || not_ok "store commits" "$batches"
expect_match "HTTP requests by method and code" 'xend_http_requests_total\{method="POST",code="201"\} 1' "$M"

# Followers: one event stream open shows.
curl -s -N "$U/xend/event?follow=1" > /dev/null &
p=$!
wait_until 10 sh -c "curl -s $U/xend/metrics | grep -qx 'xend_event_followers{kind=\"http\"} 1'" &&
    ok "an event follower is counted" || not_ok "an event follower is counted"
kill $p; wait $p 2>/dev/null

# Console clients: one attached shows, and goes when it leaves.
port=$(xget /xend/domain/vm1 | grep -oE '\(console_port [0-9]+\)' | grep -oE '[0-9]+')
gauge_is() { curl -s "$U/xend/metrics" | grep -qx "$1"; }
if [ -n "$port" ] && exec 5<>"/dev/tcp/127.0.0.1/$port"; then
    wait_until 10 gauge_is 'xend_console_clients 1' && ok "a console client is counted" ||
        not_ok "a console client is counted" "$(curl -s "$U/xend/metrics" | grep console)"
    exec 5<&-
    wait_until 10 gauge_is 'xend_console_clients 0' && ok "and uncounted when it leaves" ||
        not_ok "and uncounted when it leaves"
else
    not_ok "a console client is counted" "no console port for vm1"
fi

# Read-only: no op changes anything.
xpost /xend/metrics op=reset >/dev/null
expect_match "a POST is refused" '^(404|405|501)$' "$(http_status)"
finish
