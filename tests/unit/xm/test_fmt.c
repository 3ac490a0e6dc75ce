/*
 * Unit tests of xm's output formats (xm/fmt.c): byte for byte what the 2.0 client printed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "fmt.h"

static struct xend_sxp *sxp(const char *text)
{
    struct xend_sxp *v = NULL;
    char msg[128];
    assert_int_equal(xend_sxp_parse(text, strlen(text), NULL, &v, msg, sizeof(msg)), 0);
    return v;
}

static void test_list_header_and_rows_match_2_0(void **state)
{
    (void)state;
    struct xend_buf b = XEND_BUF_INIT;
    xm_fmt_list_header(&b);
    struct xend_sxp *d0 = sxp("(domain (id 0) (name Domain-0) (memory 251) (maxmem 256) "
                              "(state r----) (cpu 0) (cpu_time 172.23456789) (devices))");
    struct xend_sxp *d5 = sxp("(domain (id 5) (name vm1) (memory 128) (state -b---) (cpu 1) "
                              "(cpu_time 12.46) (console (status listening) (id 1) "
                              "(console_port 9605)) (devices))");
    xm_fmt_list_row(d0, &b);
    xm_fmt_list_row(d5, &b);
    assert_string_equal(xend_buf_str(&b),
                        "Name              Id  Mem(MB)  CPU  State  Time(s)  Console\n"
                        "Domain-0           0      251    0  r----    172.2        \n"
                        "vm1                5      128    1  -b---     12.5    9605\n");
    xend_sxp_free(d0);
    xend_sxp_free(d5);
    xend_buf_free(&b);
}

static void test_list_row_defaults_for_a_fresh_domain(void **state)
{
    (void)state;
    struct xend_buf b = XEND_BUF_INIT;
    struct xend_sxp *d = sxp("(domain (name a-very-long-domain-name))");
    xm_fmt_list_row(d, &b);
    assert_string_equal(xend_buf_str(&b),
                        "a-very-long-domain-name  -1        0    0     ??      0.0        \n");
    xend_sxp_free(d);
    xend_buf_free(&b);
}

static void test_info_lines_pad_keys_to_23(void **state)
{
    (void)state;
    struct xend_buf b = XEND_BUF_INIT;
    struct xend_sxp *n = sxp("(node (system Linux) (host h1) (version '#1 SMP') (cores 2) "
                             "(hyperthreads_per_core 1) (memory 4096))");
    xm_fmt_info(n, &b);
    assert_string_equal(xend_buf_str(&b), "system                 : Linux\n"
                                          "host                   : h1\n"
                                          "version                : #1 SMP\n"
                                          "cores                  : 2\n"
                                          "hyperthreads_per_core  : 1\n"
                                          "memory                 : 4096\n");
    xend_sxp_free(n);
    xend_buf_free(&b);
}

static void test_consoles_table_matches_2_0(void **state)
{
    (void)state;
    struct xend_buf b = XEND_BUF_INIT;
    xm_fmt_consoles_header(&b);
    struct xend_sxp *c1 = sxp("(console (status connected) (id 23) (domain 7) (local_port 23) "
                              "(remote_port 1) (console_port 9607) (connected 127.0.0.1 40312))");
    struct xend_sxp *c2 = sxp("(console (status listening) (id 5) (domain 12) "
                              "(console_port 9612))");
    xm_fmt_console_row(c1, &b);
    xm_fmt_console_row(c2, &b);
    assert_string_equal(xend_buf_str(&b), "Dom Port  Id Connection\n"
                                          "  7 9607  23 127.0.0.1:40312\n"
                                          " 12 9612   5 \n");
    xend_sxp_free(c1);
    xend_sxp_free(c2);
    xend_buf_free(&b);
}

static void test_line_and_pretty_end_with_a_newline(void **state)
{
    (void)state;
    struct xend_buf b = XEND_BUF_INIT;
    struct xend_sxp *v = sxp("(vbd (idx 0) (uname phy:sda1) (dev sda1) (mode w))");
    xm_fmt_line(v, &b);
    assert_string_equal(xend_buf_str(&b), "(vbd (idx 0) (uname phy:sda1) (dev sda1) (mode w))\n");
    xend_buf_reset(&b);
    xm_fmt_pretty(v, &b);
    assert_int_equal(b.data[b.len - 1], '\n');
    assert_non_null(strstr(xend_buf_str(&b), "(uname phy:sda1)"));
    xend_sxp_free(v);
    xend_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_header_and_rows_match_2_0),
        cmocka_unit_test(test_list_row_defaults_for_a_fresh_domain),
        cmocka_unit_test(test_info_lines_pad_keys_to_23),
        cmocka_unit_test(test_consoles_table_matches_2_0),
        cmocka_unit_test(test_line_and_pretty_end_with_a_newline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
