/*
 * The time rules of a domain (core/domain_time.c): the restart throttle and up_time run on
 * the boot clock, so a step of the wall clock changes neither; a record written in this
 * boot keeps its boot-clock stamps across an xend restart, one from another boot falls
 * back to the wall clock, clamped so that up_time is never negative.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "domain_time.h"

#define S 1000000000ull

static void test_throttle_counts_boot_clock_seconds(void **state)
{
    (void)state;
    double since;
    assert_false(xend_time_restart_too_soon(100 * S, 0, 20, &since)); /* never restarted */
    assert_true(xend_time_restart_too_soon(100 * S, 90 * S, 20, &since));
    assert_true(since > 9.99 && since < 10.01);
    assert_false(xend_time_restart_too_soon(100 * S, 70 * S, 20, &since));
    assert_true(since > 29.99 && since < 30.01);
    /* A stamp from the future (not from this boot) never gives a negative gap. */
    assert_true(xend_time_restart_too_soon(100 * S, 200 * S, 20, &since));
    assert_true(since == 0.0);
    assert_true(xend_time_since(5 * S, 6 * S) == 0.0);
}

/* Same boot: the stored boot-clock stamps hold, whatever the wall clock says now (here it
 * was stepped back an hour after the record was written). */
static void test_same_boot_keeps_stamps_whatever_the_wall_clock(void **state)
{
    (void)state;
    struct xend_time_stamps stored = {.start_ns = 1000 * S, .restart_ns = 1990 * S};
    double wall_then = 1.7e9, wall_now = wall_then - 3600 + 1000;
    struct xend_time_stamps t = xend_time_reload(true, stored, wall_then, wall_now, 2000 * S);
    assert_int_equal(t.start_ns, 1000 * S);
    assert_int_equal(t.restart_ns, 1990 * S);
    double since;
    assert_true(xend_time_restart_too_soon(2000 * S, t.restart_ns, 20, &since));
    assert_true(since > 9.99 && since < 10.01);
    assert_false(xend_time_restart_too_soon(2020 * S, t.restart_ns, 20, &since));
    assert_true(xend_time_since(2000 * S, t.start_ns) > 999.9);
}

/* Another boot (or stamps that cannot be from this one): up since the stored wall-clock
 * start, clamped to [boot, now], and no last restart to throttle against. */
static void test_other_boot_falls_back_to_the_wall_clock_clamped(void **state)
{
    (void)state;
    struct xend_time_stamps stored = {.start_ns = 5000 * S, .restart_ns = 5000 * S};
    struct xend_time_stamps t = xend_time_reload(false, stored, 1000.0, 1300.0, 400 * S);
    assert_int_equal(t.start_ns, 100 * S); /* up 300 s */
    assert_int_equal(t.restart_ns, 0);
    /* Wall clock stepped back: the stored start is in the future. Up 0, not negative. */
    t = xend_time_reload(false, stored, 5000.0, 1300.0, 400 * S);
    assert_int_equal(t.start_ns, 400 * S);
    assert_true(xend_time_since(400 * S, t.start_ns) == 0.0);
    /* Up longer than this boot has lasted: not before the boot. */
    t = xend_time_reload(false, stored, 1000.0, 9000.0, 400 * S);
    assert_true(t.start_ns >= 1 && t.start_ns < S);
    /* Same boot id but a stamp later than now: not this boot's stamp after all. */
    t = xend_time_reload(true, stored, 1000.0, 1300.0, 400 * S);
    assert_int_equal(t.start_ns, 100 * S);
    assert_int_equal(t.restart_ns, 0);
    /* Nothing stored. */
    t = xend_time_reload(false, (struct xend_time_stamps){0}, 0, 1300.0, 400 * S);
    assert_int_equal(t.start_ns, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_throttle_counts_boot_clock_seconds),
        cmocka_unit_test(test_same_boot_keeps_stamps_whatever_the_wall_clock),
        cmocka_unit_test(test_other_boot_falls_back_to_the_wall_clock_clamped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
