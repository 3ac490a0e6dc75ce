/* xm's progress line: what a transfer's progress events make of it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "progress.h"

static void test_a_plain_transfer_shows_bytes_and_rate(void **state)
{
    (void)state;
    struct xm_progress p = {.have = true,
                            .done = 512,
                            .total = 1024,
                            .bytes = 2000000,
                            .bytes_per_s = 1000000,
                            .downtime_ms = -1};
    char out[192];
    xm_progress_describe(&p, out, sizeof(out));
    assert_string_equal(out, "50% 2.0/4.0 MB at 8.0 Mbit/s");
}

static void test_a_live_transfer_shows_its_last_round(void **state)
{
    (void)state;
    struct xm_progress p = {.have = true,
                            .done = 1024,
                            .total = 1024,
                            .bytes = 4000000,
                            .bytes_per_s = 1000000,
                            .round = 3,
                            .round_bytes = 1200000,
                            .dirty_bytes_per_s = 40000000,
                            .downtime_ms = -1};
    char out[192];
    xm_progress_describe(&p, out, sizeof(out));
    assert_string_equal(out,
                        "100% 4.0/4.0 MB at 8.0 Mbit/s, round 3: 1.2 MB, dirtied at 40.0 MB/s");
    p.round = 4;
    p.round_bytes = 200000;
    p.last_round = true;
    xm_progress_describe(&p, out, sizeof(out));
    assert_string_equal(out, "100% 4.0/4.0 MB at 8.0 Mbit/s, last round 4: 0.2 MB");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_plain_transfer_shows_bytes_and_rate),
        cmocka_unit_test(test_a_live_transfer_shows_its_last_round),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
