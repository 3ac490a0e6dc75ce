#!/bin/busybox sh
# /init of the dom0 initramfs the Xen test boots (tests/xen/run.sh builds it): mount what
# Xen's tools need, load the Xen drivers, start xenstored, xen-init-dom0 and xenconsoled,
# arm a watchdog, run the test stages (/xen-test.sh), save the logs and power the machine off.
#
# Everything it has to say goes to the console as lines starting "XENDTEST " (the host
# reads them from QEMU's serial port); it must always end in a power-off, never a hang.
/bin/busybox mkdir -p /proc /sys /dev /run /tmp /var /bin /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts # xenconsoled makes ptys
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
ln -sfn /run /var/run
ip link set lo up # xend and its clients talk over 127.0.0.1
mkdir -p /run/xen /run/xend /var/lib/xenstored /var/lib/xen /var/log/xen
exec </dev/console >/dev/console 2>&1
export PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin:/usr/lib/xen-4.17/bin
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu

. /xen-test.conf # WATCHDOG seconds
echo "XENDTEST dom0-up $(cut -d' ' -f1 /proc/uptime)"

# save_logs: xend's log, each guest's console as the test read it, Xen's console ring
# (through xend, while it lives) and dom0's kernel log, as a tar on the disk QEMU gives
# (/dev/vda, a virtio disk that only holds this); run.sh unpacks it into its artifacts.
save_logs() {
    [ -b /dev/vda ] || { echo "XENDTEST no artifacts disk (/dev/vda)"; return 0; }
    A=/tmp/artifacts
    mkdir -p $A
    cp /run/xend.log /run/xend.stderr /etc/xend.conf $A/ 2>/dev/null
    for f in /tmp/console.*; do [ -e "$f" ] && cp "$f" "$A/guest-console-${f#/tmp/console.}.log"; done
    # (after a stopped xend: the copy the test took before stopping it)
    curl -s --max-time 10 -o $A/xen-dmesg.sxp http://127.0.0.1:8000/xend/node/dmesg ||
        cp /tmp/xen-dmesg.sxp $A/ 2>/dev/null
    dmesg > $A/dom0-dmesg.log
    ps > $A/dom0-ps.log
    (cd $A && tar -cf /dev/vda .) && sync
    echo "XENDTEST artifacts saved: $(ls $A | tr '\n' ' ')"
}

# The watchdog: whatever happens below, the machine goes down in time.
(
    sleep "$WATCHDOG"
    echo "XENDTEST watchdog fired after ${WATCHDOG}s"
    save_logs
    poweroff -f
) &

while read -r m; do
    insmod "/lib/modules/$(uname -r)/$m" || echo "XENDTEST insmod $m failed"
done < /modules.order
mkdir -p /proc/xen
mount -t xenfs xenfs /proc/xen

/bin/busybox sh /xen-test.sh
echo "XENDTEST exit $?"
save_logs
poweroff -f
