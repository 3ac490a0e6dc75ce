#!/bin/bash
# xm for scripts: -o json (one JSON document) and -o sxp on every command that prints
# data, with the field names docs/xm.md documents; the default text stays 2.0's.
source "$(dirname "$0")/lib.sh"

xend_start || { not_ok "xend starts"; finish; }
ok "xend starts"
printf 'disk\n' > "$T/img1"
body=$(xpost /xend/domain op=create "config=$(vm_config vm1 32 "(device (vif (mac aa:00:00:00:10:01))) (device (vbd (uname file:$T/img1) (dev sda1) (mode r)))")")
expect_eq "a domain with a vif and a vbd" 201 "$(http_status)"
xpost /xend/vnet op=create 'config=(vnet (id 97))' >/dev/null
id=$(printf '%s' "$body" | grep -oE '^\(domain \(id [0-9]+' | grep -oE '[0-9]+$')

# json_ok DESC PYTHON-CHECK XM-ARGS...: the output is one JSON document, and the check
# (on d, the parsed document) holds.
json_ok() {
    local desc=$1 chk=$2
    shift 2
    if ! "$XM" "$@" > "$T/out" 2> "$T/err"; then
        not_ok "$desc" "xm $* failed: $(cat "$T/err")"
        return
    fi
    python3 -c 'import json,sys; json.load(sys.stdin)' < "$T/out" ||
        { not_ok "$desc" "not JSON: $(head -c 400 "$T/out")"; return; }
    if python3 -c "import json,sys; d = json.load(open(sys.argv[1])); assert $chk, d" "$T/out" 2> "$T/perr"; then
        ok "$desc"
    else
        not_ok "$desc" "$(tail -1 "$T/perr")"
    fi
}

json_ok "list -o json: rows with stable fields" \
    '[r["name"] for r in d] == ["Domain-0", "vm1"] and d[1]["id"] == '$id' and d[1]["memory"] == 32 and isinstance(d[1]["state"], str) and isinstance(d[1]["cpu_time"], float) and set(d[0]) == {"name","id","memory","cpu","state","cpu_time","console_port"}' \
    list -o json
json_ok "list vm1 --output=json: only that one" 'len(d) == 1 and d[0]["name"] == "vm1"' list --output=json vm1
json_ok "list -l -o json: whole records as objects" \
    'd[1]["name"] == "vm1" and d[1]["id"] == '$id' and d[1]["memory"] == 32' list -l -o json
json_ok "info -o json: an object of the host's fields" '"nr_cpus" in d or "memory" in d or "xen_major" in d' info -o json
json_ok "vif-list -o json: one object per vif" 'd[0]["mac"] == "aa:00:00:00:10:01" and d[0]["idx"] == 0' vif-list vm1 -o json
json_ok "vbd-list -o json: one object per vbd" 'len(d) == 1 and d[0]["dev"] == "sda1"' vbd-list -ojson vm1
json_ok "vnet-list -o json" 'd[0]["id"] == 97' vnet-list -o json
json_ok "consoles -o json" 'isinstance(d, list) and all("console_port" in c for c in d)' consoles -o json
json_ok "domid -o json" 'd == {"id": '$id', "name": "vm1"}' domid vm1 -o json
json_ok "domname -o json" 'd == {"id": '$id', "name": "vm1"}' domname $id -o json
json_ok "call -o json: the reply's JSON mapping" '"vm1" in d' call domains -o json
json_ok "dmesg -o json: the text as one string" 'isinstance(d, str)' dmesg -o json
json_ok "log -o json: the text as one string" 'isinstance(d, str) and "xend" in d' log -o json

out=$("$XM" list -o sxp)
expect_match "list -o sxp: one SXP value" "^\(\(domain \(name Domain-0\) \(id 0\) .*\(domain \(name vm1\) \(id $id\) \(memory 32\)" "$out"
out=$("$XM" domid vm1 -o sxp)
expect_eq "domid -o sxp" "(domain (id $id) (name vm1))" "$out"
out=$("$XM" list)
expect_match "the default stays the 2.0 table" '^Name +Id +Mem\(MB\) +CPU +State +Time\(s\) +Console' "$out"
out=$("$XM" domid vm1)
expect_eq "domid's default stays the bare number" "$id" "$out"
"$XM" list -o yaml > "$T/out" 2> "$T/err"
expect_eq "an unknown format is refused" "Error: invalid output format: yaml (json, sxp or text)" "$(cat "$T/err")"
finish
