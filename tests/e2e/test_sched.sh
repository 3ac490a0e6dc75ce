#!/bin/bash
# Schedulers end to end: xm bvt and xm atropos change the parameters of running domains and
# the cpu time of two busy domains on one cpu moves to the new ratio; bad values are
# refused naming the parameter; ops of a scheduler the host does not run are refused.
source "$(dirname "$0")/lib.sh"

cpu_time() { xget "/xend/domain/$1" | sed -nE 's/.*\(cpu_time ([0-9.e+-]+)\).*/\1/p'; }
# ratio DOM_A DOM_B SECONDS: cpu time of A over B gained during the window, as a float.
ratio() {
    local a0 b0 a1 b1
    a0=$(cpu_time "$1"); b0=$(cpu_time "$2")
    sleep "$3"   # measuring a rate needs an interval of real time; nothing to wait for
    a1=$(cpu_time "$1"); b1=$(cpu_time "$2")
    awk -v a0="$a0" -v b0="$b0" -v a1="$a1" -v b1="$b1" \
        'BEGIN { db = b1 - b0; if (db <= 0) print "inf"; else printf "%.2f", (a1 - a0) / db }'
}
between() { awk -v x="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(x != "inf" && x >= lo && x <= hi) }'; }

busy_pair() {
    for n in busy1 busy2; do
        xpost /xend/domain op=create "config=$(ARGS=sim.load=100 vm_config $n 32 '(cpu 1)')" >/dev/null
        xm unpause $n
    done
}

xend_start 'scheduler = "bvt";' || { not_ok "xend starts with bvt"; finish; }
busy_pair
r=$(ratio busy1 busy2 1.5)
between "$r" 0.8 1.25 && ok "equal bvt weights share the cpu evenly ($r)" || not_ok "equal bvt weights share evenly" "ratio $r"
check "xm bvt sets the parameters" xm bvt busy2 20 0 0 2000 1000
expect_match "the info shows them" '\(sched \(name bvt\) \(mcuadv 20\)' "$(xget /xend/domain/busy2)"
r=$(ratio busy1 busy2 2)
between "$r" 1.7 2.3 && ok "mcuadv 10 vs 20 gives a 2:1 share ($r)" || not_ok "mcuadv 10 vs 20 gives 2:1" "ratio $r"
out=$(xm bvt busy2 0 0 0 2000 1000 2>&1)
expect_match "mcuadv 0 is refused naming it" 'mcuadv' "$out"
expect_match "and nothing changed" '\(mcuadv 20\)' "$(xget /xend/domain/busy2)"
body=$(xpost /xend/domain/busy1 op=cpu_atropos_set period=100 slice=10 latency=10 xtratime=1)
expect_match "atropos ops are refused on a bvt host" 'runs the bvt scheduler' "$body"
check "xm bvt_ctxallow sets the node's context-switch allowance" xm bvt_ctxallow 5000000
# the parameters survive a restart of the domain
xpost /xend/domain/busy2 op=shutdown reason=reboot >/dev/null
restarted() { xget /xend/domain/busy2 | grep -q restart_time; }
wait_until 10 restarted
expect_match "parameters survive a domain restart" '\(mcuadv 20\)' "$(xget /xend/domain/busy2)"
xend_stop
simhv_stop

# FBVT: the 2.0 XendClient's ops and xm's fbvt commands
xend_start 'scheduler = "fbvt";' || { not_ok "xend starts with fbvt"; finish; }
xpost /xend/domain op=create "config=$(vm_config fb1 32)" >/dev/null
check "xm fbvt sets the parameters" xm fbvt fb1 20 5 2000 1000
expect_match "the info shows them, warp as warpvalue" \
    '\(sched \(name fbvt\) \(mcuadv 20\) \(warpback 0\) \(warpvalue 5\)' "$(xget /xend/domain/fb1)"
check "xm call domain_cpu_fbvt_set (2.0's XendClient) works" xm call domain_cpu_fbvt_set fb1 30 0 2000 1000
expect_match "and sets mcuadv" '\(mcuadv 30\)' "$(xget /xend/domain/fb1)"
check "xm fbvt_ctxallow sets the node's allowance" xm fbvt_ctxallow 4000000
out=$(xm bvt_ctxallow 4000000 2>&1)
expect_match "bvt's node op is refused on an fbvt host" 'runs the fbvt scheduler' "$out"
xend_stop
simhv_stop

# Atropos: a new simulated host
xend_start 'scheduler = "atropos";' || { not_ok "xend starts with atropos"; finish; }
busy_pair
check "xm atropos sets the parameters" xm atropos busy1 10000000 6000000 10000000 0
check "xm atropos on the second domain" xm atropos busy2 10000000 2000000 10000000 0
r=$(ratio busy1 busy2 2)
between "$r" 2.5 3.5 && ok "atropos slices 6:2 give a 3:1 share ($r)" || not_ok "atropos slices 6:2 give 3:1" "ratio $r"
out=$(xm atropos busy1 10000000 20000000 10000000 0 2>&1)
expect_match "slice > period is refused" 'slice' "$out"
body=$(xpost /xend/domain/busy1 op=cpu_bvt_set mcuadv=10 warpback=0 warpvalue=0 warpl=2000 warpu=1000)
expect_match "bvt ops are refused on an atropos host" 'runs the atropos scheduler' "$body"

finish
