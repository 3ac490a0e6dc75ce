/*
 * The sim backend's pipelined connection (plugins/hypervisor/sim/pipeline.c) against a
 * socketpair whose other end plays xend-simhv, on the fake host's loop: answers matched
 * by order, the requests of one loop iteration written together, a flush that does not
 * wait for the loop, answers that came before a hang-up delivered, and a connection that
 * breaks ending every request in flight.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_host.h"
#include "pipeline.h"

#define DEADLINE_MS 5000

static int peer = -1; /* simhv's end */
static int dials;     /* connections made */

static int dial_error; /* when set, the dial fails with it (simhv is not there) */

static int dial_pair(void *ctx, int *fd)
{
    (void)ctx;
    if (dial_error)
        return -dial_error;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    if (peer >= 0)
        close(peer);
    peer = sv[1];
    *fd = sv[0];
    dials++;
    return 0;
}

struct answer {
    bool called;
    int rc;
    char line[64];
    char why[64];
};

static void on_answer(void *arg, int rc, const char *line, size_t len, const char *why)
{
    struct answer *a = arg;
    a->called = true;
    a->rc = rc;
    snprintf(a->line, sizeof(a->line), "%.*s", line ? (int)len : 0, line ? line : "");
    snprintf(a->why, sizeof(a->why), "%s", why ? why : "");
}

static bool answered(void *arg)
{
    return ((struct answer *)arg)->called;
}

static size_t peer_read(char *buf, size_t cap, int timeout_ms)
{
    struct pollfd p = {.fd = peer, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) <= 0)
        return 0;
    ssize_t n = read(peer, buf, cap - 1);
    buf[n > 0 ? n : 0] = '\0';
    return n > 0 ? (size_t)n : 0;
}

static void peer_write(const char *text)
{
    assert_int_equal(write(peer, text, strlen(text)), (ssize_t)strlen(text));
}

static struct sim_pipeline *setup_pipe(void)
{
    const struct xend_host *h = fake_host_new("hv-sim");
    dials = 0;
    return sim_pipeline_new(fake_host_self(), h, dial_pair, NULL, DEADLINE_MS);
}

static void teardown_pipe(struct sim_pipeline *p)
{
    sim_pipeline_free(p);
    if (peer >= 0)
        close(peer);
    peer = -1;
    fake_host_free();
}

static void answers_are_matched_in_order_and_a_burst_is_one_write(void **state)
{
    (void)state;
    struct sim_pipeline *p = setup_pipe();
    struct answer a = {0}, b = {0};
    assert_int_equal(sim_pipeline_send(p, "(x 1)\n", 6, on_answer, &a), 0);
    assert_int_equal(sim_pipeline_send(p, "(x 2)\n", 6, on_answer, &b), 0);
    char buf[256];
    /* nothing is written before the loop runs... */
    assert_int_equal(peer_read(buf, sizeof(buf), 0), 0);
    assert_int_equal(sim_pipeline_in_flight(p), 2);
    /* ...then both requests at once */
    fake_host_loop_once(100);
    assert_true(peer_read(buf, sizeof(buf), DEADLINE_MS) > 0);
    assert_string_equal(buf, "(x 1)\n(x 2)\n");
    peer_write("(ok 1)\n(ok");
    fake_host_loop_until(answered, &a, DEADLINE_MS);
    assert_true(a.called);
    assert_false(b.called); /* half a line is not an answer */
    assert_int_equal(a.rc, 0);
    assert_string_equal(a.line, "(ok 1)");
    peer_write(" 2)\n");
    assert_true(fake_host_loop_until(answered, &b, DEADLINE_MS));
    assert_string_equal(b.line, "(ok 2)");
    assert_int_equal(sim_pipeline_in_flight(p), 0);
    teardown_pipe(p);
}

static void a_flush_writes_without_the_loop(void **state)
{
    (void)state;
    struct sim_pipeline *p = setup_pipe();
    struct answer a = {0};
    assert_int_equal(sim_pipeline_send(p, "(confirm 1)\n", 12, on_answer, &a), 0);
    assert_int_equal(sim_pipeline_flush(p, DEADLINE_MS), 0);
    char buf[64];
    assert_true(peer_read(buf, sizeof(buf), 0) > 0);
    assert_string_equal(buf, "(confirm 1)\n");
    teardown_pipe(p);
}

static void answers_before_a_hang_up_count_and_the_rest_fail(void **state)
{
    (void)state;
    struct sim_pipeline *p = setup_pipe();
    struct answer a = {0}, b = {0};
    sim_pipeline_send(p, "(x 1)\n", 6, on_answer, &a);
    sim_pipeline_send(p, "(x 2)\n", 6, on_answer, &b);
    fake_host_loop_once(100);
    char buf[64];
    peer_read(buf, sizeof(buf), DEADLINE_MS);
    peer_write("(ok 1)\n");
    close(peer); /* simhv answered one, then went */
    peer = -1;
    assert_true(fake_host_loop_until(answered, &b, DEADLINE_MS));
    assert_true(a.called);
    assert_int_equal(a.rc, 0);
    assert_string_equal(a.line, "(ok 1)");
    assert_int_equal(b.rc, -EPIPE);
    assert_string_equal(b.why, "connection closed");
    /* the next request connects again */
    struct answer c = {0};
    assert_int_equal(sim_pipeline_send(p, "(x 3)\n", 6, on_answer, &c), 0);
    assert_int_equal(dials, 2);
    teardown_pipe(p);
}

static void a_line_nobody_asked_for_breaks_the_connection(void **state)
{
    (void)state;
    struct sim_pipeline *p = setup_pipe();
    struct answer a = {0};
    sim_pipeline_send(p, "(x 1)\n", 6, on_answer, &a);
    fake_host_loop_once(100);
    char buf[64];
    assert_true(peer_read(buf, sizeof(buf), DEADLINE_MS) > 0);
    peer_write("(ok 1)\n(ok 99)\n");
    assert_true(fake_host_loop_until(answered, &a, DEADLINE_MS));
    assert_int_equal(a.rc, 0);
    /* the stray answer dropped the connection: the peer sees it close */
    struct pollfd pf = {.fd = peer, .events = POLLIN};
    for (int i = 0; i < 50 && !(poll(&pf, 1, 0) > 0); i++)
        fake_host_loop_once(10);
    char c;
    assert_int_equal(read(peer, &c, 1), 0);
    teardown_pipe(p);
}

static void a_send_with_no_simhv_to_reach_fails_at_once_and_calls_nobody(void **state)
{
    (void)state;
    struct sim_pipeline *p = setup_pipe();
    struct answer a = {0};
    dial_error = ECONNREFUSED;
    assert_int_equal(sim_pipeline_send(p, "(x 1)\n", 6, on_answer, &a), -ECONNREFUSED);
    dial_error = 0;
    assert_int_equal(sim_pipeline_in_flight(p), 0);
    fake_host_loop_once(10);
    assert_false(a.called);
    /* simhv back: the next send connects */
    assert_int_equal(sim_pipeline_send(p, "(x 2)\n", 6, on_answer, &a), 0);
    assert_int_equal(dials, 1);
    teardown_pipe(p);
}

static void freeing_ends_what_is_in_flight_as_cancelled(void **state)
{
    (void)state;
    struct sim_pipeline *p = setup_pipe();
    struct answer a = {0};
    sim_pipeline_send(p, "(x 1)\n", 6, on_answer, &a);
    sim_pipeline_free(p);
    assert_true(a.called);
    assert_int_equal(a.rc, -ECANCELED);
    if (peer >= 0)
        close(peer);
    peer = -1;
    fake_host_free();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(answers_are_matched_in_order_and_a_burst_is_one_write),
        cmocka_unit_test(a_flush_writes_without_the_loop),
        cmocka_unit_test(answers_before_a_hang_up_count_and_the_rest_fail),
        cmocka_unit_test(a_line_nobody_asked_for_breaks_the_connection),
        cmocka_unit_test(a_send_with_no_simhv_to_reach_fails_at_once_and_calls_nobody),
        cmocka_unit_test(freeing_ends_what_is_in_flight_as_cancelled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
