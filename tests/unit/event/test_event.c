/*
 * Unit tests of the event bus (core/event/event.c): pattern matching, delivery order,
 * changes of subscriptions from inside callbacks, owner cleanup, the host table, and the
 * numbered history (history.c): order, bounds, replay, the budget's trim; one formatting
 * per line form per delivery.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event/budget.h"
#include "event/event.h"
#include "event/history.h"
#include "log/log.h"
#include "log/trace.h"
#include "sxp.h"

static char last_log[512];
static int log_count;

void xend_log_vemit(const char *source, enum xend_log_level level, const char *event,
                    const char *fmt, va_list ap)
{
    (void)source;
    (void)level;
    int n = snprintf(last_log, sizeof(last_log), "%s ", event);
    vsnprintf(last_log + n, sizeof(last_log) - (size_t)n, fmt, ap);
    log_count++;
}

void xend_log_emit(const char *source, enum xend_log_level level, const char *event,
                   const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    xend_log_vemit(source, level, event, fmt, ap);
    va_end(ap);
}

static int teardown(void **state)
{
    (void)state;
    xend_event_reset();
    return 0;
}

static void test_patterns_match_as_the_original_event_server(void **state)
{
    (void)state;
    static const struct {
        const char *pattern, *name;
        bool match;
    } cases[] = {
        {"xend.domain.create", "xend.domain.create", true},
        {"xend.domain.create", "xend.domain.created", false},
        {"xend.domain.create", "xend.domain", false},
        {"xend.domain.create", "xend.domain.create.x", false},
        {"xend.domain.?", "xend.domain.create", true},
        {"xend.domain.?", "xend.domain", false},
        {"xend.domain.?", "xend.domain.create.x", false},
        {"xend.?.create", "xend.domain.create", true},
        {"xend.?.create", "xend.console.close", false},
        {"xend.domain.*", "xend.domain.create", true},
        {"xend.domain.*", "xend.domain.a.b.c", true},
        {"xend.domain.*", "xend.domain", true}, /* as EventServer: a.b.* hears a.b */
        {"xend.domain.*", "xend.domainx", false},
        {"xend.domain.*", "xend.console.create", false},
        {"xend.*", "xend", true},
        {"*", "xend.start", true},
        {"*", "x", true},
        {"?", "xend", true},
        {"?", "xend.start", false},
        {"?.*", "xend.start", true},
        {"xend", "xend", true},
        {"xend", "xen", false},
        {"xen", "xend", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (xend_event_match(cases[i].pattern, cases[i].name) != cases[i].match)
            fail_msg("pattern %s on %s: expected %s", cases[i].pattern, cases[i].name,
                     cases[i].match ? "match" : "no match");
    }
    const char *good[] = {"*", "a", "a.b.c", "a.?", "a.?.c", "a.b.*", "?.*"};
    const char *bad[] = {"", ".", "a.", ".a", "a..b", "a.*.c", "a*", "*.", "a.b*", "a.??", NULL};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(xend_event_pattern_valid(good[i]));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(xend_event_pattern_valid(bad[i]));
}

/* A recorder: appends "tag:name" to a log string. */
struct rec {
    char seen[512];
};

static struct rec rec;

static void record(const char *tag, const char *name)
{
    size_t n = strlen(rec.seen);
    snprintf(rec.seen + n, sizeof(rec.seen) - n, "%s%s:%s", n ? " " : "", tag, name);
}

static void on_tag(const char *name, const struct xend_sxp *value, void *arg)
{
    (void)value;
    record(arg, name);
}

static void test_emit_delivers_in_subscription_order_to_matching_only(void **state)
{
    (void)state;
    memset(&rec, 0, sizeof(rec));
    int owner = 0;
    assert_int_equal(xend_event_subscribe(&owner, "xend.domain.*", on_tag, "A"), 0);
    assert_int_equal(xend_event_subscribe(&owner, "*", on_tag, "B"), 0);
    assert_int_equal(xend_event_subscribe(&owner, "xend.console.?", on_tag, "C"), 0);
    assert_int_equal(xend_event_subscribe(&owner, "bad..pattern", on_tag, "D"), -XEND_EINVAL);
    assert_int_equal(xend_event_subscribe(&owner, "*", on_tag, "B"), -XEND_EEXIST);
    assert_int_equal(xend_event_subscribe(&owner, "*", NULL, "B"), -XEND_EINVAL);
    struct xend_sxp *v = xend_sxp_list_of("vm1", "5", NULL);
    assert_int_equal(xend_event_emit("xend.domain.create", v), 2);
    assert_int_equal(xend_event_emit("xend.console.close", v), 2);
    assert_int_equal(xend_event_emit("other", NULL), 1);
    assert_string_equal(rec.seen, "A:xend.domain.create B:xend.domain.create "
                                  "B:xend.console.close C:xend.console.close B:other");
    assert_int_equal(xend_event_count(), 3);
    xend_sxp_free(v);
}

/* The value reaches the subscriber unchanged. */
static struct xend_sxp *got_value;

static void on_copy(const char *name, const struct xend_sxp *value, void *arg)
{
    (void)name;
    (void)arg;
    xend_sxp_free(got_value);
    got_value = value ? xend_sxp_copy(value) : NULL;
}

static void test_value_is_delivered_as_given(void **state)
{
    (void)state;
    assert_int_equal(xend_event_subscribe(NULL, "xend.domain.shutdown", on_copy, NULL), 0);
    struct xend_sxp *v = xend_sxp_list_of("vm1", "5", "reboot", NULL);
    xend_event_emit("xend.domain.shutdown", v);
    assert_non_null(got_value);
    assert_true(xend_sxp_equal(got_value, v));
    xend_sxp_free(v);
    xend_sxp_free(got_value);
    got_value = NULL;
}

/* Unsubscribes itself, then a later subscriber, then subscribes a new one. */
static void on_meddle(const char *name, const struct xend_sxp *value, void *arg)
{
    (void)value;
    record("M", name);
    assert_int_equal(xend_event_unsubscribe(arg, "*", on_meddle, arg), 0);
    assert_int_equal(xend_event_unsubscribe(arg, "*", on_tag, "late"), 0);
    assert_int_equal(xend_event_subscribe(arg, "*", on_tag, "new"), 0);
}

static void test_subscribers_may_unsubscribe_inside_a_callback(void **state)
{
    (void)state;
    memset(&rec, 0, sizeof(rec));
    int owner = 0;
    assert_int_equal(xend_event_subscribe(&owner, "*", on_tag, "early"), 0);
    assert_int_equal(xend_event_subscribe(&owner, "*", on_meddle, &owner), 0);
    assert_int_equal(xend_event_subscribe(&owner, "*", on_tag, "late"), 0);
    /* "late" was unsubscribed before its turn; "new" first hears the next event. */
    assert_int_equal(xend_event_emit("e1", NULL), 2);
    assert_string_equal(rec.seen, "early:e1 M:e1");
    assert_int_equal(xend_event_emit("e2", NULL), 2);
    assert_string_equal(rec.seen, "early:e1 M:e1 early:e2 new:e2");
    assert_int_equal(xend_event_count(), 2);
    assert_int_equal(xend_event_unsubscribe(&owner, "*", on_meddle, &owner), -XEND_ENOENT);
}

/* Drops its whole owner from inside the emit, then emits a nested event. */
static int nested_owner;

static void on_drop_owner(const char *name, const struct xend_sxp *value, void *arg)
{
    (void)value;
    (void)arg;
    record("D", name);
    xend_event_unsubscribe_owner(&nested_owner);
    if (strcmp(name, "outer") == 0)
        xend_event_emit("inner", NULL);
}

static void test_owner_cleanup_removes_every_subscription_even_mid_emit(void **state)
{
    (void)state;
    memset(&rec, 0, sizeof(rec));
    int other = 0;
    assert_int_equal(xend_event_subscribe(&nested_owner, "*", on_drop_owner, NULL), 0);
    assert_int_equal(xend_event_subscribe(&nested_owner, "outer", on_tag, "X"), 0);
    assert_int_equal(xend_event_subscribe(&nested_owner, "inner", on_tag, "Y"), 0);
    assert_int_equal(xend_event_subscribe(&other, "*", on_tag, "O"), 0);
    xend_event_emit("outer", NULL);
    assert_string_equal(rec.seen, "D:outer O:inner O:outer");
    assert_int_equal(xend_event_count(), 1);
    xend_event_unsubscribe_owner(&other);
    assert_int_equal(xend_event_count(), 0);
    assert_int_equal(xend_event_emit("outer", NULL), 0);
}

static void test_host_table_subscriptions_belong_to_the_plugin(void **state)
{
    (void)state;
    memset(&rec, 0, sizeof(rec));
    const struct xend_host_event *h = xend_event_host_table();
    assert_int_equal(h->size, sizeof(struct xend_host_event));
    struct xend_plugin *plugin = (struct xend_plugin *)&rec; /* any unique pointer */
    assert_int_equal(h->subscribe(plugin, "xend.domain.?", on_tag, "P"), 0);
    assert_int_equal(h->subscribe(plugin, "xend.start", on_tag, "S"), 0);
    h->emit("xend.domain.pause", NULL);
    assert_int_equal(h->unsubscribe(plugin, "xend.start", on_tag, "S"), 0);
    assert_int_equal(h->unsubscribe(plugin, "xend.start", on_tag, "S"), -XEND_ENOENT);
    h->emit("xend.start", NULL);
    assert_string_equal(rec.seen, "P:xend.domain.pause");
    xend_event_unsubscribe_owner(plugin);
    assert_int_equal(xend_event_count(), 0);
}

/* While the trace is on, every event is a line of the trace file, and only then. */
static void test_trace_writes_every_event_to_the_trace_file(void **state)
{
    (void)state;
    char path[] = "/tmp/xend-trace-test.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    struct xend_sxp *v = xend_sxp_list_of("vm1", "5", NULL);
    xend_event_emit("xend.domain.pause", v);
    xend_trace_set_path(path);
    struct xend_err err = {0};
    assert_int_equal(xend_trace_on(&err), 0);
    xend_event_emit("xend.domain.pause", v);
    xend_trace_off();
    xend_event_emit("xend.domain.unpause", v);
    xend_sxp_free(v);
    char buf[512] = {0};
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    unlink(path);
    xend_trace_reset();
    assert_true(n > 0);
    assert_non_null(strstr(buf, "Z event seq=2 xend.domain.pause (vm1 5)\n"));
    assert_null(strstr(buf, "seq=1"));
    assert_null(strstr(buf, "unpause"));
    /* with no trace-file, traceon says so */
    assert_int_equal(xend_trace_on(&err), -XEND_EINVAL);
    assert_non_null(strstr(xend_err_msg(&err), "trace-file"));
}

static uint64_t seen_seq[8];
static size_t n_seen;

static void on_seq(const char *name, const struct xend_sxp *value, void *arg)
{
    (void)name;
    (void)value;
    (void)arg;
    if (n_seen < 8)
        seen_seq[n_seen++] = xend_event_seq_current();
    if (n_seen == 1)
        xend_event_emit("inner", NULL); /* numbered after the outer one */
}

static void test_events_are_numbered_in_emit_order_even_when_nested(void **state)
{
    (void)state;
    n_seen = 0;
    assert_int_equal(xend_event_subscribe(&n_seen, "*", on_seq, NULL), 0);
    xend_event_emit("outer", NULL);
    assert_int_equal(n_seen, 2);
    assert_int_equal(seen_seq[0], 1); /* outer */
    assert_int_equal(seen_seq[1], 2); /* inner, delivered inside outer */
    assert_int_equal(xend_event_seq_current(), 0);
    assert_int_equal(xend_event_history_last(), 2);
    assert_int_equal(strlen(xend_event_history_epoch()), 16);
}

/* --- one formatting per form per delivery ------------------------------------------ */

static int formats_made;
static char lines[64][48];
static size_t n_lines;

static void format_count(int form, uint64_t seq, const char *name, const struct xend_sxp *value,
                         struct xend_buf *out)
{
    formats_made++;
    xend_buf_printf(out, "%d %llu %s %s", form, (unsigned long long)seq, name,
                    value != NULL ? xend_sxp_atom_text(value) : "-");
}

static void emit_atom(const char *name, const char *text)
{
    struct xend_sxp *v = xend_sxp_atom(text);
    xend_event_emit(name, v);
    xend_sxp_free(v);
}

/* A follower of form (int)arg: keeps the line it was given. The first one of "outer"
 * emits "inner" before asking. */
static void on_format(const char *name, const struct xend_sxp *value, void *arg)
{
    (void)value;
    if (strcmp(name, "outer") == 0 && n_lines == 0)
        emit_atom("inner", "in");
    const struct xend_buf *line = xend_event_formatted(format_count, (int)(intptr_t)arg);
    assert_non_null(line);
    assert_true(n_lines < 64);
    snprintf(lines[n_lines++], sizeof(lines[0]), "%s", line->data);
}

/* n followers of forms 0..forms-1 in turn (an owner each: the same subscription twice is
 * refused), nothing formatted or seen yet. */
static void subscribe_forms(int *owner, int n, int forms)
{
    for (int i = 0; i < n; i++)
        assert_int_equal(
            xend_event_subscribe(&owner[i], "*", on_format, (void *)(intptr_t)(i % forms)), 0);
    formats_made = 0;
    n_lines = 0;
}

static void test_each_form_is_formatted_once_per_delivery(void **state)
{
    (void)state;
    int owner[6];
    subscribe_forms(owner, 6, 2);
    emit_atom("outer", "out");
    /* Inner was delivered inside the first follower of outer: 2 forms each, not 6. */
    assert_int_equal(formats_made, 4);
    assert_int_equal(n_lines, 12);
    for (size_t i = 0; i < 6; i++) /* inner's six, then outer's */
        assert_string_equal(lines[i], i % 2 == 0 ? "0 2 inner in" : "1 2 inner in");
    for (size_t i = 6; i < 12; i++)
        assert_string_equal(lines[i], i % 2 == 0 ? "0 1 outer out" : "1 1 outer out");
    assert_null(xend_event_formatted(format_count, 0)); /* outside a delivery */
}

static void test_more_forms_than_a_delivery_keeps_are_still_each_right(void **state)
{
    (void)state;
    int owner[20];
    subscribe_forms(owner, 20, 10);
    emit_atom("e", "v");
    assert_int_equal(n_lines, 20);
    for (size_t i = 0; i < 20; i++) {
        char want[48];
        snprintf(want, sizeof(want), "%zu 1 e v", i % 10);
        assert_string_equal(lines[i], want);
    }
    assert_true(formats_made >= 10 && formats_made < 20);
}

struct collected {
    uint64_t seq[16];
    char names[16][16];
    size_t n;
    size_t stop_after;
};

static int collect(uint64_t seq, const char *name, const struct xend_sxp *value, void *arg)
{
    (void)value;
    struct collected *c = arg;
    c->seq[c->n] = seq;
    snprintf(c->names[c->n], sizeof(c->names[0]), "%s", name);
    c->n++;
    return c->stop_after != 0 && c->n == c->stop_after ? 7 : 0;
}

static void test_history_keeps_the_last_n_and_replays_after_a_number(void **state)
{
    (void)state;
    xend_event_history_set_max(3);
    char name[16];
    for (int i = 1; i <= 5; i++) {
        snprintf(name, sizeof(name), "e%d", i);
        xend_event_emit(name, NULL);
    }
    assert_int_equal(xend_event_history_count(), 3);
    assert_int_equal(xend_event_history_oldest(), 3);
    assert_int_equal(xend_event_history_last(), 5);
    struct collected c = {0};
    assert_int_equal(xend_event_history_replay(3, collect, &c), 0);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.seq[0], 4);
    assert_string_equal(c.names[1], "e5");
    c = (struct collected){.stop_after = 1};
    assert_int_equal(xend_event_history_replay(0, collect, &c), 7); /* the callback's stop */
    assert_int_equal(c.seq[0], 3);
    /* None kept: numbers still given, nothing held. */
    xend_event_history_set_max(0);
    xend_event_emit("e6", NULL);
    assert_int_equal(xend_event_history_last(), 6);
    assert_int_equal(xend_event_history_count(), 0);
    assert_int_equal(xend_event_history_oldest(), 7);
    xend_event_history_set_max(XEND_EVENT_HISTORY_DEFAULT);
}

static void test_history_is_trimmed_oldest_first_past_the_budget(void **state)
{
    (void)state;
    xend_event_limits_set(&(struct xend_event_limits){.backlog_budget = 4096});
    char big[700];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    struct xend_sxp *v = xend_sxp_list_of("blob", big, NULL);
    for (int i = 0; i < 20; i++)
        xend_event_emit("big", v);
    xend_sxp_free(v);
    assert_true(xend_event_history_bytes() <= 4096);
    assert_true(xend_event_history_count() >= 4); /* only what the budget needs goes */
    assert_int_equal(xend_event_history_last(), 20);
    assert_int_equal(xend_event_history_oldest(), 20 - xend_event_history_count() + 1);
    xend_event_limits_set(&(struct xend_event_limits){0});
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_patterns_match_as_the_original_event_server, teardown),
        cmocka_unit_test_teardown(test_emit_delivers_in_subscription_order_to_matching_only,
                                  teardown),
        cmocka_unit_test_teardown(test_value_is_delivered_as_given, teardown),
        cmocka_unit_test_teardown(test_subscribers_may_unsubscribe_inside_a_callback, teardown),
        cmocka_unit_test_teardown(test_owner_cleanup_removes_every_subscription_even_mid_emit,
                                  teardown),
        cmocka_unit_test_teardown(test_host_table_subscriptions_belong_to_the_plugin, teardown),
        cmocka_unit_test_teardown(test_trace_writes_every_event_to_the_trace_file, teardown),
        cmocka_unit_test_teardown(test_events_are_numbered_in_emit_order_even_when_nested,
                                  teardown),
        cmocka_unit_test_teardown(test_each_form_is_formatted_once_per_delivery, teardown),
        cmocka_unit_test_teardown(test_more_forms_than_a_delivery_keeps_are_still_each_right,
                                  teardown),
        cmocka_unit_test_teardown(test_history_keeps_the_last_n_and_replays_after_a_number,
                                  teardown),
        cmocka_unit_test_teardown(test_history_is_trimmed_oldest_first_past_the_budget, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
