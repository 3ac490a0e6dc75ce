#!/bin/bash
# One limit for every record: what create accepts, the store's loader and the save image's
# reader read back. A config nested 63 or 64 deep (the HTTP layer parses 64) is refused at
# create with a clear error, because its stored record wraps it 2 levels deeper; one nested
# 62 deep is created and keeps its config across an xend restart (nothing set aside as
# corrupt). A config holding a 1,048,400-byte atom (under the 1 MiB body limit) is created,
# saved and restored with the atom intact.
source "$(dirname "$0")/lib.sh"

# A body limit above the config limit, so that the config's own check is what refuses.
xend_start "http-max-body = 4194304;" || { not_ok "xend starts"; finish; }
ok "xend starts"

repeat() { head -c "$2" /dev/zero | tr '\0' "$1"; } # repeat CHAR COUNT
# deep_config NAME DEPTH: a config whose lists nest DEPTH deep in all ((vm ...) is 1).
deep_config() {
    local k=$(($2 - 1))
    printf '(vm (name %s) (memory 16) (image (linux (kernel %s))) ' "$1" "$(sim_kernel)"
    repeat '(' "$k" | sed 's/(/(n /g'
    repeat ')' "$k"
    printf ')'
}

for d in 63 64; do
    deep_config deep$d $d > "$T/deep$d"
    body=$(xpost /xend/domain op=create "config@$T/deep$d")
    st=$(http_status)
    [ "$st" != 201 ] && ok "a config nested $d deep is refused ($st)" ||
        not_ok "a config nested $d deep is refused" "status $st"
    expect_match "the error says the record wraps it deeper" \
        'xend.err.*nested '$d' deep: at most 62.*wraps it 2 levels deeper' "$body"
    xget /xend/domain/deep$d >/dev/null
    expect_eq "no domain deep$d" 404 "$(http_status)"
done

# device_create: a device whose config would make the domain's config 63 deep
# ((vm (device (vif ...)))) is refused, and the domain keeps its config.
xpost /xend/domain op=create "config=$(vm_config dev1 16)" >/dev/null
expect_eq "dev1 created" 201 "$(http_status)"
{ printf '(vif (bridge br0) '; repeat '(' 60 | sed 's/(/(n /g'; repeat ')' 60; printf ')'; } > "$T/deepvif"
body=$(xpost /xend/domain/dev1 op=device_create "config@$T/deepvif")
expect_match "a device nesting the config 63 deep is refused" 'xend.err.*nested 63 deep: at most 62' "$body"
expect_no_match "dev1 has no vif" '\(device \(vif' "$(xget /xend/domain/dev1)"

deep_config deep62 62 > "$T/deep62"
xpost /xend/domain op=create "config@$T/deep62" >/dev/null
expect_eq "a config nested 62 deep is created" 201 "$(http_status)"
xend_stop
xend_start "http-max-body = 4194304;" || { not_ok "xend restarts"; finish; }
info=$(xget /xend/domain/deep62)
expect_match "after a restart deep62 still has its config" '\(config \(vm \(name deep62\)' "$info"
expect_match "... with its deepest list" '\(n \(n\)\)\)' "$info"
corrupt=$(ls "$T/state/domain" | grep -c corrupt || true)
expect_eq "no record set aside as corrupt" 0 "$corrupt"

# An atom of 1,048,400 bytes: under the body limit, so accepted; save and restore keep it.
{
    printf '(vm (name big1) (memory 16) (image (linux (kernel %s))) (note ' "$(sim_kernel)"
    repeat a 1048400
    printf '))'
} > "$T/big"
xpost /xend/domain op=create "config@$T/big" >/dev/null
expect_eq "a config with a 1,048,400-byte atom is created" 201 "$(http_status)"
body=$(xpost /xend/domain/big1 op=save "file=$T/big1.img")
expect_eq "it saves" 0 "$body"
body=$(xpost /xend/domain op=restore "file=$T/big1.img")
expect_eq "its image restores" 201 "$(http_status)"
expect_no_match "no damaged header" 'damaged' "$body"
n=$(xget /xend/domain/big1 | tr -c a '\n' | awk 'length > m { m = length } END { print m }')
expect_eq "the restored config holds the whole atom" 1048400 "$n"
xend_stop
xend_start "http-max-body = 4194304;" || { not_ok "xend restarts"; finish; }
n=$(xget /xend/domain/big1 | tr -c a '\n' | awk 'length > m { m = length } END { print m }')
expect_eq "after a restart the restored domain keeps the atom" 1048400 "$n"

# A config larger than a record may hold a config: refused at create, nothing stored.
{
    printf '(vm (name big2) (memory 16) (image (linux (kernel %s))) (note ' "$(sim_kernel)"
    repeat a 1048576
    printf '))'
} > "$T/big2"
body=$(xpost /xend/domain op=create "config@$T/big2")
expect_match "a config over 1 MiB is refused with its size" 'xend.err.*config of [0-9]+ bytes: at most 1048576' "$body"
xget /xend/domain/big2 >/dev/null
expect_eq "no domain big2" 404 "$(http_status)"
finish
