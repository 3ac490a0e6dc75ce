/*
 * Callers on the HTTPS port (docs/security.md, "Remote callers"): who they are is what
 * they prove, never where they come from. A request on the TLS listener is admitted by, in
 * this order:
 *  1. `Authorization: Bearer TOKEN`: a token of xend-token-file (tokens.h); a wrong one is
 *     refused even when a certificate would have done;
 *  2. the `xend_session` cookie of a browser that logged in with a token (session.h);
 *  3. the client certificate: its SHA-256 fingerprint listed in xend-https-clients (a
 *     pinned certificate, CA or not), or its subject CN listed there and the certificate
 *     signed by xend-https-ca.
 * Anything else is 403 with a message that says what was missing. The role comes from the
 * entry that matched.
 *
 * Threads: loop thread only.
 */
#ifndef XEND_CORE_HTTP_REMOTE_H
#define XEND_CORE_HTTP_REMOTE_H

#include <stdbool.h>
#include <stddef.h>

#include <xend/abi.h>

#include "fingerprint.h"

struct xend_request;

/* What a TLS connection's client certificate says; read once, at its first request. */
struct xend_http_cert {
    bool looked;   /* filled in */
    bool present;  /* the client sent one */
    bool verified; /* xend-https-ca signed it (and it is in date) */
    char cn[65];   /* subject CN, "" when none */
    char fp[XEND_FINGERPRINT_LEN + 1];
    char error[96]; /* why not verified */
};

struct xend_http_remote_options {
    const char *const *clients; /* xend-https-clients: "CN-or-fingerprint role"; copied */
    size_t n_clients;
    const char *token_file;   /* xend-token-file; NULL or "" = no tokens */
    unsigned session_seconds; /* xend-session-timeout; 0 = 8 hours */
};

/* Set the policy (replacing the previous one) and load the token file, which must exist
 * and pass xend_tokens_file_check. 0, or -XEND_EINVAL / -XEND_EPERM with err set. */
int xend_http_remote_configure(const struct xend_http_remote_options *o, struct xend_err *err);
void xend_http_remote_reset(void);

/* Read the client certificate of ssl (an SSL *, handshake done) into out. */
void xend_http_remote_cert_read(void *ssl, struct xend_http_cert *out);

/*
 * Make ctx (an SSL_CTX *) the HTTPS listener's: certificate chain and key (checked to
 * match), the CA for client certificates (may be NULL or ""), TLS 1.2 or newer, a client
 * certificate asked for but not required (a token may stand in), no session resumption.
 * 0, or -XEND_EINVAL with err set.
 */
int xend_http_remote_tls_setup(void *ctx, const char *cert, const char *key, const char *ca,
                               struct xend_err *err);

/* Judge a request that came over TLS: fills req->who (verdict, role, by). 0 to go on, or
 * 403 with the message in msg. */
int xend_http_remote_judge(struct xend_request *req, char *msg, size_t len);

/* The token of an `Authorization: Bearer TOKEN` value, or NULL (another scheme). */
const char *xend_http_remote_bearer(const char *authorization, size_t *len);

/* The name and role of a token (for a login), or false. */
bool xend_http_remote_token(const char *token, size_t len, char *name, size_t name_len, int *role);

/* The configured session lifetime, seconds. */
unsigned xend_http_remote_session_seconds(void);

#endif
