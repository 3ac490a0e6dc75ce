/*
 * The HTTP server of xend (libevhtp underneath): one router for the core and the plugins,
 * form decoding (query string, urlencoded, multipart/form-data), request limits, content
 * negotiation (SXP for programs, HTML for browsers, JSON for Accept: application/json) and
 * the error forms of docs/http.md, all here so that no handler repeats them.
 *
 * evhtp.h never leaves core/http (it redefines regex symbols, a libevhtp trap).
 * Threads: loop thread only.
 */
#ifndef XEND_CORE_HTTP_SERVER_H
#define XEND_CORE_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xend/http.h>

struct event_base;
struct xend_domain;
struct xend_plugin;

/* The HTTPS listener (docs/security.md, "Remote callers"); strings borrowed for start. */
struct xend_https_options {
    const char *address;    /* "" = all addresses */
    int port;               /* 0 = pick a free one (see xend_http_https_port) */
    const char *cert, *key; /* this host's certificate (chain) and key, PEM */
    const char *ca;         /* CA of client certificates; NULL or "" = pinned ones only */
};

struct xend_http_options {
    const char *address;   /* "" or NULL = all; default the caller's (127.0.0.1) */
    int port;              /* 0 = pick a free one (see xend_http_port) */
    const char *unix_path; /* also listen on this unix socket when non-NULL */
    size_t max_body;       /* bytes; larger bodies get 413 before they are read (0 = 1 MiB) */
    size_t max_uri;        /* bytes of request line; longer gets 414 (0 = 4000; more is
                            * clamped to 4000: libevhtp corrupts longer URIs, trap 10) */
    size_t max_header;     /* bytes of headers after the request line; more gets 431
                            * (0 = 8000; clamped to 8000, libevhtp drops longer ones) */
    struct xend_sxp_limits sxp_limits; /* for arg_sxp */
    /* Connection limits (docs/http.md "Connections"); 0 = the default in brackets. */
    unsigned head_timeout_ms; /* first byte of a head to its end; then 408 [10000] */
    unsigned body_timeout_ms; /* end of the head to the end of the body; then 408 [30000] */
    unsigned idle_timeout_ms; /* no request in progress; then closed [15000] */
    unsigned send_timeout_ms; /* a reply or stream makes no progress; then closed [30000] */
    unsigned max_connections; /* open at once [1024, at most half of RLIMIT_NOFILE] */
    /* POST ops whose handlers wait in the bulk lane (docs/http.md "Priority"), NULL-
     * terminated, borrowed while the server runs; NULL = none. */
    const char *const *bulk_ops;
    /* The HTTPS listener; NULL = none. Who it admits is remote.h's configuration. */
    const struct xend_https_options *https;
};

/* Start listening; 0 or -XEND_EIO with err ("cannot listen on 127.0.0.1:8000: ..."). */
int xend_http_start(struct event_base *base, const struct xend_http_options *opts,
                    struct xend_err *err);
/* Close listeners and every open connection; frees everything. Routes stay registered.
 * Deferred requests become tombstones that their complete() frees. */
void xend_http_stop(void);
/* The TCP port actually bound (after start). */
int xend_http_port(void);
/* The HTTPS port actually bound; 0 without one. */
int xend_http_https_port(void);

/* The host->http table for plugins. */
const struct xend_host_http *xend_http_host_table(void);

/* Register a route for `owner` (NULL = the core itself). Same contract as route_add. */
int xend_http_route_add(struct xend_plugin *owner, const struct xend_route *route);
/* Drop every route `owner` registered (a plugin whose init failed, or at stop). */
/* Remove one route of owner; -XEND_ENOENT when it is not there. */
int xend_http_route_remove(struct xend_plugin *owner, const struct xend_route *route);
void xend_http_routes_remove_owner(struct xend_plugin *owner);
/* Drop every route (at exit). */
void xend_http_routes_clear(void);

/*
 * How {domain} in a path becomes a domain: name first, then id; NULL = unknown (404).
 * `incoming`: the route takes a domain still coming in too (XEND_ROUTE_CORE_INCOMING).
 */
typedef struct xend_domain *xend_http_domain_resolver_fn(const char *name_or_id, bool incoming);
/*
 * A route flag of the core's own routes only (route_add refuses it from a plugin): its
 * {domain} is also found while it is still being made (a restore under way), which only a
 * cancel may act on.
 */
#define XEND_ROUTE_CORE_INCOMING (1u << 31)
void xend_http_set_domain_resolver(xend_http_domain_resolver_fn *fn);

/* Register the core's own routes (GET /xend). Call once, before or after start. */
int xend_http_register_core_routes(void);

/*
 * Streaming replies (chunked on HTTP/1.1, close-delimited on HTTP/1.0), for long-lived
 * GETs such as /xend/event?follow=1. stream_begin replaces the handler's reply and implies
 * defer(): the handler returns 0 and keeps `req` (borrowed until stream_end). stream_write
 * copies data and returns 0, or -XEND_EIO once the client has gone. When the client goes
 * away the close callback runs once (on the loop); the streamer must still call
 * stream_end(req) exactly once, which releases the request.
 */
typedef void xend_http_stream_close_fn(struct xend_request *req, void *arg);
int xend_http_stream_begin(struct xend_request *req, const char *content_type);
int xend_http_stream_write(struct xend_request *req, const char *data, size_t len);
void xend_http_stream_end(struct xend_request *req);
/* Bytes of the stream written and not yet taken by the client (0 once it has gone). */
size_t xend_http_stream_backlog(struct xend_request *req);
void xend_http_stream_on_close(struct xend_request *req, xend_http_stream_close_fn *fn, void *arg);

/*
 * Set the reply to an SXP value already printed, with a status (0 = 200); the text is taken
 * from `text` (left empty). Programs get the text as it is; HTML and JSON clients get the
 * value parsed and rendered as reply_take's would be. For replies that are printed straight
 * from the core's records (domain infos), so that the common case builds no tree.
 */
struct xend_buf;
void xend_http_reply_sxp_text(struct xend_request *req, int status, struct xend_buf *text);
/* The same with the text in pieces (gather.h), taken: written without being copied into
 * one buffer first. Its borrowed bytes must stay as they are until the handler returns
 * (the reply goes out before that): only a handler that replies at once may use it. */
struct xend_gather;
void xend_http_reply_sxp_gather(struct xend_request *req, int status, struct xend_gather *g);

/* The id of a request (increasing from 1), for log lines of handlers. */
uint64_t xend_http_request_id(const struct xend_request *req);
/* Whether a deferred request's client has gone: its reply would reach no one. */
bool xend_http_request_gone(const struct xend_request *req);
/* How many requests have started so far (the last id given). */
uint64_t xend_http_requests_started(void);
/* How many HTTP connections have closed so far. */
uint64_t xend_http_connections_closed(void);
/* Free what the server keeps for the next requests (pooled request blocks): xend is quiet,
 * and kept blocks pin heap pages a trim would give back. Loop thread. */
void xend_http_trim(void);
/* HTTP connections open now. */
unsigned xend_http_connections_open(void);

/*
 * Map an XEND_E code to the HTTP status used for an (xend.err ...) reply. Operation
 * errors are 200 with the (xend.err "msg") body, as the xm client expects
 * (docs/compat.md); a request limit is 413/414, a bad request 400.
 */
int xend_http_status_for(int code);

/* ---- for pages written outside core/http (core/ui) ---- */

struct xend_buf;

/* Append s[0..len) with & < > " ' escaped. */
void xend_http_html_escape(const char *s, size_t len, struct xend_buf *out);
/* Append s percent-encoded for a URL path segment or query value (all but A-Z a-z 0-9 - _ . ~). */
void xend_http_url_encode(const char *s, struct xend_buf *out);
/* Whether s may be a redirect target: a path of this server, "/" or under "/ui/" or
 * "/xend/" ("/ui" and "/xend" too), without "//", a backslash or a control byte, and
 * shorter than 1 KiB. Never a scheme or another host. */
bool xend_http_local_path(const char *s);
/* The form field naming the page a browser form's result goes back to (validated). */
#define XEND_HTTP_BACK_FIELD "xend_back"
/* The hidden fields every state-changing form of xend carries: the CSRF token (access.c)
 * and, when back is non-NULL, XEND_HTTP_BACK_FIELD. Escaped. */
void xend_http_form_hidden(const char *back, struct xend_buf *out);

/* A route's doc, "TEXT params: NAME[:KIND] ...": fn(word, len, arg) for each word after
 * "params:" (a form field). Returns the length of TEXT, the part before "params:". */
typedef void xend_http_doc_param_fn(const char *word, size_t len, void *arg);
size_t xend_http_doc_params(const char *doc, xend_http_doc_param_fn *fn, void *arg);

/* Call fn for every POST route with an op that serves path ("/xend/domain/x"), in
 * registration order, with its doc and role: the forms a page offers. */
typedef void xend_http_route_visit_fn(const char *op, const char *doc, int role, void *arg);
void xend_http_routes_posts_of(const char *path, xend_http_route_visit_fn *fn, void *arg);

/*
 * Run GET path?query (query may be NULL) through the router synchronously for the caller
 * of `outer` (its identity and role, so a page shows what that caller could read), as an
 * SXP client. 0 with the reply's value in *value (owned; NULL when the reply was not SXP)
 * and its body in text (when non-NULL); or the reply's error as a negative code with the
 * message in err (the status in *status when non-NULL). A route that defers cannot be
 * read this way: -XEND_EINVAL.
 */
struct xend_sxp;
int xend_http_get(struct xend_request *outer, const char *path, const char *query,
                  struct xend_sxp **value, struct xend_buf *text, int *status,
                  struct xend_err *err);

/* JSON for the streams that write their own lines (the event follow stream). */
#define XEND_HTTP_HAVE_JSON 1
bool xend_http_wants_json(struct xend_request *req);
/* Whether the request's Accept header names media type `type` (text/event-stream). */
bool xend_http_accepts(struct xend_request *req, const char *type);
/* The Last-Event-ID header (an EventSource resuming), NULL when absent. */
const char *xend_http_last_event_id(struct xend_request *req);
/* Append the JSON mapping of node (docs/http.md) to out. */
void xend_http_json(const struct xend_sxp *node, struct xend_buf *out);

#endif
