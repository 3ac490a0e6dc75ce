/*
 * Unit tests of xm's output for scripts (xm/output.c, the list row of xm/fmt.c): the -o
 * option taken out of any place, the array writer, and the list row's fixed types.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "fmt.h"
#include "output.h"

static void test_the_option_is_taken_wherever_it_is(void **state)
{
    (void)state;
    static const struct {
        const char *args[6];
        int argc;
        enum xm_output_form form;
        const char *rest; /* the arguments left, space-separated */
    } cases[] = {
        {{"list", "-o", "json"}, 3, XM_OUT_JSON, "list"},
        {{"list", "-l", "-osxp", "vm1"}, 4, XM_OUT_SXP, "list -l vm1"},
        {{"list", "--output=json", "-l"}, 3, XM_OUT_JSON, "list -l"},
        {{"list", "vm1", "--output", "text"}, 4, XM_OUT_TEXT, "list vm1"},
        {{"call", "--", "-o", "json"}, 4, XM_OUT_TEXT, "call -- -o json"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *argv[7] = {0};
        for (int k = 0; k < cases[i].argc; k++)
            argv[k] = (char *)cases[i].args[k];
        enum xm_output_form form = XM_OUT_TEXT;
        struct xend_err err = {0};
        int n = xm_output_take(cases[i].argc, argv, &form, &err);
        assert_true(n > 0);
        assert_int_equal(form, cases[i].form);
        char rest[64] = "";
        for (int k = 0; k < n; k++) {
            if (k > 0)
                strcat(rest, " ");
            strcat(rest, argv[k]);
        }
        assert_string_equal(rest, cases[i].rest);
        assert_null(argv[n]);
    }
}

static void test_a_bad_or_missing_format_is_refused(void **state)
{
    (void)state;
    char *a[] = {"list", "-o", "yaml", NULL};
    enum xm_output_form form = XM_OUT_TEXT;
    struct xend_err err = {0};
    assert_int_equal(xm_output_take(3, a, &form, &err), -XEND_EINVAL);
    assert_string_equal(err.msg, "invalid output format: yaml (json, sxp or text)");
    char *b[] = {"list", "-o", NULL};
    struct xend_err err2 = {0};
    assert_int_equal(xm_output_take(2, b, &form, &err2), -XEND_EINVAL);
    assert_string_equal(err2.msg, "option -o requires argument");
}

static void test_records_become_objects_in_one_array(void **state)
{
    (void)state;
    struct xend_sxp *a = NULL, *b = NULL;
    char msg[64];
    assert_int_equal(
        xend_sxp_parse("(vif (idx 0) (mac aa:00:00:00:10:01))", 37, NULL, &a, msg, sizeof(msg)), 0);
    assert_int_equal(xend_sxp_parse("(vif (idx 1))", 13, NULL, &b, msg, sizeof(msg)), 0);
    struct xm_out o;
    struct xend_buf out = XEND_BUF_INIT;
    xm_out_begin(&o, XM_OUT_JSON);
    xm_out_record(&o, a);
    xm_out_record(&o, b);
    xm_out_end(&o, &out);
    assert_string_equal(xend_buf_str(&out),
                        "[{\"idx\": 0, \"mac\": \"aa:00:00:00:10:01\"}, {\"idx\": 1}]\n");
    xend_buf_reset(&out);
    xm_out_begin(&o, XM_OUT_SXP);
    xm_out_record(&o, a);
    xm_out_end(&o, &out);
    assert_string_equal(xend_buf_str(&out), "((vif (idx 0) (mac aa:00:00:00:10:01)))\n");
    xend_buf_reset(&out);
    xm_out_begin(&o, XM_OUT_JSON);
    xm_out_end(&o, &out);
    assert_string_equal(xend_buf_str(&out), "[]\n");
    xend_buf_free(&out);
    xend_sxp_free(a);
    xend_sxp_free(b);
}

static void test_a_list_row_keeps_its_types(void **state)
{
    (void)state;
    /* A domain named like a number stays a string; no console is null. */
    const char *text = "(domain (id 7) (name 123) (memory 64) (cpu 1) (state -b---) "
                       "(cpu_time 2.5))";
    struct xend_sxp *info = NULL;
    char msg[64];
    assert_int_equal(xend_sxp_parse(text, strlen(text), NULL, &info, msg, sizeof(msg)), 0);
    struct xend_buf out = XEND_BUF_INIT;
    xm_fmt_list_item(info, XM_OUT_JSON, &out);
    assert_string_equal(xend_buf_str(&out),
                        "{\"name\": \"123\", \"id\": 7, \"memory\": 64, \"cpu\": 1, \"state\": "
                        "\"-b---\", \"cpu_time\": 2.500, \"console_port\": null}");
    xend_buf_reset(&out);
    xm_fmt_id_name(info, XM_OUT_JSON, &out);
    assert_string_equal(xend_buf_str(&out), "{\"id\": 7, \"name\": \"123\"}\n");
    xend_buf_free(&out);
    xend_sxp_free(info);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_option_is_taken_wherever_it_is),
        cmocka_unit_test(test_a_bad_or_missing_format_is_refused),
        cmocka_unit_test(test_records_become_objects_in_one_array),
        cmocka_unit_test(test_a_list_row_keeps_its_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
