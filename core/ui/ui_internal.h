/*
 * What the pages of core/ui share: the layout, escaping, small widgets. Nothing outside
 * core/ui includes this.
 *
 * Every string that came from a domain, a plugin or a request goes through xend_ui_esc (or
 * xend_http_html_escape) before it reaches a page: a domain named <script> is text.
 */
#ifndef XEND_CORE_UI_INTERNAL_H
#define XEND_CORE_UI_INTERNAL_H

#include <stdbool.h>

#include "buf.h"
#include "http/server.h"
#include "sxp.h"

/* The host's HTTP table (set by xend_ui_register). */
extern const struct xend_host_http *xend_ui_http;

/* <!DOCTYPE html> ... <main><h1>title</h1>, and the flash= / error= messages of the URL
 * (what a post/redirect/get carried). */
void xend_ui_page_begin(struct xend_request *req, struct xend_buf *out, const char *title);
/* </main> ... </html>. */
void xend_ui_page_end(struct xend_buf *out);
/* Reply with the page in out (freed). Returns 0, for a handler's return. */
int xend_ui_page_send(struct xend_request *req, int status, struct xend_buf *out);

void xend_ui_esc(struct xend_buf *out, const char *s);
/* An atom's text, or a list printed as SXP; escaped. */
void xend_ui_value(struct xend_buf *out, const struct xend_sxp *v);
/* A paragraph with role=alert holding msg. */
void xend_ui_error_box(struct xend_buf *out, const char *msg);

/* A domain's state word from its 5-letter state ("--p--" -> "paused"). */
const char *xend_ui_state_word(const char *state);
/* Seconds as "3d 4h", "2h 5m", "4m 10s", "12.3s". */
void xend_ui_duration(struct xend_buf *out, double secs);

/* A one-button form posting op to action (a path, escaped here) with the hidden fields and,
 * when field is non-NULL, field=value; danger styles it as destructive. */
void xend_ui_op_button(struct xend_buf *out, const char *action, const char *op, const char *label,
                       const char *back, bool danger, const char *field, const char *value);
/* "/xend/domain/NAME" or "/ui/domain/NAME" with NAME percent-encoded. */
void xend_ui_domain_href(struct xend_buf *out, const char *prefix, const char *name);
/* The start tag of a link to the console plugin's terminal page for console PORT (a 404
 * until that page exists), `<a href="/xend/console/PORT/terminal"`, left open for more
 * attributes: the caller writes `>`. */
void xend_ui_console_link_open(struct xend_buf *out, const char *port);

/* What a page knows of a form's field: its current value, unit, range, doc (all borrowed
 * for the call, any may be NULL). */
struct xend_ui_field_info {
    const char *value, *unit, *range, *doc;
    bool numeric;
};
struct xend_ui_field_hint {
    void (*fn)(const char *field, struct xend_ui_field_info *info, void *arg);
};
/* A form for op from its route's doc (forms.c): a fieldset titled title (NULL = op), the
 * doc's text, one labelled field per "params:" entry, the hidden fields, a submit button. */
void xend_ui_doc_form(struct xend_buf *out, const char *action, const char *op, const char *doc,
                      const char *back, const char *title, const struct xend_ui_field_hint *hint,
                      void *hint_arg);

/* Read a config's text (SXP or xm-style Python) as a create would, creating nothing: 0 with
 * *config (owned), or -XEND_EINVAL with each problem appended to problems as an escaped
 * <li>, its line first where known. */
int xend_ui_config_read(const char *text, size_t len, int role, struct xend_sxp **config,
                        struct xend_buf *problems);

/* The domains table's rows (overview.c), for the page and its live refresh. */
void xend_ui_domain_rows(struct xend_request *req, struct xend_buf *out);

/* Each page's routes (ui.c calls them). */
int xend_ui_assets_register(void);
int xend_ui_overview_register(void);
int xend_ui_domain_register(void);
int xend_ui_create_register(void);
int xend_ui_views_register(void);

#endif
