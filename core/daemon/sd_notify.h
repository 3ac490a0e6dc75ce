/*
 * systemd's readiness protocol, without libsystemd: when systemd starts xend as a
 * Type=notify service it passes NOTIFY_SOCKET, a unix datagram socket (a path, or an
 * abstract name written with a leading '@'), and waits for "READY=1" on it before it
 * starts what depends on xend. Outside systemd the variable is unset and nothing is sent.
 */
#ifndef XEND_CORE_DAEMON_SD_NOTIFY_H
#define XEND_CORE_DAEMON_SD_NOTIFY_H

/* Send state ("READY=1\nSTATUS=...") to NOTIFY_SOCKET. 0, 1 when there is no such socket
 * to tell, or -1 with errno set when the send failed (systemd then times the start out,
 * which says more than a log line could). */
int xend_sd_notify(const char *state);

#endif
