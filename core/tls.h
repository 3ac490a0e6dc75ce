/*
 * Mutual TLS for xend's own peer connections (the relocation port): each xend has a host
 * key and certificate, and trusts peers through a CA file, pinned SHA-256 fingerprints of
 * their certificates, or both. A connection is authenticated both ways before a byte of it
 * reaches its user (docs/relocation.md).
 *
 * The rest of xend speaks plain blocking descriptors (a backend writes a domain's image
 * straight to one), so a TLS connection is handed out as the near end of a socketpair; a
 * pump thread of its own carries the bytes between that and the TLS session. Without TLS
 * the same handle wraps the plain socket, so callers never tell the two apart.
 *
 * Threads: xend_tls_new/free on the loop at start and stop; xend_tls_conn_open may block
 * (the handshake) and runs on workers; xend_tls_conn_abort is safe from any thread while
 * the handle lives; xend_tls_conn_close from its owner once nothing else uses it.
 */
#ifndef XEND_CORE_TLS_H
#define XEND_CORE_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <xend/abi.h>

#include "fingerprint.h"

#define XEND_TLS_FINGERPRINT_LEN XEND_FINGERPRINT_LEN /* lowercase hex of SHA-256 */

struct xend_tls_options {
    const char *cert; /* this host's certificate (PEM) */
    const char *key;  /* its private key (PEM) */
    const char *ca;   /* NULL or "": no CA; peers must then be pinned */
    const char *pins; /* space-separated fingerprints (hex, ':' allowed); NULL or "" none */
};

struct xend_tls;      /* a host identity and the peers it trusts; owned by its creator */
struct xend_tls_conn; /* one connection; owned by whoever opened it */

/* Load the identity and trust; refuses a key that does not match, or no trust at all. */
int xend_tls_new(const struct xend_tls_options *opt, struct xend_tls **out, struct xend_err *err);
void xend_tls_free(struct xend_tls *tls);

/*
 * Take `sock` (a connected TCP socket) and authenticate it: as the server (accepted) or the
 * client. With tls NULL the socket is used as it is. On success *out is the connection and
 * `peer` (if not NULL) receives the peer certificate's fingerprint ("" without TLS). On
 * failure the socket stays the caller's and err says why (the peer is not trusted, ...).
 */
int xend_tls_conn_open(struct xend_tls *tls, int sock, bool server, struct xend_tls_conn **out,
                       char peer[XEND_TLS_FINGERPRINT_LEN + 1], struct xend_err *err);
/* The plain blocking descriptor to read and write; valid until close. */
int xend_tls_conn_fd(const struct xend_tls_conn *c);
/* The TCP socket under it (the same descriptor without TLS), to count what went over the
 * wire: the descriptor above is a socket pair with TLS, which keeps no count. */
int xend_tls_conn_socket(const struct xend_tls_conn *c);
/* Cut the connection: reads and writes on its descriptor fail from now on. Any thread. */
void xend_tls_conn_abort(struct xend_tls_conn *c);
/* Cut it, wait for its pump, free everything. NULL is fine. */
void xend_tls_conn_close(struct xend_tls_conn *c);

/* Make a host key (EC P-256) and a self-signed certificate for `name` (its CN and a DNS
 * subjectAltName), valid ten years, written to key (mode 0600) and cert; neither may exist
 * yet. */
int xend_tls_make_identity(const char *cert, const char *key, const char *name,
                           struct xend_err *err);
/* The fingerprint of the certificate in a PEM file. */
int xend_tls_fingerprint_file(const char *cert, char out[XEND_TLS_FINGERPRINT_LEN + 1],
                              struct xend_err *err);

#endif
