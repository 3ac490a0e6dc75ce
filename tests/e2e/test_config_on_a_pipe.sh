#!/bin/bash
# A config given on a pipe (`xend start -c /dev/stdin`) is read as a file is: a typo in it
# stops xend with the line and a suggestion, and the settings it holds are the ones used
# (xend once read such a config twice, found nothing the second time and ran on its
# defaults without a word).
source "$(dirname "$0")/lib.sh"

xend_prepare
# Never start on the defaults (the developer's ports and state dir), whatever is read from
# the pipe: the same settings are given on the command line too.
grep -q "xend-port = $XEND_PORT;" "$T/xend.conf" || { not_ok "the test's config is written"; finish; }
safe=(-o "xend-port=$XEND_PORT" -o "xend-event-port=$EVENT_PORT" -o "xend-relocation-port=$RELOC_PORT"
      -o "state-dir=$T/state" -o "pid-file=$T/xend.pid" -o "log-file=$T/xend.log"
      -o "simhv-socket=$T/state/simhv.sock")
out=$( (cat "$T/xend.conf"; echo 'log-levle = "info";') | timeout 20 "$XEND_BIN" start -f -c /dev/stdin "${safe[@]}" 2>&1)
rc=$?
expect_eq "a typo on a pipe stops xend" 1 "$rc"
expect_match "the typo is named with its line and a suggestion" \
    "/dev/stdin:[0-9]+: unknown setting 'log-levle'; did you mean 'log-level'\\?" "$out"

# The same config, well spelt, on a pipe: xend serves on the port it names.
cat "$T/xend.conf" | "$XEND_BIN" start -c /dev/stdin "${safe[@]}"
expect_eq "a config on a pipe starts xend" 0 $?
xget /xend/node >/dev/null
expect_eq "it answers on the port of the piped config" 200 "$(http_status)"
finish
