#!/bin/bash
# A list keeps each domain's printed info between requests (docs/http.md, "Listing
# domains"): every change to a domain shows in the next list all the same. Each step lists
# first (so that the info is kept), changes one domain, and reads the next list: pause,
# memory target, a scheduler parameter, a hot-plugged device, a console client coming and
# going, a reboot (new id, restart time), a destroy. The single domain's GET agrees.
source "$(dirname "$0")/lib.sh"

xend_start || { not_ok "xend starts"; finish; }
ok "xend starts"

# item NAME: NAME's (domain ...) item of GET /xend/domain?detail=1.
item() {
    xget "/xend/domain?detail=1" | NAME=$1 perl -ne '
        my ($depth, $start) = (0, 0);
        my @c = split //;
        for my $i (1 .. $#c - 1) {
            if ($c[$i] eq "(") { $start = $i if $depth++ == 0 }
            elsif ($c[$i] eq ")" && --$depth == 0) {
                my $it = substr($_, $start, $i - $start + 1);
                print "$it\n" if $it =~ /^\(domain \(id -?\d+\) \(name \Q$ENV{NAME}\E\)/;
            }
        }'
}
listed() { item "$1" | grep -qE "$2"; }
# What two reads of a running domain may differ in: its times, state and cpu.
steady() { sed -E 's/ \((cpu_time|up_time|state|cpu) [^()]*\)//g'; }

xpost /xend/domain op=create "config=$(vm_config l1 32)" >/dev/null
expect_eq "create l1 answers 201" 201 "$(http_status)"
xpost /xend/domain op=create "config=$(vm_config l2 32)" >/dev/null
expect_eq "create l2 answers 201" 201 "$(http_status)"
id=$(item l1 | grep -oE '^\(domain \(id [0-9]+' | grep -oE '[0-9]+$')
expect_match "l1 is listed with its id" '^[0-9]+$' "$id"
before_l2=$(item l2 | steady)

expect_match "l1 is listed paused after its create" '\(state --p--\)' "$(item l1)"
xpost /xend/domain/l1 op=unpause >/dev/null
check "an unpause shows in the next list" wait_until 5 listed l1 '\(state [r-]b?-?---\)'
item l1 >/dev/null
xpost /xend/domain/l1 op=pause >/dev/null
check "a pause shows in the next list" listed l1 '\(state --p--\)'

item l1 >/dev/null
xpost /xend/domain/l1 op=mem_target_set target=16 >/dev/null
expect_eq "mem_target_set answers 200" 200 "$(http_status)"
check "a memory target shows in the next list" wait_until 5 listed l1 '\(memory 16\)'

item l1 >/dev/null
xpost /xend/domain/l1 op=cpu_bvt_set mcuadv=25 warpback=0 warpvalue=0 warpl=2000 warpu=1000 >/dev/null
expect_eq "cpu_bvt_set answers 200" 200 "$(http_status)"
check "a scheduler parameter shows in the next list" listed l1 '\(sched \(name bvt\) \(mcuadv 25\)'

printf 'disk\n' > "$T/disk1"
item l1 >/dev/null
xpost /xend/domain/l1 op=device_create "config=(vbd (uname file:$T/disk1) (dev sdb1) (mode w))" >/dev/null
expect_eq "device_create answers 200" 200 "$(http_status)"
check "a new device shows in the next list" listed l1 "\\(devices \\(vbd .*file:$T/disk1"

port=$(item l1 | grep -oE '\(console_port [0-9]+\)' | grep -oE '[0-9]+')
expect_match "l1 lists its console port" '^[0-9]+$' "$port"
check "l1's console listens" listed l1 '\(console \(status listening\)'
exec 5<>"/dev/tcp/127.0.0.1/$port"
check "a console client shows in the next list" wait_until 5 listed l1 '\(console \(status connected\)'
exec 5>&-
check "a console client gone shows in the next list" wait_until 5 listed l1 '\(console \(status listening\)'

xpost /xend/domain/l1 op=unpause >/dev/null
item l1 >/dev/null
xpost /xend/domain/l1 op=shutdown reason=reboot >/dev/null
check "a reboot shows its restart time in the next list" wait_until 10 listed l1 '\(restart_time [0-9.]+\)'
new_id=$(item l1 | grep -oE '^\(domain \(id [0-9]+' | grep -oE '[0-9]+$')
check "the rebooted instance's id is listed" test -n "$new_id"
check "its console item names the new instance" listed l1 "\\(console \\(status [a-z]+\\) \\(id [0-9]+\\) \\(domain $new_id\\)"
expect_eq "the single GET says what the list says, apart from times, state and cpu" \
    "$(item l1 | steady)" "$(xget /xend/domain/l1 | steady)"

xpost /xend/domain/l1 op=destroy >/dev/null
check "a destroy shows in the next list" wait_until 10 bash -c "! xget '/xend/domain?detail=1' | grep -q '(name l1)'"
expect_eq "the domain that did not change lists as before, apart from times, state and cpu" \
    "$before_l2" "$(item l2 | steady)"

finish
