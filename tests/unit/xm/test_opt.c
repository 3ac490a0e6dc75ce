/*
 * Unit tests of xm's option parsing (xm/opt.c): python getopt's behaviour and messages,
 * and the 2.0 usage text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "opt.h"

static const struct xm_opt opts_tab[] = {
    {"help", 'h', XM_OPT_FLAG, NULL, "Print this help.", NULL},
    {"quiet", 'q', XM_OPT_FLAG, NULL, "Quiet.", NULL},
    {"defconfig", 'f', XM_OPT_VALUE, "FILE", "Use the given\n   Python script.", "xmdefconfig"},
    {"dryrun", 'n', XM_OPT_FLAG, NULL, "Dry run.", NULL},
    {"debug", 0, XM_OPT_FLAG, NULL, NULL, NULL},
    {"memory", 0, XM_OPT_VAR, "MEMORY", "Domain memory in MB.", "128"},
};
static const struct xm_optset set = {"[options] [vars]\n\nCreate a domain.\n", opts_tab, 6};

static int parse(char **argv, int argc, struct xm_optval *v, char ***args, int *nargs,
                 struct xend_err *err)
{
    xend_err_clear(err);
    return xm_opt_parse(&set, argc, argv, v, args, nargs, err);
}

static void test_options_mix_with_arguments(void **state)
{
    (void)state;
    char *argv[] = {"create", "-qn", "cfg",   "--defconfig=x", "memory=64",
                    "-f",     "y",   "--dry", "-fz",           "last"};
    struct xm_optval v[6];
    char **args;
    int nargs;
    struct xend_err err;
    assert_int_equal(parse(argv, 10, v, &args, &nargs, &err), 0);
    assert_int_equal(v[1].count, 1);
    assert_int_equal(v[3].count, 2); /* -n and --dry (a unique prefix of --dryrun) */
    assert_int_equal(v[2].count, 3);
    assert_string_equal(v[2].value, "z");
    assert_int_equal(nargs, 3);
    assert_string_equal(args[0], "cfg");
    assert_string_equal(args[1], "memory=64");
    assert_string_equal(args[2], "last");
    free(args);
}

static void test_double_dash_ends_options(void **state)
{
    (void)state;
    char *argv[] = {"x", "--", "-q", "-"};
    struct xm_optval v[6];
    char **args;
    int nargs;
    struct xend_err err;
    assert_int_equal(parse(argv, 4, v, &args, &nargs, &err), 0);
    assert_int_equal(v[1].count, 0);
    assert_int_equal(nargs, 2);
    assert_string_equal(args[0], "-q");
    assert_string_equal(args[1], "-");
    free(args);
}

static void expect_error(char **argv, int argc, const char *msg)
{
    struct xm_optval v[6];
    char **args;
    int nargs;
    struct xend_err err;
    assert_int_equal(parse(argv, argc, v, &args, &nargs, &err), -XEND_EINVAL);
    assert_string_equal(err.msg, msg);
    assert_null(args);
}

static void test_errors_use_getopt_messages(void **state)
{
    (void)state;
    char *a1[] = {"x", "-z"};
    expect_error(a1, 2, "option -z not recognized");
    char *a2[] = {"x", "-f"};
    expect_error(a2, 2, "option -f requires argument");
    char *a3[] = {"x", "--nothing"};
    expect_error(a3, 2, "option --nothing not recognized");
    char *a4[] = {"x", "--d"};
    expect_error(a4, 2, "option --d not a unique prefix");
    char *a5[] = {"x", "--quiet=1"};
    expect_error(a5, 2, "option --quiet must not have an argument");
    char *a6[] = {"x", "--defconfig"};
    expect_error(a6, 2, "option --defconfig requires argument");
    char *a7[] = {"x", "--memory=1"}; /* variables are not options */
    expect_error(a7, 2, "option --memory not recognized");
}

static void test_usage_is_the_2_0_text(void **state)
{
    (void)state;
    struct xend_buf b = XEND_BUF_INIT;
    xm_opt_usage(&set, "create", &b);
    assert_string_equal(xend_buf_str(&b),
                        "Usage:  create [options] [vars]\n\nCreate a domain.\n\n\n"
                        " -h, --help\n    Print this help.\n\n"
                        " -q, --quiet\n    Quiet.\n\n"
                        " -f, --defconfig FILE\n    Use the given\n"
                        "    Python script.\n    Default xmdefconfig\n\n"
                        " -n, --dryrun\n    Dry run.\n\n"
                        " --debug\n\n"
                        " memory=MEMORY\n    Domain memory in MB.\n"
                        "    Default 128\n\n\n");
    xend_buf_free(&b);
    assert_int_equal(xm_opt_index(&set, "dryrun"), 3);
    assert_int_equal(xm_opt_index(&set, "memory"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_mix_with_arguments),
        cmocka_unit_test(test_double_dash_ends_options),
        cmocka_unit_test(test_errors_use_getopt_messages),
        cmocka_unit_test(test_usage_is_the_2_0_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
