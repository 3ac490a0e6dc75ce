/* The loop's services: spawned children (output, exit status, timeout), deferred ops
 * (completion on a later turn, deadline, late completion ignored), posting from another
 * thread and its priority over ready clients, worker completions. Each test runs the real libevent
 * loop with a deadline. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "event_loop.h"

static const struct xend_host_loop *L;

/* Run the loop until *flag is set or ms pass. */
static void run_until(const bool *flag, int ms)
{
    uint64_t end = xend_loop_now_ms() + (uint64_t)ms;
    while (!*flag && xend_loop_now_ms() < end) {
        struct timeval tv = {0, 10000};
        event_base_loopexit(xend_loop_base(), &tv);
        event_base_dispatch(xend_loop_base());
    }
}

static int setup(void **state)
{
    (void)state;
    struct xend_err err = {0};
    assert_int_equal(xend_loop_init(2, &err), 0);
    L = xend_loop_host_table();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    xend_loop_free();
    return 0;
}

struct spawned {
    bool done, timed_out;
    int status;
    char out[256];
};

static void on_spawned(const struct xend_spawn_result *r, void *arg)
{
    struct spawned *s = arg;
    s->done = true;
    s->status = r->status;
    s->timed_out = r->timed_out;
    snprintf(s->out, sizeof(s->out), "%s", r->output);
}

static void test_spawn_captures_output_and_status(void **state)
{
    (void)state;
    struct spawned s = {0};
    const char *argv[] = {"/bin/sh", "-c", "echo out; echo err >&2; exit 3", NULL};
    assert_int_equal(L->spawn(NULL, argv, NULL, 5000, on_spawned, &s), 0);
    run_until(&s.done, 5000);
    assert_true(s.done);
    assert_false(s.timed_out);
    assert_true(WIFEXITED(s.status));
    assert_int_equal(WEXITSTATUS(s.status), 3);
    assert_non_null(strstr(s.out, "out"));
    assert_non_null(strstr(s.out, "err"));
}

static void test_spawn_kills_at_the_deadline(void **state)
{
    (void)state;
    struct spawned s = {0};
    const char *argv[] = {"/bin/sleep", "30", NULL};
    uint64_t t0 = xend_loop_now_ms();
    assert_int_equal(L->spawn(NULL, argv, NULL, 200, on_spawned, &s), 0);
    run_until(&s.done, 5000);
    assert_true(s.done);
    assert_true(s.timed_out);
    assert_true(xend_loop_now_ms() - t0 < 5000);
}

/* A callback that blocked (a backend waiting on dom0's drivers) and then spawns: the
 * child's timeout counts from the spawn, not from when the loop last woke. */
struct late_spawn {
    struct spawned s;
    int rc;
};

static void spawn_after_blocking(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct late_spawn *l = arg;
    struct timespec blocked = {0, 400 * 1000 * 1000};
    nanosleep(&blocked, NULL);
    static const char *const argv[] = {"/bin/sh", "-c", "sleep 0.1; echo late", NULL};
    l->rc = L->spawn(NULL, argv, NULL, 300, on_spawned, &l->s);
}

static void test_spawn_timeout_counts_from_the_spawn(void **state)
{
    (void)state;
    struct late_spawn l = {.rc = -1};
    struct timeval now = {0, 0};
    struct event *ev = evtimer_new(xend_loop_base(), spawn_after_blocking, &l);
    event_add(ev, &now);
    run_until(&l.s.done, 5000);
    event_free(ev);
    assert_int_equal(l.rc, 0);
    assert_true(l.s.done);
    assert_false(l.s.timed_out);
    assert_int_equal(l.s.status, 0);
}

static void test_spawn_of_a_missing_program_reports_it(void **state)
{
    (void)state;
    struct spawned s = {0};
    const char *argv[] = {"/nonexistent/prog", NULL};
    assert_int_equal(L->spawn(NULL, argv, NULL, 5000, on_spawned, &s), 0);
    run_until(&s.done, 5000);
    assert_true(s.done);
    assert_int_equal(WEXITSTATUS(s.status), 127);
    assert_non_null(strstr(s.out, "cannot run /nonexistent/prog"));
}

/*
 * Children that ended while the loop was busy, one of whose callbacks spawns again. spawn
 * looks for ended children at once (one may end before SIGCHLD is armed for it), so that
 * look finishes the other ended children inside the first one's callback, under the walk of
 * the SIGCHLD handler that called it. Each callback must run exactly once, and nothing be
 * touched after it is freed (a sanitizer build sees it; a plain build corrupted its heap).
 */
struct counted {
    int calls;
    bool done;
};

static void on_counted(const struct xend_spawn_result *r, void *arg)
{
    (void)r;
    struct counted *c = arg;
    c->calls++;
    c->done = true;
}

static struct counted chain[3]; /* [0] spawns [2] from its callback */

static void on_first_spawns(const struct xend_spawn_result *r, void *arg)
{
    on_counted(r, arg);
    static const char *const argv[] = {"/bin/true", NULL};
    assert_int_equal(L->spawn(NULL, argv, NULL, 5000, on_counted, &chain[2]), 0);
}

/*
 * The pids of this process's children whose state (the letter in /proc/PID/stat) is
 * `state`: 'T' stopped, 'Z' ended and waiting to be reaped. Returns how many, up to max.
 */
static int children_in_state(char state, pid_t *pids, int max)
{
    char path[64], stat[256], mark[5] = {')', ' ', state, ' ', '\0'};
    snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
    FILE *f = fopen(path, "r");
    int pid, n = 0;
    while (f != NULL && n < max && fscanf(f, "%d", &pid) == 1) {
        snprintf(path, sizeof(path), "/proc/%d/stat", pid);
        FILE *s = fopen(path, "r");
        if (s != NULL && fgets(stat, sizeof(stat), s) != NULL && strstr(stat, mark) != NULL)
            pids[n++] = pid;
        if (s != NULL)
            fclose(s);
    }
    if (f != NULL)
        fclose(f);
    return n;
}

/* Polls until `want` children are in `state` or 5 s pass; returns how many are. */
static int wait_children_in_state(char state, pid_t *pids, int want)
{
    uint64_t end = xend_loop_now_ms() + 5000;
    int n;
    while ((n = children_in_state(state, pids, want)) < want && xend_loop_now_ms() < end) {
        struct timespec tick = {0, 5 * 1000 * 1000};
        nanosleep(&tick, NULL);
    }
    return n;
}

static void test_children_ended_together_finish_once_each(void **state)
{
    (void)state;
    memset(chain, 0, sizeof(chain));
    /*
     * Each child stops itself at once, so neither can end (and be reaped by the second
     * spawn's look) before both exist; the test then lets both run to their end while the
     * loop is not running: their pipes' ends and SIGCHLD come in one turn.
     */
    static const char *const argv[] = {"/bin/sh", "-c", "kill -STOP $$", NULL};
    assert_int_equal(L->spawn(NULL, argv, NULL, 5000, on_counted, &chain[1]), 0);
    assert_int_equal(L->spawn(NULL, argv, NULL, 5000, on_first_spawns, &chain[0]), 0);
    pid_t pids[2];
    assert_int_equal(wait_children_in_state('T', pids, 2), 2);
    for (int i = 0; i < 2; i++)
        assert_int_equal(kill(pids[i], SIGCONT), 0);
    assert_int_equal(wait_children_in_state('Z', pids, 2), 2);
    bool all = false;
    uint64_t end = xend_loop_now_ms() + 5000;
    while (!all && xend_loop_now_ms() < end) {
        run_until(&chain[2].done, 50);
        all = chain[0].done && chain[1].done && chain[2].done;
    }
    for (int i = 0; i < 3; i++)
        assert_int_equal(chain[i].calls, 1);
}

struct op_result {
    bool done;
    int calls;
    int rc;
    char msg[XEND_ERR_MSG_MAX];
};

static void on_op(int rc, const struct xend_err *err, void *arg)
{
    struct op_result *r = arg;
    r->done = true;
    r->calls++;
    r->rc = rc;
    snprintf(r->msg, sizeof(r->msg), "%s", xend_err_msg(err));
}

static void test_op_completes_on_a_later_turn(void **state)
{
    (void)state;
    struct op_result r = {0};
    struct xend_op *op = xend_op_new("test op", 5000, on_op, &r);
    xend_err_set(L->op_err(op), XEND_EIO, "disk on fire");
    L->op_complete(op, -XEND_EIO);
    assert_false(r.done); /* never inside op_complete */
    run_until(&r.done, 2000);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.rc, -XEND_EIO);
    assert_string_equal(r.msg, "disk on fire");
}

static void test_op_deadline_then_late_completion_is_ignored(void **state)
{
    (void)state;
    struct op_result r = {0};
    struct xend_op *op = xend_op_new("slow thing", 100, on_op, &r);
    run_until(&r.done, 3000);
    assert_int_equal(r.rc, -XEND_ETIMEDOUT);
    assert_non_null(strstr(r.msg, "slow thing timed out"));
    L->op_complete(op, 0); /* late: ignored, and frees the op */
    bool never = false;
    run_until(&never, 100);
    assert_int_equal(r.calls, 1);
}

struct posted {
    bool done;
    pthread_t from;
    pthread_t ran_on;
};

static void on_posted(void *arg)
{
    struct posted *p = arg;
    p->ran_on = pthread_self();
    p->done = true;
}

static void *poster(void *arg)
{
    xend_loop_post(on_posted, arg);
    return NULL;
}

static void test_post_from_another_thread_runs_on_the_loop(void **state)
{
    (void)state;
    struct posted p = {0};
    pthread_create(&p.from, NULL, poster, &p);
    pthread_join(p.from, NULL);
    run_until(&p.done, 2000);
    assert_true(p.done);
    assert_true(pthread_equal(p.ran_on, pthread_self()));
}

/*
 * A completion posted while many clients are ready (here: 64 readable pipes, each a
 * watch at the clients' priority) runs before most of them: the loop polls again after a
 * bounded batch of callbacks and takes completions first, so a request's last step does
 * not wait for every client the poll found.
 */
enum { READY = 64 };

struct ready_set {
    int fds[READY][2];
    struct xend_watch *w[READY];
    int callbacks;     /* watch callbacks run so far */
    int before_posted; /* callbacks that ran after the post and before the completion */
    bool posted, completed;
};

static void on_completed(void *arg)
{
    struct ready_set *r = arg;
    r->completed = true;
}

static void on_ready(int fd, uint32_t events, void *arg)
{
    (void)events;
    struct ready_set *r = arg;
    char b[8];
    if (read(fd, b, sizeof(b)) < 0)
        fail_msg("read: %s", strerror(errno));
    r->callbacks++;
    if (!r->posted) {
        r->posted = true;
        xend_loop_post(on_completed, r);
    } else if (!r->completed) {
        r->before_posted++;
    }
}

static void test_a_completion_goes_before_most_ready_clients(void **state)
{
    (void)state;
    struct ready_set r = {0};
    for (int i = 0; i < READY; i++) {
        assert_int_equal(pipe(r.fds[i]), 0);
        assert_int_equal(write(r.fds[i][1], "x", 1), 1);
        r.w[i] = L->watch_add(NULL, r.fds[i][0], XEND_WATCH_READ, on_ready, &r);
        assert_non_null(r.w[i]);
    }
    uint64_t end = xend_loop_now_ms() + 2000;
    while ((r.callbacks < READY || !r.completed) && xend_loop_now_ms() < end) {
        struct timeval tv = {0, 10000};
        event_base_loopexit(xend_loop_base(), &tv);
        event_base_dispatch(xend_loop_base());
    }
    assert_int_equal(r.callbacks, READY);
    assert_true(r.completed);
    /* At most one batch (16) after the one that posted; every other client after it. */
    assert_true(r.before_posted <= 16);
    for (int i = 0; i < READY; i++) {
        L->watch_remove(r.w[i]);
        close(r.fds[i][0]);
        close(r.fds[i][1]);
    }
}

struct work {
    bool done;
    pthread_t worker, completed_on;
};

static void work_fn(void *arg)
{
    ((struct work *)arg)->worker = pthread_self();
}

static void work_done(void *arg)
{
    struct work *w = arg;
    w->completed_on = pthread_self();
    w->done = true;
}

static void test_work_runs_off_the_loop_and_completes_on_it(void **state)
{
    (void)state;
    struct work w = {0};
    L->work_submit(NULL, work_fn, work_done, &w);
    run_until(&w.done, 2000);
    assert_true(w.done);
    assert_false(pthread_equal(w.worker, pthread_self()));
    assert_true(pthread_equal(w.completed_on, pthread_self()));
}

/* A script's end carries its caller on through a posted completion (a create's record):
 * a stop's drain must run that too, not end once the child is reaped. */
struct carried {
    bool spawned_done, carried_on;
};

static void carry_on(void *arg)
{
    ((struct carried *)arg)->carried_on = true;
}

static void on_spawned_then_post(const struct xend_spawn_result *r, void *arg)
{
    (void)r;
    struct carried *c = arg;
    c->spawned_done = true;
    assert_int_equal(L->post(carry_on, c), 0);
}

static void test_a_drain_runs_what_a_childs_end_posted(void **state)
{
    (void)state;
    struct carried c = {0};
    const char *argv[] = {"/bin/sh", "-c", "exit 0", NULL};
    assert_int_equal(L->spawn(NULL, argv, NULL, 5000, on_spawned_then_post, &c), 0);
    xend_loop_drain(5000, NULL, NULL);
    assert_true(c.spawned_done);
    assert_true(c.carried_on);
}

static bool busy_three_times(void *arg)
{
    int *calls = arg;
    return ++*calls <= 3;
}

static bool busy_forever(void *arg)
{
    (void)arg;
    return true;
}

static void test_a_drain_waits_while_busy_and_not_past_its_timeout(void **state)
{
    (void)state;
    int calls = 0;
    xend_loop_drain(5000, busy_three_times, &calls);
    assert_true(calls > 3);
    uint64_t t0 = xend_loop_now_ms();
    xend_loop_drain(200, busy_forever, NULL);
    uint64_t took = xend_loop_now_ms() - t0;
    assert_true(took >= 200);
    assert_true(took < 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_spawn_captures_output_and_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_drain_runs_what_a_childs_end_posted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_drain_waits_while_busy_and_not_past_its_timeout,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_spawn_kills_at_the_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spawn_of_a_missing_program_reports_it, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_spawn_timeout_counts_from_the_spawn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_children_ended_together_finish_once_each, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_op_completes_on_a_later_turn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_op_deadline_then_late_completion_is_ignored, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_post_from_another_thread_runs_on_the_loop, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_completion_goes_before_most_ready_clients, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_work_runs_off_the_loop_and_completes_on_it, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
