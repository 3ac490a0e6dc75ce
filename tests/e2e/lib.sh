# Shared helpers for the end-to-end tests (sourced, bash).
#
#   xend_start [CONFIG-LINES]   start xend on the sim backend on free loopback ports, with a
#                               private state dir, log and simhv; sets XEND_PORT, XEND (for
#                               xm), T (the test's temp dir), CONSOLE_BASE
#   xend_stop                   stop xend (and its simhv); also run on exit
#   plugin_dir_new              a private plugin dir xend trusts (not under /tmp)
#   xget PATH, xpost PATH ARGS  curl as the xm client does (SXP replies); body on stdout,
#                               status from http_status
#   post_bg OUT PATH ARGS...    an xpost in the background (body in OUT, status in OUT.status)
#   last_seq                    the last event's sequence number (a SINCE for what follows)
#   wait_until SECONDS CMD...   poll CMD until it succeeds or the deadline passes
#   check DESC CMD..., expect_eq DESC WANT GOT, expect_match DESC REGEX TEXT
#   finish                      print the summary line and exit with the right status
#
# Tests only ever talk to 127.0.0.1.
set -u
: "${BUILD_DIR:?set BUILD_DIR to the build directory}"
: "${SRC_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
PASSED=0
FAILED=0
T=$(mktemp -d /tmp/xend-e2e.XXXXXX)
XEND_BIN=$BUILD_DIR/bin/xend
XM=$BUILD_DIR/bin/xm
SIMHV=$BUILD_DIR/bin/xend-simhv
export PATH=$BUILD_DIR/bin:$PATH
# In a sanitizer build the daemons report into $T/san.PID (their stderr is /dev/null);
# finish fails the test when any report exists.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$T/san"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$T/san:print_stacktrace=1"

port_free() { ! (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; }

# A free port with `span` free ports after it (for console ports base+id). Both below the
# ephemeral range (32768-60999), where clients' own connections take ports. Single ports
# (a daemon's) come from 10000-20999 and spans from 21000 up: a test binds its console
# ports one by one as its domains come, long after it checked them, and a daemon port that
# another test running beside it picked meanwhile must not be among them.
free_port() {
    local span=${1:-1} p i ok lo=10000 width=11000
    [ "$span" -gt 1 ] && { lo=21000; width=$((32000 - 21000 - span)); }
    for _ in $(seq 1 200); do
        p=$((lo + RANDOM % width))
        ok=1
        for i in $(seq 0 $((span - 1))); do
            port_free $((p + i)) || { ok=0; break; }
        done
        [ $ok = 1 ] && { echo $p; return 0; }
    done
    return 1
}

wait_until() {
    local deadline=$((SECONDS + $1))
    shift
    while ! "$@" >/dev/null 2>&1; do
        [ $SECONDS -ge $deadline ] && return 1
        sleep 0.05
    done
    return 0
}

write_config() {
    cat > "$T/xend.conf" <<CONF
xend-port = $XEND_PORT;
xend-address = "127.0.0.1";
xend-event-port = $EVENT_PORT;
xend-relocation-port = $RELOC_PORT;
state-dir = "$T/state";
log-file = "$T/xend.log";
log-level = "debug";
pid-file = "$T/xend.pid";
backend = "sim";
script-dir = "$T/scripts";
simhv-socket = "$T/state/simhv.sock";
console-port-base = $CONSOLE_BASE;
minimum-restart-time = 20;
$XEND_EXTRA_CONFIG
CONF
}

# xend_prepare [EXTRA]: what xend_start does short of starting: free ports, the state and
# script dirs, $T/xend.conf (EXTRA appended), XEND exported. For tests that start xend
# their own way (on a pipe, under a fake systemd).
xend_prepare() {
    XEND_EXTRA_CONFIG=${1:-${XEND_EXTRA_CONFIG:-}}
    XEND_PORT=${XEND_PORT:-$(free_port)}
    EVENT_PORT=${EVENT_PORT:-$(free_port)}
    RELOC_PORT=${RELOC_PORT:-$(free_port)}
    CONSOLE_BASE=${CONSOLE_BASE:-$(free_port 64)}
    mkdir -p "$T/state" "$T/scripts"
    cp -r "$SRC_DIR"/scripts/. "$T/scripts/" 2>/dev/null || true
    write_config
    export XEND=127.0.0.1:$XEND_PORT
}

xend_start() {
    xend_prepare "$@"
    "$XEND_BIN" start -c "$T/xend.conf"
}

xend_stop() {
    [ -f "$T/xend.conf" ] || return 0
    "$XEND_BIN" stop -c "$T/xend.conf" >/dev/null 2>&1 || true
}

simhv_stop() {
    [ -S "$T/state/simhv.sock" ] && "$SIMHV" --stop --socket "$T/state/simhv.sock" >/dev/null 2>&1
    return 0
}

cleanup() {
    xend_stop
    simhv_stop
    [ -f "$T/.plugin_dirs" ] && while read -r d; do rm -rf "$d"; done < "$T/.plugin_dirs"
    if [ "${KEEP_T:-}" = "" ] && [ $FAILED = 0 ]; then rm -rf "$T"; else echo "kept $T"; fi
}
trap cleanup EXIT

xget() {
    local out
    out=$(curl -s -g -o "$T/.body" -w '%{http_code}' "http://127.0.0.1:$XEND_PORT$1") || out=000
    echo "$out" > "$T/.status"
    cat "$T/.body"
}

# post_bg OUT PATH ARGS...: an xpost in the background, its body into OUT, its status into
# OUT.status (wait for it).
post_bg() {
    local out=$1 path=$2 args=()
    shift 2
    for a in "$@"; do args+=(--data-urlencode "$a"); done
    curl -s -g -X POST -o "$out" -w '%{http_code}' "${args[@]}" \
        "http://127.0.0.1:$XEND_PORT$path" > "$out.status" &
}

# The sequence number of the last event so far (a test's SINCE: what comes after it).
last_seq() { xget "/xend/event?since=0" | grep -oE '^\(event \(seq [0-9]+' | grep -oE '[0-9]+$' | tail -1; }

# The HTTP status of the last xget/xpost (they run in $(...) subshells, so a file carries it).
http_status() { cat "$T/.status"; }

# xpost PATH [name=value ...]: an urlencoded POST like the xm client's.
xpost() {
    local path=$1 args=() out
    shift
    for a in "$@"; do args+=(--data-urlencode "$a"); done
    out=$(curl -s -g -X POST -o "$T/.body" -w '%{http_code}' "${args[@]}" "http://127.0.0.1:$XEND_PORT$path") || out=000
    echo "$out" > "$T/.status"
    cat "$T/.body"
}

ok() { PASSED=$((PASSED + 1)); echo "ok - $1"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok - $1"; [ $# -gt 1 ] && echo "#   $2"; return 0; }

check() {
    local desc=$1
    shift
    if "$@" >/dev/null 2>&1; then ok "$desc"; else not_ok "$desc" "command failed: $*"; fi
}

expect_eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "want [$2] got [$3]"; fi
}

expect_match() {
    if printf '%s' "$3" | grep -qE -- "$2"; then ok "$1"; else not_ok "$1" "[$3] does not match /$2/"; fi
}

# The reply of a migration that went through (as 2.0's): the domain's URL at the
# destination, named by the relocation port it was sent to. expect_migrated DESC PORT BODY
expect_migrated() {
    expect_match "$1" "^http://127\\.0\\.0\\.1:$2/xend/domain/[0-9]+\$" "$3"
}

expect_no_match() {
    if printf '%s' "$3" | grep -qE -- "$2"; then not_ok "$1" "[$3] matches /$2/"; else ok "$1"; fi
}

sanitizer_reports() {
    ls "$T"/san.* 2>/dev/null
}

finish() {
    xend_stop
    simhv_stop
    local reports
    reports=$(sanitizer_reports)
    if [ -n "$reports" ]; then
        not_ok "no sanitizer reports" "$(head -c 3000 $reports)"
    fi
    echo "$PASSED passed, $FAILED failed"
    [ $FAILED = 0 ]
    exit $?
}

# plugin_dir_new: print a new private plugin dir that xend trusts (it refuses plugins under
# the world-writable /tmp, where $T is): made in the build tree, removed at exit.
plugin_dir_new() {
    local d
    d=$(mktemp -d "$BUILD_DIR/tests/e2e-plugins.XXXXXX") || return 1
    chmod 755 "$d"
    echo "$d" >> "$T/.plugin_dirs"
    echo "$d"
}

# A kernel image for the sim backend: it only has to exist and be readable.
# A test's own vif script NAME (its text on stdin) and a network script that does nothing;
# sets CONF to the config lines that use them.
use_vif_script() {
    cat > "$T/scripts/$1"
    chmod 755 "$T/scripts/$1"
    printf '#!/bin/sh\nexit 0\n' > "$T/scripts/net-ok"
    chmod 755 "$T/scripts/net-ok"
    CONF="vif-script = \"$1\";
network-script = \"net-ok\";"
}

# use_held_vif_script: the vif script `vif-hold` (use_vif_script), which appends each call
# to $T/vif.log and, while $T/hold-ACTION exists (ACTION its first argument: up, down),
# writes "ACTION held" there and waits (up to 30 s): a test holds an operation open at that
# step with `touch`, and lets it go with `rm`.
use_held_vif_script() {
    mkdir -p "$T/scripts"
    use_vif_script vif-hold <<SCRIPT
#!/bin/sh
echo "\$1 \$*" >> $T/vif.log
if [ -f $T/hold-\$1 ]; then
    echo "\$1 held" >> $T/vif.log
    i=0
    while [ -f $T/hold-\$1 ] && [ \$i -lt 600 ]; do sleep 0.05; i=\$((i + 1)); done
fi
exit 0
SCRIPT
}

sim_kernel() {
    [ -f "$T/vmlinuz" ] || printf 'simulated kernel\n' > "$T/vmlinuz"
    echo "$T/vmlinuz"
}

# run_and_save NAME CONFIG FILE: NAME created from CONFIG and unpaused, its memory checksum
# (op=mem_checksum) in SAVED_SUM, then saved to FILE; each step checked.
run_and_save() {
    xpost /xend/domain op=create "config=$2" >/dev/null
    expect_eq "$1 created" 201 "$(http_status)"
    xpost "/xend/domain/$1" op=unpause >/dev/null
    SAVED_SUM=$(xget "/xend/domain/$1?op=mem_checksum" | grep -oE '[0-9]+\)$' | tr -d ')')
    xpost "/xend/domain/$1" op=save "file=$3" >/dev/null
    check "$1 saved" test -s "$3"
}

# vm_config NAME [MEMORY] [EXTRA-SXP]: a (vm ...) config for the sim backend.
vm_config() {
    echo "(vm (name $1) (memory ${2:-64}) (image (linux (kernel $(sim_kernel)) (args '${ARGS:-sim.load=10}'))) ${3:-})"
}
