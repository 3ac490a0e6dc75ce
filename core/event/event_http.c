/*
 * /xend/event over HTTP (event_http.h): the directory listing, op=inject, and follow
 * streams. A follower is a subscription to the bus whose callback writes one line per
 * event to its stream; it ends when the client goes, when the client stops reading (the
 * HTTP layer refuses more than 8 MiB unread, and budget.c drops the slowest follower when
 * all of them together hold more than the backlog budget), or at shutdown. Followers and
 * injected events are capped (budget.h).
 *
 * A resuming follower (since=N, Last-Event-ID) is first written the held events after N
 * from the history (history.h), then subscribed, in the same turn of the loop, so that no
 * event falls between the two. Without follow=1 its stream ends after the replay.
 */
#include "event/event_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "event/budget.h"
#include "event/event.h"
#include "event/history.h"
#include "http/server.h"
#include "log/log.h"
#include "sxp.h"

/* How a stream writes an event: as in 2004 (`(event NAME VALUE)`, no number), or
 * numbered, as SXP, JSON lines or Server-Sent Events (docs/http.md "Events"). */
enum line_form {
    FORM_SXP_PLAIN = 0,
    FORM_SXP,
    FORM_JSON,
    FORM_SSE,
};

struct follower {
    struct xend_event_sink sink; /* first: the budget hands it back */
    struct follower *next, *prev;
    struct xend_request *req; /* borrowed until stream_end */
    enum line_form form;
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

/* The numbered form of an event: (event (seq N) (epoch E) (name NAME) (value V)); seq 0
 * (a notice of this stream only, not an event of the bus) has no seq. */
static struct xend_sxp *numbered(uint64_t seq, const char *name, const struct xend_sxp *value)
{
    struct xend_sxp *ev = xend_sxp_list_of("event", NULL);
    if (seq != 0)
        xend_sxp_add_kv_int(ev, "seq", (long long)seq);
    xend_sxp_add_kv(ev, "epoch", xend_event_history_epoch());
    xend_sxp_add_kv(ev, "name", name);
    struct xend_sxp *v = xend_sxp_list_of("value", NULL);
    if (value != NULL)
        xend_sxp_append_take(v, xend_sxp_copy(value));
    xend_sxp_append_take(ev, v);
    return ev;
}

/* Append one event in the stream's form (a line_form) to line; an xend_event_format_fn. */
static void format_event(int form, uint64_t seq, const char *name, const struct xend_sxp *value,
                         struct xend_buf *line)
{
    if (form == FORM_SXP_PLAIN) {
        struct xend_sxp *ev = xend_sxp_list_of("event", name, NULL);
        if (value != NULL)
            xend_sxp_append_take(ev, xend_sxp_copy(value));
        xend_sxp_print_buf(ev, line);
        xend_sxp_free(ev);
        xend_buf_putc(line, '\n');
        return;
    }
    struct xend_sxp *ev = numbered(seq, name, value);
    switch (form) {
    case FORM_SXP:
        xend_sxp_print_buf(ev, line);
        xend_buf_putc(line, '\n');
        break;
    case FORM_JSON:
        xend_http_json(ev, line);
        xend_buf_putc(line, '\n');
        break;
    default: /* SSE: the id a browser sends back as Last-Event-ID; JSON has no newline */
        if (seq != 0)
            xend_buf_printf(line, "id: %llu\n", (unsigned long long)seq);
        xend_buf_puts(line, "data: ");
        xend_http_json(ev, line);
        xend_buf_puts(line, "\n\n");
        break;
    }
    xend_sxp_free(ev);
}

/* Queue one event line; 0 or -XEND_EIO (the client has gone or reads too little). */
static int follower_write(struct follower *f, uint64_t seq, const char *name,
                          const struct xend_sxp *value)
{
    struct xend_buf line = XEND_BUF_INIT;
    format_event(f->form, seq, name, value, &line);
    int rc = xend_http_stream_write(f->req, line.data, line.len);
    xend_buf_free(&line);
    return rc;
}

static void follower_event(const char *name, const struct xend_sxp *value, void *arg)
{
    (void)name;
    (void)value;
    struct follower *f = arg;
    /* Formatted once for every follower of this form (event.h). */
    const struct xend_buf *line = xend_event_formatted(format_event, (int)f->form);
    if (xend_http_stream_write(f->req, line->data, line->len) != 0) {
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
    follower_write(f, 0, "xend.event.dropped", v);
    xend_sxp_free(v);
    follower_end(f);
}

/* What a request asked for: the form, and where to start (since, when resuming). */
struct follow_args {
    enum line_form form;
    bool resume;       /* since= or Last-Event-ID given */
    uint64_t since;    /* the last number the client saw */
    const char *epoch; /* the epoch the client's numbers belong to, NULL = not said */
};

static int follow_args_get(struct xend_request *req, struct follow_args *a)
{
    memset(a, 0, sizeof(*a));
    const char *fmt = http()->arg_str(req, "format");
    if (fmt == NULL) {
        if (xend_http_accepts(req, "text/event-stream"))
            a->form = FORM_SSE;
        else if (xend_http_wants_json(req))
            a->form = FORM_JSON;
    } else if (strcmp(fmt, "json") == 0)
        a->form = FORM_JSON;
    else if (strcmp(fmt, "sse") == 0)
        a->form = FORM_SSE;
    else if (strcmp(fmt, "sxp") == 0)
        a->form = FORM_SXP;
    else
        return xend_err_set(http()->err(req), XEND_EINVAL,
                            "invalid format: %s (expected sxp, json or sse)", fmt);
    const char *since = http()->arg_str(req, "since");
    if (since == NULL || *since == '\0')
        since = xend_http_last_event_id(req);
    if (since != NULL && *since != '\0') {
        long long n;
        if (!xend_sxp_text_int(since, &n) || n < 0)
            return xend_err_set(http()->err(req), XEND_EINVAL,
                                "invalid since: %s (expected an event number, 0 or more)", since);
        a->resume = true;
        a->since = (uint64_t)n;
    }
    const char *seq = http()->arg_str(req, "seq");
    /* Old clients get the 2004 lines; numbers only for those who ask. */
    if (a->form == FORM_SXP_PLAIN &&
        (a->resume || (seq != NULL && strcmp(seq, "1") == 0) || fmt != NULL))
        a->form = FORM_SXP;
    a->epoch = http()->arg_str(req, "epoch");
    if (a->epoch != NULL && *a->epoch == '\0')
        a->epoch = NULL;
    return 0;
}

struct replay {
    struct follower *f;
    const char *pattern;
};

static int replay_one(uint64_t seq, const char *name, const struct xend_sxp *value, void *arg)
{
    struct replay *r = arg;
    if (!xend_event_match(r->pattern, name))
        return 0;
    return follower_write(r->f, seq, name, value);
}

/*
 * Replay what the client missed. First, when the history cannot give all of it, a notice
 * (event xend.event.missed (missed (since N) (oldest O) (last L) (reason R))): the events
 * after N and before O are gone (more than event-history since), or N belongs to another
 * run of xend (a different epoch, or a number this run has not reached): then every held
 * event follows.
 */
static int follower_replay(struct follower *f, const struct follow_args *a, const char *pattern)
{
    uint64_t since = a->since, oldest = xend_event_history_oldest();
    uint64_t last = xend_event_history_last();
    const char *reason = NULL;
    if (a->epoch != NULL && strcmp(a->epoch, xend_event_history_epoch()) != 0)
        reason = "another epoch: xend restarted since";
    else if (since > last)
        reason = "not reached yet: xend restarted since, or a bad number";
    else if (since + 1 < oldest)
        reason = "too old: those events are no longer held";
    if (reason != NULL) {
        struct xend_sxp *v = xend_sxp_list_of("missed", NULL);
        xend_sxp_add_kv_int(v, "since", (long long)since);
        xend_sxp_add_kv_int(v, "oldest", (long long)oldest);
        xend_sxp_add_kv_int(v, "last", (long long)last);
        xend_sxp_add_kv(v, "reason", reason);
        int rc = follower_write(f, 0, "xend.event.missed", v);
        xend_sxp_free(v);
        if (rc != 0)
            return rc;
        if (since + 1 >= oldest) /* numbers of another run: all of this one's */
            since = 0;
    }
    struct replay r = {f, pattern};
    return xend_event_history_replay(since, replay_one, &r);
}

static const char *form_type(enum line_form form)
{
    switch (form) {
    case FORM_JSON:
        return "application/json";
    case FORM_SSE:
        return "text/event-stream";
    default:
        return "application/sxp";
    }
}

/* follow: keep the stream open for new events; else replay and end. */
static int follow_start(struct xend_request *req, bool follow)
{
    struct follow_args a;
    int rc = follow_args_get(req, &a);
    if (rc != 0)
        return rc;
    const char *pattern = http()->arg_str(req, "pattern");
    if (pattern == NULL)
        pattern = "*";
    if (!xend_event_pattern_valid(pattern))
        return xend_err_set(http()->err(req), XEND_EINVAL, "invalid event pattern: %s", pattern);
    unsigned max = xend_event_limits()->max_followers;
    if (follow && followers.n >= max) {
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
    f->form = a.form;
    rc = xend_http_stream_begin(req, form_type(f->form));
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
    /* Replay, then subscribe: nothing runs in between, so nothing falls in the gap. */
    if (a.resume && follower_replay(f, &a, pattern) != 0) {
        follower_end(f);
        return 0;
    }
    if (!follow) {
        follower_end(f);
        return 0;
    }
    xend_event_subscribe(f, pattern, follower_event, f);
    xend_event_budget_check();
    return 0;
}

/* --- the routes --------------------------------------------------------------------- */

static int event_get(struct xend_request *req, void *arg)
{
    (void)arg;
    const char *follow = http()->arg_str(req, "follow");
    if (follow != NULL && *follow != '\0' && strcmp(follow, "0") != 0)
        return follow_start(req, true);
    if (http()->arg_str(req, "since") != NULL)
        return follow_start(req, false); /* the history since N, then the end */
    http()->reply_take(req, 0, xend_sxp_list_of("ls", NULL));
    return 0;
}

static int event_inject(struct xend_request *req, void *arg)
{
    (void)arg;
    const char *text = http()->arg_str(req, "event");
    size_t max = xend_event_limits()->inject_max;
    if (text != NULL && strlen(text) > max)
        return xend_err_set(http()->err(req), XEND_ELIMIT, "Event too large: %zu bytes (limit %zu)",
                            strlen(text), max);
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
         .doc = "Events. follow=1 streams (event NAME VALUE) lines, pattern= narrows "
                "them; since=N replays the held events after N first (numbered lines; "
                "format=sxp|json|sse, or Accept: application/json or text/event-stream).",
         .role = XEND_ROLE_VIEWER},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/xend/event", .op = "inject",
         .fn = event_inject, .doc = "Inject an event named by the head of the value. params: event",
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
