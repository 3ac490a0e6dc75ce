/*
 * Callers on the HTTPS port (remote.h).
 */
#include "http/remote.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "http/access_control.h"
#include "http/internal.h"
#include "http/role.h"
#include "http/session.h"
#include "http/tokens.h"
#include "log/log.h"

#define DEFAULT_SESSION_SECONDS (8u * 3600u)

struct client {
    bool by_fp;
    char id[XEND_FINGERPRINT_LEN + 1]; /* a fingerprint, or a CN */
    uint8_t role;
};

static struct {
    struct client *clients; /* owned */
    size_t n_clients;
    char *token_file; /* owned; NULL = no tokens */
    struct xend_tokens tokens;
    bool tokens_bad; /* the file changed into one that may not be used: no token is valid */
    struct stat tokens_st;
    unsigned session_seconds;
} rem;

void xend_http_remote_reset(void)
{
    free(rem.clients);
    free(rem.token_file);
    xend_tokens_free(&rem.tokens);
    memset(&rem, 0, sizeof(rem));
    xend_http_session_reset();
}

static int parse_client(const char *entry, struct client *c, struct xend_err *err)
{
    char id[128], role[32], extra[2];
    if (sscanf(entry, "%127s %31s %1s", id, role, extra) != 2)
        return xend_err_set(err, XEND_EINVAL,
                            "xend-https-clients: '%s' is not \"CN-or-fingerprint ROLE\"", entry);
    int r = xend_role_parse(role);
    if (r < 0)
        return xend_err_set(err, XEND_EINVAL,
                            "xend-https-clients: '%s': role must be admin, operator or viewer",
                            entry);
    c->role = (uint8_t)r;
    const char *cn = strncasecmp(id, "CN=", 3) == 0 ? id + 3 : NULL;
    c->by_fp = cn == NULL && xend_fingerprint_normalise(id, c->id);
    if (!c->by_fp) {
        if (cn == NULL)
            cn = id;
        if (cn[0] == '\0' || strlen(cn) >= sizeof(c->id))
            return xend_err_set(err, XEND_EINVAL, "xend-https-clients: '%s': bad CN", entry);
        memcpy(c->id, cn, strlen(cn) + 1);
    }
    return 0;
}

static int tokens_reload(struct xend_err *err)
{
    struct xend_tokens t;
    struct stat st = {0};
    int rc = xend_tokens_load(rem.token_file, &t, err);
    if (rc == -XEND_ENOENT) {
        /* None made yet: `xend token add` creates the file, read at its first use. */
        xend_tokens_free(&rem.tokens);
        rem.tokens_st = st;
        return 0;
    }
    if (rc == 0 && stat(rem.token_file, &st) != 0)
        rc = xend_err_set(err, XEND_EIO, "token file %s: %s", rem.token_file, strerror(errno));
    if (rc < 0)
        return rc;
    xend_tokens_free(&rem.tokens);
    rem.tokens = t;
    rem.tokens_st = st;
    rem.tokens_bad = false;
    return 0;
}

int xend_http_remote_configure(const struct xend_http_remote_options *o, struct xend_err *err)
{
    xend_http_remote_reset();
    int rc = 0;
    rem.clients = o->n_clients ? xend_xcalloc(o->n_clients, sizeof(*rem.clients)) : NULL;
    for (size_t i = 0; i < o->n_clients && rc == 0; i++)
        if ((rc = parse_client(o->clients[i], &rem.clients[i], err)) == 0)
            rem.n_clients++;
    rem.session_seconds = o->session_seconds ? o->session_seconds : DEFAULT_SESSION_SECONDS;
    if (rc == 0 && o->token_file && o->token_file[0]) {
        rem.token_file = xend_xstrdup(o->token_file);
        rc = tokens_reload(err);
    }
    if (rc < 0)
        xend_http_remote_reset();
    return rc;
}

unsigned xend_http_remote_session_seconds(void)
{
    return rem.session_seconds ? rem.session_seconds : DEFAULT_SESSION_SECONDS;
}

/* `xend token add` appends to the file while xend runs: a changed file is read again, and
 * one that may no longer be used (now group-writable, unparsable) disables every token
 * until it is fixed, rather than leaving the old ones valid. */
static void tokens_refresh(void)
{
    struct stat st;
    if (rem.token_file == NULL || stat(rem.token_file, &st) != 0)
        return;
    if (st.st_ino == rem.tokens_st.st_ino && st.st_size == rem.tokens_st.st_size &&
        st.st_mtim.tv_sec == rem.tokens_st.st_mtim.tv_sec &&
        st.st_mtim.tv_nsec == rem.tokens_st.st_mtim.tv_nsec &&
        st.st_mode == rem.tokens_st.st_mode && st.st_uid == rem.tokens_st.st_uid)
        return;
    struct xend_err err = {0};
    if (tokens_reload(&err) < 0) {
        rem.tokens_bad = true;
        rem.tokens_st = st;
        xend_log_error("token file refused: no token is accepted until it is fixed", "error=\"%s\"",
                       xend_err_msg(&err));
    } else {
        xend_log_notice("token file read", "file=%s entries=%zu", rem.token_file, rem.tokens.n);
    }
}

bool xend_http_remote_token(const char *token, size_t len, char *name, size_t name_len, int *role)
{
    tokens_refresh();
    if (rem.token_file == NULL || rem.tokens_bad)
        return false;
    const struct xend_token *t = xend_tokens_find(&rem.tokens, token, len);
    if (t == NULL)
        return false;
    snprintf(name, name_len, "%s", t->name);
    *role = t->role;
    return true;
}

const char *xend_http_remote_bearer(const char *authorization, size_t *len)
{
    if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
        return NULL;
    const char *t = authorization + 7;
    while (*t == ' ')
        t++;
    size_t n = strlen(t);
    while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t'))
        n--;
    *len = n;
    return t;
}

/* ---- the certificate ---- */

/* Accept whatever the client shows: the handshake proves it holds the key, and the
 * request's judge decides on the certificate, so that an unknown one gets a 403 that says
 * why rather than a failed handshake. The verdict of the chain stays in the SSL's verify
 * result. */
static int accept_any(int ok, X509_STORE_CTX *store)
{
    (void)ok;
    (void)store;
    return 1;
}

/* A browser reaches the HTTPS port by a name its certificate holds (it checks): xend
 * answers to those names (CN and DNS subjectAltNames) without listing them again in
 * xend-http-names. An attacker's rebound name is not among them. */
static void answer_to_cert_names(X509 *x)
{
    if (x == NULL)
        return;
    char cn[256] = "";
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn)) > 0)
        xend_http_access_add_name(cn);
    GENERAL_NAMES *sans = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
        if (g->type != GEN_DNS)
            continue;
        const unsigned char *d = ASN1_STRING_get0_data(g->d.dNSName);
        int n = ASN1_STRING_length(g->d.dNSName);
        if (n > 0 && n < 256 && memchr(d, '\0', (size_t)n) == NULL && d[0] != '*') {
            char name[256];
            memcpy(name, d, (size_t)n);
            name[n] = '\0';
            xend_http_access_add_name(name);
        }
    }
    GENERAL_NAMES_free(sans);
}

int xend_http_remote_tls_setup(void *vctx, const char *cert, const char *key, const char *ca,
                               struct xend_err *err)
{
    SSL_CTX *ctx = vctx;
    ERR_clear_error(); /* libevhtp's own loading leaves errors behind */
    const char *what = NULL, *file = NULL;
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
        what = "xend-https-cert", file = cert;
    else if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
        what = "xend-https-key", file = key;
    else if (SSL_CTX_check_private_key(ctx) != 1)
        what = "xend-https-key (it does not match xend-https-cert)", file = key;
    else if (ca && ca[0] && SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
        what = "xend-https-ca", file = ca;
    if (what != NULL && access(file, R_OK) != 0 && errno == ENOENT) {
        ERR_clear_error();
        return xend_err_set(err, XEND_EINVAL,
                            "%s %s does not exist (`xend cert` makes this "
                            "host's certificate and key)",
                            what, file);
    }
    if (what != NULL) {
        char why[256] = "";
        unsigned long e = ERR_get_error();
        if (e)
            ERR_error_string_n(e, why, sizeof(why));
        ERR_clear_error();
        return xend_err_set(err, XEND_EINVAL, "%s %s: cannot use it%s%s%s", what, file,
                            why[0] ? " (" : "", why, why[0] ? ")" : "");
    }
    if (ca && ca[0]) {
        /* The CA names in the certificate request: browsers offer only matching certs. */
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca);
        if (names)
            SSL_CTX_set_client_CA_list(ctx, names);
    }
    answer_to_cert_names(SSL_CTX_get0_certificate(ctx));
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_any);
    /* A resumed session would carry its first connection's verdict; each connection shows
     * its certificate afresh instead. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(ctx, 0);
    ERR_clear_error();
    return 0;
}

void xend_http_remote_cert_read(void *vssl, struct xend_http_cert *out)
{
    SSL *ssl = vssl;
    memset(out, 0, sizeof(*out));
    out->looked = true;
    X509 *x = ssl ? SSL_get1_peer_certificate(ssl) : NULL;
    if (x == NULL)
        return;
    out->present = true;
    xend_fingerprint_x509(x, out->fp);
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, out->cn,
                              (int)sizeof(out->cn));
    long v = SSL_get_verify_result(ssl);
    out->verified = v == X509_V_OK;
    if (!out->verified)
        snprintf(out->error, sizeof(out->error), "%s", X509_verify_cert_error_string(v));
    X509_free(x);
}

/* ---- the judge ---- */

static void admit(struct xend_request *req, int role, const char *fmt, const char *a, const char *b)
{
    req->who.verdict = XEND_HTTP_ADMITTED;
    req->who.role = (uint8_t)role;
    req->who.peer.via = XEND_PEER_TLS;
    snprintf(req->who.by, sizeof(req->who.by), fmt, a, b);
}

/* Bytes a message may quote of a CN (it is the client's text). */
static void printable(const char *in, char *out, size_t len)
{
    size_t n = 0;
    for (; *in && n + 1 < len; in++)
        out[n++] = (*in >= 0x20 && *in < 0x7f && *in != '"') ? *in : '?';
    out[n] = '\0';
}

static int judge_cert(struct xend_request *req, const struct xend_http_cert *c, char *msg,
                      size_t len)
{
    char cn[sizeof(c->cn)];
    printable(c->cn, cn, sizeof(cn));
    for (size_t i = 0; i < rem.n_clients; i++)
        if (rem.clients[i].by_fp && strcmp(rem.clients[i].id, c->fp) == 0) {
            admit(req, rem.clients[i].role, "cert:CN=%s,fp=%.16s", cn, c->fp);
            return 0;
        }
    if (!c->verified) {
        snprintf(msg, len,
                 "Access denied: client certificate CN=%s (SHA-256 %s) is not trusted: %s; "
                 "it needs a certificate signed by xend-https-ca, or its fingerprint in "
                 "xend-https-clients (see docs/security.md)",
                 cn, c->fp, c->error);
        return 403;
    }
    for (size_t i = 0; i < rem.n_clients; i++)
        if (!rem.clients[i].by_fp && strcmp(rem.clients[i].id, c->cn) == 0) {
            admit(req, rem.clients[i].role, "cert:CN=%s,fp=%.16s", cn, c->fp);
            return 0;
        }
    snprintf(msg, len,
             "Access denied: client certificate CN=%s (SHA-256 %s) is signed by the CA but "
             "not listed in xend-https-clients; an administrator can add \"CN=%s ROLE\" there "
             "(see docs/security.md)",
             cn, c->fp, cn);
    return 403;
}

static int refuse(struct xend_request *req, const char *reason)
{
    char safe[160];
    printable(reason, safe, sizeof(safe));
    xend_log_info("access refused", "peer=%s via=tls reason=\"%s\"", req->peer, safe);
    return 403;
}

int xend_http_remote_judge(struct xend_request *req, char *msg, size_t len)
{
    memset(&req->who, 0, sizeof(req->who));
    req->who.peer.via = XEND_PEER_TLS;
    req->who.verdict = XEND_HTTP_REMOTE;
    char name[XEND_TOKEN_NAME_MAX + 1];
    int role;
    if (req->authorization != NULL) {
        size_t n = 0;
        const char *tok = xend_http_remote_bearer(req->authorization, &n);
        if (tok == NULL) {
            snprintf(msg, len,
                     "Access denied: only \"Authorization: Bearer TOKEN\" is understood "
                     "(see docs/security.md)");
            return refuse(req, "an Authorization scheme other than Bearer");
        }
        if (!xend_http_remote_token(tok, n, name, sizeof(name), &role)) {
            snprintf(msg, len,
                     "Access denied: the bearer token is not valid%s (see docs/security.md)",
                     rem.token_file ? "" : "; this xend has no xend-token-file");
            return refuse(req, "a bearer token that is not valid");
        }
        admit(req, role, "token:%s%s", name, "");
        return 0;
    }
    if (req->has_cookie && xend_http_session_find(req->cookie, name, sizeof(name), &role)) {
        admit(req, role, "session:%s%s", name, "");
        return 0;
    }
    const struct xend_http_cert *c = req->cert;
    if (c != NULL && c->present) {
        int rc = judge_cert(req, c, msg, len);
        if (rc != 0) {
            char why[160];
            snprintf(why, sizeof(why), "certificate CN=%.64s fp=%.16s %s", c->cn, c->fp,
                     c->verified ? "not in xend-https-clients" : "not trusted");
            return refuse(req, why);
        }
        return 0;
    }
    snprintf(msg, len,
             "Access denied: no client certificate and no token; present a certificate "
             "listed in xend-https-clients, an \"Authorization: Bearer TOKEN\" header, or log "
             "in at /xend/login (see docs/security.md)");
    return refuse(req, "no client certificate and no token");
}
