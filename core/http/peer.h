/*
 * Who is at the other end of a socket xend accepted: the uid of a local caller, found by
 * the kernel (SO_PEERCRED on a unix socket; on a loopback TCP connection, the owner of the
 * client's own socket through NETLINK_SOCK_DIAG, what `ss -e` shows), or "remote" for a
 * TCP peer on another host, whose uid nobody can vouch for.
 *
 * Threads: any, except for the kept sock_diag socket (loop thread only); a lookup blocks
 * for a few microseconds at most.
 */
#ifndef XEND_CORE_HTTP_PEER_H
#define XEND_CORE_HTTP_PEER_H

#include <stdbool.h>
#include <stdint.h>

#include <xend/abi.h>

enum xend_peer_via {
    XEND_PEER_NONE = 0,  /* not looked up yet */
    XEND_PEER_PEERCRED,  /* unix socket: SO_PEERCRED */
    XEND_PEER_SOCK_DIAG, /* loopback TCP: the client socket's owner, from sock_diag */
    XEND_PEER_REMOTE,    /* TCP from another host: no local identity */
    XEND_PEER_FAILED,    /* local, but the kernel would not tell (see the error) */
    XEND_PEER_TLS,       /* the HTTPS port: identified by certificate or token (remote.h) */
};

/* What a lookup found. Plain data, copied freely. */
struct xend_peer {
    uint8_t via;  /* enum xend_peer_via */
    bool has_uid; /* uid (and user) are known */
    uint32_t uid;
    int32_t pid;   /* PEERCRED only, else 0 */
    char user[33]; /* the uid's name: empty until xend_peer_user looks it up */
};

/* The name of p's uid ("uid N" when the user database has none; "-" without a uid),
 * looked up at the first call and kept in p->user: the lookup reads the user database,
 * which only refusals and audit lines need. A name found is also kept for 10 s for
 * other peers of the same uid (any thread). */
const char *xend_peer_user(struct xend_peer *p);

/*
 * Keep one sock_diag socket open for the lookups (at start: a lookup costs its syscalls,
 * and opening and closing a socket were half of them) and close it (at stop). Without it
 * each lookup opens its own. The kept socket is for the loop thread only.
 */
void xend_peer_diag_open(void);
void xend_peer_diag_close(void);

/* "peercred", "sock_diag", "remote", "failed", "tls", "none". */
const char *xend_peer_via_name(int via);

/*
 * Identify the peer of the connected socket fd. 0 with *out filled (via REMOTE for a
 * non-loopback TCP peer), or a negative code with err set and out->via FAILED when a local
 * caller's uid cannot be found (the socket is gone, the kernel has no sock_diag).
 */
int xend_peer_identify(int fd, struct xend_peer *out, struct xend_err *err);

/* Whether the address (struct sockaddr *) is 127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104. */
struct sockaddr;
bool xend_peer_addr_is_loopback(const struct sockaddr *sa);

#endif
