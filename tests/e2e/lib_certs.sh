# Certificates for the HTTPS tests (sourced after lib.sh), made with openssl in $T:
#   make_ca NAME                  a CA: $T/NAME.crt, $T/NAME.key
#   make_cert NAME CN CA [SAN]    a certificate for CN signed by CA (SAN e.g. IP:127.0.0.1)
#   make_self NAME CN             a self-signed certificate
# EC P-256 keys, valid one day.
make_ca() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
        -subj "/CN=$1" -keyout "$T/$1.key" -out "$T/$1.crt" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign 2>/dev/null
}

make_cert() {
    local name=$1 cn=$2 ca=$3 san=${4:-}
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$cn" \
        -keyout "$T/$name.key" -out "$T/$name.csr" 2>/dev/null || return 1
    : > "$T/$name.ext"
    [ -n "$san" ] && echo "subjectAltName=$san" > "$T/$name.ext"
    openssl x509 -req -in "$T/$name.csr" -CA "$T/$ca.crt" -CAkey "$T/$ca.key" -CAcreateserial \
        -days 1 -extfile "$T/$name.ext" -out "$T/$name.crt" 2>/dev/null
}

make_self() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
        -subj "/CN=$2" -keyout "$T/$1.key" -out "$T/$1.crt" 2>/dev/null
}

# fingerprint NAME: the SHA-256 of $T/NAME.crt as xend writes it (lowercase hex, no colons)
fingerprint_of() {
    openssl x509 -in "$T/$1.crt" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f
}
