/*
 * TLS for xm's connections to xend's HTTPS port (https://HOST:PORT): the server's
 * certificate is verified against --ca (XM_CA), else the system's CAs, and must name HOST
 * (a DNS name, or an IP address in its subjectAltName); xm's own certificate (--cert/--key,
 * XM_CERT/XM_KEY) is shown when xend asks for one. There is no way to skip the checks.
 *
 * One connection per request, like the plain client; blocking, with a deadline for the
 * handshake. The socket stays the caller's.
 */
#ifndef XM_TLS_H
#define XM_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <xend/abi.h>

struct xm_tls_options {
    const char *cert; /* client certificate (PEM, chain allowed); NULL = none */
    const char *key;  /* its key; NULL = in the cert file */
    const char *ca;   /* CA file for the server; NULL = the system's */
};

struct xm_tls; /* one session; owned by whoever opened it */

/* Handshake as a client over the connected socket fd with server `host`. 0 with *out,
 * or -XEND_EIO with err saying why ("certificate verify failed: hostname mismatch"). */
int xm_tls_open(int fd, const char *host, const struct xm_tls_options *o, int timeout_ms,
                struct xm_tls **out, struct xend_err *err);
/* Write all of data; 0 or a negative errno-style code. */
int xm_tls_write_all(struct xm_tls *t, const char *data, size_t len);
/* Read up to len bytes: > 0 bytes, 0 at the end of the stream, -EAGAIN when nothing is
 * ready yet, another negative code on error. */
ssize_t xm_tls_read(struct xm_tls *t, char *buf, size_t len);
/* Whether decrypted bytes are waiting (poll would not see them). */
bool xm_tls_pending(struct xm_tls *t);
/* Close the session (not the socket). NULL is fine. */
void xm_tls_close(struct xm_tls *t);

#endif
