/* Form decoding of core/http: percent escapes, urlencoded pairs and the multipart
 * splitter on what the Xen 2.0 client really sends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "support.h"

static struct xend_http_args args;
static struct xend_err err;

static int reset(void **state)
{
    (void)state;
    xend_http_args_free(&args);
    xend_err_clear(&err);
    return 0;
}

static const char *val(const char *name)
{
    const struct xend_http_arg *a = xend_http_args_find(&args, name, NULL);
    return a ? a->value : NULL;
}

static void test_unescape_decodes_percent_and_plus(void **state)
{
    (void)state;
    struct xend_buf b = XEND_BUF_INIT;
    assert_int_equal(xend_http_unescape("a%20b+c%2B%2f", 13, true, &b, &err), 0);
    assert_string_equal(xend_buf_str(&b), "a b c+/");
    xend_buf_reset(&b);
    assert_int_equal(xend_http_unescape("a+b", 3, false, &b, &err), 0);
    assert_string_equal(xend_buf_str(&b), "a+b");
    xend_buf_free(&b);
}

static void test_unescape_rejects_malformed_escapes(void **state)
{
    (void)state;
    const char *bad[] = {"%zz", "%2", "%", "ab%g1", "%%41"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct xend_buf b = XEND_BUF_INIT;
        xend_err_clear(&err);
        assert_int_equal(xend_http_unescape(bad[i], strlen(bad[i]), true, &b, &err), -XEND_EINVAL);
        assert_non_null(strstr(err.msg, "Malformed percent escape"));
        xend_buf_free(&b);
    }
}

static void test_urlencoded_pairs_duplicates_and_blank_values(void **state)
{
    (void)state;
    const char *q = "op=create&name=a%20b;flag&&=orphan&name=second&empty=";
    assert_int_equal(xend_http_parse_urlencoded(q, strlen(q), true, &args, &err), 0);
    assert_string_equal(val("op"), "create");
    size_t n;
    const struct xend_http_arg *a = xend_http_args_find(&args, "name", &n);
    assert_int_equal(n, 2);
    assert_string_equal(a->value, "a b");
    assert_true(a->from_url);
    /* A name without '=' has the empty value, never NULL (a libevhtp trap). */
    assert_non_null(val("flag"));
    assert_string_equal(val("flag"), "");
    assert_string_equal(val("empty"), "");
    assert_null(xend_http_args_find(&args, "", NULL)); /* "=orphan" has no name */
    assert_int_equal(args.n, 5);
}

static void test_urlencoded_malformed_escape_fails(void **state)
{
    (void)state;
    const char *q = "op=x&cpu=%G1";
    assert_int_equal(xend_http_parse_urlencoded(q, strlen(q), false, &args, &err), -XEND_EINVAL);
}

static void test_urlencoded_value_may_hold_nul(void **state)
{
    (void)state;
    const char *q = "a=x%00y";
    assert_int_equal(xend_http_parse_urlencoded(q, strlen(q), false, &args, &err), 0);
    assert_int_equal(args.v[0].len, 3);
    assert_memory_equal(args.v[0].value, "x\0y", 3);
}

static void test_boundary_from_content_type(void **state)
{
    (void)state;
    char b[80];
    assert_int_equal(
        xend_http_multipart_boundary("multipart/form-data; boundary=0123abcd", b, sizeof(b), &err),
        0);
    assert_string_equal(b, "0123abcd");
    assert_int_equal(xend_http_multipart_boundary(
                         "multipart/form-data; charset=x; Boundary=\"a b;c\"", b, sizeof(b), &err),
                     0);
    assert_string_equal(b, "a b;c");
    assert_int_equal(xend_http_multipart_boundary("multipart/form-data", b, sizeof(b), &err),
                     -XEND_EINVAL);
}

static void test_multipart_standard_body(void **state)
{
    (void)state;
    const char body[] = "--B\r\nContent-Disposition: form-data; name=\"op\"\r\n\r\ncreate\r\n"
                        "--B\r\nContent-Disposition: form-data; name=\"config\"; "
                        "filename=\"vm.sxp\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                        "(vm (name x))\n\r\n--B--\r\n";
    assert_int_equal(xend_http_parse_multipart(body, sizeof(body) - 1, "B", 16, &args, &err), 0);
    assert_int_equal(args.n, 2);
    assert_string_equal(val("op"), "create");
    assert_string_equal(val("config"), "(vm (name x))\n");
    assert_true(args.v[1].is_file);
    assert_false(args.v[0].is_file);
}

static void test_multipart_file_part_straight_into_boundary(void **state)
{
    (void)state;
    /* What the 2.0 client writes for a config file without a final newline: no line end
     * before the next delimiter (docs/compat.md, a libevhtp trap). */
    const char body[] = "--0123456789abcdef\r\nContent-Disposition: form-data; name=\"config\"; "
                        "filename=\"/etc/xen/vm1\"\r\nContent-Type: application/octet-stream"
                        "\r\n\r\n(vm (name vm1))--0123456789abcdef\r\n"
                        "Content-Disposition: form-data; name=\"op\"\r\n\r\ncreate\r\n"
                        "--0123456789abcdef--\r\n";
    assert_int_equal(
        xend_http_parse_multipart(body, sizeof(body) - 1, "0123456789abcdef", 16, &args, &err), 0);
    assert_string_equal(val("config"), "(vm (name vm1))");
    assert_string_equal(val("op"), "create");
}

static void test_multipart_bare_lf_line_ends(void **state)
{
    (void)state;
    const char body[] = "--B\nContent-Disposition: form-data; name=\"op\"\n\ncreate\n"
                        "--B\nContent-Disposition: form-data; name=\"config\"\n\n(vm)\n--B--\n";
    assert_int_equal(xend_http_parse_multipart(body, sizeof(body) - 1, "B", 16, &args, &err), 0);
    assert_string_equal(val("op"), "create");
    assert_string_equal(val("config"), "(vm)");
}

static void test_multipart_missing_final_boundary_keeps_last_part(void **state)
{
    (void)state;
    const char body[] = "preamble\r\n--B\r\nContent-Disposition: form-data; name=\"op\"\r\n\r\n"
                        "create\r\n--B\r\nContent-Disposition: form-data; name=\"config\"\r\n"
                        "\r\n(vm)\r\n";
    assert_int_equal(xend_http_parse_multipart(body, sizeof(body) - 1, "B", 16, &args, &err), 0);
    assert_string_equal(val("op"), "create");
    assert_string_equal(val("config"), "(vm)");
}

static void test_multipart_binary_content_and_lookalike_delimiters(void **state)
{
    (void)state;
    const char body[] = "--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x\"\r\n\r\n"
                        "a\0b--Bxyz\r\n--B--\r\n";
    assert_int_equal(xend_http_parse_multipart(body, sizeof(body) - 1, "B", 16, &args, &err), 0);
    assert_int_equal(args.n, 1);
    assert_int_equal(args.v[0].len, 9);
    assert_memory_equal(args.v[0].value, "a\0b--Bxyz", 9);
}

static void test_multipart_malformed_bodies_fail_cleanly(void **state)
{
    (void)state;
    const char *bad[] = {
        "no delimiter at all",
        "--B\r\nContent-Disposition: form-data; name=\"op\"\r\n", /* headers never end */
    };
    for (size_t i = 0; i < 2; i++) {
        xend_err_clear(&err);
        assert_int_equal(xend_http_parse_multipart(bad[i], strlen(bad[i]), "B", 16, &args, &err),
                         -XEND_EINVAL);
    }
    struct xend_buf many = XEND_BUF_INIT;
    for (int i = 0; i < 20; i++)
        xend_buf_puts(&many, "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n");
    xend_buf_puts(&many, "--B--\r\n");
    xend_err_clear(&err);
    assert_int_equal(xend_http_parse_multipart(many.data, many.len, "B", 16, &args, &err),
                     -XEND_ELIMIT);
    xend_buf_free(&many);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_unescape_decodes_percent_and_plus, reset),
        cmocka_unit_test_teardown(test_unescape_rejects_malformed_escapes, reset),
        cmocka_unit_test_teardown(test_urlencoded_pairs_duplicates_and_blank_values, reset),
        cmocka_unit_test_teardown(test_urlencoded_malformed_escape_fails, reset),
        cmocka_unit_test_teardown(test_urlencoded_value_may_hold_nul, reset),
        cmocka_unit_test_teardown(test_boundary_from_content_type, reset),
        cmocka_unit_test_teardown(test_multipart_standard_body, reset),
        cmocka_unit_test_teardown(test_multipart_file_part_straight_into_boundary, reset),
        cmocka_unit_test_teardown(test_multipart_bare_lf_line_ends, reset),
        cmocka_unit_test_teardown(test_multipart_missing_final_boundary_keeps_last_part, reset),
        cmocka_unit_test_teardown(test_multipart_binary_content_and_lookalike_delimiters, reset),
        cmocka_unit_test_teardown(test_multipart_malformed_bodies_fail_cleanly, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
