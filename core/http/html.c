/*
 * The browser pages (PROTOCOL-2.0.md §3.5): a breadcrumb of links, the reply (a listing of
 * links for a directory, pretty SXP otherwise) and one form per POST op registered on the
 * path, its fields taken from the route's doc string ("... params: a b:x|y c:file").
 *
 * Every piece of text that came from a client, a domain or a plugin is HTML-escaped here;
 * nothing else in xend writes HTML.
 */
#include <string.h>

#include "http/internal.h"
#include "http/role.h"
#include "sxp.h"

static void esc(const char *s, struct xend_buf *out)
{
    xend_http_html_escape(s, strlen(s), out);
}

/* A path segment percent-encoded for an href (then HTML-escaped by the caller's esc). */
static void url_segment(const char *s, struct xend_buf *out)
{
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        unsigned char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~' || c == ':' || c == '@')
            xend_buf_putc(out, (char)c);
        else
            xend_buf_printf(out, "%%%02X", c);
    }
}

/* "/seg0/seg1/.../seg[n-1]" URL-encoded. */
static void url_prefix(const struct xend_request *req, size_t n, struct xend_buf *out)
{
    for (size_t i = 0; i < n; i++) {
        xend_buf_putc(out, '/');
        url_segment(req->segs[i], out);
    }
}

static void breadcrumb(const struct xend_request *req, struct xend_buf *out)
{
    xend_buf_puts(out, "<h1>/");
    for (size_t i = 0; i < req->nseg; i++) {
        struct xend_buf href = XEND_BUF_INIT;
        url_prefix(req, i + 1, &href);
        xend_buf_puts(out, "<a href=\"");
        esc(xend_buf_str(&href), out);
        xend_buf_puts(out, "/\">");
        esc(req->segs[i], out);
        xend_buf_puts(out, "</a>/");
        xend_buf_free(&href);
    }
    xend_buf_puts(out, "</h1>\n");
}

/* A directory listing: a list of atoms, answered to a plain GET; an "ls" head is the
 * original's marker, not a child. */
static bool is_listing(const struct xend_request *req, const struct xend_sxp *v)
{
    if (req->method != XEND_HTTP_GET || req->op != NULL || !xend_sxp_is_list(v))
        return false;
    for (size_t i = 0; i < xend_sxp_length(v); i++)
        if (xend_sxp_is_list(xend_sxp_nth(v, i)))
            return false;
    return true;
}

static void listing(const struct xend_request *req, const struct xend_sxp *v, struct xend_buf *out)
{
    size_t len = xend_sxp_length(v);
    size_t from = (len > 0 && strcmp(xend_sxp_atom_text(xend_sxp_nth(v, 0)), "ls") == 0) ? 1 : 0;
    xend_buf_puts(out, "<ul>\n");
    for (size_t i = from; i < len; i++) {
        const char *child = xend_sxp_atom_text(xend_sxp_nth(v, i));
        struct xend_buf href = XEND_BUF_INIT;
        url_prefix(req, req->nseg, &href);
        xend_buf_putc(&href, '/');
        url_segment(child, &href);
        xend_buf_puts(out, "<li><a href=\"");
        esc(xend_buf_str(&href), out);
        xend_buf_puts(out, "\">");
        esc(child, out);
        xend_buf_puts(out, "</a></li>\n");
        xend_buf_free(&href);
    }
    xend_buf_puts(out, "</ul>\n");
}

struct forms {
    const struct xend_request *req;
    struct xend_buf *out;
};

/* One field spec of a doc string's params list: "name", "name:a|b|c", "name:file". */
static void field(const char *tok, size_t n, struct xend_buf *out, bool *multipart)
{
    const char *colon = memchr(tok, ':', n);
    struct xend_buf name = XEND_BUF_INIT;
    xend_buf_append(&name, tok, colon ? (size_t)(colon - tok) : n);
    const char *nm = xend_buf_str(&name);
    xend_buf_puts(out, "<p>");
    esc(nm, out);
    xend_buf_puts(out, ": ");
    if (colon == NULL) {
        xend_buf_puts(out, "<input type=\"text\" name=\"");
        esc(nm, out);
        xend_buf_puts(out, "\">");
    } else if ((size_t)(tok + n - colon - 1) == 4 && memcmp(colon + 1, "file", 4) == 0) {
        *multipart = true;
        xend_buf_puts(out, "<input type=\"file\" name=\"");
        esc(nm, out);
        xend_buf_puts(out, "\">");
    } else {
        const char *p = colon + 1, *end = tok + n;
        bool first = true;
        while (p < end) {
            const char *bar = memchr(p, '|', (size_t)(end - p));
            const char *e = bar ? bar : end;
            struct xend_buf choice = XEND_BUF_INIT;
            xend_buf_append(&choice, p, (size_t)(e - p));
            xend_buf_puts(out, "<input type=\"radio\" name=\"");
            esc(nm, out);
            xend_buf_puts(out, "\" value=\"");
            esc(xend_buf_str(&choice), out);
            xend_buf_puts(out, first ? "\" checked>" : "\">");
            esc(xend_buf_str(&choice), out);
            xend_buf_putc(out, ' ');
            xend_buf_free(&choice);
            first = false;
            p = e + 1;
        }
    }
    xend_buf_puts(out, "</p>\n");
    xend_buf_free(&name);
}

static void form(const char *op, const char *doc, int role, void *arg)
{
    struct forms *f = arg;
    if (!xend_role_allows(f->req->who.role, role))
        return; /* a form the caller could only get a 403 from */
    struct xend_buf fields = XEND_BUF_INIT, href = XEND_BUF_INIT;
    bool multipart = false;
    const char *params = doc ? strstr(doc, "params:") : NULL;
    size_t text_len = doc ? (params ? (size_t)(params - doc) : strlen(doc)) : 0;

    if (params != NULL) {
        const char *p = params + strlen("params:");
        while (*p != '\0') {
            while (*p == ' ' || *p == '\t')
                p++;
            const char *e = p;
            while (*e != '\0' && *e != ' ' && *e != '\t')
                e++;
            if (e > p)
                field(p, (size_t)(e - p), &fields, &multipart);
            p = e;
        }
    }
    url_prefix(f->req, f->req->nseg, &href);
    if (href.len == 0)
        xend_buf_putc(&href, '/');

    xend_buf_puts(f->out, "<form method=\"post\" action=\"");
    esc(xend_buf_str(&href), f->out);
    xend_buf_puts(f->out, multipart ? "\" enctype=\"multipart/form-data\">\n" : "\">\n");
    xend_buf_puts(f->out, "<input type=\"hidden\" name=\"op\" value=\"");
    esc(op, f->out);
    xend_buf_puts(f->out, "\">\n");
    /* A browser's state-changing request must carry it (access.c): a page of another
     * origin cannot read it, so it cannot forge the form. */
    xend_buf_puts(f->out, "<input type=\"hidden\" name=\"" XEND_HTTP_CSRF_FIELD "\" value=\"");
    xend_buf_puts(f->out, xend_http_access_token());
    xend_buf_puts(f->out, "\">\n");
    if (text_len > 0) {
        xend_buf_puts(f->out, "<p>");
        xend_http_html_escape(doc, text_len, f->out);
        xend_buf_puts(f->out, "</p>\n");
    }
    xend_buf_append(f->out, fields.data ? fields.data : "", fields.len);
    xend_buf_puts(f->out, "<input type=\"submit\" value=\"");
    esc(op, f->out);
    xend_buf_puts(f->out, "\">\n</form>\n");
    xend_buf_free(&fields);
    xend_buf_free(&href);
}

void xend_http_html_page(const struct xend_request *req, const struct xend_sxp *value,
                         struct xend_buf *out)
{
    xend_buf_puts(out, "<html><head><title>xend ");
    esc(req->path, out);
    xend_buf_puts(out, "</title></head><body>\n");
    breadcrumb(req, out);
    if (is_listing(req, value)) {
        listing(req, value, out);
    } else {
        struct xend_buf pretty = XEND_BUF_INIT;
        xend_sxp_pretty_buf(value, &pretty);
        xend_buf_puts(out, "<pre>");
        xend_http_html_escape(xend_buf_str(&pretty), pretty.len, out);
        xend_buf_puts(out, "</pre>\n");
        xend_buf_free(&pretty);
    }
    struct forms f = {req, out};
    xend_http_routes_posts_for(req->segs, req->nseg, form, &f);
    xend_buf_puts(out, "</body></html>\n");
}
