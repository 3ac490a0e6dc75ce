#!/bin/sh
# xend.conf(5): the page head, then docs/config.md through config-md-to-man.awk.
#   gen-xend-conf-5.sh HEAD AWK_SCRIPT CONFIG_MD OUT
set -e
{ cat "$1"; awk -f "$2" "$3"; } > "$4.tmp"
mv "$4.tmp" "$4"
