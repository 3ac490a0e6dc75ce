#!/bin/bash
# Remote callers over TLS: the HTTPS port admits a client certificate listed in
# xend-https-clients (by CN under the CA, or by fingerprint) and API tokens (Bearer, over TLS
# only); an unknown certificate, none at all, or a wrong token is refused with 403 and a
# message; xm speaks https:// with --cert/--key/--ca and XM_TOKEN; the audit line names the
# identity and never the secret.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_certs.sh"

make_ca ca && make_cert server "$(hostname)" ca "IP:127.0.0.1,DNS:localhost" &&
    make_cert alice alice ca && make_cert mallory mallory ca && make_self stranger alice ||
    { not_ok "test certificates"; finish; }
# A certificate `xend cert` made (self-signed), trusted by its pinned fingerprint.
printf 'relocation-cert = "%s";\nrelocation-key = "%s";\n' "$T/pinned.crt" "$T/pinned.key" > "$T/cert.conf"
fp_pinned=$("$XEND_BIN" cert -c "$T/cert.conf" | sed -n 's/^fingerprint //p')

HTTPS_PORT=$(free_port)
: > "$T/placeholder"
CONF="xend-https-port = $HTTPS_PORT;
xend-https-address = \"127.0.0.1\";
xend-https-cert = \"$T/server.crt\";
xend-https-key = \"$T/server.key\";
xend-https-ca = \"$T/ca.crt\";
xend-https-clients = [ \"CN=alice admin\", \"$fp_pinned operator\" ];
xend-token-file = \"$T/tokens\";"

# The token file: made by `xend token add`, whose config needs only the file's name.
printf 'xend-token-file = "%s";\n' "$T/tokens" > "$T/token.conf"
TOKEN=$("$XEND_BIN" token add -c "$T/token.conf" ci operator 2>"$T/token.err")
expect_match "xend token add prints a fresh token" '^[0-9a-f]{64}$' "$TOKEN"
expect_match "and says it is shown once" 'shown only this once' "$(cat "$T/token.err")"
check "the file holds its hash, not the token" grep -q "^ci operator $(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)$" "$T/tokens"
check "nor the token itself" bash -c "! grep -q '$TOKEN' '$T/tokens'"
check "the file is private" test "$(stat -c %a "$T/tokens")" = 600
"$XEND_BIN" token add -c "$T/token.conf" ci admin >/dev/null 2>"$T/dup.err" &&
    not_ok "a second token of the same name is refused" || ok "a second token of the same name is refused"

# A group-writable token file stops xend at start.
chmod 664 "$T/tokens"
xend_start "$CONF" 2>"$T/start.err" && { not_ok "a group-writable token file stops xend"; xend_stop; } ||
    expect_match "a group-writable token file stops xend" 'writable by group or others' "$(cat "$T/start.err")"
chmod 600 "$T/tokens"
xend_start "$CONF" || { not_ok "xend starts with an HTTPS port"; finish; }
ok "xend starts with an HTTPS port"

U=https://127.0.0.1:$HTTPS_PORT
# hget NAME [curl args...] PATH: GET over TLS; body in $T/NAME.body, status printed
hget() {
    local name=$1
    shift
    curl -s -o "$T/$name.body" -w '%{http_code}' --cacert "$T/ca.crt" "$@" 2>/dev/null || echo 000
}

expect_eq "a known client certificate is admitted" 200 \
    "$(hget cert --cert "$T/alice.crt" --key "$T/alice.key" "$U/xend/domain")"
expect_eq "a certificate xend cert made, pinned by fingerprint, is admitted" 200 \
    "$(hget pinned --cert "$T/pinned.crt" --key "$T/pinned.key" "$U/xend/domain")"
expect_eq "a certificate the CA did not sign is refused" 403 \
    "$(hget stranger --cert "$T/stranger.crt" --key "$T/stranger.key" "$U/xend/domain")"
expect_match "and told why" 'not trusted.*xend-https-ca' "$(cat "$T/stranger.body")"
expect_eq "a CA-signed certificate not in xend-https-clients is refused" 403 \
    "$(hget mallory --cert "$T/mallory.crt" --key "$T/mallory.key" "$U/xend/domain")"
expect_match "and told what to add" 'not listed in xend-https-clients' "$(cat "$T/mallory.body")"
expect_eq "no certificate and no token is refused" 403 "$(hget none "$U/xend/domain")"
expect_match "and told what is missing" 'no client certificate and no token' "$(cat "$T/none.body")"
expect_eq "a refused caller learns nothing of domains (403, not 404)" 403 "$(hget none2 "$U/xend/domain/nosuch")"

expect_eq "a token works over https" 200 \
    "$(hget tok -H "Authorization: Bearer $TOKEN" "$U/xend/domain")"
# every hex digit moved by one: a token of the right form that is certainly not this one
WRONG=$(printf %s "$TOKEN" | tr 0-9a-f 1-9a-f0)
expect_eq "a wrong token is refused" 403 \
    "$(hget wrong -H "Authorization: Bearer $WRONG" "$U/xend/domain")"
expect_match "and told so" 'bearer token is not valid' "$(cat "$T/wrong.body")"
expect_eq "a wrong token is refused even with a good certificate" 403 \
    "$(hget wrong2 --cert "$T/alice.crt" --key "$T/alice.key" -H "Authorization: Bearer nope" "$U/xend/domain")"
plain=$(curl -s -o "$T/plain.body" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$XEND_PORT/xend/domain")
expect_eq "a token over plain http is refused" 403 "$plain"
expect_match "with a message saying to use https" 'only over https' "$(cat "$T/plain.body")"
expect_eq "plain http without a token still works for root" 200 \
    "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$XEND_PORT/xend/domain")"

# xm over https with the client certificate: list, create, destroy
export XM_CA=$T/ca.crt
xmc() { xm --server "$U" --cert "$T/alice.crt" --key "$T/alice.key" "$@"; }
out=$(xmc list 2>&1)
expect_match "xm list over https with a certificate" 'Domain-0' "$out"
vm_config tvm 32 > "$T/tvm.sxp"
out=$(xmc create -F "$T/tvm.sxp" 2>&1)
expect_match "xm create over https" 'Started domain tvm' "$out"
expect_match "the domain is there" 'tvm' "$(xmc list 2>&1)"
out=$(xmc destroy tvm 2>&1); rc=$?
expect_eq "xm destroy over https" 0 "$rc"
expect_no_match "and it is gone" 'tvm' "$(xmc list 2>&1)"
out=$(xm --server "$U" --cert "$T/stranger.crt" --key "$T/stranger.key" list 2>&1)
expect_match "xm with an unknown certificate is refused" 'Error: .*not trusted' "$out"
out=$(xm --server "$U" list 2>&1)
expect_match "xm with neither certificate nor token is refused" 'no client certificate and no token' "$out"
out=$(XM_TOKEN=$TOKEN xm --server "$U" list 2>&1)
expect_match "xm with XM_TOKEN over https" 'Domain-0' "$out"
out=$(XM_CA= xm --server "$U" --cert "$T/alice.crt" --key "$T/alice.key" list 2>&1)
expect_match "xm refuses a server its CAs do not vouch for" 'not trusted' "$out"
out=$(XM_TOKEN=$TOKEN xm --server "http://127.0.0.1:$XEND_PORT" list 2>&1)
expect_match "xm never sends XM_TOKEN over plain http (root's plain access goes on)" 'Domain-0' "$out"
out=$(xm --server "127.0.0.1:$XEND_PORT" list 2>&1)
expect_match "xm over plain http is unchanged" 'Domain-0' "$out"
# xm events reads its stream over the same TLS connection code, token and all
out=$(XM_TOKEN=$TOKEN xm --server "$U" events --since 0 2>&1)
expect_match "xm events over https lists the numbered events" '^[0-9]+ xend.domain.destroy \(tvm ' "$out"
out=$(xmc events --since 0 --pattern 'xend.domain.create' -o json 2>&1)
expect_match "xm events over https with a certificate, as JSON lines" '"name": "xend.domain.create"' "$out"
out=$(xm --server "$U" events --since 0 2>&1)
expect_match "xm events over https without credentials is refused" 'no client certificate and no token' "$out"

# Audit: the identity and how it was proved, never the secret.
xmc create -F "$T/tvm.sxp" >/dev/null 2>&1
XM_TOKEN=$TOKEN xm --server "$U" destroy tvm >/dev/null 2>&1
wait_until 5 grep -q 'audit .*by=token:ci .*op=destroy' "$T/xend.log" &&
    ok "the audit line names the token" || not_ok "the audit line names the token" "$(grep audit "$T/xend.log" | tail -3)"
check "and the certificate" grep -q 'audit .*via=tls by=cert:CN=alice,fp=.*op=create' "$T/xend.log"
check "the token is never logged" bash -c "! grep -q '$TOKEN' '$T/xend.log'"

# A token added while xend runs works at once.
TOKEN2=$("$XEND_BIN" token add -c "$T/token.conf" late viewer 2>/dev/null)
expect_eq "a token added while xend runs works" 200 \
    "$(hget late -H "Authorization: Bearer $TOKEN2" "$U/xend/domain")"
expect_eq "its role (viewer) comes with it: a destroy is refused" 403 \
    "$(hget viewer -H "Authorization: Bearer $TOKEN2" -d op=destroy -d reason=halt "$U/xend/domain/Domain-0")"
expect_match "by the role check" 'role viewer may not destroy' "$(cat "$T/viewer.body")"

# Browsers: a client certificate needs no login; the pages' forms carry the CSRF token.
xmc create -F "$T/tvm.sxp" >/dev/null 2>&1
bc=(--cert "$T/alice.crt" --key "$T/alice.key")
expect_eq "a browser with a certificate gets the pages" 200 \
    "$(hget page "${bc[@]}" -H 'Accept: text/html' "$U/xend/domain/tvm")"
csrf=$(grep -o 'name="xend_csrf" value="[0-9a-f]*"' "$T/page.body" | head -1 | sed 's/.*value="//; s/"//')
expect_match "with the CSRF token in its forms" '^[0-9a-f]{64}$' "$csrf"
expect_eq "a form post from another origin is refused" 403 \
    "$(hget foreign "${bc[@]}" -H 'Origin: https://evil.example' -d op=destroy -d reason=halt -d "xend_csrf=$csrf" "$U/xend/domain/tvm")"
expect_eq "a same-origin form post with the token works" 200 \
    "$(hget form "${bc[@]}" -H "Origin: $U" -d op=destroy -d reason=halt -d "xend_csrf=$csrf" "$U/xend/domain/tvm")"

# Browsers: a login turns a token into a session cookie.
st=$(curl -s -o "$T/lp.body" -w '%{http_code}' --data-urlencode "token=$TOKEN" "http://127.0.0.1:$XEND_PORT/xend/login")
expect_eq "a login over plain http is refused" 403 "$st"
expect_match "and told to use https" 'only over https' "$(cat "$T/lp.body")"
expect_eq "GET /xend/login shows the form" 200 "$(hget form -H 'Accept: text/html' "$U/xend/login")"
expect_match "a form that posts the token" 'name="token"' "$(cat "$T/form.body")"
expect_eq "a login with a wrong token is refused" 403 \
    "$(hget badlogin --data-urlencode "token=nope" "$U/xend/login")"
expect_eq "a login from another origin is refused" 403 \
    "$(hget evil -H 'Origin: https://evil.example' --data-urlencode "token=$TOKEN" "$U/xend/login")"
st=$(hget login -D "$T/login.head" --data-urlencode "token=$TOKEN" "$U/xend/login")
expect_eq "a login with the token" 200 "$st"
setc=$(grep -i '^Set-Cookie:' "$T/login.head" | tr -d '\r')
expect_match "gives a session cookie" '^Set-Cookie: xend_session=[0-9a-f]{64};' "$setc"
for attr in 'HttpOnly' 'Secure' 'SameSite=Strict' 'Path=/xend' 'Max-Age=[0-9]+'; do
    expect_match "the cookie is $attr" "; $attr(;|$)" "$setc"
done
cookie=$(printf '%s' "$setc" | sed 's/^Set-Cookie: //; s/;.*//')
expect_eq "the cookie admits its requests" 200 "$(hget withc -H "Cookie: $cookie" "$U/xend/domain")"
expect_eq "a made-up cookie does not" 403 \
    "$(hget madeup -H "Cookie: xend_session=$(printf '%064d' 0)" "$U/xend/domain")"
expect_eq "a browser's POST with the cookie still needs the form's CSRF token" 403 \
    "$(hget csrf -H "Cookie: $cookie" -d op=destroy -d reason=halt "$U/xend/domain/nosuch")"
st=$(hget logout -D "$T/logout.head" -H "Cookie: $cookie" -X POST "$U/xend/logout")
expect_eq "logout" 200 "$st"
expect_match "clears the cookie" 'Set-Cookie: xend_session=;.*Max-Age=0' "$(tr -d '\r' < "$T/logout.head")"
expect_eq "the session is forgotten" 403 "$(hget after -H "Cookie: $cookie" "$U/xend/domain")"
check "the login is audited by the token's name" grep -q 'audit .*by=login:ci .*path=/xend/login' "$T/xend.log"
check "the session id is never logged" bash -c "! grep -q '${cookie#xend_session=}' '$T/xend.log'"
finish
