#!/bin/bash
# Crash safety (issue 4): rounds of `kill -9` of xend at a random point of a loop of
# creates and destroys by concurrent clients, then a restart on the same state dir and
# the same simhv (which outlives xend). After each restart:
#   - every domain the hypervisor has is known to xend, with its config;
#   - every create xend acknowledged (201) is still there, unless its destroy was
#     acknowledged too, and every acknowledged destroy stays destroyed;
#   - xend lists exactly the hypervisor's domains.
# Then: damaged store files are set aside and xend still starts; and a restart (clean or
# after kill -9) keeps running domains with their devices and console port.
source "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-5}
CLIENTS=${CLIENTS:-4}
DEADLINE=$((SECONDS + ${TIME_BUDGET:-55}))

# Console ports are base + domain id, and ids climb into the hundreds here: keep them below
# the ephemeral range, where the clients' own connections would take them, and among the
# spans (lib.sh's free_port), away from the daemon ports other tests pick.
ephemeral=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
for _ in $(seq 1 50); do
    b=$((21000 + RANDOM % (ephemeral - 21000 - 600)))
    port_free $b && port_free $((b + 150)) && port_free $((b + 300)) && { CONSOLE_BASE=$b; break; }
done

xend_start || { not_ok "xend starts"; finish; }
ok "xend starts"
URL=http://127.0.0.1:$XEND_PORT
sim_kernel >/dev/null

# The names of the hypervisor's domains (not Domain-0), asked of simhv directly, sorted.
hv_names() {
    perl -MIO::Socket::UNIX -e '
        my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "simhv: $!\n";
        print $s "(dom_list 1)\n";
        my $l = <$s>;
        while ($l =~ /\(domid \d+\) \(name ([^ )]+)\)/g) { print "$1\n"; }
    ' "$T/state/simhv.sock" | grep -vx Domain-0 | sort
}
# The names xend lists (not Domain-0), sorted.
xend_names() { xget /xend/domain | tr -d "()'" | tr ' ' '\n' | grep -v '^$' | grep -vx Domain-0 | sort; }

# One client: create r<R>c<C>n<I>, destroy every other one, until xend goes away. Its log
# says what was tried and what was acknowledged. A destroy in flight at the kill may or
# may not have happened, so only creates never followed by a destroy must survive.
client() {
    local r=$1 c=$2 i=0 name st log=$T/ops.$1.$2
    while :; do
        name=r${r}c${c}n$i
        echo "try $name" >> "$log"
        st=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --data-urlencode op=create \
            --data-urlencode "config=$(vm_config "$name" 8)" "$URL/xend/domain") || true
        case $st in
        201) echo "created $name" >> "$log" ;;
        000) return ;;
        *) echo "failed $name $st" >> "$log" ;;
        esac
        if [ "$st" = 201 ] && [ $((i % 2)) = 1 ]; then
            echo "destroying $name" >> "$log"
            st=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -d op=destroy \
                -d reason=halt "$URL/xend/domain/$name") || true
            case $st in 200) echo "destroyed $name" >> "$log" ;; 000) return ;; esac
        fi
        i=$((i + 1))
    done
}
tried() { cat "$T"/ops.* 2>/dev/null | grep -c '^try '; }
at_least() { [ "$(tried)" -ge "$1" ]; }
acked() { cat "$T"/ops.* 2>/dev/null | awk -v w="$1" '$1 == w { print $2 }' | sort; }

# Names (one per line in $2) for which GET /xend/domain/NAME does not answer 200 with a
# (config (vm ...)); printed space-separated.
without_config() {
    local n bad=""
    for n in $1; do
        xget "/xend/domain/$n" > "$T/.info"
        [ "$(http_status)" = 200 ] && grep -q '(config (vm ' "$T/.info" || bad="$bad $n"
    done
    echo "$bad"
}

total_tried=0
for round in $(seq 1 "$ROUNDS"); do
    [ $SECONDS -ge $DEADLINE ] && { echo "# time budget spent after $((round - 1)) rounds"; break; }
    before=$(tried)
    pids=()
    for c in $(seq 1 "$CLIENTS"); do
        client "$round" "$c" &
        pids+=($!)
    done
    # The kill point: after a random number of further create attempts.
    k=$((before + 4 + RANDOM % 40))
    wait_until 30 at_least "$k" || not_ok "round $round: clients make progress"
    kill -9 "$(cat "$T/xend.pid")"
    wait "${pids[@]}" 2>/dev/null
    echo "# round $round: killed after $(($(tried) - before)) create attempts"

    xend_start || { not_ok "round $round: xend restarts after kill -9"; break; }
    ok "round $round: xend restarts after kill -9"

    hv=$(hv_names)
    created=$(acked created)
    destroyed=$(acked destroyed)
    alive=$(comm -23 <(echo "$created") <(acked destroying))
    expect_eq "round $round: every hypervisor domain is known with its config" "" \
        "$(without_config "$hv")"
    expect_eq "round $round: no acknowledged create is lost" "" "$(without_config "$alive")"
    expect_eq "round $round: every acknowledged create is still in the hypervisor" "" \
        "$(comm -23 <(echo "$alive") <(echo "$hv") | tr '\n' ' ')"
    back=""
    for n in $destroyed; do
        xget "/xend/domain/$n" >/dev/null
        [ "$(http_status)" = 404 ] || back="$back $n"
    done
    expect_eq "round $round: no acknowledged destroy comes back" "" "$back"
    expect_eq "round $round: xend lists exactly the hypervisor's domains" "$hv" "$(xend_names)"
done
echo "# $(tried) creates tried, $(acked created | grep -c .) acknowledged, $(acked destroyed | grep -c .) destroys acknowledged, $(hv_names | grep -c .) domains alive"

# ---- damaged store files ----
xend_stop
SD=$T/state/domain
victim=$(grep -l "(name $(hv_names | head -1))" "$SD"/* | head -1)
head -c 100 "$victim" > "$T/.half" && cat "$T/.half" > "$victim"      # truncated in place
printf 'this is not sxp (((\n' > "$SD/0123456789abcdef0123456789abcdef" # garbage
other=$(ls "$SD" | grep -v '^\.' | grep -v corrupt | grep -vxF "$(basename "$victim")" | head -1)
sed 's/(memory 8)/(memory 9)/' "$SD/$other" > "$SD/fedcba9876543210fedcba9876543210" # bad crc
xend_start && ok "xend starts with damaged store files" || { not_ok "xend starts with damaged store files"; finish; }
for f in "$victim" "$SD/0123456789abcdef0123456789abcdef" "$SD/fedcba9876543210fedcba9876543210"; do
    b=$(basename "$f")
    [ ! -e "$f" ] && ls "$SD" | grep -q "^$b\.corrupt-" && ok "$b was set aside" \
        || not_ok "$b was set aside" "$(ls -a "$SD" | grep "$b")"
    grep "$b" "$T/xend.log" | grep -qiE 'corrupt|set aside|damaged' && ok "setting $b aside is logged" \
        || not_ok "setting $b aside is logged"
done
vname=$(hv_names | head -1)
xget "/xend/domain/$vname" >/dev/null
expect_eq "the domain whose record was damaged is still known (adopted)" 200 "$(http_status)"
expect_eq "xend lists exactly the hypervisor's domains" "$(hv_names)" "$(xend_names)"

# ---- a restart keeps running domains with their devices and console ----
dd if=/dev/zero of="$T/disk.img" bs=64k count=1 2>/dev/null
xpost /xend/domain op=create "config=$(vm_config keep 8 "(device (vif (mac aa:00:00:00:00:42))) (device (vbd (uname file:$T/disk.img) (dev sda1) (mode w)))")" >/dev/null
expect_eq "a domain with devices is created" 201 "$(http_status)"
xpost /xend/domain/keep op=unpause >/dev/null
part() { xget /xend/domain/keep | grep -oE "\($1 \((\([^()]*\)|[^()])*(\((\([^()]*\)|[^()])*\) *)*\)" | head -1; }
console_port() { xget /xend/domain/keep | grep -oE '\(console_port [0-9]+\)' | grep -oE '[0-9]+'; }
port=$(console_port)
devs=$(xget "/xend/domain/keep?op=vifs")$(xget "/xend/domain/keep?op=vbds")
expect_match "the domain has a console port" '^[0-9]+$' "$port"
for how in stop kill; do
    if [ $how = stop ]; then xend_stop; else kill -9 "$(cat "$T/xend.pid")"; fi
    # The console listener goes with xend; it must come back on the same port.
    xend_start || { not_ok "xend restarts ($how)"; continue; }
    expect_eq "after $how: the same console port" "$port" "$(console_port)"
    expect_eq "after $how: the same devices" "$devs" \
        "$(xget "/xend/domain/keep?op=vifs")$(xget "/xend/domain/keep?op=vbds")"
    expect_match "after $how: still running (not paused)" '\(state [r-][b-]-' "$(xget /xend/domain/keep)"
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && ok "after $how: the console port accepts" \
        || not_ok "after $how: the console port accepts"
done
echo "# took $SECONDS s (rounds stop at the ${DEADLINE}s budget; timing is not asserted)"

finish
