/*
 * The xend client API of xm (see client.h).
 */
#include "client.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

void xm_result_free(struct xm_result *r)
{
    xend_sxp_free(r->sxp);
    free(r->text);
    memset(r, 0, sizeof(*r));
}

void xm_client_path(const struct xm_endpoint *ep, const char *rel, bool post, struct xend_buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    xend_buf_puts(out, ep->root);
    for (const unsigned char *p = (const unsigned char *)rel; *p != '\0'; p++) {
        /* Names are atoms, so this rarely fires; it keeps the request line well formed. */
        if (*p <= ' ' || *p >= 0x7f || *p == '%' || *p == '?' || *p == '#') {
            xend_buf_putc(out, '%');
            xend_buf_putc(out, hex[*p >> 4]);
            xend_buf_putc(out, hex[*p & 15]);
        } else {
            xend_buf_putc(out, (char)*p);
        }
    }
    if (post && out->len > 1 && out->data[out->len - 1] == '/') {
        out->len--;
        out->data[out->len] = '\0';
    }
}

static void quote_plus(const char *s, struct xend_buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (isalnum(*p) || *p == '_' || *p == '.' || *p == '-') {
            xend_buf_putc(out, (char)*p);
        } else if (*p == ' ') {
            xend_buf_putc(out, '+');
        } else {
            xend_buf_putc(out, '%');
            xend_buf_putc(out, hex[*p >> 4]);
            xend_buf_putc(out, hex[*p & 15]);
        }
    }
}

void xm_urlencode(const struct xm_param *params, size_t n, struct xend_buf *out)
{
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            xend_buf_putc(out, '&');
        quote_plus(params[i].name, out);
        xend_buf_putc(out, '=');
        quote_plus(params[i].value != NULL ? params[i].value : "", out);
    }
}

int xm_read_file(const char *path, struct xend_buf *out, struct xend_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return xend_err_set(err, XEND_EIO, "[Errno %d] %s: '%s'", errno, strerror(errno), path);
    for (;;) {
        char *dst = xend_buf_reserve(out, 65536);
        ssize_t n = read(fd, dst, 65536);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            return xend_err_set(err, XEND_EIO, "[Errno %d] %s: '%s'", e, strerror(e), path);
        }
        if (n == 0)
            break;
        xend_buf_commit(out, (size_t)n);
    }
    close(fd);
    return 0;
}

int xm_multipart(const struct xm_param *params, size_t n, const char *boundary,
                 struct xend_buf *out, struct xend_err *err)
{
    for (size_t i = 0; i < n; i++) {
        xend_buf_printf(out, "--%s\r\nContent-Disposition: form-data; name=\"%s\"", boundary,
                        params[i].name);
        if (params[i].file != NULL) {
            xend_buf_printf(out, "; filename=\"%s\"\r\n", params[i].file);
            xend_buf_puts(out, "Content-Type: application/octet-stream\r\n\r\n");
            int rc = xm_read_file(params[i].file, out, err);
            if (rc < 0)
                return rc;
        } else {
            xend_buf_puts(out, "\r\n\r\n");
            xend_buf_puts(out, params[i].value != NULL ? params[i].value : "");
        }
        /* Unlike the 2.0 client, end every part with CRLF so the boundary is always found. */
        xend_buf_puts(out, "\r\n");
    }
    xend_buf_printf(out, "--%s--\r\n", boundary);
    return 0;
}

/*
 * The length of the first value of an SXP text, so that a reply with trailing garbage
 * (2.0.0 xend added an HTML page after (xend.err ...)) still yields its first value, as the
 * 2.0 client's parser did. 0 when no complete value is found.
 */
static size_t first_value_len(const char *s, size_t len)
{
    size_t i = 0;
    int depth = 0;
    while (i < len) {
        char c = s[i];
        if (c == '#') {
            while (i < len && s[i] != '\n')
                i++;
            continue;
        }
        if (c == '"' || c == '\'') {
            for (i++; i < len && s[i] != c; i++)
                if (s[i] == '\\')
                    i++;
            i++;
        } else if (c == '(') {
            depth++;
            i++;
        } else if (c == ')') {
            depth--;
            i++;
            if (depth <= 0)
                return i;
        } else if (isspace((unsigned char)c)) {
            i++;
        } else {
            while (i < len && !isspace((unsigned char)s[i]) && s[i] != '(' && s[i] != ')')
                i++;
            if (depth == 0)
                return i;
        }
    }
    return 0;
}

static bool is_sxp_type(const char *ct)
{
    if (ct == NULL)
        return false;
    size_t n = strcspn(ct, ";");
    while (n > 0 && isspace((unsigned char)ct[n - 1]))
        n--;
    return n == 15 && strncasecmp(ct, "application/sxp", 15) == 0;
}

int xm_reply_decode(int status, const char *reason, const char *content_type, const char *body,
                    size_t len, struct xm_result *out, struct xend_err *err)
{
    memset(out, 0, sizeof(*out));
    out->status = status;
    if (status == 204)
        return 0;
    if (status != 200 && status != 201 && status != 202) {
        if (reason != NULL && reason[0] != '\0')
            return xend_err_set(err, XEND_EIO, "%s", reason);
        return xend_err_set(err, XEND_EIO, "HTTP error %d", status);
    }
    if (!is_sxp_type(content_type)) {
        out->kind = XM_RESULT_TEXT;
        out->text = xend_xstrndup(body != NULL ? body : "", len);
        out->text_len = len;
        return 0;
    }
    char msg[256];
    struct xend_sxp *all = NULL;
    if (xend_sxp_parse_all(body, len, NULL, &all, msg, sizeof(msg)) < 0) {
        size_t first = first_value_len(body, len);
        struct xend_sxp *one = NULL;
        if (first == 0 || xend_sxp_parse(body, first, NULL, &one, msg, sizeof(msg)) < 0)
            return xend_err_set(err, XEND_EINVAL, "invalid reply from xend: %s", msg);
        all = xend_sxp_list();
        xend_sxp_append_take(all, one);
    }
    if (xend_sxp_length(all) == 0) {
        xend_sxp_free(all);
        return 0;
    }
    struct xend_sxp *v = xend_sxp_copy(xend_sxp_nth(all, 0));
    xend_sxp_free(all);
    const char *name = xend_sxp_name(v);
    if (name != NULL && strcmp(name, "xend.err") == 0) {
        struct xend_sxp *m = xend_sxp_nth(v, 1);
        int rc;
        if (m == NULL) {
            rc = xend_err_set(err, XEND_EIO, "xend error");
        } else if (xend_sxp_is_list(m)) {
            char *text = xend_sxp_print(m);
            rc = xend_err_set(err, XEND_EIO, "%s", text);
            free(text);
        } else {
            rc = xend_err_set(err, XEND_EIO, "%s", xend_sxp_atom_text(m));
        }
        xend_sxp_free(v);
        return rc;
    }
    out->kind = XM_RESULT_SXP;
    out->sxp = v;
    return 0;
}

static void random_boundary(char out[17])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char r[8];
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
        unsigned long long t = (unsigned long long)getpid() * 2654435761ULL;
        memcpy(r, &t, sizeof(r));
    }
    for (int i = 0; i < 8; i++) {
        out[2 * (size_t)i] = hex[r[i] >> 4];
        out[2 * i + 1] = hex[r[i] & 15];
    }
    out[16] = '\0';
}

static int client_request(struct xm_client *c, const char *method, const char *rel,
                          const struct xm_param *params, size_t n, struct xm_result *out,
                          struct xend_err *err)
{
    bool post = strcmp(method, "POST") == 0;
    bool upload = false;
    for (size_t i = 0; i < n; i++)
        upload |= params[i].file != NULL;

    struct xend_buf target = XEND_BUF_INIT, body = XEND_BUF_INIT;
    char ctype[64];
    struct xm_http_request req = {.method = method};
    memset(out, 0, sizeof(*out));
    xm_client_path(&c->ep, rel, post, &target);
    int rc = 0;
    if (post && upload) {
        char boundary[17];
        random_boundary(boundary);
        snprintf(ctype, sizeof(ctype), "multipart/form-data; boundary=%s", boundary);
        rc = xm_multipart(params, n, boundary, &body, err);
        req.content_type = ctype;
    } else if (post) {
        xm_urlencode(params, n, &body);
        req.content_type = "application/x-www-form-urlencoded";
    } else if (n > 0) {
        xend_buf_putc(&target, '?');
        xm_urlencode(params, n, &target);
    }
    if (rc == 0) {
        req.target = xend_buf_str(&target);
        req.body = post ? xend_buf_str(&body) : NULL;
        req.body_len = post ? body.len : 0;
        struct xm_http_response resp = XM_HTTP_RESPONSE_INIT;
        rc = xm_http_do(&c->ep, &req, &resp, c->tick, c->tick_arg, &c->transport_failed, err);
        if (rc == 0)
            rc = xm_reply_decode(resp.status, resp.reason, resp.content_type,
                                 xend_buf_str(&resp.body), resp.body.len, out, err);
        xm_http_response_free(&resp);
    }
    xend_buf_free(&target);
    xend_buf_free(&body);
    return rc;
}

int xm_client_get(struct xm_client *c, const char *rel, const struct xm_param *params, size_t n,
                  struct xm_result *out, struct xend_err *err)
{
    return client_request(c, "GET", rel, params, n, out, err);
}

int xm_client_post(struct xm_client *c, const char *rel, const struct xm_param *params, size_t n,
                   struct xm_result *out, struct xend_err *err)
{
    return client_request(c, "POST", rel, params, n, out, err);
}
