#!/bin/bash
# The guest's console in the page, in headless chromium (tests/browser/console.test.mjs):
# boot lines in xterm.js, a typed line echoed by the sim guest, a late-joining page that
# sees the recent output. Screenshots: $XEND_ARTIFACTS/ui/console-*.png.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_browser.sh"
xend_start "console-xterm-dir = \"$BUILD_DIR/share/xend/xterm\";" || { not_ok "xend starts"; finish; }
check "xterm.js was fetched at build time" test -s "$BUILD_DIR/share/xend/xterm/xterm.js"
field() { xget "/xend/domain/$1" | grep -oE "\\($2 [^()]*\\)" | head -n 1 | sed -E "s/^\\($2 (.*)\\)$/\\1/"; }
xpost /xend/domain op=create "config=$(vm_config webcon 32)" >/dev/null
expect_eq "the domain is created" 201 "$(http_status)"
xpost /xend/domain/webcon op=unpause >/dev/null
running() { [ "$(field webcon state | cut -c1-2)" != "--" ]; }
check "and runs" wait_until 10 running
export CONSOLE_PORT DOMAIN_NAME=webcon
CONSOLE_PORT=$(field webcon console_port)
browser_run "$BROWSER_DIR/console.test.mjs"
check "the terminal's screenshot is kept" test -s "$XEND_ARTIFACTS/ui/console-terminal.png"
check "and the late joiner's" test -s "$XEND_ARTIFACTS/ui/console-late-joiner.png"
finish
