/*
 * The create page (GET /ui/create, POST /ui/create op=check|create): paste or upload a
 * config (SXP, or the xm-style Python of `xm create`), check it without creating anything
 * (every problem with its line), create it. A domain is unpaused after its create unless
 * "start paused" is ticked, and the page it lands on says its state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain_table.h"
#include "lifecycle.h"
#include "ui/ui_internal.h"

/* The config's text: an uploaded file when one was given, else the text area. */
static const char *config_text(struct xend_request *req)
{
    const char *file = xend_ui_http->arg_str(req, "config_file");
    if (file != NULL && *file != '\0')
        return file;
    const char *text = xend_ui_http->arg_str(req, "config");
    return text ? text : "";
}

/* The page; problems (HTML <li>s) and note (plain text) may be NULL. */
static void page(struct xend_request *req, struct xend_buf *out, const char *text,
                 const char *problems, const char *note, bool paused)
{
    xend_ui_page_begin(req, out, "Create a domain");
    if (problems != NULL && *problems) {
        xend_buf_puts(out, "<div class=\"flash error\" role=\"alert\"><p>The config has "
                           "problems; nothing was created:</p><ul id=\"problems\">\n");
        xend_buf_puts(out, problems);
        xend_buf_puts(out, "</ul></div>\n");
    }
    if (note != NULL) {
        xend_buf_puts(out, "<p class=\"flash\" role=\"status\" id=\"note\">");
        xend_ui_esc(out, note);
        xend_buf_puts(out, "</p>\n");
    }
    xend_buf_puts(out, "<form method=\"post\" action=\"/ui/create\" "
                       "enctype=\"multipart/form-data\">\n");
    xend_http_form_hidden(NULL, out);
    xend_buf_puts(out, "<div class=\"field\"><label for=\"config\">Config: SXP "
                       "<code>(vm (name ...) ...)</code> or xm-style Python "
                       "(<code>name = \"vm1\"</code>)</label><br>\n<textarea id=\"config\" "
                       "name=\"config\" rows=\"16\" cols=\"80\" spellcheck=\"false\">");
    xend_ui_esc(out, text);
    xend_buf_puts(out, "</textarea></div>\n<div class=\"field\"><label for=\"config_file\">"
                       "Or upload a config file</label> <input id=\"config_file\" "
                       "type=\"file\" name=\"config_file\"></div>\n"
                       "<div class=\"field\"><input id=\"paused\" type=\"checkbox\" "
                       "name=\"paused\" value=\"1\"");
    if (paused)
        xend_buf_puts(out, " checked");
    xend_buf_puts(out, "> <label for=\"paused\">Start paused</label></div>\n"
                       "<p><button type=\"submit\" name=\"op\" value=\"check\">Check</button> "
                       "<button type=\"submit\" name=\"op\" value=\"create\">Create</button>"
                       "</p>\n</form>\n");
    xend_ui_page_end(out);
}

static int create_form(struct xend_request *req, void *arg)
{
    (void)arg;
    struct xend_buf out = XEND_BUF_INIT;
    page(req, &out, "", NULL, NULL, false);
    return xend_ui_page_send(req, 200, &out);
}

static bool want_paused(struct xend_request *req)
{
    const char *p = xend_ui_http->arg_str(req, "paused");
    return p != NULL && *p != '\0' && strcmp(p, "0") != 0;
}

static int check(struct xend_request *req, void *arg)
{
    (void)arg;
    const char *text = config_text(req);
    struct xend_sxp *config = NULL;
    struct xend_buf problems = XEND_BUF_INIT, out = XEND_BUF_INIT;
    int rc =
        xend_ui_config_read(text, strlen(text), xend_ui_http->caller_role(req), &config, &problems);
    struct xend_buf note = XEND_BUF_INIT;
    if (rc == 0)
        xend_buf_printf(&note, "No problems found: %s can be created.",
                        xend_sxp_child_value(config, "name", "the domain"));
    page(req, &out, text, xend_buf_str(&problems), rc == 0 ? xend_buf_str(&note) : NULL,
         want_paused(req));
    xend_sxp_free(config);
    xend_buf_free(&problems);
    xend_buf_free(&note);
    /* A page of its own (not a redirect): nothing changed, the form keeps the text. */
    return xend_ui_page_send(req, rc == 0 ? 200 : 422, &out);
}

struct creating {
    struct xend_request *req;
    char *text; /* owned: shown again when the create fails */
    bool paused;
};

static void created(int rc, const struct xend_err *err, struct xend_domain *dom, void *arg)
{
    struct creating *c = arg;
    struct xend_request *req = c->req;
    if (rc < 0) {
        struct xend_buf problems = XEND_BUF_INIT, out = XEND_BUF_INIT;
        xend_buf_puts(&problems, "<li>");
        xend_ui_esc(&problems, xend_err_msg(err));
        xend_buf_puts(&problems, "</li>\n");
        page(req, &out, c->text, xend_buf_str(&problems), NULL, c->paused);
        xend_buf_free(&problems);
        xend_ui_page_send(req, 422, &out);
        xend_ui_http->complete(req, 0);
    } else {
        const char *state = "paused, as asked";
        struct xend_err uerr = {0};
        if (!c->paused)
            state = xend_lifecycle_unpause(dom, &uerr) == 0 ? "running" : xend_err_msg(&uerr);
        struct xend_buf loc = XEND_BUF_INIT, msg = XEND_BUF_INIT;
        xend_ui_domain_href(&loc, "/ui/domain/", dom->name);
        xend_buf_printf(&msg, "Created %s; it is %s.", dom->name, state);
        xend_buf_puts(&loc, "?flash=");
        xend_http_url_encode(xend_buf_str(&msg), &loc);
        /* Post/redirect/get (core/http/html.c) sends the browser there with 303. */
        xend_ui_http->reply_header(req, "Location", xend_buf_str(&loc));
        xend_ui_http->reply_take(req, 201, xend_sxp_atom(dom->name));
        xend_ui_http->complete(req, 0);
        xend_buf_free(&loc);
        xend_buf_free(&msg);
    }
    free(c->text);
    free(c);
}

static int create(struct xend_request *req, void *arg)
{
    (void)arg;
    const char *text = config_text(req);
    struct xend_sxp *config = NULL;
    struct xend_buf problems = XEND_BUF_INIT;
    int rc =
        xend_ui_config_read(text, strlen(text), xend_ui_http->caller_role(req), &config, &problems);
    if (rc < 0) {
        struct xend_buf out = XEND_BUF_INIT;
        page(req, &out, text, xend_buf_str(&problems), NULL, want_paused(req));
        xend_buf_free(&problems);
        return xend_ui_page_send(req, 422, &out);
    }
    xend_buf_free(&problems);
    struct creating *c = xend_xcalloc(1, sizeof(*c));
    c->req = req;
    c->text = xend_xstrdup(text);
    c->paused = want_paused(req);
    xend_ui_http->defer(req);
    xend_lifecycle_create(config, created, c);
    return 0;
}

int xend_ui_create_register(void)
{
    static const struct xend_route routes[] = {
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET, .path = "/ui/create", .fn = create_form,
         .doc = "the create page", .role = XEND_ROLE_VIEWER},
        /* A check changes nothing: a viewer may run it. */
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/ui/create", .op = "check",
         .fn = check, .doc = "check a config without creating anything. params: config",
         .role = XEND_ROLE_VIEWER},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/ui/create", .op = "create",
         .fn = create, .doc = "create a domain from a config. params: config paused:0|1",
         .role = XEND_ROLE_OPERATOR},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        int rc = xend_ui_http->route_add(NULL, &routes[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}
