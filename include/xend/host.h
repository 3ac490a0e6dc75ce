/*
 * What a plugin may call: the host table handed to init().
 *
 * `struct xend_host` and every sub-table begin with `size`; members are only ever appended
 * (a removed service stays as a stub returning -XEND_ENOTSUP until the next major). A
 * plugin that declared minor N may call everything that existed at N; for anything newer
 * it checks XEND_HAS_MEMBER(table, member) first. The tables are owned by the core and
 * valid until the plugin's fini returns.
 *
 * Threads: all callbacks run on the loop thread; all host functions are loop-thread-only
 * except log->emit and loop->post, which any thread may call.
 */
#ifndef XEND_HOST_H
#define XEND_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xend/abi.h>
#include <xend/access.h>
#include <xend/backend.h>
#include <xend/device.h>
#include <xend/domain.h>
#include <xend/http.h>
#include <xend/loop.h>
#include <xend/plugin.h>
#include <xend/sched.h>
#include <xend/sxp.h>

#ifdef __cplusplus
extern "C" {
#endif

struct xend_host_log {
    size_t size;
    /*
     * One log line: `event` is a short fixed phrase ("vif up"), the format yields
     * key=value pairs ("domain=vm1 vif=vif5.0"); the core adds time, level and
     * plugin=NAME. Any thread.
     */
    void (*emit)(struct xend_plugin *self, enum xend_log_level level, const char *event,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
};

/*
 * Configuration: the xend config file, read once at start. Every key a plugin looks up
 * becomes a known key; after all plugins are initialised, a key nobody knows is a startup
 * error naming the file and line. Lookups with a wrong type or an out-of-range value
 * return -XEND_EINVAL with err naming file, line and key.
 */
struct xend_host_config {
    size_t size;
    /* String setting; *out borrowed for the life of the process. */
    int (*get_str)(struct xend_plugin *self, const char *key, const char *dflt, const char **out,
                   struct xend_err *err);
    int (*get_int)(struct xend_plugin *self, const char *key, long long dflt, long long min,
                   long long max, long long *out, struct xend_err *err);
    /* Accepts true/false and the strings "yes"/"no"/"on"/"off"/"1"/"0". */
    int (*get_bool)(struct xend_plugin *self, const char *key, bool dflt, bool *out,
                    struct xend_err *err);
    /* A directory of xend's: "state" (state-dir), "script" (script-dir), "bin" (where the
     * xend binary lives). Borrowed. */
    const char *(*dir)(const char *which);
};

/*
 * Plugin records in the persistent store, under the plugin's own namespace; written
 * crash-safely (temp file, fsync, rename, directory fsync) before put returns.
 */
typedef void xend_store_fn(const char *key, const struct xend_sxp *value, void *arg);

struct xend_host_store {
    size_t size;
    /* Keys are [A-Za-z0-9_.-]+. value is borrowed. */
    int (*put)(struct xend_plugin *self, const char *key, const struct xend_sxp *value,
               struct xend_err *err);
    /* *out owned (sxp->free); -XEND_ENOENT when absent. */
    int (*get)(struct xend_plugin *self, const char *key, struct xend_sxp **out,
               struct xend_err *err);
    int (*del)(struct xend_plugin *self, const char *key, struct xend_err *err);
    /* Every record of the plugin, values borrowed for the call. */
    int (*foreach)(struct xend_plugin *self, xend_store_fn *fn, void *arg);
};

/*
 * The event bus: names like xend.domain.create (as Xen 2.0's; docs/http.md, "Events"), values SXP.
 * Subscribers get every event whose name matches the pattern ("xend.domain.*", "*").
 */
typedef void xend_event_fn(const char *name, const struct xend_sxp *value, void *arg);

struct xend_host_event {
    size_t size;
    /* Deliver now to every subscriber; value borrowed. */
    void (*emit)(const char *name, const struct xend_sxp *value);
    int (*subscribe)(struct xend_plugin *self, const char *pattern, xend_event_fn *fn, void *arg);
    int (*unsubscribe)(struct xend_plugin *self, const char *pattern, xend_event_fn *fn, void *arg);
};

struct xend_host {
    size_t size;
    uint32_t abi_major; /* what the running core speaks */
    uint32_t abi_minor;

    const struct xend_host_log *log;
    const struct xend_host_config *config;
    const struct xend_host_sxp *sxp;
    const struct xend_host_http *http;
    const struct xend_host_domain *domain;
    const struct xend_host_device *device;
    const struct xend_host_sched *sched;
    const struct xend_host_backend *backend;
    const struct xend_host_loop *loop;
    const struct xend_host_store *store;
    const struct xend_host_event *event;

    /* The backend xend runs on, once one is open (after all plugins are initialised):
     * its ops (borrowed) and *ctx; NULL before. */
    const struct xend_backend_ops *(*hv)(void **ctx);
    /* Set the message explaining why init failed; logged with the plugin's name. */
    void (*plugin_err_set)(struct xend_plugin *self, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

    /* 1.3: the identity check for a plugin's own listeners (access.h). */
    const struct xend_host_access *access;
};

#ifdef __cplusplus
}
#endif
#endif
