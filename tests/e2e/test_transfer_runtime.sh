#!/bin/bash
# What an instance was changed to since it started travels with it: a ballooned domain
# keeps its memory target across save/restore and migration (40 MB stayed 40, not the
# config's 64), and so do its maximum memory, its cpu pin, its vcpus and its scheduler
# parameters (as the simulated hypervisor holds them, not only as xend prints them), also
# when xend restarted between the change and the save.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_hosts.sh"

xend_start || { not_ok "xend starts"; finish; }
ok "xend starts"

# The bvt parameters simhv applies to a domain (its own protocol: one SXP line each way).
hv_bvt() {
    python3 - "${SIMHV_SOCK:-$T/state/simhv.sock}" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(("(sched_get 1 (domid %s) (sched bvt) (values (mcuadv 0) (warpback 0) "
           "(warpvalue 0) (warpl 0) (warpu 0)))\n" % sys.argv[2]).encode())
print(s.makefile().readline().strip())
PY
}
field() { grep -oE "\\($1 [^()]+\\)" | head -1 | sed -E "s/^\\($1 (.*)\\)$/\\1/"; } # the info's own, not the config's
changed() { # NAME: create 64 MB pinned to cpu 1, then balloon to 40, maxmem 80, pin to cpu 0
    xpost /xend/domain op=create "config=$(vm_config $1 64 '(vcpus 2) (cpu 1)')" >/dev/null
    expect_eq "$1 created" 201 "$(http_status)"
    xpost /xend/domain/$1 op=unpause >/dev/null
    expect_eq "$1 ballooned to 40" 0 "$(xpost /xend/domain/$1 op=mem_target_set target=40)"
    expect_eq "$1 maxmem 80" 0 "$(xpost /xend/domain/$1 op=maxmem_set memory=80)"
    expect_eq "$1 pinned to cpu 0" 0 "$(xpost /xend/domain/$1 op=pincpu cpu=0)"
    expect_eq "$1 bvt parameters set" 0 \
        "$(xpost /xend/domain/$1 op=cpu_bvt_set mcuadv=20 warpback=1 warpvalue=2 warpl=3 warpu=4)"
    at40() { xget /xend/domain/$1 | grep -q '(memory 40)'; }
    wait_until 10 at40 $1 && ok "$1 is at 40 MB" || not_ok "$1 is at 40 MB"
}
# check_kept WHAT NAME: memory 40, maxmem 80, running on cpu 0 (its config says cpu 1)
check_kept() {
    xpost /xend/domain/$2 op=unpause >/dev/null
    ran() { xget /xend/domain/$1 | grep -qE '\(cpu_time 0\.[1-9]|\(cpu_time [1-9]'; }
    wait_until 10 ran $2 || true
    local info
    info=$(xget /xend/domain/$2)
    expect_eq "$1: memory target kept" 40 "$(printf '%s' "$info" | field memory)"
    expect_eq "$1: maxmem kept" 80 "$(printf '%s' "$info" | field maxmem)"
    expect_eq "$1: cpu pin kept" 0 "$(printf '%s' "$info" | field cpu)"
    expect_match "$1: vcpus kept (config)" '\(vcpus 2\)' "$info"
    expect_match "$1: the hypervisor has its bvt parameters" \
        '\(mcuadv 20\) \(warpback 1\) \(warpvalue 2\) \(warpl 3\) \(warpu 4\)' \
        "$(hv_bvt "$(printf '%s' "$info" | field id)")"
}

changed bal1
body=$(xpost /xend/domain/bal1 op=save "file=$T/bal1.img")
expect_eq "bal1 saved" 0 "$body"
xpost /xend/domain op=restore "file=$T/bal1.img" >/dev/null
expect_eq "bal1 restored" 201 "$(http_status)"
check_kept "save/restore" bal1
# A second save of the restored domain carries them on.
xpost /xend/domain/bal1 op=save "file=$T/bal1b.img" >/dev/null
xpost /xend/domain op=restore "file=$T/bal1b.img" >/dev/null
check_kept "second save/restore" bal1

changed bal2
body=$(xpost /xend/domain/bal2 op=migrate "destination=127.0.0.1:$RELOC_PORT" live=0)
expect_migrated "bal2 migrated locally" "$RELOC_PORT" "$body"
check_kept "local migration" bal2

# To another host (a second xend with its own simhv).
start_host b
changed bal4
body=$(xpost /xend/domain/bal4 op=migrate "destination=127.0.0.1:${RPORT[b]}" live=0)
expect_migrated "bal4 migrated to host b" "${RPORT[b]}" "$body"
A_PORT=$XEND_PORT
XEND_PORT=${PORT[b]} SIMHV_SOCK=$T/b/state/simhv.sock check_kept "migration to another host" bal4
XEND_PORT=$A_PORT

# The changes are in the domain's record: an xend restart keeps them, so a save after it
# still carries them.
changed bal3
xend_stop
xend_start || { not_ok "xend restarts"; finish; }
expect_match "after an xend restart bal3 is still at 40 MB" '\(memory 40\)' "$(xget /xend/domain/bal3)"
body=$(xpost /xend/domain/bal3 op=save "file=$T/bal3.img")
expect_eq "bal3 saved after the xend restart" 0 "$body"
xpost /xend/domain op=restore "file=$T/bal3.img" >/dev/null
check_kept "save/restore after an xend restart" bal3

# A restart is a fresh boot from the config: the config's memory again.
xpost /xend/domain/bal2 op=destroy reason=reboot >/dev/null
at64() { xget /xend/domain/bal2 | grep -q '(memory 64)'; }
wait_until 20 at64 && ok "a rebooted domain starts at its config memory" ||
    not_ok "a rebooted domain starts at its config memory" "$(xget /xend/domain/bal2 | head -c 300)"
finish
