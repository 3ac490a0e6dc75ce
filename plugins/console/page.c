/*
 * The console in a browser (docs/console-web.md): GET /xend/console/PORT/terminal, a page
 * with xterm.js, and the page's static assets at fixed routes:
 *
 *   /xend/console/assets/xterm.js, xterm.css   from console-xterm-dir (fixed names only:
 *                                              no part of a request ever names a file)
 *   /xend/console/assets/terminal.js           the page's own script, compiled in
 *
 * xterm.js is read on its first request and kept (half a MiB, once per xend, not per
 * console); a missing one is retried on the next request, so installing it needs no
 * restart. Without it the routes answer 404 with what is missing, the page says so, and
 * everything else of the plugin works.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "console.h"

/* No asset of xterm comes near this; a larger file is not what we look for. */
#define ASSET_MAX (4u << 20)

extern const char console_terminal_js[];
extern const size_t console_terminal_js_len;

struct asset {
    const char *name; /* the file in console-xterm-dir, and the last segment of its route */
    const char *type;
    char *data; /* owned; NULL until read */
    size_t len;
};

static struct asset assets[] = {
    {"xterm.js", "application/javascript; charset=utf-8", NULL, 0},
    {"xterm.css", "text/css; charset=utf-8", NULL, 0},
};

/* Read a's file unless it is in memory: 0, or -XEND_ENOENT with err saying what is wrong. */
static int asset_load(struct asset *a, struct xend_err *err)
{
    if (a->data != NULL)
        return 0;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", console_plugin.xterm_dir, a->name);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)ASSET_MAX) {
        int e = fd < 0 ? errno : 0;
        if (fd >= 0)
            close(fd);
        return xend_err_set(err, XEND_ENOENT,
                            "%s is not installed: %s: %s (build xend with npm at hand, or set "
                            "console-xterm-dir; see docs/console-web.md)",
                            a->name, path, e ? strerror(e) : "not a regular file of at most 4 MiB");
    }
    char *data = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (data != NULL && got < (size_t)st.st_size) {
        ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (data == NULL || got != (size_t)st.st_size) {
        free(data);
        return xend_err_set(err, XEND_ENOENT, "%s: cannot read %s", a->name, path);
    }
    a->data = data;
    a->len = got;
    return 0;
}

static void asset_reply(struct xend_request *req, const char *type, const char *data, size_t len)
{
    /* The files change only with a package upgrade: an hour is a fair cache. */
    console_plugin.host->http->reply_header(req, "Cache-Control", "max-age=3600");
    console_plugin.host->http->reply_raw(req, 200, type, data, len);
}

static int page_route_asset(struct xend_request *req, void *arg)
{
    struct asset *a = arg;
    struct xend_err err = {0};
    if (asset_load(a, &err) < 0) {
        /* A plain 404 that says what is missing, for the browser's console and for curl. */
        char msg[XEND_ERR_MSG_MAX + 1];
        int n = snprintf(msg, sizeof(msg), "%s\n", xend_err_msg(&err));
        console_plugin.host->http->reply_raw(req, 404, "text/plain; charset=utf-8", msg, (size_t)n);
        return 0;
    }
    asset_reply(req, a->type, a->data, a->len);
    return 0;
}

static int page_route_script(struct xend_request *req, void *arg)
{
    (void)arg;
    asset_reply(req, "application/javascript; charset=utf-8", console_terminal_js,
                console_terminal_js_len);
    return 0;
}

/* s with &, <, >, " and ' escaped, for text and attribute values. */
static void html_put(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

/* s percent-encoded for a path segment (RFC 3986 unreserved characters stay). */
static void url_put(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '.' || ch == '_' || ch == '~')
            fputc(ch, f);
        else
            fprintf(f, "%%%02X", ch);
    }
}

static void page_write(FILE *f, struct xend_request *req, const struct console *c)
{
    const char *name = console_plugin.host->domain->name(c->dom);
    const char *field = NULL;
    const char *token = console_plugin.host->http->form_token(req, &field);
    struct xend_err missing = {0};
    for (size_t i = 0; i < sizeof(assets) / sizeof(assets[0]); i++)
        asset_load(&assets[i], &missing);
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>Console of ",
          f);
    html_put(f, name);
    fputs(" - xend</title>\n"
          "<link rel=\"stylesheet\" href=\"/xend/console/assets/xterm.css\">\n"
          "<style>body{margin:1em;background:#1e1e1e;color:#e8e8e8;font-family:sans-serif}"
          "a{color:#9cf}h1{font-size:1.3em;margin:0 0 .4em}#status{margin:.3em 0}"
          ".error{background:#5a1d1d;padding:.6em;border-left:4px solid #f66}</style>\n"
          "</head><body>\n<h1>Console of ",
          f);
    html_put(f, name);
    fprintf(f, " <small>(domain %u, console port %d)</small></h1>\n", c->domid, c->port);
    fputs("<p><a href=\"/xend/domain/", f);
    url_put(f, name);
    fputs("\">Domain</a> &middot; <a href=\"/\">Overview</a></p>\n", f);
    if (missing.code != 0) {
        fputs("<p class=\"error\" role=\"alert\">The console cannot be shown here: ", f);
        html_put(f, xend_err_msg(&missing));
        fputs(". <code>xm console ", f);
        html_put(f, name);
        fputs("</code> still works.</p>\n</body></html>\n", f);
        return;
    }
    fputs("<p id=\"status\" role=\"status\">Connecting...</p>\n"
          "<div id=\"terminal\" aria-label=\"guest console\" data-port=\"",
          f);
    fprintf(f, "%d\" data-field=\"", c->port);
    html_put(f, field);
    fputs("\" data-token=\"", f);
    html_put(f, token);
    fputs("\"></div>\n<noscript><p class=\"error\">The console needs JavaScript; <code>xm console "
          "</code> works without.</p></noscript>\n"
          "<script src=\"/xend/console/assets/xterm.js\"></script>\n"
          "<script src=\"/xend/console/assets/terminal.js\"></script>\n</body></html>\n",
          f);
}

static int page_route_terminal(struct xend_request *req, void *arg)
{
    (void)arg;
    struct console *c;
    int rc = console_from_req(req, &c);
    if (rc < 0)
        return rc;
    char *html = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&html, &len);
    if (f == NULL)
        return xend_err_set(console_plugin.host->http->err(req), XEND_ENOMEM, "out of memory");
    page_write(f, req, c);
    if (fclose(f) != 0) {
        free(html);
        return xend_err_set(console_plugin.host->http->err(req), XEND_ENOMEM, "out of memory");
    }
    console_plugin.host->http->reply_header(req, "Cache-Control",
                                            "no-store"); /* it carries the form token */
    console_plugin.host->http->reply_raw(req, 200, "text/html; charset=utf-8", html, len);
    free(html);
    return 0;
}

static const struct xend_route page_routes[] = {
    {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET, .path = "/xend/console/{id}/terminal", .op = NULL,
     .fn = page_route_terminal, .doc = "the console in a browser (xterm.js)",
     .role = XEND_ROLE_OPERATOR},
    {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET, .path = "/xend/console/assets/xterm.js", .op = NULL,
     .fn = page_route_asset, .arg = &assets[0], .doc = "xterm.js, for the console page",
     .role = XEND_ROLE_VIEWER},
    {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET, .path = "/xend/console/assets/xterm.css",
     .op = NULL, .fn = page_route_asset, .arg = &assets[1],
     .doc = "xterm.css, for the console page", .role = XEND_ROLE_VIEWER},
    {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET, .path = "/xend/console/assets/terminal.js",
     .op = NULL, .fn = page_route_script, .doc = "the console page's script",
     .role = XEND_ROLE_VIEWER},
};

int console_page_init(void)
{
    if (!XEND_HAS_MEMBER(console_plugin.host->http, form_token))
        return 0; /* a 1.5 core: web.c said so already */
    for (size_t i = 0; i < sizeof(page_routes) / sizeof(page_routes[0]); i++) {
        int rc = console_plugin.host->http->route_add(console_plugin.self, &page_routes[i]);
        if (rc < 0) {
            console_plugin.host->plugin_err_set(console_plugin.self, "cannot add route %s: %s",
                                                page_routes[i].path, xend_strerror(rc));
            return rc;
        }
    }
    return 0;
}

void console_page_fini(void)
{
    for (size_t i = 0; i < sizeof(assets) / sizeof(assets[0]); i++) {
        free(assets[i].data);
        assets[i].data = NULL;
        assets[i].len = 0;
    }
}
