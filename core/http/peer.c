/*
 * The uid behind a connection (peer.h). On a unix socket the kernel records the
 * credentials of the process that connected (SO_PEERCRED). On TCP it records nothing of
 * the kind, but over loopback both ends live in this kernel: the client's own socket,
 * found by the connection's four-tuple through NETLINK_SOCK_DIAG (inet_diag), carries the
 * uid of the process that created it, as `ss -e` shows. A peer on another host has no uid
 * xend could trust.
 */

#include "http/peer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

const char *xend_peer_via_name(int via)
{
    switch (via) {
    case XEND_PEER_PEERCRED:
        return "peercred";
    case XEND_PEER_SOCK_DIAG:
        return "sock_diag";
    case XEND_PEER_REMOTE:
        return "remote";
    case XEND_PEER_FAILED:
        return "failed";
    case XEND_PEER_TLS:
        return "tls";
    default:
        return "none";
    }
}

static bool v4_is_loopback(const struct in_addr *a)
{
    return (ntohl(a->s_addr) >> 24) == 127;
}

bool xend_peer_addr_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return v4_is_loopback(&((const struct sockaddr_in *)sa)->sin_addr);
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a))
            return true;
        if (IN6_IS_ADDR_V4MAPPED(a)) {
            struct in_addr v4;
            memcpy(&v4, &a->s6_addr[12], 4);
            return v4_is_loopback(&v4);
        }
    }
    return false;
}

/*
 * Names looked up lately. Reading the user database (a file, or a directory service) for
 * each audit line was ~4% of xend's cpu under a flood of requests; a name is kept for
 * USER_NAME_KEEP_MS, so a renamed or new user shows under the new name soon after (the
 * audit line carries the uid beside it).
 */
#define USER_NAME_SLOTS 8
#define USER_NAME_KEEP_MS 10000

static struct {
    pthread_mutex_t lock;
    struct {
        bool used;
        uint32_t uid;
        uint64_t at_ms;
        char name[sizeof(((struct xend_peer *)0)->user)];
    } slot[USER_NAME_SLOTS];
} user_names = {.lock = PTHREAD_MUTEX_INITIALIZER};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A kept name of uid into out (true), or false. */
static bool user_name_kept(uint32_t uid, uint64_t now, char *out, size_t out_len)
{
    bool found = false;
    pthread_mutex_lock(&user_names.lock);
    for (size_t i = 0; i < USER_NAME_SLOTS && !found; i++) {
        if (user_names.slot[i].used && user_names.slot[i].uid == uid &&
            now - user_names.slot[i].at_ms < USER_NAME_KEEP_MS) {
            snprintf(out, out_len, "%s", user_names.slot[i].name);
            found = true;
        }
    }
    pthread_mutex_unlock(&user_names.lock);
    return found;
}

/* Keep uid's name in its slot, a free one, or the oldest. */
static void user_name_keep(uint32_t uid, uint64_t now, const char *name)
{
    pthread_mutex_lock(&user_names.lock);
    size_t pick = 0;
    for (size_t i = 0; i < USER_NAME_SLOTS; i++) {
        if (!user_names.slot[i].used || user_names.slot[i].uid == uid) {
            pick = i;
            break;
        }
        if (user_names.slot[i].at_ms < user_names.slot[pick].at_ms)
            pick = i;
    }
    user_names.slot[pick].used = true;
    user_names.slot[pick].uid = uid;
    user_names.slot[pick].at_ms = now;
    snprintf(user_names.slot[pick].name, sizeof(user_names.slot[pick].name), "%s", name);
    pthread_mutex_unlock(&user_names.lock);
}

const char *xend_peer_user(struct xend_peer *p)
{
    if (!p->has_uid)
        return "-";
    if (p->user[0] != '\0')
        return p->user;
    uint64_t now = mono_ms();
    if (user_name_kept(p->uid, now, p->user, sizeof(p->user)))
        return p->user;
    struct passwd pw, *res = NULL;
    char buf[4096];
    if (getpwuid_r((uid_t)p->uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL &&
        strlen(res->pw_name) < sizeof(p->user))
        snprintf(p->user, sizeof(p->user), "%s", res->pw_name);
    else
        snprintf(p->user, sizeof(p->user), "uid %u", (unsigned)p->uid);
    user_name_keep(p->uid, now, p->user);
    return p->user;
}

static int kept_nl = -1;
static uint32_t diag_seq;

static int diag_socket(void)
{
    int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (nl >= 0) {
        /* The kernel answers while handling send(); the timeout only guards against a
         * kernel that never does. */
        struct timeval tv = {1, 0};
        setsockopt(nl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    }
    return nl;
}

void xend_peer_diag_open(void)
{
    if (kept_nl < 0)
        kept_nl = diag_socket();
}

void xend_peer_diag_close(void)
{
    if (kept_nl >= 0)
        close(kept_nl);
    kept_nl = -1;
}

/* Put the address and port of sa into a sock_diag id, as the kernel stores them. */
static void diag_addr(const struct sockaddr *sa, __be32 addr[4], __be16 *port)
{
    memset(addr, 0, 16);
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        memcpy(addr, &in->sin_addr, 4);
        *port = in->sin_port;
    } else {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        memcpy(addr, &in6->sin6_addr, 16);
        *port = in6->sin6_port;
    }
}

/*
 * Ask the kernel for the TCP socket whose local end is `client` and remote end `server`:
 * the client's half of our connection. Its owner is the uid; a socket in TIME_WAIT has
 * lost its owner (the kernel reports 0 there), so it proves nothing.
 */
static int diag_lookup(const struct sockaddr *client, const struct sockaddr *server, uint32_t *uid,
                       struct xend_err *err)
{
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 r;
    } req;
    memset(&req, 0, sizeof(req));
    req.nlh.nlmsg_len = sizeof(req);
    req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    req.nlh.nlmsg_flags = NLM_F_REQUEST; /* one socket, by its exact id: no dump */
    req.nlh.nlmsg_seq = ++diag_seq;
    /* An IPv4 client of an IPv6 listener shows up as v4-mapped here; the kernel's lookup
     * of an AF_INET6 id with mapped addresses finds the IPv4 socket. */
    req.r.sdiag_family = (uint8_t)server->sa_family;
    req.r.sdiag_protocol = IPPROTO_TCP;
    req.r.idiag_states = ~0u;
    diag_addr(client, req.r.id.idiag_src, &req.r.id.idiag_sport);
    diag_addr(server, req.r.id.idiag_dst, &req.r.id.idiag_dport);
    req.r.id.idiag_cookie[0] = req.r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;

    int nl = kept_nl >= 0 ? kept_nl : diag_socket();
    if (nl < 0)
        return xend_err_set(err, XEND_EIO, "sock_diag: %s", strerror(errno));
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    int rc = 0;
    if (sendto(nl, &req, sizeof(req), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
        rc = xend_err_set(err, XEND_EIO, "sock_diag: %s", strerror(errno));
        goto out;
    }
    union {
        struct nlmsghdr h;
        char bytes[8192];
    } reply;
    ssize_t n;
    do /* a reply to an earlier lookup that timed out is not this one's */
        n = recv(nl, &reply, sizeof(reply), 0);
    while (n >= (ssize_t)sizeof(reply.h) && reply.h.nlmsg_seq != req.nlh.nlmsg_seq);
    if (n < 0) {
        rc = xend_err_set(err, XEND_EIO, "sock_diag: %s", strerror(errno));
        goto out;
    }
    const char *why = "the client's socket was not found";
    int kerr = 0;
    bool found = false;
    for (struct nlmsghdr *h = &reply.h; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
        if (h->nlmsg_type == NLMSG_ERROR) {
            const struct nlmsgerr *e = NLMSG_DATA(h);
            if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)))
                kerr = -e->error;
            break;
        }
        if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
            h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
            continue;
        const struct inet_diag_msg *m = NLMSG_DATA(h);
        /* The kernel looked the id up; make sure it is the one asked for. */
        if (m->id.idiag_sport != req.r.id.idiag_sport || m->id.idiag_dport != req.r.id.idiag_dport)
            continue;
        if (m->idiag_state == TCP_TIME_WAIT) {
            why = "the client's socket is already closed";
            break;
        }
        *uid = m->idiag_uid;
        found = true;
        break;
    }
    if (!found)
        rc = kerr > 0 ? xend_err_set(err, XEND_ENOENT, "sock_diag: %s", strerror(kerr))
                      : xend_err_set(err, XEND_ENOENT, "sock_diag: %s", why);
out:
    if (nl != kept_nl)
        close(nl);
    return rc;
}

int xend_peer_identify(int fd, struct xend_peer *out, struct xend_err *err)
{
    memset(out, 0, sizeof(*out));
    out->via = XEND_PEER_FAILED;
    struct sockaddr_storage local = {0}, peer = {0};
    socklen_t ll = sizeof(local), pl = sizeof(peer);
    if (getsockname(fd, (struct sockaddr *)&local, &ll) != 0 ||
        getpeername(fd, (struct sockaddr *)&peer, &pl) != 0)
        return xend_err_set(err, XEND_EIO, "cannot read the connection's addresses: %s",
                            strerror(errno));

    if (local.ss_family == AF_UNIX) {
        struct ucred cred;
        socklen_t cl = sizeof(cred);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0)
            return xend_err_set(err, XEND_EIO, "SO_PEERCRED: %s", strerror(errno));
        out->via = XEND_PEER_PEERCRED;
        out->uid = cred.uid;
        out->pid = cred.pid;
        out->has_uid = true;
        return 0;
    }
    if (local.ss_family != AF_INET && local.ss_family != AF_INET6)
        return xend_err_set(err, XEND_EINVAL, "unknown socket family %d", local.ss_family);
    if (!xend_peer_addr_is_loopback((struct sockaddr *)&peer)) {
        out->via = XEND_PEER_REMOTE;
        return 0;
    }
    uint32_t uid;
    int rc = diag_lookup((struct sockaddr *)&peer, (struct sockaddr *)&local, &uid, err);
    if (rc < 0)
        return rc;
    out->via = XEND_PEER_SOCK_DIAG;
    out->uid = uid;
    out->has_uid = true;
    return 0;
}
