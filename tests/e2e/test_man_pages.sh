#!/bin/bash
# The man pages built from their one source (man/CMakeLists.txt) render without a warning
# and say what their source says: xend(8) its commands, xm(1) its commands, xend.conf(5)
# every setting of docs/config.md with its default.
source "$(dirname "$0")/lib.sh"

M=$BUILD_DIR/man
for page in xend.8 xm.1 xend.conf.5; do
    [ -s "$M/$page" ] || { not_ok "$page is built"; continue; }
    warnings=$(man --warnings -l "$M/$page" 2>&1 >/dev/null)
    expect_eq "$page renders without a warning" "" "$warnings"
done
text() { MANWIDTH=100 man -l "$M/$1" 2>/dev/null | col -b | tr -s " \n" "  "; }
expect_match "xend(8) lists the cert command" "cert[[:space:]]+make this host's relocation key" "$(text xend.8)"
expect_match "xm(1) lists migrate" "migrate[[:space:]]+Migrate a domain to another machine" "$(text xm.1)"
conf=$(text xend.conf.5)
expect_match "xend.conf(5) gives xend-port with its default" "xend-port \(default 8000\)" "$conf"
# every key of docs/config.md's tables is in the page
missing=""
for key in $(grep -oE '^\| `[a-z][a-z0-9-]+`' "$SRC_DIR/docs/config.md" | tr -d '|` '); do
    grep -qF -- "$key" <<< "$conf" || missing="$missing $key"
done
expect_eq "every setting of docs/config.md is in xend.conf(5)" "" "$missing"
finish
