/*
 * The event loop's services for plugins: fd watches, timers, child processes, worker
 * threads, and deferred operations.
 *
 * One thread (the loop) owns all xend state. Anything slow runs in a child process
 * (spawn) or a worker thread (work_submit) and reports back on the loop.
 *
 * Threads: loop thread only, except post(), which any thread may call.
 */
#ifndef XEND_LOOP_H
#define XEND_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xend/abi.h>

#ifdef __cplusplus
extern "C" {
#endif

struct xend_plugin;
struct xend_watch; /* opaque, owned by the plugin that added it until removed */
struct xend_timer; /* opaque, owned by the plugin until removed */

enum xend_watch_events {
    XEND_WATCH_READ = 1u << 0,
    XEND_WATCH_WRITE = 1u << 1,
};

typedef void xend_watch_fn(int fd, uint32_t events, void *arg);
typedef void xend_timer_fn(void *arg);

/* What a finished child process left: status as from waitpid, and its output. */
struct xend_spawn_result {
    size_t size;
    int status;         /* waitpid status; see timed_out */
    bool timed_out;     /* killed at the deadline */
    const char *output; /* stdout and stderr together, NUL-terminated, borrowed */
    size_t output_len;  /* at most 64 KiB are kept */
};
typedef void xend_spawn_fn(const struct xend_spawn_result *result, void *arg);

/* Work run on a worker thread; done runs on the loop afterwards. */
typedef void xend_work_fn(void *arg);

/*
 * A deferred operation: a step that finishes later (a device script, a save). The code
 * that received it must call op_complete exactly once, from the loop thread, either before
 * returning (synchronous) or later. The core gives every op a deadline and completes it
 * with -XEND_ETIMEDOUT when it passes; a completion after that is ignored.
 */
struct xend_op;

struct xend_host_loop {
    size_t size;

    /* Watch fd (borrowed; the plugin closes it after removing the watch). */
    struct xend_watch *(*watch_add)(struct xend_plugin *self, int fd, uint32_t events,
                                    xend_watch_fn *fn, void *arg);
    void (*watch_set)(struct xend_watch *w, uint32_t events); /* change the events */
    void (*watch_remove)(struct xend_watch *w);               /* NULL is fine */

    /*
     * A timer that fires after ms (again every ms when repeat). A one-shot timer belongs to
     * the core once it has fired (it is freed after its callback returns); remove it only
     * before then, or from inside its callback. A repeating one lives until removed.
     */
    struct xend_timer *(*timer_add)(struct xend_plugin *self, uint64_t ms, bool repeat,
                                    xend_timer_fn *fn, void *arg);
    void (*timer_remove)(struct xend_timer *t); /* NULL is fine */

    /*
     * Run argv[0] with argv (no shell) and envp (NULL = xend's environment), stdin from
     * /dev/null, stdout+stderr captured; kill it (SIGKILL) after timeout_ms. done runs on
     * the loop when it has exited. Arrays and strings are copied. Returns 0 or -XEND_EIO.
     */
    int (*spawn)(struct xend_plugin *self, const char *const *argv, const char *const *envp,
                 uint64_t timeout_ms, xend_spawn_fn *done, void *arg);

    /* Run work(arg) on a worker thread, then done(arg) on the loop. */
    int (*work_submit)(struct xend_plugin *self, xend_work_fn *work, xend_work_fn *done, void *arg);
    /* Run fn(arg) on the loop thread soon. Any thread. */
    int (*post)(xend_work_fn *fn, void *arg);

    /* The error object of an op, borrowed until op_complete. */
    struct xend_err *(*op_err)(struct xend_op *op);
    /* Finish an op: 0, or a negative code after filling op_err(op). */
    void (*op_complete)(struct xend_op *op, int rc);

    /* Monotonic milliseconds, and wall-clock seconds (for start_time). */
    uint64_t (*now_ms)(void);
    double (*wall_time)(void);
};

#ifdef __cplusplus
}
#endif
#endif
