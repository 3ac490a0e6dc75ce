#!/bin/bash
# Memory is range-checked before it is turned into KiB: a config with memory 2^54+64 MB is
# refused with (xend.err ...) instead of wrapping into a 64 MB domain, and so is maxmem_set.
source "$(dirname "$0")/lib.sh"

xend_start || { not_ok "xend starts"; finish; }
ok "xend starts"
body=$(xpost /xend/domain op=create "config=$(vm_config wrap1 18014398509482048)")
expect_match "an absurd memory size is refused, not wrapped" 'xend.err' "$body"
body=$(xpost /xend/domain op=create "config=$(vm_config ok1 32)")
xpost /xend/domain/ok1 op=maxmem_set memory=18014398509481985 >/dev/null
st=$(http_status)
info=$(xget /xend/domain/ok1)
expect_no_match "maxmem_set with an absurd size is refused, not wrapped to 1 MB" '\(maxmem 1\)' "$info"
finish
