#!/bin/bash
# The dry run of a create (issue 20, issue 19): `xm create --check` on a good config says
# so and creates nothing (the list, the state dir and the device scripts untouched); on a
# bad one it lists each problem with the line of the file and exits 1, as text or JSON.
# POST op=create check=1 answers the same to curl (JSON: the list itself). An xm-style
# Python config uploaded as a browser uploads a file is created (no "Too many sxprs").
# A viewer's dry run is refused like a create. The 2.0 client's SXP create is unchanged.
source "$(dirname "$0")/lib.sh"

mkdir -p "$T/scripts"
use_vif_script vif-mark <<SH
#!/bin/sh
touch "$T/vif-script-ran"
exit 0
SH
xend_start "$CONF" || { not_ok "xend starts"; finish; }
URL=http://127.0.0.1:$XEND_PORT
K=$(sim_kernel)
state() { find "$T/state" -type f ! -name '*.log' ! -name '*.sock' | sort; }
names() { "$XM" list | awk 'NR > 1 { print $1 }' | tr '\n' ' '; }

cat > "$T/good" <<PY
# a good config
name = "good1"
memory = 32
kernel = "$K"
vif = ['']
PY
before_state=$(state)
before_list=$(names)
out=$(cd "$T" && "$XM" create --check good 2>&1)
rc=$?
expect_eq "a good config checks with exit 0" 0 "$rc"
expect_match "and says ok, nothing created" '^good: ok, nothing created$' "$(printf '%s' "$out" | tail -1)"
expect_eq "the list is unchanged" "$before_list" "$(names)"
expect_eq "no record in the state dir" "$before_state" "$(state)"
check "no device script ran" test ! -e "$T/vif-script-ran"
check "and xend logged no create" sh -c "! grep -q 'domain created\|op=create status=201' '$T/xend.log'"

cat > "$T/bad" <<PY
# a bad config
name = "bad1"
memroy = 64
memory = 999999
kernel = "/nonexistent/vmlinuz"
disk = ['file:/nonexistent/disk.img,sda1,w']
vif = ['mac=zz']
PY
out=$(cd "$T" && "$XM" create --check bad 2>"$T/err")
rc=$?
expect_eq "a bad config exits 1" 1 "$rc"
expect_match "the typo, on its line, with a suggestion" \
    "^bad:3: unknown variable 'memroy'; did you mean 'memory'\?$" "$out"
expect_match "the memory, on its line" '^bad:4: invalid memory: 999999 MB is more than' "$out"
expect_match "the kernel, on its line" '^bad:5: Kernel image does not exist: /nonexistent/vmlinuz' "$out"
expect_match "the disk, on its line" '^bad:6: vbd: .*/nonexistent/disk.img' "$out"
expect_match "the vif, on its line" '^bad:7: vif: invalid mac: zz' "$out"
expect_match "stderr sums up" '^Error: bad: 5 problems, nothing created$' "$(cat "$T/err")"
expect_eq "still nothing created" "$before_list" "$(names)"

json=$(cd "$T" && "$XM" create --check bad -o json 2>/dev/null)
got=$(printf '%s' "$json" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["ok"], " ".join(str(p["line"]) for p in d["problems"]))')
expect_eq "-o json lists the problems with their lines" "False 3 4 5 6 7" "$got"
json=$(cd "$T" && "$XM" create --check good -q -o json)
expect_eq "-o json of a good config" '{"file": "good", "ok": true, "problems": []}' "$json"

printf '(vm\n  (name 9sxp)\n  (memory 32)\n  (image (linux (kernel %s))))\n' "$K" > "$T/bad.sxp"
out=$(cd "$T" && "$XM" create --check -F bad.sxp 2>/dev/null)
expect_match "an SXP config's problem names its own line" '^bad.sxp:2: invalid vm name: 9sxp' "$out"
printf 'name = "x\n' > "$T/syntax"
out=$(cd "$T" && "$XM" create --check syntax 2>/dev/null)
expect_match "a syntax error names its line" '^syntax:1: unterminated string' "$out"

# ---- the dry run over HTTP, as curl and a browser send it ----
body=$(curl -s -H 'Accept: application/json' -F op=create -F check=1 -F "config=@$T/bad" "$URL/xend/domain")
got=$(printf '%s' "$body" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join(str(p["line"]) for p in d["problems"]), "error" in d)')
expect_eq "a JSON client gets the problems structured" "3 4 5 6 7 True" "$got"
body=$(xpost /xend/domain op=create check=1 "config=$(cat "$T/bad")")
expect_eq "an SXP client gets 200" 200 "$(http_status)"
expect_match "and (xend.err ...) with a line per problem" \
    "^\(xend.err \"line 3: unknown variable 'memroy'.*\\\\nline 4: " "$body"
body=$(xpost /xend/domain op=create check=1 "config=$(vm_config sxpok 32)")
expect_match "a good dry run says so and gives the config" '^\(check \(result ok\) \(config \(vm \(name sxpok\)' "$body"
expect_eq "and creates nothing" "$before_list" "$(names)"

page=$(curl -s -H 'Accept: text/html' -A 'Mozilla/5.0' "$URL/xend/domain")
token=$(printf '%s' "$page" | sed -n 's/.*name="xend_csrf" value="\([0-9a-f]*\)".*/\1/p' | head -1)
BROWSER=(-A 'Mozilla/5.0' -H 'Accept: text/html' -H "Origin: $URL" -H "Referer: $URL/xend/domain/")
st=$(curl -s -o "$T/.b" -w '%{http_code}' "${BROWSER[@]}" -F op=create -F "xend_csrf=$token" \
    -F "config=@$T/good;filename=good.py" "$URL/xend/domain")
# xend's own form, with its token: post/redirect/get, 303 to the new domain (docs/ui.md)
expect_eq "a Python config uploaded by a browser is created (303 to its page)" 303 "$st"
check "the domain is there" "$XM" domid good1
expect_no_match "no Too many sxprs" 'Too many sxprs' "$(cat "$T/.b")"
st=$(curl -s -o "$T/.b" -w '%{http_code}' "${BROWSER[@]}" -F op=create -F "xend_csrf=$token" \
    -F "config=@$T/bad;filename=bad.py" "$URL/xend/domain")
expect_match "a bad one is refused with its lines" 'line 3: unknown variable' "$(cat "$T/.b")"
check "and not created" sh -c "! '$XM' domid bad1"

# the 2.0 client's create, SXP, is answered as before
body=$(xpost /xend/domain op=create "config=$(vm_config plain1 32)")
expect_eq "an SXP create is 201" 201 "$(http_status)"
expect_match "with the domain's info" '^\(domain \(id [0-9]+\) \(name plain1\)' "$body"
body=$(xpost /xend/domain op=create "config=(vm (name plain2)")
expect_match "a broken SXP create gives the parser's message" '^\(xend.err ' "$body"

# ---- a viewer's dry run is refused like its create ----
if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null && command -v groupadd >/dev/null; then
    VWG=xccv$$
    VWU=xccvu$$
    if groupadd "$VWG" && useradd -M -N -g nogroup -G "$VWG" -s /usr/sbin/nologin -d /nonexistent "$VWU"; then
        # the viewer cannot read $T (0700): its config lives in a file of its own
        VCONF=$(mktemp /tmp/xend-cc-viewer.XXXXXX)
        cp "$T/bad.sxp" "$VCONF"
        chmod 644 "$VCONF"
        trap 'cleanup; rm -f "$VCONF"; userdel "$VWU" 2>/dev/null; groupdel "$VWG" 2>/dev/null' EXIT
        xend_stop
        printf 'viewer-group = "%s";\n' "$VWG" >> "$T/xend.conf"
        "$XEND_BIN" start -c "$T/xend.conf" || not_ok "xend restarts with a viewer group"
        out=$(runuser -u "$VWU" -- curl -s -w '\n%{http_code}' --data-urlencode op=create \
            --data-urlencode check=1 --data-urlencode "config=$(vm_config view1 32)" "$URL/xend/domain")
        expect_eq "a viewer's dry run is 403" 403 "${out##*$'\n'}"
        expect_match "like its create" 'Permission denied: role viewer may not create' "$out"
        out=$(runuser -u "$VWU" -- env XEND="$XEND" "$XM" create --check -F "$VCONF" 2>&1)
        expect_match "xm create --check says so too" 'Error: .*Permission denied: role viewer' "$out"
    else
        not_ok "make a viewer user"
    fi
else
    echo "# SKIP: not root: the viewer case needs another user"
fi
finish
