/*
 * The JSON mapping of SXP (sxp_json.h).
 */
#include "sxp_json.h"

#include <stdbool.h>
#include <string.h>

static bool is_digits(const char *s, size_t *n)
{
    size_t i = 0;
    while (s[i] >= '0' && s[i] <= '9')
        i++;
    *n = i;
    return i > 0;
}

/* A plain JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool json_number(const char *s)
{
    size_t n;
    if (*s == '-')
        s++;
    if (!is_digits(s, &n) || (s[0] == '0' && n > 1))
        return false;
    s += n;
    if (*s == '.') {
        s++;
        if (!is_digits(s, &n))
            return false;
        s += n;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!is_digits(s, &n))
            return false;
        s += n;
    }
    return *s == '\0';
}

void xend_sxp_json_string(const char *s, struct xend_buf *out)
{
    xend_buf_putc(out, '"');
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '"':
            xend_buf_puts(out, "\\\"");
            break;
        case '\\':
            xend_buf_puts(out, "\\\\");
            break;
        case '\n':
            xend_buf_puts(out, "\\n");
            break;
        case '\r':
            xend_buf_puts(out, "\\r");
            break;
        case '\t':
            xend_buf_puts(out, "\\t");
            break;
        default:
            if (c < 0x20 || c == 0x7f)
                xend_buf_printf(out, "\\u%04x", c);
            else
                xend_buf_putc(out, (char)c);
        }
    }
    xend_buf_putc(out, '"');
}

static void json_atom(const char *text, struct xend_buf *out)
{
    if (json_number(text))
        xend_buf_puts(out, text);
    else
        xend_sxp_json_string(text, out);
}

/* A (key value...) list: a list whose head is an atom. */
static bool is_kv(const struct xend_sxp *n)
{
    return xend_sxp_is_list(n) && xend_sxp_name(n) != NULL;
}

/* Items [from, len) of list are all (key ...) lists with distinct keys. */
static bool all_kv_unique(const struct xend_sxp *list, size_t from)
{
    size_t len = xend_sxp_length(list);
    for (size_t i = from; i < len; i++) {
        const struct xend_sxp *it = xend_sxp_nth(list, i);
        if (!is_kv(it))
            return false;
        for (size_t j = from; j < i; j++)
            if (strcmp(xend_sxp_name(xend_sxp_nth(list, j)), xend_sxp_name(it)) == 0)
                return false;
    }
    return true;
}

static void json_node(const struct xend_sxp *n, struct xend_buf *out);

/* The object {"k1": value(item1), ...} of the kv items [from, len) of list. */
static void json_body(const struct xend_sxp *list, size_t from, struct xend_buf *out);

/* The JSON value of one (key v...) item: null, the one value, an object of kv values, or
 * an array. */
static void json_kv_value(const struct xend_sxp *kv, struct xend_buf *out)
{
    size_t len = xend_sxp_length(kv);
    if (len == 1)
        xend_buf_puts(out, "null");
    else if (all_kv_unique(kv, 1))
        json_body(kv, 1, out);
    else if (len == 2)
        json_node(xend_sxp_nth(kv, 1), out);
    else {
        xend_buf_putc(out, '[');
        for (size_t i = 1; i < len; i++) {
            if (i > 1)
                xend_buf_puts(out, ", ");
            json_node(xend_sxp_nth(kv, i), out);
        }
        xend_buf_putc(out, ']');
    }
}

static void json_body(const struct xend_sxp *list, size_t from, struct xend_buf *out)
{
    size_t len = xend_sxp_length(list);
    xend_buf_putc(out, '{');
    for (size_t i = from; i < len; i++) {
        const struct xend_sxp *it = xend_sxp_nth(list, i);
        if (i > from)
            xend_buf_puts(out, ", ");
        xend_sxp_json_string(xend_sxp_name(it), out);
        xend_buf_puts(out, ": ");
        json_kv_value(it, out);
    }
    xend_buf_putc(out, '}');
}

static void json_node(const struct xend_sxp *n, struct xend_buf *out)
{
    if (!xend_sxp_is_list(n)) {
        json_atom(xend_sxp_atom_text(n), out);
        return;
    }
    size_t len = xend_sxp_length(n);
    if (len >= 2 && xend_sxp_name(n) != NULL && all_kv_unique(n, 1)) {
        xend_buf_putc(out, '{');
        xend_sxp_json_string(xend_sxp_name(n), out);
        xend_buf_puts(out, ": ");
        json_body(n, 1, out);
        xend_buf_putc(out, '}');
        return;
    }
    xend_buf_putc(out, '[');
    for (size_t i = 0; i < len; i++) {
        if (i > 0)
            xend_buf_puts(out, ", ");
        json_node(xend_sxp_nth(n, i), out);
    }
    xend_buf_putc(out, ']');
}

void xend_sxp_json(const struct xend_sxp *node, struct xend_buf *out)
{
    json_node(node, out);
}

void xend_sxp_json_atom(const char *text, struct xend_buf *out)
{
    json_atom(text != NULL ? text : "", out);
}

void xend_sxp_json_fields(const struct xend_sxp *record, struct xend_buf *out)
{
    size_t len = xend_sxp_length(record);
    if (xend_sxp_is_list(record) && all_kv_unique(record, 1)) {
        json_body(record, 1, out);
        return;
    }
    xend_buf_putc(out, '[');
    for (size_t i = 1; i < len; i++) {
        if (i > 1)
            xend_buf_puts(out, ", ");
        json_node(xend_sxp_nth(record, i), out);
    }
    xend_buf_putc(out, ']');
}
