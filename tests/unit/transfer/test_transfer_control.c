/*
 * A transfer's cancel and rate limit (core/transfer/control.c): the bytes are counted on
 * the file itself; the pacing sleep holds a stream to its rate and ends at once on cancel;
 * cancel and decide exclude each other, whichever comes first.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "transfer/internal.h"

static int temp_file(void)
{
    char path[] = "/tmp/test-transfer-control.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    return fd;
}

static void write_bytes(int fd, size_t n)
{
    static char block[65536];
    while (n > 0) {
        size_t k = n < sizeof(block) ? n : sizeof(block);
        assert_int_equal(write(fd, block, k), (ssize_t)k);
        n -= k;
    }
}

static void test_bytes_are_counted_on_the_file_from_the_start(void **state)
{
    (void)state;
    int fd = temp_file();
    write_bytes(fd, 1000); /* before the start: not the transfer's */
    struct xend_transfer_ctl c;
    xend_transfer_ctl_init(&c, 0);
    xend_transfer_ctl_start(&c, fd);
    write_bytes(fd, 300000);
    assert_int_equal(xend_transfer_ctl_measure(&c, 7), 300000);
    assert_int_equal(xend_transfer_ctl_step(&c, NULL, 7, 0), 0);
    /* A descriptor that keeps no count: the backend's pages, and the last estimate kept. */
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct xend_transfer_ctl e;
    xend_transfer_ctl_init(&e, 0);
    xend_transfer_ctl_start(&e, p[1]);
    assert_true(xend_transfer_fd_bytes(p[1]) < 0);
    uint64_t est = xend_transfer_ctl_measure(&e, 10);
    assert_true(est >= 10 * 4096 && est < 11 * 4096);
    assert_int_equal(xend_transfer_ctl_measure(&e, 0), est);
    xend_transfer_ctl_destroy(&e);
    xend_transfer_ctl_destroy(&c);
    close(p[0]);
    close(p[1]);
    close(fd);
}

/* A backend reports every record: without a rate, the fd (three system calls) is measured
 * only when a report is due, at most once a second. */
static void test_the_fd_is_measured_only_when_a_report_or_the_rate_needs_it(void **state)
{
    (void)state;
    int fd = temp_file();
    struct xend_transfer_ctl c;
    xend_transfer_ctl_init(&c, 0);
    xend_transfer_ctl_start(&c, fd);
    struct xend_transfer_progress p;
    xend_transfer_progress_init(&p, "save", "d", 1);
    p.reported = true; /* a report was just made: the next is due in a second */
    p.last_ns = xend_clock_ns();
    write_bytes(fd, 5000);
    assert_int_equal(xend_transfer_ctl_step(&c, &p, 1, 100), 0);
    assert_int_equal(atomic_load(&c.bytes), 0);
    assert_false(xend_transfer_progress_due(&p, 1, 100));
    assert_true(xend_transfer_progress_due(&p, 100, 100)); /* the end is always reported */
    c.rate = 1000 * 1000 * 1000;                           /* pacing needs the count */
    assert_int_equal(xend_transfer_ctl_step(&c, &p, 2, 100), 0);
    assert_int_equal(atomic_load(&c.bytes), 5000);
    xend_transfer_ctl_destroy(&c);
    close(fd);
}

static void test_a_rate_holds_the_stream_to_it(void **state)
{
    (void)state;
    int fd = temp_file();
    struct xend_transfer_ctl c;
    xend_transfer_ctl_init(&c, 4 * 1000 * 1000); /* 4 MB/s */
    xend_transfer_ctl_start(&c, fd);
    uint64_t t0 = xend_clock_ns();
    for (int i = 0; i < 16; i++) { /* 1 MB in 64 KiB pieces: due at 250 ms */
        write_bytes(fd, 65536);
        assert_int_equal(xend_transfer_ctl_step(&c, NULL, 0, 0), 0);
    }
    uint64_t ms = (xend_clock_ns() - t0) / 1000000u;
    assert_true(ms >= 250); /* never ahead of the rate */
    assert_true(ms < 2000); /* and not stalled */
    xend_transfer_ctl_destroy(&c);
    close(fd);
}

struct sleeper {
    struct xend_transfer_ctl *c;
    int verdict;
    uint64_t ms;
};

static void *sleep_in_step(void *arg)
{
    struct sleeper *s = arg;
    uint64_t t0 = xend_clock_ns();
    s->verdict = xend_transfer_ctl_step(s->c, NULL, 0, 0);
    s->ms = (xend_clock_ns() - t0) / 1000000u;
    return NULL;
}

static void test_a_cancel_wakes_a_pacing_sleep_and_stops_the_stream(void **state)
{
    (void)state;
    int fd = temp_file();
    struct xend_transfer_ctl c;
    xend_transfer_ctl_init(&c, 1000); /* 1 KB/s: 1 MB is due in 1000 s */
    xend_transfer_ctl_start(&c, fd);
    write_bytes(fd, 1000000);
    struct sleeper s = {.c = &c};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, sleep_in_step, &s), 0);
    usleep(100000); /* let it sleep: what is measured is that the cancel ends it */
    assert_true(xend_transfer_ctl_cancel(&c));
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(s.verdict, -XEND_ECANCELED);
    assert_true(s.ms < 5000);
    assert_true(xend_transfer_ctl_cancel(&c));  /* asked again: still cancelled */
    assert_false(xend_transfer_ctl_decide(&c)); /* and it can no longer be decided */
    xend_transfer_ctl_destroy(&c);
    close(fd);
}

static void test_once_decided_a_cancel_is_refused(void **state)
{
    (void)state;
    struct xend_transfer_ctl c;
    xend_transfer_ctl_init(&c, 0);
    assert_true(xend_transfer_ctl_decide(&c));
    assert_false(xend_transfer_ctl_cancel(&c));
    assert_false(xend_transfer_ctl_cancelled(&c));
    assert_true(xend_transfer_ctl_decide(&c));
    xend_transfer_ctl_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes_are_counted_on_the_file_from_the_start),
        cmocka_unit_test(test_the_fd_is_measured_only_when_a_report_or_the_rate_needs_it),
        cmocka_unit_test(test_a_rate_holds_the_stream_to_it),
        cmocka_unit_test(test_a_cancel_wakes_a_pacing_sleep_and_stops_the_stream),
        cmocka_unit_test(test_once_decided_a_cancel_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
