/*
 * Fuzz target: percent-decoding and application/x-www-form-urlencoded parsing (core/http
 * form.c), as for a query string and for a POST body.
 *
 * Contract checked: the decoder agrees byte for byte with a reference decoder written
 * here (a '%' needs two hex digits, '+' is a space only in form data); an error is EINVAL
 * with a message; every argument has a non-empty name and a NUL after its value. Leaks
 * are for the sanitizer build (LeakSanitizer) to find.
 */
#include <string.h>

#include "fuzz.h"
#include "http/internal.h"

const char xend_fuzz_name[] = "http_urlencoded";
const char *const xend_fuzz_dict[] = {
    "%", "%2", "%20", "%0a",       "%00",     "%zz",      "%%", "+",  "&",
    ";", "=",  "op=", "op=create", "config=", "%28vm%29", "&&", "==", NULL,
};

static int hex(uint8_t c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* The reference: decoded length, or -1 when malformed; out gets the bytes. */
static long reference(const uint8_t *s, size_t len, bool plus, uint8_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%') {
            if (i + 2 >= len)
                return -1;
            int h = hex(s[i + 1]), l = hex(s[i + 2]);
            if (h < 0 || l < 0)
                return -1;
            out[n++] = (uint8_t)(h * 16 + l);
            i += 2;
        } else {
            out[n++] = plus && s[i] == '+' ? ' ' : s[i];
        }
    }
    return (long)n;
}

static void check_unescape(const uint8_t *data, size_t size, bool plus)
{
    struct xend_buf b = XEND_BUF_INIT;
    struct xend_err err = {0};
    uint8_t *want = malloc(size ? size : 1);
    long n = reference(data, size, plus, want);
    int rc = xend_http_unescape((const char *)data, size, plus, &b, &err);
    if (n < 0) {
        FUZZ_CHECK(rc == -XEND_EINVAL);
        FUZZ_CHECK(err.code == XEND_EINVAL && err.msg[0] != '\0');
    } else {
        FUZZ_CHECK(rc == 0);
        FUZZ_CHECK(b.len == (size_t)n);
        FUZZ_CHECK(n == 0 || memcmp(b.data, want, (size_t)n) == 0);
    }
    free(want);
    xend_buf_free(&b);
}

static void check_form(const uint8_t *data, size_t size, bool from_url)
{
    struct xend_http_args args = {0};
    struct xend_err err = {0};
    int rc = xend_http_parse_urlencoded((const char *)data, size, from_url, &args, &err);
    if (rc != 0) {
        FUZZ_CHECK(rc == -XEND_EINVAL);
        FUZZ_CHECK(err.msg[0] != '\0');
    }
    for (size_t i = 0; i < args.n; i++) {
        const struct xend_http_arg *a = &args.v[i];
        /* A name holding a NUL (raw or %00) is refused, so no name is ever empty. */
        FUZZ_CHECK(a->name != NULL && a->name[0] != '\0');
        FUZZ_CHECK(a->value != NULL && a->value[a->len] == '\0');
        FUZZ_CHECK(a->from_url == from_url && !a->is_file);
        /* A value is never longer than the text it came from. */
        FUZZ_CHECK(a->len <= size);
        size_t count = 0;
        const struct xend_http_arg *f = xend_http_args_find(&args, a->name, &count);
        FUZZ_CHECK(f != NULL && count >= 1 && f <= a);
    }
    (void)xend_http_args_find(&args, "op", NULL);
    xend_http_args_free(&args);
    FUZZ_CHECK(args.v == NULL && args.n == 0);
}

int xend_fuzz_target(const uint8_t *data, size_t size)
{
    check_unescape(data, size, false);
    check_unescape(data, size, true);
    check_form(data, size, true);
    check_form(data, size, false);
    return 0;
}
