/*
 * The HTTP server: libevhtp listeners (TCP and an optional unix socket), connection
 * tracking, request limits enforced before libevhtp can mishandle them, and the wire form
 * of replies. The only file of xend that includes evhtp.h (a libevhtp trap).
 *
 * What libevhtp is used for: accepting, parsing request heads and bodies, keep-alive
 * bookkeeping. What it is not used for, and why:
 *  - routing: one catch-all callback into router.c (trap 3);
 *  - query and body decoding: form.c (traps 1, 2, 4, 5, 7);
 *  - writing replies: evhtp_send_reply cannot carry a custom reason phrase, which the xm
 *    client prints ("404 invalid domain:NAME"), so replies are written here and the
 *    request is then marked finished for libevhtp's keep-alive logic;
 *  - limits: an over-long request line or head is refused by a wrapper around libevhtp's
 *    read callback before its parser sees it (traps 10, and oversized headers make the
 *    parser drop the connection); an oversized body is refused from the headers hook by
 *    pausing the request and answering on the next loop turn (traps 6, 13);
 *  - time: libevhtp's own timeouts are per read (a byte every few seconds resets them),
 *    so each connection has one timer of ours whose meaning follows the connection's
 *    phase: idle (closed quietly), head and body (answered 408), busy (none: handlers
 *    and streams may take as long as they need). A client that stops reading a reply is
 *    dropped by the bufferevent's write timeout, which counts progress, not reads;
 *  - the connection cap and descriptor shortages: see post_accept and listen_guard.h;
 *  - the bulk lane: requests for the ops in xend_http_options.bulk_ops (create, restore ...)
 *    are routed at once but their handlers wait in a FIFO run by an event of the loop's
 *    lowest priority, one per turn, so a destroy or a list that is ready is served first.
 * A refused connection is closed gracefully: reply, shut down writing, drain what the
 * client still sends, close on EOF or after a few seconds.
 *
 * Threads: loop thread only; libevhtp runs without threads.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <evhtp.h>

#include "hex.h"
#include "http/internal.h"
#include "http/listen_guard.h"
#include "log/log.h"
#include "sxp.h"

#define DEFAULT_MAX_BODY (1u << 20)
#define MAX_URI_CAP 4000u    /* libevhtp corrupts request lines past ~4 KB (trap 10) */
#define MAX_HEADER_CAP 8000u /* and drops connections with one header past ~8 KB */
#define LINGER_SECONDS 5
#define STREAM_BACKLOG_MAX (8u << 20)
/* Connections the kernel may hold before xend accepts them. At 128 a burst of a few
 * hundred clients overflowed it while the loop was busy, and the dropped handshakes came
 * back after the 1 s SYN retransmission (bench-lifecycle's p99 of 1.1 s at 256 clients);
 * the kernel caps it at net.core.somaxconn. */
#define LISTEN_BACKLOG SOMAXCONN
#define DEFAULT_HEAD_TIMEOUT_MS 10000u
#define DEFAULT_BODY_TIMEOUT_MS 30000u
#define DEFAULT_IDLE_TIMEOUT_MS 15000u
#define DEFAULT_SEND_TIMEOUT_MS 30000u
#define DEFAULT_MAX_CONNECTIONS 1024u
#define RETRY_AFTER "1" /* seconds, for the 503 past the connection cap */

/* What the connection timer means now. */
enum conn_phase {
    PHASE_IDLE, /* no request in progress: the idle timeout */
    PHASE_HEAD, /* part of a head has arrived: the head deadline, from its first byte */
    PHASE_BODY, /* the head is in, the body is not: the body deadline, from the head */
    PHASE_BUSY, /* a handler runs, a reply or a stream is being written: no timer */
};

struct conn {
    evhtp_connection_t *c;
    evhtp_request_t *ev_req;  /* the request whose headers arrived, or NULL */
    struct xend_request *req; /* its xend request */
    char peer[INET6_ADDRSTRLEN + 8];
    struct xend_http_who who;   /* the caller, looked up at the first request (access.c) */
    bool tls;                   /* on the HTTPS listener */
    struct xend_http_cert cert; /* its client certificate, read at the first request */

    /* Scan of the request head, before libevhtp's parser sees it. */
    size_t head_seen, line_len;
    bool line_seen, head_done;
    int nl_state;
    bool last_cr; /* the last byte scanned was CR */
    bool bare_lf; /* a line of this head ended in LF alone */

    bool dispatched;        /* the current request's handler ran */
    int reading;            /* inside libevhtp's read callback (conn_readcb) */
    bool flush_pending;     /* a reply went out whole meanwhile: run libevhtp's completion */
    struct event *flush_ev; /* runs it for a reply sent outside conn_readcb; or NULL */
    bool held;              /* reading stopped: a pipelined request waits for a deferred reply */
    int busy;               /* inside one of our bufferevent callbacks */
    bool dead;              /* libevhtp freed the connection while busy: free k on the way out */

    bool rejecting; /* answering a refused request; libevhtp no longer drives it */
    bool shut;      /* write side shut down */
    struct event *reject_ev;
    int reject_status;
    char reject_msg[256];

    bufferevent_data_cb ev_readcb, ev_writecb;
    bufferevent_event_cb ev_eventcb;
    void *ev_arg;

    enum conn_phase phase;
    struct event *timer;
    bool timer_stale; /* the phase changed inside a callback: the timer follows on the way out */
    struct conn *lane_next; /* in srv's bulk lane */
    bool in_lane;

    /* srv.conns, most recently idle first: the cap closes from the tail. */
    struct conn *prev, *next;
};

static struct {
    struct event_base *base;
    evhtp_t *tcp, *unix_htp, *https;
    evhtp_ssl_cfg_t ssl_cfg; /* libevhtp keeps a pointer to it while the listener lives */
    char *unix_path;
    int port, https_port;
    size_t max_body, max_uri, max_header;
    unsigned head_ms, body_ms, idle_ms, send_ms;
    /* The phases' deadlines as libevent common timeouts (phase_timeouts). */
    struct timeval head_plain, body_plain, idle_plain;
    const struct timeval *head_tv, *body_tv, *idle_tv;
    unsigned max_conns, nconns;
    uint64_t closed; /* connections closed so far */
    struct conn *conns, *tail;
    char refusal[256]; /* the 503 the accept guard writes with its reserve descriptor */
    struct event *lane_ev;
    struct conn *lane_head, *lane_tail;
} srv;

/* ---- writing replies ---- */

static bool is_http10(evhtp_request_t *r)
{
    return evhtp_request_get_proto(r) == EVHTP_PROTO_10;
}

static bool keepalive(evhtp_request_t *r)
{
    return (r->flags & EVHTP_REQ_FLAG_KEEPALIVE) != 0;
}

static struct evbuffer *output_of(struct conn *k)
{
    return bufferevent_get_output(evhtp_connection_get_bev(k->c));
}

static struct xend_buf srv_head;

/* Status line and headers; `len` < 0 means no Content-Length (a stream). Formatted in one
 * buffer (the loop's, reused; valid until the next reply) and added once: an
 * evbuffer_add_printf per line was a tenth of a small GET's cost. */
static struct xend_buf *format_head(bool http10, bool close, int status, const char *reason,
                                    const char *ctype, long long len, const char *extra,
                                    const struct xend_http_header *h, size_t nh)
{
    struct xend_buf *b = &srv_head;
    xend_buf_reset(b);
    if (http10)
        xend_buf_put_lit(b, "HTTP/1.0 ");
    else
        xend_buf_put_lit(b, "HTTP/1.1 ");
    xend_buf_put_int(b, status);
    xend_buf_putc(b, ' ');
    xend_buf_puts(b, reason);
    if (ctype != NULL) {
        xend_buf_put_lit(b, "\r\nContent-Type: ");
        xend_buf_puts(b, ctype);
    }
    if (len >= 0) {
        xend_buf_put_lit(b, "\r\nContent-Length: ");
        xend_buf_put_int(b, len);
    }
    if (close)
        xend_buf_put_lit(b, "\r\nConnection: close");
    else if (http10)
        xend_buf_put_lit(b, "\r\nConnection: keep-alive");
    xend_buf_put_lit(b, "\r\n");
    if (extra != NULL)
        xend_buf_puts(b, extra);
    for (size_t i = 0; i < nh; i++) {
        xend_buf_puts(b, h[i].name);
        xend_buf_put_lit(b, ": ");
        xend_buf_puts(b, h[i].value);
        xend_buf_put_lit(b, "\r\n");
    }
    xend_buf_put_lit(b, "\r\n");
    return b;
}

static void write_head(struct conn *k, bool http10, bool close, int status, const char *reason,
                       const char *ctype, long long len, const char *extra,
                       const struct xend_http_header *h, size_t nh)
{
    struct xend_buf *b = format_head(http10, close, status, reason, ctype, len, extra, h, nh);
    evbuffer_add(output_of(k), b->data, b->len);
}

static void linger_start(struct conn *k);

/* A body this small goes out in the head's chain (libevent's chains hold about 1 KB). */
#define SMALL_REPLY 640

static void free_body(const void *data, size_t len, void *arg)
{
    (void)data;
    (void)len;
    free(arg);
}

/*
 * Write a reply straight to the socket when nothing is queued before it; the bytes
 * written (0 when it could not). Through the output buffer, every reply armed the
 * socket's write event and disarmed it once flushed (two epoll_ctl and a loop turn per
 * request); a small reply nearly always fits the socket's buffer. TLS connections write
 * through their bufferevent only (the bytes must be encrypted), refusals through linger.
 */
static size_t write_now(struct conn *k, const struct iovec *iov, size_t niov)
{
    if (k->tls || k->rejecting || evbuffer_get_length(output_of(k)) != 0)
        return 0;
    size_t done = 0;
    /* IOV_MAX pieces per call: a list's body comes in tens of thousands. */
    while (niov > 0) {
        size_t n = niov < IOV_MAX ? niov : IOV_MAX;
        size_t want = 0;
        for (size_t i = 0; i < n; i++)
            want += iov[i].iov_len;
        struct msghdr msg = {.msg_iov = (struct iovec *)iov, .msg_iovlen = n};
        ssize_t w = sendmsg(k->c->sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        /* A failure leaves the rest to the bufferevent, which reports the error as always. */
        if (w <= 0)
            break;
        done += (size_t)w;
        if ((size_t)w < want)
            break;
        iov += n;
        niov -= n;
    }
    return done;
}

/* Queue what write_now left of pieces (skipping `done` bytes): copied, as the pieces are
 * borrowed only until the reply is sent. */
static void queue_rest(struct conn *k, const struct iovec *iov, size_t niov, size_t done)
{
    struct evbuffer *out = output_of(k);
    for (size_t i = 0; i < niov; i++) {
        if (done >= iov[i].iov_len) {
            done -= iov[i].iov_len;
            continue;
        }
        evbuffer_add(out, (const char *)iov[i].iov_base + done, iov[i].iov_len - done);
        done = 0;
    }
}

static void conn_writecb(struct bufferevent *bev, void *arg);
static void write_done(struct bufferevent *bev, struct conn *k);

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct conn *k = arg;
    conn_writecb(evhtp_connection_get_bev(k->c), k);
}

/*
 * The reply is out and nothing is queued: run libevhtp's write completion (keep-alive or
 * close) as the bufferevent would have once its output drained. Inside our read callback,
 * right after libevhtp's parser returns (conn_readcb); otherwise on the loop's next turn,
 * never from within the handler that replied. The connection's own event, not a deferred
 * bufferevent callback: that holds a reference which a loop ending first never drops.
 */
static void flushed_now(struct conn *k)
{
    if (k->reading > 0) {
        k->flush_pending = true;
        return;
    }
    if (k->flush_ev == NULL) {
        k->flush_ev = event_new(srv.base, -1, 0, flush_cb, k);
        if (k->flush_ev == NULL)
            abort(); /* out of memory: the ABI's policy */
    }
    event_active(k->flush_ev, EV_TIMEOUT, 0);
}

static void transport_send(struct xend_request *req, const struct xend_http_response *resp)
{
    struct conn *k = req->transport_arg;
    evhtp_request_t *r = k->ev_req;
    bool close = k->rejecting || !keepalive(r);
    struct xend_buf *head =
        format_head(is_http10(r), close, resp->status, resp->reason, resp->content_type,
                    (long long)resp->body_len, NULL, resp->headers, resp->nheaders);
    size_t body_len = evhtp_request_get_method(r) == htp_method_HEAD ? 0 : resp->body_len;
    const char *body = resp->body;
    size_t done;
    if (resp->iov != NULL) {
        /* The head in front of the pieces, the lot in one sendmsg when it fits. */
        size_t niov = body_len > 0 ? resp->niov : 0;
        struct iovec *iov = xend_xmalloc((niov + 1) * sizeof(*iov));
        iov[0] = (struct iovec){head->data, head->len};
        memcpy(iov + 1, resp->iov, niov * sizeof(*iov));
        done = write_now(k, iov, niov + 1);
        queue_rest(k, iov, niov + 1, done);
        free(iov);
        body_len = body_len > 0 ? resp->body_len : 0;
    } else {
        if (body_len > 0 && body_len <= SMALL_REPLY) {
            /* One add, so one libevent chain: each chain is a 1 KB block, which glibc
             * allocates the slow way (after consolidating its fast bins). */
            xend_buf_append(head, body, body_len);
            body_len = 0;
        }
        struct iovec iov[2] = {{head->data, head->len}, {(void *)body, body_len}};
        done = write_now(k, iov, body_len > 0 ? 2 : 1);
        if (done < head->len)
            evbuffer_add(output_of(k), head->data + done, head->len - done);
        size_t body_done = done > head->len ? done - head->len : 0;
        if (body_done < body_len && resp->body_owned != NULL) {
            evbuffer_add_reference(output_of(k), body + body_done, body_len - body_done, free_body,
                                   resp->body_owned);
        } else {
            if (body_done < body_len)
                evbuffer_add(output_of(k), body + body_done, body_len - body_done);
            free(resp->body_owned);
        }
    }
    if (k->rejecting) {
        linger_start(k);
        return;
    }
    if (close)
        evhtp_request_set_keepalive(r, 0);
    /* libevhtp frees the request (keep-alive) or the connection once this is flushed. */
    r->flags |= EVHTP_REQ_FLAG_FINISHED;
    if (done == head->len + body_len)
        flushed_now(k);
}

static void transport_stream_head(struct xend_request *req, int status, const char *ctype)
{
    struct conn *k = req->transport_arg;
    evhtp_request_t *r = k->ev_req;
    if (is_http10(r)) {
        /* No chunked encoding in 1.0: the end of the body is the end of the connection. */
        evhtp_request_set_keepalive(r, 0);
        write_head(k, true, true, status, xend_http_reason(status), ctype, -1, NULL, req->headers,
                   req->nheaders);
    } else {
        write_head(k, false, !keepalive(r), status, xend_http_reason(status), ctype, -1,
                   "Transfer-Encoding: chunked\r\n", req->headers, req->nheaders);
    }
}

static int transport_stream_chunk(struct xend_request *req, const char *data, size_t len)
{
    struct conn *k = req->transport_arg;
    struct evbuffer *out = output_of(k);
    /* A client that stops reading must not make xend buffer without end. */
    if (evbuffer_get_length(out) > STREAM_BACKLOG_MAX)
        return -XEND_EIO;
    if (is_http10(k->ev_req)) {
        evbuffer_add(out, data, len);
    } else {
        char head[XEND_HEX_SIZE_MAX + 2];
        size_t n = xend_hex_size(len, head);
        memcpy(head + n, "\r\n", 2);
        evbuffer_add(out, head, n + 2);
        evbuffer_add(out, data, len);
        evbuffer_add(out, "\r\n", 2);
    }
    return 0;
}

static void transport_stream_end(struct xend_request *req)
{
    struct conn *k = req->transport_arg;
    if (!is_http10(k->ev_req))
        evbuffer_add(output_of(k), "0\r\n\r\n", 5);
    k->ev_req->flags |= EVHTP_REQ_FLAG_FINISHED;
}

static void lane_remove(struct conn *k)
{
    if (!k->in_lane)
        return;
    struct conn **pp = &srv.lane_head;
    while (*pp != k)
        pp = &(*pp)->lane_next;
    *pp = k->lane_next;
    if (srv.lane_tail == k) {
        srv.lane_tail = NULL;
        for (struct conn *q = srv.lane_head; q != NULL; q = q->lane_next)
            srv.lane_tail = q;
    }
    k->lane_next = NULL;
    k->in_lane = false;
}

static void conn_release(struct conn *k);

/* One bulk request per loop turn; the loop polls, and runs ready reads, in between. */
static void lane_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    struct conn *k = srv.lane_head;
    if (k == NULL)
        return;
    lane_remove(k);
    if (srv.lane_head != NULL)
        event_active(srv.lane_ev, EV_TIMEOUT, 0);
    k->busy++;
    if (k->req != NULL)
        xend_http_request_resume(k->req);
    conn_release(k);
}

static void transport_queue(struct xend_request *req)
{
    struct conn *k = req->transport_arg;
    k->in_lane = true;
    k->lane_next = NULL;
    if (srv.lane_tail)
        srv.lane_tail->lane_next = k;
    else
        srv.lane_head = k;
    srv.lane_tail = k;
    event_active(srv.lane_ev, EV_TIMEOUT, 0);
}

static size_t transport_backlog(struct xend_request *req)
{
    struct conn *k = req->transport_arg;
    return evbuffer_get_length(output_of(k));
}

static const struct xend_http_transport transport = {
    .send = transport_send,
    .stream_head = transport_stream_head,
    .stream_chunk = transport_stream_chunk,
    .stream_end = transport_stream_end,
    .backlog = transport_backlog,
    .queue = transport_queue,
    .pieces = true,
};

/* ---- refusing a request: reply, then close gracefully ---- */

static void linger_read(struct bufferevent *bev, void *arg)
{
    (void)arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    evbuffer_drain(in, evbuffer_get_length(in));
}

static void linger_write(struct bufferevent *bev, void *arg)
{
    struct conn *k = arg;
    if (!k->shut && evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
        /* Closing with unread input would reset the connection and could destroy the
         * reply in flight; shut down writing and wait for the client to close. */
        shutdown(bufferevent_getfd(bev), SHUT_WR);
        k->shut = true;
    }
}

static void linger_event(struct bufferevent *bev, short events, void *arg)
{
    (void)bev;
    (void)events;
    struct conn *k = arg;
    evhtp_connection_free(k->c); /* runs conn_fini, which frees k */
}

static void linger_start(struct conn *k)
{
    struct bufferevent *bev = evhtp_connection_get_bev(k->c);
    struct timeval tv = {LINGER_SECONDS, 0};
    evtimer_del(k->timer); /* the linger has its own deadline */
    k->phase = PHASE_BUSY;
    k->timer_stale = false;
    bufferevent_setcb(bev, linger_read, linger_write, linger_event, k);
    bufferevent_set_timeouts(bev, &tv, &tv);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    linger_read(bev, k);
    linger_write(bev, k);
}

/* A refusal found before any request object exists (request line, head size, cap);
 * `extra` holds more header lines (or NULL). */
static void reject_raw_extra(struct conn *k, int status, const char *msg, const char *extra)
{
    struct xend_buf body = XEND_BUF_INIT;
    struct xend_sxp *e = xend_sxp_list_of("xend.err", msg, NULL);
    xend_sxp_print_buf(e, &body);
    xend_sxp_free(e);
    k->rejecting = true;
    write_head(k, false, true, status, msg, "application/sxp", (long long)body.len, extra, NULL, 0);
    evbuffer_add(output_of(k), body.data, body.len);
    xend_buf_free(&body);
    xend_log_emit(NULL, XEND_LOG_INFO, "http request refused", "status=%d peer=%s reason=\"%s\"",
                  status, k->peer, msg);
    linger_start(k);
}

static void reject_raw(struct conn *k, int status, const char *msg)
{
    reject_raw_extra(k, status, msg, NULL);
}

/* Answer now, in the request's format when a request object exists. */
static void reject_now(struct conn *k, int status, const char *msg)
{
    k->rejecting = true;
    if (k->req != NULL && !k->req->finished)
        xend_http_request_fail(k->req, status, msg);
    else
        reject_raw(k, status, msg);
}

/* Next loop turn after a hook paused the request: answer it in its own format. */
static void reject_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct conn *k = arg;
    reject_now(k, k->reject_status, k->reject_msg);
}

/* From a libevhtp hook: pause the request (the hook returns EVHTP_RES_PAUSE) and answer on
 * the next loop turn; answering inside the hook leaks the descriptor (trap 13). */
static evhtp_res reject_later(struct conn *k, int status, const char *msg)
{
    if (k->reject_ev == NULL) {
        k->reject_status = status;
        snprintf(k->reject_msg, sizeof(k->reject_msg), "%s", msg);
        k->reject_ev = evtimer_new(srv.base, reject_cb, k);
        struct timeval zero = {0, 0};
        evtimer_add(k->reject_ev, &zero);
    }
    return EVHTP_RES_PAUSE;
}

/* ---- connection phases, their timer, and the list the cap works on ---- */

static void conn_link_front(struct conn *k)
{
    k->prev = NULL;
    k->next = srv.conns;
    if (srv.conns)
        srv.conns->prev = k;
    else
        srv.tail = k;
    srv.conns = k;
}

static void conn_unlink(struct conn *k)
{
    if (k->prev)
        k->prev->next = k->next;
    else
        srv.conns = k->next;
    if (k->next)
        k->next->prev = k->prev;
    else
        srv.tail = k->prev;
    k->prev = k->next = NULL;
}

/* Every connection's timer in a phase has the same duration, so each phase's deadline is a
 * libevent common timeout: one queue per duration instead of the timer heap, whose array
 * libevent never shrinks (10,000 connections held left 128 kB of it resident after they
 * went), and adding or removing one is O(1). A plain timeval if libevent has no room. */
static const struct timeval *phase_timeout(unsigned ms, struct timeval *plain)
{
    *plain = (struct timeval){ms / 1000, (suseconds_t)(ms % 1000) * 1000};
    const struct timeval *tv = ms ? event_base_init_common_timeout(srv.base, plain) : NULL;
    return tv != NULL ? tv : plain;
}

/* Arm the timer for the phase the connection is in, from now. */
static void phase_timer_sync(struct conn *k)
{
    if (!k->timer_stale)
        return;
    k->timer_stale = false;
    enum conn_phase phase = k->phase;
    unsigned ms = phase == PHASE_IDLE   ? srv.idle_ms
                  : phase == PHASE_HEAD ? srv.head_ms
                  : phase == PHASE_BODY ? srv.body_ms
                                        : 0;
    const struct timeval *tv = phase == PHASE_IDLE   ? srv.idle_tv
                               : phase == PHASE_HEAD ? srv.head_tv
                                                     : srv.body_tv;
    if (ms == 0)
        evtimer_del(k->timer);
    else
        evtimer_add(k->timer, tv);
}

static void phase_set(struct conn *k, enum conn_phase phase)
{
    k->phase = phase;
    if (phase == PHASE_IDLE) {
        /* Most recently idle first: the cap closes the longest idle from the tail. */
        conn_unlink(k);
        conn_link_front(k);
    }
    /* A GET passes head, body, busy and idle in one read callback: only the phase it ends
     * in needs its timer (each add or delete was 1% of a GET). The timer cannot fire while
     * the callback runs, and a deadline set on the way out of it is the same deadline. */
    k->timer_stale = true;
    if (k->busy == 0)
        phase_timer_sync(k);
}

/* A connection that may be closed without losing anything: no request in progress, no
 * reply unsent. */
static bool conn_idle(struct conn *k)
{
    struct bufferevent *bev = evhtp_connection_get_bev(k->c);
    return k->phase == PHASE_IDLE && !k->rejecting && k->ev_req == NULL &&
           evbuffer_get_length(bufferevent_get_input(bev)) == 0 &&
           evbuffer_get_length(bufferevent_get_output(bev)) == 0;
}

static void conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct conn *k = arg;
    char msg[96];
    switch (k->phase) {
    case PHASE_IDLE:
        xend_log_emit(NULL, XEND_LOG_DEBUG, "http connection closed",
                      "peer=%s reason=\"idle for %u ms\"", k->peer, srv.idle_ms);
        evhtp_connection_free(k->c); /* runs on_conn_fini, which frees k */
        return;
    case PHASE_HEAD:
        snprintf(msg, sizeof(msg), "Request head not complete after %u ms", srv.head_ms);
        reject_raw(k, 408, msg);
        return;
    case PHASE_BODY:
        snprintf(msg, sizeof(msg), "Request body not complete after %u ms", srv.body_ms);
        reject_now(k, 408, msg);
        return;
    case PHASE_BUSY:
        return;
    }
}

/* ---- the head scan, ahead of libevhtp's parser ---- */

/*
 * Give the head's `len` bytes at the start of `in` CRLF line ends. libevhtp 1.2.18 never
 * answers a head whose lines end in LF alone, which HTTP allows a server to accept and
 * 2.0's Python server did (`printf 'GET /xend HTTP/1.0\n\n' | nc` worked).
 */
static void head_to_crlf(struct evbuffer *in, size_t len)
{
    const unsigned char *head = evbuffer_pullup(in, (ssize_t)len);
    char *crlf = xend_xmalloc(2 * len);
    size_t m = 0;
    for (size_t i = 0; i < len; i++) {
        if (head[i] == '\n' && (i == 0 || head[i - 1] != '\r'))
            crlf[m++] = '\r';
        crlf[m++] = (char)head[i];
    }
    evbuffer_drain(in, len);
    evbuffer_prepend(in, crlf, m);
    free(crlf);
}

static void head_reset(struct conn *k)
{
    k->head_seen = k->line_len = 0;
    k->line_seen = k->head_done = false;
    k->nl_state = 0;
    k->last_cr = k->bare_lf = false;
}

/* Whether bytes p[0..n) hold anything but CR: a line with text between two line ends. */
static bool has_text(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != '\r')
            return true;
    return false;
}

/*
 * Scan new input of a request head; false after refusing the request. Line by line
 * (memchr), not byte by byte: this runs for every request. The request line may be
 * max_uri bytes plus its line end, the header lines max_header bytes in all; the head ends
 * at an empty line (LF or CRLF).
 */
static bool head_scan(struct conn *k, const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n && !k->head_done) {
        const unsigned char *nl = memchr(p + i, '\n', n - i);
        size_t end = nl ? (size_t)(nl - p) + 1 : n; /* this step's bytes: [i, end) */
        if (nl && !(nl > p + i ? nl[-1] == '\r' : k->last_cr))
            k->bare_lf = true;
        k->last_cr = p[end - 1] == '\r';
        k->head_seen += end - i;
        if (!k->line_seen) {
            if (nl) {
                k->line_seen = true;
                k->line_len = k->head_seen;
                k->nl_state = 1;
            }
            /* +2: the line end is not part of the limit. */
            if (k->head_seen > srv.max_uri + 2) {
                char msg[96];
                snprintf(msg, sizeof(msg), "Request line too long (limit %zu bytes)", srv.max_uri);
                reject_raw(k, 414, msg);
                return false;
            }
            i = end;
            continue;
        }
        if (has_text(p + i, end - i - (nl ? 1 : 0)))
            k->nl_state = 0;
        if (nl) {
            if (k->nl_state == 1)
                k->head_done = true;
            k->nl_state = 1;
        }
        if (k->head_seen - k->line_len > srv.max_header) {
            char msg[96];
            snprintf(msg, sizeof(msg), "Request headers too large (limit %zu bytes)",
                     srv.max_header);
            reject_raw(k, 431, msg);
            return false;
        }
        i = end;
    }
    return true;
}

static bool conn_paused(struct conn *k)
{
    return (evhtp_connection_get_flags(k->c) & EVHTP_CONN_FLAG_PAUSED) != 0;
}

static bool req_finished(evhtp_request_t *r)
{
    return (r->flags & EVHTP_REQ_FLAG_FINISHED) != 0;
}

static void conn_release(struct conn *k)
{
    if (--k->busy > 0)
        return;
    if (k->dead)
        free(k);
    else
        phase_timer_sync(k);
}

/*
 * In front of libevhtp's read callback: the head scan, and pipelining. libevhtp gets a
 * request's head only once all of it is here (docs/http.md, "Limits"): 1.2.18 assembles a
 * request line that arrives in pieces wrongly ("/xend/domain/Domain-0" sent a byte at a
 * time became "/xe-n-d-/d-o-m..."). libevhtp 1.2.18
 * parses one request per call and its "resume" is a no-op on a connection that is not
 * paused, so a second request already in the buffer would wait for more input forever;
 * this loop hands it over again while libevhtp makes progress. A request that arrives
 * before the previous one was answered (a deferred handler) is held, reading off, until
 * the reply is out (conn_writecb), because libevhtp would drop the connection instead.
 */
static void conn_readcb(struct bufferevent *bev, void *arg)
{
    struct conn *k = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t last = SIZE_MAX;
    k->busy++;
    for (;;) {
        size_t n = evbuffer_get_length(in);
        if (n == 0 || n >= last || k->dead || k->rejecting || conn_paused(k))
            break;
        if (k->ev_req != NULL && k->dispatched && !req_finished(k->ev_req)) {
            bufferevent_disable(bev, EV_READ);
            k->held = true;
            break;
        }
        if (k->ev_req != NULL && req_finished(k->ev_req) && k->head_done)
            head_reset(k); /* what follows is the next request's head */
        if (!k->head_done && (k->ev_req == NULL || req_finished(k->ev_req))) {
            /* The head stays in the buffer until it is whole, so what was scanned of it
             * is its first head_seen bytes. */
            const unsigned char *p = evbuffer_pullup(in, (ssize_t)n);
            if (k->head_seen == 0)
                phase_set(k, PHASE_HEAD); /* the head deadline runs from its first byte */
            if (!head_scan(k, p + k->head_seen, n - k->head_seen))
                break;
            if (!k->head_done)
                break; /* libevhtp mangles a request line that arrives in pieces */
            char why[128];
            int status = xend_http_head_check((const char *)p, k->head_seen, why, sizeof(why));
            if (status != 0) {
                reject_raw(k, status, why);
                break;
            }
            if (k->bare_lf)
                head_to_crlf(in, k->head_seen);
        }
        last = n;
        k->reading++;
        k->ev_readcb(bev, k->ev_arg); /* may free the connection (then k->dead) */
        k->reading--;
        if (k->flush_pending && !k->dead) {
            k->flush_pending = false;
            write_done(bev, k);
        }
    }
    conn_release(k);
}

/* libevhtp's completion of what was written, for a caller that holds k (busy). */
static void write_done(struct bufferevent *bev, struct conn *k)
{
    k->ev_writecb(bev, k->ev_arg);
    if (!k->dead && k->held && k->ev_req == NULL) {
        /* The reply before the held request is out: go on with it. */
        k->held = false;
        bufferevent_enable(bev, EV_READ);
        conn_readcb(bev, k);
    }
}

static void conn_writecb(struct bufferevent *bev, void *arg)
{
    struct conn *k = arg;
    k->busy++;
    write_done(bev, k);
    /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): the busy count taken above kept k alive */
    conn_release(k);
}

static void conn_eventcb(struct bufferevent *bev, short events, void *arg)
{
    struct conn *k = arg;
    k->busy++;
    if (k->tls && (events & BEV_EVENT_ERROR) && !k->cert.looked) {
        /* Before any request: most likely the handshake (a client that does not trust
         * xend's certificate, or speaks plain HTTP to the HTTPS port). */
        char why[160] = "";
        unsigned long e = bufferevent_get_openssl_error(bev);
        if (e)
            ERR_error_string_n(e, why, sizeof(why));
        xend_log_emit(NULL, XEND_LOG_INFO, "https connection failed", "peer=%s error=\"%s\"",
                      k->peer, why[0] ? why : "closed during the handshake");
    }
    if (events & BEV_EVENT_TIMEOUT) {
        /* Only the write timeout is set: the client left a reply unread. */
        xend_log_emit(NULL, XEND_LOG_INFO, "http connection closed",
                      "peer=%s reason=\"client did not read for %u ms\"", k->peer, srv.send_ms);
        evhtp_connection_free(k->c);
    } else {
        k->ev_eventcb(bev, events, k->ev_arg);
    }
    conn_release(k);
}

/* ---- libevhtp hooks ---- */

static uint32_t method_bit(htp_method m)
{
    switch (m) {
    case htp_method_GET:
    case htp_method_HEAD: /* a GET whose body the transport drops */
        return XEND_HTTP_GET;
    case htp_method_POST:
        return XEND_HTTP_POST;
    default:
        return 0;
    }
}

/* The request headers xend reads, found in one pass over the head: a lookup per header
 * (evhtp_header_find, a strcasecmp walk each) was 2% of a GET. The first of a repeated
 * header wins, as with evhtp_header_find. */
enum wanted_header {
    WH_USER_AGENT,
    WH_ACCEPT,
    WH_CONTENT_TYPE,
    WH_CONTENT_LENGTH,
    WH_HOST,
    WH_ORIGIN,
    WH_REFERER,
    WH_FETCH_SITE,
    WH_LAST_EVENT_ID,
    WH_AUTHORIZATION,
    WH_COOKIE,
    WH_COUNT
};

static const struct {
    const char *name;
    size_t len;
} wanted_headers[WH_COUNT] = {
#define WH(i, s) [i] = {s, sizeof(s) - 1}
    WH(WH_USER_AGENT, "User-Agent"),
    WH(WH_ACCEPT, "Accept"),
    WH(WH_CONTENT_TYPE, "Content-Type"),
    WH(WH_CONTENT_LENGTH, "Content-Length"),
    WH(WH_HOST, "Host"),
    WH(WH_ORIGIN, "Origin"),
    WH(WH_REFERER, "Referer"),
    WH(WH_FETCH_SITE, "Sec-Fetch-Site"),
    WH(WH_LAST_EVENT_ID, "Last-Event-ID"),
    WH(WH_AUTHORIZATION, "Authorization"),
    WH(WH_COOKIE, "Cookie"),
#undef WH
};

static void headers_pick(evhtp_headers_t *hdrs, const char *val[WH_COUNT])
{
    for (size_t i = 0; i < WH_COUNT; i++)
        val[i] = NULL;
    evhtp_kv_t *kv;
    TAILQ_FOREACH(kv, hdrs, next)
    {
        for (size_t i = 0; i < WH_COUNT; i++) {
            if (val[i] == NULL && kv->klen == wanted_headers[i].len &&
                strncasecmp(kv->key, wanted_headers[i].name, kv->klen) == 0) {
                val[i] = kv->val;
                break;
            }
        }
    }
}

static evhtp_res on_headers(evhtp_request_t *r, evhtp_headers_t *hdrs, void *arg)
{
    struct conn *k = arg;
    if (k->tls && !k->cert.looked)
        xend_http_remote_cert_read(k->c->ssl, &k->cert); /* the handshake is over by now */
    k->head_done = true;
    k->ev_req = r;
    phase_set(k, PHASE_BODY); /* gencb ends it at once when there is no body */
    const char *h[WH_COUNT];
    headers_pick(hdrs, h);
    struct xend_http_request_init init = {
        .method = method_bit(evhtp_request_get_method(r)),
        .method_name = htparser_get_methodstr_m(evhtp_request_get_method(r)),
        .path = r->uri && r->uri->path && r->uri->path->full ? r->uri->path->full : "/",
        /* Now, before the body is read, query_raw is the URL's own: libevhtp fills it
         * from an urlencoded body later (trap 4). */
        .query = r->uri ? (const char *)r->uri->query_raw : NULL,
        .user_agent = h[WH_USER_AGENT],
        .accept = h[WH_ACCEPT],
        .content_type = h[WH_CONTENT_TYPE],
        .peer = k->peer,
        .transport = &transport,
        .transport_arg = k,
        .host = h[WH_HOST],
        .origin = h[WH_ORIGIN],
        .referer = h[WH_REFERER],
        .fetch_site = h[WH_FETCH_SITE],
        .last_event_id = h[WH_LAST_EVENT_ID],
        .has_cookie = h[WH_COOKIE] != NULL,
        .fd = k->c->sock,
        .conn_who = &k->who,
        .tls = k->tls,
        .authorization = h[WH_AUTHORIZATION],
        .cookie = h[WH_COOKIE],
        .cert = k->tls ? &k->cert : NULL,
    };
    k->req = xend_http_request_new(&init);

    const char *cl = h[WH_CONTENT_LENGTH];
    if (cl != NULL) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno != 0 || end == cl || *end != '\0' || cl[0] == '-')
            return reject_later(k, 400, "Malformed Content-Length");
        if (n > srv.max_body) {
            char msg[128];
            snprintf(msg, sizeof(msg), "Request body too large (%s bytes, limit %zu)", cl,
                     srv.max_body);
            return reject_later(k, 413, msg);
        }
    }
    return EVHTP_RES_OK;
}

/* Bodies without Content-Length (chunked) are counted as they arrive. */
static evhtp_res on_read(evhtp_request_t *r, struct evbuffer *buf, void *arg)
{
    struct conn *k = arg;
    if (evbuffer_get_length(r->buffer_in) + evbuffer_get_length(buf) > srv.max_body) {
        char msg[128];
        snprintf(msg, sizeof(msg), "Request body too large (limit %zu bytes)", srv.max_body);
        return reject_later(k, 413, msg);
    }
    return EVHTP_RES_OK;
}

static evhtp_res on_request_fini(evhtp_request_t *r, void *arg)
{
    struct conn *k = arg;
    if (k->ev_req == r) {
        struct xend_request *req = k->req;
        k->req = NULL;
        k->ev_req = NULL;
        if (req != NULL)
            xend_http_request_detach(req);
    }
    k->dispatched = false;
    head_reset(k);
    if (!k->rejecting) {
        struct evbuffer *in = bufferevent_get_input(evhtp_connection_get_bev(k->c));
        phase_set(k, evbuffer_get_length(in) > 0 ? PHASE_HEAD : PHASE_IDLE);
    }
    return EVHTP_RES_OK;
}

static evhtp_res on_conn_fini(evhtp_connection_t *c, void *arg)
{
    struct conn *k = arg;
    /* The request may be freed after this hook: make sure its fini hook no longer points
     * at k. */
    evhtp_connection_unset_hook(c, evhtp_hook_on_request_fini);
    if (k->req != NULL) {
        struct xend_request *req = k->req;
        k->req = NULL;
        xend_http_request_detach(req);
    }
    if (k->reject_ev != NULL)
        event_free(k->reject_ev);
    if (k->flush_ev != NULL)
        event_free(k->flush_ev);
    event_free(k->timer);
    k->timer = NULL;
    lane_remove(k);
    conn_unlink(k);
    srv.nconns--;
    srv.closed++;
    k->c = NULL;
    if (k->busy > 0)
        k->dead = true;
    else
        free(k);
    return EVHTP_RES_OK;
}

static void peer_text(const struct sockaddr *sa, char *out, size_t len)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa == NULL) {
        snprintf(out, len, "?");
    } else if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        snprintf(out, len, "%s:%u", host, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        snprintf(out, len, "[%s]:%u", host, ntohs(in6->sin6_port));
    } else {
        snprintf(out, len, "unix");
    }
}

/* The connection idle the longest, or NULL when every one is busy. */
static struct conn *oldest_idle(void)
{
    for (struct conn *k = srv.tail; k != NULL; k = k->prev)
        if (conn_idle(k))
            return k;
    return NULL;
}

/*
 * Past the cap, the connection idle the longest is closed to make room (a keep-alive
 * client reconnects; nothing in flight is lost); when none is idle, the new one is
 * answered 503 with Retry-After. Closing the idle first keeps xend reachable while a flood
 * holds connections open without sending (each of those is idle until its first byte).
 */
static bool make_room(struct conn *k)
{
    if (srv.nconns <= srv.max_conns)
        return true;
    struct conn *victim = oldest_idle();
    if (victim != NULL && victim != k) {
        xend_log_emit(NULL, XEND_LOG_INFO, "http connection closed",
                      "peer=%s reason=\"connection cap %u: idle the longest\"", victim->peer,
                      srv.max_conns);
        evhtp_connection_free(victim->c);
        return true;
    }
    char msg[96];
    snprintf(msg, sizeof(msg), "Too many connections (limit %u)", srv.max_conns);
    reject_raw_extra(k, 503, msg, "Retry-After: " RETRY_AFTER "\r\n");
    return false;
}

static evhtp_res post_accept(evhtp_connection_t *c, void *arg)
{
    (void)arg;
    struct conn *k = xend_xcalloc(1, sizeof(*k));
    k->c = c;
    k->tls = c->ssl != NULL;
    peer_text(c->saddr, k->peer, sizeof(k->peer));
    k->timer = evtimer_new(srv.base, conn_timer_cb, k);
    if (k->timer == NULL)
        abort(); /* out of memory: the ABI's policy */
    conn_link_front(k);
    srv.nconns++;
    xend_listen_guard_accepted(c->htp->server);

    evhtp_connection_set_hook(c, evhtp_hook_on_headers, (evhtp_hook)on_headers, k);
    evhtp_connection_set_hook(c, evhtp_hook_on_read, (evhtp_hook)on_read, k);
    evhtp_connection_set_hook(c, evhtp_hook_on_request_fini, (evhtp_hook)on_request_fini, k);
    evhtp_connection_set_hook(c, evhtp_hook_on_connection_fini, (evhtp_hook)on_conn_fini, k);

    /* Put the head scan in front of libevhtp's own read callback. */
    struct bufferevent *bev = evhtp_connection_get_bev(c);
    bufferevent_getcb(bev, &k->ev_readcb, &k->ev_writecb, &k->ev_eventcb, &k->ev_arg);
    bufferevent_setcb(bev, conn_readcb, conn_writecb, conn_eventcb, k);
    struct timeval send_tv = {srv.send_ms / 1000, (suseconds_t)(srv.send_ms % 1000) * 1000};
    bufferevent_set_timeouts(bev, NULL, &send_tv);
    if (make_room(k))
        phase_set(k, PHASE_IDLE);
    return EVHTP_RES_OK;
}

static void gencb(evhtp_request_t *r, void *arg)
{
    (void)arg;
    evhtp_hooks_t *hooks = evhtp_connection_get_hooks(evhtp_request_get_connection(r));
    struct conn *k = hooks->on_connection_fini_arg;
    if (k->req == NULL || k->ev_req != r)
        return; /* cannot happen: on_headers runs for every request */
    k->dispatched = true;
    phase_set(k, PHASE_BUSY);
    size_t len = evbuffer_get_length(r->buffer_in);
    const char *body = len ? (const char *)evbuffer_pullup(r->buffer_in, (ssize_t)len) : "";
    xend_http_request_run(k->req, body, len);
}

/* ---- start and stop ---- */

static evhtp_t *server_new(void)
{
    evhtp_t *h = evhtp_new(srv.base, NULL);
    if (h == NULL)
        return NULL;
    evhtp_set_gencb(h, gencb, NULL);
    evhtp_set_post_accept_cb(h, post_accept, NULL);
    /* Replies go out in one write; without NODELAY the next one on a keep-alive
     * connection waits ~40 ms for the client's delayed ACK (Nagle). */
    evhtp_enable_flag(h, EVHTP_FLAG_ENABLE_NODELAY);
    /* Query strings are decoded by form.c; libevhtp must not drop a connection over one. */
    evhtp_set_parser_flags(h, (EVHTP_PARSE_QUERY_FLAG_LENIENT) |
                                  EVHTP_PARSE_QUERY_FLAG_IGNORE_FRAGMENTS);
    return h;
}

/* Remove a socket file nobody listens on (trap 12); refuse if something answers. */
static int clear_stale_socket(const char *path, struct xend_err *err)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return 0;
    if (!S_ISSOCK(st.st_mode))
        return xend_err_set(err, XEND_EEXIST, "cannot listen on unix:%s: not a socket", path);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return xend_err_set(err, XEND_EINVAL, "unix socket path too long: %s", path);
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return xend_err_set(err, XEND_EIO, "socket: %s", strerror(errno));
    int r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    close(fd);
    if (r == 0)
        return xend_err_set(err, XEND_EEXIST, "cannot listen on unix:%s: in use", path);
    if (unlink(path) != 0)
        return xend_err_set(err, XEND_EIO, "cannot remove stale socket %s: %s", path,
                            strerror(errno));
    return 0;
}

static int bound_port(evhtp_t *h)
{
    struct sockaddr_storage ss = {0};
    socklen_t sl = sizeof(ss);
    if (getsockname(evconnlistener_get_fd(h->server), (struct sockaddr *)&ss, &sl) != 0)
        return 0;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return 0;
}

/*
 * The connection cap: the configured one, or by default 1024 but at most half the
 * descriptor limit, so that HTTP clients alone can never take the descriptors the store,
 * consoles, the event port and scripts need. A configured cap above that is kept (the
 * operator's choice) and logged.
 */
static unsigned connection_cap(unsigned configured)
{
    struct rlimit rl;
    rlim_t half = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                      ? rl.rlim_cur / 2
                      : DEFAULT_MAX_CONNECTIONS;
    if (half < 1)
        half = 1;
    if (configured == 0)
        return half < DEFAULT_MAX_CONNECTIONS ? (unsigned)half : DEFAULT_MAX_CONNECTIONS;
    if (configured > half)
        xend_log_emit(NULL, XEND_LOG_WARN, "http connection cap above half the descriptor limit",
                      "cap=%u nofile=%llu", configured, (unsigned long long)rl.rlim_cur);
    return configured;
}

/* The evhtp bind spec of an address: "" = all (IPv4), "localhost", v4 or v6 literal. */
static void bind_spec(const char *addr, char *spec, size_t len)
{
    if (addr == NULL || addr[0] == '\0')
        snprintf(spec, len, "ipv4:0.0.0.0");
    else if (strcmp(addr, "localhost") == 0)
        snprintf(spec, len, "ipv4:127.0.0.1");
    else if (strchr(addr, ':') != NULL)
        snprintf(spec, len, "ipv6:%s", addr);
    else
        snprintf(spec, len, "ipv4:%s", addr);
}

/* The HTTPS listener (remote.h): libevhtp's OpenSSL support, so each connection is a
 * bufferevent_openssl on the loop like any other; remote.c sets the context up. */
static int https_start(const struct xend_https_options *o, struct xend_err *err)
{
    char spec[300];
    bind_spec(o->address, spec, sizeof(spec));
    srv.https = server_new();
    if (srv.https == NULL)
        return xend_err_set(err, XEND_EIO, "cannot create the HTTPS server");
    srv.ssl_cfg = (evhtp_ssl_cfg_t){
        .pemfile = (char *)o->cert,
        .privfile = (char *)o->key,
        .scache_type = evhtp_ssl_scache_type_disabled,
    };
    if (evhtp_ssl_init(srv.https, &srv.ssl_cfg) != 0 || srv.https->ssl_ctx == NULL)
        return xend_err_set(err, XEND_EIO, "cannot set up TLS for the HTTPS port");
    int rc = xend_http_remote_tls_setup(srv.https->ssl_ctx, o->cert, o->key, o->ca, err);
    if (rc < 0)
        return rc;
    errno = 0;
    if (o->port < 0 || o->port > 65535 ||
        evhtp_bind_socket(srv.https, spec, (uint16_t)o->port, LISTEN_BACKLOG) != 0)
        return xend_err_set(err, XEND_EIO, "cannot listen on %s:%d (xend-https-port): %s",
                            o->address && o->address[0] ? o->address : "0.0.0.0", o->port,
                            errno ? strerror(errno) : "bad address");
    srv.https_port = bound_port(srv.https);
    /* No refusal text: a plain 503 means nothing inside a TLS stream. */
    xend_listen_guard_attach(srv.https->server, "https", NULL);
    return 0;
}

int xend_http_start(struct event_base *base, const struct xend_http_options *opts,
                    struct xend_err *err)
{
    int rc = 0;
    if (srv.base != NULL)
        return xend_err_set(err, XEND_EEXIST, "HTTP server already running");
    srv.base = base;
    srv.max_body = opts->max_body ? opts->max_body : DEFAULT_MAX_BODY;
    srv.max_uri = opts->max_uri && opts->max_uri < MAX_URI_CAP ? opts->max_uri : MAX_URI_CAP;
    srv.max_header =
        opts->max_header && opts->max_header < MAX_HEADER_CAP ? opts->max_header : MAX_HEADER_CAP;
    *xend_http_sxp_limits() = opts->sxp_limits;
    srv.head_ms = opts->head_timeout_ms ? opts->head_timeout_ms : DEFAULT_HEAD_TIMEOUT_MS;
    srv.body_ms = opts->body_timeout_ms ? opts->body_timeout_ms : DEFAULT_BODY_TIMEOUT_MS;
    srv.idle_ms = opts->idle_timeout_ms ? opts->idle_timeout_ms : DEFAULT_IDLE_TIMEOUT_MS;
    srv.send_ms = opts->send_timeout_ms ? opts->send_timeout_ms : DEFAULT_SEND_TIMEOUT_MS;
    srv.head_tv = phase_timeout(srv.head_ms, &srv.head_plain);
    srv.body_tv = phase_timeout(srv.body_ms, &srv.body_plain);
    srv.idle_tv = phase_timeout(srv.idle_ms, &srv.idle_plain);
    srv.max_conns = connection_cap(opts->max_connections);
    xend_http_set_bulk_ops(opts->bulk_ops);
    srv.lane_ev = event_new(base, -1, 0, lane_cb, NULL);
    if (srv.lane_ev == NULL)
        abort(); /* out of memory: the ABI's policy */
    /* The lowest priority the loop has (core/loop.c gives it three; every other event
     * has the middle one): the lane runs only when nothing else is ready. */
    if (event_base_get_npriorities(base) > 1)
        event_priority_set(srv.lane_ev, event_base_get_npriorities(base) - 1);
    static const char refusal_body[] = "(xend.err \"Out of file descriptors\")\n";
    snprintf(srv.refusal, sizeof(srv.refusal),
             "HTTP/1.1 503 Out of file descriptors\r\nRetry-After: " RETRY_AFTER
             "\r\nContent-Type: application/sxp\r\nContent-Length: %zu\r\n"
             "Connection: close\r\n\r\n%s",
             sizeof(refusal_body) - 1, refusal_body);

    const char *addr = opts->address;
    char spec[300];
    bind_spec(addr, spec, sizeof(spec));

    srv.tcp = server_new();
    if (srv.tcp == NULL) {
        rc = xend_err_set(err, XEND_EIO, "cannot create the HTTP server");
        goto fail;
    }
    errno = 0;
    if (opts->port < 0 || opts->port > 65535 ||
        evhtp_bind_socket(srv.tcp, spec, (uint16_t)opts->port, LISTEN_BACKLOG) != 0) {
        rc = xend_err_set(err, XEND_EIO, "cannot listen on %s:%d: %s",
                          addr && addr[0] ? addr : "0.0.0.0", opts->port,
                          errno ? strerror(errno) : "bad address");
        goto fail;
    }
    srv.port = bound_port(srv.tcp);
    xend_listen_guard_attach(srv.tcp->server, "http", srv.refusal);

    if (opts->unix_path != NULL && opts->unix_path[0] != '\0') {
        rc = clear_stale_socket(opts->unix_path, err);
        if (rc < 0)
            goto fail;
        snprintf(spec, sizeof(spec), "unix:%s", opts->unix_path);
        srv.unix_htp = server_new();
        /* Nobody may connect before the access part gives the socket its group. */
        mode_t old = umask(0177);
        int r = srv.unix_htp ? evhtp_bind_socket(srv.unix_htp, spec, 0, LISTEN_BACKLOG) : -1;
        umask(old);
        if (r != 0) {
            rc = xend_err_set(err, XEND_EIO, "cannot listen on unix:%s: %s", opts->unix_path,
                              strerror(errno));
            goto fail;
        }
        srv.unix_path = xend_xstrdup(opts->unix_path);
        xend_listen_guard_attach(srv.unix_htp->server, "http-unix", srv.refusal);
        rc = xend_http_access_own_socket(srv.unix_path, err);
        if (rc < 0)
            goto fail;
    }
    if (opts->https != NULL) {
        rc = https_start(opts->https, err);
        if (rc < 0)
            goto fail;
    }
    xend_log_emit(NULL, XEND_LOG_NOTICE, "http listening",
                  "address=%s port=%d unix=%s https_port=%d max_connections=%u",
                  addr && addr[0] ? addr : "0.0.0.0", srv.port, srv.unix_path ? srv.unix_path : "-",
                  srv.https_port, srv.max_conns);
    return 0;

fail:
    xend_http_stop();
    return rc;
}

void xend_http_stop(void)
{
    /* Unbind before free, and free open connections ourselves (trap 12). */
    if (srv.tcp != NULL && srv.tcp->server != NULL) {
        xend_listen_guard_detach(srv.tcp->server);
        evhtp_unbind_socket(srv.tcp);
    }
    if (srv.unix_htp != NULL && srv.unix_htp->server != NULL) {
        xend_listen_guard_detach(srv.unix_htp->server);
        evhtp_unbind_socket(srv.unix_htp);
    }
    if (srv.https != NULL && srv.https->server != NULL) {
        xend_listen_guard_detach(srv.https->server);
        evhtp_unbind_socket(srv.https);
    }
    while (srv.conns != NULL)
        evhtp_connection_free(srv.conns->c); /* on_conn_fini unlinks it */
    if (srv.tcp != NULL)
        evhtp_free(srv.tcp);
    if (srv.unix_htp != NULL)
        evhtp_free(srv.unix_htp);
    if (srv.https != NULL)
        evhtp_free(srv.https); /* and its SSL_CTX */
    if (srv.unix_path != NULL) {
        unlink(srv.unix_path);
        free(srv.unix_path);
    }
    srv.tcp = srv.unix_htp = srv.https = NULL;
    srv.https_port = 0;
    srv.unix_path = NULL;
    if (srv.lane_ev != NULL)
        event_free(srv.lane_ev);
    srv.lane_ev = NULL;
    xend_http_set_bulk_ops(NULL);
    xend_buf_free(&srv_head);
    xend_http_request_pool_free();
    srv.base = NULL;
    srv.port = 0;
}

uint64_t xend_http_connections_closed(void)
{
    return srv.closed;
}

unsigned xend_http_connections_open(void)
{
    return srv.nconns;
}

int xend_http_port(void)
{
    return srv.port;
}

int xend_http_https_port(void)
{
    return srv.https_port;
}
