/* lib/lane.c: at most `limit` jobs at once, the rest in arrival order, unwanted ones dropped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lane.h"

#define MAX_JOBS 20000

/* What happened to each job: the order they ran in, which were dropped. */
static struct {
    struct xend_lane *lane;
    int ran[MAX_JOBS];
    size_t n_ran;
    bool dropped[MAX_JOBS];
    bool wanted[MAX_JOBS];
    bool leave_at_once; /* a job that fails at once leaves from inside go */
    unsigned depth, max_depth;
} T;

static int ids[MAX_JOBS];

static void go(void *arg, bool run)
{
    int id = *(int *)arg;
    if (!run) {
        T.dropped[id] = true;
        return;
    }
    T.ran[T.n_ran++] = id;
    if (T.leave_at_once) {
        T.depth++;
        if (T.depth > T.max_depth)
            T.max_depth = T.depth;
        xend_lane_leave(T.lane);
        T.depth--;
    }
}

static bool wanted(void *arg)
{
    return T.wanted[*(int *)arg];
}

static struct xend_lane *fresh(struct xend_lane *lane, unsigned limit)
{
    T = (__typeof__(T)){.lane = lane};
    for (int i = 0; i < MAX_JOBS; i++) {
        ids[i] = i;
        T.wanted[i] = true;
    }
    xend_lane_init(lane, limit);
    return lane;
}

static void test_at_most_limit_run_and_the_rest_go_in_arrival_order(void **state)
{
    (void)state;
    struct xend_lane lane;
    fresh(&lane, 2);
    assert_false(xend_lane_enter(&lane, go, wanted, &ids[0]));
    assert_false(xend_lane_enter(&lane, go, wanted, &ids[1]));
    assert_true(xend_lane_enter(&lane, go, wanted, &ids[2]));
    assert_true(xend_lane_enter(&lane, go, wanted, &ids[3]));
    assert_int_equal(T.n_ran, 2);
    assert_int_equal(lane.running, 2);
    assert_int_equal(lane.waiting, 2);
    xend_lane_leave(&lane);
    assert_int_equal(T.n_ran, 3);
    assert_int_equal(T.ran[2], 2);
    xend_lane_leave(&lane);
    assert_int_equal(T.ran[3], 3);
    assert_int_equal(lane.waiting, 0);
    assert_int_equal(lane.running, 2);
    xend_lane_leave(&lane);
    xend_lane_leave(&lane);
    assert_int_equal(lane.running, 0);
    /* Empty again: the next job runs at once. */
    assert_false(xend_lane_enter(&lane, go, wanted, &ids[4]));
    assert_int_equal(T.ran[4], 4);
}

static void test_no_limit_runs_everything_at_once(void **state)
{
    (void)state;
    struct xend_lane lane;
    fresh(&lane, 0);
    for (int i = 0; i < 1000; i++)
        assert_false(xend_lane_enter(&lane, go, wanted, &ids[i]));
    assert_int_equal(T.n_ran, 1000);
    assert_int_equal(lane.waiting, 0);
}

static void test_a_job_no_longer_wanted_is_dropped_and_takes_no_place(void **state)
{
    (void)state;
    struct xend_lane lane;
    fresh(&lane, 1);
    xend_lane_enter(&lane, go, wanted, &ids[0]);
    for (int i = 1; i <= 3; i++)
        xend_lane_enter(&lane, go, wanted, &ids[i]);
    T.wanted[1] = T.wanted[2] = false; /* their clients went while they waited */
    xend_lane_leave(&lane);
    assert_true(T.dropped[1]);
    assert_true(T.dropped[2]);
    assert_false(T.dropped[3]);
    assert_int_equal(T.n_ran, 2);
    assert_int_equal(T.ran[1], 3);
    assert_int_equal(lane.running, 1);
    assert_int_equal(lane.dropped, 2);
}

static void test_jobs_that_leave_at_once_do_not_deepen_the_stack(void **state)
{
    (void)state;
    struct xend_lane lane;
    fresh(&lane, 1);
    xend_lane_enter(&lane, go, wanted, &ids[0]); /* holds the one place */
    for (int i = 1; i < MAX_JOBS; i++)
        xend_lane_enter(&lane, go, wanted, &ids[i]);
    assert_int_equal(lane.waiting, MAX_JOBS - 1);
    T.leave_at_once = true;
    xend_lane_leave(&lane);
    assert_int_equal(T.n_ran, MAX_JOBS);
    for (int i = 0; i < MAX_JOBS; i++)
        assert_int_equal(T.ran[i], i);
    assert_int_equal(T.max_depth, 1);
    assert_int_equal(lane.running, 0);
    assert_int_equal(lane.waiting, 0);
}

static void test_a_higher_limit_lets_waiters_go_and_drain_drops_the_rest(void **state)
{
    (void)state;
    struct xend_lane lane;
    fresh(&lane, 1);
    for (int i = 0; i < 5; i++)
        xend_lane_enter(&lane, go, wanted, &ids[i]);
    assert_int_equal(T.n_ran, 1);
    xend_lane_set_limit(&lane, 3);
    assert_int_equal(T.n_ran, 3);
    assert_int_equal(lane.waiting, 2);
    xend_lane_drain(&lane);
    assert_true(T.dropped[3]);
    assert_true(T.dropped[4]);
    assert_int_equal(lane.waiting, 0);
    assert_int_equal(T.n_ran, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_at_most_limit_run_and_the_rest_go_in_arrival_order),
        cmocka_unit_test(test_no_limit_runs_everything_at_once),
        cmocka_unit_test(test_a_job_no_longer_wanted_is_dropped_and_takes_no_place),
        cmocka_unit_test(test_jobs_that_leave_at_once_do_not_deepen_the_stack),
        cmocka_unit_test(test_a_higher_limit_lets_waiters_go_and_drain_drops_the_rest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
