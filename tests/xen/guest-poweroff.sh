#!/bin/busybox sh
# /sbin/poweroff of the test guest: what the kernel runs when xend writes "poweroff" to
# control/shutdown. /init is a shell, not an init that would handle busybox's signal.
echo "XEND-GUEST-POWEROFF" > /dev/console
exec /bin/busybox poweroff -f
