#!/bin/bash
# The browser harness works: headless chromium reaches this test's xend and a screenshot is
# kept as an artifact.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_browser.sh"
xend_start
browser_run "$BROWSER_DIR/smoke.test.mjs"
check "the screenshot is kept in \$XEND_ARTIFACTS/ui" test -s "$XEND_ARTIFACTS/ui/smoke-node.png"
finish
