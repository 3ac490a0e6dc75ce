/*
 * The access check of every request and the audit line of every state-changing one
 * (access.h, docs/security.md). request.c calls xend_http_access_check once per request,
 * before routing, and xend_http_access_audit when the reply goes out; nothing else in
 * core/http decides who may do what.
 */

#include "http/access_control.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "http/internal.h"
#include "http/remote.h"
#include "http/role.h"
#include "log/log.h"
#include "hex.h"

#define TOKEN_BYTES 32

/* A group whose members get a role (admin-group, operator-group, viewer-group). */
struct role_group {
    bool set;
    gid_t gid;
    char *name; /* owned */
};

static struct {
    struct role_group group[XEND_ROLE_COUNT]; /* by enum xend_role */
    bool allow_remote_plain;
    char **names; /* owned: the listen address and xend-http-names */
    size_t n_names;
    char token[2 * TOKEN_BYTES + 1];
} acc;

void xend_http_access_reset(void)
{
    for (int r = 0; r < XEND_ROLE_COUNT; r++)
        free(acc.group[r].name);
    for (size_t i = 0; i < acc.n_names; i++)
        free(acc.names[i]);
    free(acc.names);
    xend_peer_diag_close();
    char token[sizeof(acc.token)];
    memcpy(token, acc.token, sizeof(token)); /* the process keeps its token */
    memset(&acc, 0, sizeof(acc));
    memcpy(acc.token, token, sizeof(token));
}

void xend_http_access_add_name(const char *name)
{
    if (name == NULL || name[0] == '\0')
        return;
    acc.names = xend_xrealloc(acc.names, (acc.n_names + 1) * sizeof(*acc.names));
    acc.names[acc.n_names++] = xend_xstrdup(name);
}

int xend_http_access_configure(const struct xend_http_access_options *o, struct xend_err *err)
{
    const char *names[XEND_ROLE_COUNT] = {
        [XEND_ROLE_ADMIN] = o->admin_group,
        [XEND_ROLE_OPERATOR] = o->operator_group,
        [XEND_ROLE_VIEWER] = o->viewer_group,
    };
    gid_t gids[XEND_ROLE_COUNT] = {0};
    for (int r = 0; r < XEND_ROLE_COUNT; r++) {
        if (names[r] == NULL || names[r][0] == '\0')
            continue;
        struct group gr, *res = NULL;
        char buf[16384];
        int rc = getgrnam_r(names[r], &gr, buf, sizeof(buf), &res);
        if (rc != 0 || res == NULL)
            return xend_err_set(err, XEND_EINVAL, "%s-group '%s': no such group", xend_role_name(r),
                                names[r]);
        gids[r] = res->gr_gid;
    }
    xend_http_access_reset();
    for (int r = 0; r < XEND_ROLE_COUNT; r++) {
        acc.group[r].set = names[r] != NULL && names[r][0] != '\0';
        acc.group[r].gid = gids[r];
        acc.group[r].name = acc.group[r].set ? xend_xstrdup(names[r]) : NULL;
    }
    acc.allow_remote_plain = o->allow_remote_plain;
    xend_peer_diag_open();
    xend_http_access_add_name(o->listen_address);
    for (size_t i = 0; i < o->n_names; i++)
        xend_http_access_add_name(o->names[i]);
    return 0;
}

int xend_http_access_own_socket(const char *path, struct xend_err *err)
{
    const struct role_group *admin = &acc.group[XEND_ROLE_ADMIN];
    gid_t gid = admin->set ? admin->gid : getegid();
    if (chown(path, geteuid(), gid) != 0 || chmod(path, 0660) != 0)
        return xend_err_set(err, XEND_EIO, "cannot give unix:%s to group %s: %s", path,
                            admin->set ? admin->name : "of xend", strerror(errno));
    return 0;
}

/* ---- the CSRF token ---- */

const char *xend_http_access_token(void)
{
    if (acc.token[0] == '\0') {
        if (xend_hex_random(TOKEN_BYTES, acc.token) < 0) {
            /* No getrandom: an xend that cannot make a secret must not run. */
            xend_log_error("no randomness for the CSRF token", "error=\"%s\"", strerror(errno));
            abort();
        }
    }
    return acc.token;
}

bool xend_http_access_token_ok(const char *given, size_t len)
{
    const char *mine = xend_http_access_token();
    if (given == NULL || len != (size_t)2 * TOKEN_BYTES)
        return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < len; i++)
        diff |= (unsigned char)(given[i] ^ mine[i]);
    return diff == 0;
}

/* ---- who is calling ---- */

/* The highest role whose group uid is in (primary group, then the others), or -1. */
static int group_role(uint32_t uid)
{
    bool any = false;
    for (int r = 0; r < XEND_ROLE_COUNT; r++)
        any |= acc.group[r].set;
    if (!any)
        return -1;
    struct passwd pw, *res = NULL;
    char buf[4096];
    if (getpwuid_r((uid_t)uid, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
        return -1;
    int n = 64;
    gid_t *groups = xend_xmalloc((size_t)n * sizeof(*groups));
    if (getgrouplist(res->pw_name, res->pw_gid, groups, &n) < 0) {
        groups = xend_xrealloc(groups, (size_t)n * sizeof(*groups));
        if (getgrouplist(res->pw_name, res->pw_gid, groups, &n) < 0)
            n = 0;
    }
    int role = -1;
    for (int r = XEND_ROLE_COUNT - 1; r >= 0; r--) {
        if (!acc.group[r].set)
            continue;
        bool member = res->pw_gid == acc.group[r].gid;
        for (int i = 0; i < n && !member; i++)
            member = groups[i] == acc.group[r].gid;
        if (member)
            role = r; /* the loop goes up to admin: the highest wins */
    }
    free(groups);
    return role;
}

static void judge(struct xend_http_who *w)
{
    switch (w->peer.via) {
    case XEND_PEER_PEERCRED:
    case XEND_PEER_SOCK_DIAG: {
        int role = w->peer.uid == 0 ? XEND_ROLE_ADMIN : group_role(w->peer.uid);
        w->verdict = role >= 0 ? XEND_HTTP_ADMITTED : XEND_HTTP_NOT_ADMIN;
        w->role = role >= 0 ? (uint8_t)role : XEND_ROLE_VIEWER;
        break;
    }
    case XEND_PEER_REMOTE:
        /* Unidentified: the 2004 xend's everything, where the operator asked for it. */
        w->verdict = acc.allow_remote_plain ? XEND_HTTP_ADMITTED : XEND_HTTP_REMOTE;
        w->role = XEND_ROLE_ADMIN;
        break;
    default:
        w->verdict = XEND_HTTP_NO_IDENTITY;
        break;
    }
}

/* The message a refused peer gets: who it is, why, and what to do. */
static void refusal(struct xend_http_who *w, const char *peer, char *msg, size_t len)
{
    struct xend_peer *p = &w->peer;
    switch (w->verdict) {
    case XEND_HTTP_NOT_ADMIN: {
        char groups[200] = "";
        size_t n = 0, count = 0;
        for (int r = 0; r < XEND_ROLE_COUNT; r++)
            count += acc.group[r].set;
        for (int r = 0, k = 0; r < XEND_ROLE_COUNT && n < sizeof(groups); r++) {
            if (!acc.group[r].set)
                continue;
            k++;
            n += (size_t)snprintf(groups + n, sizeof(groups) - n, "%s'%s' (%s)",
                                  k == 1               ? ""
                                  : (size_t)k == count ? " or "
                                                       : ", ",
                                  acc.group[r].name, xend_role_name(r));
        }
        if (count == 1 && acc.group[XEND_ROLE_ADMIN].set)
            snprintf(msg, len,
                     "Access denied: user %s (uid %u, by %s) is neither root nor in group '%s'; "
                     "an administrator can add it to that group (see docs/security.md)",
                     xend_peer_user(p), (unsigned)p->uid, xend_peer_via_name(p->via),
                     acc.group[XEND_ROLE_ADMIN].name);
        else if (count > 0)
            snprintf(msg, len,
                     "Access denied: user %s (uid %u, by %s) is neither root nor in group %s; "
                     "an administrator can add it to the group of the role it needs "
                     "(see docs/security.md)",
                     xend_peer_user(p), (unsigned)p->uid, xend_peer_via_name(p->via), groups);
        else
            snprintf(msg, len,
                     "Access denied: user %s (uid %u, by %s) is not root and xend has no "
                     "admin-group, operator-group or viewer-group; an administrator can set one "
                     "in xend.conf and add the user to it (see docs/security.md)",
                     xend_peer_user(p), (unsigned)p->uid, xend_peer_via_name(p->via));
        break;
    }
    case XEND_HTTP_REMOTE:
        snprintf(msg, len,
                 "Access denied: %s is not on this host; remote callers use the HTTPS port "
                 "(xend-https-port) with a client certificate or a token (see "
                 "docs/security.md)",
                 peer);
        break;
    default:
        snprintf(msg, len,
                 "Access denied: xend cannot tell which user is calling from %s "
                 "(see docs/security.md)",
                 peer);
        break;
    }
}

static void peer_text(int fd, char *out, size_t len)
{
    struct sockaddr_storage ss = {0};
    socklen_t sl = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?";
    snprintf(out, len, "?");
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        snprintf(out, len, "%s:%u", host, ntohs(in->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        snprintf(out, len, "[%s]:%u", host, ntohs(in6->sin6_port));
    } else {
        snprintf(out, len, "unix");
    }
}

int xend_http_access_peer(int fd, struct xend_http_who *who, int need, struct xend_err *err)
{
    struct xend_err why = {0};
    char peer[INET6_ADDRSTRLEN + 10];
    peer_text(fd, peer, sizeof(peer));
    if (xend_peer_identify(fd, &who->peer, &why) < 0)
        xend_log_warn("peer not identified", "peer=%s error=\"%s\"", peer, xend_err_msg(&why));
    judge(who);
    if (who->verdict == XEND_HTTP_ADMITTED && xend_role_allows(who->role, need))
        return 0;
    char msg[400];
    if (who->verdict == XEND_HTTP_ADMITTED)
        snprintf(msg, sizeof(msg),
                 "Access denied: user %s (uid %u, by %s) has role %s; this needs role %s "
                 "(see docs/security.md)",
                 xend_peer_user(&who->peer), (unsigned)who->peer.uid,
                 xend_peer_via_name(who->peer.via), xend_role_name(who->role),
                 xend_role_name(need));
    else
        refusal(who, peer, msg, sizeof(msg));
    xend_log_info("access refused", "peer=%s uid=%s%u user=%s via=%s", peer,
                  who->peer.has_uid ? "" : "-", who->peer.has_uid ? (unsigned)who->peer.uid : 0u,
                  xend_peer_user(&who->peer), xend_peer_via_name(who->peer.via));
    return xend_err_set(err, XEND_EPERM, "%s", msg);
}

/* ---- what a browser sends ---- */

/* Host names are compared without a port and a trailing dot, ignoring case. */
static bool name_is(const char *name, size_t n, const char *want)
{
    size_t w = strlen(want);
    return n == w && strncasecmp(name, want, n) == 0;
}

static bool port_ok(const char *p)
{
    if (*p == '\0')
        return true;
    if (*p != ':' || p[1] == '\0')
        return false;
    for (p++; *p != '\0'; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

bool xend_http_access_host_ok(const char *host)
{
    if (host == NULL || host[0] == '\0')
        return true; /* HTTP/1.0 clients send none; browsers always do */
    char name[256];
    if (host[0] == '[') {
        /* An IPv6 literal: a browser that sends one connected to that address, so no
         * DNS answer of an attacker's can be behind it. */
        const char *end = strchr(host, ']');
        if (end == NULL || (size_t)(end - host - 1) >= sizeof(name) || !port_ok(end + 1))
            return false;
        memcpy(name, host + 1, (size_t)(end - host - 1));
        name[end - host - 1] = '\0';
        struct in6_addr a6;
        return inet_pton(AF_INET6, name, &a6) == 1;
    }
    const char *colon = strchr(host, ':');
    size_t n = colon ? (size_t)(colon - host) : strlen(host);
    if (n == 0 || n >= sizeof(name) || (colon && !port_ok(colon)))
        return false;
    memcpy(name, host, n);
    name[n] = '\0';
    if (name[n - 1] == '.')
        name[--n] = '\0';
    struct in_addr a4;
    if (inet_pton(AF_INET, name, &a4) == 1)
        return true; /* an IPv4 literal, for the same reason */
    if (name_is(name, n, "localhost"))
        return true;
    for (size_t i = 0; i < acc.n_names; i++)
        if (name_is(name, n, acc.names[i]))
            return true;
    return false;
}

/* The authority of an http:// URL (https:// when tls) ("host:port"), lower-cased and
 * without the default port; false for anything else (another scheme, "null"). */
static bool authority(const char *url, bool tls, char *out, size_t len)
{
    const char *scheme = tls ? "https://" : "http://";
    size_t sl = strlen(scheme);
    if (url == NULL || strncasecmp(url, scheme, sl) != 0)
        return false;
    const char *a = url + sl;
    size_t n = strcspn(a, "/?#");
    if (n == 0 || n >= len || memchr(a, '@', n) != NULL)
        return false;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)((a[i] >= 'A' && a[i] <= 'Z') ? a[i] + 32 : a[i]);
    out[n] = '\0';
    const char *dflt = tls ? ":443" : ":80";
    size_t dl = strlen(dflt);
    if (n > dl && strcmp(out + n - dl, dflt) == 0)
        out[n - dl] = '\0';
    return true;
}

bool xend_http_access_origin_ok_tls(const char *value, const char *host, bool tls)
{
    char got[300];
    if (!authority(value, tls, got, sizeof(got)))
        return false;
    if (host == NULL || host[0] == '\0')
        return xend_http_access_host_ok(got);
    char want[300];
    char url[310];
    snprintf(url, sizeof(url), "%s%s", tls ? "https://" : "http://", host);
    return authority(url, tls, want, sizeof(want)) && strcmp(got, want) == 0;
}

bool xend_http_access_origin_ok(const char *value, const char *host)
{
    return xend_http_access_origin_ok_tls(value, host, false);
}

/* ---- the check ---- */

struct op_find {
    const char *op;
    bool found;
};

static void find_post_op(const char *op, const char *doc, int role, void *arg)
{
    (void)doc;
    (void)role;
    struct op_find *f = arg;
    if (strcmp(op, f->op) == 0)
        f->found = true;
}

/* Anything but GET/HEAD; and a GET of an op that the path also takes by POST, which the
 * 2.0 server allowed (mem_target_set, console disconnect). */
static bool state_changing(const struct xend_request *req)
{
    if (req->method != XEND_HTTP_GET)
        return true;
    if (req->op == NULL)
        return false;
    struct op_find f = {req->op, false};
    xend_http_routes_posts_for(req->segs, req->nseg, find_post_op, &f);
    return f.found;
}

static const struct xend_http_arg *body_token(const struct xend_request *req)
{
    for (size_t i = 0; i < req->args.n; i++)
        if (!req->args.v[i].from_url && strcmp(req->args.v[i].name, XEND_HTTP_CSRF_FIELD) == 0)
            return &req->args.v[i];
    return NULL;
}

/* Who is calling: the connection's local identity, or on the HTTPS port what the request
 * proves (remote.h). 0, or 403 with msg. */
static int identify(struct xend_request *req, char *msg, size_t len)
{
    if (req->tls)
        return xend_http_remote_judge(req, msg, len);
    struct xend_http_who *conn = req->conn_who;
    if (conn == NULL) {
        snprintf(msg, len, "Access denied: the connection has no identity");
        return 403;
    }
    if (conn->verdict == XEND_HTTP_UNJUDGED) {
        struct xend_err err = {0};
        xend_http_access_peer(req->fd, conn, XEND_ROLE_VIEWER, &err);
    }
    req->who = *conn;
    if (conn->verdict != XEND_HTTP_ADMITTED) {
        refusal(conn, req->peer, msg, len);
        return 403;
    }
    size_t n;
    if (xend_http_remote_bearer(req->authorization, &n) != NULL) {
        /* Refused even from root: the token has just crossed the network in clear, and a
         * script that does this should learn it at once. */
        snprintf(msg, len,
                 "Forbidden: a bearer token is accepted only over https; use "
                 "https://HOST:PORT (xend-https-port) and consider this token exposed");
        return 403;
    }
    return 0;
}

int xend_http_access_origin_check(struct xend_request *req, char *msg, size_t len)
{
    if (!xend_http_access_host_ok(req->host)) {
        snprintf(msg, len,
                 "Misdirected request: xend does not answer to the name in Host (a DNS "
                 "rebinding attack?); add it to xend-http-names if it is this host's "
                 "(see docs/security.md)");
        return 421;
    }
    if (!req->audit)
        return 0;
    const char *from = req->origin ? req->origin : req->referer;
    if (from != NULL && !xend_http_access_origin_ok_tls(from, req->host, req->tls)) {
        snprintf(msg, len, "Forbidden: a state-changing request from another origin (%s: %.120s)",
                 req->origin ? "Origin" : "Referer", from);
        return 403;
    }
    if (req->fetch_site != NULL && strcmp(req->fetch_site, "same-origin") != 0 &&
        strcmp(req->fetch_site, "none") != 0) {
        snprintf(msg, len, "Forbidden: a state-changing request from another site");
        return 403;
    }
    return 0;
}

int xend_http_access_check(struct xend_request *req, char *msg, size_t len)
{
    req->audit = state_changing(req);
    int refused = identify(req, msg, len);
    if (refused == 0)
        refused = xend_http_access_origin_check(req, msg, len);
    if (refused != 0 || !req->audit)
        return refused;
    bool browser = req->origin || req->referer || req->has_cookie || req->fetch_site;
    if (browser) {
        const struct xend_http_arg *t = body_token(req);
        if (t == NULL || !xend_http_access_token_ok(t->value, t->len)) {
            snprintf(msg, len,
                     "Forbidden: a browser's state-changing request needs the form's %s "
                     "token (%s); reload the page and submit its form again",
                     XEND_HTTP_CSRF_FIELD, t == NULL ? "missing" : "wrong");
            return 403;
        }
    }
    return 0;
}

int xend_http_access_route_check(struct xend_request *req, int need, char *msg, size_t len)
{
    if (xend_role_allows(req->who.role, need))
        return 0;
    xend_role_refusal(req->who.role, need, req->op ? req->op : req->method_name, req->path, msg,
                      len);
    req->audit = true; /* a refused read is worth a line too */
    return 403;
}

/* ---- the audit line ---- */

/* Bytes a log line cannot hold as they are (blanks, quotes, controls) as %XX. */
static void log_safe(const char *s, char *out, size_t len)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0' && n + 4 < len; p++) {
        if (*p > 0x20 && *p < 0x7f && *p != '"' && *p != '\\' && *p != '%')
            out[n++] = (char)*p;
        else
            n += (size_t)snprintf(out + n, len - n, "%%%02X", *p);
    }
    out[n] = '\0';
}

void xend_http_access_audit(const struct xend_request *req, int status)
{
    struct xend_peer peer = req->who.peer; /* its user name looked up here */
    struct xend_peer *p = &peer;
    char path[512], op[96], uid[16];
    log_safe(req->path ? req->path : "/", path, sizeof(path));
    log_safe(req->op ? req->op : "-", op, sizeof(op));
    if (p->has_uid)
        snprintf(uid, sizeof(uid), "%u", (unsigned)p->uid);
    else
        snprintf(uid, sizeof(uid), "-");
    char user[sizeof(p->user) * 3 + 1];
    log_safe(xend_peer_user(p), user, sizeof(user));
    char result[16];
    if (status == 0)
        snprintf(result, sizeof(result), "gone"); /* the client left before the reply */
    else
        snprintf(result, sizeof(result), "%d", status);
    /* How a caller on the HTTPS port proved who it is: a token's or a certificate's name,
     * never the secret. */
    char by[sizeof(req->who.by) * 3 + 8] = "";
    if (req->who.by[0] != '\0') {
        char safe[sizeof(req->who.by) * 3 + 1];
        log_safe(req->who.by, safe, sizeof(safe));
        snprintf(by, sizeof(by), " by=%s", safe);
    }
    xend_log_notice(
        "audit", "uid=%s user=%s via=%s%s peer=%s method=%s path=%s op=%s status=%s role=%s", uid,
        user, xend_peer_via_name(p->via), by, req->peer, req->method_name, path, op, result,
        req->who.verdict == XEND_HTTP_ADMITTED ? xend_role_name(req->who.role) : "-");
}

/* ---- host->access ---- */

/* A plugin's own listener: the console ports, which give a guest's console (often a root
 * shell): operators and admins (docs/security.md). */
static int host_peer_check(struct xend_plugin *self, int fd, struct xend_err *err)
{
    (void)self;
    struct xend_http_who who = {0};
    return xend_http_access_peer(fd, &who, XEND_ROLE_OPERATOR, err);
}

static const struct xend_host_access host_access = {
    .size = sizeof(struct xend_host_access),
    .peer_check = host_peer_check,
};

const struct xend_host_access *xend_http_access_host_table(void)
{
    return &host_access;
}
