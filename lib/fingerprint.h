/*
 * SHA-256 fingerprints of X.509 certificates, the one form xend names a certificate by
 * (relocation peers, HTTPS clients, xm's view of a server): 64 lowercase hex digits.
 * In lib/ (xend_common), so the daemon and xm share it.
 *
 * Threads: any.
 */
#ifndef XEND_LIB_FINGERPRINT_H
#define XEND_LIB_FINGERPRINT_H

#include <stdbool.h>

#define XEND_FINGERPRINT_LEN 64

/* The fingerprint of cert (an X509 *); "" if OpenSSL cannot digest it. */
void xend_fingerprint_x509(const void *cert, char out[XEND_FINGERPRINT_LEN + 1]);
/* "AB:cd:..." -> "abcd..."; false unless 64 hex digits (colons aside). */
bool xend_fingerprint_normalise(const char *in, char out[XEND_FINGERPRINT_LEN + 1]);

#endif
