/*
 * TLS for xm (see tls.h), on OpenSSL.
 */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "buf.h"

struct xm_tls {
    SSL_CTX *ctx;
    SSL *ssl;
    int fd;
};

static int tls_err(struct xend_err *err, const char *what)
{
    char buf[256] = "";
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    return xend_err_set(err, XEND_EIO, "TLS: %s%s%s", what, buf[0] ? ": " : "", buf);
}

void xm_tls_close(struct xm_tls *t)
{
    if (t == NULL)
        return;
    if (t->ssl)
        SSL_shutdown(t->ssl);
    SSL_free(t->ssl);
    SSL_CTX_free(t->ctx);
    free(t);
}

static bool wait_fd(int fd, int want, int ms)
{
    struct pollfd p = {.fd = fd, .events = want == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN};
    int n;
    do {
        n = poll(&p, 1, ms);
    } while (n < 0 && errno == EINTR);
    return n == 1;
}

int xm_tls_open(int fd, const char *host, const struct xm_tls_options *o, int timeout_ms,
                struct xm_tls **out, struct xend_err *err)
{
    *out = NULL;
    struct xm_tls *t = xend_xcalloc(1, sizeof(*t));
    t->fd = fd;
    int rc = 0;
    if ((t->ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
        rc = tls_err(err, "cannot make a context");
        goto fail;
    }
    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    /* xend may close without close_notify once a reply is out; the reply's own framing
     * says whether it is whole. */
    SSL_CTX_set_options(t->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    if (o->ca != NULL && o->ca[0] != '\0') {
        if (SSL_CTX_load_verify_locations(t->ctx, o->ca, NULL) != 1) {
            char what[300];
            snprintf(what, sizeof(what), "cannot read the CA file %s (--ca, XM_CA)", o->ca);
            rc = tls_err(err, what);
            goto fail;
        }
    } else {
        SSL_CTX_set_default_verify_paths(t->ctx);
    }
    if (o->cert != NULL && o->cert[0] != '\0') {
        const char *key = o->key && o->key[0] ? o->key : o->cert;
        char what[300];
        if (SSL_CTX_use_certificate_chain_file(t->ctx, o->cert) != 1) {
            snprintf(what, sizeof(what), "cannot read the certificate %s (--cert, XM_CERT)",
                     o->cert);
            rc = tls_err(err, what);
            goto fail;
        }
        if (SSL_CTX_use_PrivateKey_file(t->ctx, key, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(t->ctx) != 1) {
            snprintf(what, sizeof(what), "cannot use the key %s (--key, XM_KEY)", key);
            rc = tls_err(err, what);
            goto fail;
        }
    }
    if ((t->ssl = SSL_new(t->ctx)) == NULL || SSL_set_fd(t->ssl, fd) != 1) {
        rc = tls_err(err, "cannot start");
        goto fail;
    }
    /* The server must be the one asked for: an address in its subjectAltName, or a name. */
    unsigned char addr[16];
    bool is_ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
    X509_VERIFY_PARAM *vp = SSL_get0_param(t->ssl);
    if (is_ip) {
        X509_VERIFY_PARAM_set1_ip_asc(vp, host);
    } else {
        SSL_set_tlsext_host_name(t->ssl, host);
        SSL_set1_host(t->ssl, host);
    }
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    for (;;) {
        int r = SSL_connect(t->ssl);
        if (r == 1)
            break;
        int e = SSL_get_error(t->ssl, r);
        if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) && wait_fd(fd, e, timeout_ms))
            continue;
        long v = SSL_get_verify_result(t->ssl);
        if (v != X509_V_OK) {
            ERR_clear_error();
            rc = xend_err_set(err, XEND_EIO,
                              "TLS: the server's certificate is not trusted: %s (give its CA "
                              "with --ca or XM_CA)",
                              X509_verify_cert_error_string(v));
        } else {
            rc = tls_err(err, "handshake failed");
        }
        fcntl(fd, F_SETFL, flags);
        goto fail;
    }
    fcntl(fd, F_SETFL, flags);
    *out = t;
    return 0;
fail:
    SSL_free(t->ssl);
    t->ssl = NULL;
    xm_tls_close(t);
    return rc;
}

int xm_tls_write_all(struct xm_tls *t, const char *data, size_t len)
{
    while (len > 0) {
        int n = SSL_write(t->ssl, data, len > (1u << 30) ? (1 << 30) : (int)len);
        if (n <= 0) {
            int e = SSL_get_error(t->ssl, n);
            if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
                wait_fd(t->fd, e, -1);
                continue;
            }
            ERR_clear_error();
            return -EIO;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

ssize_t xm_tls_read(struct xm_tls *t, char *buf, size_t len)
{
    int n = SSL_read(t->ssl, buf, len > (1u << 30) ? (1 << 30) : (int)len);
    if (n > 0)
        return n;
    int e = SSL_get_error(t->ssl, n);
    if (e == SSL_ERROR_ZERO_RETURN)
        return 0;
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return -EAGAIN;
    ERR_clear_error();
    /* A server that closes without close_notify ends the stream all the same; the reply's
     * framing (Content-Length, chunks) says whether it was whole. */
    return e == SSL_ERROR_SYSCALL ? 0 : -EIO;
}

bool xm_tls_pending(struct xm_tls *t)
{
    return SSL_pending(t->ssl) > 0;
}
