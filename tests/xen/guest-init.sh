#!/bin/busybox sh
# /init of the PV guest the Xen test boots: say hello on the console (hvc0, which
# xenconsoled hands to xend's console port), then do what the kernel command line asks:
#   xend.crash=1      crash on purpose (the kernel's panic tells Xen SHUTDOWN_crash)
#   xend.test=vbd     read the pattern on xvda, write one to xvdb, then report xvdc coming
#                     and going (hot-plug)
#   xend.test=net     bring up eth0, ping dom0 and the peer behind the bridge, once from a
#                     spoofed address, then report eth1 coming (hot-plug)
#   xend.test=count   print a counter every second (save and restore)
# else idle until xend asks it to shut down (the kernel then runs /sbin/poweroff).
# Every report is a "XEND-GUEST-..." line; dom0's test reads them through xend's console.
/bin/busybox mkdir -p /proc /sys /dev /bin /sbin
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev 2>/dev/null
/bin/busybox --install -s /bin
echo "XEND-GUEST-HELLO $(uname -r)"
read -r CMDLINE < /proc/cmdline
case " $CMDLINE " in
*" xend.crash=1 "*)
    echo "XEND-GUEST-CRASHING"
    echo 1 > /proc/sys/kernel/sysrq
    echo c > /proc/sysrq-trigger
    exit 1 # init exiting panics too
    ;;
esac

# present PATH SECONDS: wait until PATH exists
present() {
    i=0
    while [ ! -e "$1" ]; do
        i=$((i + 1))
        [ $i -gt "$2" ] && return 1
        sleep 1
    done
    return 0
}

# watch PATH WHAT: report PATH appearing and disappearing, forever (hot-plug)
watch_dev() {
    was=0
    while :; do
        if [ -e "$1" ]; then
            [ $was = 0 ] && echo "XEND-GUEST-ADDED $2 $($3)"
            was=1
        else
            [ $was = 1 ] && echo "XEND-GUEST-REMOVED $2"
            was=0
        fi
        sleep 1
    done
}

vbd_test() {
    insmod /modules/xen-blkfront.ko
    present /dev/xvda 60 || echo "XEND-GUEST-NO xvda"
    present /dev/xvdb 60 || echo "XEND-GUEST-NO xvdb"
    echo "XEND-GUEST-READ $(head -c 24 /dev/xvda)"
    printf 'XEND-WRITTEN-BY-GUEST\n' | dd of=/dev/xvdb conv=fsync 2>/dev/null &&
        echo "XEND-GUEST-WROTE xvdb"
    watch_dev /dev/xvdc xvdc "head -c 24 /dev/xvdc"
}

net_test() {
    insmod /modules/xen-netfront.ko
    present /sys/class/net/eth0 60 || echo "XEND-GUEST-NO eth0"
    echo "XEND-GUEST-MAC eth0 $(cat /sys/class/net/eth0/address)"
    ip link set lo up
    ip addr add "$GUEST_IP/24" dev eth0
    ip link set eth0 up
    # dom0 (the bridge's address) answers through INPUT; the peer sits behind the bridge's
    # other port, so the anti-spoofing rules in FORWARD see that traffic.
    ping -c 3 -W 3 "$DOM0_IP" > /dev/null && echo "XEND-GUEST-PING dom0 ok" || echo "XEND-GUEST-PING dom0 failed"
    ping -c 3 -W 3 "$PEER_IP" > /dev/null && echo "XEND-GUEST-PING peer ok" || echo "XEND-GUEST-PING peer failed"
    ip addr add "$SPOOF_IP/24" dev eth0
    ping -c 2 -W 2 -I "$SPOOF_IP" "$PEER_IP" > /dev/null && echo "XEND-GUEST-SPOOF passed" ||
        echo "XEND-GUEST-SPOOF blocked"
    echo "XEND-GUEST-NET-DONE"
    watch_dev /sys/class/net/eth1 eth1 "cat /sys/class/net/eth1/address"
}

count() {
    n=0
    while :; do
        n=$((n + 1))
        echo "XEND-COUNT $n"
        sleep 1
    done
}

for w in $CMDLINE; do
    case $w in
    xend.ip=*) # GUEST,DOM0,PEER,SPOOF
        IFS=, read -r GUEST_IP DOM0_IP PEER_IP SPOOF_IP <<IPS
${w#xend.ip=}
IPS
        ;;
    esac
done
case " $CMDLINE " in
*" xend.test=vbd "*) vbd_test ;;
*" xend.test=net "*) net_test ;;
*" xend.test=count "*) count ;;
esac
while :; do sleep 3600; done
