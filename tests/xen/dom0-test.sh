#!/bin/busybox sh
# The stages of the Xen test, run in dom0 (as /xen-test.sh) once the Xen drivers are
# loaded: start Xen's daemons and xend with backend = "xenctrl", then drive xend over HTTP
# (curl) the way the xm client does: create a PV guest from an SXP config, list it, read its
# console through xend's console port, pause, unpause, shut it down (poweroff), create
# another and destroy it, and create one that crashes.
#
# Each stage prints "XENDTEST stage NAME begin" and "... ok" or "... FAIL why"; the first
# failure prints diagnostics and ends the run. Never waits without a deadline.
X=http://127.0.0.1:8000
GUEST=/guest
CONSOLE_BASE=9600
STAGE=none

mark() { echo "XENDTEST $*"; }
begin() { STAGE=$1; mark "stage $1 begin"; }
pass() { mark "stage $STAGE ok"; }
diag() {
    mark "diag: xend log (tail)"
    tail -n 40 /run/xend.log 2>/dev/null | sed 's/^/XENDLOG /'
    mark "diag: processes, sockets, a request"
    ps | grep -v '\[' | sed 's/^/XENDLOG /'
    for t in /proc/$(cat /run/xend.pid)/task/*; do
        echo "XENDLOG task $t wchan=$(cat "$t/wchan") state=$(cut -d' ' -f3 "$t/stat") syscall=$(cat "$t/syscall" 2>/dev/null | cut -d' ' -f1)"
    done
    netstat -tln 2>&1 | sed 's/^/XENDLOG /'
    curl -sS -g --max-time 10 -o /tmp/diag "$X/xend/node" > /tmp/diag.err 2>&1
    echo "XENDLOG curl rc=$? $(head -c 300 /tmp/diag.err) $(head -c 300 /tmp/diag)"
    mark "diag: xen dmesg (tail, through xend)"
    get /xend/node/dmesg && tail -n 15 /tmp/body | sed 's/^/XENDLOG /'
}
die() {
    mark "stage $STAGE FAIL $*"
    diag
    mark "done FAIL $STAGE"
    exit 1
}

# Under TCG every fork of a PV dom0 costs a lot: one curl per request (busybox's static
# wget crashes resolving without NSS libraries), and the reply is taken apart with shell
# builtins only.
get() { # PATH: the reply in $B (one line)
    B=""
    curl -s -g --max-time 30 -o /tmp/body "$X$1" || return 1
    while IFS= read -r l || [ -n "$l" ]; do B="$B $l"; done < /tmp/body
    return 0
}
# post PATH name=value...: urlencoded, as xm sends it (values may hold spaces); reply in $B
post() {
    p=$1
    shift
    args=""
    i=0
    for a in "$@"; do
        i=$((i + 1))
        printf '%s' "${a#*=}" > "/tmp/arg.$i"
        args="$args --data-urlencode ${a%%=*}@/tmp/arg.$i"
    done
    # shellcheck disable=SC2086
    curl -s -g --max-time 120 -o /tmp/body -X POST $args "$X$p"
    B=""
    while IFS= read -r l || [ -n "$l" ]; do B="$B $l"; done < /tmp/body
}

tick() { # UP: dom0's uptime in whole seconds, without a fork
    read -r UP _ < /proc/uptime
    UP=${UP%.*}
}
# wait_for SECONDS CMD...: run CMD every second until it succeeds or the time is up
wait_for() {
    tick
    end=$((UP + $1))
    shift
    while ! "$@"; do
        tick
        [ "$UP" -ge "$end" ] && return 1
        sleep 1
    done
    return 0
}

# field NAME KEY: the value of (KEY value) in GET /xend/domain/NAME, in $F
field() {
    F=""
    get "/xend/domain/$1" || return 1
    case $B in *"($2 "*) ;; *) return 1 ;; esac
    F=${B#*"($2 "}
    F=${F%%")"*}
    return 0
}
node_is_xenctrl() { get /xend/node && case $B in *xenctrl*) true ;; *) false ;; esac; }
listed() { get /xend/domain && case $B in *"$1"*) true ;; *) false ;; esac; }
gone() { get /xend/domain && case $B in *"$1"*) false ;; *) true ;; esac; }
paused() { field "$1" state && case $F in ??p*) true ;; *) false ;; esac; }
unpaused() { field "$1" state && case $F in ??p*) false ;; ???*) true ;; *) false ;; esac; }
running() { field "$1" state && case $F in r* | ?b*) true ;; *) false ;; esac; }
logged() { grep -q "$1" /run/xend.log; }
hello() { grep -q XEND-GUEST-HELLO /tmp/console.g1; }

config() { # NAME [extra kernel args]
    echo "(vm (name $1) (memory 128) (image (linux (kernel $GUEST/vmlinuz) (ramdisk $GUEST/initrd.gz) (args 'console=hvc0 rdinit=/init quiet $2'))))"
}

create() { # NAME [args]: create, expect the domain in the reply
    post /xend/domain op=create "config=$(config "$1" "$2")"
    case $B in *"(name $1)"*) ;; *) die "create $1 answered: $B" ;; esac
}

# ---- Xen's daemons ----
begin xen-daemons
xenstored --pid-file /run/xenstored.pid || die "xenstored did not start"
wait_for 20 test -S /run/xenstored/socket || die "xenstored socket missing"
xen-init-dom0 || die "xen-init-dom0 failed"
xenconsoled --pid-file=/run/xenconsoled.pid || die "xenconsoled did not start"
pass

# ---- xend ----
begin xend-start
cat > /etc/xend.conf <<CONF
xend-port = 8000;
xend-address = "127.0.0.1";
xend-event-port = 8001;
xend-relocation-port = 8002;
state-dir = "/run/xend";
log-file = "/run/xend.log";
log-level = "debug";
pid-file = "/run/xend.pid";
backend = "xenctrl";
plugins = ["hv-xenctrl", "console"];
console-port-base = $CONSOLE_BASE;
CONF
/opt/xend/bin/xend start -c /etc/xend.conf || die "xend start failed"
wait_for 60 node_is_xenctrl || die "GET /xend/node does not name the xenctrl backend: $B"
listed Domain-0 || die "Domain-0 is not listed: $B"
pass

# ---- a PV guest ----
begin create
create g1
listed g1 || die "g1 is not in GET /xend/domain: $B"
field g1 memory && [ "$F" -ge 120 ] && [ "$F" -le 130 ] || die "g1 has memory '$F', wanted 128"
MEM=$F
field g1 id
ID=$F
paused g1 || die "a new g1 is not paused: state '$F'"
mark "info g1 id=$ID memory=$MEM state=$F"
pass

begin start
post /xend/domain/g1 op=unpause
wait_for 30 unpaused g1 || die "g1 still paused: state '$F'"
mark "info g1 state=$F"
pass

begin console
PORT=$((CONSOLE_BASE + ID))
# nc ends when its input does: give it one that stays open.
console_reader() { sleep 300 | timeout 200 nc 127.0.0.1 "$PORT" >> /tmp/console.g1 2>&1; }
: > /tmp/console.g1
console_reader &
READER=$!
# Under TCG the busybox nc has been seen to segfault before it connected (CI, once): a
# reader that is gone without the hello is started again. xend keeps the guest's boot
# output for a late client, so the new one sees the hello as the first would have.
hello_or_reconnect() {
    hello && return 0
    if ! kill -0 "$READER" 2>/dev/null; then
        mark "console: the reader exited without the hello, connecting again"
        console_reader &
        READER=$!
    fi
    return 1
}
wait_for 200 hello_or_reconnect || die "no hello on console port $PORT: $(tail -c 300 /tmp/console.g1 | tr -d '\r' | tr '\n' '|')"
mark "console: $(grep XEND-GUEST-HELLO /tmp/console.g1 | tr -d '\r' | head -n 1)"
pass

begin pause
post /xend/domain/g1 op=pause
wait_for 30 paused g1 || die "state after pause: '$F'"
mark "info g1 state=$F"
pass

begin unpause
post /xend/domain/g1 op=unpause
wait_for 30 unpaused g1 || die "state after unpause: '$F'"
mark "info g1 state=$F"
pass

begin shutdown
post /xend/domain/g1 op=shutdown reason=poweroff
wait_for 150 gone g1 || die "g1 still there after shutdown: state '$F'"
logged "domain exited.*domain=g1.*reason=poweroff" || die "xend did not log g1's poweroff"
pass

# ---- create again and destroy ----
begin destroy
create g2
post /xend/domain/g2 op=unpause
wait_for 60 running g2 || die "g2 is not running: state '$F'"
post /xend/domain/g2 op=destroy
wait_for 60 gone g2 || die "g2 still there after destroy: state '$F'"
pass

# ---- a guest that crashes: noticed through VIRQ_DOM_EXC ----
begin crash
create g3 xend.crash=1
post /xend/domain/g3 op=unpause
wait_for 200 gone g3 || die "g3 still there: state '$F'"
logged "domain exited.*domain=g3.*reason=crash" || die "xend did not log g3's crash"
mark "notify: $(grep -o 'domain exceptions.*' /run/xend.log | head -n 1)"
pass

get /xend/domain
mark "domains left: $B"
case $B in *g1* | *g2* | *g3*) die "a guest is still listed: $B" ;; esac

begin xend-stop
/opt/xend/bin/xend stop -c /etc/xend.conf || die "xend stop failed"
pass

mark "done ok"
exit 0
