/*
 * Unit tests of the event history's byte ring (core/event/history.c): wrap-around, in-place
 * compaction, growth for a record bigger than the ring, shrinking by set_max and by the
 * budget's trim, replay after all of these, and a long run against a model of what must be
 * held.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event/budget.h"
#include "event/history.h"
#include "sxp.h"

static int teardown(void **state)
{
    (void)state;
    xend_event_history_reset();
    xend_event_limits_set(&(struct xend_event_limits){0});
    return 0;
}

/* An event named `name` whose record takes exactly `len` bytes of the ring (a multiple of
 * 8, at least 40): a 24-byte head, the name and its NUL, the atom printed and its NUL. */
static uint64_t record_len(const char *name, size_t len)
{
    size_t atom = len - 24 - (strlen(name) + 1) - 1;
    char *text = malloc(atom + 1);
    memset(text, 'x', atom);
    text[atom] = '\0';
    struct xend_sxp *v = xend_sxp_atom(text);
    free(text);
    uint64_t seq = xend_event_history_record(name, v);
    xend_sxp_free(v);
    return seq;
}

/* What a replay gave: numbers, names, values printed ("-" for none). */
struct seen {
    size_t n;
    uint64_t seq[4096];
    char *name[4096];
    char *value[4096];
};

static int collect(uint64_t seq, const char *name, const struct xend_sxp *value, void *arg)
{
    struct seen *s = arg;
    assert_true(s->n < 4096);
    s->seq[s->n] = seq;
    s->name[s->n] = xend_xstrdup(name);
    s->value[s->n] = value != NULL ? xend_sxp_print(value) : xend_xstrdup("-");
    s->n++;
    return 0;
}

static struct seen *replay(uint64_t since)
{
    struct seen *s = xend_xcalloc(1, sizeof(*s));
    assert_int_equal(xend_event_history_replay(since, collect, s), 0);
    return s;
}

static void seen_free(struct seen *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->name[i]);
        free(s->value[i]);
    }
    free(s);
}

/* Events first..last, each ev.(i % 10) with (n (i I) (pad ...)). */
static void record_numbered(int first, int last)
{
    for (int i = first; i <= last; i++) {
        char name[32];
        snprintf(name, sizeof(name), "ev.%d", i % 10);
        struct xend_sxp *v = xend_sxp_list_of("n", NULL);
        xend_sxp_add_kv_int(v, "i", i);
        xend_sxp_add_kv(v, "pad", "0123456789012345678901234567890123456789");
        xend_event_history_record(name, v);
        xend_sxp_free(v);
    }
}

static void test_a_full_history_wraps_around_without_growing(void **state)
{
    (void)state;
    xend_event_history_set_max(50);
    record_numbered(1, 200);
    size_t size = xend_event_history_ring_size();
    assert_true(size >= 4096);
    record_numbered(201, 2000);
    /* 1,800 more events through the same block: it wrapped, many times. */
    assert_int_equal(xend_event_history_ring_size(), size);
    assert_int_equal(xend_event_history_count(), 50);
    assert_int_equal(xend_event_history_oldest(), 1951);
    struct seen *s = replay(1990);
    assert_int_equal(s->n, 10);
    for (size_t k = 0; k < s->n; k++) {
        char want[128], name[32];
        snprintf(want, sizeof(want), "(n (i %llu) (pad 0123456789012345678901234567890123456789))",
                 (unsigned long long)s->seq[k]);
        assert_int_equal(s->seq[k], 1991 + k);
        snprintf(name, sizeof(name), "ev.%d", (int)(s->seq[k] % 10));
        assert_string_equal(s->name[k], name);
        assert_string_equal(s->value[k], want);
    }
    seen_free(s);
}

static void test_a_record_that_fits_only_after_compaction_keeps_the_ring_size(void **state)
{
    (void)state;
    xend_event_history_set_max(3);
    record_len("a", 64);
    record_len("b", 3000);
    record_len("c", 800); /* 3,864 of the 4,096 bytes, from 0 */
    assert_int_equal(xend_event_history_ring_size(), 4096);
    /* "a" goes; 264 bytes fit neither after "c" (232 left) nor before "b" (64), but do once
     * "b" and "c" move to 0. */
    record_len("d", 264);
    assert_int_equal(xend_event_history_ring_size(), 4096);
    struct seen *s = replay(0);
    assert_int_equal(s->n, 3);
    assert_string_equal(s->name[0], "b");
    assert_int_equal(strlen(s->value[0]), 3000 - 24 - 2 - 1);
    assert_string_equal(s->name[2], "d");
    assert_int_equal(s->seq[2], 4);
    seen_free(s);
}

static void test_a_record_bigger_than_the_ring_grows_it_and_leaving_shrinks_it(void **state)
{
    (void)state;
    xend_event_history_set_max(3);
    record_len("small", 64);
    assert_int_equal(xend_event_history_ring_size(), 4096);
    record_len("big", 40000);
    assert_true(xend_event_history_ring_size() >= 40064);
    struct seen *s = replay(0);
    assert_int_equal(s->n, 2);
    assert_string_equal(s->name[1], "big");
    assert_int_equal(strlen(s->value[1]), 40000 - 24 - 4 - 1);
    seen_free(s);
    /* Once the big one has gone, the ring holds under a quarter of itself: it shrinks. */
    for (int i = 0; i < 3; i++)
        record_len("small", 64);
    assert_int_equal(xend_event_history_count(), 3);
    assert_int_equal(xend_event_history_ring_size(), 4096);
    s = replay(0);
    assert_int_equal(s->seq[0], 3);
    seen_free(s);
}

static void test_set_max_drops_the_oldest_and_shrinks_the_ring(void **state)
{
    (void)state;
    for (int i = 0; i < 1024; i++)
        record_len("xend.domain.create", 120);
    assert_int_equal(xend_event_history_count(), 1024);
    assert_true(xend_event_history_ring_size() >= 1024 * 120);
    xend_event_history_set_max(2);
    assert_int_equal(xend_event_history_count(), 2);
    assert_int_equal(xend_event_history_oldest(), 1023);
    assert_int_equal(xend_event_history_ring_size(), 4096);
    assert_int_equal(xend_event_history_bytes(), 2 * (96 + 18 + 120 - 24 - 19 - 1));
    xend_event_history_set_max(0);
    assert_int_equal(xend_event_history_count(), 0);
    assert_int_equal(xend_event_history_ring_size(), 0);
    assert_int_equal(xend_event_history_bytes(), 0);
    assert_int_equal(xend_event_history_oldest(), 1025);
    assert_int_equal(record_len("after", 64), 1025); /* still numbered, not kept */
    assert_int_equal(xend_event_history_ring_size(), 0);
}

static void test_the_budget_trims_the_oldest_and_the_ring_follows(void **state)
{
    (void)state;
    for (int i = 0; i < 200; i++)
        record_len("e", 1024);
    size_t before = xend_event_history_ring_size();
    assert_true(before >= 200 * 1024);
    xend_event_limits_set(&(struct xend_event_limits){.backlog_budget = 8192});
    record_len("e", 1024);
    assert_true(xend_event_history_bytes() <= 8192);
    assert_true(xend_event_history_count() >= 6);
    assert_int_equal(xend_event_history_oldest(),
                     xend_event_history_last() - xend_event_history_count() + 1);
    assert_true(xend_event_history_ring_size() <= 16384);
    struct seen *s = replay(0);
    assert_int_equal(s->n, xend_event_history_count());
    assert_int_equal(s->seq[s->n - 1], 201);
    seen_free(s);
}

/* A callback that shrinks the history mid-replay: replay goes on from where it was, over
 * what is still held, and never gives a number twice. */
static int shrink_on_first(uint64_t seq, const char *name, const struct xend_sxp *value, void *arg)
{
    struct seen *s = arg;
    if (s->n == 0)
        xend_event_history_set_max(2);
    return collect(seq, name, value, arg);
}

static void test_replay_survives_a_callback_that_drops_records(void **state)
{
    (void)state;
    for (int i = 0; i < 10; i++)
        record_len("e", 64);
    struct seen *s = xend_xcalloc(1, sizeof(*s));
    assert_int_equal(xend_event_history_replay(3, shrink_on_first, s), 0);
    assert_int_equal(s->n, 3);
    assert_int_equal(s->seq[0], 4);
    assert_int_equal(s->seq[1], 9);
    assert_int_equal(s->seq[2], 10);
    seen_free(s);
}

static void test_values_come_back_as_they_were_given(void **state)
{
    (void)state;
    struct xend_sxp *odd = xend_sxp_list_of("x", "", "two words", "it's", "\"q\"", "a)b", "#c",
                                            "tab\there", "nl\n", NULL);
    struct xend_sxp *nested = xend_sxp_list();
    xend_sxp_append_take(nested, xend_sxp_list());
    xend_sxp_append_take(nested, xend_sxp_atom("1.5"));
    struct xend_sxp *atom = xend_sxp_atom("bare");
    xend_event_history_record("odd", odd);
    xend_event_history_record("none", NULL);
    xend_event_history_record("nested", nested);
    xend_event_history_record("atom", atom);
    struct seen *s = replay(0);
    assert_int_equal(s->n, 4);
    char *want = xend_sxp_print(odd);
    assert_string_equal(s->value[0], want);
    free(want);
    assert_string_equal(s->value[1], "-");
    assert_string_equal(s->value[2], "(() 1.5)");
    assert_string_equal(s->value[3], "bare");
    seen_free(s);
    xend_sxp_free(odd);
    xend_sxp_free(nested);
    xend_sxp_free(atom);
}

/* --- a long run against a model --------------------------------------------------------- */

#define MODEL_EVENTS 3000

static uint32_t rnd_state = 12345;

static uint32_t rnd(uint32_t n)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (rnd_state >> 8) % n;
}

static void test_any_mix_of_sizes_limits_and_trims_holds_the_last_events(void **state)
{
    (void)state;
    static char *name[MODEL_EVENTS + 1], *printed[MODEL_EVENTS + 1];
    static size_t bytes_of[MODEL_EVENTS + 1]; /* history.h's estimate of each */
    for (uint64_t seq = 1; seq <= MODEL_EVENTS; seq++) {
        uint32_t op = rnd(100);
        if (op < 3)
            xend_event_history_set_max(rnd(3) == 0 ? 0 : 1 + rnd(80));
        else if (op < 5)
            xend_event_limits_set(&(struct xend_event_limits){.backlog_budget = 2000 + rnd(60000)});
        else if (op < 6)
            xend_event_limits_set(&(struct xend_event_limits){0});
        char n[32];
        snprintf(n, sizeof(n), "e.%u", rnd(100000));
        size_t vlen = rnd(10) == 0 ? rnd(9000) : rnd(200);
        struct xend_sxp *v = NULL;
        if (rnd(8) != 0) {
            char *text = malloc(vlen + 1);
            for (size_t i = 0; i < vlen; i++)
                text[i] = (char)(' ' + rnd(95));
            text[vlen] = '\0';
            v = xend_sxp_list_of("v", text, NULL);
            free(text);
        }
        name[seq] = xend_xstrdup(n);
        printed[seq] = v != NULL ? xend_sxp_print(v) : xend_xstrdup("-");
        bytes_of[seq] = 96 + strlen(n) + (v != NULL ? strlen(printed[seq]) : 0);
        assert_int_equal(xend_event_history_record(n, v), seq);
        xend_sxp_free(v);

        size_t held = xend_event_history_count();
        assert_true(held <= xend_event_history_max());
        assert_int_equal(xend_event_history_oldest(), seq - held + 1);
        size_t bytes = 0;
        for (uint64_t k = seq - held + 1; k <= seq; k++)
            bytes += bytes_of[k];
        assert_int_equal(xend_event_history_bytes(), bytes);
        if (seq % 7 != 0 && seq != MODEL_EVENTS)
            continue;
        uint64_t since = held > 0 ? seq - held + rnd((uint32_t)held) : seq;
        struct seen *s = replay(since);
        assert_int_equal(s->n, seq - since);
        for (size_t i = 0; i < s->n; i++) {
            assert_int_equal(s->seq[i], since + 1 + i);
            assert_string_equal(s->name[i], name[since + 1 + i]);
            assert_string_equal(s->value[i], printed[since + 1 + i]);
        }
        seen_free(s);
    }
    for (uint64_t seq = 1; seq <= MODEL_EVENTS; seq++) {
        free(name[seq]);
        free(printed[seq]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_teardown(fn, teardown)
        T(test_a_full_history_wraps_around_without_growing),
        T(test_a_record_that_fits_only_after_compaction_keeps_the_ring_size),
        T(test_a_record_bigger_than_the_ring_grows_it_and_leaving_shrinks_it),
        T(test_set_max_drops_the_oldest_and_shrinks_the_ring),
        T(test_the_budget_trims_the_oldest_and_the_ring_follows),
        T(test_replay_survives_a_callback_that_drops_records),
        T(test_values_come_back_as_they_were_given),
        T(test_any_mix_of_sizes_limits_and_trims_holds_the_last_events),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
