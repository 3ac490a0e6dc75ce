/*
 * The xend client API of xm (the C counterpart of the 2.0 XendClient): builds the URL of a
 * resource under the xend root, encodes parameters as the 2.0 client did (GET query string;
 * POST urlencoded body, or multipart/form-data when a parameter is a file to upload), and
 * turns the reply into a result or an error message.
 *
 * Never prints anything: callers decide what the user sees.
 */
#ifndef XM_CLIENT_H
#define XM_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <xend/abi.h>

#include "buf.h"
#include "http.h"
#include "sxp.h"

struct xm_client {
    struct xm_endpoint ep;
    bool transport_failed; /* the last request could not reach xend */
    xm_http_tick_fn tick;  /* progress callback for the next requests, may be NULL */
    void *tick_arg;
};

/* A request parameter. With `file` set, the file of that path is uploaded as the value. */
struct xm_param {
    const char *name;
    const char *value; /* borrowed; ignored when file is set */
    const char *file;  /* borrowed path, or NULL */
};

enum xm_result_kind {
    XM_RESULT_NONE, /* 204, or an empty SXP reply */
    XM_RESULT_SXP,  /* application/sxp: the first value */
    XM_RESULT_TEXT, /* any other content type: the raw body */
};

struct xm_result {
    enum xm_result_kind kind;
    int status;
    struct xend_sxp *sxp; /* owned, XM_RESULT_SXP only */
    char *text;           /* owned, NUL-terminated, XM_RESULT_TEXT only */
    size_t text_len;
};

/*
 * GET or POST `rel` (relative to the root, e.g. "domain/", "domain/vm1", "node/dmesg")
 * with n parameters. Returns 0 with *out filled (free with xm_result_free), or a negative
 * code with err set: the (xend.err "...") message, the reason phrase of a non-2xx reply, or
 * a socket error (then c->transport_failed is true).
 */
int xm_client_get(struct xm_client *c, const char *rel, const struct xm_param *params, size_t n,
                  struct xm_result *out, struct xend_err *err);
int xm_client_post(struct xm_client *c, const char *rel, const struct xm_param *params, size_t n,
                   struct xm_result *out, struct xend_err *err);

void xm_result_free(struct xm_result *r);

/* Append the contents of a file to out. Returns 0 or -XEND_EIO with err set to python's
 * IOError text ("[Errno 2] No such file or directory: 'x'"). */
int xm_read_file(const char *path, struct xend_buf *out, struct xend_err *err);

/* The path of a resource under the root: root + rel, with unsafe bytes %-escaped; a POST
 * drops one trailing '/' as the 2.0 client did. Exposed for the unit tests. */
void xm_client_path(const struct xm_endpoint *ep, const char *rel, bool post, struct xend_buf *out);

/* application/x-www-form-urlencoded, as python's urllib.urlencode (quote_plus). */
void xm_urlencode(const struct xm_param *params, size_t n, struct xend_buf *out);

/*
 * multipart/form-data with the given boundary; files are read from disk. Returns 0 or
 * -XEND_EIO with err naming the file that could not be read.
 */
int xm_multipart(const struct xm_param *params, size_t n, const char *boundary,
                 struct xend_buf *out, struct xend_err *err);

/*
 * Turn a reply into a result as the 2.0 client did (XendProtocol): 204 is NONE; a status
 * other than 200/201/202 is an error with the reason phrase; application/sxp is parsed
 * and (xend.err MSG) is an error; anything else is text. Exposed for the unit tests.
 */
int xm_reply_decode(int status, const char *reason, const char *content_type, const char *body,
                    size_t len, struct xm_result *out, struct xend_err *err);

#endif
