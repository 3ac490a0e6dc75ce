/*
 * Output for scripts (output.h).
 */
#include "output.h"

#include <string.h>

#include "sxp_json.h"

static int form_of(const char *s, enum xm_output_form *form, struct xend_err *err)
{
    if (strcmp(s, "json") == 0)
        *form = XM_OUT_JSON;
    else if (strcmp(s, "sxp") == 0)
        *form = XM_OUT_SXP;
    else if (strcmp(s, "text") == 0)
        *form = XM_OUT_TEXT;
    else
        return xend_err_set(err, XEND_EINVAL, "invalid output format: %s (json, sxp or text)", s);
    return 0;
}

int xm_output_take(int argc, char **argv, enum xm_output_form *form, struct xend_err *err)
{
    int j = 1;
    bool rest = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
        if (!rest && strcmp(a, "--") == 0)
            rest = true;
        if (rest) {
            argv[j++] = argv[i];
            continue;
        }
        if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            if (i + 1 >= argc)
                return xend_err_set(err, XEND_EINVAL, "option %s requires argument", a);
            val = argv[++i];
        } else if (strncmp(a, "--output=", 9) == 0) {
            val = a + 9;
        } else if (strncmp(a, "-o", 2) == 0) {
            val = a + 2;
        } else {
            argv[j++] = argv[i];
            continue;
        }
        int rc = form_of(val, form, err);
        if (rc < 0)
            return rc;
    }
    argv[j] = NULL;
    return j;
}

void xm_out_begin(struct xm_out *o, enum xm_output_form form)
{
    o->form = form;
    o->n = 0;
    o->buf = (struct xend_buf)XEND_BUF_INIT;
    xend_buf_putc(&o->buf, form == XM_OUT_JSON ? '[' : '(');
}

static void sep(struct xm_out *o)
{
    if (o->n++ > 0)
        xend_buf_puts(&o->buf, o->form == XM_OUT_JSON ? ", " : " ");
}

struct xend_buf *xm_out_item(struct xm_out *o)
{
    sep(o);
    return &o->buf;
}

void xm_out_value(struct xm_out *o, const struct xend_sxp *v)
{
    sep(o);
    if (o->form == XM_OUT_JSON)
        xend_sxp_json(v, &o->buf);
    else
        xend_sxp_print_buf(v, &o->buf);
}

void xm_out_record(struct xm_out *o, const struct xend_sxp *rec)
{
    sep(o);
    if (o->form == XM_OUT_JSON)
        xend_sxp_json_fields(rec, &o->buf);
    else
        xend_sxp_print_buf(rec, &o->buf);
}

void xm_out_end(struct xm_out *o, struct xend_buf *out)
{
    xend_buf_puts(&o->buf, o->form == XM_OUT_JSON ? "]\n" : ")\n");
    xend_buf_append(out, o->buf.data, o->buf.len);
    xend_buf_free(&o->buf);
    o->n = 0;
}

void xm_output_one(enum xm_output_form form, const struct xend_sxp *v, bool fields,
                   struct xend_buf *out)
{
    if (form == XM_OUT_JSON && fields)
        xend_sxp_json_fields(v, out);
    else if (form == XM_OUT_JSON)
        xend_sxp_json(v, out);
    else
        xend_sxp_print_buf(v, out);
    xend_buf_putc(out, '\n');
}
