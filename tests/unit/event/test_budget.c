/* The followers' backlog budget (core/event/budget.c): past the budget the follower with the
 * most unread bytes is dropped, with a reason, until the rest fit; the limits' defaults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "event/budget.h"

struct fake {
    struct xend_event_sink sink; /* first */
    size_t unread;
    int drops;
    char why[256];
};

static size_t fake_backlog(struct xend_event_sink *s)
{
    return ((struct fake *)s)->unread;
}

static void fake_drop(struct xend_event_sink *s, const char *why)
{
    struct fake *f = (struct fake *)s;
    f->drops++;
    snprintf(f->why, sizeof(f->why), "%s", why);
    f->unread += 40;           /* its last line: must not bring it back into the count */
    xend_event_budget_check(); /* from inside a drop: ignored */
}

static void fake_init(struct fake *f, size_t unread)
{
    memset(f, 0, sizeof(*f));
    f->sink.backlog = fake_backlog;
    f->sink.drop = fake_drop;
    f->sink.kind = "test";
    f->unread = unread;
    xend_event_sink_add(&f->sink);
}

static void test_defaults_and_zero_fields(void **state)
{
    (void)state;
    xend_event_limits_set(&(struct xend_event_limits){.max_followers = 3});
    assert_int_equal(xend_event_limits()->max_followers, 3);
    assert_int_equal(xend_event_limits()->port_max_connections, XEND_EVENT_PORT_MAX_CONNECTIONS);
    assert_int_equal(xend_event_limits()->backlog_budget, XEND_EVENT_BACKLOG_BUDGET);
    assert_int_equal(xend_event_limits()->inject_max, XEND_EVENT_INJECT_MAX);
}

static void test_slowest_dropped_until_under_budget(void **state)
{
    (void)state;
    xend_event_limits_set(&(struct xend_event_limits){.backlog_budget = 1000});
    struct fake a, b, c;
    fake_init(&a, 300);
    fake_init(&b, 900);
    fake_init(&c, 500);
    unsigned long before = xend_event_budget_drops();
    xend_event_budget_check(); /* 1700 > 1000: b goes; 800 fits */
    assert_int_equal(b.drops, 1);
    assert_int_equal(a.drops + c.drops, 0);
    assert_non_null(strstr(b.why, "over the budget of 1000"));
    assert_non_null(strstr(b.why, "this one had the most (900)"));
    assert_int_equal(xend_event_budget_drops(), before + 1);
    c.unread = 800; /* 1100: c goes, a stays */
    xend_event_budget_check();
    assert_int_equal(c.drops, 1);
    assert_int_equal(a.drops, 0);
    xend_event_budget_check(); /* under it: nothing */
    assert_int_equal(a.drops, 0);
    xend_event_sink_remove(&a.sink);
    xend_event_sink_remove(&a.sink); /* twice: harmless */
    xend_event_sink_remove(&b.sink); /* dropped already: harmless */
}

static void test_nothing_unread_drops_nothing(void **state)
{
    (void)state;
    xend_event_limits_set(&(struct xend_event_limits){.backlog_budget = 4096});
    struct fake a;
    fake_init(&a, 0);
    xend_event_budget_check();
    assert_int_equal(a.drops, 0);
    xend_event_sink_remove(&a.sink);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_zero_fields),
        cmocka_unit_test(test_slowest_dropped_until_under_budget),
        cmocka_unit_test(test_nothing_unread_drops_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
