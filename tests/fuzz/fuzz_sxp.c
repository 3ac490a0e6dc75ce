/*
 * Fuzz target: the SXP parser (xend_sxp_parse, xend_sxp_parse_all) with the default limits
 * and with small ones, and the printers and accessors over whatever it accepts.
 *
 * Contract checked: a value xor an error with a message, never both; an error is one of
 * EINVAL/ELIMIT; the printers and copy work on every accepted value.
 */
#include <string.h>

#include "fuzz.h"
#include "sxp.h"

const char xend_fuzz_name[] = "sxp";
const char *const xend_fuzz_dict[] = {
    "(",        ")",    "'",  "\"", "\\", "\\x", "\\x4", "\\x41", "\\0", "\\377", "\\n",
    "#",        "\n",   "{",  "}",  "[",  "]",   "<",    ">",     "!",   ";",     "(vm (name a))",
    "((((((((", "))))", NULL,
};

static void check_value(const struct xend_sxp *v)
{
    struct xend_buf b = XEND_BUF_INIT;
    xend_sxp_print_buf(v, &b);
    xend_sxp_pretty_buf(v, &b);
    xend_buf_free(&b);
    char *s = xend_sxp_print(v);
    FUZZ_CHECK(s != NULL);
    free(s);
    struct xend_sxp *c = xend_sxp_copy(v);
    FUZZ_CHECK(xend_sxp_equal(v, c));
    /* The accessors the handlers use on request arguments. */
    (void)xend_sxp_name(v);
    (void)xend_sxp_child_value(v, "name", NULL);
    long long i;
    (void)xend_sxp_child_int(v, "memory", &i);
    for (size_t k = 0; k < xend_sxp_length(v); k++) {
        const char *t = xend_sxp_atom_text(xend_sxp_nth(v, k));
        if (t != NULL)
            (void)xend_sxp_text_int(t, &i);
    }
    xend_sxp_free(c);
}

typedef int parse_fn(const char *, size_t, const struct xend_sxp_limits *, struct xend_sxp **,
                     char *, size_t);

static void one(parse_fn *parse, const char *text, size_t len, const struct xend_sxp_limits *lim)
{
    char msg[96];
    memset(msg, 'X', sizeof(msg));
    struct xend_sxp *v = (struct xend_sxp *)1;
    int rc = parse(text, len, lim, &v, msg, sizeof(msg));
    FUZZ_CHECK(memchr(msg, '\0', sizeof(msg)) != NULL);
    if (rc == 0) {
        FUZZ_CHECK(v != NULL);
        check_value(v);
        xend_sxp_free(v);
    } else {
        FUZZ_CHECK(rc == -XEND_EINVAL || rc == -XEND_ELIMIT);
        FUZZ_CHECK(v == NULL);
        FUZZ_CHECK(msg[0] != '\0');
    }
}

int xend_fuzz_target(const uint8_t *data, size_t size)
{
    static const struct xend_sxp_limits small = {.max_depth = 8, .max_nodes = 200, .max_atom = 16};
    const char *text = (const char *)data;
    one(xend_sxp_parse, text, size, NULL);
    one(xend_sxp_parse, text, size, &small);
    one(xend_sxp_parse_all, text, size, NULL);
    one(xend_sxp_parse_all, text, size, &small);
    return 0;
}
