/*
 * Strict framing of a request head (RFC 9112), checked once the whole head is here and
 * before libevhtp's parser sees it (internal.h, xend_http_head_check). libevhtp 1.2.18
 * accepts Transfer-Encoding together with Content-Length (chunked wins: the classic
 * request-smuggling ambiguity behind a proxy), any transfer coding, any HTTP/x.y, and a
 * NUL in the request line cuts the path short; on a line it cannot parse it drops the
 * connection without a reply, where 2.0's server (and docs/http.md) answered 400.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http/internal.h"

/* RFC 9110's tchar (letters, digits and !#$%&'*+-.^_`|~) as one bit per ASCII code: every
 * byte of every header name comes here, and a strchr over the punctuation for each was a
 * tenth of the head's check. */
static inline bool is_tchar(unsigned char c)
{
    static const uint64_t tchar_bits[2] = {0x03ff6cfa00000000u, 0x57ffffffc7fffffeu};
    return c < 128 && ((tchar_bits[c >> 6] >> (c & 63)) & 1u);
}

static bool is_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

/* Copy text[0..len) into out for a message (a reason phrase): printable ASCII only. */
static void printable(const char *text, size_t len, char *out, size_t out_len)
{
    size_t m = 0;
    for (size_t i = 0; i < len && m + 1 < out_len; i++) {
        unsigned char c = (unsigned char)text[i];
        out[m++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    out[m] = '\0';
}

static int verdict(int status, char *msg, size_t msg_len, const char *fmt, const char *arg)
{
    snprintf(msg, msg_len, fmt, arg);
    return status;
}

/* Trim optional white space (SP, HTAB) around [*s, *s + *n). */
static void trim_ows(const char **s, size_t *n)
{
    while (*n > 0 && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

static int check_request_line(const char *p, size_t n, char *msg, size_t msg_len)
{
    for (size_t i = 0; i < n; i++)
        if (is_ctl((unsigned char)p[i]))
            return verdict(400, msg, msg_len, "Control character in the request line%s", "");
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)p[i]))
        i++;
    if (i == 0 || i == n || p[i] != ' ')
        return verdict(400, msg, msg_len, "Malformed request line%s", "");
    size_t target = ++i;
    while (i < n && p[i] != ' ')
        i++;
    if (i == target || i == n)
        return verdict(400, msg, msg_len, "Malformed request line%s", "");
    const char *v = p + i + 1;
    size_t vn = n - i - 1;
    if (vn != 8 || memcmp(v, "HTTP/", 5) != 0 || !(v[5] >= '0' && v[5] <= '9') || v[6] != '.' ||
        !(v[7] >= '0' && v[7] <= '9'))
        return verdict(400, msg, msg_len, "Malformed request line%s", "");
    if (v[5] != '1' || (v[7] != '0' && v[7] != '1')) {
        char ver[16];
        printable(v, vn, ver, sizeof(ver));
        return verdict(505, msg, msg_len, "HTTP version not supported: %s", ver);
    }
    return 0;
}

int xend_http_head_check(const char *head, size_t len, char *msg, size_t msg_len)
{
    size_t pos = 0;
    bool request_line = true;
    int n_cl = 0, n_te = 0;
    const char *cl = NULL, *te = NULL;
    size_t cl_len = 0, te_len = 0;
    while (pos < len) {
        const char *line = head + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + (nl ? 1 : 0);
        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (request_line) {
            if (n == 0)
                continue; /* empty lines before a request line are ignored (RFC 9112 2.2) */
            int rc = check_request_line(line, n, msg, msg_len);
            if (rc != 0)
                return rc;
            request_line = false;
            continue;
        }
        if (n == 0)
            break; /* the end of the head */
        if (line[0] == ' ' || line[0] == '\t')
            return verdict(400, msg, msg_len, "Folded header line not accepted%s", "");
        size_t name = 0;
        while (name < n && is_tchar((unsigned char)line[name]))
            name++;
        if (name == 0 || name == n || line[name] != ':')
            return verdict(400, msg, msg_len, "Malformed header line%s", "");
        const char *value = line + name + 1;
        size_t vn = n - name - 1;
        for (size_t i = 0; i < vn; i++) {
            unsigned char c = (unsigned char)value[i];
            if (is_ctl(c) && c != '\t') {
                char hn[48];
                printable(line, name, hn, sizeof(hn));
                return verdict(400, msg, msg_len, "Control character in header %s", hn);
            }
        }
        trim_ows(&value, &vn);
        if (name == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
            bool digits = vn > 0;
            for (size_t i = 0; i < vn; i++)
                digits = digits && value[i] >= '0' && value[i] <= '9';
            if (!digits)
                return verdict(400, msg, msg_len, "Malformed Content-Length%s", "");
            if (n_cl++ > 0 && (vn != cl_len || memcmp(value, cl, vn) != 0))
                return verdict(400, msg, msg_len, "Conflicting Content-Length headers%s", "");
            cl = value;
            cl_len = vn;
        } else if (name == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0) {
            n_te++;
            te = value;
            te_len = vn;
        }
    }
    if (request_line)
        return verdict(400, msg, msg_len, "Malformed request line%s", "");
    if (n_te > 0 && n_cl > 0)
        return verdict(400, msg, msg_len, "Transfer-Encoding together with Content-Length%s", "");
    if (n_te > 1)
        return verdict(400, msg, msg_len, "Transfer-Encoding given more than once%s", "");
    if (n_te == 1 && !(te_len == 7 && strncasecmp(te, "chunked", 7) == 0)) {
        char coding[48];
        printable(te, te_len, coding, sizeof(coding));
        return verdict(501, msg, msg_len, "Transfer coding not implemented: %s", coding);
    }
    return 0;
}
