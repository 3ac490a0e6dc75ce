/*
 * Internals of core/http shared between its files: the request object, the route table,
 * form decoding, negotiation and rendering. Nothing outside core/http includes this.
 *
 * The request logic (decode, route, dispatch, render) never touches libevhtp: it talks to
 * the wire through `struct xend_http_transport`, so the unit tests drive it without a
 * socket. Only server.c includes evhtp.h (a libevhtp trap).
 *
 * Threads: loop thread only.
 */
#ifndef XEND_CORE_HTTP_INTERNAL_H
#define XEND_CORE_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "buf.h"
#include "http/access_control.h"
#include "http/server.h"
#include "http/remote.h"

#define XEND_REQUEST_MAGIC 0x52514e44u /* "RQND" */

/* ---- arguments (form.c) ---- */

struct xend_http_arg {
    char *name;  /* owned, decoded */
    char *value; /* owned, decoded, NUL-terminated (may hold NULs before len) */
    size_t len;
    bool from_url; /* query string, as opposed to the body */
    bool is_file;  /* a multipart part with a filename */
};

struct xend_http_args {
    struct xend_http_arg *v; /* owned */
    size_t n, cap;
};

void xend_http_args_free(struct xend_http_args *a);
/* Append a copy of name and value[0..len). */
void xend_http_args_add(struct xend_http_args *a, const char *name, const char *value, size_t len,
                        bool from_url, bool is_file);
/* The first argument called name, or NULL; *count (if non-NULL) gets how many there are. */
const struct xend_http_arg *xend_http_args_find(const struct xend_http_args *a, const char *name,
                                                size_t *count);

/*
 * Decode %XX escapes (and '+' as a space when plus_is_space) of text[0..len) into out.
 * Returns 0, or -XEND_EINVAL with err set on a malformed escape (a '%' not followed by
 * two hex digits).
 */
int xend_http_unescape(const char *text, size_t len, bool plus_is_space, struct xend_buf *out,
                       struct xend_err *err);
/* Parse an application/x-www-form-urlencoded string (pairs split on '&' and ';'; a name
 * without '=' gets the empty value) into args. 0 or -XEND_EINVAL with err set. */
int xend_http_parse_urlencoded(const char *text, size_t len, bool from_url,
                               struct xend_http_args *args, struct xend_err *err);
/* The boundary parameter of a multipart/form-data content type, copied into out (at most
 * 70 bytes, RFC 2046); 0, or -XEND_EINVAL with err set when absent or malformed. */
int xend_http_multipart_boundary(const char *content_type, char *out, size_t out_len,
                                 struct xend_err *err);
/*
 * Split a multipart/form-data body (RFC 7578) into args. Accepts the Xen 2.0 client's
 * file parts that run straight into the next "--boundary" without a line break, bare LF
 * line ends, and a body that ends without the closing "--boundary--". At most max_parts
 * parts. 0, or -XEND_EINVAL / -XEND_ELIMIT with err set.
 */
int xend_http_parse_multipart(const char *body, size_t len, const char *boundary, size_t max_parts,
                              struct xend_http_args *args, struct xend_err *err);

/* ---- framing (framing.c) ---- */

/*
 * Check a whole request head (request line, headers, the empty line; CRLF or LF line ends)
 * against RFC 9112's framing rules libevhtp does not enforce. Returns 0, or the status to
 * answer with a message for the reason phrase in msg: 400 for a malformed request line or
 * header line, a control byte (NUL included) in the request line or a header value,
 * Transfer-Encoding with Content-Length, conflicting or malformed Content-Length, a folded
 * header line; 501 for a transfer coding other than chunked; 505 for a version other than
 * HTTP/1.0 and HTTP/1.1.
 */
int xend_http_head_check(const char *head, size_t len, char *msg, size_t msg_len);

/* ---- negotiation and rendering (render.c) ---- */

enum xend_http_format {
    XEND_HTTP_FMT_SXP = 0,
    XEND_HTTP_FMT_JSON,
    XEND_HTTP_FMT_HTML,
};

/* The reply format for these request headers (either may be NULL = absent). */
enum xend_http_format xend_http_negotiate(const char *user_agent, const char *accept);
/* Whether a comma-separated Accept value names media type `type` (parameters ignored). */
bool xend_http_accept_has(const char *accept, const char *type);
/* Append the JSON form of node (docs/http.md gives the mapping). */
void xend_http_json(const struct xend_sxp *node, struct xend_buf *out);
/* Append s as a JSON string literal. */
void xend_http_json_string(const char *s, struct xend_buf *out);
/* The standard reason phrase of a status ("OK", "Created" ...). */
const char *xend_http_reason(int status);

/* ---- routes (router.c) ---- */

struct xend_http_route; /* a registered route, owned by the table */

/* What the router decided for a method, a path and an op (NULL = none given). */
struct xend_http_match {
    int status;                          /* 0 when a route was found, else the HTTP error */
    char msg[XEND_ERR_MSG_MAX];          /* the error message when status != 0 */
    uint32_t allow;                      /* 405: the methods that serve the op (Allow) */
    const struct xend_http_route *route; /* the route to run (status 0); valid only until
                                          * the handler returns */
    /* Captures of the matched pattern: the names the router's, kept for the process's life
     * (a deferred request may outlive its route), the values borrowed from the segments
     * given to xend_http_route_match (the request's own). */
    size_t ncap;
    const char *cap_name[8];
    const char *cap_value[8];
};

/*
 * Match a request against the table. segs are the decoded path segments (one trailing
 * empty segment already dropped), op the op argument (NULL when absent), op_count how
 * many op values came. Domain resolution happens here too (404 invalid domain:NAME), its
 * result in *domain. Release captures with xend_http_match_clear.
 */
void xend_http_route_match(uint32_t method, char *const *segs, size_t nseg, const char *op,
                           size_t op_count, struct xend_http_match *m, struct xend_domain **domain);
void xend_http_match_clear(struct xend_http_match *m);
int xend_http_route_remove(struct xend_plugin *owner, const struct xend_route *route);
xend_route_fn *xend_http_route_fn(const struct xend_http_route *r, void **arg);
uint32_t xend_http_route_flags(const struct xend_http_route *r);
/* The least role (enum xend_role) that may call the route. */
int xend_http_route_role(const struct xend_http_route *r);
/* "GET", "POST" or "GET,POST" (an Allow header's value). */
const char *xend_http_method_names(uint32_t methods);
const char *xend_http_route_op(const struct xend_http_route *r);
/* Call fn for every POST route with an op whose pattern matches the path segments (for
 * the HTML forms), in registration order, with the route's role. */
void xend_http_routes_posts_for(char *const *segs, size_t nseg, xend_http_route_visit_fn *fn,
                                void *arg);

/* ---- the request ---- */

struct xend_http_header {
    char *name, *value; /* owned */
};

/* The finished reply as the transport writes it. */
struct xend_http_response {
    int status;
    const char *reason;       /* borrowed, no CR/LF */
    const char *content_type; /* borrowed */
    const char *body;         /* borrowed, unless body_owned */
    size_t body_len;
    /* When non-NULL, `body` itself (libc-allocated), handed over: the transport frees it,
     * so that a large reply (a list of a thousand infos) is written without a copy. */
    char *body_owned;
    /* When non-NULL (and body NULL), the body is these pieces, borrowed until send returns:
     * only for a transport with `pieces` set. */
    const struct iovec *iov;
    size_t niov;
    const struct xend_http_header *headers; /* extra headers, borrowed */
    size_t nheaders;
};

/* How a request talks to its connection; the server provides one, the tests another. */
struct xend_http_transport {
    /* Write a whole reply; frees resp->body_owned. */
    void (*send)(struct xend_request *req, const struct xend_http_response *resp);
    /* Chunked streaming: the head, one chunk, the end. write returns 0 or -XEND_EIO. */
    void (*stream_head)(struct xend_request *req, int status, const char *content_type);
    int (*stream_chunk)(struct xend_request *req, const char *data, size_t len);
    void (*stream_end)(struct xend_request *req);
    /* Bytes written and not yet taken by the client (NULL: the transport buffers nothing). */
    size_t (*backlog)(struct xend_request *req);
    /* Run this bulk request later (xend_http_request_resume), after the requests that are
     * ready now; NULL: bulk requests run at once like any other. */
    void (*queue)(struct xend_request *req);
    /* send takes a body in pieces (resp->iov): it writes them or copies them at once. */
    bool pieces;
};

/* What the server knows of a request when its headers have arrived. Strings borrowed. */
struct xend_http_request_init {
    uint32_t method; /* XEND_HTTP_GET / POST, 0 for any other method */
    const char *method_name;
    const char *path;  /* raw path of the request line, without the query */
    const char *query; /* raw query string, NULL when the URL has none */
    const char *user_agent, *accept, *content_type;
    const char *peer;
    const struct xend_http_transport *transport;
    void *transport_arg;
    /* For the access check (access.h): the browser's headers (NULL when absent), the
     * connection's socket and its identity, looked up at its first request (borrowed:
     * used only while the request runs; NULL = no identity, refused). */
    const char *host, *origin, *referer, *fetch_site;
    const char *last_event_id; /* Last-Event-ID, for an EventSource resuming */
    bool has_cookie;
    int fd;
    struct xend_http_who *conn_who;
    /* The HTTPS port (remote.h): the request came over TLS, its Authorization and Cookie
     * headers (NULL when absent; secrets: never logged), the connection's client
     * certificate (borrowed like conn_who; NULL without TLS). */
    bool tls;
    const char *authorization, *cookie;
    const struct xend_http_cert *cert;
};

struct xend_request {
    uint32_t magic;
    uint64_t id;
    uint64_t start_ns;
    const struct xend_http_transport *transport;
    void *transport_arg; /* the server's connection state; NULL once the client is gone */
    bool gone;           /* the client disconnected; the object waits for complete/stream_end */
    bool deferred;       /* the handler called defer() and has not completed */
    bool replied;        /* a reply (or a stream head) went out */
    bool streaming;
    bool finished; /* nothing more will be written */
    bool queued;   /* routed, waiting in the bulk lane for its handler to run */

    uint32_t method;
    bool pooled; /* its block goes back to the request pool (request.c) */
    /* in the request's own allocation, after the struct */
    char *method_name, *path, *query, *user_agent, *accept, *content_type, *peer;
    char *host, *origin, *referer, *fetch_site; /* NULL when absent */
    char *last_event_id;                        /* NULL when absent */
    bool has_cookie;
    bool tls;                     /* came to the HTTPS port */
    char *authorization, *cookie; /* NULL when absent; secrets, never logged */
    enum xend_http_format format;
    const char *body; /* borrowed from the server while the handler runs */
    size_t body_len;

    struct xend_http_args args;
    char *op; /* borrowed from args */
    struct xend_http_match match;
    struct xend_domain *domain;
    char **segs; /* owned: one block with the decoded segments after the pointers */
    size_t nseg;

    struct xend_err err;
    int status;             /* of the reply set by the handler (0 = 200) */
    struct xend_sxp *value; /* owned */
    char *raw_type;         /* owned; non-NULL for reply_raw */
    char *raw_body;         /* owned; reply_raw's body, or printed SXP when raw_sxp */
    size_t raw_len;
    bool raw_sxp; /* raw_body is an SXP value already printed */
    /* Or printed SXP in pieces (xend_http_reply_sxp_gather), owned; its borrowed bytes
     * stay valid because the handler that set it replies before it returns. */
    struct xend_gather *gather;
    struct xend_http_header *headers;
    size_t nheaders;
    int sent_status; /* for the log line */
    bool failed;     /* the reply is an error (an operation error is 200 with xend.err) */

    struct xend_sxp **parsed; /* arg_sxp results, owned */
    size_t nparsed;

    xend_http_stream_close_fn *on_close;
    void *on_close_arg;

    int fd;                            /* the connection's, until the check */
    struct xend_http_who *conn_who;    /* borrowed from the connection until the check */
    const struct xend_http_cert *cert; /* likewise; NULL without TLS */
    struct xend_http_who who;          /* the caller, copied by the access check */
    bool audit;                        /* state-changing: an audit line when answered */
};

/* Settings the request logic reads (set by xend_http_start, defaults otherwise). */
struct xend_sxp_limits *xend_http_sxp_limits(void);

struct xend_request *xend_http_request_new(const struct xend_http_request_init *init);
/* Decode, route and run the handler with the body (borrowed for the call). Unless the
 * handler deferred, the reply has been handed to the transport when this returns. */
void xend_http_request_run(struct xend_request *req, const char *body, size_t len);
/* Run the handler of a request the transport queued (a no-op for any other). */
void xend_http_request_resume(struct xend_request *req);
/* The POST ops whose requests go to the transport's queue (the bulk lane): NULL-terminated,
 * borrowed until changed; NULL = none. */
void xend_http_set_bulk_ops(const char *const *ops);
/* Answer with an error before or instead of running (limits found by the server). */
void xend_http_request_fail(struct xend_request *req, int status, const char *msg);
/* The server lost the client: tombstone a deferred request (tells the streamer), free
 * one that is done. */
void xend_http_request_detach(struct xend_request *req);
void xend_http_request_free(struct xend_request *req);
/* Free the blocks kept for reuse (at stop). */
void xend_http_request_pool_free(void);

/* A browser's error page (html.c): the message, the status, a way back (the form's
 * validated back path, else the overview). */
void xend_http_html_error_page(const struct xend_request *req, int status, const char *msg,
                               struct xend_buf *out);
/*
 * Post/redirect/get (html.c): true when req is a browser submitting one of xend's forms (a
 * POST carrying the form token in its body) whose op succeeded; *location then gets where
 * to send it with 303: the form's back path, else the handler's Location, else the path
 * posted to; each only when xend_http_local_path accepts it, with flash=MESSAGE added.
 */
bool xend_http_html_see_other(const struct xend_request *req, struct xend_buf *location);

/* Render the HTML page for a successful SXP value (html.c). */
void xend_http_html_page(const struct xend_request *req, const struct xend_sxp *value,
                         struct xend_buf *out);

#endif
