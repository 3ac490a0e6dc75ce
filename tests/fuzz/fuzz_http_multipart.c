/*
 * Fuzz target: the multipart/form-data boundary parameter and body splitter (core/http
 * form.c). The input is a Content-Type header value, a line feed, then the body; the corpus
 * holds the Xen 2.0 client's bodies (docs/compat.md: file parts that run straight
 * into the next "--B", bare LFs, a body cut short).
 *
 * Contract checked: a boundary is 1..70 bytes and fits the caller's buffer or is an error;
 * the splitter returns EINVAL/ELIMIT with a message or arguments whose values lie within
 * the body; never more than max_parts arguments.
 */
#include <string.h>

#include "fuzz.h"
#include "http/internal.h"

const char xend_fuzz_name[] = "http_multipart";
const char *const xend_fuzz_dict[] = {
    "--",
    "--B",
    "--B--",
    "\r\n",
    "\n",
    "\r\n\r\n",
    "Content-Disposition: form-data; name=\"",
    "; filename=\"",
    "\"",
    "name=",
    "boundary=",
    "; boundary=\"",
    "Content-Type: ",
    ";",
    NULL,
};

enum { MAX_PARTS = 8 };

int xend_fuzz_target(const uint8_t *data, size_t size)
{
    const uint8_t *lf = memchr(data, '\n', size);
    size_t hlen = lf ? (size_t)(lf - data) : size;
    char *ctype = malloc(hlen + 1);
    memcpy(ctype, data, hlen);
    ctype[hlen] = '\0';
    const char *body = lf ? (const char *)lf + 1 : "";
    size_t blen = lf ? size - hlen - 1 : 0;

    struct xend_err err = {0};
    char small[8];
    int rc = xend_http_multipart_boundary(ctype, small, sizeof(small), &err);
    FUZZ_CHECK(rc == 0 ? strlen(small) < sizeof(small) : err.msg[0] != '\0');

    char boundary[71];
    err = (struct xend_err){0};
    rc = xend_http_multipart_boundary(ctype, boundary, sizeof(boundary), &err);
    if (rc != 0) {
        FUZZ_CHECK(rc == -XEND_EINVAL && err.msg[0] != '\0');
        free(ctype);
        return 0;
    }
    size_t bl = strlen(boundary);
    FUZZ_CHECK(bl >= 1 && bl <= 70);

    struct xend_http_args args = {0};
    err = (struct xend_err){0};
    rc = xend_http_parse_multipart(body, blen, boundary, MAX_PARTS, &args, &err);
    if (rc != 0) {
        FUZZ_CHECK(rc == -XEND_EINVAL || rc == -XEND_ELIMIT);
        FUZZ_CHECK(err.msg[0] != '\0');
    }
    FUZZ_CHECK(args.n <= MAX_PARTS);
    for (size_t i = 0; i < args.n; i++) {
        const struct xend_http_arg *a = &args.v[i];
        FUZZ_CHECK(a->name != NULL && a->name[0] != '\0');
        FUZZ_CHECK(a->value[a->len] == '\0' && !a->from_url);
        /* A part's value is a slice of the body, never more. */
        FUZZ_CHECK(a->len <= blen);
        FUZZ_CHECK(a->len == 0 || memmem(body, blen, a->value, a->len) != NULL);
    }
    xend_http_args_free(&args);
    free(ctype);
    return 0;
}
