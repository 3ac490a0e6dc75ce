# Two or more simulated hosts on this machine, each an xend with its own simhv, ports and
# state under $T/NAME (sourced after lib.sh).
#
#   start_host NAME [CRASH-POINT] [CONFIG-LINES]   start (or restart, same ports) host NAME
#   stop_host NAME                                 stop its xend (its simhv and domains stay)
#   on NAME CMD...                                 run xget/xpost... against host NAME
#   has NAME DOMAIN, running_on DOMAIN, sum NAME DOMAIN, dead NAME
#   run_guest NAME DOMAIN MB ARGS                  create and unpause DOMAIN on host NAME, its
#                                                  image MB megabytes, ARGS its sim arguments
# PORT[NAME] EPORT[NAME] RPORT[NAME] CBASE[NAME] hold each host's ports. Hosts after the first
# listen for consoles on 127.0.0.2, 127.0.0.3...: hosts on one machine share port numbers.
declare -A PORT EPORT RPORT CBASE CONSOLE_ADDR HOST_EXTRA
HOSTS=()
start_host() { # start_host NAME [CRASH-POINT] [CONFIG-LINES]
    local h=$1 cp=${2:-}
    [ $# -ge 3 ] && HOST_EXTRA[$h]=$3
    if [ -z "${CONSOLE_ADDR[$h]:-}" ]; then
        HOSTS+=("$h")
        CONSOLE_ADDR[$h]=127.0.0.${#HOSTS[@]}
    fi
    mkdir -p "$T/$h"
    (
        T=$T/$h XEND_PORT=${PORT[$h]:-} EVENT_PORT=${EPORT[$h]:-} RELOC_PORT=${RPORT[$h]:-}
        CONSOLE_BASE=${CBASE[$h]:-}
        trap - EXIT
        [ -n "$cp" ] && export XEND_CRASH_AT=$cp
        rm -f "$T/xend.pid"
        xend_start "console-address = \"${CONSOLE_ADDR[$h]}\";
${HOST_EXTRA[$h]:-}" >/dev/null && echo "$XEND_PORT $EVENT_PORT $RELOC_PORT $CONSOLE_BASE" > "$T/ports"
    )
    read -r PORT[$h] EPORT[$h] RPORT[$h] CBASE[$h] < "$T/$h/ports"
}
stop_host() { "$XEND_BIN" stop -c "$T/$1/xend.conf" >/dev/null 2>&1; }
stop_all() {
    for h in "${HOSTS[@]}"; do
        stop_host "$h"
        "$SIMHV" --stop --socket "$T/$h/state/simhv.sock" >/dev/null 2>&1
    done
}
trap 'stop_all; cleanup' EXIT
on() { local h=$1; shift; XEND_PORT=${PORT[$h]} "$@"; }
run_guest() {
    truncate -s "$3M" "$T/kernel$3m"
    on "$1" xpost /xend/domain op=create \
        "config=(vm (name $2) (memory 64) (image (linux (kernel $T/kernel$3m) (args '$4'))))" >/dev/null
    on "$1" xpost "/xend/domain/$2" op=unpause >/dev/null
}
sum() { on "$1" xget "/xend/domain/$2?op=mem_checksum" | grep -oE '[0-9]+\)$' | tr -d ')'; }
has() { on "$1" xget "/xend/domain/$2" >/dev/null; [ "$(http_status)" = 200 ]; }
running_on() { # the hosts that list DOMAIN, e.g. "a" or "a b"
    local out="" h
    for h in "${HOSTS[@]}"; do has "$h" "$1" && out="$out$h "; done
    echo "${out% }"
}
dead() { ! kill -0 "$(cat "$T/$1/xend.pid" 2>/dev/null)" 2>/dev/null; }
