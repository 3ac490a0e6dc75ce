/*
 * /xend/event over HTTP (event_http.h): the directory listing, op=inject, and follow
 * streams. A follower is a subscription to the bus whose callback writes one line per
 * event to its stream; it ends when the client goes, when the client stops reading (the
 * HTTP layer refuses more than 8 MiB unread, and budget.c drops the slowest follower when
 * all of them together hold more than the backlog budget), or at shutdown. Followers and
 * injected events are capped (budget.h).
 */
#include "event/event_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "event/budget.h"
#include "event/event.h"
#include "http/http.h"
#include "log/log.h"
#include "sxp.h"

struct follower {
    struct xend_event_sink sink; /* first: the budget hands it back */
    struct follower *next, *prev;
    struct xend_request *req; /* borrowed until stream_end */
    bool json;
};

static struct {
    struct follower *head;
    unsigned n;
} followers;

static const struct xend_host_http *http(void)
{
    return xend_http_host_table();
}

/* --- follow=1 ----------------------------------------------------------------------- */

static void follower_end(struct follower *f)
{
    xend_event_sink_remove(&f->sink);
    xend_event_unsubscribe_owner(f);
    if (f->prev)
        f->prev->next = f->next;
    else
        followers.head = f->next;
    if (f->next)
        f->next->prev = f->prev;
    followers.n--;
    xend_http_stream_end(f->req);
    free(f);
}

static void follower_closed(struct xend_request *req, void *arg)
{
    (void)req;
    follower_end(arg);
}

/* Queue one event line; 0 or -XEND_EIO (the client has gone or reads too little). */
static int follower_write(struct follower *f, const char *name, const struct xend_sxp *value)
{
    struct xend_buf line = XEND_BUF_INIT;
#ifdef XEND_HTTP_HAVE_JSON
    if (f->json) {
        /* (event (name N) (value V)) maps to {"event": {"name": N, "value": V}} */
        struct xend_sxp *ev = xend_sxp_list_of("event", NULL);
        xend_sxp_add_kv(ev, "name", name);
        struct xend_sxp *v = xend_sxp_list_of("value", NULL);
        if (value != NULL)
            xend_sxp_append_take(v, xend_sxp_copy(value));
        xend_sxp_append_take(ev, v);
        xend_http_json(ev, &line);
        xend_sxp_free(ev);
    } else
#endif
    {
        struct xend_sxp *ev = xend_sxp_list_of("event", name, NULL);
        if (value != NULL)
            xend_sxp_append_take(ev, xend_sxp_copy(value));
        xend_sxp_print_buf(ev, &line);
        xend_sxp_free(ev);
    }
    xend_buf_putc(&line, '\n');
    int rc = xend_http_stream_write(f->req, line.data, line.len);
    xend_buf_free(&line);
    return rc;
}

static void follower_event(const char *name, const struct xend_sxp *value, void *arg)
{
    struct follower *f = arg;
    if (follower_write(f, name, value) != 0) {
        xend_log_emit(NULL, XEND_LOG_INFO, "event follower dropped", "request=%llu",
                      (unsigned long long)xend_http_request_id(f->req));
        follower_end(f);
        return;
    }
    xend_event_budget_check();
}

static size_t follower_backlog(struct xend_event_sink *s)
{
    return xend_http_stream_backlog(((struct follower *)s)->req);
}

/* Over the budget: a last line, (event xend.event.dropped (reason "...")), and the end. */
static void follower_drop(struct xend_event_sink *s, const char *why)
{
    struct follower *f = (struct follower *)s;
    struct xend_sxp *v = xend_sxp_list_of("reason", why, NULL);
    follower_write(f, "xend.event.dropped", v);
    xend_sxp_free(v);
    follower_end(f);
}

static int follow_start(struct xend_request *req)
{
    const char *pattern = http()->arg_str(req, "pattern");
    if (pattern == NULL)
        pattern = "*";
    if (!xend_event_pattern_valid(pattern))
        return xend_err_set(http()->err(req), XEND_EINVAL, "invalid event pattern: %s", pattern);
    unsigned max = xend_event_limits()->max_followers;
    if (followers.n >= max) {
        char msg[96];
        snprintf(msg, sizeof(msg), "Too many event followers (limit %u)", max);
        xend_log_emit(NULL, XEND_LOG_WARN, "event follower refused", "request=%llu limit=%u",
                      (unsigned long long)xend_http_request_id(req), max);
        http()->reply_header(req, "Retry-After", "5");
        http()->reply_take(req, 503, xend_sxp_list_of("xend.err", msg, NULL));
        return 0;
    }
    struct follower *f = xend_xcalloc(1, sizeof(*f));
    f->req = req;
    f->sink.backlog = follower_backlog;
    f->sink.drop = follower_drop;
    f->sink.kind = "http";
#ifdef XEND_HTTP_HAVE_JSON
    f->json = xend_http_wants_json(req);
#endif
    int rc = xend_http_stream_begin(req, f->json ? "application/json" : "application/sxp");
    if (rc != 0) {
        free(f);
        return xend_err_set(http()->err(req), -rc, "cannot start the event stream");
    }
    xend_http_stream_on_close(req, follower_closed, f);
    f->next = followers.head;
    if (followers.head)
        followers.head->prev = f;
    followers.head = f;
    followers.n++;
    xend_event_sink_add(&f->sink);
    xend_event_subscribe(f, pattern, follower_event, f);
    return 0;
}

/* --- the routes --------------------------------------------------------------------- */

static int event_get(struct xend_request *req, void *arg)
{
    (void)arg;
    const char *follow = http()->arg_str(req, "follow");
    if (follow != NULL && *follow != '\0' && strcmp(follow, "0") != 0)
        return follow_start(req);
    http()->reply_take(req, 0, xend_sxp_list_of("ls", NULL));
    return 0;
}

static int event_inject(struct xend_request *req, void *arg)
{
    (void)arg;
    const char *text = http()->arg_str(req, "event");
    size_t max = xend_event_limits()->inject_max;
    if (text != NULL && strlen(text) > max)
        return xend_err_set(http()->err(req), XEND_ELIMIT,
                            "Event too large: %zu bytes (limit %zu)", strlen(text), max);
    const struct xend_sxp *ev;
    int rc = http()->arg_sxp(req, "event", &ev);
    if (rc != 0)
        return rc;
    const char *name = xend_sxp_name(ev);
    if (name == NULL)
        return xend_err_set(http()->err(req), XEND_EINVAL,
                            "invalid event: expected a list named by its head, as (foo.bar 1)");
    xend_event_emit(name, ev);
    http()->reply_take(req, 0, xend_sxp_atom("0"));
    return 0;
}

int xend_event_http_register(void)
{
    static const struct xend_route routes[] = {
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET, .path = "/xend/event", .op = NULL,
         .fn = event_get,
         .doc = "Events. follow=1 streams (event NAME VALUE) lines (JSON lines for "
                "Accept: application/json), pattern= narrows them.",
         .role = XEND_ROLE_VIEWER},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/xend/event", .op = "inject",
         .fn = event_inject,
         .doc = "Inject an event named by the head of the value. params: event",
         .role = XEND_ROLE_ADMIN},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        int rc = xend_http_route_add(NULL, &routes[i]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

void xend_event_http_close_followers(void)
{
    while (followers.head != NULL)
        follower_end(followers.head);
}

unsigned xend_event_http_followers(void)
{
    return followers.n;
}
