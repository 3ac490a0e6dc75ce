#!/bin/bash
# Vnets end to end on the sim backend: create (201, Location, defaults filled), list, get,
# duplicates and bad configs refused, delete; xm vnet-create, vnet-list, vnet-delete; the
# vnet script's dry run in the log; persistence across xend stop and start (the vnets come
# back and are added again); a failing script keeps nothing; a failing delete keeps the
# vnet.
source "$(dirname "$0")/lib.sh"

# post_h PATH ARGS...: like xpost, and the reply headers in $T/.hdr
post_h() {
    local path=$1 args=() a
    shift
    for a in "$@"; do args+=(--data-urlencode "$a"); done
    curl -s -g -D "$T/.hdr" -o "$T/.body" -w '%{http_code}' "${args[@]}" \
        "http://127.0.0.1:$XEND_PORT$path" > "$T/.status" || echo 000 > "$T/.status"
    cat "$T/.body"
}
location() { grep -i '^location:' "$T/.hdr" | cut -d' ' -f2- | tr -d '\r'; }

xend_start || { not_ok "xend starts"; finish; }
ok "xend starts"

expect_eq "no vnets at first" "()" "$(xget /xend/vnet)"

# ---- create, list, get ----
body=$(post_h /xend/vnet op=create 'config=(vnet (id 97))')
expect_eq "create replies 201" 201 "$(http_status)"
expect_eq "create replies the stored config with the defaults" \
    "(vnet (id 97) (bridge vnet97) (vnetif vnetif97) (security none))" "$body"
expect_eq "create's Location names the vnet" /xend/vnet/97 "$(location)"
body=$(post_h /xend/vnet op=create 'config=(vnet (id 5) (bridge br5) (security conf))')
expect_eq "a second vnet with its own bridge" 201 "$(http_status)"
expect_eq "the list has both, by number" "(5 97)" "$(xget /xend/vnet)"
expect_eq "the list also answers with a trailing slash" "(5 97)" "$(xget /xend/vnet/)"
expect_eq "get replies the config verbatim" \
    "(vnet (id 5) (bridge br5) (vnetif vnetif5) (security conf))" "$(xget /xend/vnet/5)"
expect_eq "get is 200" 200 "$(http_status)"
log_has() { grep -qF -- "$1" "$T/xend.log"; }
check "the vnet script ran (dry run on sim) to make the bridge" \
    log_has 'line="dry-run: ip link add name vnet97 type bridge"'
check "the script was given the vnet's settings" \
    log_has 'add id=5 bridge=br5 vnetif=vnetif5 security=conf'

# ---- refusals ----
body=$(xpost /xend/vnet op=create 'config=(vnet (id 97) (bridge other))')
expect_match "a duplicate id is refused" "xend.err.*vnet 97 already exists" "$body"
body=$(xpost /xend/vnet op=create 'config=(vnet (id 6) (bridge br5))')
expect_match "a bridge of another vnet is refused" "xend.err.*bridge br5 is in use by vnet 5" "$body"
body=$(xpost /xend/vnet op=create 'config=(vnet (id 7) (security high))')
expect_match "a bad security is refused" "xend.err.*invalid security: high" "$body"
body=$(xpost /xend/vnet op=create 'config=(vnet (id 07))')
expect_match "an id with a leading zero is refused" "xend.err.*invalid id: 07" "$body"
body=$(xpost /xend/vnet op=create 'config=(vnet (id 8)')
expect_match "malformed SXP is refused" "xend.err" "$body"
body=$(xpost /xend/vnet op=create 'config=(vnet (bridge x))')
expect_match "a config without id is refused" "xend.err.*missing id" "$body"
expect_eq "refused creates leave the list alone" "(5 97)" "$(xget /xend/vnet)"
body=$(xget /xend/vnet/12345)
expect_match "an unknown vnet is invalid vnet:ID" "^\(xend.err 'invalid vnet:12345'\)$" "$body"
expect_eq "an unknown vnet is 404" "404" "$(http_status)"

# ---- xm ----
echo "(vnet (id 12) (vnetif vif12x) (security auth))" > "$T/vnet12.sxp"
out=$("$XM" vnet-create "$T/vnet12.sxp" 2>&1)
expect_eq "xm vnet-create succeeds" "0" "$?"
expect_match "xm vnet-create made vnet 12" '^\(5 12 97\)$' "$(xget /xend/vnet)"
out=$("$XM" vnet-list 2>&1)
expect_eq "xm vnet-list succeeds" "0" "$?"
expect_match "xm vnet-list shows every vnet" '\(id 5\).*\(id 12\).*\(id 97\)' "$(echo $out)"
expect_match "xm vnet-list shows the settings" '\(vnetif vif12x\)' "$out"
out=$("$XM" vnet-create "$T/vnet12.sxp" 2>&1)
st=$?
expect_eq "xm vnet-create of a duplicate fails" 1 "$st"
expect_match "... and says why" '^Error: vnet: vnet 12 already exists' "$out"
out=$("$XM" vnet-delete 12 2>&1)
expect_eq "xm vnet-delete succeeds" "0" "$?"
out=$("$XM" vnet-delete 12 2>&1)
expect_eq "xm vnet-delete of a deleted vnet fails" 1 "$?"
expect_match "... with invalid vnet" '^Error: invalid vnet:12' "$out"
out=$("$XM" call vnet 97 2>&1)
expect_match "xm call vnet 97" '\(bridge vnet97\)' "$out"

# ---- delete over HTTP ----
body=$(xpost /xend/vnet/5 op=delete)
expect_eq "delete replies 0" "0" "$body"
expect_eq "delete is 200" 200 "$(http_status)"
expect_eq "the deleted vnet is gone" "(97)" "$(xget /xend/vnet)"
check "the script removed the bridge (dry run)" log_has 'line="dry-run: ip link del dev br5"'
body=$(xpost /xend/vnet/5 op=delete)
expect_match "deleting it again is invalid vnet" "xend.err.*invalid vnet:5" "$body"

# ---- persistence: stop, start with the same state dir ----
xpost /xend/vnet op=create 'config=(vnet (id 3) (bridge br3) (extra (kept as given)))' >/dev/null
before=$(xget /xend/vnet/3)
expect_match "unknown children are kept" '\(extra \(kept as given\)\)\)$' "$before"
xend_stop
gone() { ! curl -s -o /dev/null "http://127.0.0.1:$XEND_PORT/xend"; }
wait_until 10 gone && ok "xend stopped" || not_ok "xend stopped"
xend_start || { not_ok "xend starts again"; finish; }
ok "xend starts again"
expect_eq "the vnets are back after a restart" "(3 97)" "$(xget /xend/vnet)"
expect_eq "with the same config" "$before" "$(xget /xend/vnet/3)"
readded() { [ "$(grep -c 'add id=3 bridge=br3' "$T/xend.log")" -ge 2 ]; }
wait_until 10 readded && ok "the script adds them again at start" ||
    not_ok "the script adds them again at start"
xpost /xend/vnet/3 op=delete >/dev/null
xend_stop
wait_until 10 gone || true
xend_start || { not_ok "xend starts a third time"; finish; }
expect_eq "a deleted vnet stays deleted across a restart" "(97)" "$(xget /xend/vnet)"

# ---- scripts that fail ----
cat > "$T/scripts/vnet-fail" <<'SH'
#!/bin/sh
[ "$1" = del ] && { echo "vnet-fail: bridge still has ports: vif9.0"; exit 1; }
case "$*" in *id=66*) exit 0 ;; esac
echo "vnet-fail: no vnet module" >&2
exit 2
SH
chmod +x "$T/scripts/vnet-fail"
xend_stop
wait_until 10 gone || true
xend_start 'vnet-script = "vnet-fail";' || { not_ok "xend starts with a failing script"; finish; }
expect_eq "a vnet whose add fails at start stays listed" "(97)" "$(xget /xend/vnet)"
logged() { grep -q 'vnet not configured.*vnet=97' "$T/xend.log"; }
wait_until 10 logged && ok "... and the failure is logged" || not_ok "... and the failure is logged"
body=$(xpost /xend/vnet op=create 'config=(vnet (id 44))')
expect_match "a create whose script fails replies the script's error" \
    "xend.err.*vnet-fail add failed: exit status 2: vnet-fail: no vnet module" "$body"
expect_eq "... and keeps nothing" "(97)" "$(xget /xend/vnet)"
[ -d "$T/state/plugin-vnet" ] && [ ! -e "$T/state/plugin-vnet/44" ] &&
    ok "... not even in the store" || not_ok "... not even in the store"
body=$(xpost /xend/vnet op=create 'config=(vnet (id 66))')
expect_eq "a create whose script succeeds is 201" 201 "$(http_status)"
body=$(xpost /xend/vnet/66 op=delete)
expect_match "a delete whose script fails replies its error" "xend.err.*still has ports" "$body"
expect_eq "... and keeps the vnet" "(66 97)" "$(xget /xend/vnet)"

finish
