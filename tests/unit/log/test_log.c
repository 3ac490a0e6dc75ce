/*
 * Unit tests of core/log: line format, level filter, one line per event from many threads,
 * size rotation and reopen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log/log.h"

static char tmpdir[] = "/tmp/xend-test-log-XXXXXX";
static char logpath[600];

static void open_log(enum xend_log_level level, size_t max_size, unsigned max_files)
{
    struct xend_log_options o = {.path = logpath,
                                 .level = level,
                                 .max_size = max_size,
                                 .max_files = max_files,
                                 .to_stderr = false};
    struct xend_err err = {0};
    assert_int_equal(xend_log_open(&o, &err), 0);
}

/* The whole file (owned), "" when absent; *lines gets the number of lines. */
static char *slurp(const char *path, size_t *lines)
{
    FILE *f = fopen(path, "r");
    char *text = calloc(1, 1 << 20);
    assert_non_null(text);
    if (f != NULL) {
        size_t n = fread(text, 1, (1 << 20) - 1, f);
        text[n] = '\0';
        fclose(f);
    }
    if (lines != NULL) {
        *lines = 0;
        for (char *p = text; *p; p++)
            *lines += *p == '\n';
    }
    return text;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int setup_test(void **state)
{
    (void)state;
    unlink(logpath);
    for (int i = 1; i <= 9; i++) {
        char p[700];
        snprintf(p, sizeof(p), "%s.%d", logpath, i);
        unlink(p);
    }
    return 0;
}

static int teardown_test(void **state)
{
    (void)state;
    xend_log_close();
    return 0;
}

static void line_has_time_level_event_and_fields(void **state)
{
    (void)state;
    open_log(XEND_LOG_INFO, 0, 0);
    assert_string_equal(xend_log_path(), logpath);
    xend_log_emit("vif", XEND_LOG_NOTICE, "vif up", "domain=%s vif=%s", "vm1", "vif5.0");
    xend_log_info("xend started", "port=%d", 8000);
    size_t n;
    char *text = slurp(logpath, &n);
    assert_int_equal(n, 2);
    /* 2026-11-27T03:04:05.123Z */
    const char *t = text;
    assert_true(strlen(t) > 25);
    for (int i = 0; i < 24; i++) {
        char c = t[i];
        switch (i) {
        case 4:
        case 7:
            assert_int_equal(c, '-');
            break;
        case 10:
            assert_int_equal(c, 'T');
            break;
        case 13:
        case 16:
            assert_int_equal(c, ':');
            break;
        case 19:
            assert_int_equal(c, '.');
            break;
        case 23:
            assert_int_equal(c, 'Z');
            break;
        default:
            assert_true(c >= '0' && c <= '9');
        }
    }
    char *nl = strchr(text, '\n');
    *nl = '\0';
    assert_string_equal(text + 24, " NOTICE vif up plugin=vif domain=vm1 vif=vif5.0");
    char *second = nl + 1;
    second[strlen(second) - 1] = '\0';
    assert_string_equal(second + 24, " INFO xend started port=8000");
    free(text);
}

/* The log's own clock: time() reads a coarser one, which can still show the second before
 * for a few milliseconds after CLOCK_REALTIME moved on. */
static time_t realtime_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec;
}

/* The date and time of the second are kept between lines: a line written after the clock
 * moved on must carry the new second, not the kept one. */
static void each_line_carries_the_time_it_was_written(void **state)
{
    (void)state;
    open_log(XEND_LOG_INFO, 0, 0);
    char want[2][32];
    for (int i = 0; i < 2; i++) {
        if (i == 1) {
            /* into the next second: poll, with a deadline, instead of a sleep */
            time_t t0 = realtime_sec();
            for (int spin = 0; realtime_sec() == t0 && spin < 3000; spin++)
                usleep(1000);
        }
        time_t before = realtime_sec();
        xend_log_info("tick", "n=%d", i);
        time_t after = realtime_sec();
        assert_int_equal(before, after); /* (a second boundary crossed mid-line: rare) */
        struct tm tm;
        gmtime_r(&before, &tm);
        strftime(want[i], sizeof(want[i]), "%Y-%m-%dT%H:%M:%S", &tm);
    }
    assert_string_not_equal(want[0], want[1]);
    size_t n;
    char *text = slurp(logpath, &n);
    assert_int_equal(n, 2);
    assert_memory_equal(text, want[0], 19);
    assert_memory_equal(strchr(text, '\n') + 1, want[1], 19);
    free(text);
}

static void levels_below_the_threshold_are_dropped(void **state)
{
    (void)state;
    open_log(XEND_LOG_WARN, 0, 0);
    assert_true(xend_log_enabled(XEND_LOG_ERROR));
    assert_false(xend_log_enabled(XEND_LOG_INFO));
    xend_log_info("dropped", "n=1");
    xend_log_debug("dropped", "n=2");
    xend_log_warn("kept", "n=3");
    xend_log_error("kept", "n=4");
    xend_log_set_level(XEND_LOG_DEBUG);
    xend_log_debug("kept", "n=5");
    size_t n;
    char *text = slurp(logpath, &n);
    assert_int_equal(n, 3);
    assert_null(strstr(text, "dropped"));
    assert_non_null(strstr(text, "WARN kept n=3"));
    assert_non_null(strstr(text, "ERROR kept n=4"));
    assert_non_null(strstr(text, "DEBUG kept n=5"));
    free(text);
}

static void level_names_parse_in_any_case(void **state)
{
    (void)state;
    enum xend_log_level l;
    assert_int_equal(xend_log_level_parse("Debug", &l), 0);
    assert_int_equal(l, XEND_LOG_DEBUG);
    assert_int_equal(xend_log_level_parse("warning", &l), 0);
    assert_int_equal(l, XEND_LOG_WARN);
    assert_int_equal(xend_log_level_parse("ERROR", &l), 0);
    assert_int_equal(l, XEND_LOG_ERROR);
    assert_int_equal(xend_log_level_parse("loud", &l), -XEND_EINVAL);
}

static void newlines_are_escaped_and_secrets_masked(void **state)
{
    (void)state;
    open_log(XEND_LOG_INFO, 0, 0);
    xend_log_info("script failed", "output=\"line1\nline2\" vnc-password=hunter2 token=abc "
                                   "user=root");
    xend_log_info("odd bytes", "got=\"a\001b\tc\rd\177\"");
    size_t n;
    char *text = slurp(logpath, &n);
    assert_int_equal(n, 2);
    assert_non_null(
        strstr(text, "output=\"line1\\nline2\" vnc-password=*** token=*** user=root\n"));
    assert_non_null(strstr(text, " got=\"a\\x01b\\tc\\rd\\x7f\"\n"));
    assert_null(strstr(text, "hunter2"));
    free(text);
}

static void rotation_keeps_max_files_and_drops_the_oldest(void **state)
{
    (void)state;
    /* Each line is about 50 bytes; 200 bytes hold 3 or 4 of them. */
    open_log(XEND_LOG_INFO, 200, 3);
    for (int i = 0; i < 40; i++)
        xend_log_info("tick", "seq=%03d", i);
    char p[700];
    for (int i = 1; i <= 3; i++) {
        snprintf(p, sizeof(p), "%s.%d", logpath, i);
        assert_true(exists(p));
        struct stat st;
        assert_int_equal(stat(p, &st), 0);
        assert_true(st.st_size <= 200);
    }
    snprintf(p, sizeof(p), "%s.4", logpath);
    assert_false(exists(p));
    /* the newest line is in xend.log, older ones in .1, .2, .3 in order, the first gone */
    char *cur = slurp(logpath, NULL);
    assert_non_null(strstr(cur, "seq=039"));
    snprintf(p, sizeof(p), "%s.3", logpath);
    char *oldest = slurp(p, NULL);
    snprintf(p, sizeof(p), "%s.1", logpath);
    char *newer = slurp(p, NULL);
    int first_oldest = atoi(strstr(oldest, "seq=") + 4);
    int first_newer = atoi(strstr(newer, "seq=") + 4);
    assert_true(first_oldest > 0);
    assert_true(first_newer > first_oldest);
    assert_null(strstr(cur, "seq=000"));
    free(cur);
    free(oldest);
    free(newer);
}

static void reopen_after_outside_rename_starts_a_new_file(void **state)
{
    (void)state;
    open_log(XEND_LOG_INFO, 0, 0);
    xend_log_info("before", "n=1");
    char moved[700];
    snprintf(moved, sizeof(moved), "%s.moved", logpath);
    assert_int_equal(rename(logpath, moved), 0);
    xend_log_info("still to the old file", "n=2");
    assert_int_equal(xend_log_reopen(), 0);
    xend_log_info("after", "n=3");
    size_t n_old, n_new;
    char *old = slurp(moved, &n_old);
    char *cur = slurp(logpath, &n_new);
    assert_int_equal(n_old, 2);
    assert_int_equal(n_new, 1);
    assert_non_null(strstr(cur, "after n=3"));
    free(old);
    free(cur);
    unlink(moved);
}

static void open_failure_is_reported(void **state)
{
    (void)state;
    struct xend_log_options o = {.path = "/nonexistent-dir/xend.log", .level = XEND_LOG_INFO};
    struct xend_err err = {0};
    assert_int_equal(xend_log_open(&o, &err), -XEND_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent-dir/xend.log"));
    assert_string_equal(xend_log_path(), "");
}

#define THREADS 4
#define PER_THREAD 500

static void *log_many(void *arg)
{
    long t = (long)arg;
    for (int i = 0; i < PER_THREAD; i++)
        xend_log_info("event from a thread", "thread=%ld seq=%d pad=%s", t, i,
                      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    return NULL;
}

static void lines_from_threads_never_interleave(void **state)
{
    (void)state;
    open_log(XEND_LOG_INFO, 0, 0);
    pthread_t th[THREADS];
    for (long t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, log_many, (void *)t), 0);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    size_t n;
    char *text = slurp(logpath, &n);
    assert_int_equal(n, THREADS * PER_THREAD);
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        *nl = '\0';
        assert_non_null(strstr(line, " INFO event from a thread thread="));
        assert_non_null(strstr(line, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
        line = nl + 1;
    }
    free(text);
}

static int setup(void **state)
{
    (void)state;
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    snprintf(logpath, sizeof(logpath), "%s/xend.log", tmpdir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(line_has_time_level_event_and_fields, setup_test,
                                        teardown_test),
        cmocka_unit_test_setup_teardown(levels_below_the_threshold_are_dropped, setup_test,
                                        teardown_test),
        cmocka_unit_test(level_names_parse_in_any_case),
        cmocka_unit_test_setup_teardown(each_line_carries_the_time_it_was_written, setup_test,
                                        teardown_test),
        cmocka_unit_test_setup_teardown(newlines_are_escaped_and_secrets_masked, setup_test,
                                        teardown_test),
        cmocka_unit_test_setup_teardown(rotation_keeps_max_files_and_drops_the_oldest, setup_test,
                                        teardown_test),
        cmocka_unit_test_setup_teardown(reopen_after_outside_rename_starts_a_new_file, setup_test,
                                        teardown_test),
        cmocka_unit_test_setup_teardown(open_failure_is_reported, setup_test, teardown_test),
        cmocka_unit_test_setup_teardown(lines_from_threads_never_interleave, setup_test,
                                        teardown_test),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
