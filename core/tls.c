/*
 * Mutual TLS for peer connections (tls.h), on OpenSSL: TLS 1.2 or newer, a certificate
 * required on both sides, each verified against the CA file or the pinned fingerprints.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "fingerprint.h"
#include "tls.h"

#define PUMP_BUF 65536
#define HANDSHAKE_TIMEOUT_MS 10000

struct xend_tls {
    SSL_CTX *ctx;
    char (*pins)[XEND_TLS_FINGERPRINT_LEN + 1];
    size_t npins;
    bool have_ca;
};

struct xend_tls_conn {
    int fd;   /* what the user reads and writes: the socket, or the near end of the pair */
    int sock; /* the TCP socket, open until close */
    int far;  /* the pump's end of the pair; -1 without TLS */
    SSL *ssl;
    pthread_t pump;
    bool pumping;
};

static int ssl_err(struct xend_err *err, int code, const char *what)
{
    char buf[256] = "";
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    return xend_err_set(err, code, "%s%s%s", what, buf[0] ? ": " : "", buf);
}

static void fingerprint(X509 *cert, char out[XEND_TLS_FINGERPRINT_LEN + 1])
{
    xend_fingerprint_x509(cert, out);
}

static int verify_index;

/* Depth 0 decides: a chain the CA vouches for, or a pinned certificate. */
static int verify_peer(int ok, X509_STORE_CTX *store)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct xend_tls *t = SSL_get_ex_data(ssl, verify_index);
    if (X509_STORE_CTX_get_error_depth(store) > 0)
        return ok || t->npins > 0;
    if (ok && t->have_ca)
        return 1;
    char fp[XEND_TLS_FINGERPRINT_LEN + 1];
    fingerprint(X509_STORE_CTX_get_current_cert(store), fp);
    for (size_t i = 0; i < t->npins; i++)
        if (strcmp(fp, t->pins[i]) == 0) {
            X509_STORE_CTX_set_error(store, X509_V_OK);
            return 1;
        }
    return 0;
}

int xend_tls_new(const struct xend_tls_options *opt, struct xend_tls **out, struct xend_err *err)
{
    *out = NULL;
    struct xend_tls *t = xend_xcalloc(1, sizeof(*t));
    int rc = 0;
    if (opt->pins && *opt->pins) {
        char *copy = xend_xstrdup(opt->pins), *save = NULL;
        for (char *p = strtok_r(copy, " \t,", &save); p && rc == 0;
             p = strtok_r(NULL, " \t,", &save)) {
            t->pins = xend_xrealloc(t->pins, (t->npins + 1) * sizeof(*t->pins));
            if (!xend_fingerprint_normalise(p, t->pins[t->npins]))
                rc = xend_err_set(err, XEND_EINVAL, "not a SHA-256 fingerprint: %s", p);
            else
                t->npins++;
        }
        free(copy);
    }
    t->have_ca = opt->ca && *opt->ca;
    if (rc == 0 && !t->have_ca && t->npins == 0)
        rc = xend_err_set(err, XEND_EINVAL, "TLS needs peers to trust: a CA file or fingerprints");
    if (rc == 0 && verify_index == 0)
        verify_index = SSL_get_ex_new_index(0, "xend_tls", NULL, NULL, NULL);
    if (rc == 0 && (t->ctx = SSL_CTX_new(TLS_method())) == NULL)
        rc = ssl_err(err, XEND_EIO, "cannot make a TLS context");
    if (rc == 0) {
        SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
        SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_peer);
        if (SSL_CTX_use_certificate_chain_file(t->ctx, opt->cert) != 1)
            rc = ssl_err(err, XEND_EINVAL, "cannot read the host certificate");
        else if (SSL_CTX_use_PrivateKey_file(t->ctx, opt->key, SSL_FILETYPE_PEM) != 1)
            rc = ssl_err(err, XEND_EINVAL, "cannot read the host key");
        else if (SSL_CTX_check_private_key(t->ctx) != 1)
            rc = ssl_err(err, XEND_EINVAL, "the host key does not match its certificate");
        else if (t->have_ca && SSL_CTX_load_verify_locations(t->ctx, opt->ca, NULL) != 1)
            rc = ssl_err(err, XEND_EINVAL, "cannot read the CA file");
    }
    if (rc < 0) {
        xend_tls_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void xend_tls_free(struct xend_tls *t)
{
    if (t == NULL)
        return;
    SSL_CTX_free(t->ctx);
    free(t->pins);
    free(t);
}

/* Wait for the socket as SSL wants; false on timeout or error. */
static bool ssl_wait(int sock, int want, int ms)
{
    struct pollfd p = {.fd = sock, .events = want == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN};
    return poll(&p, 1, ms) == 1;
}

/*
 * The pump: bytes from the near end go out through SSL, bytes from SSL go to the near end.
 * It ends at the first end of stream or error on either side, closing only its own end of
 * the pair, so the user sees end of stream; the socket stays open for close to free.
 */
static void *pump(void *arg)
{
    struct xend_tls_conn *c = arg;
    char *up = malloc(PUMP_BUF), *down = malloc(PUMP_BUF);
    size_t up_len = 0, up_off = 0, down_len = 0, down_off = 0;
    bool done = up == NULL || down == NULL;
    while (!done) {
        bool progress = false;
        if (up_len == 0) { /* the user's bytes, to send */
            ssize_t n = read(c->far, up, PUMP_BUF);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                break;
            if (n > 0) {
                up_len = (size_t)n;
                up_off = 0;
                progress = true;
            }
        }
        int want_up = 0, want_down = 0;
        while (up_len > 0) {
            int n = SSL_write(c->ssl, up + up_off, (int)(up_len - up_off));
            if (n <= 0) {
                want_up = SSL_get_error(c->ssl, n);
                if (want_up != SSL_ERROR_WANT_READ && want_up != SSL_ERROR_WANT_WRITE)
                    done = true;
                break;
            }
            up_off += (size_t)n;
            if (up_off == up_len)
                up_len = 0;
            progress = true;
        }
        while (!done && down_len == 0) {
            int n = SSL_read(c->ssl, down, PUMP_BUF);
            if (n <= 0) {
                want_down = SSL_get_error(c->ssl, n);
                if (want_down != SSL_ERROR_WANT_READ && want_down != SSL_ERROR_WANT_WRITE)
                    done = true;
                break;
            }
            down_len = (size_t)n;
            down_off = 0;
            progress = true;
        }
        while (down_len > 0) {
            ssize_t n = write(c->far, down + down_off, down_len - down_off);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                break;
            if (n <= 0) {
                done = true;
                break;
            }
            down_off += (size_t)n;
            if (down_off == down_len)
                down_len = 0;
            progress = true;
        }
        if (done || progress)
            continue;
        struct pollfd p[2] = {{.fd = c->far}, {.fd = c->sock}};
        if (up_len == 0)
            p[0].events |= POLLIN;
        if (down_len > 0)
            p[0].events |= POLLOUT;
        if (want_up == SSL_ERROR_WANT_WRITE || want_down == SSL_ERROR_WANT_WRITE)
            p[1].events |= POLLOUT;
        if (down_len == 0 || want_up == SSL_ERROR_WANT_READ)
            p[1].events |= POLLIN;
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if ((p[0].revents & (POLLHUP | POLLERR | POLLNVAL)) && !(p[0].revents & POLLIN))
            break;
        if ((p[1].revents & (POLLERR | POLLNVAL)))
            break;
    }
    /* What SSL already read still reaches the user before the end of stream. */
    while (down_len > 0) {
        ssize_t n = write(c->far, down + down_off, down_len - down_off);
        if (n <= 0)
            break;
        down_off += (size_t)n;
        down_len = down_off == down_len ? 0 : down_len;
    }
    free(up);
    free(down);
    close(c->far);
    c->far = -1;
    return NULL;
}

int xend_tls_conn_open(struct xend_tls *t, int sock, bool server, struct xend_tls_conn **out,
                       char peer[XEND_TLS_FINGERPRINT_LEN + 1], struct xend_err *err)
{
    *out = NULL;
    if (peer)
        peer[0] = '\0';
    struct xend_tls_conn *c = xend_xcalloc(1, sizeof(*c));
    c->sock = sock;
    c->fd = sock;
    c->far = -1;
    if (t == NULL) {
        *out = c;
        return 0;
    }
    int pair[2] = {-1, -1};
    int rc = 0;
    c->ssl = SSL_new(t->ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, sock) != 1) {
        rc = ssl_err(err, XEND_EIO, "cannot start TLS");
        goto fail;
    }
    SSL_set_ex_data(c->ssl, verify_index, t);
    fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK);
    for (;;) {
        int r = server ? SSL_accept(c->ssl) : SSL_connect(c->ssl);
        if (r == 1)
            break;
        int e = SSL_get_error(c->ssl, r);
        if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) &&
            ssl_wait(sock, e, HANDSHAKE_TIMEOUT_MS))
            continue;
        long v = SSL_get_verify_result(c->ssl);
        rc = v != X509_V_OK ? xend_err_set(err, XEND_EPERM, "TLS peer not trusted: %s",
                                           X509_verify_cert_error_string(v))
                            : ssl_err(err, XEND_EPERM, "TLS handshake failed");
        goto fail;
    }
    X509 *cert = SSL_get1_peer_certificate(c->ssl);
    if (cert && peer)
        fingerprint(cert, peer);
    X509_free(cert);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
        rc = xend_err_set(err, XEND_EIO, "socketpair: %s", strerror(errno));
        goto fail;
    }
    fcntl(pair[1], F_SETFL, fcntl(pair[1], F_GETFL) | O_NONBLOCK);
    c->fd = pair[0];
    c->far = pair[1];
    if (pthread_create(&c->pump, NULL, pump, c) != 0) {
        rc = xend_err_set(err, XEND_EIO, "cannot start the TLS pump");
        close(pair[0]);
        close(pair[1]);
        c->fd = sock;
        c->far = -1;
        goto fail;
    }
    c->pumping = true;
    *out = c;
    return 0;
fail:
    SSL_free(c->ssl);
    fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) & ~O_NONBLOCK);
    free(c);
    return rc;
}

int xend_tls_conn_fd(const struct xend_tls_conn *c)
{
    return c->fd;
}

int xend_tls_conn_socket(const struct xend_tls_conn *c)
{
    return c->sock;
}

void xend_tls_conn_abort(struct xend_tls_conn *c)
{
    shutdown(c->sock, SHUT_RDWR);
    if (c->fd != c->sock)
        shutdown(c->fd, SHUT_RDWR);
}

void xend_tls_conn_close(struct xend_tls_conn *c)
{
    if (c == NULL)
        return;
    if (c->pumping) {
        /* The user's end goes first: the pump sees its end of stream and sends what it has. */
        close(c->fd);
        pthread_join(c->pump, NULL);
        SSL_shutdown(c->ssl);
    }
    SSL_free(c->ssl);
    close(c->sock);
    free(c);
}

int xend_tls_make_identity(const char *cert, const char *key, const char *name,
                           struct xend_err *err)
{
    struct stat st;
    if (stat(cert, &st) == 0 || stat(key, &st) == 0)
        return xend_err_set(err, XEND_EEXIST, "%s or %s exists already: keep it, or remove both",
                            cert, key);
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    int rc = 0;
    FILE *kf = NULL, *cf = NULL;
    if (pkey == NULL || x == NULL) {
        rc = ssl_err(err, XEND_EIO, "cannot make a key");
        goto out;
    }
    unsigned char serial[16] = {0}; /* defined even when /dev/urandom gives nothing */
    FILE *ur = fopen("/dev/urandom", "r");
    size_t got = ur ? fread(serial, 1, sizeof(serial), ur) : 0;
    if (ur)
        fclose(ur);
    serial[0] &= 0x7f;
    BIGNUM *bn = BN_bin2bn(serial, (int)got, NULL);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
    BN_free(bn);
    X509_set_version(x, 2);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 86400);
    X509_set_pubkey(x, pkey);
    X509_NAME *nm = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_ASC, (const unsigned char *)"xend", -1, -1, 0);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)name, -1, -1, 0);
    X509_set_issuer_name(x, nm);
    /* The name again as a subjectAltName: browsers (and RFC 6125 clients) ignore the CN
     * when they check the name of the HTTPS port's certificate. */
    char san[300];
    snprintf(san, sizeof(san), "DNS:%s", name);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
    if (ext != NULL) {
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
    ERR_clear_error();
    if (X509_sign(x, pkey, EVP_sha256()) == 0) {
        rc = ssl_err(err, XEND_EIO, "cannot sign the certificate");
        goto out;
    }
    int kfd = open(key, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (kfd < 0 || (kf = fdopen(kfd, "w")) == NULL ||
        PEM_write_PrivateKey(kf, pkey, NULL, NULL, 0, NULL, NULL) != 1) {
        if (kfd >= 0 && kf == NULL)
            close(kfd);
        rc = xend_err_set(err, XEND_EIO, "cannot write %s: %s", key, strerror(errno));
        goto out;
    }
    int cfd = open(cert, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (cfd < 0 || (cf = fdopen(cfd, "w")) == NULL || PEM_write_X509(cf, x) != 1) {
        if (cfd >= 0 && cf == NULL)
            close(cfd);
        rc = xend_err_set(err, XEND_EIO, "cannot write %s: %s", cert, strerror(errno));
    }
out:
    if (kf && fclose(kf) != 0 && rc == 0)
        rc = xend_err_set(err, XEND_EIO, "cannot write %s: %s", key, strerror(errno));
    if (cf && fclose(cf) != 0 && rc == 0)
        rc = xend_err_set(err, XEND_EIO, "cannot write %s: %s", cert, strerror(errno));
    X509_free(x);
    EVP_PKEY_free(pkey);
    return rc;
}

int xend_tls_fingerprint_file(const char *cert, char out[XEND_TLS_FINGERPRINT_LEN + 1],
                              struct xend_err *err)
{
    FILE *f = fopen(cert, "r");
    if (f == NULL)
        return xend_err_set(err, XEND_ENOENT, "cannot read %s: %s", cert, strerror(errno));
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (x == NULL)
        return ssl_err(err, XEND_EINVAL, "not a PEM certificate");
    fingerprint(x, out);
    X509_free(x);
    return 0;
}
