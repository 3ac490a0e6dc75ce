/*
 * Who may talk to xend (docs/security.md): every request passes xend_http_access_check
 * once, before routing, and every state-changing one leaves an audit line when answered.
 *
 *  - the caller's identity, looked up once per connection (peer.h), and its role (role.h):
 *    root and members of the admin group are admins, members of the operator and viewer
 *    groups operators and viewers; other local users and (unless allowed) callers on other
 *    hosts get 403 with a message that says who they are and how to get access;
 *  - after routing, the route's role: a caller below it gets 403 (xend_http_access_route_check);
 *  - the Host header must be a name xend answers to (421 otherwise: DNS rebinding);
 *  - callers on the HTTPS port are judged by remote.h instead (certificate, token or
 *    session), and a bearer token on the plain port is refused;
 *  - a state-changing request (anything but GET/HEAD, or a GET of an op that is also a POST
 *    op, which 2.0 accepted) whose Origin, else Referer, is not xend's own is refused; one
 *    from a browser (Origin, Referer, Cookie or Sec-Fetch-Site present) must also carry the
 *    process's CSRF token in its body, which the HTML forms embed. Programs (the 2.0 xm,
 *    curl) send none of those headers and need no token.
 *
 * The console plugin asks the same identity question through host->access.
 * Threads: loop thread only.
 */
#ifndef XEND_CORE_HTTP_ACCESS_CONTROL_H
#define XEND_CORE_HTTP_ACCESS_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

#include <xend/access.h>

#include "http/peer.h"

struct xend_request;

/* The form field that carries the CSRF token. */
#define XEND_HTTP_CSRF_FIELD "xend_csrf"

struct xend_http_access_options {
    const char *admin_group;    /* admin-group: members are admins; NULL or "" = none */
    const char *operator_group; /* operator-group: members are operators; NULL or "" = none */
    const char *viewer_group;   /* viewer-group: members are viewers; NULL or "" = none */
    bool allow_remote_plain;    /* xend-allow-remote-plain: admit peers on other hosts */
    const char *listen_address; /* xend-address, a Host name xend answers to (may be "") */
    const char *const *names;   /* xend-http-names: more Host names; copied */
    size_t n_names;
};

/* Set the policy, replacing the previous one. 0, or -XEND_EINVAL with err set (a group
 * that does not exist). Unconfigured: root only, no remote callers, no extra names. */
int xend_http_access_configure(const struct xend_http_access_options *o, struct xend_err *err);
/* One more Host name xend answers to (the names in the HTTPS port's certificate); copied,
 * until the next configure or reset. */
void xend_http_access_add_name(const char *name);
/* Forget the policy (back to unconfigured) and free what configure copied. */
void xend_http_access_reset(void);

/* Give xend's unix socket its owner and mode: xend's user, the admin group (else xend's
 * group), 0660, so that the file system admits the same callers as the check does. 0 or
 * -XEND_EIO with err set. */
int xend_http_access_own_socket(const char *path, struct xend_err *err);

/* What a connection's peer is and whether it is admitted; looked up at its first request. */
enum xend_http_verdict {
    XEND_HTTP_UNJUDGED = 0,
    XEND_HTTP_ADMITTED,    /* with a role (who->role) */
    XEND_HTTP_NOT_ADMIN,   /* a local user that is neither root nor in a role's group */
    XEND_HTTP_NO_IDENTITY, /* local, but its uid could not be found */
    XEND_HTTP_REMOTE,      /* on another host, and plain remote access is not allowed */
};

/*
 * A connection's caller. Whoever admits it sets verdict ADMITTED and role; the route check
 * reads only role (so a caller admitted by other means than the groups, a TLS client,
 * is judged by routes the same way).
 */
struct xend_http_who {
    struct xend_peer peer;
    uint8_t verdict; /* enum xend_http_verdict */
    uint8_t role;    /* enum xend_role; meaningful when verdict is ADMITTED */
    char by[96];     /* how a caller on the HTTPS port proved who it is ("token:ci",
                      * "cert:CN=alice,fp=...", "session:ci"), for the audit line; "" for
                      * local callers */
};

/*
 * Identify the peer of fd and judge it: 0 when it is admitted with at least role `need`
 * (enum xend_role), else -XEND_EPERM with the refusal's message in err. For the console
 * ports (need operator) and the event port (need admin) as well as HTTP (need viewer: the
 * routes judge the rest).
 */
int xend_http_access_peer(int fd, struct xend_http_who *who, int need, struct xend_err *err);

/*
 * The one check of a request, after its arguments are decoded and before it is routed.
 * Returns 0 to go on, or the HTTP status of a refusal (403, 421) with the message in msg.
 * Looks the connection's identity up on its first request (req->conn_who) and copies it
 * into the request for the audit line.
 */
int xend_http_access_check(struct xend_request *req, char *msg, size_t len);

/*
 * The route's role check, after routing: 0 when the caller's role (req->who.role, set by
 * the access check) reaches `need`, else 403 with "Permission denied: role ..." in msg;
 * the refused request gets its audit line, GET or not.
 */
int xend_http_access_route_check(struct xend_request *req, int need, char *msg, size_t len);

/* The audit line of a state-changing request (req->audit), with the reply's status
 * (0: the client went away first). */
void xend_http_access_audit(const struct xend_request *req, int status);

/* The process's CSRF token (64 hex digits), made at first use. Never logged. */
const char *xend_http_access_token(void);

/* Pure parts, for the unit tests. */
/* Whether a Host header names xend: an IP literal, localhost, the listen address or a
 * configured name, with any port. */
bool xend_http_access_host_ok(const char *host);
/* Whether an Origin or Referer value is xend's own origin: http://HOST (https://HOST when
 * `tls`, the request came to the HTTPS port) where HOST is the request's Host header
 * (already checked), or, without one, a name xend answers to. */
bool xend_http_access_origin_ok(const char *value, const char *host);
bool xend_http_access_origin_ok_tls(const char *value, const char *host, bool tls);

/* The browser checks without the CSRF token: Host, then, for a state-changing request,
 * Origin/Referer and Sec-Fetch-Site (for a login, which has no session to forge yet).
 * 0, or the status with the message in msg. */
int xend_http_access_origin_check(struct xend_request *req, char *msg, size_t len);
/* Constant-time comparison of a given token with the process's. */
bool xend_http_access_token_ok(const char *given, size_t len);

/* The host->access table for plugins. */
const struct xend_host_access *xend_http_access_host_table(void);

#endif
