#!/bin/bash
# An incoming image must keep up relocation-min-rate over each 10 s window, counted on the
# relocation connection's TCP socket (with or without TLS): a sender held to a slower rate
# (xm migrate -r) is cut by the receiver, what the receiver had begun is undone, its slot
# is free again, and the domain runs on at the sender.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_hosts.sh"

fingerprint() { # fingerprint NAME: make host NAME's identity, print its fingerprint
    printf 'relocation-cert = "%s";\nrelocation-key = "%s";\n' "$T/$1.crt" "$T/$1.key" > "$T/$1.cert.conf"
    "$XEND_BIN" cert -c "$T/$1.cert.conf" | sed -n 's/^fingerprint //p'
}
tls() { # tls NAME PINNED
    printf 'relocation-tls = true;\nrelocation-cert = "%s";\nrelocation-key = "%s";\nrelocation-peers = "%s";\n' \
        "$T/$1.crt" "$T/$1.key" "$2"
}
fa=$(fingerprint a)
fb=$(fingerprint b)
fc=$(fingerprint c)
fd=$(fingerprint d)
# 512 KiB/s wanted; the senders send at 1 Mbit/s (128 KiB/s)
MIN='relocation-min-rate = 512;'
start_host a || { not_ok "host a starts"; finish; }
start_host b "" "$MIN" || { not_ok "host b starts"; finish; }
start_host c "" "$(tls c "$fd")" || { not_ok "host c starts"; finish; }
start_host d "" "$(tls d "$fc")
$MIN" || { not_ok "host d starts"; finish; }
truncate -s 16M "$T/kernel16m"

slow_migration() { # slow_migration FROM TO WHAT
    local from=$1 to=$2 name=r$1 out
    on "$from" xpost /xend/domain op=create \
        "config=(vm (name $name) (memory 64) (image (linux (kernel $T/kernel16m) (args 'sim.load=10 sim.dirty_rate=0'))))" >/dev/null
    on "$from" xpost /xend/domain/$name op=unpause >/dev/null
    local s0
    s0=$(sum "$from" "$name")
    out=$(XEND=127.0.0.1:${PORT[$from]} "$XM" migrate -r 1 "$name" "127.0.0.1:${RPORT[$to]}" 2>&1)
    expect_match "$3: the migration at 1 Mbit/s fails" 'Error' "$out"
    expect_match "$3: the receiver cut it for its rate" \
        'relocation deadline passed peer=127\.0\.0\.1 reason="the image came too slowly"' \
        "$(cat "$T/$to/xend.log")"
    expect_eq "$3: the domain runs on at the sender, and only there" "$from" "$(running_on "$name")"
    expect_eq "$3: with its memory" "$s0" "$(sum "$from" "$name")"
    expect_eq "$3: the receiver kept nothing of it" "" "$(on "$to" xget /xend/domain | grep -o "$name")"
    # the slot is free: a migration at full speed goes through
    out=$(XEND=127.0.0.1:${PORT[$from]} "$XM" migrate "$name" "127.0.0.1:${RPORT[$to]}" 2>&1)
    expect_eq "$3: then one at full speed goes through" "" "$out"
    expect_eq "$3: and the domain is at the receiver" "$to" "$(running_on "$name")"
}
slow_migration a b "plain TCP"
slow_migration c d "over TLS"
finish
