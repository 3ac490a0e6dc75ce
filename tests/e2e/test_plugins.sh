#!/bin/bash
# Plugins in the real daemon: a plugin dir holding the real plugins and the test plugins
# that must be refused (wrong ABI major, newer minor, no symbol, bad magic, a core symbol,
# a failing init, a route conflict). xend keeps serving, logs one line naming the file and
# the reason for each, lists every plugin with its status at /xend/node/plugins, serves
# the good plugin's route and none of the failed ones', and runs hooks in load order on
# the way up and reversed on the way down, with a veto rolled back.
source "$(dirname "$0")/lib.sh"

TP=$BUILD_DIR/tests/plugins
# The ABI this xend speaks, from the header it was built with.
abi_num() { awk -v k="XEND_ABI_$1" '$1 == "#define" && $2 == k { print $3 }' "$SRC_DIR/include/xend/abi.h"; }
ABI="$(abi_num MAJOR).$(abi_num MINOR)"
NEWER_MINOR="$(abi_num MAJOR).$(( $(abi_num MINOR) + 1 ))"
PD=$(plugin_dir_new) || { not_ok "a plugin dir in the build tree"; finish; }
cp "$BUILD_DIR"/lib/xend/plugins/*.so "$PD"/
refused=(wrong_major newer_minor no_symbol bad_magic uses_core_symbol
         init_fails_after_registering route_conflict)
for p in good hook_order_a hook_order_b "${refused[@]}"; do
    cp "$TP/$p.so" "$PD"/ || { not_ok "test plugin $p.so is built"; finish; }
done

xend_start "plugin-dir = \"$PD\";" || { not_ok "xend starts with bad plugins in its dir"; finish; }
ok "xend starts with bad plugins in its dir"
expect_match "xend serves" '^\(ls ' "$(xget /xend)"

# One clear line per refusal, naming the file and the reason.
log_has() { grep -F -- "$1" "$T/xend.log" >/dev/null; }
check "wrong major: the log names file and reason" \
    log_has "plugin refused file=$PD/wrong_major.so reason=\"built for ABI 2.x, this xend speaks $ABI\""
check "newer minor: the log names file and reason" \
    log_has "plugin refused file=$PD/newer_minor.so reason=\"needs ABI $NEWER_MINOR, this xend speaks $ABI\""
check "no symbol: the log names file and reason" \
    log_has "plugin refused file=$PD/no_symbol.so reason=\"no xend_plugin_desc symbol\""
check "bad magic: the log names file and reason" \
    log_has "plugin refused file=$PD/bad_magic.so reason=\"bad magic 0xdeadbeef in xend_plugin_desc\""
check "a plugin needing a core symbol fails at dlopen, named" \
    log_has "plugin refused file=$PD/uses_core_symbol.so reason=\"dlopen failed: $PD/uses_core_symbol.so: undefined symbol: xend_log_emit\""
check "a failing init: the log names file and the plugin's message" \
    log_has "plugin refused file=$PD/init_fails_after_registering.so reason=\"init failed: invalid argument: failing on purpose after registering\""
check "a route conflict names both plugins" \
    log_has "route conflict method=GET path=/xend/test/good op=- plugin=route_conflict registered_by=good"

# The plugin list: every file, with its status.
plugins=$(xget /xend/node/plugins)
expect_eq "GET /xend/node/plugins answers" 200 "$(http_status)"
status_of() { # the (status ...) of the plugin from file $1: one (plugin ...) per line
    printf '%s' "$plugins" | sed 's/(plugin /\n(plugin /g' | grep -F "/$1)" |
        grep -oE '\(status [a-z]+\)'
}
for p in good hook_order_a hook_order_b console vif vbd hv-sim; do
    expect_eq "$p is listed as loaded" "(status loaded)" "$(status_of "$p.so")"
done
for p in "${refused[@]}"; do
    expect_eq "$p is listed as refused" "(status refused)" "$(status_of "$p.so")"
done
expect_match "the listing gives the version and ABI of a loaded plugin" \
    '\(name good\) \(file [^)]*good.so\) \(version 1.2.3\) \(abi '"$ABI"'\)' "$plugins"
# A plugin stamps the least minor it needs: the schedulers, pure 1.0 data, load on any 1.x.
expect_match "a scheduler plugin needs only ABI 1.0" \
    '\(name sched-bvt\) \(file [^)]*sched-bvt.so\) \(version [^)]*\) \(abi 1.0\)' "$plugins"
expect_match "the listing gives the reason of a refusal" \
    "\(reason 'built for ABI 2.x, this xend speaks $ABI'\)" "$plugins"
# The backend not chosen is stopped and unloaded once the sim backend is open (its
# libraries only cost memory), and says so; the daemon does not map it any more.
if [ -f "$PD/hv-xenctrl.so" ]; then
    expect_eq "the unused xenctrl backend is listed as unloaded" "(status unloaded)" \
        "$(status_of hv-xenctrl.so)"
    expect_match "with the reason" "backend sim is the one in use" "$plugins"
    check "and it is no longer mapped" bash -c "! grep -q hv-xenctrl /proc/$(cat "$T/xend.pid")/maps"
    check "the log says it was unloaded" grep -q "plugin unloaded plugin=hv-xenctrl" "$T/xend.log"
fi

# Routes: good's is served (by good, not by the conflicting plugin); the failed init left none.
expect_eq "the good plugin's route answers" "(good)" "$(xget /xend/test/good)"
xget /xend/test/init_fails_after_registering >/dev/null
expect_eq "the failed init left no route" 404 "$(http_status)"
xget /xend/test/route_conflict >/dev/null
expect_eq "nothing of the conflicting plugin is served" 404 "$(http_status)"

# Hooks: create and destroy a domain; up in load order (sorted file names), down reversed.
hook_trace() { # plugin:point:domain:reason for the test plugins' hook lines, in log order
    grep -E ' test hook plugin=' "$T/xend.log" | grep "domain=$1 " |
        sed -E 's/.* plugin=([^ ]+) point=([^ ]+) domain=([^ ]+) reason=([^ ]+).*/\1:\2:\4/' | tr '\n' ' '
}
xpost /xend/domain op=create "config=$(vm_config vm1 32)" >/dev/null
expect_eq "create with the test plugins loaded" 201 "$(http_status)"
xpost /xend/domain/vm1 op=destroy reason=halt >/dev/null
gone() { xget /xend/domain/vm1 >/dev/null; [ "$(http_status)" = 404 ]; }
wait_until 10 gone && ok "vm1 destroyed" || not_ok "vm1 destroyed"
expect_eq "hooks run up in load order, down reversed" \
    "good:create:normal hook_order_a:create:normal hook_order_b:create:normal hook_order_b:destroy:normal hook_order_a:destroy:normal good:destroy:normal " \
    "$(hook_trace vm1)"
expect_eq "the good plugin recorded what it saw" \
    "(good (create vm1 normal) (destroy vm1 normal))" "$(xget /xend/test/good)"

# A veto by hook_order_b: the create fails with its message, the plugins before it are
# rolled back in reverse, and nothing is left behind.
body=$(xpost /xend/domain op=create "config=$(vm_config veto-b 32)")
expect_match "a vetoed create answers the hook's message" 'xend.err.*hook_order_b vetoes veto-b' "$body"
expect_eq "a veto rolls back the plugins before it, reversed" \
    "good:create:normal hook_order_a:create:normal hook_order_b:create:normal hook_order_a:destroy:rollback good:destroy:rollback " \
    "$(hook_trace veto-b)"
expect_no_match "the vetoed domain is not listed" 'veto-b' "$(xget /xend/domain)"
expect_eq "nor left in the store" "" "$(grep -l 'veto-b' "$T"/state/domain/* 2>/dev/null)"
expect_match "xend still serves" '^\(ls ' "$(xget /xend)"

finish
