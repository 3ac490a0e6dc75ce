#!/bin/bash
# The bash completion shipped for xm (dist/bash-completion/xm) completes commands from
# xm's own help and domain names from xm list, against a running xend.
source "$(dirname "$0")/lib.sh"

xend_start || { not_ok "xend starts"; finish; }
xpost /xend/domain op=create "config=$(vm_config webserver 16)" >/dev/null
expect_eq "a domain to complete" 201 "$(http_status)"
complete_xm() { # the completions of the words given, the last one being completed
    PATH=$BUILD_DIR/bin:$PATH bash -c '
        source "$1"; shift
        COMP_WORDS=(xm "$@"); COMP_CWORD=$#
        _xm; printf "%s\n" "${COMPREPLY[@]}"' _ "$SRC_DIR/dist/bash-completion/xm" "$@" | sort | tr '\n' ' '
}
expect_eq "commands from xm help" "create " "$(complete_xm cre)"
expect_match "both sh... commands" "^shutdown " "$(complete_xm shu)"
expect_eq "a domain name for destroy" "webserver " "$(complete_xm destroy web)"
expect_eq "help completes commands" "unpause " "$(complete_xm help unp)"
expect_eq "-o completes the output formats" "json sxp text " "$(complete_xm list -o '')"
expect_eq "events is a command" "events " "$(complete_xm eve)"
finish
