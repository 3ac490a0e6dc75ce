/*
 * Views that wrap the protocol's raw routes for a browser: the xend log and the
 * hypervisor's messages (text), the vnets (a table of each vnet's fields), and the live
 * events (a table ui.js fills from the event stream, replaying what xend still holds).
 */
#include <string.h>

#include "ui/ui_internal.h"

/* A text route in a <pre>, with a link to the route itself. */
static int text_view(struct xend_request *req, const char *title, const char *path)
{
    struct xend_buf out = XEND_BUF_INIT, text = XEND_BUF_INIT;
    struct xend_sxp *v = NULL;
    struct xend_err err = {0};
    xend_ui_page_begin(req, &out, title);
    if (xend_http_get(req, path, NULL, &v, &text, NULL, &err) < 0) {
        xend_ui_error_box(&out, xend_err_msg(&err));
    } else {
        xend_buf_puts(&out, "<p><a href=\"");
        xend_ui_esc(&out, path);
        xend_buf_puts(&out, "\">As plain text</a></p>\n<pre class=\"log\" tabindex=\"0\">");
        xend_http_html_escape(xend_buf_str(&text), text.len, &out);
        xend_buf_puts(&out, "</pre>\n");
    }
    xend_sxp_free(v);
    xend_buf_free(&text);
    xend_ui_page_end(&out);
    return xend_ui_page_send(req, 200, &out);
}

static int log_view(struct xend_request *req, void *arg)
{
    (void)arg;
    return text_view(req, "xend log", "/xend/node/log");
}

static int dmesg_view(struct xend_request *req, void *arg)
{
    (void)arg;
    return text_view(req, "Hypervisor messages (dmesg)", "/xend/node/dmesg");
}

static int vnets_view(struct xend_request *req, void *arg)
{
    (void)arg;
    struct xend_buf out = XEND_BUF_INIT;
    struct xend_sxp *ids = NULL;
    struct xend_err err = {0};
    xend_ui_page_begin(req, &out, "Virtual networks");
    if (xend_http_get(req, "/xend/vnet", NULL, &ids, NULL, NULL, &err) < 0) {
        xend_ui_error_box(&out, xend_err_msg(&err));
    } else if (ids == NULL || xend_sxp_length(ids) == 0) {
        xend_buf_puts(&out, "<p>No vnets.</p>\n");
    } else {
        xend_buf_puts(&out, "<table><thead><tr><th scope=\"col\">vnet</th>"
                            "<th scope=\"col\">fields</th></tr></thead><tbody>\n");
        for (size_t i = 0; i < xend_sxp_length(ids); i++) {
            const char *id = xend_sxp_atom_text(xend_sxp_nth(ids, i));
            if (id == NULL)
                continue;
            struct xend_buf path = XEND_BUF_INIT;
            xend_buf_puts(&path, "/xend/vnet/");
            xend_http_url_encode(id, &path);
            struct xend_sxp *v = NULL;
            struct xend_err verr = {0};
            xend_buf_puts(&out, "<tr><th scope=\"row\"><a href=\"");
            xend_ui_esc(&out, xend_buf_str(&path));
            xend_buf_puts(&out, "\">");
            xend_ui_esc(&out, id);
            xend_buf_puts(&out, "</a></th><td>");
            if (xend_http_get(req, xend_buf_str(&path), NULL, &v, NULL, NULL, &verr) < 0) {
                xend_ui_esc(&out, xend_err_msg(&verr));
            } else {
                for (size_t k = 1; v && k < xend_sxp_length(v); k++) {
                    const struct xend_sxp *f = xend_sxp_nth(v, k);
                    if (!xend_sxp_is_list(f) || xend_sxp_length(f) < 2)
                        continue;
                    xend_buf_puts(&out, "<span class=\"kv\"><b>");
                    xend_ui_esc(&out, xend_sxp_name(f));
                    xend_buf_puts(&out, "</b> ");
                    xend_ui_value(&out, xend_sxp_nth(f, 1));
                    xend_buf_puts(&out, "</span> ");
                }
            }
            xend_buf_puts(&out, "</td></tr>\n");
            xend_sxp_free(v);
            xend_buf_free(&path);
        }
        xend_buf_puts(&out, "</tbody></table>\n");
    }
    xend_buf_puts(&out, "<p><a href=\"/xend/vnet\">Create or delete vnets (the protocol's "
                        "forms)</a></p>\n");
    xend_sxp_free(ids);
    xend_ui_page_end(&out);
    return xend_ui_page_send(req, 200, &out);
}

static int events_view(struct xend_request *req, void *arg)
{
    (void)arg;
    struct xend_buf out = XEND_BUF_INIT;
    xend_ui_page_begin(req, &out, "Events");
    xend_buf_puts(&out, "<p>Every event xend emits, newest last; the ones xend still holds "
                        "first. <span id=\"live\" class=\"live\" aria-live=\"polite\"></span>"
                        "</p>\n<noscript><p>Live events need JavaScript; "
                        "<a href=\"/xend/event?since=0&amp;format=sxp\">the held events as "
                        "SXP</a>.</p></noscript>\n<table class=\"events\"><thead><tr>"
                        "<th scope=\"col\">#</th><th scope=\"col\">event</th>"
                        "<th scope=\"col\">value</th></tr></thead>\n"
                        "<tbody id=\"events\" data-stream=\"/xend/event?follow=1&amp;since=0"
                        "&amp;format=sse\"></tbody></table>\n");
    xend_ui_page_end(&out);
    return xend_ui_page_send(req, 200, &out);
}

int xend_ui_views_register(void)
{
    static const struct xend_route routes[] = {
        /* The wrapped routes keep their own roles: a viewer sees their refusal. */
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET, .path = "/ui/log", .fn = log_view,
         .doc = "the xend log", .role = XEND_ROLE_VIEWER},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET, .path = "/ui/dmesg", .fn = dmesg_view,
         .doc = "the hypervisor's messages", .role = XEND_ROLE_VIEWER},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET, .path = "/ui/vnets", .fn = vnets_view,
         .doc = "the vnets", .role = XEND_ROLE_VIEWER},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET, .path = "/ui/events", .fn = events_view,
         .doc = "live events", .role = XEND_ROLE_VIEWER},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        int rc = xend_ui_http->route_add(NULL, &routes[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}
