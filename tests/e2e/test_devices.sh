#!/bin/bash
# Devices through the real daemon on the sim backend: vifs and vbds (and a third class from
# a test-only plugin, tpm) created with their domain, the exact script invocations (test
# scripts record their argv), op=vifs/vif/vbds/vbd replies, sharing refusals, duplicate
# macs, a failing script rolled back, hot-plug both ways and device_configure, devices
# surviving an xend restart (re-attached, no script runs) and a domain restart (scripts
# run again), and released on destroy.
source "$(dirname "$0")/lib.sh"

# ---- recording scripts: one line per run, the arguments separated by | ----
mkdir -p "$T/scripts"
PD=$(plugin_dir_new) || exit 1
record() { # record NAME LOGFILE [BODY]
    cat > "$T/scripts/$1" <<EOF
#!/bin/sh
printf '%s|' "\$@" >> $2
echo >> $2
${3:-}
EOF
    chmod 755 "$T/scripts/$1"
}
record vif-rec "$T/vif.log"
record net-rec "$T/net.log"
record vif-fail "$T/vif.log" '[ "$1" = up ] && { echo "vif-fail: cannot reach bridge"; exit 1; }; exit 0'
record block-rec "$T/block.log" '[ "$1" = bind ] && echo "'"$T"'/node.$(basename "$2")"; exit 0'
for f in img1 img2 img3 img4 img5; do printf 'disk %s\n' $f > "$T/$f"; done

# The build's plugins plus the test-only device class.
for p in "$BUILD_DIR"/lib/xend/plugins/*.so; do ln -sf "$p" "$PD/"; done
if [ -f "$BUILD_DIR/tests/plugins/devclass_test.so" ]; then
    ln -sf "$BUILD_DIR/tests/plugins/devclass_test.so" "$PD/"
    have_tpm=1
else
    have_tpm=0
fi

CONF="plugin-dir = \"$PD\";
vif-script = \"vif-rec\";
network-script = \"net-rec\";
vif-bridge = \"xbr0\";
block-file = \"block-rec\";"

xend_start "$CONF" || { not_ok "xend starts"; finish; }
ok "xend starts"

lines() { [ -f "$1" ] && grep -c -- "$2" "$1" || echo 0; }
has_line() { [ -f "$1" ] && grep -qxF -- "$2" "$1"; }

wait_until 10 has_line "$T/net.log" "start|bridge=xbr0|antispoof=yes|" &&
    ok "the network script ran at start: start bridge=xbr0 antispoof=yes" ||
    not_ok "the network script ran at start" "$(cat "$T/net.log" 2>/dev/null)"

# ---- create with several vifs and vbds ----
tpm=
[ $have_tpm = 1 ] && tpm="(device (tpm (instance 1)))"
devs="(device (vif (mac None)))
      (device (vif (mac aa:00:00:00:10:01) (bridge br1) (ip '10.0.0.5/24 10.0.0.6')))
      (device (vbd (uname file:$T/img1) (dev sda1) (mode w)))
      (device (vbd (uname file:$T/img2) (dev hda1) (mode r)))
      $tpm"
body=$(xpost /xend/domain op=create "config=$(vm_config vm1 32 "$devs")")
expect_eq "create with two vifs and two vbds: 201" 201 "$(http_status)"
id=$(printf '%s' "$body" | grep -oE '^\(domain \(id [0-9]+' | grep -oE '[0-9]+$')
mac0=$(printf '%s' "$body" | grep -oE '\(vif \(idx 0\) \(vif [0-9]+\) \(vifname vif[0-9.]+\) \(mac [0-9a-f:]+' |
    grep -oE '[0-9a-f:]{17}$')
expect_match "the vif without a mac got one of aa:00:00 (4th byte < 0x80)" \
    '^aa:00:00:[0-7][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}$' "$mac0"
expect_match "the stored config carries the generated mac" "\\(device \\(vif \\(mac $mac0\\)\\)\\)" "$body"
check "vif script up for vif 0, exactly" \
    has_line "$T/vif.log" "up|domain=vm1|vif=vif$id.0|mac=$mac0|bridge=xbr0|"
check "vif script up for vif 1 with its bridge and addresses as one argument" \
    has_line "$T/vif.log" "up|domain=vm1|vif=vif$id.1|mac=aa:00:00:00:10:01|bridge=br1|ip=10.0.0.5/24 10.0.0.6|"
check "block-file bind for the file vbds" has_line "$T/block.log" "bind|$T/img1|"
[ $have_tpm = 1 ] && check "the third class attached" grep -qE "tpm attach .*domain=vm1 instance=1" "$T/xend.log"

body=$(xget "/xend/domain/vm1?op=vifs")
expect_eq "op=vifs lists both vifs" \
    "((vif (idx 0) (vif 0) (vifname vif$id.0) (mac $mac0) (bridge xbr0) (script vif-rec) (index 0)) (vif (idx 1) (vif 1) (vifname vif$id.1) (mac aa:00:00:00:10:01) (bridge br1) (script vif-rec) (ip 10.0.0.5/24) (ip 10.0.0.6) (index 1)))" \
    "$body"
body=$(xget "/xend/domain/vm1?op=vif&vif=1")
expect_eq "op=vif&vif=1 is that vif's SXP" \
    "(vif (idx 1) (vif 1) (vifname vif$id.1) (mac aa:00:00:00:10:01) (bridge br1) (script vif-rec) (ip 10.0.0.5/24) (ip 10.0.0.6) (index 1))" \
    "$body"
body=$(xget "/xend/domain/vm1?op=vbd&vbd=0")
expect_eq "op=vbd&vbd=0: vdev of sda1, the node the script printed" \
    "(vbd (idx 0) (vdev 2049) (device 2049) (mode w) (dev sda1) (uname file:$T/img1) (node $T/node.img1) (index 0))" \
    "$body"
body=$(xget "/xend/domain/vm1?op=vbds")
expect_match "op=vbds lists both vbds (hda1 = 769)" \
    "^\\(\\(vbd \\(idx 0\\).*\\(vbd \\(idx 1\\) \\(vdev 769\\) \\(device 769\\) \\(mode r\\) \\(dev hda1\\)" "$body"
xget "/xend/domain/vm1?op=vif&vif=7" >/dev/null
body=$(xget "/xend/domain/vm1?op=vif&vif=7")
expect_match "an unknown vif index is an error" 'invalid device: vif 7' "$body"

# ---- refusals before anything is created ----
before_vif=$(wc -l < "$T/vif.log")
before_block=$(wc -l < "$T/block.log")
body=$(xpost /xend/domain op=create "config=$(vm_config vm2 32 "(device (vif)) (device (vbd (uname file:$T/img1) (dev sda1) (mode r)))")")
expect_match "a segment in writable use is refused" "xend.err.*vbd: Segment file:$T/img1 is in writable use" "$body"
body=$(xpost /xend/domain op=create "config=$(vm_config vm2 32 "(device (vbd (uname file:$T/img2) (dev sda1) (mode w)))")")
expect_match "a segment in read-only use cannot be used writable" "xend.err.*vbd: Segment file:$T/img2 is in read-only use" "$body"
body=$(xpost /xend/domain op=create "config=$(vm_config vm2 32 "(device (vif (mac aa:00:00:00:10:01)))")")
expect_match "a duplicate mac is refused" 'xend.err.*vif: duplicate mac aa:00:00:00:10:01' "$body"
body=$(xpost /xend/domain op=create "config=$(vm_config vm2 32 "(device (vif (mac aa:00:00:00:10)))")")
expect_match "a malformed mac is refused" 'xend.err.*vif: invalid mac' "$body"
body=$(xpost /xend/domain op=create "config=$(vm_config vm2 32 "(device (vif (backend 99)))")")
expect_match "an unknown backend domain is refused" 'xend.err.*vif: unknown backend domain: 99' "$body"
body=$(xpost /xend/domain op=create "config=$(vm_config vm2 32 "(device (vbd (uname phy:nosuchdisk) (dev sda1)))")")
expect_match "a missing phy device is refused" 'xend.err.*vbd: Device not found: nosuchdisk' "$body"
body=$(xpost /xend/domain op=create "config=$(vm_config vm2 32 "(device (vbd (dev sda1)))")")
expect_match "a vbd without uname is refused" 'xend.err.*vbd: Missing uname' "$body"
body=$(xpost /xend/domain op=create "config=$(vm_config vm2 32 "(device (usb (port 1)))")")
expect_match "a class no plugin provides is refused" 'xend.err.*invalid device type: usb' "$body"
xget /xend/domain/vm2 >/dev/null
expect_eq "no vm2 was left behind" 404 "$(http_status)"
expect_eq "no vif script ran for the refused configs" "$before_vif" "$(wc -l < "$T/vif.log")"
expect_eq "no block script ran for the refused configs" "$before_block" "$(wc -l < "$T/block.log")"

body=$(xpost /xend/domain op=create "config=$(vm_config vm2 32 "(device (vbd (uname file:$T/img2) (dev sda1) (mode r)))")")
expect_eq "read-only sharing is allowed" 201 "$(http_status)"
xpost /xend/domain/vm2 op=destroy reason=halt >/dev/null
gone() { xget "/xend/domain/$1" >/dev/null; [ "$(http_status)" = 404 ]; }
wait_until 10 gone vm2 && ok "vm2 destroyed" || not_ok "vm2 destroyed"
check "its file was unbound on destroy" has_line "$T/block.log" "unbind|$T/node.img2|"

# ---- a failing script fails the create and rolls back ----
body=$(xpost /xend/domain op=create "config=$(vm_config vm4 32 "(device (vbd (uname file:$T/img3) (dev sda1) (mode w))) (device (vif (mac aa:00:00:00:20:01))) (device (vif (mac aa:00:00:00:20:02) (script vif-fail)))")")
expect_match "the failing vif script's message reaches the client" \
    'xend.err.*vif: script [^ ]*/vif-fail up failed: exit status 1: vif-fail: cannot reach bridge' "$body"
xget /xend/domain/vm4 >/dev/null
expect_eq "the failed domain is gone" 404 "$(http_status)"
up4=$(grep -c '^up|domain=vm4|.*mac=aa:00:00:00:20:01|' "$T/vif.log")
down4=$(grep -c '^down|domain=vm4|.*mac=aa:00:00:00:20:01|' "$T/vif.log")
expect_eq "the vif attached before it was taken down again" "1 1" "$up4 $down4"
check "the vbd attached before it was unbound" has_line "$T/block.log" "unbind|$T/node.img3|"
body=$(xpost /xend/domain op=create "config=$(vm_config vm4 32 "(device (vif (mac aa:00:00:00:20:01))) (device (vbd (uname file:$T/img3) (dev sda1) (mode w)))")")
expect_eq "after the rollback its mac and segment are free again" 201 "$(http_status)"
xpost /xend/domain/vm4 op=destroy reason=halt >/dev/null
wait_until 10 gone vm4 || true
if [ $have_tpm = 1 ]; then
    body=$(xpost /xend/domain op=create "config=$(vm_config vm5 32 "(device (vif (mac aa:00:00:00:30:01))) (device (tpm (instance 5) (fail attach)))")")
    expect_match "a site class's failing attach rolls back the vif before it" \
        'xend.err.*tpm: instance 5 refused to attach' "$body"
    check "the vif was taken down" grep -q '^down|domain=vm5|.*mac=aa:00:00:00:30:01|' "$T/vif.log"
fi

# ---- hot-plug on a running domain ----
xpost /xend/domain/vm1 op=unpause >/dev/null
body=$(xpost /xend/domain/vm1 op=device_create "config=(vif (bridge br2))")
expect_match "device_create vif replies the new vif" "^\\(vif \\(idx 2\\) \\(vif 2\\) \\(vifname vif$id.2\\) \\(mac aa:00:00:" "$body"
mac2=$(printf '%s' "$body" | grep -oE '\(mac [0-9a-f:]+' | grep -oE '[0-9a-f:]{17}$')
check "the hot-plugged vif came up" has_line "$T/vif.log" "up|domain=vm1|vif=vif$id.2|mac=$mac2|bridge=br2|"
expect_match "the stored config follows" "\\(device \\(vif \\(mac $mac2\\) \\(bridge br2\\)\\)\\)" \
    "$(xget /xend/domain/vm1)"
body=$(xpost /xend/domain/vm1 op=device_create "config=(vbd (uname file:$T/img4) (dev sdb1) (mode w))")
expect_match "device_create vbd replies the new vbd" "^\\(vbd \\(idx 2\\) \\(vdev 2065\\)" "$body"
check "the hot-plugged file was bound" has_line "$T/block.log" "bind|$T/img4|"
body=$(xpost /xend/domain/vm1 op=device_create "config=(vbd (uname file:$T/img5) (dev sda1))")
expect_match "a vdev already used in the domain is refused" "vbd: device sda1 already in use in domain $id" "$body"
body=$(xpost /xend/domain/vm1 op=device_create "config=(vif (mac $mac0))")
expect_match "a hot-plugged vif with a mac in use is refused" "vif: duplicate mac $mac0" "$body"
if [ $have_tpm = 1 ]; then
    body=$(xpost /xend/domain/vm1 op=device_create "config=(tpm (instance 2))")
    expect_match "a site class hot-plugs too" '^\(tpm \(idx 1\) \(instance 2\) \(state attached\)\)' "$body"
fi

body=$(xpost /xend/domain/vm1 op=device_configure "config=(vif (mac aa:00:00:00:10:01) (bridge br3))" idx=1)
expect_eq "device_configure changes the bridge" 0 "$body"
check "down ran with the old settings" \
    has_line "$T/vif.log" "down|domain=vm1|vif=vif$id.1|mac=aa:00:00:00:10:01|bridge=br1|ip=10.0.0.5/24 10.0.0.6|"
check "up ran with the new ones" \
    has_line "$T/vif.log" "up|domain=vm1|vif=vif$id.1|mac=aa:00:00:00:10:01|bridge=br3|"
expect_match "op=vif shows the new bridge" '\(bridge br3\)' "$(xget "/xend/domain/vm1?op=vif&vif=1")"
body=$(xpost /xend/domain/vm1 op=device_configure "config=(vif (mac aa:00:00:00:10:99))" idx=1)
expect_match "the mac cannot change" 'vif: cannot change mac' "$body"

body=$(xpost /xend/domain/vm1 op=device_destroy type=vif idx=2)
check "device_destroy takes the vif down" has_line "$T/vif.log" "down|domain=vm1|vif=vif$id.2|mac=$mac2|bridge=br2|"
expect_no_match "the destroyed vif is gone from op=vifs" "vif$id.2" "$(xget "/xend/domain/vm1?op=vifs")"
expect_no_match "and from the stored config" "bridge br2" "$(xget /xend/domain/vm1)"
xpost /xend/domain/vm1 op=device_destroy type=vbd idx=2 >/dev/null
check "device_destroy unbinds the vbd" has_line "$T/block.log" "unbind|$T/node.img4|"
body=$(xpost /xend/domain/vm1 op=device_destroy type=vif idx=9)
expect_match "destroying a missing device is an error" 'invalid device: vif 9' "$body"

# ---- xend restart: devices re-attached, no script runs ----
vifs_before=$(xget "/xend/domain/vm1?op=vifs")
vbds_before=$(xget "/xend/domain/vm1?op=vbds")
vif_lines=$(wc -l < "$T/vif.log")
block_lines=$(wc -l < "$T/block.log")
xend_stop
wait_until 10 has_line "$T/net.log" "stop|bridge=xbr0|antispoof=yes|" &&
    ok "the network script ran at stop" || not_ok "the network script ran at stop" "$(cat "$T/net.log")"
xend_start "$CONF" || { not_ok "xend restarts"; finish; }
expect_eq "after an xend restart the vifs are as they were" "$vifs_before" "$(xget "/xend/domain/vm1?op=vifs")"
expect_eq "and the vbds" "$vbds_before" "$(xget "/xend/domain/vm1?op=vbds")"
expect_eq "no vif script ran for the re-attach" "$vif_lines" "$(wc -l < "$T/vif.log")"
expect_eq "no block script ran for the re-attach" "$block_lines" "$(wc -l < "$T/block.log")"
[ $have_tpm = 1 ] && check "the site class re-attached" grep -qE "tpm reattach .*domain=vm1 instance=1" "$T/xend.log"

# ---- domain restart: devices detached and attached again ----
ups=$(lines "$T/vif.log" "^up|domain=vm1|")
downs=$(lines "$T/vif.log" "^down|domain=vm1|")
xpost /xend/domain/vm1 op=shutdown reason=reboot >/dev/null
restarted() { [ "$(lines "$T/vif.log" "^up|domain=vm1|")" -ge $((ups + 2)) ]; }
wait_until 20 restarted && ok "the restarted domain's vifs came up again" ||
    not_ok "the restarted domain's vifs came up again" "$(tail -5 "$T/vif.log")"
expect_eq "after being taken down" $((downs + 2)) "$(lines "$T/vif.log" "^down|domain=vm1|")"
running() { xget /xend/domain/vm1 | grep -qE '\(state [rb]'; }
wait_until 10 running && ok "vm1 runs again" || not_ok "vm1 runs again"
expect_match "the configured bridge survived the restart" '\(bridge br3\)' "$(xget "/xend/domain/vm1?op=vif&vif=1")"
id2=$(xget /xend/domain/vm1 | grep -oE '^\(domain \(id [0-9]+' | grep -oE '[0-9]+$')
check "the up after restart names the vif by the domain's id" \
    grep -q "^up|domain=vm1|vif=vif$id2.1|mac=aa:00:00:00:10:01|bridge=br3|" "$T/vif.log"

# ---- destroy releases everything ----
xpost /xend/domain/vm1 op=destroy reason=halt >/dev/null
wait_until 10 gone vm1 && ok "vm1 destroyed" || not_ok "vm1 destroyed"
expect_eq "every vif up of vm1 has its down" "$(lines "$T/vif.log" "^up|domain=vm1|")" \
    "$(lines "$T/vif.log" "^down|domain=vm1|")"
expect_eq "every bind has its unbind" "$(lines "$T/block.log" "^bind|")" "$(lines "$T/block.log" "^unbind|")"

finish
