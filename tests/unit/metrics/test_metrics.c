/*
 * Unit tests of the metrics' counters and their text form (core/metrics/metrics.c): cumulative
 * histogram buckets, results, the bound on op labels, label escaping.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "metrics/metrics.h"

static int teardown(void **state)
{
    (void)state;
    xend_metrics_reset();
    return 0;
}

static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p += n)
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
            return true;
    return false;
}

static void test_ops_count_by_result_with_cumulative_latency_buckets(void **state)
{
    (void)state;
    xend_metrics_op_done("create", true, 3000000);        /* 3 ms */
    xend_metrics_op_done("create", false, 200000000);     /* 200 ms */
    xend_metrics_op_done("create", true, 90000000000ull); /* 90 s: only +Inf */
    struct xend_buf out = XEND_BUF_INIT;
    xend_metrics_render(&out);
    const char *t = xend_buf_str(&out);
    assert_true(has_line(t, "# TYPE xend_operations_total counter"));
    assert_true(has_line(t, "xend_operations_total{op=\"create\",result=\"ok\"} 2"));
    assert_true(has_line(t, "xend_operations_total{op=\"create\",result=\"error\"} 1"));
    assert_true(
        has_line(t, "xend_operation_duration_seconds_bucket{op=\"create\",le=\"0.001\"} 0"));
    assert_true(
        has_line(t, "xend_operation_duration_seconds_bucket{op=\"create\",le=\"0.005\"} 1"));
    assert_true(has_line(t, "xend_operation_duration_seconds_bucket{op=\"create\",le=\"0.25\"} 2"));
    assert_true(has_line(t, "xend_operation_duration_seconds_bucket{op=\"create\",le=\"60\"} 2"));
    assert_true(has_line(t, "xend_operation_duration_seconds_bucket{op=\"create\",le=\"+Inf\"} 3"));
    assert_true(has_line(t, "xend_operation_duration_seconds_count{op=\"create\"} 3"));
    assert_true(has_line(t, "xend_operation_duration_seconds_sum{op=\"create\"} 90.203"));
    xend_buf_free(&out);
}

static void test_op_labels_are_bounded_and_escaped(void **state)
{
    (void)state;
    char name[32];
    for (unsigned i = 0; i < XEND_METRICS_MAX_OPS + 10; i++) {
        snprintf(name, sizeof(name), "op%u", i);
        xend_metrics_op_done(name, true, 1000);
    }
    xend_metrics_op_done("a\"b\\c", false, 1000);
    struct xend_buf out = XEND_BUF_INIT;
    xend_metrics_render(&out);
    const char *t = xend_buf_str(&out);
    assert_true(has_line(t, "xend_operations_total{op=\"op63\",result=\"ok\"} 1"));
    assert_false(strstr(t, "op=\"op64\"") != NULL);
    assert_true(has_line(t, "xend_operations_total{op=\"other\",result=\"ok\"} 10"));
    assert_true(has_line(t, "xend_operations_total{op=\"other\",result=\"error\"} 1"));
    xend_buf_free(&out);
    struct xend_buf e = XEND_BUF_INIT;
    xend_metrics_label_escape("a\"b\\c\nd", &e);
    assert_string_equal(xend_buf_str(&e), "a\\\"b\\\\c\\nd");
    xend_buf_free(&e);
}

static void test_store_and_http_figures(void **state)
{
    (void)state;
    xend_metrics_store_commit(2000000, 3);
    xend_metrics_store_commit(2000000, 300);
    xend_metrics_http_request("GET", 200);
    xend_metrics_http_request("GET", 200);
    xend_metrics_http_request("DELETE", 501);
    struct xend_buf out = XEND_BUF_INIT;
    xend_metrics_render(&out);
    const char *t = xend_buf_str(&out);
    assert_true(has_line(t, "xend_store_batch_records_bucket{le=\"4\"} 1"));
    assert_true(has_line(t, "xend_store_batch_records_bucket{le=\"512\"} 2"));
    assert_true(has_line(t, "xend_store_batch_records_sum 303"));
    assert_true(has_line(t, "xend_store_commit_duration_seconds_bucket{le=\"0.0025\"} 2"));
    assert_true(has_line(t, "xend_http_requests_total{method=\"GET\",code=\"200\"} 2"));
    assert_true(has_line(t, "xend_http_requests_total{method=\"other\",code=\"501\"} 1"));
    xend_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_ops_count_by_result_with_cumulative_latency_buckets,
                                  teardown),
        cmocka_unit_test_teardown(test_op_labels_are_bounded_and_escaped, teardown),
        cmocka_unit_test_teardown(test_store_and_http_figures, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
