#!/bin/bash
# xm against a real xend on the sim backend: every command, its output (2.0 formats) and
# its effect on the daemon. Run by ctest as `bash test_xm.sh` (BUILD_DIR, SRC_DIR set).
source "$(dirname "$0")/lib.sh"

# lib.sh's free_port keeps xend's ports below the ephemeral range (32768-60999 here): every
# xm request takes an ephemeral port for its own end, which must never be a console's.
xend_start || { not_ok "xend starts"; finish; }
ok "xend starts"
cd "$SRC_DIR" || exit 1

# run_xm NAME ARGS...: run xm, stdout in $OUT, stderr in $ERR, exit status in $RC
run_xm() {
    xm "$@" >"$T/.out" 2>"$T/.err"
    RC=$?
    OUT=$(cat "$T/.out")
    ERR=$(cat "$T/.err")
}

# expect_rc DESC WANT: the exit status of the last run_xm, showing its stderr when wrong
expect_rc() {
    if [ "$RC" = "$2" ]; then ok "$1"; else not_ok "$1" "exit $RC, stderr [$ERR]"; fi
}

# The domain record of $1 as xend has it (for checking effects).
record() { xget "/xend/domain/$1"; }
field() { record "$1" | grep -oE "\\($2 [^()]*\\)" | head -n 1 | sed -E "s/^\\($2 (.*)\\)$/\\1/"; }
gone() { [ "$(xget "/xend/domain/$1" >/dev/null; http_status)" = 404 ]; }
present() { [ "$(xget "/xend/domain/$1" >/dev/null; http_status)" = 200 ]; }
state_is() { field "$1" state | grep -qE "$2"; }

# --- host ---------------------------------------------------------------------------
run_xm info
expect_rc "info exits 0" 0
expect_match "info pads keys to 23" '^system                 : ' "$OUT"
expect_match "info shows the cores" $'\n''cores                  : [0-9]+' "$OUT"
run_xm dmesg
expect_rc "dmesg exits 0" 0
expect_match "dmesg shows the hypervisor's messages" '\(XEN\)' "$OUT"
run_xm log
expect_match "log shows the xend log" 'xend started' "$OUT"

# --- create -------------------------------------------------------------------------
run_xm create examples/xmexample1
expect_rc "create exits 0" 0
expect_eq "create says which file" 'Using config file "examples/xmexample1".' \
    "$(printf '%s\n' "$OUT" | head -n 1)"
expect_match "create reports the console port" \
    '^Started domain ExampleDomain, console on port [0-9]+$' "$(printf '%s\n' "$OUT" | tail -n 1)"
PORT=$(printf '%s\n' "$OUT" | tail -n 1 | grep -oE '[0-9]+$')
expect_eq "the port is the domain's console" "$PORT" "$(field ExampleDomain console_port)"
expect_match "created domain is unpaused" '^[rb-]{2}-' "$(field ExampleDomain state)"
expect_eq "the kernel was made absolute" "$SRC_DIR/examples/vmlinuz-sim" "$(field ExampleDomain kernel)"
ID=$(field ExampleDomain id)

run_xm create examples/xmexample1
expect_rc "a second ExampleDomain fails" 1
expect_match "with xend's message" '^Error: .*ExampleDomain' "$ERR"

run_xm create -p -q examples/xmexample2 vmid=3
expect_rc "create -p -q exits 0" 0
expect_eq "create -q prints nothing" "" "$OUT"
expect_match "create -p leaves it paused" '^--p--$' "$(field VM3 state)"
expect_eq "VAR=VAL reached the config" "aa:00:00:00:01:03" "$(field VM3 mac)"

vm_config sxp1 32 >"$T/sxp1.sxp"
run_xm create -F "$T/sxp1.sxp"
expect_rc "create -F exits 0" 0
expect_match "create -F reports" '^Started domain sxp1, console on port [0-9]+$' "$OUT"
check "create -F made the domain" present sxp1

printf 'kernel = "%s"\nname = "bad"\nmemory = [ 1\n' "$(sim_kernel)" >"$T/bad.cfg"
run_xm create "$T/bad.cfg"
expect_rc "a broken config exits 1" 1
expect_match "its error names file and line" "^Error: $T/bad.cfg:4: " "$ERR"
printf 'kernel = "/nonexistent/vmlinuz"\nname = "nokernel"\n' >"$T/nok.cfg"
run_xm create "$T/nok.cfg"
expect_rc "a missing kernel exits 1" 1
expect_match "with xend's message" '^Error: ' "$ERR"
check "and leaves no domain" gone nokernel

# --- list and friends ---------------------------------------------------------------
run_xm list
expect_rc "list exits 0" 0
expect_eq "list header" "Name              Id  Mem(MB)  CPU  State  Time(s)  Console" \
    "$(printf '%s\n' "$OUT" | head -n 1)"
expect_match "list row of Domain-0" $'\n''Domain-0 {9} {2}0 +[0-9]+ +[0-9]+  [-rbpsc]{5} +[0-9]+\.[0-9] {8}(\n|$)' "$OUT"
row=$(printf '%s\n' "$OUT" | grep '^ExampleDomain ')
expect_match "list row in the 2.0 format" \
    "^ExampleDomain {4}[ 0-9]{3}  {6}64  [ 0-9]{3}  [-rbpsc]{5}  [ 0-9]{5}\.[0-9]    [ 0-9]{0,3}$PORT\$" "$row"
expect_match "names are sorted" $'ExampleDomain.*\nVM3.*\nsxp1' "$(printf '%s\n' "$OUT" | sed 1,2d)"
run_xm list VM3 ExampleDomain
expect_match "list DOM... keeps the given order" $'^Name.*\nVM3 .*\nExampleDomain ' "$OUT"
run_xm list -l ExampleDomain
expect_eq "list -l pretty-prints the record" "(domain" "$(printf '%s\n' "$OUT" | head -n 1)"
expect_match "list -l has the config" '\(config' "$OUT"
run_xm list nosuch
expect_rc "list of an unknown domain exits 1" 1
expect_eq "with 404's reason" "Error: invalid domain:nosuch" "$ERR"

run_xm domid ExampleDomain
expect_eq "domid" "$ID" "$OUT"
run_xm domname "$ID"
expect_eq "domname" "ExampleDomain" "$OUT"
run_xm li
expect_match "a prefix of a command works" '^Name ' "$OUT"

# --- consoles -----------------------------------------------------------------------
run_xm consoles
expect_eq "consoles header" "Dom Port  Id Connection" "$(printf '%s\n' "$OUT" | head -n 1)"
row=$(printf '%s\n' "$OUT" | grep -E "^ *$ID $PORT ")
expect_match "consoles row" "^$(printf '%3s' "$ID") $PORT +[0-9]+ \$" "$row"
printf 'hello console\n' | timeout 20 xm console ExampleDomain >"$T/console.out" 2>&1
expect_eq "console with piped stdin exits 0" 0 $?
out=$(cat "$T/console.out")
expect_eq "console banner" "************ REMOTE CONSOLE: CTRL-] TO QUIT ********" \
    "$(head -n 1 "$T/console.out")"
expect_match "console shows the boot lines" 'Linux version' "$out"
expect_match "console shows the echo" 'hello console' "$out"
expect_eq "console exit banner" "************ REMOTE CONSOLE EXITED *****************" \
    "$(tail -n 1 "$T/console.out")"
printf 'x\035never sent\n' | timeout 20 xm console ExampleDomain >"$T/console2.out" 2>&1
expect_eq "Ctrl-] leaves the console" 0 $?
expect_no_match "nothing after Ctrl-] is sent" 'never sent' "$(cat "$T/console2.out")"
run_xm console nosuch
expect_eq "console of an unknown domain" "Error: invalid domain:nosuch" "$ERR"

# --- devices ------------------------------------------------------------------------
run_xm vif-list ExampleDomain
expect_match "vif-list prints one vif a line" '^\(vif \(idx 0\) .*\(mac aa:00:00:' "$OUT"
run_xm vbd-list ExampleDomain
expect_eq "vbd-list of a domain without disks" "" "$OUT"
dev=""
for d in /dev/loop7 /dev/loop6 /dev/loop0; do [ -b "$d" ] && { dev=$d; break; }; done
if [ -n "$dev" ]; then
    run_xm vbd-create ExampleDomain "phy:$dev" sdb1 r
    expect_rc "vbd-create exits 0" 0
    run_xm vbd-list ExampleDomain
    expect_match "vbd-list shows the new vbd" '\(vbd .*\(dev sdb1\)' "$OUT"
    idx=$(printf '%s\n' "$OUT" | grep -oE '\(idx [0-9]+\)' | head -n 1 | grep -oE '[0-9]+')
    run_xm vbd-destroy ExampleDomain "$idx"
    expect_rc "vbd-destroy exits 0" 0
    run_xm vbd-list ExampleDomain
    expect_eq "vbd-destroy removed it" "" "$OUT"
else
    ok "vbd-create/destroy # skip: no block device to export"
fi
run_xm vbd-create ExampleDomain phy:/nonexistent/dev sdb2 r
expect_rc "vbd-create of a missing device exits 1" 1
expect_match "with the vbd message" '^Error: .*(not found|Device)' "$ERR"

# --- domain operations --------------------------------------------------------------
run_xm pause ExampleDomain
expect_rc "pause exits 0" 0
expect_match "pause pauses" '^--p--$' "$(field ExampleDomain state)"
run_xm unpause ExampleDomain
expect_match "unpause runs it again" '^[rb-]{2}-' "$(field ExampleDomain state)"
run_xm pause nosuch
expect_rc "pause of an unknown domain exits 1" 1
expect_eq "with 404's reason" "Error: invalid domain:nosuch" "$ERR"
run_xm pincpu ExampleDomain 0
expect_rc "pincpu exits 0" 0
wait_until 5 bash -c "[ \"\$(xm list ExampleDomain | sed 1d | awk '{print \$4}')\" = 0 ]" &&
    ok "pincpu moves it to cpu 0" || not_ok "pincpu moves it to cpu 0"
run_xm pincpu ExampleDomain abc
expect_eq "pincpu with a bad cpu" "Error: invalid literal for int() with base 10: 'abc'" "$ERR"

# --- schedulers ---------------------------------------------------------------------
run_xm bvt ExampleDomain 20 1 0 2000 1000
expect_rc "bvt exits 0" 0
expect_eq "bvt sets mcuadv" 20 "$(field ExampleDomain mcuadv)"
run_xm bvt_ctxallow 5000000
expect_rc "bvt_ctxallow exits 0" 0
run_xm atropos ExampleDomain 10000000 2000000 10000000 1
if [ "$RC" = 0 ]; then ok "atropos is accepted"; else
    expect_match "atropos under another scheduler is xend's error" '^Error: ' "$ERR"; fi
run_xm rrobin 10000000
if [ "$RC" = 0 ]; then ok "rrobin is accepted"; else
    expect_match "rrobin under another scheduler is xend's error" '^Error: ' "$ERR"; fi
run_xm bvt ExampleDomain 1 2
expect_eq "bvt with too few arguments" "Error: bvt: Invalid argument(s)" "$ERR"

# --- dmesg -c -----------------------------------------------------------------------
run_xm dmesg -c
expect_rc "dmesg -c exits 0" 0
run_xm dmesg
expect_no_match "dmesg -c cleared the buffer" 'domain [0-9]+ created' "$OUT"

# --- call ---------------------------------------------------------------------------
run_xm call domains
expect_match "call domains" 'ExampleDomain' "$OUT"
run_xm call xend_domain ExampleDomain
expect_eq "call domain pretty-prints" "(domain" "$(printf '%s\n' "$OUT" | head -n 1)"
run_xm call xend
expect_match "call xend gets the root" '\(ls .*domain' "$(printf '%s' "$OUT" | tr '\n' ' ')"
run_xm call domain_pause VM3
expect_rc "call domain_pause exits 0" 0
run_xm call -x "127.0.0.1:$XEND_PORT" domain_unpause VM3
expect_rc "call -x HOST:PORT" 0
expect_match "call domain_unpause ran it" '^[rb-]{2}-' "$(field VM3 state)"
run_xm call domain_pause
expect_eq "call with too few arguments" "Error: call: usage: domain_pause ID" "$ERR"

# --- vnets (where xend serves them) -------------------------------------------------
xget /xend/vnet/ >/dev/null
if [ "$(http_status)" = 200 ]; then
    printf '(vnet (id 97) (bridge vnet97) (security none))\n' >"$T/vnet.sxp"
    run_xm vnet-create "$T/vnet.sxp"
    expect_rc "vnet-create exits 0" 0
    run_xm vnet-list
    expect_match "vnet-list shows it" '\(id 97\)' "$OUT"
    run_xm vnet-delete 97
    expect_rc "vnet-delete exits 0" 0
    run_xm vnet-list
    expect_no_match "vnet-delete removed it" '\(id 97\)' "$OUT"
else
    run_xm vnet-list
    expect_rc "vnet-list without vnet support fails" 1
    expect_match "with xend's reason" '^Error: ' "$ERR"
fi

# --- save, restore, migrate ---------------------------------------------------------
run_xm save sxp1 "$T/sxp1.save"
expect_rc "save exits 0" 0
expect_eq "save prints nothing off a terminal" "" "$OUT$ERR"
check "save wrote the file" test -s "$T/sxp1.save"
check "the saved domain is gone" gone sxp1
run_xm restore "$T/sxp1.save"
expect_rc "restore exits 0" 0
expect_eq "restore prints the record" "(domain" "$(printf '%s\n' "$OUT" | head -n 1)"
expect_match "restore gives the domain back" '^[rb-]{2}-' "$(field sxp1 state)"
run_xm migrate sxp1 "127.0.0.1:$(free_port)"
expect_rc "migrate to nowhere exits 1" 1
expect_match "with an error" '^Error: ' "$ERR"
check "a failed migration keeps the domain" present sxp1
run_xm migrate Domain-0 elsewhere
expect_eq "migrate of Domain-0 is refused" "Error: Cannot migrate Domain-0" "$ERR"

# --- memory -------------------------------------------------------------------------
run_xm maxmem ExampleDomain 128
expect_rc "maxmem exits 0" 0
expect_eq "maxmem sets maxmem" 128 "$(field ExampleDomain maxmem)"
run_xm balloon ExampleDomain 48
expect_rc "balloon exits 0" 0
wait_until 10 bash -c "[ \"\$(xm list ExampleDomain | sed 1d | awk '{print \$3}')\" = 48 ]" &&
    ok "balloon reaches the target" || not_ok "balloon reaches the target"

# --- shutdown and destroy -----------------------------------------------------------
run_xm destroy VM3
expect_rc "destroy exits 0" 0
check "destroy removes the domain" gone VM3
run_xm shutdown -R ExampleDomain
expect_rc "shutdown -R exits 0" 0
sleep 1
check "shutdown -R restarts rather than removes" present ExampleDomain
run_xm shutdown -w sxp1
expect_rc "shutdown -w exits 0" 0
expect_eq "shutdown -w reports" $'Domain sxp1 terminated\nAll domains terminated' "$OUT"
check "shutdown -w returns once it is gone" gone sxp1
run_xm shutdown -w -R ExampleDomain
expect_eq "shutdown -w -R is refused" "Error: Can't specify wait and reboot" "$ERR"
xm create -q examples/xmexample2 vmid=4 >/dev/null 2>&1
run_xm shutdown -a -w
expect_rc "shutdown -a -w exits 0" 0
expect_eq "shutdown -a -w ends with the summary" "All domains terminated" \
    "$(printf '%s\n' "$OUT" | tail -n 1)"
names=$(xget /xend/domain/)
expect_match "only Domain-0 is left" '^\(Domain-0\)$' "$names"

# --- create -c ----------------------------------------------------------------------
printf 'from create -c\n' | timeout 20 xm create -c examples/xmexample1 name=cvm >"$T/c.out" 2>&1
expect_eq "create -c exits 0" 0 $?
expect_match "create -c attaches to the console" 'REMOTE CONSOLE: CTRL-\] TO QUIT' "$(cat "$T/c.out")"
expect_match "create -c console echoes" 'from create -c' "$(cat "$T/c.out")"
run_xm destroy cvm

# --- xend gone ----------------------------------------------------------------------
xend_stop
run_xm list
expect_rc "list with xend stopped exits 1" 1
expect_eq "says so" "Error: Error connecting to xend, is xend running?" \
    "$(printf '%s\n' "$ERR" | tail -n 1)"

finish
