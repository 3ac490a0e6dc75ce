#!/bin/bash
# The plugin ABI's build rules, checked on the built objects (docs/plugins.md "What xend will
# open"): every plugin in DIR exports exactly one symbol, xend_plugin_desc, and has no
# undefined symbol left after loading its own libraries (it was linked with
# --no-undefined and uses nothing from xend).
#
#   check_plugin_symbols.sh DIR [MUST-FAIL.so ...]
#
# Each MUST-FAIL.so is a plugin known to break the rule; the check has to reject it, which
# proves the check can fail. Exit status: 0 when every verdict is as expected.
set -u
dir=${1:?usage: check_plugin_symbols.sh DIR [MUST-FAIL.so ...]}
shift
status=0

# The dynamic symbols a plugin defines, minus the linker's section markers. Types: T/t
# text, D/d data, R/r read-only, B/b bss, V/W weak, i indirect, u unique; A (absolute) are
# the markers (_edata, _end, __bss_start) on older binutils.
exported() {
    nm -D --defined-only "$1" | awk '$2 ~ /^[TDRBVWiu]$/ { print $3 }' |
        grep -vxE '_init|_fini|_edata|_end|__bss_start|__odr_asan[.].*' | sort  # ASan adds ODR markers
}

# Empty when the plugin obeys the rules, else what is wrong.
verdict() {
    local so=$1 syms undef
    syms=$(exported "$so")
    if [ "$syms" != "xend_plugin_desc" ]; then
        echo "exports [$(echo $syms)] instead of exactly xend_plugin_desc"
        return
    fi
    # ldd -r resolves the object against its NEEDED libraries only, as dlopen would without
    # xend's own symbols; any "undefined symbol" means it expects something from xend.
    undef=$(ldd -r "$so" 2>&1 | grep -i 'undefined symbol' | grep -v '__asan\|__ubsan\|__lsan')
    if [ -n "$undef" ]; then
        echo "has undefined symbols: $(echo "$undef" | head -3)"
    fi
}

shopt -s nullglob
plugins=("$dir"/*.so)
if [ ${#plugins[@]} = 0 ]; then
    echo "not ok - no plugins in $dir"
    exit 1
fi
for so in "${plugins[@]}"; do
    v=$(verdict "$so")
    if [ -z "$v" ]; then
        echo "ok - $(basename "$so") exports only xend_plugin_desc and needs nothing from xend"
    else
        echo "not ok - $(basename "$so"): $v"
        status=1
    fi
done
for so in "$@"; do
    v=$(verdict "$so")
    if [ -n "$v" ]; then
        echo "ok - $(basename "$so") is rejected: $v"
    else
        echo "not ok - $(basename "$so") should break the rules but passes the check"
        status=1
    fi
done
exit $status
