#!/bin/bash
# Save, restore and migration on the sim backend: the memory image's checksum proves the
# right bytes moved; failures leave the source domain running.
source "$(dirname "$0")/lib.sh"

xend_start || { not_ok "xend starts"; finish; }
sum() { xget "/xend/domain/$1?op=mem_checksum" | grep -oE '[0-9]+\)$' | tr -d ')'; }

xpost /xend/domain op=create "config=$(ARGS='sim.dirty_rate=200' vm_config sv1 32)" >/dev/null
xpost /xend/domain/sv1 op=unpause >/dev/null
body=$(xpost /xend/domain/sv1 op=save file=relative.img)
expect_match "a relative save path is refused" 'absolute' "$body"
expect_match "after a refused save the domain still runs" '\(state [rb-]{2}-' "$(xget /xend/domain/sv1)"
body=$(xpost /xend/domain/sv1 op=save "file=$T/no-such-dir/sv1.img")
expect_match "a save file that cannot be created is an error" 'cannot create' "$body"
expect_match "after a failed save the domain runs on" '\(state [rb-]{2}-' "$(xget /xend/domain/sv1)"

body=$(xpost /xend/domain/sv1 op=save "file=$T/sv1.img")
expect_eq "save replies 0" 0 "$body"
xget /xend/domain/sv1 >/dev/null
expect_eq "a saved domain is gone" 404 "$(http_status)"
check "the save file exists" test -s "$T/sv1.img"

body=$(xpost /xend/domain op=restore "file=$T/sv1.img")
expect_eq "restore replies 201" 201 "$(http_status)"
expect_match "the restored domain is paused" '\(state --p--\)' "$(xget /xend/domain/sv1)"
s1=$(sum sv1)
check "the restored domain has a checksum" test -n "$s1"
body=$(xpost /xend/domain op=restore "file=$T/sv1.img")
expect_match "restoring it twice is a name clash" 'vm name clash' "$body"
body=$(xpost /xend/domain op=restore "file=$T/nonexistent.img")
expect_match "restoring a missing file is an error" 'xend.err' "$body"
printf 'garbage' > "$T/bad.img"
body=$(xpost /xend/domain op=restore "file=$T/bad.img")
expect_match "restoring garbage is an error" 'xend.err.*(magic|image)' "$body"

# save again while paused: the image is stable, so restore must give the same checksum
xpost /xend/domain/sv1 op=save "file=$T/sv1b.img" >/dev/null
xpost /xend/domain op=restore "file=$T/sv1b.img" >/dev/null
expect_eq "save then restore keeps the memory image" "$s1" "$(sum sv1)"

# local migration, not live then live (paused, so the image cannot change meanwhile)
s2=$(sum sv1)
body=$(xpost /xend/domain/sv1 op=migrate "destination=127.0.0.1:$RELOC_PORT" live=0)
expect_migrated "local migration replies the domain's URL" "$RELOC_PORT" "$body"
expect_match "the migrated domain runs" '\(name sv1\)' "$(xget /xend/domain/sv1)"
expect_eq "migration keeps the memory image" "$s2" "$(sum sv1)"
expect_match "a paused domain stays paused where it lands" '\(state --p--\)' "$(xget /xend/domain/sv1)"
xpost /xend/domain/sv1 op=unpause >/dev/null
body=$(xpost /xend/domain/sv1 op=migrate "destination=127.0.0.1:$RELOC_PORT" live=1)
expect_migrated "live local migration replies the domain's URL" "$RELOC_PORT" "$body"
expect_match "the domain survives live migration" '\(state [rb-]{2}-' "$(xget /xend/domain/sv1)"

# migration to a closed port fails and the domain keeps running
closed=$(free_port)
body=$(xpost /xend/domain/sv1 op=migrate "destination=127.0.0.1:$closed" live=0)
expect_match "migrating to nothing is an error" 'xend.err.*connect' "$body"
expect_match "after a failed migration the domain runs" '\(state [rb-]{2}-' "$(xget /xend/domain/sv1)"

# a second xend on its own simulated host
A_PORT=$XEND_PORT
mkdir -p "$T/b"
# Host b goes with the test, however it ends.
stop_b() {
    "$XEND_BIN" stop -c "$T/b/xend.conf" >/dev/null 2>&1
    "$SIMHV" --stop --socket "$T/b/state/simhv.sock" >/dev/null 2>&1
}
trap 'stop_b; cleanup' EXIT
(
    T=$T/b XEND_PORT= EVENT_PORT= RELOC_PORT= CONSOLE_BASE=
    trap - EXIT
    xend_start >/dev/null && echo "$XEND_PORT $RELOC_PORT" > "$T/ports"
)
read -r B_PORT B_RELOC < "$T/b/ports" || true
check "a second xend starts" test -n "${B_PORT:-}"
xpost /xend/domain/sv1 op=pause >/dev/null
s3=$(sum sv1)
location=$(curl -s -g -X POST -o "$T/.body" -D - --data-urlencode op=migrate \
    --data-urlencode "destination=127.0.0.1:$B_RELOC" --data-urlencode live=0 \
    "http://127.0.0.1:$XEND_PORT/xend/domain/sv1" | tr -d '\r' | sed -n 's/^Location: //Ip')
body=$(cat "$T/.body")
xget /xend/domain/sv1 >/dev/null
expect_eq "the source no longer has it" 404 "$(http_status)"
XEND_PORT=$B_PORT
info=$(xget /xend/domain/sv1)
expect_match "the destination has it" '\(name sv1\)' "$info"
b_id=$(printf '%s' "$info" | sed -n 's/.*(id \([0-9]*\)).*/\1/p')
expect_eq "as 2.0, the reply is the domain's URL at the destination, its id there" \
    "http://127.0.0.1:$B_RELOC/xend/domain/$b_id" "$body"
expect_eq "and so is the Location header" "$body" "$location"
expect_eq "the image arrived intact" "$s3" "$(sum sv1)"
"$XEND_BIN" stop -c "$T/b/xend.conf" >/dev/null 2>&1
"$SIMHV" --stop --socket "$T/b/state/simhv.sock" >/dev/null 2>&1
XEND_PORT=$A_PORT

finish
