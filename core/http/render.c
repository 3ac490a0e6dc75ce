/*
 * Content negotiation and the text forms of a reply: the status table, reason phrases,
 * the JSON mapping of SXP and HTML escaping. Pure functions: no I/O, no global state.
 *
 * The status mapping lives only here (xend_http_status_for): a handler returns an XEND_E
 * code and never picks an HTTP status for an error itself.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http/internal.h"
#include "sxp.h"

int xend_http_status_for(int code)
{
    if (code < 0)
        code = -code;
    switch (code) {
    case XEND_OK:
        return 200;
    case XEND_ELIMIT:
        return 413;
    case XEND_ENOENT:
        /* A resource that does not exist (console, vnet, device): 404 whose reason phrase
         * is the message, which the 2.0 client prints as it does "invalid domain:X". */
        return 404;
    default:
        /* Operation errors, argument errors of an op included: 200 with (xend.err "...")
         * so that the 2.0 xm client prints the message (PROTOCOL-2.0.md §3.3). */
        return 200;
    }
}

const char *xend_http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 413:
        return "Payload Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    default:
        return "Unknown";
    }
}

/* Media types are compared whole, case-blind; parameters (;q=...) are ignored. */
bool xend_http_accept_has(const char *accept, const char *type)
{
    size_t tlen = strlen(type);
    const char *p = accept;
    while (*p != '\0') {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *e = p;
        while (*e != '\0' && *e != ',' && *e != ';' && *e != ' ' && *e != '\t')
            e++;
        if ((size_t)(e - p) == tlen && strncasecmp(p, type, tlen) == 0)
            return true;
        while (*e != '\0' && *e != ',')
            e++;
        p = e;
    }
    return false;
}

enum xend_http_format xend_http_negotiate(const char *user_agent, const char *accept)
{
    /* PROTOCOL.md: programs (no User-Agent, or no Accept, or asking for it) get SXP. */
    if (accept != NULL && xend_http_accept_has(accept, "application/sxp"))
        return XEND_HTTP_FMT_SXP;
    if (accept != NULL && xend_http_accept_has(accept, "application/json"))
        return XEND_HTTP_FMT_JSON;
    if (user_agent == NULL || accept == NULL)
        return XEND_HTTP_FMT_SXP;
    /* Browsers name text/html. A client that only says what it accepts in general
     * (curl's "*" "/" "*") is a program and gets SXP: see docs/http.md. */
    if (xend_http_accept_has(accept, "text/html") ||
        xend_http_accept_has(accept, "application/xhtml+xml"))
        return XEND_HTTP_FMT_HTML;
    return XEND_HTTP_FMT_SXP;
}

void xend_http_html_escape(const char *s, size_t len, struct xend_buf *out)
{
    for (size_t i = 0; i < len; i++) {
        switch (s[i]) {
        case '&':
            xend_buf_puts(out, "&amp;");
            break;
        case '<':
            xend_buf_puts(out, "&lt;");
            break;
        case '>':
            xend_buf_puts(out, "&gt;");
            break;
        case '"':
            xend_buf_puts(out, "&quot;");
            break;
        case '\'':
            xend_buf_puts(out, "&#39;");
            break;
        default:
            xend_buf_putc(out, s[i]);
            break;
        }
    }
}

/* ---- JSON ---- */

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

void xend_http_json_string(const char *s, struct xend_buf *out)
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
        xend_http_json_string(text, out);
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
        xend_http_json_string(xend_sxp_name(it), out);
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
        xend_http_json_string(xend_sxp_name(n), out);
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

void xend_http_json(const struct xend_sxp *node, struct xend_buf *out)
{
    json_node(node, out);
}
