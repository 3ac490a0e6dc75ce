#!/bin/bash
# Remote access in the few commands docs/security.md gives: `xend cert` (the host's
# certificate, shared with relocation), `xend token add`, two settings, and xm on the other
# side with the host's certificate as its CA and the token in XM_TOKEN. Run against this
# host's own name, which must resolve to a loopback address (tests talk to 127.0.0.1 only).
source "$(dirname "$0")/lib.sh"

host=$(hostname)
addr=$(getent hosts "$host" | awk '{print $1; exit}')
case "$addr" in
127.*) ;;
*) echo "# $host resolves to '$addr', not loopback: skipped"; finish ;;
esac

# Without the host's certificate, an HTTPS port stops xend and says what makes one.
HTTPS_PORT=$(free_port)
cat > "$T/base.conf" <<CONF
relocation-cert = "$T/host-cert.pem";
relocation-key = "$T/host-key.pem";
CONF
xend_start "$(cat "$T/base.conf")
xend-https-port = $HTTPS_PORT;" 2>"$T/start.err" && { not_ok "no certificate, no start"; xend_stop; } ||
    expect_match "no certificate, no start" 'does not exist .*xend cert' "$(cat "$T/start.err")"

# On the xend host, once:
cat > "$T/base.conf" <<CONF
relocation-cert = "$T/host-cert.pem";
relocation-key = "$T/host-key.pem";
xend-token-file = "$T/xend-tokens";
CONF
"$XEND_BIN" cert -c "$T/base.conf" >/dev/null || { not_ok "xend cert"; finish; }
expect_match "the host certificate names the host as a subjectAltName, as browsers need" \
    "DNS:$host" "$(openssl x509 -in "$T/host-cert.pem" -noout -ext subjectAltName 2>&1)"
TOKEN=$("$XEND_BIN" token add -c "$T/base.conf" laptop admin 2>/dev/null)
expect_match "xend token add" '^[0-9a-f]{64}$' "$TOKEN"
xend_start "$(cat "$T/base.conf")
xend-https-port = $HTTPS_PORT;
xend-https-address = \"127.0.0.1\";" || { not_ok "xend starts"; finish; }

# On the client, with a copy of host-cert.pem:
out=$(XM_TOKEN=$TOKEN XM_CA=$T/host-cert.pem xm --server "https://$host:$HTTPS_PORT" list 2>&1)
expect_match "xm reaches xend by its name with the host certificate as CA" 'Domain-0' "$out"
out=$(XM_TOKEN=$TOKEN XM_CA=$T/host-cert.pem xm --server "https://127.0.0.1:$HTTPS_PORT" list 2>&1)
expect_match "the certificate does not name 127.0.0.1, so that is refused" 'not trusted|mismatch' "$out"
finish
