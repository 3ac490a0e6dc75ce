# Browser tests from bash (sourced after lib.sh): headless Debian chromium driven by
# playwright-core (tests/browser/lib.mjs says what a test file gets).
#
#   browser_run FILE.mjs    run the browser test FILE against the xend that xend_start
#                           started; each of its "ok"/"not ok" lines counts as a check here
#
# Screenshots go to $XEND_ARTIFACTS/ui (default: $BUILD_DIR/artifacts), which CI keeps.
# What the test needs (chromium, node, tests/browser/node_modules) is installed by
# `tools/dev.sh test`; when it is missing the test fails and says how to get it, it is
# never skipped.
BROWSER_DIR=$SRC_DIR/tests/browser
export XEND_ARTIFACTS=${XEND_ARTIFACTS:-$BUILD_DIR/artifacts}

browser_ready() {
    local missing=()
    command -v node >/dev/null || missing+=("node (Debian: nodejs)")
    [ -x "${CHROMIUM:-/usr/bin/chromium}" ] || missing+=("chromium (Debian: chromium)")
    [ -d "$BROWSER_DIR/node_modules/playwright-core" ] ||
        missing+=("playwright-core (cd tests/browser && npm ci)")
    [ ${#missing[@]} = 0 ] && return 0
    not_ok "the browser test can run" "missing: ${missing[*]}; tools/dev.sh test installs them"
    return 1
}

browser_run() {
    local file=$1 line failed_before=$FAILED
    browser_ready || return 0
    while IFS= read -r line; do
        case $line in
        "ok - "*) ok "${line#ok - }" ;;
        "not ok - "*) not_ok "${line#not ok - }" ;;
        "# exit 0") ;;
        "# exit "*) # a crash that printed no failing check still fails the test
            [ "$FAILED" != "$failed_before" ] || not_ok "$file ran to its end" "$line" ;;
        *) echo "$line" ;;
        esac
    done < <(XEND_URL="http://127.0.0.1:$XEND_PORT" XM="$XM" XEND="$XEND" \
        node "$file" 2>&1; echo "# exit $?")
}
