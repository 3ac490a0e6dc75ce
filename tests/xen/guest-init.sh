#!/bin/busybox sh
# /init of the PV guest the Xen test boots: say hello on the console (hvc0, which
# xenconsoled hands to xend's console port), then do what the kernel command line asks:
#   xend.crash=1      crash on purpose (the kernel's panic tells Xen SHUTDOWN_crash)
#   xend.test=vbd     read the pattern on xvda, write one to xvdb, then report xvdc coming
#                     and going (hot-plug)
#   xend.test=net     bring up eth0, ping dom0 and the peer behind the bridge, once from a
#                     spoofed address, then report eth1 coming (hot-plug)
#   xend.test=count   print a counter every second (save and restore)
#   xend.test=reboot  check its disk (xvda) and network (eth0, pings dom0), then reboot once:
#                     a mark it writes on xvda tells the next boot it is the second life
#   xend.test=devcount  count every second, each count writing xvda and reading it back and
#                     pinging dom0 (save and restore of a guest with devices)
#   xend.test=spin    burn cpu for ever (the scheduler stage)
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

# net_up: eth0 with $GUEST_IP (xend.ip=GUEST,DOM0)
net_up() {
    insmod /modules/xen-netfront.ko
    present /sys/class/net/eth0 60 || echo "XEND-GUEST-NO eth0"
    echo "XEND-GUEST-MAC eth0 $(cat /sys/class/net/eth0/address)"
    ip link set lo up
    ip addr add "$GUEST_IP/24" dev eth0
    ip link set eth0 up
}

reboot_test() {
    insmod /modules/xen-blkfront.ko
    present /dev/xvda 60 || echo "XEND-GUEST-NO xvda"
    echo "XEND-GUEST-READ $(head -c 24 /dev/xvda)"
    net_up
    # the first pings go while the bridge's port is still learning
    ping -c 5 -W 3 "$DOM0_IP" > /dev/null && echo "XEND-GUEST-PING dom0 ok" || echo "XEND-GUEST-PING dom0 failed"
    if [ "$(dd if=/dev/xvda bs=512 skip=1 count=1 2>/dev/null | head -c 18)" = XEND-REBOOTED-ONCE ]; then
        echo "XEND-GUEST-SECOND-LIFE"
        return
    fi
    printf XEND-REBOOTED-ONCE | dd of=/dev/xvda bs=512 seek=1 conv=fsync 2>/dev/null
    echo "XEND-GUEST-REBOOTING"
    sync
    reboot -f
}

# One count a second, each with whether the disk and the network worked in it: a write to
# xvda read back, a ping to dom0. Said after the first count: the devices work at all.
devcount() {
    sleep 1 && echo "XEND-GUEST-TICK" # its timer works
    insmod /modules/xen-blkfront.ko
    present /dev/xvda 60 || echo "XEND-GUEST-NO xvda"
    echo "XEND-GUEST-XVDA $(cat /sys/block/xvda/size 2>/dev/null) sectors"
    echo "XEND-GUEST-READ $(head -c 24 /dev/xvda)"
    net_up
    n=0
    while :; do
        n=$((n + 1))
        printf "XEND-SAVEDEV-%08d" $n | dd of=/dev/xvda bs=512 seek=1 conv=fsync 2>/dev/null
        d=bad
        [ "$(dd if=/dev/xvda bs=512 skip=1 count=1 2>/dev/null | head -c 21)" = "$(printf "XEND-SAVEDEV-%08d" $n)" ] && d=ok
        p=bad
        ping -c 1 -W 1 "$DOM0_IP" > /dev/null && p=ok
        echo "XEND-COUNT $n disk=$d net=$p"
        sleep 1
    done
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
*" xend.test=reboot "*) reboot_test ;;
*" xend.test=devcount "*) devcount ;;
*" xend.test=spin "*) while :; do :; done ;;
esac
while :; do sleep 3600; done
