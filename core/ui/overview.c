/*
 * The host overview (GET / and /ui): the node's facts, its memory as a bar, and a table of
 * the domains with their actions. The table's rows are also served alone
 * (/ui/fragment/domains) so that ui.js can replace them on each domain event: the page is
 * rendered in one place, here, whether it arrives whole or as rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/ui_internal.h"

static const char *kv(const struct xend_sxp *l, const char *key)
{
    return xend_sxp_child_value(l, key, NULL);
}

static void num_or_dash(struct xend_buf *out, const char *v)
{
    xend_ui_esc(out, v ? v : "-");
}

/* Seconds as the record gives them, or "-" when they are missing or not a number. */
static void duration_or_dash(struct xend_buf *out, const char *text)
{
    char *end = NULL;
    double v = text != NULL ? strtod(text, &end) : 0;
    if (text != NULL && end != text)
        xend_ui_duration(out, v);
    else
        xend_buf_puts(out, "-");
}

static void row(struct xend_buf *out, const struct xend_sxp *d)
{
    const char *name = kv(d, "name"), *id = kv(d, "id"), *state = kv(d, "state");
    if (name == NULL)
        return;
    const char *word = xend_ui_state_word(state);
    struct xend_buf page = XEND_BUF_INIT, api = XEND_BUF_INIT;
    xend_ui_domain_href(&page, "/ui/domain/", name);
    xend_ui_domain_href(&api, "/xend/domain/", name);

    xend_buf_puts(out, "<tr data-domain=\"");
    xend_ui_esc(out, name);
    xend_buf_puts(out, "\"><th scope=\"row\"><a href=\"");
    xend_ui_esc(out, xend_buf_str(&page));
    xend_buf_puts(out, "\">");
    xend_ui_esc(out, name);
    xend_buf_puts(out, "</a></th><td>");
    num_or_dash(out, id);
    xend_buf_puts(out, "</td><td class=\"state\" data-state=\"");
    xend_ui_esc(out, word);
    xend_buf_puts(out, "\"><span class=\"badge\">");
    xend_ui_esc(out, word);
    xend_buf_puts(out, "</span> <code>");
    num_or_dash(out, state);
    xend_buf_puts(out, "</code></td><td>");
    num_or_dash(out, kv(d, "memory"));
    xend_buf_puts(out, " MiB</td><td>");
    num_or_dash(out, kv(d, "vcpus") ? kv(d, "vcpus") : "1");
    xend_buf_puts(out, "</td><td>");
    duration_or_dash(out, kv(d, "cpu_time"));
    xend_buf_puts(out, "</td><td>");
    duration_or_dash(out, kv(d, "up_time"));
    xend_buf_puts(out, "</td><td>");
    const struct xend_sxp *con = xend_sxp_child(d, "console");
    const char *port = con ? kv(con, "console_port") : NULL;
    if (port != NULL) {
        xend_ui_console_link_open(out, port);
        xend_buf_puts(out, " aria-label=\"console of ");
        xend_ui_esc(out, name);
        xend_buf_puts(out, "\">");
        xend_ui_esc(out, port);
        xend_buf_puts(out, "</a>");
    } else {
        xend_buf_puts(out, "-");
    }
    xend_buf_puts(out, "</td><td class=\"actions\">");
    if (id == NULL || strcmp(id, "0") != 0) {
        /* Back to the overview: the row shows the result. */
        if (strcmp(word, "paused") == 0)
            xend_ui_op_button(out, xend_buf_str(&api), "unpause", "Unpause", "/", false, NULL,
                              NULL);
        else if (strcmp(word, "running") == 0 || strcmp(word, "blocked") == 0)
            xend_ui_op_button(out, xend_buf_str(&api), "pause", "Pause", "/", false, NULL, NULL);
        xend_ui_op_button(out, xend_buf_str(&api), "shutdown", "Shut down", "/", false, "reason",
                          "poweroff");
        /* Destroy asks first, without JavaScript: a page with the real form. */
        xend_buf_puts(out, "<a class=\"button danger\" href=\"");
        xend_ui_esc(out, xend_buf_str(&page));
        xend_buf_puts(out, "?confirm=destroy\">Destroy&hellip;</a>");
    }
    xend_buf_puts(out, "</td></tr>\n");
    xend_buf_free(&page);
    xend_buf_free(&api);
}

void xend_ui_domain_rows(struct xend_request *req, struct xend_buf *out)
{
    struct xend_sxp *all = NULL;
    struct xend_err err = {0};
    if (xend_http_get(req, "/xend/domain", "detail=1", &all, NULL, NULL, &err) < 0) {
        xend_buf_puts(out, "<tr><td colspan=\"8\">");
        xend_ui_error_box(out, xend_err_msg(&err));
        xend_buf_puts(out, "</td></tr>\n");
        return;
    }
    for (size_t i = 0; all && i < xend_sxp_length(all); i++)
        row(out, xend_sxp_nth(all, i));
    xend_sxp_free(all);
}

static void fact(struct xend_buf *out, const char *label, const char *value, const char *unit)
{
    xend_buf_puts(out, "<dt>");
    xend_ui_esc(out, label);
    xend_buf_puts(out, "</dt><dd>");
    num_or_dash(out, value);
    if (value != NULL && unit != NULL)
        xend_buf_puts(out, unit);
    xend_buf_puts(out, "</dd>\n");
}

static void node_facts(struct xend_request *req, struct xend_buf *out)
{
    struct xend_sxp *n = NULL;
    struct xend_err err = {0};
    xend_buf_puts(out, "<section aria-labelledby=\"host-h\"><h2 id=\"host-h\">Host</h2>\n");
    if (xend_http_get(req, "/xend/node", NULL, &n, NULL, NULL, &err) < 0 || n == NULL) {
        xend_ui_error_box(out, xend_err_msg(&err));
        xend_buf_puts(out, "</section>\n");
        return;
    }
    xend_buf_puts(out, "<dl class=\"facts\">\n");
    fact(out, "Host", kv(n, "host"), NULL);
    fact(out, "System", kv(n, "system"), NULL);
    fact(out, "Release", kv(n, "release"), NULL);
    fact(out, "Cores", kv(n, "cores"), NULL);
    fact(out, "CPU", kv(n, "cpu_mhz"), " MHz");
    fact(out, "Hypervisor", kv(n, "hypervisor"), NULL);
    fact(out, "Backend", kv(n, "backend"), NULL);
    fact(out, "Scheduler", kv(n, "scheduler"), NULL);
    fact(out, "xend", kv(n, "xend_version"), NULL);
    xend_buf_puts(out, "</dl>\n");
    long long total = 0, free_mb = 0;
    if (xend_sxp_child_int(n, "memory", &total) == 0 &&
        xend_sxp_child_int(n, "free_memory", &free_mb) == 0 && total > 0) {
        long long used = total - free_mb;
        xend_buf_printf(out,
                        "<p><label for=\"mem\">Memory: %lld MiB used of %lld MiB, %lld MiB "
                        "free</label><br>\n<meter id=\"mem\" class=\"membar\" min=\"0\" "
                        "max=\"%lld\" value=\"%lld\">%lld of %lld MiB</meter></p>\n",
                        used, total, free_mb, total, used, used, total);
    }
    xend_buf_puts(out, "<p>Views: <a href=\"/ui/log\">xend log</a> &middot; "
                       "<a href=\"/ui/dmesg\">hypervisor messages (dmesg)</a> &middot; "
                       "<a href=\"/xend/node/plugins\">plugins</a> &middot; "
                       "<a href=\"/ui/vnets\">vnets</a> &middot; "
                       "<a href=\"/ui/events\">events</a></p>\n</section>\n");
    xend_sxp_free(n);
}

static int overview(struct xend_request *req, void *arg)
{
    /* "/" stays the protocol's 404 for programs; "/ui" is new and always a page. */
    if (arg == NULL && !xend_ui_http->wants_html(req))
        /* Programs keep what they always got for / (the protocol lives under /xend). */
        return xend_err_set(xend_ui_http->err(req), XEND_ENOENT, "Not found /");
    struct xend_buf out = XEND_BUF_INIT;
    xend_ui_page_begin(req, &out, "Overview");
    node_facts(req, &out);
    xend_buf_puts(&out,
                  "<section aria-labelledby=\"dom-h\"><h2 id=\"dom-h\">Domains</h2>\n"
                  "<p><a class=\"button\" href=\"/ui/create\">Create a domain</a> "
                  "<span id=\"live\" class=\"live\" aria-live=\"polite\"></span></p>\n"
                  "<table class=\"domains\"><thead><tr><th scope=\"col\">Name</th>"
                  "<th scope=\"col\">Id</th><th scope=\"col\">State</th>"
                  "<th scope=\"col\">Memory</th><th scope=\"col\">VCPUs</th>"
                  "<th scope=\"col\">CPU time</th><th scope=\"col\">Uptime</th>"
                  "<th scope=\"col\">Console</th><th scope=\"col\">Actions</th></tr></thead>\n"
                  "<tbody id=\"domains\" data-refresh=\"/ui/fragment/domains\">\n");
    xend_ui_domain_rows(req, &out);
    xend_buf_puts(&out, "</tbody></table>\n");
    /* restore: the domain comes back from a file a save wrote */
    xend_buf_puts(&out, "<form class=\"op\" method=\"post\" action=\"/xend/domain\"><fieldset>"
                        "<legend>Restore</legend><input type=\"hidden\" name=\"op\" "
                        "value=\"restore\">");
    xend_http_form_hidden("/", &out);
    xend_buf_puts(&out, "<div class=\"field\"><label for=\"restore-file\">Restore from file (on "
                        "the host)</label> <input id=\"restore-file\" type=\"text\" "
                        "name=\"file\" required></div><button type=\"submit\">Restore</button>"
                        "</fieldset></form>\n</section>\n");
    xend_ui_page_end(&out);
    return xend_ui_page_send(req, 200, &out);
}

static int rows_only(struct xend_request *req, void *arg)
{
    (void)arg;
    struct xend_buf out = XEND_BUF_INIT;
    xend_ui_domain_rows(req, &out);
    xend_ui_http->reply_header(req, "Cache-Control", "no-store");
    xend_ui_http->reply_raw(req, 200, "text/html; charset=utf-8", xend_buf_str(&out), out.len);
    xend_buf_free(&out);
    return 0;
}

int xend_ui_overview_register(void)
{
    static const struct xend_route routes[] = {
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET, .path = "/", .fn = overview,
         .doc = "the operator's overview (browsers)", .role = XEND_ROLE_VIEWER},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET, .path = "/ui", .fn = overview, .arg = "ui",
         .doc = "the operator's overview", .role = XEND_ROLE_VIEWER},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET, .path = "/ui/fragment/domains", .fn = rows_only,
         .doc = "the overview's domain rows (live refresh)", .role = XEND_ROLE_VIEWER},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        int rc = xend_ui_http->route_add(NULL, &routes[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}
