/*
 * The event loop: one libevent base owned by the loop thread, and the services built on it
 * for the core and, through host->loop, for plugins: fd watches, timers, child processes
 * with timeouts, a worker pool, cross-thread posting, and deferred operations (xend_op).
 *
 * Everything here runs on the loop thread except xend_loop_post and the work functions
 * handed to the pool.
 */
#ifndef XEND_CORE_EVENT_LOOP_H
#define XEND_CORE_EVENT_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include <xend/loop.h>

struct event_base;

int xend_loop_init(unsigned workers, struct xend_err *err);
struct event_base *xend_loop_base(void);
/* Run until xend_loop_stop; returns after the loop exits. */
void xend_loop_run(void);
void xend_loop_stop(void);
/* After the loop stopped: run it until every worker job has completed on the loop, every
 * child has exited, every completion posted to the loop has run and busy(arg) (NULL: none)
 * is false, or timeout_ms passes (stop must not cut a save in half, nor leave a create's
 * last steps to run after the store or the backend are gone). */
void xend_loop_drain(uint64_t timeout_ms, bool (*busy)(void *arg), void *arg);
/* Join the workers, kill leftover children, free the base. */
void xend_loop_free(void);

const struct xend_host_loop *xend_loop_host_table(void);
/*
 * Undo everything `owner` (a plugin, never NULL) still has on the loop, so that none of its
 * code is called again: watches and timers removed, its children killed with their results
 * dropped, its queued jobs dropped and a running one waited for, its posted calls and
 * jobs' done calls dropped. For a plugin whose init failed or that is being stopped.
 */
void xend_loop_remove_owner(struct xend_plugin *owner);

/* Run fn(arg) on the loop thread soon. Any thread. */
int xend_loop_post(xend_work_fn *fn, void *arg);
/* Run work on a worker, then done on the loop. */
int xend_loop_work(xend_work_fn *work, xend_work_fn *done, void *arg);
uint64_t xend_loop_now_ms(void);
double xend_loop_wall_time(void);

/*
 * Deferred operations. The core creates an op with the function to call when it finishes
 * (always on a later loop turn, never inside op_complete, so callers need no re-entrancy
 * care) and a deadline; the op is handed to a plugin, which completes it. done receives
 * the rc and the op's error (borrowed for the call). After the deadline done runs with
 * -XEND_ETIMEDOUT and a later completion is ignored.
 */
typedef void xend_op_done_fn(int rc, const struct xend_err *err, void *arg);
struct xend_op *xend_op_new(const char *what, uint64_t timeout_ms, xend_op_done_fn *done,
                            void *arg);
void xend_op_complete(struct xend_op *op, int rc);
struct xend_err *xend_op_err(struct xend_op *op);

/* Signals: SIGTERM/SIGINT stop the loop; SIGHUP calls fn. */
void xend_loop_on_signals(void (*on_hup)(void));

#endif
