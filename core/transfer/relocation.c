/*
 * The relocation port: where other xends send domains (and ask about hand-overs). Only the
 * peers that xend-relocation-hosts-allow names are admitted, before a byte is read; at
 * most RELOCATION_MAX_RECEIVES receives run at once (each holds a worker while it reads).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log/log.h"
#include "event_loop.h"
#include "transfer/internal.h"
#include "wire.h"

static struct {
    int fd;
    struct xend_watch *watch;
    unsigned receiving;
    regex_t *allow; /* the peers admitted (xend_transfer_options.hosts_allow) */
    size_t nallow;
    bool allow_all;
    struct xend_transfer_options opt;
    struct xend_tls *tls;
} R = {.fd = -1};

struct xend_tls *xend_transfer_tls(void)
{
    return R.tls;
}

int xend_transfer_connect(const char *host, const char *port, struct xend_tls_conn **out,
                          struct xend_err *err)
{
    *out = NULL;
    int sock = xend_wire_connect(host, port, XEND_TRANSFER_IO_TIMEOUT_S, err);
    if (sock < 0)
        return sock;
    int rc = xend_tls_conn_open(R.tls, sock, false, out, NULL, err);
    if (rc < 0)
        close(sock);
    return rc;
}

const struct xend_transfer_options *xend_transfer_settings(void)
{
    return &R.opt;
}

#define RELOCATION_MAX_RECEIVES 2 /* concurrent incoming domains; more are refused */

/*
 * A peer is admitted when its numeric address (or "localhost", for a loopback one) matches
 * one of the hosts-allow expressions. Names are not looked up: a reverse lookup would block
 * the loop and is the peer's own to forge.
 */
static bool peer_allowed(const struct sockaddr_storage *peer, const char *host)
{
    if (R.allow_all)
        return true;
    bool loopback = (peer->ss_family == AF_INET &&
                     (ntohl(((const struct sockaddr_in *)peer)->sin_addr.s_addr) >> 24) == 127) ||
                    (peer->ss_family == AF_INET6 &&
                     IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)peer)->sin6_addr));
    for (size_t i = 0; i < R.nallow; i++)
        if (regexec(&R.allow[i], host, 0, NULL, 0) == 0 ||
            (loopback && regexec(&R.allow[i], "localhost", 0, NULL, 0) == 0))
            return true;
    return false;
}

static void relocation_done(int rc, const struct xend_err *err, struct xend_domain *dom, void *arg)
{
    (void)rc;
    (void)err;
    (void)dom;
    (void)arg;
    R.receiving--;
}

static void on_relocation(int fd, uint32_t events, void *arg)
{
    (void)events;
    (void)arg;
    struct sockaddr_storage peer = {0};
    socklen_t len = sizeof(peer);
    int c = accept4(fd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
    if (c < 0)
        return;
    /* Each receive holds a worker while it reads: idle peers must not starve saves. */
    if (R.receiving >= RELOCATION_MAX_RECEIVES) {
        xend_log_warn("relocation refused", "reason=\"%u receives in progress\"", R.receiving);
        close(c);
        return;
    }
    char host[NI_MAXHOST] = "";
    getnameinfo((struct sockaddr *)&peer, len, host, sizeof(host), NULL, 0, NI_NUMERICHOST);
    if (!peer_allowed(&peer, host)) {
        xend_log_warn("relocation refused", "peer=%s reason=\"not in xend-relocation-hosts-allow\"",
                      host);
        close(c);
        return;
    }
    xend_wire_set_timeout(c, XEND_TRANSFER_IO_TIMEOUT_S); /* a backstop: the guard decides */
    R.receiving++;
    xend_log_info("relocation connection", "fd=%d peer=%s", c, host);
    xend_transfer_receive(c, host, relocation_done, NULL);
}

/* Compile the hosts-allow expressions (space-separated); "" admits every peer. */
static int compile_allow(const char *list, struct xend_err *err)
{
    R.allow_all = list[0] == '\0';
    char *copy = xend_xstrdup(list), *save = NULL;
    int rc = 0;
    for (char *re = strtok_r(copy, " \t", &save); re && rc == 0;
         re = strtok_r(NULL, " \t", &save)) {
        R.allow = xend_xrealloc(R.allow, (R.nallow + 1) * sizeof(*R.allow));
        int e = regcomp(&R.allow[R.nallow], re, REG_EXTENDED | REG_NOSUB | REG_ICASE);
        if (e != 0) {
            char msg[128];
            regerror(e, &R.allow[R.nallow], msg, sizeof(msg));
            rc = xend_err_set(err, XEND_EINVAL, "xend-relocation-hosts-allow: %s: %s", re, msg);
        } else {
            R.nallow++;
        }
    }
    free(copy);
    return rc;
}

static void free_allow(void)
{
    for (size_t i = 0; i < R.nallow; i++)
        regfree(&R.allow[i]);
    free(R.allow);
    R.allow = NULL;
    R.nallow = 0;
}

int xend_transfer_listen(const struct xend_transfer_options *opt, struct xend_err *err)
{
    const char *address = opt->address;
    int port = opt->port;
    R.opt = *opt;
    if (R.opt.header_timeout_s <= 0)
        R.opt.header_timeout_s = 10;
    if (R.opt.transfer_timeout_s <= 0)
        R.opt.transfer_timeout_s = 3600;
    int crc = compile_allow(opt->hosts_allow ? opt->hosts_allow : XEND_RELOCATION_HOSTS_ALLOW, err);
    if (crc == 0 && opt->tls)
        crc = xend_tls_new(opt->tls, &R.tls, err);
    if (crc < 0) {
        free_allow();
        return crc;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res;
    char ports[16];
    snprintf(ports, sizeof(ports), "%d", port);
    int r = getaddrinfo(address && *address ? address : NULL, ports, &hints, &res);
    if (r != 0)
        return xend_err_set(err, XEND_EINVAL, "relocation address %s: %s", address,
                            gai_strerror(r));
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 16) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return xend_err_set(err, XEND_EIO, "cannot listen on relocation port %d: %s", port,
                            strerror(e));
    }
    freeaddrinfo(res);
    R.fd = fd;
    R.watch = xend_loop_host_table()->watch_add(NULL, fd, XEND_WATCH_READ, on_relocation, NULL);
    return 0;
}

void xend_transfer_stop(void)
{
    xend_loop_host_table()->watch_remove(R.watch);
    R.watch = NULL;
    if (R.fd >= 0)
        close(R.fd);
    R.fd = -1;
    free_allow();
    xend_transfer_doubts_stop();
    xend_tls_free(R.tls);
    R.tls = NULL;
}
