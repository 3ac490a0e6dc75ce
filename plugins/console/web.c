/*
 * Browser followers of a console (docs/console-web.md): GET /xend/console/PORT/stream is a
 * Server-Sent Events stream of the guest's output, POST /xend/console/PORT op=input sends
 * bytes to the guest.
 *
 * A follower is shown the recent output first (the history: the last console-replay-max
 * bytes, kept while anyone watches the console), then every byte the guest writes, in
 * events whose data is base64 (any byte survives, a NUL or half a UTF-8 sequence too) and
 * whose id is the count of output bytes up to the event's end, so that a page that
 * reconnects with since=ID is shown only what it missed. Followers do not take the
 * console's one TCP slot: several pages and a TCP client may watch at once, and the guest
 * stream is open while any of them is there (on demand: only then).
 *
 * A follower that does not read is bounded: past console-buffer-max unread bytes it is
 * dropped with a log line (the page reconnects and resumes). Never blocks the loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console.h"

#define P (&console_plugin)
#define H (console_plugin.host)

/* Followers of one console: each holds an HTTP connection; enough for every operator. */
#define CONSOLE_FOLLOWERS_MAX 16
/* Output bytes per event: a burst of output becomes several events of a few KiB each. */
#define CONSOLE_EVENT_BYTES 3072u

struct console_follower {
    struct console_follower *next, *prev;
    struct console *c;
    struct xend_request *req; /* borrowed from the core until stream_end */
};

/* The HTTP side of the host: NULL on a core before 1.6, which cannot stream to plugins. */
static const struct xend_host_http *web_http(void)
{
    const struct xend_host_http *h = H->http;
    return XEND_HAS_MEMBER(h, stream_on_close) ? h : NULL;
}

static void follower_end(struct console_follower *f)
{
    struct console *c = f->c;
    if (f->prev)
        f->prev->next = f->next;
    else
        c->followers = f->next;
    if (f->next)
        f->next->prev = f->prev;
    c->nfollowers--;
    H->http->stream_end(f->req);
    free(f);
    console_web_watch_changed(c);
    console_stream_release(c);
}

static void follower_closed(struct xend_request *req, void *arg)
{
    (void)req;
    struct console_follower *f = arg;
    H->log->emit(P->self, XEND_LOG_INFO, "console follower left", "console=%lld domain=%u",
                 f->c->id, f->c->domid);
    follower_end(f);
}

/* Write p as events ending at output offset `end`: 0, or -XEND_EIO (the client went). */
static int follower_write(struct console_follower *f, const char *p, size_t n, uint64_t end)
{
    static char ev[64 + (CONSOLE_EVENT_BYTES + 2) / 3 * 4 + 4];
    uint64_t at = end - n;
    while (n > 0) {
        size_t k = n < CONSOLE_EVENT_BYTES ? n : CONSOLE_EVENT_BYTES;
        at += k;
        int len = snprintf(ev, 64, "id: %llu\ndata: ", (unsigned long long)at);
        console_base64(p, k, ev + len);
        len += (int)console_base64_len(k);
        memcpy(ev + len, "\n\n", 2);
        int rc = H->http->stream_write(f->req, ev, (size_t)len + 2);
        if (rc < 0)
            return rc;
        p += k;
        n -= k;
    }
    return 0;
}

/* Write, then hold the follower to its budget; false when it was dropped (f is gone). */
static bool follower_feed(struct console_follower *f, const char *p, size_t n, uint64_t end)
{
    struct console *c = f->c;
    const char *why = NULL;
    if (follower_write(f, p, n, end) < 0)
        why = "gone";
    else if (H->http->stream_backlog(f->req) > P->buffer_max)
        why = "slow";
    if (why == NULL)
        return true;
    H->log->emit(P->self, XEND_LOG_WARN, "console follower dropped",
                 "console=%lld domain=%u reason=%s limit=%zu", c->id, c->domid, why, P->buffer_max);
    follower_end(f);
    return false;
}

void console_web_output(struct console *c, const char *p, size_t n)
{
    if (console_watched(c))
        console_ring_push_tail(&c->hist, p, n, P->replay_max);
    for (struct console_follower *f = c->followers, *next; f != NULL; f = next) {
        next = f->next;
        follower_feed(f, p, n, c->out_total);
    }
}

void console_web_watch_changed(struct console *c)
{
    if (!console_watched(c)) {
        console_ring_free(&c->hist);
        return;
    }
    /* Watched from now on: the replay (what waited for the next TCP client, which may have
     * just come and not read it yet) is the recent output a follower is shown first too.
     * Output read while watched is in the history already. */
    if (c->hist.len == 0 && c->out.len > 0)
        for (size_t off = 0; off < c->out.len;) {
            const char *run;
            size_t k = console_ring_run(&c->out, off, &run);
            console_ring_push_tail(&c->hist, run, k, P->replay_max);
            off += k;
        }
}

void console_web_close(struct console *c)
{
    while (c->followers != NULL)
        /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): follower_end unlinks the head it frees */
        follower_end(c->followers);
    console_ring_free(&c->hist);
}

static int web_route_stream(struct xend_request *req, void *arg)
{
    (void)arg;
    struct console *c;
    int rc = console_from_req(req, &c);
    if (rc < 0)
        return rc;
    long long since;
    if ((rc = H->http->arg_int_opt(req, "since", -1, &since)) < 0)
        return rc;
    if (c->nfollowers >= CONSOLE_FOLLOWERS_MAX)
        return xend_err_set(H->http->err(req), XEND_ELIMIT, "console %lld has %d followers already",
                            c->id, CONSOLE_FOLLOWERS_MAX);
    struct console_follower *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return xend_err_set(H->http->err(req), XEND_ENOMEM, "out of memory");
    /* No Cache-Control from a proxy, and nginx-style proxies must not hold it back. */
    H->http->reply_header(req, "Cache-Control", "no-store");
    H->http->reply_header(req, "X-Accel-Buffering", "no");
    if (H->http->stream_begin(req, "text/event-stream") < 0) {
        H->http->stream_end(req);
        free(f);
        return 0;
    }
    f->c = c;
    f->req = req;
    f->next = c->followers;
    if (f->next)
        f->next->prev = f;
    c->followers = f;
    c->nfollowers++;
    H->http->stream_on_close(req, follower_closed, f);
    H->log->emit(P->self, XEND_LOG_INFO, "console follower joined",
                 "console=%lld domain=%u peer=%s since=%lld", c->id, c->domid, H->http->peer(req),
                 since);
    /* A comment first, so that the page sees the stream open before any output. */
    static const char hello[] = ": console\nretry: 1000\n\n";
    if (H->http->stream_write(req, hello, sizeof(hello) - 1) < 0) {
        follower_end(f);
        return 0;
    }
    console_web_watch_changed(c);
    /* The history, or only what a resuming page missed: it covers the output offsets
     * [out_total - hist.len, out_total). A since from before an xend restart (beyond
     * out_total) gets it all. */
    uint64_t first = c->out_total - c->hist.len;
    size_t skip = 0;
    if (since >= 0 && (uint64_t)since <= c->out_total && (uint64_t)since > first)
        skip = (size_t)((uint64_t)since - first);
    for (size_t off = skip; off < c->hist.len;) {
        const char *run;
        size_t k = console_ring_run(&c->hist, off, &run);
        off += k;
        if (!follower_feed(f, run, k, first + off))
            return 0;
    }
    /* Then live output: on demand the stream opens now, and the backend sends what it kept
     * first. A domain that is not running just has nothing to say yet. */
    struct xend_err err = {0};
    if (c->live && console_stream_hold(c, &err) < 0)
        H->log->emit(P->self, XEND_LOG_WARN, "console stream unavailable",
                     "console=%lld domain=%u error=\"%s\"", c->id, c->domid, xend_err_msg(&err));
    return 0;
}

static int web_route_input(struct xend_request *req, void *arg)
{
    (void)arg;
    struct console *c;
    int rc = console_from_req(req, &c);
    if (rc < 0)
        return rc;
    const char *data = H->http->arg_str(req, "data");
    if (data == NULL)
        return xend_err_set(H->http->err(req), XEND_EINVAL, "Missing parameter: data");
    size_t n = strlen(data);
    if ((rc = console_input(c, data, n, H->http->err(req))) < 0)
        return rc;
    H->log->emit(P->self, XEND_LOG_DEBUG, "console input",
                 "console=%lld domain=%u bytes=%zu peer=%s", c->id, c->domid, n,
                 H->http->peer(req));
    H->http->reply_take(req, 0, H->sxp->atom_int((long long)n));
    return 0;
}

static const struct xend_route web_routes[] = {
    {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET, .path = "/xend/console/{id}/stream", .op = NULL,
     .fn = web_route_stream, .doc = "the console's output as Server-Sent Events (base64 data)",
     .role = XEND_ROLE_OPERATOR},
    {XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/xend/console/{id}", .op = "input",
     .fn = web_route_input, .doc = "send data=TEXT to the guest's console",
     .role = XEND_ROLE_OPERATOR},
};

int console_web_init(void)
{
    if (web_http() == NULL) {
        /* A 1.5 core: the TCP ports work, the browser's console does not. */
        H->log->emit(P->self, XEND_LOG_NOTICE, "console web routes unavailable",
                     "reason=\"the core has no HTTP streams for plugins (ABI before 1.6)\"");
        return 0;
    }
    for (size_t i = 0; i < sizeof(web_routes) / sizeof(web_routes[0]); i++) {
        int rc = H->http->route_add(P->self, &web_routes[i]);
        if (rc < 0) {
            H->plugin_err_set(P->self, "cannot add route %s %s: %s", web_routes[i].path,
                              web_routes[i].op ? web_routes[i].op : "", xend_strerror(rc));
            return rc;
        }
    }
    return 0;
}
