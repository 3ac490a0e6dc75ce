/*
 * The domain page (GET /ui/domain/{domain}): state and facts, actions, save and migrate,
 * the scheduler's parameters with their current values, devices as tables, every other op
 * of /xend/domain/{domain} as a form from its doc, and the config. All of it comes from the
 * domain's info SXP and the registered routes: the core names no device class and no
 * scheduler here (devices are tables of whatever keys they have; the scheduler's fields come
 * from its route's doc and the (sched ...) of the info).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/role.h"
#include "scheduler.h"
#include "ui/ui_internal.h"

struct page {
    struct xend_request *req;
    struct xend_buf *out;
    const struct xend_sxp *info;
    const struct xend_sxp *params; /* the current scheduler's (params ...), may be NULL */
    const char *api;               /* /xend/domain/NAME, encoded */
    const char *self;              /* /ui/domain/NAME, encoded */
    bool scheduler_done;
    char range[128];
};

static const char *kv(const struct xend_sxp *l, const char *key)
{
    return l ? xend_sxp_child_value(l, key, NULL) : NULL;
}

static void fact(struct xend_buf *out, const char *label, const char *value, const char *unit)
{
    xend_buf_puts(out, "<dt>");
    xend_ui_esc(out, label);
    xend_buf_puts(out, "</dt><dd>");
    xend_ui_esc(out, value ? value : "-");
    if (value && unit)
        xend_buf_puts(out, unit);
    xend_buf_puts(out, "</dd>\n");
}

/* A field's current value: the info's (KEY v), else one level down ((sched (KEY v))). */
static void hint(const char *field, struct xend_ui_field_info *info, void *arg)
{
    struct page *p = arg;
    const struct xend_sxp *sched = xend_sxp_child(p->info, "sched");
    info->value = kv(sched, field);
    if (info->value == NULL)
        info->value = kv(p->info, field);
    const struct xend_sxp *param = p->params ? xend_sxp_child(p->params, field) : NULL;
    if (param != NULL) {
        info->unit = kv(param, "unit");
        info->doc = kv(param, "doc");
        info->numeric = true;
        snprintf(p->range, sizeof(p->range), "%s to %s", kv(param, "min") ? kv(param, "min") : "?",
                 kv(param, "max") ? kv(param, "max") : "?");
        info->range = p->range;
    }
}

static void facts(struct page *p)
{
    struct xend_buf *out = p->out;
    const struct xend_sxp *i = p->info;
    const char *state = kv(i, "state");
    const char *word = xend_ui_state_word(state);
    xend_buf_puts(out, "<p class=\"state\" data-state=\"");
    xend_ui_esc(out, word);
    xend_buf_puts(out, "\">State: <span class=\"badge\" id=\"state\">");
    xend_ui_esc(out, word);
    xend_buf_puts(out, "</span> <code>");
    xend_ui_esc(out, state ? state : "-");
    xend_buf_puts(out, "</code></p>\n<dl class=\"facts\">\n");
    fact(out, "Id", kv(i, "id"), NULL);
    fact(out, "Memory", kv(i, "memory"), " MiB");
    fact(out, "Maximum memory", kv(i, "maxmem"), " MiB");
    fact(out, "CPU", kv(i, "cpu"), NULL);
    fact(out, "CPU time", kv(i, "cpu_time"), " s");
    fact(out, "Up time", kv(i, "up_time"), " s");
    const struct xend_sxp *con = xend_sxp_child(i, "console");
    const char *port = kv(con, "console_port");
    xend_buf_puts(out, "<dt>Console</dt><dd>");
    if (port != NULL) {
        xend_ui_console_link_open(out, port);
        xend_buf_puts(out, ">Console</a> (port ");
        xend_ui_esc(out, port);
        xend_buf_puts(out, ", ");
        xend_ui_esc(out, kv(con, "status") ? kv(con, "status") : "?");
        xend_buf_puts(out, ")");
    } else {
        xend_buf_puts(out, "none");
    }
    xend_buf_puts(out, "</dd>\n</dl>\n");
}

static void actions(struct page *p)
{
    struct xend_buf *out = p->out;
    const char *word = xend_ui_state_word(kv(p->info, "state"));
    xend_buf_puts(out, "<section aria-labelledby=\"act-h\"><h2 id=\"act-h\">Actions</h2>\n<p>");
    if (strcmp(word, "paused") == 0)
        xend_ui_op_button(out, p->api, "unpause", "Unpause", p->self, false, NULL, NULL);
    else
        xend_ui_op_button(out, p->api, "pause", "Pause", p->self, false, NULL, NULL);
    xend_buf_puts(out, "<form class=\"inline\" method=\"post\" action=\"");
    xend_ui_esc(out, p->api);
    xend_buf_puts(out, "\"><input type=\"hidden\" name=\"op\" value=\"shutdown\">");
    xend_http_form_hidden(p->self, out);
    xend_buf_puts(out, "<label for=\"sd-reason\">Shutdown reason</label> <select id=\"sd-reason\" "
                       "name=\"reason\"><option>poweroff</option><option>halt</option>"
                       "<option>reboot</option></select> <button type=\"submit\">Shut down"
                       "</button></form>\n");
    xend_buf_puts(out, "<a class=\"button danger\" href=\"");
    xend_ui_esc(out, p->self);
    xend_buf_puts(out, "?confirm=destroy\">Destroy&hellip;</a></p>\n");
    /* A save, restore or migration of this domain shows its progress here as it runs
     * (ui.js follows xend.domain.progress); empty without JavaScript. */
    xend_buf_puts(out, "<p id=\"progress\" class=\"progress\" aria-live=\"polite\" data-domain=\"");
    xend_ui_esc(out, kv(p->info, "name") ? kv(p->info, "name") : "");
    xend_buf_puts(out, "\"></p>\n");

    /* save: the domain leaves this host, so the result is shown on the overview */
    xend_buf_puts(out, "<form class=\"op\" method=\"post\" action=\"");
    xend_ui_esc(out, p->api);
    xend_buf_puts(out, "\"><fieldset><legend>Save</legend><input type=\"hidden\" name=\"op\" "
                       "value=\"save\">");
    xend_http_form_hidden("/", out);
    xend_buf_puts(out, "<div class=\"field\"><label for=\"save-file\">Save to file (on the "
                       "host)</label> <input id=\"save-file\" type=\"text\" name=\"file\" "
                       "required></div><button type=\"submit\">Save</button></fieldset></form>\n");
    xend_buf_puts(out, "<form class=\"op\" method=\"post\" action=\"");
    xend_ui_esc(out, p->api);
    xend_buf_puts(out, "\"><fieldset><legend>Migrate</legend><input type=\"hidden\" name=\"op\" "
                       "value=\"migrate\">");
    xend_http_form_hidden("/", out);
    xend_buf_puts(out, "<div class=\"field\"><label for=\"mig-dest\">Destination host</label> "
                       "<input id=\"mig-dest\" type=\"text\" name=\"destination\" required></div>"
                       "<div class=\"field\"><label for=\"mig-live\">Live</label> <select "
                       "id=\"mig-live\" name=\"live\"><option value=\"0\">no</option>"
                       "<option value=\"1\">yes</option></select></div>"
                       "<button type=\"submit\">Migrate</button></fieldset></form>\n</section>\n");
}

static void confirm_destroy(struct page *p)
{
    struct xend_buf *out = p->out;
    const char *name = kv(p->info, "name");
    xend_buf_puts(out, "<section class=\"confirm\" aria-labelledby=\"cf-h\"><h2 id=\"cf-h\">"
                       "Destroy ");
    xend_ui_esc(out, name);
    xend_buf_puts(out, "?</h2>\n<p>Destroying stops the domain at once, without asking its "
                       "kernel; what it had not written is lost.</p>\n"
                       "<form method=\"post\" action=\"");
    xend_ui_esc(out, p->api);
    xend_buf_puts(out, "\"><input type=\"hidden\" name=\"op\" value=\"destroy\">");
    xend_http_form_hidden("/", out);
    xend_buf_puts(out, "<label for=\"ds-reason\">Then</label> <select id=\"ds-reason\" "
                       "name=\"reason\"><option value=\"halt\">stay halted</option>"
                       "<option value=\"reboot\">restart it</option></select> "
                       "<button class=\"danger\" type=\"submit\">Destroy ");
    xend_ui_esc(out, name);
    xend_buf_puts(out, "</button> <a href=\"");
    xend_ui_esc(out, p->self);
    xend_buf_puts(out, "\">Cancel</a></form>\n</section>\n");
}

/* One table per device class, its columns the union of its devices' keys. */
static void devices(struct page *p)
{
    struct xend_buf *out = p->out;
    const struct xend_sxp *devs = xend_sxp_child(p->info, "devices");
    xend_buf_puts(out, "<section aria-labelledby=\"dev-h\"><h2 id=\"dev-h\">Devices</h2>\n");
    size_t n = devs ? xend_sxp_length(devs) : 0;
    if (n <= 1)
        xend_buf_puts(out, "<p>None.</p>\n");
    bool *done = n ? xend_xcalloc(n, sizeof(bool)) : NULL;
    for (size_t i = 1; i < n; i++) {
        if (done[i] || !xend_sxp_is_list(xend_sxp_nth(devs, i)))
            continue;
        const char *cls = xend_sxp_name(xend_sxp_nth(devs, i));
        if (cls == NULL)
            continue;
        /* the columns */
        const char *cols[32];
        size_t ncol = 0;
        for (size_t k = i; k < n; k++) {
            const struct xend_sxp *d = xend_sxp_nth(devs, k);
            if (!xend_sxp_is_list(d) || xend_sxp_name(d) == NULL ||
                strcmp(xend_sxp_name(d), cls) != 0)
                continue;
            for (size_t c = 1; c < xend_sxp_length(d); c++) {
                const char *key = xend_sxp_name(xend_sxp_nth(d, c));
                bool have = key == NULL;
                for (size_t m = 0; m < ncol && !have; m++)
                    have = strcmp(cols[m], key) == 0;
                if (!have && ncol < 32)
                    cols[ncol++] = key;
            }
        }
        xend_buf_puts(out, "<h3>");
        xend_ui_esc(out, cls);
        xend_buf_puts(out, "</h3>\n<table class=\"devices\"><thead><tr>");
        for (size_t m = 0; m < ncol; m++) {
            xend_buf_puts(out, "<th scope=\"col\">");
            xend_ui_esc(out, cols[m]);
            xend_buf_puts(out, "</th>");
        }
        xend_buf_puts(out, "</tr></thead><tbody>\n");
        for (size_t k = i; k < n; k++) {
            const struct xend_sxp *d = xend_sxp_nth(devs, k);
            if (!xend_sxp_is_list(d) || xend_sxp_name(d) == NULL ||
                strcmp(xend_sxp_name(d), cls) != 0)
                continue;
            done[k] = true;
            xend_buf_puts(out, "<tr>");
            for (size_t m = 0; m < ncol; m++) {
                const struct xend_sxp *c = xend_sxp_child(d, cols[m]);
                xend_buf_puts(out, "<td>");
                if (c != NULL && xend_sxp_length(c) == 2)
                    xend_ui_value(out, xend_sxp_nth(c, 1));
                else if (c != NULL)
                    xend_ui_value(out, c);
                xend_buf_puts(out, "</td>");
            }
            xend_buf_puts(out, "</tr>\n");
        }
        xend_buf_puts(out, "</tbody></table>\n");
    }
    free(done);
    xend_buf_puts(out, "</section>\n");
}

/* The ops this page lays out itself. */
static bool laid_out(const char *op)
{
    static const char *const own[] = {"pause", "unpause", "shutdown", "destroy",
                                      "save",  "migrate", NULL};
    for (const char *const *o = own; *o; o++)
        if (strcmp(*o, op) == 0)
            return true;
    return false;
}

static void scheduler_form(const char *op, const char *doc, int role, void *arg)
{
    struct page *p = arg;
    if (xend_sched_op_shown(op) != 1 || !xend_role_allows(xend_ui_http->caller_role(p->req), role))
        return;
    struct xend_ui_field_hint h = {hint};
    xend_ui_doc_form(p->out, p->api, op, doc, p->self, "Scheduler parameters", &h, p);
    p->scheduler_done = true;
}

static void other_form(const char *op, const char *doc, int role, void *arg)
{
    struct page *p = arg;
    if (laid_out(op) || xend_sched_op_shown(op) >= 0 ||
        !xend_role_allows(xend_ui_http->caller_role(p->req), role))
        return;
    struct xend_ui_field_hint h = {hint};
    xend_ui_doc_form(p->out, p->api, op, doc, p->self, NULL, &h, p);
}

/* The current scheduler's (params ...) from the plugins' description, owned by *holder. */
static const struct xend_sxp *sched_params(struct xend_request *req, struct xend_sxp **holder)
{
    struct xend_err err = {0};
    *holder = NULL;
    if (xend_http_get(req, "/xend/node/plugins", NULL, holder, NULL, NULL, &err) < 0)
        return NULL;
    const struct xend_sxp *scheds = xend_sxp_child(*holder, "schedulers");
    for (size_t i = 1; scheds && i < xend_sxp_length(scheds); i++) {
        const struct xend_sxp *s = xend_sxp_nth(scheds, i);
        if (strcmp(xend_sxp_child_value(s, "current", "0"), "1") == 0)
            return xend_sxp_child(s, "params");
    }
    return NULL;
}

static int domain_page(struct xend_request *req, void *arg)
{
    (void)arg;
    const char *name = xend_ui_http->capture(req, "domain");
    struct xend_buf api = XEND_BUF_INIT, self = XEND_BUF_INIT, out = XEND_BUF_INIT;
    xend_ui_domain_href(&api, "/xend/domain/", name);
    xend_ui_domain_href(&self, "/ui/domain/", name);
    struct xend_sxp *info = NULL, *plugins = NULL;
    int rc =
        xend_http_get(req, xend_buf_str(&api), NULL, &info, NULL, NULL, xend_ui_http->err(req));
    if (rc < 0 || info == NULL) {
        xend_buf_free(&api);
        xend_buf_free(&self);
        return rc < 0 ? rc : -XEND_EIO;
    }
    const char *real = kv(info, "name") ? kv(info, "name") : name;
    struct page p = {
        req,   &out, info, sched_params(req, &plugins), xend_buf_str(&api), xend_buf_str(&self),
        false, ""};
    struct xend_buf title = XEND_BUF_INIT;
    xend_buf_printf(&title, "Domain %s", real);
    xend_ui_page_begin(req, &out, xend_buf_str(&title));
    xend_buf_free(&title);
    const char *confirm = xend_ui_http->arg_str(req, "confirm");
    if (confirm != NULL && strcmp(confirm, "destroy") == 0)
        confirm_destroy(&p);
    facts(&p);
    actions(&p);
    xend_buf_puts(&out, "<section aria-labelledby=\"sch-h\"><h2 id=\"sch-h\">Scheduler</h2>\n");
    xend_http_routes_posts_of(p.api, scheduler_form, &p);
    if (!p.scheduler_done)
        xend_buf_puts(&out, "<p>The host's scheduler has no parameters per domain, or you may "
                            "not set them.</p>\n");
    xend_buf_puts(&out, "</section>\n");
    devices(&p);
    xend_buf_puts(&out, "<section aria-labelledby=\"ops-h\"><h2 id=\"ops-h\">More "
                        "operations</h2>\n");
    xend_http_routes_posts_of(p.api, other_form, &p);
    xend_buf_puts(&out, "</section>\n<section aria-labelledby=\"cfg-h\"><h2 id=\"cfg-h\">"
                        "Configuration</h2>\n<pre class=\"config\">");
    const struct xend_sxp *cfg = xend_sxp_child(info, "config");
    if (cfg != NULL && xend_sxp_length(cfg) > 1) {
        struct xend_buf pretty = XEND_BUF_INIT;
        xend_sxp_pretty_buf(xend_sxp_nth(cfg, 1), &pretty);
        xend_http_html_escape(xend_buf_str(&pretty), pretty.len, &out);
        xend_buf_free(&pretty);
    }
    xend_buf_puts(&out, "</pre>\n<p><a href=\"");
    xend_ui_esc(&out, p.api);
    xend_buf_puts(&out, "\">This domain in the protocol</a></p>\n</section>\n");
    xend_ui_page_end(&out);
    xend_sxp_free(info);
    xend_sxp_free(plugins);
    xend_buf_free(&api);
    xend_buf_free(&self);
    return xend_ui_page_send(req, 200, &out);
}

int xend_ui_domain_register(void)
{
    static const struct xend_route route = {
        XEND_ROUTE_INIT,         .methods = XEND_HTTP_GET,   .path = "/ui/domain/{domain}",
        .fn = domain_page,       .flags = XEND_ROUTE_DOMAIN, .doc = "a domain's page",
        .role = XEND_ROLE_VIEWER};
    return xend_ui_http->route_add(NULL, &route);
}
