/* The per-client token buckets (ratelimit.c): the burst, the refill, Retry-After, clients
 * kept apart, refilled buckets forgotten. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "http/ratelimit.h"

#define S 1000000000ull

static bool take(const char *key, uint64_t now, unsigned *retry)
{
    bool newly;
    return xend_http_ratelimit_take(key, now, retry, &newly);
}

static void test_off_admits_everything(void **state)
{
    (void)state;
    xend_http_ratelimit_configure(0, 0);
    unsigned r;
    for (int i = 0; i < 1000; i++)
        assert_true(take("uid 0", 5 * S, &r));
    assert_int_equal(xend_http_ratelimit_clients(), 0);
}

static void test_burst_then_refusal_then_refill(void **state)
{
    (void)state;
    xend_http_ratelimit_configure(2, 4); /* 2 a second, bursts of 4 */
    unsigned r = 0;
    uint64_t t = 100 * S;
    for (int i = 0; i < 4; i++)
        assert_true(take("uid 0", t, &r));
    bool newly = false;
    assert_false(xend_http_ratelimit_take("uid 0", t, &r, &newly));
    assert_true(newly);
    assert_int_equal(r, 1);
    assert_false(xend_http_ratelimit_take("uid 0", t, &r, &newly));
    assert_false(newly);                       /* the same run of refusals */
    assert_true(take("uid 0", t + S / 2, &r)); /* half a second: one token */
    assert_false(take("uid 0", t + S / 2, &r));
    xend_http_ratelimit_reset();
}

static void test_retry_after_counts_whole_seconds(void **state)
{
    (void)state;
    xend_http_ratelimit_configure(1, 1); /* one a second */
    unsigned r = 0;
    assert_true(take("a", 10 * S, &r));
    assert_false(take("a", 10 * S + S / 10, &r));
    assert_int_equal(r, 1);
    xend_http_ratelimit_configure(1, 0);
    xend_http_ratelimit_configure(0, 0);
}

static void test_clients_are_kept_apart_and_forgotten_once_full(void **state)
{
    (void)state;
    xend_http_ratelimit_configure(1, 1);
    unsigned r;
    assert_true(take("uid 0", S, &r));
    assert_false(take("uid 0", S, &r));
    assert_true(take("uid 1000", S, &r)); /* another client's bucket is full */
    assert_true(take("10.0.0.1", S, &r));
    char key[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "10.1.%d.%d", i / 256, i % 256);
        assert_true(take(key, 3 * S, &r)); /* later: every older bucket has refilled */
    }
    assert_int_equal(xend_http_ratelimit_clients(), 1000); /* the 3 full again were swept */
    xend_http_ratelimit_reset();
    assert_int_equal(xend_http_ratelimit_clients(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_off_admits_everything),
        cmocka_unit_test(test_burst_then_refusal_then_refill),
        cmocka_unit_test(test_retry_after_counts_whole_seconds),
        cmocka_unit_test(test_clients_are_kept_apart_and_forgotten_once_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
