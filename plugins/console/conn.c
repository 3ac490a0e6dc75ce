/*
 * One console: a TCP listener, at most one client, and the backend's byte stream for the
 * domain, with the pump between them.
 *
 * Bytes pass unchanged, straight through when the other side takes them. Client input the
 * guest cannot take yet waits in a small queue; while it is full the client is not read.
 * Guest output the client cannot take yet is queued up to console-buffer-max, and with no
 * client up to console-replay-max, which a late client is shown first. Queues are allocated
 * when bytes first wait and freed, once empty, when the client leaves: a console nobody is
 * connected to holds no buffer beyond its replay. Past the limit,
 * output is dropped, with one log line per drop episode: xend must never block on a
 * console nor let one grow its memory without bound. Never blocks, never sleeps.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "console.h"

#define P (&console_plugin)
#define H (console_plugin.host)

/* Guest reads per wakeup: enough for throughput, bounded so one console cannot starve the
 * loop. */
#define CONSOLE_READS_PER_WAKEUP 16
static char console_scratch[64 * 1024];

static void console_update_watches(struct console *c);
static bool console_on_demand(void);
static int console_stream_connect(struct console *c, struct xend_err *err);
static void console_stream_let_go(struct console *c);

long long console_id_for_port(int port)
{
    return port >= P->port_base ? port - P->port_base : port + 65536LL;
}

static struct console **port_bucket(long long port)
{
    return &P->by_port[(unsigned long long)port % CONSOLE_PORT_BUCKETS];
}

struct console *console_find_port(long long port)
{
    for (struct console *c = *port_bucket(port); c; c = c->port_next)
        if (c->port == port)
            return c;
    return NULL;
}

struct console *console_find_id(long long id)
{
    for (struct console *c = P->list; c; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

static void console_emit(const char *name, struct xend_sxp *value)
{
    H->event->emit(name, value);
    H->sxp->free(value);
}

/* (ID HOST PORT): the value of the connect and disconnect events. */
static struct xend_sxp *console_peer_value(const struct console *c)
{
    const struct xend_host_sxp *s = H->sxp;
    struct xend_sxp *v = s->list();
    s->append_take(v, s->atom_int(c->id));
    s->append_take(v, s->atom(c->peer_host));
    s->append_take(v, s->atom_int(c->peer_port));
    return v;
}

/* ---- the output side: guest -> client ---- */

static size_t console_out_limit(const struct console *c)
{
    return c->cfd >= 0 ? P->buffer_max : P->replay_max;
}

static void console_drop(struct console *c, size_t n)
{
    c->dropped += n;
    if (c->dropping)
        return;
    c->dropping = true;
    c->drop_episodes++;
    bool client = c->cfd >= 0;
    H->log->emit(P->self, client ? XEND_LOG_WARN : XEND_LOG_INFO, "console output dropped",
                 "console=%lld domain=%u port=%d reason=%s limit=%zu", c->id, c->domid, c->port,
                 client ? "slow-client" : "no-client", console_out_limit(c));
}

/* Send queued output to the client until it would block. */
static void console_flush_out(struct console *c)
{
    while (c->cfd >= 0 && c->out.len > 0) {
        const char *p;
        size_t n = console_ring_peek(&c->out, &p);
        ssize_t w = send(c->cfd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                console_client_drop(c, strerror(errno));
            return;
        }
        console_ring_consume(&c->out, (size_t)w);
        c->active_ms = c->sent_ms = H->loop->now_ms();
    }
    /* The client caught up: a later drop is a new episode, worth a new line. */
    if (c->out.len == 0)
        c->dropping = false;
}

/* n bytes the guest wrote: to the client if it takes them now, else queued, else dropped. */
static void console_output(struct console *c, const char *p, size_t n)
{
    c->out_total += n;
    console_web_output(c, p, n);
    if (c->cfd >= 0 && c->out.len == 0) {
        ssize_t w;
        do
            w = send(c->cfd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        while (w < 0 && errno == EINTR);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            c->active_ms = c->sent_ms = H->loop->now_ms();
        } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            console_client_drop(c, strerror(errno));
        }
    }
    if (n == 0)
        return;
    if (c->out.len == 0)
        c->sent_ms = H->loop->now_ms(); /* output starts to wait for the client now */
    size_t taken = console_ring_push(&c->out, p, n, console_out_limit(c));
    if (taken < n)
        console_drop(c, n - taken);
}

static void console_read_guest(struct console *c)
{
    for (int i = 0; i < CONSOLE_READS_PER_WAKEUP && c->gfd >= 0; i++) {
        ssize_t n = read(c->gfd, console_scratch, sizeof(console_scratch));
        if (n > 0) {
            console_output(c, console_scratch, (size_t)n);
            if ((size_t)n < sizeof(console_scratch))
                return;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        /* EOF or an error: the console went away (the domain died). The listener and the
         * client stay until the domain is destroyed or restarted. */
        H->log->emit(P->self, XEND_LOG_INFO, "console stream closed",
                     "console=%lld domain=%u reason=%s", c->id, c->domid,
                     n == 0 ? "eof" : strerror(errno));
        console_stream_close(c);
        return;
    }
}

/* ---- the input side: client -> guest ---- */

/* Write up to n bytes to the guest stream: the count taken (0 when it would block), or -1
 * when the stream failed (and was closed). */
static ssize_t console_write_guest(struct console *c, const char *p, size_t n)
{
    for (;;) {
        ssize_t w = write(c->gfd, p, n);
        if (w >= 0)
            return w;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        H->log->emit(P->self, XEND_LOG_INFO, "console stream closed",
                     "console=%lld domain=%u reason=%s", c->id, c->domid, strerror(errno));
        console_stream_close(c);
        return -1;
    }
}

static void console_flush_in(struct console *c)
{
    while (c->gfd >= 0 && c->in.len > 0) {
        const char *p;
        size_t n = console_ring_peek(&c->in, &p);
        ssize_t w = console_write_guest(c, p, n);
        if (w <= 0)
            return;
        console_ring_consume(&c->in, (size_t)w);
    }
}

static void console_read_client(struct console *c)
{
    while (c->cfd >= 0) {
        /* With no guest stream (between instances, or a dead domain) input has nowhere to
         * go: read and discard it, so that a client hanging up is still noticed. Otherwise
         * read no more than the input queue can still take: that is the backpressure. */
        bool discard = c->gfd < 0;
        size_t room = discard ? sizeof(console_scratch) : CONSOLE_IN_MAX - c->in.len;
        if (room > sizeof(console_scratch))
            room = sizeof(console_scratch);
        if (room == 0)
            return;
        ssize_t n = read(c->cfd, console_scratch, room);
        if (n > 0) {
            c->active_ms = H->loop->now_ms();
            if (discard)
                continue;
            /* Straight to the guest when nothing waits before it; only what it does not
             * take now is queued, so typing costs no buffer. */
            const char *p = console_scratch;
            size_t left = (size_t)n;
            if (c->in.len == 0) {
                ssize_t w = console_write_guest(c, p, left);
                if (w < 0)
                    continue; /* the stream went: the rest is discarded with it */
                p += w;
                left -= (size_t)w;
            }
            /* Fits: room was what the queue could still take. */
            if (left > 0 && console_ring_push(&c->in, p, left, CONSOLE_IN_MAX) < left) {
                /* Only when memory for the queue cannot be had: lose the rest, as a
                 * terminal line with an overrun would, rather than block. */
                H->log->emit(P->self, XEND_LOG_WARN, "console input dropped",
                             "console=%lld domain=%u reason=no-memory bytes=%zu", c->id, c->domid,
                             left);
            }
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        console_client_drop(c, n == 0 ? "eof" : strerror(errno));
        return;
    }
}

/* ---- watches ---- */

static void console_guest_cb(int fd, uint32_t events, void *arg)
{
    (void)fd;
    struct console *c = arg;
    if (events & XEND_WATCH_WRITE)
        console_flush_in(c);
    if (events & XEND_WATCH_READ)
        console_read_guest(c);
    console_update_watches(c);
    /* Held open only for input from the HTTP side, which has now reached the guest. */
    if (c->in.len == 0)
        console_stream_release(c);
}

static void console_client_cb(int fd, uint32_t events, void *arg)
{
    (void)fd;
    struct console *c = arg;
    if (events & XEND_WATCH_WRITE)
        console_flush_out(c);
    if (events & XEND_WATCH_READ)
        console_read_client(c);
    console_update_watches(c);
}

/* Watch for exactly what can make progress now: that is the backpressure. */
static void console_update_watches(struct console *c)
{
    if (c->gw) {
        uint32_t ev = XEND_WATCH_READ | (c->in.len ? XEND_WATCH_WRITE : 0);
        if (ev != c->gw_events)
            H->loop->watch_set(c->gw, ev);
        c->gw_events = ev;
    }
    if (c->cw) {
        uint32_t ev = (c->gfd < 0 || c->in.len < CONSOLE_IN_MAX ? XEND_WATCH_READ : 0) |
                      (c->out.len ? XEND_WATCH_WRITE : 0);
        if (ev != c->cw_events)
            H->loop->watch_set(c->cw, ev);
        c->cw_events = ev;
    }
}

/* ---- clients ---- */

static void console_peer_name(int fd, char *host, size_t len, int *port)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    snprintf(host, len, "?");
    *port = 0;
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0)
        return;
    char serv[16];
    if (getnameinfo((struct sockaddr *)&ss, sl, host, (socklen_t)len, serv, sizeof(serv),
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0)
        *port = (int)strtol(serv, NULL, 10);
}

/* Tell a client why on one line (best effort: a fresh socket has room for it), close it,
 * and log the refusal with `reason`. */
static void console_turn_away(struct console *c, int fd, const char *line, size_t len,
                              const char *reason)
{
    if (send(fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        (void)0;
    char host[INET6_ADDRSTRLEN];
    int port;
    console_peer_name(fd, host, sizeof(host), &port);
    close(fd);
    H->log->emit(P->self, XEND_LOG_INFO, "console client refused",
                 "console=%lld domain=%u peer=%s:%d reason=%s", c->id, c->domid, host, port,
                 reason);
}

static void console_refuse(struct console *c, int fd)
{
    char msg[128];
    int n = snprintf(msg, sizeof(msg), "Cannot connect to console %lld on domain %u\n", c->id,
                     c->domid);
    console_turn_away(c, fd, msg, (size_t)n, "busy");
}

/*
 * The identity rule of xend's HTTP (host->access): a console is as good as root over its
 * domain, so only root and the admin group may connect. A refused client gets the reason on
 * one line, then the socket closes.
 */
static bool console_peer_admitted(struct console *c, int fd)
{
    if (!XEND_HAS_MEMBER(H, access) || H->access == NULL || !XEND_HAS_MEMBER(H->access, peer_check))
        return true; /* a core before 1.3, whose HTTP checks nobody either */
    struct xend_err err = {0};
    if (H->access->peer_check(P->self, fd, &err) == 0)
        return true;
    char line[XEND_ERR_MSG_MAX + 2];
    int n = snprintf(line, sizeof(line), "%s\r\n", xend_err_msg(&err));
    if (n > (int)sizeof(line) - 1)
        n = (int)sizeof(line) - 1;
    console_turn_away(c, fd, line, (size_t)n, "access");
    return false;
}

static void console_attach(struct console *c, int fd)
{
    c->cfd = fd;
    console_peer_name(fd, c->peer_host, sizeof(c->peer_host), &c->peer_port);
    console_described_changed(c);
    c->cw_events = XEND_WATCH_READ;
    c->cw = H->loop->watch_add(P->self, fd, c->cw_events, console_client_cb, c);
    c->dropping = false;
    console_deadline_start(c);
    H->log->emit(P->self, XEND_LOG_INFO, "console connected", "console=%lld domain=%u peer=%s:%d",
                 c->id, c->domid, c->peer_host, c->peer_port);
    console_emit("xend.console.connect", console_peer_value(c));
    /* The replay goes into the followers' history too, before the client takes it. */
    console_web_watch_changed(c);
    /* Replay what the ring kept: a late client sees the boot lines first. */
    console_flush_out(c);
    if (c->live && c->gfd < 0) {
        /* On demand: the backend kept the output, which now follows the ring's. */
        struct xend_err err = {0};
        if (console_stream_hold(c, &err) < 0)
            H->log->emit(P->self, XEND_LOG_WARN, "console stream unavailable",
                         "console=%lld domain=%u error=\"%s\"", c->id, c->domid,
                         xend_err_msg(&err));
    }
    console_update_watches(c);
}

void console_client_drop(struct console *c, const char *why)
{
    if (c->cfd < 0)
        return;
    H->loop->watch_remove(c->cw);
    c->cw = NULL;
    c->cw_events = 0;
    console_deadline_stop(c);
    close(c->cfd);
    c->cfd = -1;
    console_described_changed(c);
    c->dropping = false;
    /* What the client drained, it leaves no buffer behind: queues are kept while a client
     * is there (freeing on every drain would re-allocate on every burst of a stream). */
    console_ring_trim(&c->out);
    console_ring_trim(&c->in);
    if (c->live && console_on_demand() && c->followers == NULL) {
        /* What the backend already sent stays for the next client; the rest it keeps.
         * (Input queued for the guest goes with the stream, as it always did.) */
        console_read_guest(c);
        console_stream_let_go(c);
    }
    console_web_watch_changed(c);
    H->log->emit(P->self, XEND_LOG_INFO, "console disconnected",
                 "console=%lld domain=%u peer=%s:%d reason=%s", c->id, c->domid, c->peer_host,
                 c->peer_port, why);
    console_emit("xend.console.disconnect", console_peer_value(c));
}

static void console_accept_cb(int fd, uint32_t events, void *arg)
{
    (void)events;
    struct console *c = arg;
    for (int i = 0; i < 8; i++) {
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                H->log->emit(P->self, XEND_LOG_WARN, "console accept failed",
                             "console=%lld port=%d error=\"%s\"", c->id, c->port, strerror(errno));
            return;
        }
        if (!console_peer_admitted(c, cfd))
            continue;
        if (c->cfd >= 0 && !P->takeover) {
            console_refuse(c, cfd);
            continue;
        }
        console_client_drop(c, "takeover");
        console_attach(c, cfd);
    }
}

/* ---- the backend stream ---- */

/* Whether streams are opened only while a client is connected: the backend keeps the
 * output meanwhile (XEND_BACKEND_CONSOLE_KEEPS_OUTPUT), so an idle domain costs no stream. */
static const struct xend_backend_ops *console_backend(void **ctx)
{
    return H->hv ? H->hv(ctx) : NULL;
}

static bool console_on_demand(void)
{
    void *ctx = NULL;
    const struct xend_backend_ops *ops = console_backend(&ctx);
    return ops != NULL && (ops->flags & XEND_BACKEND_CONSOLE_KEEPS_OUTPUT) != 0;
}

/* Open the backend stream of the live instance c->domid. */
static int console_stream_connect(struct console *c, struct xend_err *err)
{
    void *ctx = NULL;
    const struct xend_backend_ops *ops = console_backend(&ctx);
    if (ops == NULL || !XEND_HAS_MEMBER(ops, console_open) || ops->console_open == NULL)
        return xend_err_set(err, XEND_ENOTSUP, "backend %s has no console stream",
                            ops ? ops->name : "(none)");
    int fd = -1;
    int rc = ops->console_open(ctx, c->domid, &fd, err);
    if (rc < 0)
        return rc;
    if (fd < 0)
        return xend_err_set(err, XEND_EBACKEND, "backend %s gave no console stream for domain %u",
                            ops->name, c->domid);
    /* The backend promises a non-blocking fd; the loop must never block on one anyway. */
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0 && !(fl & O_NONBLOCK))
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    c->gfd = fd;
    c->gw_events = XEND_WATCH_READ;
    c->gw = H->loop->watch_add(P->self, fd, c->gw_events, console_guest_cb, c);
    console_update_watches(c);
    return 0;
}

bool console_watched(const struct console *c)
{
    return c->cfd >= 0 || c->followers != NULL;
}

int console_stream_hold(struct console *c, struct xend_err *err)
{
    if (c->gfd >= 0)
        return 0;
    if (!c->live)
        return xend_err_set(err, XEND_EBUSY, "console %lld: domain %u is not running", c->id,
                            c->domid);
    return console_stream_connect(c, err);
}

void console_stream_release(struct console *c)
{
    if (c->gfd < 0 || !c->live || console_watched(c) || c->in.len > 0 || !console_on_demand())
        return;
    console_read_guest(c);
    console_stream_let_go(c);
}

int console_input(struct console *c, const char *p, size_t n, struct xend_err *err)
{
    if (n > CONSOLE_IN_MAX - c->in.len)
        return xend_err_set(err, XEND_ELIMIT,
                            "console %lld: input of %zu bytes does not fit (%zu of %zu free: "
                            "the guest is not reading)",
                            c->id, n, CONSOLE_IN_MAX - c->in.len, CONSOLE_IN_MAX);
    int rc = console_stream_hold(c, err);
    if (rc < 0)
        return rc;
    /* Behind input that already waits, else straight to the guest: the TCP client's path,
     * so bytes from both sides reach the guest in the order xend received them. */
    if (c->in.len == 0) {
        ssize_t w = console_write_guest(c, p, n);
        if (w < 0)
            return xend_err_set(err, XEND_EIO, "console %lld: the stream of domain %u closed",
                                c->id, c->domid);
        p += w;
        n -= (size_t)w;
    }
    if (n > 0 && console_ring_push(&c->in, p, n, CONSOLE_IN_MAX) < n)
        return xend_err_set(err, XEND_ENOMEM, "console %lld: no memory for input", c->id);
    console_update_watches(c);
    console_stream_release(c);
    return 0;
}

/* Close the stream, whatever the instance does next. */
static void console_stream_let_go(struct console *c)
{
    if (c->gfd < 0)
        return;
    H->loop->watch_remove(c->gw);
    c->gw = NULL;
    c->gw_events = 0;
    close(c->gfd);
    c->gfd = -1;
    /* Input for the old instance must not reach the new one. */
    console_ring_free(&c->in);
    console_update_watches(c);
}

int console_stream_open(struct console *c, uint32_t domid, struct xend_err *err)
{
    console_stream_close(c);
    if (c->domid != domid) {
        c->domid = domid;
        console_described_changed(c);
    }
    c->live = true;
    if (!console_watched(c) && console_on_demand())
        return 0;
    int rc = console_stream_connect(c, err);
    if (rc < 0)
        c->live = false;
    return rc;
}

void console_stream_close(struct console *c)
{
    c->live = false;
    console_stream_let_go(c);
}

/* ---- the console ---- */

static int console_listen(int port, int *out, struct xend_err *err)
{
    char serv[8];
    snprintf(serv, sizeof(serv), "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    /* The original's '' means every interface. */
    const char *node = P->address[0] ? P->address : NULL;
    int g = getaddrinfo(node, serv, &hints, &ai);
    if (g != 0)
        return xend_err_set(err, XEND_EINVAL, "invalid console-address '%s': %s", P->address,
                            gai_strerror(g));
    int rc = 0, fd = -1;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 8) == 0)
            break;
        int e = errno;
        close(fd);
        fd = -1;
        if (e == EADDRINUSE) {
            rc = xend_err_set(err, XEND_EEXIST, "console port in use: %d", port);
            break;
        }
        rc = xend_err_set(err, XEND_EIO, "cannot listen on console port %d: %s", port, strerror(e));
    }
    freeaddrinfo(ai);
    if (fd < 0)
        return rc < 0 ? rc : xend_err_set(err, XEND_EIO, "cannot listen on console port %d", port);
    *out = fd;
    return 0;
}

int console_open(struct xend_domain *dom, int port, struct console *reuse, struct console **out,
                 struct xend_err *err)
{
    if (console_find_port(port) != NULL)
        return xend_err_set(err, XEND_EEXIST, "console port in use: %d", port);
    int lfd = -1;
    int rc = console_listen(port, &lfd, err);
    if (rc < 0)
        return rc;
    struct console *c = reuse ? reuse : malloc(sizeof(*c));
    if (c == NULL) {
        close(lfd);
        return xend_err_set(err, XEND_ENOMEM, "out of memory for a console");
    }
    memset(c, 0, sizeof(*c));
    c->dom = dom;
    c->port = port;
    c->id = console_id_for_port(port);
    c->domid = H->domain->id(dom);
    c->lfd = lfd;
    c->cfd = -1;
    c->gfd = -1;
    c->out = (struct console_ring)CONSOLE_RING_INIT;
    c->in = (struct console_ring)CONSOLE_RING_INIT;
    c->lw = H->loop->watch_add(P->self, lfd, XEND_WATCH_READ, console_accept_cb, c);
    c->prev = NULL;
    c->next = P->list;
    if (P->list)
        P->list->prev = c;
    P->list = c;
    c->port_next = *port_bucket(port);
    *port_bucket(port) = c;
    *out = c;
    return 0;
}

void console_close(struct console *c, bool quiet)
{
    if (c->closed)
        return;
    if (quiet && c->cfd >= 0) {
        H->loop->watch_remove(c->cw);
        close(c->cfd);
        c->cfd = -1;
        console_described_changed(c);
    }
    console_client_drop(c, "closed");
    console_web_close(c);
    console_stream_close(c);
    H->loop->watch_remove(c->lw);
    c->lw = NULL;
    close(c->lfd);
    c->lfd = -1;
    c->closed = true;
    console_described_changed(c);
    console_ring_free(&c->out);
    console_ring_free(&c->in);
    if (c->prev)
        c->prev->next = c->next;
    else
        P->list = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->next = c->prev = NULL;
    for (struct console **pp = port_bucket(c->port); *pp; pp = &(*pp)->port_next)
        if (*pp == c) {
            *pp = c->port_next;
            break;
        }
    if (!quiet) {
        H->log->emit(P->self, XEND_LOG_INFO, "console closed", "console=%lld domain=%u port=%d",
                     c->id, c->domid, c->port);
        console_emit("xend.console.close", H->sxp->atom_int(c->id));
    }
}

void console_free(void *priv)
{
    struct console *c = priv;
    if (c == NULL)
        return;
    /* Still open here means the handle went without a final DESTROY (a domain whose
     * restart was refused, then forgotten): the host is live, so say it closed. After fini
     * every console is already closed and nothing touches the host. */
    console_close(c, false);
    free(c);
}

/* Text built by hand: the item goes into every domain's info in every list, and snprintf
 * was most of its cost. Stops at the end of the array (which holds the longest item). */
struct text_out {
    char *p, *end;
};

static void text_put(struct text_out *t, const char *s, size_t n)
{
    if (n > (size_t)(t->end - t->p))
        n = (size_t)(t->end - t->p);
    memcpy(t->p, s, n);
    t->p += n;
}

static void text_str(struct text_out *t, const char *s)
{
    text_put(t, s, strlen(s));
}

static void text_int(struct text_out *t, long long v)
{
    char d[24];
    size_t i = sizeof(d);
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do
        d[--i] = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    if (v < 0)
        d[--i] = '-';
    text_put(t, d + i, sizeof(d) - i);
}

void console_described_changed(const struct console *c)
{
    if (c->dom != NULL && XEND_HAS_MEMBER(H->domain, describe_changed))
        H->domain->describe_changed(c->dom);
}

void console_print(const struct console *c, xend_describe_put_fn *put, void *put_ctx)
{
    char buf[sizeof(((struct console_text *)0)->data)];
    struct text_out t = {buf, buf + sizeof(buf)};
    text_str(&t, " (console (status ");
    text_str(&t, c->closed ? "closed" : c->cfd >= 0 ? "connected" : "listening");
    text_str(&t, ") (id ");
    text_int(&t, c->id);
    text_str(&t, ") (domain ");
    text_int(&t, c->domid);
    text_str(&t, ") (local_port ");
    text_int(&t, c->id);
    text_str(&t, ") (remote_port ");
    text_int(&t, CONSOLE_REMOTE_PORT);
    text_str(&t, ") (console_port ");
    text_int(&t, c->port);
    text_str(&t, ")");
    if (c->cfd >= 0) {
        /* the peer's address as an atom, quoted if it ever needs it */
        struct xend_sxp *host = H->sxp->atom(c->peer_host);
        char *host_text = H->sxp->print(host);
        H->sxp->free(host);
        text_str(&t, " (connected ");
        text_str(&t, host_text);
        text_str(&t, " ");
        text_int(&t, c->peer_port);
        text_str(&t, ")");
        free(host_text);
    }
    text_str(&t, ")");
    put(put_ctx, buf, (size_t)(t.p - buf));
}

static void put_into_buffer(void *ctx, const char *text, size_t len)
{
    struct console_text *t = ctx;
    if (t->len + len < sizeof(t->data)) {
        memcpy(t->data + t->len, text, len);
        t->len += len;
    }
}

struct xend_sxp *console_sxp(const struct console *c)
{
    struct console_text t = {.len = 0};
    console_print(c, put_into_buffer, &t);
    struct xend_sxp *v = NULL;
    char msg[64];
    /* The text is ours and whole (console_text holds the longest): one parse, one truth. */
    if (H->sxp->parse(t.data + 1, t.len - 1, NULL, &v, msg, sizeof(msg)) < 0)
        abort();
    return v;
}

void console_stats_get(const struct console *c, struct console_stats *out)
{
    *out = (struct console_stats){
        .buffered = c->out.len,
        .buffer_limit = console_out_limit(c),
        .capacity = c->out.cap,
        .in_buffered = c->in.len,
        .in_capacity = c->in.cap,
        .dropped = c->dropped,
        .drop_episodes = c->drop_episodes,
        .connected = c->cfd >= 0,
        .streaming = c->gfd >= 0,
    };
}
