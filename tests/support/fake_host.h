/*
 * A fake host table for plugin unit tests: a complete `struct xend_host` that runs without
 * the core, so a plugin's code can be compiled into a test and driven alone (collectd's
 * plugin_mock, made useful).
 *
 * What it does: config from fake_host_config_set; real SXP; log lines to stderr (and the
 * last one kept); routes, hooks, device classes, schedulers and backends recorded; fake
 * domains and devices made by the test; a small poll() loop for watches, timers, spawned
 * children and posted work; an in-memory store; events recorded and delivered.
 *
 * Not thread-safe except fake post(); one host per process (tests use setup/teardown).
 */
#ifndef XEND_TEST_FAKE_HOST_H
#define XEND_TEST_FAKE_HOST_H

#include <stdbool.h>
#include <stddef.h>

#include <xend/host.h>

/* Create the host (and a plugin handle named `plugin_name`); free everything with _free. */
const struct xend_host *fake_host_new(const char *plugin_name);
void fake_host_free(void);
struct xend_plugin *fake_host_self(void);

/* Load a plugin's descriptor and call its init with the fake host: 0 or its error. */
int fake_host_init_plugin(const struct xend_plugin_desc *desc);
void fake_host_fini_plugin(const struct xend_plugin_desc *desc);
/* The message init set with plugin_err_set, "" when none. */
const char *fake_host_plugin_err(void);

/* Config values, as text; looked-up keys are remembered. */
void fake_host_config_set(const char *key, const char *value);
void fake_host_dir_set(const char *which, const char *path); /* "state", "script", "bin" */

/* The last log line written (event and fields), for assertions. */
const char *fake_host_last_log(void);
/* True if some log line so far contains `needle`. */
bool fake_host_log_contains(const char *needle);

/* ---- domains and devices ---- */
struct xend_domain *fake_host_domain_add(uint32_t id, const char *name, const char *config_sxp);
void fake_host_domain_remove(struct xend_domain *dom);
void fake_host_domain_set_flags(struct xend_domain *dom, uint32_t flags);
/* The domain's current config (after config_set_take), borrowed. */
const struct xend_sxp *fake_host_domain_config(struct xend_domain *dom);

/* A device record as the core would make it; config is parsed from text. */
struct xend_device *fake_host_device_new(struct xend_domain *dom, const char *cls, uint32_t index,
                                         const char *config_sxp);
void fake_host_device_free(struct xend_device *dev);

/* Run the hooks registered for `point` on dom, as the core would (load order). */
int fake_host_run_hooks(enum xend_hook_point point, struct xend_domain *dom, int reason,
                        int shutdown_reason, struct xend_err *err);
/* Describers' output for dom, appended to a fresh (domain) list: owned. */
struct xend_sxp *fake_host_describe(struct xend_domain *dom);
/* How many times a plugin said what its kept describer prints changed. */
size_t fake_host_describe_changed(void);

/* ---- registrations ---- */
const struct xend_device_ops *fake_host_device_class(const char *name, void **ctx);
const struct xend_sched_ops *fake_host_sched(const char *name, void **ctx);
const struct xend_backend_ops *fake_host_backend(const char *name, void **ctx);
/* Make `name` (registered earlier) the backend host->hv() returns; calls its open(). */
int fake_host_backend_use(const char *name, struct xend_err *err);
/* Install a backend ops table directly (a test's own fake hypervisor). */
void fake_host_backend_set(const struct xend_backend_ops *ops, void *ctx);
size_t fake_host_route_count(void);
const struct xend_route *fake_host_route(const char *method, const char *path, const char *op);

/* host->access: every peer is admitted, unless a refusal is set (NULL or "" clears it). */
void fake_host_access_refuse(const char *msg);
/* How many times a plugin asked. */
size_t fake_host_access_checks(void);
/* What http->caller_role answers, for a request or none (enum xend_role; admin at start). */
void fake_host_caller_role_set(int role);

/* ---- HTTP requests ---- */
struct fake_reply {
    int rc;                /* handler's return (or complete()'s rc when deferred) */
    int status;            /* 0 = 200 */
    char *body;            /* printed SXP, or the raw body; owned by the reply */
    char *error;           /* the error message when rc < 0; owned */
    bool deferred_pending; /* deferred and not completed yet */
    /* A streaming reply: the request while the stream is open (NULL once ended), and the
     * bytes written so far (NUL-terminated; owned by the reply). */
    struct xend_request *streaming;
    char *stream;
    size_t stream_len;
};
/*
 * Call the route (method "GET"/"POST", path as registered, op or NULL) with args given as
 * "name=value" strings (NULL-terminated) and path captures as "name=value" strings in
 * `captures` (NULL-terminated or NULL), on `dom` for XEND_ROUTE_DOMAIN routes.
 */
int fake_host_request(const char *method, const char *path, const char *op, struct xend_domain *dom,
                      const char *const *captures, const char *const *args, struct fake_reply *out);
/* Run the loop until a deferred request completes (or timeout_ms passes): true if done. */
bool fake_host_request_wait(struct fake_reply *out, int timeout_ms);
void fake_reply_free(struct fake_reply *r);
/* The client of an open stream goes away: its on_close runs (stream_end is still owed). */
void fake_host_stream_close(struct fake_reply *out);
/* What http->stream_backlog answers for open streams (0 at start). */
void fake_host_stream_backlog_set(size_t bytes);

/* ---- ops (deferred operations) ---- */
struct xend_op *fake_host_op_new(void);
bool fake_host_op_done(const struct xend_op *op, int *rc);
const char *fake_host_op_msg(const struct xend_op *op);
/* Run the loop until op completes or timeout_ms passes; returns its rc (or ETIMEDOUT). */
int fake_host_op_wait(struct xend_op *op, int timeout_ms);
void fake_host_op_free(struct xend_op *op);

/* ---- loop ---- */
/* One iteration: wait up to timeout_ms for a watch, timer, child or posted work. */
void fake_host_loop_once(int timeout_ms);
/* Iterate until pred(arg) is true or timeout_ms passes; returns pred's last value. */
bool fake_host_loop_until(bool (*pred)(void *arg), void *arg, int timeout_ms);
/* Spawned children whose done callback has not run yet: a script that has written its output
 * may still be running, so a test that needs it finished waits for this to reach 0. */
size_t fake_host_children_running(void);

/* ---- events ---- */
size_t fake_host_event_count(const char *name);
/* The value of the last event named `name`, printed (borrowed), or NULL. */
const char *fake_host_event_last(const char *name);

#endif
