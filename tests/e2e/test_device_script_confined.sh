#!/bin/bash
# A device's (script ...) runs only from script-dir: /bin/sh, a path outside, a relative
# path with '/' are refused at validation (nothing created, nothing run); a script of
# script-dir, by name or by absolute path, runs.
source "$(dirname "$0")/lib.sh"

mkdir -p "$T/scripts"
use_vif_script vif-ok <<'SH'
#!/bin/sh
exit 0
SH
mkdir -p "$T/outside"
printf '#!/bin/sh\ntouch %s/ran\n' "$T" > "$T/outside/evil"
chmod 755 "$T/outside/evil"
xend_start "$CONF" || { not_ok "xend starts"; finish; }

create() { xpost /xend/domain op=create "config=$(vm_config "$1" 32 "(device (vif (script $2)))")"; }

body=$(create vs1 /bin/sh)
expect_match "(vif (script /bin/sh)) is refused" 'xend.err.*script /bin/sh refused' "$body"
xget /xend/domain/vs1 >/dev/null
expect_eq "the refused domain was not created" 404 "$(http_status)"

body=$(create vs2 "$T/outside/evil")
expect_match "a script outside script-dir is refused" 'refused.*script-dir' "$body"
body=$(create vs3 "../outside/evil")
expect_match "a .. path is refused" 'xend.err' "$body"
body=$(create vs4 "sub/evil")
expect_match "a relative path with / is refused" 'xend.err.*refused' "$body"
ln -s "$T/outside/evil" "$T/scripts/evil-link"
body=$(create vs5 "$T/scripts/evil-link")
expect_match "an absolute symlink in script-dir leading out is refused" 'xend.err.*refused' "$body"
check "no refused script ran" test ! -e "$T/ran"
expect_no_match "no refused domain is listed" 'vs[1-5]' "$(xget /xend/domain)"

body=$(create vs6 vif-ok)
expect_eq "a script of script-dir by name is accepted" 201 "$(http_status)"
body=$(create vs7 "$T/scripts/vif-ok")
expect_eq "a script of script-dir by absolute path is accepted" 201 "$(http_status)"
finish
