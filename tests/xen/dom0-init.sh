#!/bin/busybox sh
# /init of the dom0 initramfs the Xen test boots (tests/xen/run.sh builds it): mount what
# Xen's tools need, load the Xen drivers, start xenstored, xen-init-dom0 and xenconsoled,
# arm a watchdog, run the test stages (/xen-test.sh) and power the machine off.
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

# The watchdog: whatever happens below, the machine goes down in time.
(
    sleep "$WATCHDOG"
    echo "XENDTEST watchdog fired after ${WATCHDOG}s"
    poweroff -f
) &

while read -r m; do
    insmod "/lib/modules/$(uname -r)/$m" || echo "XENDTEST insmod $m failed"
done < /modules.order
mkdir -p /proc/xen
mount -t xenfs xenfs /proc/xen

/bin/busybox sh /xen-test.sh
echo "XENDTEST exit $?"
sync
poweroff -f
