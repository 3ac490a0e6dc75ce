#!/bin/bash
# A hot-plug marks its domain busy: a destroy (or the domain's death) while a
# device_create's attach script still runs does not free the domain under the hot-plug's
# completion, and a device_destroy is refused while the domain is torn down. Run on an
# ASan build (-DXEND_SANITIZE=ON), a use-after-free would be reported in $T/san.*.
source "$(dirname "$0")/lib.sh"

mkdir -p "$T/scripts"
use_vif_script vif-slow <<'SCRIPT'
#!/bin/sh
[ "$1" = up ] && sleep 2
exit 0
SCRIPT

xend_start "$CONF" || { not_ok "xend starts"; finish; }
ok "xend starts"

xpost /xend/domain op=create "config=$(vm_config hp1 32)" >/dev/null
expect_eq "hp1 created" 201 "$(http_status)"

# device_create: its up script sleeps 2 s; the request is deferred meanwhile.
xpost /xend/domain/hp1 op=device_create "config=(vif (mac aa:00:00:00:77:01))" > "$T/dc.out" &
dc=$!
sleep 0.5
body=$(xpost /xend/domain/hp1 op=destroy reason=halt)
expect_match "destroy during a hot-plug is refused as busy (or waits for it)" \
    'busy|^0$' "$body"
wait $dc
dc_body=$(cat "$T/dc.out")
echo "# device_create replied: $dc_body"
# Give the completion time to run, then make sure xend is still alive.
sleep 1
xget /xend/domain >/dev/null
expect_eq "xend still answers after the hot-plug completed on a destroyed domain" 200 "$(http_status)"
if [ "$body" = 0 ]; then
    expect_match "the hot-plug reply does not claim success on a destroyed domain" 'xend.err' "$dc_body"
fi

finish
