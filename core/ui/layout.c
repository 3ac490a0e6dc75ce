/*
 * The layout every page of core/ui shares, escaping, and small widgets (ui_internal.h).
 * One stylesheet and one script, both served from /ui/assets (assets.c); no framework.
 */
#include <stdio.h>
#include <string.h>

#include "http/access_control.h"
#include "ui/ui_internal.h"

const struct xend_host_http *xend_ui_http;

void xend_ui_esc(struct xend_buf *out, const char *s)
{
    if (s != NULL)
        xend_http_html_escape(s, strlen(s), out);
}

void xend_ui_value(struct xend_buf *out, const struct xend_sxp *v)
{
    if (v == NULL)
        return;
    if (!xend_sxp_is_list(v)) {
        xend_ui_esc(out, xend_sxp_atom_text(v));
        return;
    }
    struct xend_buf b = XEND_BUF_INIT;
    xend_sxp_print_buf(v, &b);
    xend_http_html_escape(xend_buf_str(&b), b.len, out);
    xend_buf_free(&b);
}

void xend_ui_error_box(struct xend_buf *out, const char *msg)
{
    xend_buf_puts(out, "<p class=\"flash error\" role=\"alert\">");
    xend_ui_esc(out, msg);
    xend_buf_puts(out, "</p>\n");
}

/* A URL argument only: what a redirect carried. */
static const char *url_arg(struct xend_request *req, const char *name)
{
    return xend_ui_http->arg_str(req, name);
}

void xend_ui_page_begin(struct xend_request *req, struct xend_buf *out, const char *title)
{
    xend_buf_puts(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                       "<title>");
    xend_ui_esc(out, title);
    xend_buf_puts(out, " - xend</title>\n"
                       "<link rel=\"stylesheet\" href=\"/ui/assets/ui.css\">\n"
                       "<script src=\"/ui/assets/ui.js\" defer></script>\n</head>\n<body>\n"
                       "<header><nav aria-label=\"main\"><a class=\"brand\" href=\"/\">xend</a>\n"
                       "<a href=\"/\">Overview</a> <a href=\"/ui/create\">Create</a> "
                       "<a href=\"/ui/events\">Events</a> <a href=\"/ui/vnets\">Vnets</a> "
                       "<a href=\"/ui/log\">Log</a> <a href=\"/ui/dmesg\">dmesg</a> "
                       "<a href=\"/xend/\">Protocol</a></nav></header>\n<main>\n<h1>");
    xend_ui_esc(out, title);
    xend_buf_puts(out, "</h1>\n");
    const char *flash = url_arg(req, "flash");
    if (flash != NULL && *flash != '\0') {
        xend_buf_puts(out, "<p class=\"flash\" role=\"status\">");
        xend_ui_esc(out, flash);
        xend_buf_puts(out, "</p>\n");
    }
    const char *error = url_arg(req, "error");
    if (error != NULL && *error != '\0')
        xend_ui_error_box(out, error);
}

void xend_ui_page_end(struct xend_buf *out)
{
    xend_buf_puts(out, "</main>\n</body></html>\n");
}

int xend_ui_page_send(struct xend_request *req, int status, struct xend_buf *out)
{
    xend_ui_http->reply_header(req, "Cache-Control", "no-store");
    xend_ui_http->reply_raw(req, status, "text/html; charset=utf-8", xend_buf_str(out), out->len);
    xend_buf_free(out);
    return 0;
}

const char *xend_ui_state_word(const char *s)
{
    if (s == NULL)
        return "unknown";
    /* Xen's five letters: r running, b blocked, p paused, s shut down, c crashed. */
    if (strchr(s, 'c'))
        return "crashed";
    if (strchr(s, 's'))
        return "shut down";
    if (strchr(s, 'p'))
        return "paused";
    /* r (on a cpu now) and b (waiting for an event) are both a live guest to an operator;
     * the letters are shown beside the word. */
    return "running";
}

void xend_ui_duration(struct xend_buf *out, double secs)
{
    if (secs < 0)
        secs = 0;
    long long s = (long long)secs;
    if (s >= 86400)
        xend_buf_printf(out, "%lldd %lldh", s / 86400, s % 86400 / 3600);
    else if (s >= 3600)
        xend_buf_printf(out, "%lldh %lldm", s / 3600, s % 3600 / 60);
    else if (s >= 60)
        xend_buf_printf(out, "%lldm %llds", s / 60, s % 60);
    else
        xend_buf_printf(out, "%.1fs", secs);
}

void xend_ui_op_button(struct xend_buf *out, const char *action, const char *op, const char *label,
                       const char *back, bool danger, const char *field, const char *value)
{
    xend_buf_puts(out, "<form class=\"inline\" method=\"post\" action=\"");
    xend_ui_esc(out, action);
    xend_buf_puts(out, "\"><input type=\"hidden\" name=\"op\" value=\"");
    xend_ui_esc(out, op);
    xend_buf_puts(out, "\">");
    if (field != NULL) {
        xend_buf_puts(out, "<input type=\"hidden\" name=\"");
        xend_ui_esc(out, field);
        xend_buf_puts(out, "\" value=\"");
        xend_ui_esc(out, value);
        xend_buf_puts(out, "\">");
    }
    xend_http_form_hidden(back, out);
    xend_buf_puts(out, danger ? "<button class=\"danger\" type=\"submit\">"
                              : "<button type=\"submit\">");
    xend_ui_esc(out, label);
    xend_buf_puts(out, "</button></form>\n");
}

void xend_ui_domain_href(struct xend_buf *out, const char *prefix, const char *name)
{
    xend_buf_puts(out, prefix);
    xend_http_url_encode(name, out);
}

void xend_ui_console_link_open(struct xend_buf *out, const char *port)
{
    struct xend_buf t = XEND_BUF_INIT;
    xend_buf_puts(&t, "/xend/console/");
    xend_http_url_encode(port, &t);
    xend_buf_puts(&t, "/terminal");
    xend_buf_puts(out, "<a href=\"");
    xend_ui_esc(out, xend_buf_str(&t));
    xend_buf_putc(out, '"');
    xend_buf_free(&t);
}
