#!/bin/bash
# The operator's pages (docs/ui.md): what curl can see of them, then headless chromium
# through every page and action (tests/browser/pages.test.mjs).
#
# curl: GET / is the overview for a browser and still 404 for a program; a form post from
# one of xend's pages (it carries the form token) is answered 303 with a Location on this
# server (never one a request named elsewhere) and the action happens once; SXP clients
# get exactly what they got before; an error is an HTML page with the message and a way
# back; every field of a scheduler form exists and holds the current value; a domain named
# <script> is text; /xend/node's page links the log and dmesg views; the create page checks
# a config without creating anything and creates an unpaused domain unless asked.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_browser.sh"

xend_start || { not_ok "xend starts"; finish; }
ok "xend starts"
U=http://127.0.0.1:$XEND_PORT
BROWSER=(-A 'Mozilla/5.0' -H 'Accept: text/html')
FORM=("${BROWSER[@]}" -H "Origin: $U")

# get [CURL-ARGS...] URL: the status in ST, the Location in LOC, the body in $T/.b
get() {
    local h
    h=$(curl -s -g -D - -o "$T/.b" "$@" | tr -d '\r')
    ST=$(printf '%s\n' "$h" | sed -n 's/^HTTP\/1\.[01] \([0-9]*\).*/\1/p' | tail -1)
    LOC=$(printf '%s\n' "$h" | sed -n 's/^[Ll]ocation: //p' | tail -1)
    CT=$(printf '%s\n' "$h" | sed -n 's/^[Cc]ontent-[Tt]ype: //p' | tail -1)
}

xpost /xend/domain op=create "config=$(ARGS='<script>alert(1)</script>' vm_config vm1 32 '(device (vif (mac aa:00:00:00:00:11)))')" >/dev/null
expect_eq "vm1 is created" 201 "$(http_status)"

# ---- GET / ----
get "${BROWSER[@]}" "$U/"
expect_eq "a browser's GET / is the overview (200)" 200 "$ST"
expect_match "... an HTML page with lang and a title" '<html lang="en">.*<title>Overview - xend</title>' "$(tr -d '\n' < "$T/.b")"
expect_match "... listing vm1 with its state" 'data-domain="vm1".*data-state="paused"' "$(tr -d '\n' < "$T/.b")"
get "$U/"
expect_eq "a program's GET / is still 404" 404 "$ST"
get -A '' -H 'Accept:' "$U/"
expect_match "... with the SXP error" "^\(xend.err 'Not found /'\)$" "$(cat "$T/.b")"

TOKEN=$(sed -n 's/.*name="xend_csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/.b" | head -1)
[ -n "$TOKEN" ] || { get "${BROWSER[@]}" "$U/"; TOKEN=$(sed -n 's/.*name="xend_csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/.b" | head -1); }
expect_match "the overview's forms carry the token" '^[0-9a-f]{64}$' "$TOKEN"

# ---- post/redirect/get ----
events() { curl -s -H 'Accept: application/json' "$U/xend/event?since=0" | grep -c "\"$1\""; }
get "${FORM[@]}" --data-urlencode op=unpause --data-urlencode "xend_csrf=$TOKEN" \
    --data-urlencode xend_back=/ui/domain/vm1 "$U/xend/domain/vm1"
expect_eq "a form's unpause is 303" 303 "$ST"
expect_match "... back to the page it came from, saying what happened" \
    '^/ui/domain/vm1\?flash=unpause%3A%20done$' "$LOC"
n=$(events xend.domain.unpause)
result=$LOC
get "${BROWSER[@]}" "$U$result"
get "${BROWSER[@]}" "$U$result"
expect_eq "loading the result page twice repeats nothing" "$n" "$(events xend.domain.unpause)"
expect_match "the result page shows the message, escaped" 'role="status">unpause: done<' "$(cat "$T/.b")"

for evil in //evil.example/x 'http://evil.example/' '/\evil.example' 'javascript:alert(1)' \
    $'/ui/\r\nSet-Cookie: x=1'; do
    get "${FORM[@]}" --data-urlencode op=pause --data-urlencode "xend_csrf=$TOKEN" \
        --data-urlencode "xend_back=$evil" "$U/xend/domain/vm1"
    expect_match "back=${evil//[$'\r\n']/.} is not followed: the Location is the posted path" \
        '^/xend/domain/vm1\?flash=' "$LOC"
    xpost /xend/domain/vm1 op=unpause >/dev/null
done
get "${FORM[@]}" --data-urlencode op=pause --data-urlencode "xend_csrf=$TOKEN" \
    "$U/xend/domain/vm1?xend_back=/ui/log"
expect_match "a back path in the URL (a link's) is not followed" '^/xend/domain/vm1\?' "$LOC"
xpost /xend/domain/vm1 op=unpause >/dev/null

# ---- programs see no change ----
expect_eq "an SXP client's pause still answers 0" 0 "$(xpost /xend/domain/vm1 op=pause)"
expect_eq "... with 200" 200 "$(http_status)"
expect_eq "an SXP client's unpause still answers 0" 0 "$(xpost /xend/domain/vm1 op=unpause)"
get -H 'Accept: application/json' --data-urlencode op=pause "$U/xend/domain/vm1"
expect_eq "a JSON client's pause answers 200 0" "200 0" "$ST $(cat "$T/.b")"
get "${BROWSER[@]}" --data-urlencode op=unpause "$U/xend/domain/vm1"
expect_eq "a browser-like POST without the form's token gets its page, not a redirect" 200 "$ST"
expect_match "an SXP client's info is the same (domain ...)" '^\(domain \(id [0-9]+\) \(name vm1\)' "$(xget /xend/domain/vm1)"

# ---- errors for browsers ----
get "${BROWSER[@]}" "$U/ui/domain/nosuch"
expect_eq "an unknown domain's page is 404" 404 "$ST"
expect_match "... an HTML page" '^text/html' "$CT"
expect_match "... with the message and a way back" 'role="alert">invalid domain:nosuch<.*href="/">Overview' "$(tr -d '\n' < "$T/.b")"
get "${FORM[@]}" --data-urlencode op=pincpu --data-urlencode cpu=abc --data-urlencode "xend_csrf=$TOKEN" \
    --data-urlencode xend_back=/ui/domain/vm1 "$U/xend/domain/vm1"
expect_match "a failed form post shows the message" "role=\"alert\">invalid literal for int\(\) with base 10: &#39;abc&#39;<" "$(cat "$T/.b")"
expect_match "... with a link back to its page" 'href="/ui/domain/vm1">Back<' "$(cat "$T/.b")"

# ---- the domain page ----
get "${BROWSER[@]}" "$U/ui/domain/vm1"
page=$(tr -d '\n' < "$T/.b")
expect_eq "the domain page is 200" 200 "$ST"
for f in mcuadv warpback warpvalue warpl warpu; do
    expect_match "its scheduler form has a labelled $f field with its value" \
        "<label for=\"f-cpu_bvt_set-$f\">$f.*id=\"f-cpu_bvt_set-$f\" type=\"text\" name=\"$f\" value=\"[0-9]+\"" "$page"
done
expect_no_match "... and no form for another scheduler" 'value="atropos_set"' "$page"
expect_match "the console link goes to the console's terminal page" 'href="/xend/console/[0-9]+/terminal">Console<' "$page"
expect_match "devices are tables (vif, from the info)" '<h3>vif</h3><table class="devices">' "$page"
get "${BROWSER[@]}" "$U/xend/domain/vm1"
expect_match "the protocol's own page has the scheduler's fields too" 'name="mcuadv"' "$(cat "$T/.b")"
get "${BROWSER[@]}" "$U/ui/domain/vm1?confirm=destroy"
expect_match "destroy asks first: a confirmation form" 'Destroy vm1\?</h2>.*name="op" value="destroy"' "$(tr -d '\n' < "$T/.b")"
expect_eq "... and the GET destroyed nothing" 200 "$(xget /xend/domain/vm1 >/dev/null; http_status)"

# ---- <script> from a domain ----
# xend refuses such a name (letters, digits and _-.:/+ only), so the page never gets one;
# a config value can hold anything: vm1's kernel args are <script>alert(1)</script>.
xpost /xend/domain op=create "config=(vm (name '<script>') (memory 16) (image (linux (kernel $(sim_kernel)))))" >/dev/null
expect_match "a domain named <script> is refused at create" 'invalid vm name' "$(cat "$T/.body")"
get "${BROWSER[@]}" "$U/ui/domain/vm1"
expect_no_match "a config value <script>... is never written as markup" '<script>alert' "$(cat "$T/.b")"
expect_match "... it shows as text" '&lt;script&gt;alert\(1\)&lt;/script&gt;' "$(cat "$T/.b")"
xpost /xend/domain op=create "config=$(vm_config 'a/b+c:d' 16)" >/dev/null
get "${BROWSER[@]}" "$U/"
expect_match "a name with / is linked percent-encoded" 'href="/ui/domain/a%2Fb%2Bc%3Ad"' "$(cat "$T/.b")"
get "${BROWSER[@]}" "$U/ui/domain/a%2Fb%2Bc%3Ad"
expect_eq "... and its page is found" 200 "$ST"
xpost '/xend/domain/a%2Fb%2Bc%3Ad' op=destroy reason=halt >/dev/null

# ---- node page links, views ----
get "${BROWSER[@]}" "$U/xend/node"
expect_match "/xend/node links the log and dmesg views" 'href="/ui/log">.*href="/ui/dmesg">' "$(tr -d '\n' < "$T/.b")"
for v in /ui/log /ui/dmesg /ui/vnets /ui/events /ui/create /ui/assets/ui.css /ui/assets/ui.js; do
    get "${BROWSER[@]}" "$U$v"
    expect_eq "GET $v is 200" 200 "$ST"
done
expect_match "the log view shows the log" 'xend starting' "$(get "${BROWSER[@]}" "$U/ui/log"; cat "$T/.b")"

# ---- the create page ----
get "${FORM[@]}" --form-string op=check --form-string "xend_csrf=$TOKEN" \
    --form-string "config=(vm (name web0) (memory 16)" "$U/ui/create"
expect_eq "a check of a broken config is 422" 422 "$ST"
expect_match "... listing the problem" '<ul id="problems">' "$(cat "$T/.b")"
expect_match "... keeping the text" '\(vm \(name web0\) \(memory 16\)</textarea>' "$(cat "$T/.b")"
check "... and created nothing" test "$(xget /xend/domain/web0 >/dev/null; http_status)" = 404
get "${FORM[@]}" --form-string op=create --form-string "xend_csrf=$TOKEN" \
    --form-string "config=$(vm_config web1 16)" "$U/ui/create"
expect_eq "a create from the page is 303" 303 "$ST"
expect_match "... to the domain's page saying it runs" '^/ui/domain/web1\?flash=Created%20web1%3B%20it%20is%20running' "$LOC"
expect_match "web1 runs (unpaused after create)" '\(state [-rb]{2}-{3}\)' "$(xget /xend/domain/web1)"
printf 'name = "web3"\nmemory = "lots"\nkernel = "%s"\n' "$(sim_kernel)" > "$T/web3.py"
get "${FORM[@]}" -F op=check -F "xend_csrf=$TOKEN" -F "config_file=@$T/web3.py" "$U/ui/create"
expect_match "an uploaded xm-style Python config is checked: the problem with its line" \
    '<li><b>line 2:</b> memory: expected an integer</li>' "$(cat "$T/.b")"
sed -i 's/"lots"/16/' "$T/web3.py"
get "${FORM[@]}" -F op=create -F "xend_csrf=$TOKEN" -F "config_file=@$T/web3.py" "$U/ui/create"
expect_match "... and once corrected it is created from the upload" '^/ui/domain/web3\?flash=Created' "$LOC"
xpost /xend/domain/web3 op=destroy reason=halt >/dev/null
get "${FORM[@]}" --form-string op=create --form-string "xend_csrf=$TOKEN" --form-string paused=1 \
    --form-string "config=$(vm_config web2 16)" "$U/ui/create"
expect_match "with start paused ticked the page says so" 'paused%2C%20as%20asked' "$LOC"
expect_match "... and web2 is paused" '\(state --p--\)' "$(xget /xend/domain/web2)"
get "${FORM[@]}" --form-string op=create --form-string "xend_csrf=$TOKEN" \
    --form-string "config=$(vm_config web1 16)" "$U/ui/create"
expect_eq "a create that fails shows the page again (422)" 422 "$ST"
expect_match "... with the reason" 'vm name clash: web1' "$(cat "$T/.b")"

# ---- the browser ----
for d in web1 web2; do xpost "/xend/domain/$d" op=destroy reason=halt >/dev/null; done
export UI_SAVE_DIR=$T
browser_run "$BROWSER_DIR/pages.test.mjs"
finish
