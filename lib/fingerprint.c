/*
 * Certificate fingerprints (fingerprint.h).
 */
#include "fingerprint.h"

#include <stdio.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

void xend_fingerprint_x509(const void *cert, char out[XEND_FINGERPRINT_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    out[0] = '\0';
    if (cert == NULL || X509_digest(cert, EVP_sha256(), md, &n) != 1)
        return;
    for (unsigned int i = 0; i < n && 2 * i + 2 <= XEND_FINGERPRINT_LEN; i++)
        snprintf(out + 2 * (size_t)i, 3, "%02x", md[i]);
}

bool xend_fingerprint_normalise(const char *in, char out[XEND_FINGERPRINT_LEN + 1])
{
    size_t n = 0;
    for (const char *p = in; *p; p++) {
        if (*p == ':')
            continue;
        char c = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) || n >= XEND_FINGERPRINT_LEN)
            return false;
        out[n++] = c;
    }
    out[n] = '\0';
    return n == XEND_FINGERPRINT_LEN;
}
