/*
 * Fuzz target: parse -> print -> parse gives an equal value, and printing that gives the
 * same text (the printer's output is a fixpoint). Also for the pretty printer (xm list -l,
 * which 2.0 tools read back) and for parse_all. Limits are small so that values at the edge
 * of each limit are common: what the parser accepted, printed, must still be accepted.
 */
#include <string.h>

#include "fuzz.h"
#include "sxp.h"

const char xend_fuzz_name[] = "sxp_roundtrip";
const char *const xend_fuzz_dict[] = {
    "(",   ")",    "'",    "\"",  "\\",  "\\x", "\\x00", "\\x7f", "\\0", "\\377",
    "\\'", "\\\"", "\\\\", "\\n", "\\t", "\\r", "\\a",   "#",     "\n",  "{",
    "}",   "[",    "]",    "<",   ">",   "!",   ";",     "''",    NULL,
};

static const struct xend_sxp_limits lim = {.max_depth = 12, .max_nodes = 300, .max_atom = 24};

static struct xend_sxp *reparse(const struct xend_buf *b, bool all)
{
    char msg[128];
    struct xend_sxp *w = NULL;
    FUZZ_CHECK(b->len == 0 || memchr(b->data, '\0', b->len) == NULL);
    int rc =
        (all ? xend_sxp_parse_all : xend_sxp_parse)(b->data, b->len, &lim, &w, msg, sizeof(msg));
    if (rc != 0) {
        fprintf(stderr, "printed text does not parse again (%s): %.*s\n", msg, (int)b->len,
                b->data);
        FUZZ_CHECK(rc == 0);
    }
    return w;
}

/* Print the items of a parse_all list one after another, as a file of values. */
static void print_all(const struct xend_sxp *v, bool pretty, struct xend_buf *out)
{
    for (size_t i = 0; i < xend_sxp_length(v); i++) {
        if (pretty)
            xend_sxp_pretty_buf(xend_sxp_nth(v, i), out);
        else
            xend_sxp_print_buf(xend_sxp_nth(v, i), out);
        xend_buf_putc(out, '\n');
    }
}

static void roundtrip(const struct xend_sxp *v, bool all)
{
    struct xend_buf b1 = XEND_BUF_INIT, b2 = XEND_BUF_INIT, p = XEND_BUF_INIT;
    if (all)
        print_all(v, false, &b1);
    else
        xend_sxp_print_buf(v, &b1);
    xend_buf_putc(&b1, '\0'); /* so the error print is bounded */
    b1.len--;
    if (all && b1.len == 0) { /* an empty file: parse_all of nothing */
        xend_buf_free(&b1);
        return;
    }
    struct xend_sxp *w = reparse(&b1, all);
    if (!xend_sxp_equal(v, w)) {
        fprintf(stderr, "reparsed value differs: %s\n", b1.data);
        FUZZ_CHECK(xend_sxp_equal(v, w));
    }
    if (all)
        print_all(w, false, &b2);
    else
        xend_sxp_print_buf(w, &b2);
    FUZZ_CHECK(b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0);
    xend_sxp_free(w);

    if (all)
        print_all(v, true, &p);
    else
        xend_sxp_pretty_buf(v, &p);
    xend_buf_putc(&p, '\0');
    p.len--;
    w = reparse(&p, all);
    if (!xend_sxp_equal(v, w)) {
        fprintf(stderr, "pretty-printed value reads back different: %s\n", p.data);
        FUZZ_CHECK(xend_sxp_equal(v, w));
    }
    xend_sxp_free(w);
    xend_buf_free(&b1);
    xend_buf_free(&b2);
    xend_buf_free(&p);
}

int xend_fuzz_target(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct xend_sxp *v = NULL;
    if (xend_sxp_parse(text, size, &lim, &v, NULL, 0) == 0) {
        roundtrip(v, false);
        xend_sxp_free(v);
    }
    if (xend_sxp_parse_all(text, size, &lim, &v, NULL, 0) == 0) {
        roundtrip(v, true);
        xend_sxp_free(v);
    }
    return 0;
}
