/*
 * HTTP routes: how a plugin serves part of the /xend tree.
 *
 * The core owns the server, the router, form decoding (query string, urlencoded and
 * multipart bodies), request limits, content negotiation (SXP for programs, HTML for
 * browsers, JSON for Accept: application/json) and the error forms. A handler reads typed
 * arguments and returns an SXP value; it never formats HTTP itself.
 *
 * Dispatch (docs/http.md): a request that carries `op` goes to the route registered for its
 * method, path and op; an op nobody registered on a path that exists is 501
 * "Operation not implemented: OP"; a POST without op is 406. A GET without op goes to the
 * route registered with op NULL.
 *
 * Threads: loop thread only. Handlers must not block: slow work defers the request.
 */
#ifndef XEND_HTTP_H
#define XEND_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xend/abi.h>
#include <xend/sxp.h>

#ifdef __cplusplus
extern "C" {
#endif

struct xend_plugin;
struct xend_request; /* opaque; borrowed by handlers until the reply is sent */
struct xend_domain;

enum xend_http_method {
    XEND_HTTP_GET = 1u << 0,
    XEND_HTTP_POST = 1u << 1,
};

/*
 * A handler: fill the reply with http->reply_take() (or reply_text) and return 0, or
 * return a negative XEND_E code after setting http->err(req). A handler that called
 * http->defer(req) returns 0 and later calls http->complete(req, rc).
 */
typedef int xend_route_fn(struct xend_request *req, void *arg);

enum xend_route_flag {
    /* The path holds {domain}: the core resolves it (name, then id) or answers 404 itself. */
    XEND_ROUTE_DOMAIN = 1u << 0,
};

/*
 * Roles (1.5, XEND_HAVE_ROUTE_ROLES), as XAPI's but kept to three, from the most to the
 * least allowed: a caller of role R may call a route that needs R or any role below it
 * (docs/security.md has the table). ADMIN is 0 so that a route that sets no role, or a
 * route of a plugin built before 1.5 (whose struct is shorter), needs admin.
 */
enum xend_role {
    XEND_ROLE_ADMIN = 0,    /* everything */
    XEND_ROLE_OPERATOR = 1, /* domain lifecycle, consoles, save/restore inside save-dir */
    XEND_ROLE_VIEWER = 2,   /* reads without side effects, event following */
};
#define XEND_ROLE_COUNT 3

/* "admin", "operator", "viewer"; "?" for anything else. */
static inline const char *xend_role_name(int role)
{
    static const char *const names[XEND_ROLE_COUNT] = {"admin", "operator", "viewer"};
    return role >= 0 && role < XEND_ROLE_COUNT ? names[role] : "?";
}

struct xend_route {
    size_t size;      /* XEND_ROUTE_INIT */
    uint32_t methods; /* enum xend_http_method bits */
    const char *path; /* "/xend/console/{id}"; {name} captures one path segment */
    const char *op;   /* the op this serves, or NULL for a request without op */
    xend_route_fn *fn;
    void *arg;
    uint32_t flags;  /* enum xend_route_flag bits; unknown bits are refused */
    const char *doc; /* one line for the HTML index, may be NULL */
    /* 1.5: the least role that may call it (enum xend_role); a caller below gets 403
     * before the handler runs. Unset (0) = XEND_ROLE_ADMIN. A GET route of role VIEWER
     * must change nothing. */
    uint32_t role;
};

#define XEND_ROUTE_INIT .size = sizeof(struct xend_route)

struct xend_host_http {
    size_t size;

    /* Register a route (copied). Returns 0, -XEND_EEXIST (same method+path+op, with both
     * plugins named in the log), -XEND_EINVAL (bad pattern or flags). */
    int (*route_add)(struct xend_plugin *self, const struct xend_route *route);
    int (*route_remove)(struct xend_plugin *self, const struct xend_route *route);

    /* The request's error object, to fill before returning a negative code. Borrowed. */
    struct xend_err *(*err)(struct xend_request *req);

    /* Arguments: from the query string, an urlencoded or a multipart body. Borrowed. */
    const char *(*arg_str)(struct xend_request *req, const char *name); /* NULL if absent */
    /* Required integer argument: 0, or -XEND_EINVAL with err set ("Missing parameter: cpu",
     * "invalid literal for int(): 'abc'"). */
    int (*arg_int)(struct xend_request *req, const char *name, long long *out);
    /* Optional integer: *out = dflt when absent. */
    int (*arg_int_opt)(struct xend_request *req, const char *name, long long dflt, long long *out);
    /* Argument parsed as one SXP value (string or uploaded file); borrowed, freed with the
     * request. -XEND_EINVAL with err set when missing or malformed. */
    int (*arg_sxp)(struct xend_request *req, const char *name, const struct xend_sxp **out);
    /* A {name} capture of the path, borrowed. */
    const char *(*capture)(struct xend_request *req, const char *name);
    /* The domain of a XEND_ROUTE_DOMAIN route, borrowed for the request. */
    struct xend_domain *(*domain)(struct xend_request *req);
    /* True when the client wants HTML (a browser). */
    bool (*wants_html)(struct xend_request *req);
    /* The peer address as text, borrowed. */
    const char *(*peer)(struct xend_request *req);

    /* Set the reply: an SXP value (taken) with a status (0 = 200). */
    void (*reply_take)(struct xend_request *req, int status, struct xend_sxp *value);
    /* Set a raw reply with its own content type (text/plain for dmesg and the log). */
    void (*reply_raw)(struct xend_request *req, int status, const char *content_type,
                      const char *body, size_t len);
    /* Add a reply header (Location); copied. */
    void (*reply_header)(struct xend_request *req, const char *name, const char *value);

    /* Keep the request open after the handler returns; reply later with complete(). */
    void (*defer)(struct xend_request *req);
    /* Send a deferred request's reply: rc 0 sends what reply_take set, rc < 0 the error. */
    void (*complete)(struct xend_request *req, int rc);

    /*
     * 1.5 (check XEND_HAS_MEMBER(http, caller_role)): the role (enum xend_role) of req's
     * caller, for limits finer than the route's role (a device script, a host path). With
     * req NULL: of the caller on whose behalf xend acts right now, for code that has no
     * request at hand (a device class's parse during a create, a restore); XEND_ROLE_ADMIN
     * when xend acts on its own (start, a domain's restart, a migration from a trusted
     * peer). A 1.4 core has no roles: treat every caller as an admin there.
     */
    int (*caller_role)(struct xend_request *req);

    /*
     * 1.6 (XEND_HAVE_HTTP_STREAM; check XEND_HAS_MEMBER(http, stream_begin)): a streaming
     * reply (chunked on HTTP/1.1, close-delimited on HTTP/1.0) for long-lived GETs such as
     * Server-Sent Events. The same functions serve the core's /xend/event follow stream.
     *
     * stream_begin sends the 200 head with content_type (borrowed) and implies defer(): the
     * handler returns 0 and keeps req, borrowed until it calls stream_end(req), exactly
     * once, whatever happens (also after the client went). 0, or -XEND_EIO when the client
     * has gone already (stream_end is still owed), -XEND_EINVAL when req already replied.
     * A handler that returns a negative code after stream_begin gets its stream ended.
     *
     * stream_write copies data (the caller keeps it) and returns 0, or -XEND_EIO once the
     * client has gone; it never blocks: what the socket does not take waits in the core.
     * Backpressure is the streamer's job: stream_backlog says how many bytes wait unread
     * (0 once the client has gone); a streamer that can produce without bound must stop or
     * drop its follower past a budget of its own. A stream that makes no progress for
     * http-send-timeout is closed by the core as any reply is.
     *
     * stream_on_close(req, fn, arg): fn(req, arg) runs once, on the loop, when the client
     * goes away (or xend stops); it must not free req (call stream_end, there or later).
     * Threads: loop thread only, like every member.
     */
    int (*stream_begin)(struct xend_request *req, const char *content_type);
    int (*stream_write)(struct xend_request *req, const char *data, size_t len);
    void (*stream_end)(struct xend_request *req);
    size_t (*stream_backlog)(struct xend_request *req);
    void (*stream_on_close)(struct xend_request *req,
                            void (*fn)(struct xend_request *req, void *arg), void *arg);
    /*
     * 1.6: the form field (*field, borrowed for the process) and the token (returned,
     * borrowed for the process) that a browser's state-changing request must carry in its
     * body (docs/security.md, CSRF): a page of a plugin that POSTs with fetch() puts both
     * into its body. The token is no secret from whoever may read the page.
     */
    const char *(*form_token)(struct xend_request *req, const char **field);
};

#ifdef __cplusplus
}
#endif
#endif
