/*
 * A form from a route's doc string ("text. params: a b:x|y c:file", the convention of
 * docs/http.md), with labelled fields holding current values: what every page uses for
 * the ops it does not lay out itself, the scheduler's included, so that a plugin's op gets
 * a working form without the core naming it.
 */
#include <string.h>

#include "ui/ui_internal.h"

static void field(struct xend_buf *out, const char *form_id, const char *tok, size_t n,
                  const struct xend_ui_field_hint *hint, void *hint_arg, bool *multipart)
{
    const char *colon = memchr(tok, ':', n);
    struct xend_buf name = XEND_BUF_INIT, id = XEND_BUF_INIT;
    xend_buf_append(&name, tok, colon ? (size_t)(colon - tok) : n);
    const char *nm = xend_buf_str(&name);
    xend_buf_printf(&id, "%s-%s", form_id, nm);
    struct xend_ui_field_info info = {0};
    if (hint != NULL)
        hint->fn(nm, &info, hint_arg);
    xend_buf_puts(out, "<div class=\"field\">");
    bool file =
        colon != NULL && (size_t)(tok + n - colon - 1) == 4 && memcmp(colon + 1, "file", 4) == 0;
    if (colon != NULL && !file) {
        /* choices: a select, the current value chosen */
        xend_buf_puts(out, "<label for=\"");
        xend_ui_esc(out, xend_buf_str(&id));
        xend_buf_puts(out, "\">");
        xend_ui_esc(out, nm);
        xend_buf_puts(out, "</label> <select id=\"");
        xend_ui_esc(out, xend_buf_str(&id));
        xend_buf_puts(out, "\" name=\"");
        xend_ui_esc(out, nm);
        xend_buf_puts(out, "\">");
        const char *p = colon + 1, *end = tok + n;
        while (p < end) {
            const char *bar = memchr(p, '|', (size_t)(end - p));
            const char *e = bar ? bar : end;
            struct xend_buf choice = XEND_BUF_INIT;
            xend_buf_append(&choice, p, (size_t)(e - p));
            xend_buf_puts(out, "<option");
            if (info.value != NULL && strcmp(info.value, xend_buf_str(&choice)) == 0)
                xend_buf_puts(out, " selected");
            xend_buf_puts(out, ">");
            xend_ui_esc(out, xend_buf_str(&choice));
            xend_buf_puts(out, "</option>");
            xend_buf_free(&choice);
            p = e + 1;
        }
        xend_buf_puts(out, "</select>");
    } else {
        if (file)
            *multipart = true;
        xend_buf_puts(out, "<label for=\"");
        xend_ui_esc(out, xend_buf_str(&id));
        xend_buf_puts(out, "\">");
        xend_ui_esc(out, nm);
        if (info.unit != NULL && *info.unit) {
            xend_buf_puts(out, " (");
            xend_ui_esc(out, info.unit);
            xend_buf_puts(out, ")");
        }
        xend_buf_puts(out, "</label> <input id=\"");
        xend_ui_esc(out, xend_buf_str(&id));
        xend_buf_puts(out, file ? "\" type=\"file\" name=\"" : "\" type=\"text\" name=\"");
        xend_ui_esc(out, nm);
        xend_buf_puts(out, "\"");
        if (info.value != NULL && !file) {
            xend_buf_puts(out, " value=\"");
            xend_ui_esc(out, info.value);
            xend_buf_puts(out, "\"");
        }
        if (info.numeric)
            xend_buf_puts(out, " inputmode=\"numeric\"");
        if (info.doc != NULL) {
            xend_buf_puts(out, " title=\"");
            xend_ui_esc(out, info.doc);
            xend_buf_puts(out, "\"");
        }
        xend_buf_puts(out, ">");
        if (info.range != NULL) {
            xend_buf_puts(out, " <small>");
            xend_ui_esc(out, info.range);
            xend_buf_puts(out, "</small>");
        }
    }
    xend_buf_puts(out, "</div>\n");
    xend_buf_free(&name);
    xend_buf_free(&id);
}

struct field_sink {
    struct xend_buf *out;
    const char *form_id;
    const struct xend_ui_field_hint *hint;
    void *hint_arg;
    bool multipart;
};

static void field_of_doc(const char *word, size_t len, void *arg)
{
    struct field_sink *fs = arg;
    field(fs->out, fs->form_id, word, len, fs->hint, fs->hint_arg, &fs->multipart);
}

void xend_ui_doc_form(struct xend_buf *out, const char *action, const char *op, const char *doc,
                      const char *back, const char *title, const struct xend_ui_field_hint *hint,
                      void *hint_arg)
{
    struct xend_buf fields = XEND_BUF_INIT, form_id = XEND_BUF_INIT;
    xend_buf_printf(&form_id, "f-%s", op);
    struct field_sink fs = {&fields, xend_buf_str(&form_id), hint, hint_arg, false};
    size_t text_len = xend_http_doc_params(doc, field_of_doc, &fs);
    bool multipart = fs.multipart;
    xend_buf_puts(out, "<form class=\"op\" method=\"post\" action=\"");
    xend_ui_esc(out, action);
    xend_buf_puts(out, multipart ? "\" enctype=\"multipart/form-data\">\n" : "\">\n");
    xend_buf_puts(out, "<fieldset><legend>");
    xend_ui_esc(out, title ? title : op);
    xend_buf_puts(out, "</legend>\n");
    if (text_len > 0) {
        xend_buf_puts(out, "<p class=\"doc\">");
        xend_http_html_escape(doc, text_len, out);
        xend_buf_puts(out, "</p>\n");
    }
    xend_buf_puts(out, "<input type=\"hidden\" name=\"op\" value=\"");
    xend_ui_esc(out, op);
    xend_buf_puts(out, "\">\n");
    xend_http_form_hidden(back, out);
    xend_buf_append(out, fields.data ? fields.data : "", fields.len);
    xend_buf_puts(out, "<button type=\"submit\">");
    xend_ui_esc(out, op);
    xend_buf_puts(out, "</button>\n</fieldset></form>\n");
    xend_buf_free(&fields);
    xend_buf_free(&form_id);
}
