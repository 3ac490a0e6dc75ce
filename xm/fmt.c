/*
 * Output formats of xm (see fmt.h).
 */
#include "fmt.h"

#include "output.h"
#include "sxp_json.h"

#include <stdlib.h>
#include <string.h>

void xm_fmt_list_header(struct xend_buf *out)
{
    xend_buf_puts(out, "Name              Id  Mem(MB)  CPU  State  Time(s)  Console\n");
}

/* int() of a child as the 2.0 client did; a value that is no integer counts as dflt. */
static long long child_int(const struct xend_sxp *l, const char *name, long long dflt)
{
    long long v;
    return xend_sxp_child_int(l, name, &v) == 0 ? v : dflt;
}

static double child_double(const struct xend_sxp *l, const char *name)
{
    const char *s = xend_sxp_child_value(l, name, NULL);
    if (s == NULL)
        return 0.0;
    char *e;
    double d = strtod(s, &e);
    return e != s ? d : 0.0;
}

void xm_fmt_list_row(const struct xend_sxp *info, struct xend_buf *out)
{
    const struct xend_sxp *console = xend_sxp_child(info, "console");
    const char *port = console != NULL ? xend_sxp_child_value(console, "console_port", "") : "";
    xend_buf_printf(out, "%-16s %3lld  %7lld  %3lld  %5s  %7.1f    %4s\n",
                    xend_sxp_child_value(info, "name", "??"), child_int(info, "id", -1),
                    child_int(info, "memory", 0), child_int(info, "cpu", 0),
                    xend_sxp_child_value(info, "state", "??"), child_double(info, "cpu_time"),
                    port);
}

void xm_fmt_text(const struct xend_sxp *v, struct xend_buf *out)
{
    if (v == NULL)
        return;
    if (xend_sxp_is_list(v))
        xend_sxp_print_buf(v, out);
    else
        xend_buf_puts(out, xend_sxp_atom_text(v));
}

void xm_fmt_info(const struct xend_sxp *node, struct xend_buf *out)
{
    for (size_t i = 1; i < xend_sxp_length(node); i++) {
        const struct xend_sxp *x = xend_sxp_nth(node, i);
        const char *key = xend_sxp_name(x);
        if (key == NULL)
            continue;
        xend_buf_printf(out, "%-23s: ", key);
        xm_fmt_text(xend_sxp_nth(x, 1), out);
        xend_buf_putc(out, '\n');
    }
}

void xm_fmt_consoles_header(struct xend_buf *out)
{
    xend_buf_puts(out, "Dom Port  Id Connection\n");
}

void xm_fmt_console_row(const struct xend_sxp *console, struct xend_buf *out)
{
    const struct xend_sxp *conn = xend_sxp_child(console, "connected");
    struct xend_buf c = XEND_BUF_INIT;
    if (conn != NULL) {
        xm_fmt_text(xend_sxp_nth(conn, 1), &c);
        xend_buf_putc(&c, ':');
        xm_fmt_text(xend_sxp_nth(conn, 2), &c);
    }
    xend_buf_printf(out, "%3s %4s %3s %s\n", xend_sxp_child_value(console, "domain", "?"),
                    xend_sxp_child_value(console, "console_port", "?"),
                    xend_sxp_child_value(console, "id", "?"), xend_buf_str(&c));
    xend_buf_free(&c);
}

void xm_fmt_line(const struct xend_sxp *v, struct xend_buf *out)
{
    xend_sxp_print_buf(v, out);
    xend_buf_putc(out, '\n');
}

void xm_fmt_pretty(const struct xend_sxp *v, struct xend_buf *out)
{
    xend_sxp_pretty_buf(v, out);
    if (out->len == 0 || out->data[out->len - 1] != '\n')
        xend_buf_putc(out, '\n');
}

/* A JSON integer for an integer child, null otherwise. */
static void json_int_or_null(const struct xend_sxp *l, const char *name, struct xend_buf *out)
{
    long long v;
    if (l != NULL && xend_sxp_child_int(l, name, &v) == 0)
        xend_buf_printf(out, "%lld", v);
    else
        xend_buf_puts(out, "null");
}

void xm_fmt_list_item(const struct xend_sxp *info, int form, struct xend_buf *out)
{
    const struct xend_sxp *console = xend_sxp_child(info, "console");
    const char *name = xend_sxp_child_value(info, "name", "??");
    const char *state = xend_sxp_child_value(info, "state", "??");
    if (form == XM_OUT_JSON) {
        xend_buf_puts(out, "{\"name\": ");
        xend_sxp_json_string(name, out);
        xend_buf_printf(out, ", \"id\": %lld, \"memory\": %lld, \"cpu\": %lld, \"state\": ",
                        child_int(info, "id", -1), child_int(info, "memory", 0),
                        child_int(info, "cpu", 0));
        xend_sxp_json_string(state, out);
        xend_buf_printf(out,
                        ", \"cpu_time\": %.3f, \"console_port\": ", child_double(info, "cpu_time"));
        json_int_or_null(console, "console_port", out);
        xend_buf_putc(out, '}');
        return;
    }
    struct xend_sxp *row = xend_sxp_list_of("domain", NULL);
    xend_sxp_add_kv(row, "name", name);
    xend_sxp_add_kv_int(row, "id", child_int(info, "id", -1));
    xend_sxp_add_kv_int(row, "memory", child_int(info, "memory", 0));
    xend_sxp_add_kv_int(row, "cpu", child_int(info, "cpu", 0));
    xend_sxp_add_kv(row, "state", state);
    xend_sxp_add_kv_take(row, "cpu_time", xend_sxp_atom_double(child_double(info, "cpu_time")));
    const char *port = console != NULL ? xend_sxp_child_value(console, "console_port", NULL) : NULL;
    xend_sxp_append_take(row, port != NULL ? xend_sxp_list_of("console_port", port, NULL)
                                           : xend_sxp_list_of("console_port", NULL));
    xend_sxp_print_buf(row, out);
    xend_sxp_free(row);
}

void xm_fmt_id_name(const struct xend_sxp *info, int form, struct xend_buf *out)
{
    const char *name = info != NULL ? xend_sxp_child_value(info, "name", NULL) : NULL;
    if (form == XM_OUT_JSON) {
        xend_buf_puts(out, "{\"id\": ");
        json_int_or_null(info, "id", out);
        xend_buf_puts(out, ", \"name\": ");
        if (name != NULL)
            xend_sxp_json_string(name, out);
        else
            xend_buf_puts(out, "null");
        xend_buf_puts(out, "}\n");
        return;
    }
    struct xend_sxp *pair = xend_sxp_list_of("domain", NULL);
    const char *id = info != NULL ? xend_sxp_child_value(info, "id", NULL) : NULL;
    xend_sxp_add_kv(pair, "id", id != NULL ? id : "None");
    xend_sxp_add_kv(pair, "name", name != NULL ? name : "None");
    xm_fmt_line(pair, out);
    xend_sxp_free(pair);
}
