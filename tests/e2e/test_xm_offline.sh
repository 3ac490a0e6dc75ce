#!/bin/bash
# xm with no xend: the 2.0 connect error and exit status, and what needs no daemon at all
# (help, the dry run of examples/xmexample1, config errors naming file and line).
# Run by ctest as `bash test_xm_offline.sh` with BUILD_DIR and SRC_DIR set.
set -u
BUILD_DIR=${BUILD_DIR:?BUILD_DIR must be set}
SRC_DIR=${SRC_DIR:?SRC_DIR must be set}
XM=$BUILD_DIR/bin/xm
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
failures=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
    if [ "$2" != "$3" ]; then
        fail "$1: expected [$2], got [$3]"
    fi
}

# expect_has WHAT FILE TEXT: FILE contains the fixed string TEXT
expect_has() {
    if ! grep -qF -- "$3" "$2"; then
        fail "$1: [$3] not in $(cat "$2")"
    fi
}

# A TCP port on 127.0.0.1 where nothing listens.
free_port() {
    local p
    for p in $(seq 18700 18799); do
        if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
            echo "$p"
            return
        fi
    done
    echo 1
}

# --- nothing listening --------------------------------------------------------------
PORT=$(free_port)
for cmd in list info "pause vm1" "shutdown -a" consoles; do
    # shellcheck disable=SC2086
    XEND=127.0.0.1:$PORT "$XM" $cmd >"$TMP/out" 2>"$TMP/err"
    expect_eq "xm $cmd exit status" 1 $?
    expect_eq "xm $cmd last line" "Error: Error connecting to xend, is xend running?" \
        "$(tail -n 1 "$TMP/err")"
    expect_eq "xm $cmd socket error" "[Errno 111] Connection refused" "$(head -n 1 "$TMP/err")"
done
"$XM" --server "unix:$TMP/none.sock" list >"$TMP/out" 2>"$TMP/err"
expect_eq "unix socket exit status" 1 $?
expect_has "unix socket error" "$TMP/err" "Error: Error connecting to xend, is xend running?"
XEND="http://127.0.0.1:$PORT/xend" "$XM" domid 0 >"$TMP/out" 2>"$TMP/err"
expect_eq "URL in XEND exit status" 1 $?
expect_has "URL in XEND" "$TMP/err" "is xend running?"

# --- help and unknown commands ------------------------------------------------------
"$XM" help >"$TMP/out" 2>&1
expect_eq "xm help exit status" 0 $?
expect_eq "xm help last line" "Try 'xm help CMD' for help on CMD" "$(tail -n 1 "$TMP/out")"
expect_has "xm help lists list" "$TMP/out" "list           List information about domains."
"$XM" >"$TMP/out2" 2>&1
expect_eq "bare xm is help" "$(cat "$TMP/out")" "$(cat "$TMP/out2")"
"$XM" help shutdown >"$TMP/out" 2>&1
expect_has "xm help shutdown" "$TMP/out" "Usage:  shutdown [options] [DOM]"
"$XM" li -h >"$TMP/out" 2>&1
expect_eq "xm li -h" "list [options] [DOM...]" "$(head -n 1 "$TMP/out")"
"$XM" frobnicate >"$TMP/out" 2>"$TMP/err"
expect_eq "unknown command exit status" 1 $?
expect_eq "unknown command" "Error: Unknown command: frobnicate" "$(head -n 1 "$TMP/err")"
"$XM" pause >"$TMP/out" 2>"$TMP/err"
expect_eq "missing domain exit status" 1 $?
expect_eq "missing domain" "Error: pause: Missing domain" "$(cat "$TMP/err")"

# --- create -n examples/xmexample1 --------------------------------------------------
cd "$SRC_DIR" || exit 1
XEND=127.0.0.1:$PORT "$XM" create -n examples/xmexample1 >"$TMP/out" 2>"$TMP/err"
expect_eq "dry run exit status" 0 $?
expect_eq "dry run stderr" "" "$(cat "$TMP/err")"
expect_eq "dry run first line" 'Using config file "examples/xmexample1".' "$(head -n 1 "$TMP/out")"
expect_eq "dry run second line" "(vm" "$(sed -n 2p "$TMP/out")"
for text in "(name ExampleDomain)" "(memory 64)" "(kernel $SRC_DIR/examples/vmlinuz-sim)" \
    "(root '/dev/hda1 ro')" "(args 4)" "(mac aa:00:00:"; do
    expect_has "dry run" "$TMP/out" "$text"
done
# the compact form of the same config, one line, as xend receives it
tr -d '\n' <"$TMP/out" | sed -e 's/  */ /g' -e 's/ )/)/g' >"$TMP/flat"
expect_has "element order" "$TMP/flat" \
    "(vm (name ExampleDomain) (memory 64) (image (linux (kernel $SRC_DIR/examples/vmlinuz-sim) (root '/dev/hda1 ro') (args 4))) (device (vif (mac aa:00:00:"

# variables from the command line reach the file (examples/xmexample2)
"$XM" create -n -q examples/xmexample2 vmid=3 >"$TMP/out" 2>"$TMP/err"
expect_eq "xmexample2 exit status" 0 $?
expect_has "xmexample2 name" "$TMP/out" "(name VM3)"
expect_has "xmexample2 mac" "$TMP/out" "(mac aa:00:00:00:01:03)"
"$XM" create -n -q examples/xmexample2 >"$TMP/out" 2>"$TMP/err"
expect_eq "xmexample2 without vmid" "Error: examples/xmexample2:16: name 'vmid' is not defined" \
    "$(cat "$TMP/err")"

# from another directory, by absolute path: the kernel still resolves beside the config
cd "$TMP" || exit 1
"$XM" create -n -q "$SRC_DIR/examples/xmexample1" name=vm2 memory=32 \
    disk=phy:sda1,sda1,w >"$TMP/out" 2>"$TMP/err"
expect_eq "dry run elsewhere exit status" 0 $?
expect_has "dry run elsewhere kernel" "$TMP/out" "(kernel $SRC_DIR/examples/vmlinuz-sim)"
expect_has "VAR=VAL name" "$TMP/out" "(name vm2)"
expect_has "VAR=VAL memory" "$TMP/out" "(memory 32)"
expect_has "VAR=VAL disk" "$TMP/out" "(uname phy:sda1)"
if grep -q "Using config file" "$TMP/out"; then fail "-q still printed Using config file"; fi

# a broken config names the file and the line
printf 'name = "x"\nmemory = [ 64\nkernel = "k"\n' >"$TMP/bad1"
"$XM" create -n "$TMP/bad1" >"$TMP/out" 2>"$TMP/err"
expect_eq "bad config exit status" 1 $?
expect_has "bad config message" "$TMP/err" "Error: $TMP/bad1:3:"
printf 'name = "x"\nkernel = 12\nkernel2 = ["a"]\nramdisk = ["r"]\n' >"$TMP/bad2"
"$XM" create -n "$TMP/bad2" >"$TMP/out" 2>"$TMP/err"
expect_eq "bad type exit status" 1 $?
expect_eq "bad type message" "Error: $TMP/bad2:4: ramdisk: expected a string" "$(tail -n 1 "$TMP/err")"

# a variable xm create does not know, that nothing in the file reads, is a typo: a warning
# with the closest known name, an error with --strict; a helper the file reads is neither
printf 'name = "x"\nkernel = "/k"\nmemroy = 64\nbase = 10\ncpu = base + 1\n' >"$TMP/typo"
"$XM" create -n -q "$TMP/typo" >"$TMP/out" 2>"$TMP/err"
expect_eq "typo exit status" 0 $?
expect_eq "typo warning" "Warning: $TMP/typo:3: unknown variable 'memroy'; did you mean 'memory'?" \
    "$(cat "$TMP/err")"
expect_has "typo: the config is still built" "$TMP/out" "(name x)"
"$XM" create -n -q --strict "$TMP/typo" >"$TMP/out" 2>"$TMP/err"
expect_eq "typo --strict exit status" 1 $?
expect_eq "typo --strict error" "Error: $TMP/typo:3: unknown variable 'memroy'; did you mean 'memory'?" \
    "$(cat "$TMP/err")"
expect_eq "typo --strict prints no config" "" "$(cat "$TMP/out")"
printf 'name = "x"\nkernel = "/k"\nfrobnicate = 1\n' >"$TMP/far"
"$XM" create -n -q "$TMP/far" >"$TMP/out" 2>"$TMP/err"
expect_eq "far name warning" "Warning: $TMP/far:3: unknown variable 'frobnicate'" "$(cat "$TMP/err")"
"$XM" create -n "$TMP/nonexistent" >"$TMP/out" 2>"$TMP/err"
expect_eq "missing config exit status" 1 $?
expect_eq "missing config" "Error: Cannot open config file \"$TMP/nonexistent\"" "$(cat "$TMP/err")"

if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed" >&2
    exit 1
fi
echo "xm offline: all checks passed"
