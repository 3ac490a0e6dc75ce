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
#include "sxp_json.h"

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
         * so that the 2.0 xm client prints the message (docs/compat.md). */
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
    case 422:
        return "Unprocessable Content";
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
    /* docs/http.md: programs (no User-Agent, or no Accept, or asking for it) get SXP. */
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

/* ---- JSON (the mapping lives in sxp_json.c, shared with xm) ---- */

void xend_http_json_string(const char *s, struct xend_buf *out)
{
    xend_sxp_json_string(s, out);
}

void xend_http_json(const struct xend_sxp *node, struct xend_buf *out)
{
    xend_sxp_json(node, out);
}
