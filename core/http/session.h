/*
 * Browser sessions on the HTTPS port (docs/security.md, "Browsers"): POST /xend/login with
 * a token (over TLS only) gives a cookie
 *
 *     xend_session=ID; Path=/xend; Max-Age=N; HttpOnly; Secure; SameSite=Strict
 *
 * whose requests have that token's identity until it expires (xend-session-timeout) or
 * POST /xend/logout forgets it. ID is 32 random bytes in hex; the table is xend's memory
 * only (a restart logs everyone out). A client certificate needs no login.
 *
 * Threads: loop thread only.
 */
#ifndef XEND_CORE_HTTP_SESSION_H
#define XEND_CORE_HTTP_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#define XEND_SESSION_COOKIE "xend_session"
#define XEND_SESSION_ID_LEN 64

struct xend_request;

/* A new session for a token's name and role, lasting `seconds`; its id goes to id. When
 * the table is full the session closest to expiry makes room. */
void xend_http_session_new(const char *name, int role, unsigned seconds,
                           char id[XEND_SESSION_ID_LEN + 1]);
/* The session a Cookie header names (NULL: none), if it exists and has not expired:
 * its token name and role. The id is compared in constant time. */
bool xend_http_session_find(const char *cookie, char *name, size_t name_len, int *role);
/* Forget the session a Cookie header names; true when there was one. */
bool xend_http_session_forget(const char *cookie);
/* Forget every session (at stop). */
void xend_http_session_reset(void);

/* Whether req is for /xend/login or /xend/logout, which request.c answers through
 * xend_http_session_serve before the access check (a login has no identity yet). */
bool xend_http_session_path(const struct xend_request *req);
/*
 * Serve a login or logout. Returns the status; on 200, *set_cookie (static, valid until
 * the next call) is the Set-Cookie value and msg the reply's text; otherwise msg is the
 * error. GET /xend/login returns 0 with the login form's HTML in msg.
 */
int xend_http_session_serve(struct xend_request *req, const char **set_cookie, char *msg,
                            size_t len);

#endif
