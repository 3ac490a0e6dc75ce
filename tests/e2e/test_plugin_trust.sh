#!/bin/bash
# xend opens no plugin that anyone but root could have written: a world-writable plugin
# dir is refused with the reason in the log, and a plugin's constructor in it never runs.
source "$(dirname "$0")/lib.sh"

TP=$BUILD_DIR/tests/plugins
WW=$T/ww
mkdir -p "$WW"
chmod 777 "$WW"
cp "$TP/good.so" "$TP/has_constructor.so" "$WW"/ || { not_ok "test plugins are built"; finish; }
export XEND_TEST_CTOR_MARK=$T/constructor-ran

# The real plugins by absolute path (trusted, in the build tree), the test ones by name
# from the world-writable plugin dir.
list=""
for p in "$BUILD_DIR"/lib/xend/plugins/*.so; do list="$list\"$p\", "; done
xend_start "plugin-dir = \"$WW\";
plugins = [ $list\"good\", \"has_constructor\" ];" || { not_ok "xend starts"; finish; }
ok "xend starts with its own plugins"
expect_match "xend serves" '^\(ls ' "$(xget /xend)"
log_has() { grep -F -- "$1" "$T/xend.log" >/dev/null; }
check "the plugin in the world-writable dir is refused, the reason logged" \
    log_has "plugin refused file=$WW/good.so reason=\"not trusted: directory $WW is writable by others\""
check "so is the one with a constructor" \
    log_has "plugin refused file=$WW/has_constructor.so reason=\"not trusted: directory $WW is writable by others\""
check "whose constructor never ran" test ! -e "$XEND_TEST_CTOR_MARK"
xget /xend/test/good >/dev/null
expect_eq "the refused plugin serves nothing" 404 "$(http_status)"
expect_match "the listing says why" "\(file $WW/good.so\) \(status refused\) \(reason 'not trusted: directory $WW is writable by others'\)" \
    "$(xget /xend/node/plugins)"
xend_stop

# The whole dir as plugin-dir: refused once, nothing opened, and xend says it has no
# backend rather than running something it should not have.
grep -v '^plugins = ' "$T/xend.conf" > "$T/ww.conf"
if out=$("$XEND_BIN" start -c "$T/ww.conf" 2>&1); then
    not_ok "without trusted plugins xend does not start" "$out"
    "$XEND_BIN" stop -c "$T/ww.conf" >/dev/null 2>&1
else
    expect_match "without trusted plugins xend does not start" '^xend: ' "$out"
fi
check "the log names the refused dir and why" \
    log_has "plugin dir refused dir=$WW reason=\"directory $WW is writable by others\""
check "no constructor ran" test ! -e "$XEND_TEST_CTOR_MARK"
finish
