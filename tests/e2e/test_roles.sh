#!/bin/bash
# Roles (docs/security.md): a viewer (a member of viewer-group) reads but may not destroy,
# read the log or reach a console; an operator (operator-group) creates, destroys, saves
# and restores inside save-dir, but not outside it, not without a save-dir, not with a
# device script of its own and not with a writable disk outside vbd-allow-operator; root
# (admin) does all of that. Each refusal says which role it needs and leaves an audit line.
#
# Needs root (groupadd, useradd, runuser): without it the test says so and passes nothing.
source "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ] || ! command -v runuser >/dev/null || ! command -v groupadd >/dev/null; then
    echo "# SKIP: not root: the roles need other users and groups"
    finish
fi
OPG=xrlo$$
VWG=xrlv$$
OPU=xrlou$$
VWU=xrlvu$$
groupadd "$OPG" && groupadd "$VWG" || { not_ok "groupadd"; finish; }
useradd -M -N -g nogroup -G "$OPG" -s /usr/sbin/nologin -d /nonexistent "$OPU" &&
    useradd -M -N -g nogroup -G "$VWG" -s /usr/sbin/nologin -d /nonexistent "$VWU" ||
    { not_ok "useradd"; finish; }
trap 'cleanup; userdel "$OPU" 2>/dev/null; userdel "$VWU" 2>/dev/null;
      groupdel "$OPG" 2>/dev/null; groupdel "$VWG" 2>/dev/null' EXIT

mkdir -p "$T/scripts" "$T/saves" "$T/disks"
use_vif_script vif-ok <<'SH'
#!/bin/sh
exit 0
SH
printf '#!/bin/sh\ntouch %s/custom-ran\nexit 0\n' "$T" > "$T/scripts/vif-custom"
printf '#!/bin/sh\n[ "$1" = bind ] && echo "%s/node.$(basename "$2")"\nexit 0\n' "$T" \
    > "$T/scripts/block-wire"
chmod 755 "$T/scripts/vif-custom" "$T/scripts/block-wire"
printf 'disk\n' > "$T/disks/op.img"
printf 'disk\n' > "$T/outside.img"
printf 'disk\n' > "$T/outside2.img"
BASE_CONF="$CONF
block-file = \"block-wire\";
operator-group = \"$OPG\";
viewer-group = \"$VWG\";
vbd-allow-operator = \"file:$T/disks/*\";"

# as USER CURL-ARGS...: curl as USER; the status in $ST, the body in $BODY
as() {
    local who=$1 out
    shift
    out=$(runuser -u "$who" -- curl -s -g -w '\n%{http_code}' "$@") || out=$'\n000'
    ST=${out##*$'\n'}
    BODY=${out%$'\n'*}
}
post_as() { # USER PATH NAME=VALUE...
    local who=$1 path=$2 a
    shift 2
    local args=()
    for a in "$@"; do args+=(--data-urlencode "$a"); done
    as "$who" "${args[@]}" "$URL$path"
}
exists() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/xend/domain/$1")" = 200 ]; }
audit() { grep -E "audit .*$1" "$T/xend.log"; }

# ---- without save-dir: an operator names no save file at all ----
xend_start "$BASE_CONF" || { not_ok "xend starts"; finish; }
URL=http://127.0.0.1:$XEND_PORT
post_as "$OPU" /xend/domain op=create "config=$(vm_config opsave 32)"
expect_eq "an operator creates" 201 "$ST"
post_as "$OPU" /xend/domain/opsave op=save "file=$T/saves/opsave.save"
expect_match "without save-dir an operator's save is refused, and told why" \
    'xend.err.*role operator may save and restore only inside save-dir, and this xend has no save-dir' \
    "$BODY"
check "and the domain is still there" exists opsave
check "no file was written" test ! -e "$T/saves/opsave.save"
post_as "$OPU" /xend/domain op=restore "file=$T/saves/opsave.save"
expect_match "so is a restore" 'xend.err.*no save-dir' "$BODY"
xend_stop

# ---- with save-dir ----
xend_start "$BASE_CONF
save-dir = \"$T/saves\";" || { not_ok "xend starts with save-dir"; finish; }
ok "xend starts with operator-group, viewer-group, save-dir and vbd-allow-operator"

# ---- anyone else ----
as nobody "$URL/xend/domain"
expect_eq "a user in no group is still refused" 403 "$ST"
expect_match "and told which groups give which role" \
    "user nobody .* is neither root nor in group '$OPG' \\(operator\\) or '$VWG' \\(viewer\\)" "$BODY"

# ---- viewer ----
as "$VWU" "$URL/xend/domain"
expect_eq "a viewer lists the domains" 200 "$ST"
expect_match "and sees them" 'opsave' "$BODY"
as "$VWU" "$URL/xend/domain/opsave"
expect_eq "a viewer reads a domain" 200 "$ST"
as "$VWU" "$URL/xend/event"
expect_eq "a viewer reads the events" 200 "$ST"
post_as "$VWU" /xend/domain/opsave op=destroy reason=halt
expect_eq "a viewer's destroy is 403" 403 "$ST"
expect_match "which says which role it needs" \
    'Permission denied: role viewer may not destroy on /xend/domain/opsave; needs role operator' \
    "$BODY"
check "the domain is still there" exists opsave
check "the refusal has its audit line with the role" \
    audit "user=$VWU via=sock_diag .*op=destroy status=403 role=viewer"
post_as "$VWU" /xend/domain op=create "config=$(vm_config byviewer 32)"
expect_eq "a viewer's create is 403" 403 "$ST"
exists byviewer && not_ok "the viewer made no domain" || ok "the viewer made no domain"
as "$VWU" "$URL/xend/node/log"
expect_eq "a viewer may not read the log (admin)" 403 "$ST"
check "a refused read has its audit line too" \
    audit "user=$VWU .*method=GET path=/xend/node/log op=- status=403 role=viewer"
cport=$(xget /xend/domain/opsave | grep -oE '\(console_port [0-9]+\)' | grep -oE '[0-9]+')
out=$(runuser -u "$VWU" -- perl -MIO::Socket::INET -e '
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $ARGV[0]) or die "$!\n";
    my $got = ""; while (sysread($s, my $b, 4096)) { $got .= $b; } print $got;' "$cport" 2>&1)
expect_match "a viewer's console connection is refused with its reason" \
    "Access denied: user $VWU .* has role viewer; this needs role operator" "$out"

# ---- operator ----
post_as "$OPU" /xend/domain op=create "config=$(vm_config op1 32 "(device (vif))")"
expect_eq "an operator creates a domain with a vif (the default script)" 201 "$ST"
check "with an audit line naming its role" audit "user=$OPU .*op=create status=201 role=operator"
post_as "$OPU" /xend/domain/op1 op=unpause
expect_eq "unpauses it" 200 "$ST"
post_as "$OPU" /xend/domain/op1 op=destroy reason=halt
expect_eq "destroys it" 200 "$ST"
exists op1 && not_ok "op1 is gone" || ok "op1 is gone"

post_as "$OPU" /xend/domain/opsave op=save "file=$T/saves/opsave.save"
expect_eq "an operator saves into save-dir" "200 0" "$ST $BODY"
check "the image is there" test -s "$T/saves/opsave.save"
post_as "$OPU" /xend/domain op=restore "file=$T/saves/opsave.save"
expect_eq "and restores it" 201 "$ST"
check "the domain is back" exists opsave
post_as "$OPU" /xend/domain/opsave op=save "file=$T/elsewhere.save"
expect_match "a save outside save-dir is refused" 'xend.err.*outside save-dir' "$BODY"
check "and writes nothing" test ! -e "$T/elsewhere.save"
check "the domain is still there" exists opsave

post_as "$OPU" /xend/domain op=create "config=$(vm_config opscript 32 "(device (vif (script vif-custom)))")"
expect_match "an operator's device script is refused, even one of script-dir" \
    'xend.err.*vif: script vif-custom refused: role operator may not name a device script' "$BODY"
exists opscript && not_ok "no domain was made" || ok "no domain was made"
check "the script did not run" test ! -e "$T/custom-ran"
post_as "$OPU" /xend/domain op=create \
    "config=$(vm_config opdisk 32 "(device (vbd (uname file:$T/outside.img) (dev sda1) (mode w)))")"
expect_match "a writable disk outside vbd-allow-operator is refused" \
    "xend.err.*file:$T/outside.img matches no vbd-allow-operator pattern" "$BODY"
exists opdisk && not_ok "no domain was made" || ok "no domain was made"
post_as "$OPU" /xend/domain op=create \
    "config=$(vm_config opro 32 "(device (vbd (uname file:$T/outside.img) (dev sda1) (mode r)))")"
expect_match "the same disk read-only is refused too (read, it is still given away)" \
    "xend.err.*file:$T/outside.img matches no vbd-allow-operator pattern" "$BODY"
exists opro && not_ok "no domain was made" || ok "no domain was made"
post_as "$OPU" /xend/domain op=create \
    "config=$(vm_config opdisk2 32 "(device (vbd (uname file:$T/disks/op.img) (dev sda1) (mode w)))")"
expect_eq "a writable disk inside vbd-allow-operator is accepted" 201 "$ST"
post_as "$OPU" /xend/domain/opdisk2 op=pincpu cpu=0
expect_eq "an operator may not pin a cpu (admin)" 403 "$ST"
post_as "$OPU" /xend/node op=shutdown
expect_eq "nor shut the host down" 403 "$ST"
expect_match "which says it needs admin" 'role operator may not shutdown on /xend/node; needs role admin' "$BODY"

# ---- admin (root): everything ----
body=$(xpost /xend/domain op=create "config=$(vm_config adm1 32 "(device (vif (script vif-custom))) (device (vbd (uname file:$T/outside2.img) (dev sda1) (mode w)))")")
expect_eq "root creates with its own script and a writable disk outside the operator's patterns" \
    "201" "$(http_status)" || echo "# $body"
check "root's script ran" wait_until 10 test -e "$T/custom-ran"
xget /xend/node/log >/dev/null
expect_eq "root reads the log" 200 "$(http_status)"
xpost /xend/domain/adm1 op=pincpu cpu=0 >/dev/null
expect_eq "root pins a cpu" 200 "$(http_status)"
out=$(xm list 2>&1)
expect_match "xm as root works" 'adm1' "$out"

# ---- a restore is judged as its caller: an image with root's script is not an operator's ----
body=$(xpost /xend/domain/adm1 op=save "file=$T/saves/adm1.save")
expect_eq "root saves a domain with its own script into save-dir" "200 0" "$(http_status) $body"
rm -f "$T/custom-ran"
post_as "$OPU" /xend/domain op=restore "file=$T/saves/adm1.save"
expect_match "an operator's restore of it is refused for the script" \
    'xend.err.*vif: script vif-custom refused: role operator may not name a device script' "$BODY"
exists adm1 && not_ok "no domain was restored" || ok "no domain was restored"
check "and the script did not run" test ! -e "$T/custom-ran"
body=$(xpost /xend/domain op=restore "file=$T/saves/adm1.save")
expect_eq "root restores it" 201 "$(http_status)"
check "xm destroy as root works" xm destroy adm1
finish
