/*
 * HTTP/1.1 client for xm: one connection per request, as the 2.0 client (python httplib)
 * opened. Speaks to xend over TCP or a unix socket and reads replies framed by
 * Content-Length, chunked transfer coding or connection close.
 *
 * Never sends User-Agent or Accept (xend answers SXP to a client that sends neither),
 * never keeps a connection alive and never follows a redirect.
 */
#ifndef XM_HTTP_H
#define XM_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <xend/abi.h>

#include "buf.h"
#include "tls.h"

/* Where xend is: a TCP host and port, or a unix socket path; and the URL root. With
 * `tls` (https://), the TLS options and the API token (XM_TOKEN) apply; the token is sent
 * only over TLS. */
struct xm_endpoint {
    bool is_unix;
    bool tls;
    struct xm_tls_options tls_opt; /* strings borrowed (argv, environment) */
    const char *token;             /* NULL = none; borrowed */
    char host[256];                /* TCP host, without IPv6 brackets */
    char port[16];                 /* TCP port */
    char unix_path[108];           /* unix socket path */
    char root[256];                /* URL root, always ending in '/', e.g. "/xend/" */
};

/*
 * Parse a server spec: "host:port", "host" (port 8000), "[v6addr]:port", "unix:/path",
 * "http://host[:port][/root/]" or "https://host[:port][/root/]" (port 8443). `root` (may be
 * NULL = "/xend/") is the URL root unless the URL names one. The TLS options and token
 * are the caller's to set afterwards. Returns 0 or -XEND_EINVAL with err set.
 */
int xm_endpoint_parse(const char *spec, const char *root, struct xm_endpoint *ep,
                      struct xend_err *err);

/* Called about once a second while a reply is awaited (progress of long operations). */
typedef void (*xm_http_tick_fn)(void *arg, unsigned elapsed_s);

struct xm_http_request {
    const char *method;       /* "GET" or "POST" */
    const char *target;       /* request target: path and query, borrowed */
    const char *content_type; /* NULL for none */
    const char *body;         /* borrowed, may be NULL */
    size_t body_len;
};

struct xm_http_response {
    int status;
    char *reason;       /* owned; the reason phrase ("" when none) */
    char *content_type; /* owned; NULL when the reply has none */
    struct xend_buf body;
};

#define XM_HTTP_RESPONSE_INIT                                                                      \
    {                                                                                              \
        0, NULL, NULL, XEND_BUF_INIT                                                               \
    }

/*
 * One connection to xend: TCP, a unix socket, or TLS over TCP for https://. Used for one
 * request; the follow stream of `xm events` reads it line by line.
 */
struct xm_conn {
    int fd;
    struct xm_tls *tls; /* NULL unless ep->tls */
};

/* Connect (and handshake, for https). 0, or a negative code with err set; *transport_failed
 * says the connect itself failed (xm then asks whether xend is running), not TLS. */
int xm_conn_open(const struct xm_endpoint *ep, int timeout_ms, struct xm_conn *c,
                 bool *transport_failed, struct xend_err *err);
/* Write all of data: 0 or a negative errno-style code. */
int xm_conn_write_all(struct xm_conn *c, const char *data, size_t len);
/* Whether bytes are ready to read without waiting (decrypted ones poll cannot see). */
bool xm_conn_pending(struct xm_conn *c);
/* Read what is there: > 0 bytes, 0 at the end, -EAGAIN when nothing is ready yet, another
 * negative code on error. */
ssize_t xm_conn_read(struct xm_conn *c, char *buf, size_t len);
void xm_conn_close(struct xm_conn *c);

/* The headers every request carries: Host, and over TLS the token (Authorization). */
void xm_http_put_common_headers(const struct xm_endpoint *ep, struct xend_buf *out);

/*
 * Send one request and read the whole reply. Returns 0, or -XEND_EIO with err set to the
 * socket error text (*transport_failed set true: xm then says xend is not running), or
 * -XEND_EINVAL when the reply is not HTTP. resp is filled on success (free it with
 * xm_http_response_free either way).
 */
int xm_http_do(const struct xm_endpoint *ep, const struct xm_http_request *req,
               struct xm_http_response *resp, xm_http_tick_fn tick, void *tick_arg,
               bool *transport_failed, struct xend_err *err);

/*
 * Parse a reply held in data[0..len). eof says whether the peer has closed. Returns 1 when
 * the reply is complete (resp filled), 0 when more bytes are needed, or -XEND_EINVAL with
 * err set when it is malformed. Exposed for the unit tests.
 */
int xm_http_parse_response(const char *data, size_t len, bool eof, struct xm_http_response *resp,
                           struct xend_err *err);

void xm_http_response_free(struct xm_http_response *resp);

#endif
