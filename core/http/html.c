/*
 * The browser pages (docs/compat.md): a breadcrumb of links, the reply (a listing of
 * links for a directory, pretty SXP otherwise) and one form per POST op registered on the
 * path, its fields taken from the route's doc string ("... params: a b:x|y c:file").
 *
 * Every piece of text that came from a client, a domain or a plugin is HTML-escaped here;
 * nothing else in xend writes HTML.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

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
    /* Each control inside its label, so that a screen reader names it. */
    xend_buf_puts(out, "<p><label>");
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
            xend_buf_puts(out, "<label><input type=\"radio\" name=\"");
            esc(nm, out);
            xend_buf_puts(out, "\" value=\"");
            esc(xend_buf_str(&choice), out);
            xend_buf_puts(out, first ? "\" checked>" : "\">");
            esc(xend_buf_str(&choice), out);
            xend_buf_puts(out, "</label> ");
            xend_buf_free(&choice);
            first = false;
            p = e + 1;
        }
    }
    xend_buf_puts(out, "</label></p>\n");
    xend_buf_free(&name);
}

size_t xend_http_doc_params(const char *doc, xend_http_doc_param_fn *fn, void *arg)
{
    const char *params = doc ? strstr(doc, "params:") : NULL;
    if (params == NULL)
        return doc ? strlen(doc) : 0;
    for (const char *p = params + strlen("params:"); *p != '\0';) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *e = p;
        while (*e != '\0' && *e != ' ' && *e != '\t')
            e++;
        if (e > p)
            fn(p, (size_t)(e - p), arg);
        p = e;
    }
    return (size_t)(params - doc);
}

struct field_sink {
    struct xend_buf *out;
    bool multipart;
};

static void field_of_doc(const char *word, size_t len, void *arg)
{
    struct field_sink *fs = arg;
    field(word, len, fs->out, &fs->multipart);
}

static void form(const char *op, const char *doc, int role, void *arg)
{
    struct forms *f = arg;
    if (!xend_role_allows(f->req->who.role, role))
        return; /* a form the caller could only get a 403 from */
    struct xend_buf fields = XEND_BUF_INIT, href = XEND_BUF_INIT;
    struct field_sink fs = {&fields, false};
    size_t text_len = xend_http_doc_params(doc, field_of_doc, &fs);
    bool multipart = fs.multipart;
    url_prefix(f->req, f->req->nseg, &href);
    if (href.len == 0)
        xend_buf_putc(&href, '/');

    xend_buf_puts(f->out, "<form method=\"post\" action=\"");
    esc(xend_buf_str(&href), f->out);
    xend_buf_puts(f->out, multipart ? "\" enctype=\"multipart/form-data\">\n" : "\">\n");
    xend_buf_puts(f->out, "<input type=\"hidden\" name=\"op\" value=\"");
    esc(op, f->out);
    xend_buf_puts(f->out, "\">\n");
    xend_http_form_hidden(NULL, f->out);
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
    size_t nflash;
    const struct xend_http_arg *flash = xend_http_args_find(&req->args, "flash", &nflash);
    if (flash != NULL && flash->from_url) {
        xend_buf_puts(out, "<p role=\"status\">");
        esc(flash->value, out);
        xend_buf_puts(out, "</p>\n");
    }
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
    /* The operator's interface (core/ui) and the views that wrap the raw text routes. */
    xend_buf_puts(out, "<p><a href=\"/\">Overview</a> <a href=\"/ui/log\">Log</a> "
                       "<a href=\"/ui/dmesg\">dmesg</a> <a href=\"/ui/events\">Events</a> "
                       "<a href=\"/ui/vnets\">Vnets</a></p>\n");
    xend_buf_puts(out, "</body></html>\n");
}

/* ---- what a browser's form post gets: post/redirect/get, error pages ---- */

void xend_http_url_encode(const char *s, struct xend_buf *out)
{
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        unsigned char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~')
            xend_buf_putc(out, (char)c);
        else
            xend_buf_printf(out, "%%%02X", c);
    }
}

static bool under(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(s, prefix, n) == 0 && (s[n] == '\0' || s[n] == '/' || s[n] == '?');
}

bool xend_http_local_path(const char *s)
{
    if (s == NULL || strlen(s) >= 1024 || s[0] != '/')
        return false;
    /* "//host/..." and "/\host" are another host to a browser; a control byte could split
     * the header. */
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '\\' || (p[0] == '/' && p[1] == '/'))
            return false;
    return strcmp(s, "/") == 0 || s[1] == '?' || under(s, "/ui") || under(s, "/xend");
}

void xend_http_form_hidden(const char *back, struct xend_buf *out)
{
    /* A browser's state-changing request must carry it (access.c): a page of another
     * origin cannot read it, so it cannot forge the form. */
    xend_buf_puts(out, "<input type=\"hidden\" name=\"" XEND_HTTP_CSRF_FIELD "\" value=\"");
    esc(xend_http_access_token(), out);
    xend_buf_puts(out, "\">\n");
    if (back != NULL) {
        xend_buf_puts(out, "<input type=\"hidden\" name=\"" XEND_HTTP_BACK_FIELD "\" value=\"");
        esc(back, out);
        xend_buf_puts(out, "\">\n");
    }
}

/* A body argument (never the URL's: a link must not choose where a post's result goes). */
static const char *body_arg(const struct xend_request *req, const char *name)
{
    for (size_t i = 0; i < req->args.n; i++)
        if (!req->args.v[i].from_url && strcmp(req->args.v[i].name, name) == 0)
            return req->args.v[i].value;
    return NULL;
}

static const char *back_path(const struct xend_request *req)
{
    const char *back = body_arg(req, XEND_HTTP_BACK_FIELD);
    return xend_http_local_path(back) ? back : NULL;
}

bool xend_http_html_see_other(const struct xend_request *req, struct xend_buf *location)
{
    /* A handler that wrote a page of its own (reply_raw: the create page showing a
     * config's problems) has said what the browser sees. */
    if (req->method != XEND_HTTP_POST || body_arg(req, XEND_HTTP_CSRF_FIELD) == NULL ||
        req->raw_type != NULL)
        return false;
    const char *to = back_path(req);
    for (size_t i = 0; to == NULL && i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name, "Location") == 0 &&
            xend_http_local_path(req->headers[i].value))
            to = req->headers[i].value;
    if (to == NULL)
        to = xend_http_local_path(req->path) ? req->path : "/";
    xend_buf_puts(location, to);
    if (strstr(to, "flash=") != NULL)
        return true; /* the handler said what happened */
    xend_buf_putc(location, strchr(to, '?') ? '&' : '?');
    xend_buf_puts(location, "flash=");
    struct xend_buf msg = XEND_BUF_INIT;
    xend_buf_printf(&msg, "%s: done", req->op ? req->op : "request");
    xend_http_url_encode(xend_buf_str(&msg), location);
    xend_buf_free(&msg);
    return true;
}

void xend_http_html_error_page(const struct xend_request *req, int status, const char *msg,
                               struct xend_buf *out)
{
    const char *back = back_path(req);
    xend_buf_puts(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                       "<title>xend: error</title>"
                       "<link rel=\"stylesheet\" href=\"/ui/assets/ui.css\"></head><body>\n"
                       "<main><h1>Error</h1>\n<p class=\"flash error\" role=\"alert\">");
    esc(msg, out);
    xend_buf_puts(out, "</p>\n<p>");
    if (status >= 300)
        xend_buf_printf(out, "HTTP status %d %s, for ", status, xend_http_reason(status));
    else
        xend_buf_puts(out, "The operation failed: ");
    esc(req->method_name ? req->method_name : "?", out);
    xend_buf_putc(out, ' ');
    esc(req->path ? req->path : "", out);
    if (req->op != NULL) {
        xend_buf_puts(out, " op ");
        esc(req->op, out);
    }
    xend_buf_puts(out, ".</p>\n<p>");
    if (back != NULL) {
        xend_buf_puts(out, "<a href=\"");
        esc(back, out);
        xend_buf_puts(out, "\">Back</a> &middot; ");
    }
    xend_buf_puts(out, "<a href=\"/\">Overview</a></p>\n</main></body></html>\n");
}

void xend_http_routes_posts_of(const char *path, xend_http_route_visit_fn *fn, void *arg)
{
    char copy[512];
    char *segs[16];
    size_t n = 0;
    snprintf(copy, sizeof(copy), "%s", path);
    for (char *save = NULL, *s = strtok_r(copy, "/", &save); s != NULL && n < 16;
         s = strtok_r(NULL, "/", &save))
        segs[n++] = s;
    xend_http_routes_posts_for(segs, n, fn, arg);
}
