#!/bin/bash
# `xend check -c CONF` (issue 20): the configuration checked offline, as a start reads it
# (the core's settings and each plugin's), each problem with its line: exit 0 and "FILE:
# ok", or 1. Nothing starts: no pid file, no log file, no state, no simhv.
source "$(dirname "$0")/lib.sh"

xend_prepare
cp "$T/xend.conf" "$T/good.conf"
out=$("$XEND_BIN" check -c "$T/good.conf" 2>&1)
expect_eq "a good config exits 0" 0 $?
expect_eq "and says ok" "$T/good.conf: ok" "$out"

cp "$T/xend.conf" "$T/typos.conf"
cat >> "$T/typos.conf" <<CONF
xend-prot = 8000;
console-port-bse = 9600;
vif-brigde = "xenbr0";
frobnicate = 1;
CONF
first=$(($(wc -l < "$T/xend.conf") + 1))
out=$("$XEND_BIN" check -c "$T/typos.conf" 2>/dev/null)
expect_eq "unknown settings exit 1" 1 $?
expect_match "a core setting's typo, its line and a suggestion" \
    "^$T/typos.conf:$first: unknown setting 'xend-prot'; did you mean 'xend-port'\?$" "$out"
expect_match "a plugin's setting is known to the check (console)" \
    "^$T/typos.conf:$((first + 1)): unknown setting 'console-port-bse'; did you mean 'console-port-base'\?$" "$out"
expect_match "and another plugin's (vif)" \
    ":$((first + 2)): unknown setting 'vif-brigde'; did you mean 'vif-bridge'\?$" "$out"
expect_match "every one is listed, with no suggestion for nonsense" \
    ":$((first + 3)): unknown setting 'frobnicate'$" "$out"
expect_eq "four problems" 4 "$(printf '%s\n' "$out" | grep -c 'unknown setting')"

sed 's/^minimum-restart-time = 20;$/minimum-restart-time = "soon";/' "$T/xend.conf" > "$T/value.conf"
line=$(grep -n '^minimum-restart-time' "$T/value.conf" | cut -d: -f1)
out=$("$XEND_BIN" check -c "$T/value.conf" 2>&1)
expect_eq "a bad value exits 1" 1 $?
expect_match "and names its line" "$T/value.conf:$line: .*minimum-restart-time" "$out"

# Every bad value in one run, with the unknown settings, in the file's order: the core's
# own (read first), one checked beyond its type, and a plugin's (console).
sed -e 's/^minimum-restart-time = 20;$/minimum-restart-time = "soon";/' \
    -e 's/^console-port-base = .*/console-port-base = "high";/' \
    -e 's/^log-level = .*/log-level = "loud";/' \
    -e 's/^pid-file = .*/pid-file = "";/' "$T/xend.conf" > "$T/many.conf"
echo 'xend-prot = 8000;' >> "$T/many.conf"
out=$("$XEND_BIN" check -c "$T/many.conf" 2>/dev/null)
expect_eq "many bad values exit 1" 1 $?
lines=$(printf '%s\n' "$out" | sed -n 's/^.*many.conf:\([0-9]*\): .*/\1/p' | tr '\n' ' ')
want=""
for key in log-level pid-file console-port-base minimum-restart-time xend-prot; do
    want="$want$(grep -n "^$key " "$T/many.conf" | cut -d: -f1) "
done
expect_eq "each bad value and the typo named once, in line order" "$(echo $want | tr ' ' '\n' | sort -n | tr '\n' ' ')" "$lines"
expect_match "a plugin's bad value is named too" "setting 'console-port-base' must be an integer" "$out"
expect_match "and a value checked beyond its type" "setting 'pid-file' must not be empty" "$out"

# A value a plugin refuses in its own init (past type and range) fails the check too.
sed 's/^minimum-restart-time = 20;$/script-dry-run = "maybe";/' "$T/xend.conf" > "$T/plugin.conf"
out=$("$XEND_BIN" check -c "$T/plugin.conf" 2>/dev/null)
expect_eq "a value a plugin refuses exits 1" 1 $?
expect_match "and names the plugin and why" \
    "vif.so: plugin refused: init failed: .*script-dry-run must be auto, yes or no, not 'maybe'" "$out"

printf 'xend-port = 8000;\nlog-level = ;\n' > "$T/syntax.conf"
out=$("$XEND_BIN" check -c "$T/syntax.conf" 2>&1)
expect_eq "a syntax error exits 1" 1 $?
expect_match "and names its line" "syntax.conf:2: syntax error" "$out"

printf '(xend-port 8000)\n(xend-prot 8001)\n' > "$T/legacy.sxp"
out=$("$XEND_BIN" check -c "$T/legacy.sxp" 2>&1)
expect_match "a legacy SXP config is checked too" "legacy.sxp:2: unknown setting 'xend-prot'" "$out"

check "nothing started: no pid file" test ! -e "$T/xend.pid"
check "no log file" test ! -e "$T/xend.log"
check "no simhv socket" test ! -e "$T/state/simhv.sock"
check "xend is not running" sh -c "! '$XEND_BIN' status -c '$T/xend.conf'"
expect_match "--help says what check does" 'check +check the configuration file' "$("$XEND_BIN" --help)"
finish
