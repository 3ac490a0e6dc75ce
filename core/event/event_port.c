/*
 * The event and debug TCP port (event_port.h): libevent listener and bufferevents, a
 * scanner that finds where one request ends, and the request table.
 *
 * A connection is never freed from inside a callback that may still touch it (a request
 * handler emits events, and an event may overflow and drop its own connection): closing
 * only marks it, unsubscribes it and activates its close event, which frees it on the
 * next loop turn.
 */
#include "event/event_port.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "buf.h"
#include "event/budget.h"
#include "event/event.h"
#include "http/listen_guard.h"
#include "log/log.h"
#include "log/trace.h"
#include "sxp.h"

#define PORT_MAX_REQUEST (64u << 10) /* bytes of one request */
#define PORT_MAX_UNREAD (4u << 20)   /* bytes queued for a client before it is dropped */
#define PORT_DROP_GRACE_SECONDS 30   /* a dropped client has this long to read its last line */
#define PORT_MAX_LINE 1024u          /* bytes of one plain command line */

struct conn {
    struct xend_event_sink sink; /* first: the budget hands it back */
    struct conn *next, *prev;
    struct xend_event_port *port;
    struct bufferevent *bev;
    struct event *close_ev;
    char peer[64];
    bool closing;
    bool quitting; /* close once the reply to (quit) is written */
};

struct xend_event_port {
    struct event_base *base;
    struct evconnlistener *listener;
    int number;
    unsigned n_conns;
    struct conn *conns;
    xend_event_port_check_fn *check;
    xend_event_port_info_fn *info;
};

/* --- connections -------------------------------------------------------------------- */

static void conn_free(struct conn *c)
{
    struct xend_event_port *p = c->port;
    if (c->prev)
        c->prev->next = c->next;
    else
        p->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    p->n_conns--;
    xend_event_sink_remove(&c->sink);
    xend_event_unsubscribe_owner(c);
    bufferevent_free(c->bev);
    event_free(c->close_ev);
    free(c);
}

static void close_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_free(arg);
}

/* Drop the connection on the next loop turn; safe from any callback. */
static void conn_close(struct conn *c, const char *why)
{
    if (c->closing)
        return;
    c->closing = true;
    xend_event_sink_remove(&c->sink);
    if (why != NULL)
        xend_log_emit(NULL, XEND_LOG_INFO, "event port connection dropped", "peer=%s reason=\"%s\"",
                      c->peer, why);
    xend_event_unsubscribe_owner(c);
    bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    event_active(c->close_ev, 0, 0);
}

/* Queue the bytes of one message, unless the client has too many unread. */
static void conn_send_bytes(struct conn *c, const struct xend_buf *b)
{
    if (c->closing)
        return;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (evbuffer_get_length(out) > PORT_MAX_UNREAD) {
        conn_close(c, "client does not read");
        return;
    }
    bufferevent_write(c->bev, b->data, b->len);
}

/* A message as the port writes it: the original's pretty printer (one line when it fits
 * in 80 columns), then an empty line. */
static void message_text(const struct xend_sxp *msg, struct xend_buf *out)
{
    xend_sxp_pretty_buf(msg, out);
    xend_buf_puts(out, "\n\n");
}

/* Queue one message. */
static void conn_send(struct conn *c, const struct xend_sxp *msg)
{
    if (c->closing)
        return;
    struct xend_buf b = XEND_BUF_INIT;
    message_text(msg, &b);
    conn_send_bytes(c, &b);
    xend_buf_free(&b);
}

/* Reply (ok 'None') exactly as the original wrote it (our printer writes None bare). */
static void reply_none(struct conn *c)
{
    if (!c->closing)
        bufferevent_write(c->bev, "(ok 'None')\n\n", 13);
}

/* Reply (ok VALUE), value taken. */
static void reply_take(struct conn *c, struct xend_sxp *value)
{
    struct xend_sxp *msg = xend_sxp_list_of("ok", NULL);
    xend_sxp_append_take(msg, value);
    conn_send(c, msg);
    xend_sxp_free(msg);
}

/* (event NAME VALUE) as a message; an xend_event_format_fn (one form). */
static void event_text(int form, uint64_t seq, const char *name, const struct xend_sxp *value,
                       struct xend_buf *out)
{
    (void)form;
    (void)seq;
    struct xend_sxp *msg = xend_sxp_list_of("event", name, NULL);
    if (value != NULL)
        xend_sxp_append_take(msg, xend_sxp_copy(value));
    message_text(msg, out);
    xend_sxp_free(msg);
}

static void on_event(const char *name, const struct xend_sxp *value, void *arg)
{
    (void)name;
    (void)value;
    /* Formatted once for every connection (event.h). */
    conn_send_bytes(arg, xend_event_formatted(event_text, 0));
    xend_event_budget_check();
}

static size_t conn_backlog(struct xend_event_sink *s)
{
    return evbuffer_get_length(bufferevent_get_output(((struct conn *)s)->bev));
}

/* Over the budget: no more events; a last (event xend.event.dropped (reason "...")), and
 * the connection closes once that is written (write_cb), or after a grace period. */
static void conn_drop(struct xend_event_sink *s, const char *why)
{
    struct conn *c = (struct conn *)s;
    if (c->closing)
        return;
    xend_event_unsubscribe_owner(c);
    struct xend_sxp *msg = xend_sxp_list_of("event", "xend.event.dropped", NULL);
    xend_sxp_append_take(msg, xend_sxp_list_of("reason", why, NULL));
    struct xend_buf b = XEND_BUF_INIT;
    xend_sxp_print_buf(msg, &b);
    xend_sxp_free(msg);
    xend_buf_puts(&b, "\n\n");
    bufferevent_write(c->bev, b.data, b.len);
    xend_buf_free(&b);
    c->quitting = true;
    struct timeval grace = {PORT_DROP_GRACE_SECONDS, 0};
    bufferevent_set_timeouts(c->bev, NULL, &grace);
    bufferevent_disable(c->bev, EV_READ);
}

/* --- requests ----------------------------------------------------------------------- */

/* Each returns 0, or a negative code to drop the connection (a bad request). */
typedef int request_fn(struct conn *c, const struct xend_sxp *req);

static int op_help(struct conn *c, const struct xend_sxp *req);

static int op_info(struct conn *c, const struct xend_sxp *req)
{
    (void)req;
    struct xend_sxp *info = xend_sxp_list_of("info", NULL);
    xend_sxp_add_kv_int(info, "connections", c->port->n_conns);
    xend_sxp_add_kv_int(info, "subscriptions", (long long)xend_event_count());
    xend_sxp_add_kv(info, "trace", xend_trace_enabled() ? "on" : "off");
    reply_take(c, info);
    return 0;
}

static int op_subscribe(struct conn *c, const struct xend_sxp *req)
{
    size_t n = xend_sxp_length(req);
    for (size_t i = 1; i < n; i++)
        if (!xend_event_pattern_valid(xend_sxp_atom_text(xend_sxp_nth(req, i))))
            return -XEND_EINVAL;
    xend_event_unsubscribe_owner(c);
    for (size_t i = 1; i < n; i++) {
        int rc = xend_event_subscribe(c, xend_sxp_atom_text(xend_sxp_nth(req, i)), on_event, c);
        if (rc != 0 && rc != -XEND_EEXIST) /* a repeated pattern is one subscription */
            return rc;
    }
    reply_take(c, xend_sxp_list_of("ok", NULL));
    return 0;
}

static int op_inject(struct conn *c, const struct xend_sxp *req)
{
    const struct xend_sxp *ev = xend_sxp_nth(req, 1);
    const char *name = xend_sxp_name(ev);
    if (name == NULL || xend_sxp_length(req) != 2)
        return -XEND_EINVAL;
    char *text = xend_sxp_print(ev);
    size_t len = strlen(text);
    free(text);
    if (len > xend_event_limits()->inject_max)
        return -XEND_ELIMIT;
    /* The reply goes first, then the event reaches every subscriber, this one included. */
    reply_take(c, xend_sxp_list_of("ok", NULL));
    xend_event_emit(name, ev);
    return 0;
}

static int op_console_disconnect(struct conn *c, const struct xend_sxp *req)
{
    long long id;
    if (xend_sxp_length(req) != 2 || xend_sxp_child_int(req, "id", &id) != 0 || id < 0)
        return -XEND_EINVAL;
    reply_take(c, xend_sxp_list_of("ok", NULL));
    xend_event_emit("xend.console.disconnect.request", req);
    return 0;
}

static int op_trace(struct conn *c, const struct xend_sxp *req)
{
    const char *arg = xend_sxp_atom_text(xend_sxp_nth(req, 1));
    if (arg == NULL || xend_sxp_length(req) != 2)
        return -XEND_EINVAL;
    if (strcmp(arg, "on") == 0) {
        struct xend_err err = {0};
        if (xend_trace_on(&err) < 0) {
            /* A refusal the client can read, not a dropped connection: the request was
             * well formed, the host could not do it. */
            struct xend_sxp *e = xend_sxp_list_of("xend.err", xend_err_msg(&err), NULL);
            conn_send(c, e);
            xend_sxp_free(e);
            return 0;
        }
    } else if (strcmp(arg, "off") == 0) {
        xend_trace_off();
    } else {
        return -XEND_EINVAL;
    }
    reply_none(c);
    return 0;
}

static int op_quit(struct conn *c, const struct xend_sxp *req)
{
    (void)req;
    reply_none(c);
    /* No more requests or events: close once the reply is out. */
    xend_event_unsubscribe_owner(c);
    bufferevent_disable(c->bev, EV_READ);
    c->quitting = true;
    return 0;
}

static const struct {
    const char *name;
    request_fn *fn;
} requests[] = {
    /* sorted: (help) lists them in this order */
    {"console.disconnect", op_console_disconnect},
    {"help", op_help},
    {"info", op_info},
    {"quit", op_quit},
    {"sys.inject", op_inject},
    {"sys.subscribe", op_subscribe},
    {"trace", op_trace},
};

static int op_help(struct conn *c, const struct xend_sxp *req)
{
    (void)req;
    struct xend_sxp *names = xend_sxp_list();
    for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++)
        xend_sxp_append_take(names, xend_sxp_atom(requests[i].name));
    reply_take(c, names);
    return 0;
}

static int handle(struct conn *c, const struct xend_sxp *req)
{
    const char *name = xend_sxp_name(req);
    for (size_t i = 0; name != NULL && i < sizeof(requests) / sizeof(requests[0]); i++)
        if (strcmp(requests[i].name, name) == 0)
            return requests[i].fn(c, req);
    return -XEND_EINVAL;
}

/* --- the manual's plain commands ----------------------------------------------------- */

/* Write text as it is: plain commands answer people at a terminal, not programs. */
static void plain_send(struct conn *c, const char *text, size_t len)
{
    if (!c->closing)
        bufferevent_write(c->bev, text, len);
}

static void plain_help(struct conn *c)
{
    static const char text[] =
        "xend debug port. Commands, one per line:\n"
        "  help      this text\n"
        "  info      connections, the trace, device controllers and consoles\n"
        "  traceon   write every event and request to the trace file\n"
        "  traceoff  stop tracing\n"
        "  quit      close this connection\n"
        "Programs send SXP instead, each answered by (ok VALUE) and an empty line:\n"
        "  (help) (info) (trace on|off) (sys.subscribe PATTERN...) (sys.inject (NAME ...))\n"
        "  (console.disconnect (id N)) (quit)\n"
        "Every connection also receives (event NAME VALUE) for each event xend emits.\n";
    plain_send(c, text, sizeof(text) - 1);
}

static void plain_info(struct conn *c)
{
    struct xend_buf b = XEND_BUF_INIT;
    xend_buf_printf(&b, "debug port connections: %u\nevent subscriptions: %zu\n", c->port->n_conns,
                    xend_event_count());
    if (xend_trace_enabled())
        xend_buf_printf(&b, "trace: on, to %s\n", xend_trace_path());
    else
        xend_buf_puts(&b, "trace: off\n");
    if (c->port->info != NULL)
        c->port->info(&b);
    plain_send(c, b.data, b.len);
    xend_buf_free(&b);
}

/* One plain command line (its newline removed): answer it. Unknown words get a hint, not
 * a dropped connection: a person typed them. */
static void handle_plain(struct conn *c, char *line)
{
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
        line[--n] = '\0';
    while (*line == ' ' || *line == '\t')
        line++;
    xend_trace_write("debug", "peer=%s %s", c->peer, line);
    if (strcmp(line, "help") == 0) {
        plain_help(c);
    } else if (strcmp(line, "info") == 0) {
        plain_info(c);
    } else if (strcmp(line, "traceon") == 0) {
        struct xend_err err = {0};
        char msg[600];
        int len = xend_trace_on(&err) < 0
                      ? snprintf(msg, sizeof(msg), "trace not started: %s\n", xend_err_msg(&err))
                      : snprintf(msg, sizeof(msg), "trace on, to %s\n", xend_trace_path());
        plain_send(c, msg, (size_t)len < sizeof(msg) ? (size_t)len : sizeof(msg) - 1);
    } else if (strcmp(line, "traceoff") == 0) {
        xend_trace_off();
        plain_send(c, "trace off\n", 10);
    } else if (strcmp(line, "quit") == 0) {
        plain_send(c, "bye\n", 4);
        xend_event_unsubscribe_owner(c);
        bufferevent_disable(c->bev, EV_READ);
        c->quitting = true;
    } else if (line[0] != '\0') {
        char msg[160];
        int len = snprintf(msg, sizeof(msg), "unknown command '%.64s': try help\n", line);
        plain_send(c, msg, (size_t)len < sizeof(msg) ? (size_t)len : sizeof(msg) - 1);
    }
}

/*
 * Where the first request in data[0..len) ends: its length, 0 when it is not complete
 * yet, or -1 when it cannot be a request (it does not start with a list). Follows the SXP
 * reader's rules for strings, escapes and # comments, so a paren inside them is no paren.
 */
static long scan_request(const char *data, size_t len)
{
    size_t i = 0;
    int depth = 0;
    char quote = 0;
    for (; i < len; i++) {
        char ch = data[i];
        if (quote) {
            if (ch == '\\')
                i++;
            else if (ch == quote)
                quote = 0;
            continue;
        }
        if (ch == '#') {
            const char *nl = memchr(data + i, '\n', len - i);
            if (nl == NULL)
                return 0;
            i = (size_t)(nl - data);
            continue;
        }
        if (depth == 0) {
            if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
                continue;
            if (ch != '(')
                return -1;
        }
        if (ch == '(') {
            depth++;
        } else if (ch == ')') {
            if (--depth == 0)
                return (long)i + 1;
        } else if (ch == '"' || ch == '\'') {
            quote = ch;
        }
    }
    return 0;
}

/* Whether data (white space skipped) starts a plain command: a letter, as a person types. */
static bool plain_start(const char *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char ch = data[i];
        if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
            continue;
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
    }
    return false;
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    while (!c->closing && !c->quitting) {
        size_t avail = evbuffer_get_length(in);
        if (avail == 0)
            return;
        size_t look = avail < PORT_MAX_REQUEST ? avail : PORT_MAX_REQUEST;
        const char *data = (const char *)evbuffer_pullup(in, (ev_ssize_t)look);
        long end = scan_request(data, look);
        if (end == 0 && look == PORT_MAX_REQUEST) {
            conn_close(c, "request too long");
            return;
        }
        if (end == 0) {
            /* Only white space and comments so far: nothing to keep. */
            return;
        }
        if (end < 0 && plain_start(data, look)) {
            const char *nl = memchr(data, '\n', look < PORT_MAX_LINE ? look : PORT_MAX_LINE);
            if (nl == NULL) {
                if (look >= PORT_MAX_LINE)
                    conn_close(c, "command line too long");
                return; /* the rest of the line is still to come */
            }
            size_t n = (size_t)(nl - data);
            char *line = xend_xstrndup(data, n);
            evbuffer_drain(in, n + 1);
            handle_plain(c, line);
            free(line);
            continue;
        }
        if (end < 0) {
            conn_close(c, "not a request");
            return;
        }
        struct xend_sxp *req = NULL;
        char msg[128];
        int rc = xend_sxp_parse(data, (size_t)end, NULL, &req, msg, sizeof(msg));
        evbuffer_drain(in, (size_t)end);
        if (rc == 0 && xend_trace_enabled()) {
            char *text = xend_sxp_print(req);
            xend_trace_write("debug", "peer=%s %s", c->peer, text);
            free(text);
        }
        if (rc == 0)
            rc = handle(c, req);
        if (rc != 0) {
            char *text = req ? xend_sxp_print(req) : NULL;
            xend_log_emit(NULL, XEND_LOG_INFO, "event port bad request", "peer=%s request=%s",
                          c->peer, text ? text : msg);
            free(text);
            conn_close(c, NULL);
        }
        xend_sxp_free(req);
    }
}

static void write_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    struct conn *c = arg;
    if (c->quitting)
        conn_close(c, NULL);
}

static void status_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct conn *c = arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        conn_close(c, NULL);
    else if (what & BEV_EVENT_TIMEOUT)
        conn_close(c, "did not read its last line");
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    (void)l;
    struct xend_event_port *p = arg;
    char host[48] = "?";
    int port = 0;
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)sa;
        evutil_inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
        evutil_inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
    }
    (void)salen;
    if (p->n_conns >= xend_event_limits()->port_max_connections) {
        xend_log_emit(NULL, XEND_LOG_WARN, "event port connection refused",
                      "peer=%s:%d reason=\"%u connections open\"", host, port, p->n_conns);
        evutil_closesocket(fd);
        return;
    }
    struct xend_err err = {0};
    if (p->check != NULL && p->check(fd, &err) < 0) {
        /* The reason, best effort (a fresh socket has room for it), then the close. */
        struct xend_buf b = XEND_BUF_INIT;
        struct xend_sxp *e = xend_sxp_list_of("xend.err", xend_err_msg(&err), NULL);
        xend_sxp_print_buf(e, &b);
        xend_buf_puts(&b, "\n\n");
        if (send(fd, b.data, b.len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
            (void)0;
        xend_sxp_free(e);
        xend_buf_free(&b);
        xend_log_emit(NULL, XEND_LOG_INFO, "event port connection refused",
                      "peer=%s:%d reason=access", host, port);
        evutil_closesocket(fd);
        return;
    }
    struct bufferevent *bev = bufferevent_socket_new(p->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL) {
        evutil_closesocket(fd);
        return;
    }
    struct conn *c = xend_xcalloc(1, sizeof(*c));
    c->port = p;
    c->bev = bev;
    snprintf(c->peer, sizeof(c->peer), "%s:%d", host, port);
    c->close_ev = event_new(p->base, -1, 0, close_cb, c);
    if (c->close_ev == NULL)
        abort(); /* out of memory: the ABI's policy */
    c->next = p->conns;
    if (p->conns)
        p->conns->prev = c;
    p->conns = c;
    p->n_conns++;
    c->sink.backlog = conn_backlog;
    c->sink.drop = conn_drop;
    c->sink.kind = "port";
    xend_event_sink_add(&c->sink);
    bufferevent_setcb(bev, read_cb, write_cb, status_cb, c);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    xend_event_subscribe(c, "*", on_event, c);
}

/* --- the port ----------------------------------------------------------------------- */

void xend_event_port_set_check(struct xend_event_port *port, xend_event_port_check_fn *check)
{
    if (port != NULL)
        port->check = check;
}

void xend_event_port_set_info(struct xend_event_port *port, xend_event_port_info_fn *info)
{
    if (port != NULL)
        port->info = info;
}

struct xend_event_port *xend_event_port_start(struct event_base *base, const char *address,
                                              int port, struct xend_err *err)
{
    if (address == NULL || *address == '\0' || strcmp(address, "localhost") == 0)
        address = "127.0.0.1";
    if (port < 0 || port > 65535) {
        xend_err_set(err, XEND_EINVAL, "invalid event port: %d", port);
        return NULL;
    }
    char spec[128];
    snprintf(spec, sizeof(spec), strchr(address, ':') ? "[%s]:%d" : "%s:%d", address, port);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    int sslen;
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (evutil_inet_pton(AF_INET, address, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        sslen = sizeof(*in4);
    } else if (evutil_inet_pton(AF_INET6, address, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        sslen = sizeof(*in6);
    } else {
        xend_err_set(err, XEND_EINVAL, "invalid event port address (numeric expected): %s",
                     address);
        return NULL;
    }
    struct xend_event_port *p = xend_xcalloc(1, sizeof(*p));
    p->base = base;
    p->listener = evconnlistener_new_bind(
        base, accept_cb, p, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 16,
        (struct sockaddr *)&ss, sslen);
    if (p->listener == NULL) {
        xend_err_set(err, XEND_EIO, "cannot listen on %s: %s", spec, strerror(errno));
        free(p);
        return NULL;
    }
    struct sockaddr_storage bound;
    memset(&bound, 0, sizeof(bound));
    socklen_t blen = sizeof(bound);
    if (getsockname(evconnlistener_get_fd(p->listener), (struct sockaddr *)&bound, &blen) != 0) {
        xend_err_set(err, XEND_EIO, "cannot read the port of %s: %s", spec, strerror(errno));
        evconnlistener_free(p->listener);
        free(p);
        return NULL;
    }
    xend_listen_guard_attach(p->listener, "event-port", NULL);
    p->number = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                  : ((struct sockaddr_in *)&bound)->sin_port);
    xend_log_emit(NULL, XEND_LOG_INFO, "event port listening", "address=%s port=%d", address,
                  p->number);
    return p;
}

void xend_event_port_stop(struct xend_event_port *p)
{
    if (p == NULL)
        return;
    xend_listen_guard_detach(p->listener);
    evconnlistener_free(p->listener);
    while (p->conns != NULL)
        /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): conn_free unlinks the head it frees */
        conn_free(p->conns);
    free(p);
}

int xend_event_port_number(const struct xend_event_port *p)
{
    return p->number;
}

unsigned xend_event_port_connections(const struct xend_event_port *p)
{
    return p->n_conns;
}
