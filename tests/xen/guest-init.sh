#!/bin/busybox sh
# /init of the PV guest the Xen test boots: say hello on the console (hvc0, which
# xenconsoled hands to xend's console port), then either crash on purpose (xend.crash on the
# kernel command line: the kernel's panic tells Xen SHUTDOWN_crash) or idle until xend asks
# it to shut down (the kernel then runs /sbin/poweroff, below).
/bin/busybox mkdir -p /proc /sys /dev /bin /sbin
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs dev /dev 2>/dev/null
/bin/busybox --install -s /bin
echo "XEND-GUEST-HELLO $(uname -r)"
if grep -q xend.crash /proc/cmdline; then
    echo "XEND-GUEST-CRASHING"
    echo 1 > /proc/sys/kernel/sysrq
    echo c > /proc/sysrq-trigger
    exit 1 # init exiting panics too
fi
while :; do sleep 3600; done
