/*
 * Browser sessions (session.h).
 */
#include "http/session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>

#include "clock.h"
#include "http/internal.h"
#include "http/remote.h"
#include "http/role.h"
#include "http/tokens.h"
#include "log/log.h"
#include "hex.h"

#define MAX_SESSIONS 1024

struct session {
    char id[XEND_SESSION_ID_LEN + 1];
    char name[XEND_TOKEN_NAME_MAX + 1];
    int role;
    uint64_t expires_ns; /* on the monotonic clock */
};

static struct {
    struct session *v; /* owned */
    size_t n;
} ses;

void xend_http_session_reset(void)
{
    if (ses.v)
        OPENSSL_cleanse(ses.v, ses.n * sizeof(*ses.v));
    free(ses.v);
    ses.v = NULL;
    ses.n = 0;
}

static void expire(void)
{
    uint64_t now = xend_clock_ns();
    for (size_t i = 0; i < ses.n;)
        if (ses.v[i].expires_ns <= now)
            ses.v[i] = ses.v[--ses.n];
        else
            i++;
}

void xend_http_session_new(const char *name, int role, unsigned seconds,
                           char id[XEND_SESSION_ID_LEN + 1])
{
    expire();
    if (xend_hex_random(XEND_SESSION_ID_LEN / 2, id) < 0) {
        /* A guessable session id would be a login for anyone. */
        xend_log_error("no randomness for a session id", "error=\"%s\"", strerror(errno));
        abort();
    }
    struct session *s;
    if (ses.n == MAX_SESSIONS) {
        size_t oldest = 0;
        for (size_t i = 1; i < ses.n; i++)
            if (ses.v[i].expires_ns < ses.v[oldest].expires_ns)
                oldest = i;
        s = &ses.v[oldest];
    } else {
        ses.v = xend_xrealloc(ses.v, (ses.n + 1) * sizeof(*ses.v));
        s = &ses.v[ses.n++];
    }
    snprintf(s->id, sizeof(s->id), "%s", id);
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->role = role;
    s->expires_ns = xend_clock_ns() + (uint64_t)seconds * 1000000000u;
}

/* The value of the session cookie in a Cookie header, or NULL; *len its length. */
static const char *cookie_value(const char *cookie, size_t *len)
{
    const size_t nl = strlen(XEND_SESSION_COOKIE);
    for (const char *p = cookie; p != NULL && *p;) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n > nl && strncmp(p, XEND_SESSION_COOKIE, nl) == 0 && p[nl] == '=') {
            *len = n - nl - 1;
            return p + nl + 1;
        }
        p = end;
    }
    return NULL;
}

static struct session *lookup(const char *cookie)
{
    size_t len = 0;
    const char *v = cookie_value(cookie, &len);
    if (v == NULL || len != XEND_SESSION_ID_LEN)
        return NULL;
    expire();
    struct session *found = NULL;
    for (size_t i = 0; i < ses.n; i++)
        if (CRYPTO_memcmp(ses.v[i].id, v, XEND_SESSION_ID_LEN) == 0 && found == NULL)
            found = &ses.v[i];
    return found;
}

bool xend_http_session_find(const char *cookie, char *name, size_t name_len, int *role)
{
    struct session *s = lookup(cookie);
    if (s == NULL)
        return false;
    snprintf(name, name_len, "%s", s->name);
    *role = s->role;
    return true;
}

bool xend_http_session_forget(const char *cookie)
{
    struct session *s = lookup(cookie);
    if (s == NULL)
        return false;
    OPENSSL_cleanse(s, sizeof(*s));
    *s = ses.v[--ses.n];
    return true;
}

/* ---- /xend/login and /xend/logout ---- */

static bool path_is(const struct xend_request *req, const char *last)
{
    return req->nseg == 2 && strcmp(req->segs[0], "xend") == 0 && strcmp(req->segs[1], last) == 0;
}

bool xend_http_session_path(const struct xend_request *req)
{
    return path_is(req, "login") || path_is(req, "logout");
}

static const char login_form[] =
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>xend: log in</title></head>"
    "<body><h1>xend</h1><form method=\"post\" action=\"/xend/login\">"
    "<label>API token <input type=\"password\" name=\"token\" autocomplete=\"off\"></label> "
    "<button type=\"submit\">Log in</button></form>"
    "<p>A browser with a client certificate xend knows needs no login.</p></body></html>\n";

int xend_http_session_serve(struct xend_request *req, const char **set_cookie, char *msg,
                            size_t len)
{
    static char cookie[256];
    *set_cookie = NULL;
    bool login = path_is(req, "login");
    if (!req->tls) {
        snprintf(msg, len,
                 "Forbidden: a %s is accepted only over https (xend-https-port); a token sent "
                 "over plain http can be read on the way",
                 login ? "login" : "logout");
        return 403;
    }
    if (login && req->method == XEND_HTTP_GET) {
        snprintf(msg, len, "%s", login_form);
        return 0;
    }
    if (req->method != XEND_HTTP_POST) {
        snprintf(msg, len, "Method not allowed: POST");
        return 405;
    }
    req->audit = true; /* state-changing: the origin rule applies, and an audit line */
    int refused = xend_http_access_origin_check(req, msg, len);
    if (refused != 0)
        return refused;
    req->who.peer.via = XEND_PEER_TLS;
    if (!login) {
        bool had = req->cookie != NULL && xend_http_session_forget(req->cookie);
        snprintf(req->who.by, sizeof(req->who.by), "logout");
        snprintf(cookie, sizeof(cookie),
                 XEND_SESSION_COOKIE "=; Path=/xend; Max-Age=0; HttpOnly; Secure; SameSite=Strict");
        *set_cookie = cookie;
        snprintf(msg, len, "%s", had ? "logged out" : "no session");
        return 200;
    }
    const struct xend_http_arg *t = xend_http_args_find(&req->args, "token", NULL);
    char name[XEND_TOKEN_NAME_MAX + 1];
    int role;
    if (t == NULL || t->from_url) {
        snprintf(msg, len, "Bad request: the token goes in the body (token=...), never the URL");
        return 400;
    }
    if (!xend_http_remote_token(t->value, t->len, name, sizeof(name), &role)) {
        snprintf(req->who.by, sizeof(req->who.by), "login:wrong-token");
        snprintf(msg, len, "Access denied: the token is not valid (see docs/security.md)");
        return 403;
    }
    req->who.verdict = XEND_HTTP_ADMITTED;
    req->who.role = (uint8_t)role;
    snprintf(req->who.by, sizeof(req->who.by), "login:%s", name);
    char id[XEND_SESSION_ID_LEN + 1];
    unsigned secs = xend_http_remote_session_seconds();
    xend_http_session_new(name, role, secs, id);
    snprintf(cookie, sizeof(cookie),
             XEND_SESSION_COOKIE "=%s; Path=/xend; Max-Age=%u; HttpOnly; Secure; SameSite=Strict",
             id, secs);
    OPENSSL_cleanse(id, sizeof(id));
    *set_cookie = cookie;
    snprintf(msg, len, "%s %s", name, xend_role_name(role));
    return 200;
}
