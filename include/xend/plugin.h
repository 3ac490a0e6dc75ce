/*
 * What a plugin implements: its descriptor, and the init/fini contract.
 *
 * A plugin is a shared object that exports exactly one symbol, `xend_plugin_desc`, defined
 * with XEND_PLUGIN(...). The core checks magic, ABI major, ABI minor and size before any
 * plugin code runs, then calls init() with the host table. Plugins must not use
 * constructors: dlopen would run them before the check.
 *
 *   static int vif_init(struct xend_plugin *self, const struct xend_host *host) { ... }
 *   XEND_PLUGIN(.name = "vif", .version = "1.0", .description = "virtual network interfaces",
 *               .init = vif_init);
 *
 * init() registers what the plugin provides and returns 0 or a negative XEND_E code (with
 * host->plugin_err_set for the message). On failure the core removes every registration
 * owned by `self` and never calls the plugin again. After a successful init a plugin stays
 * loaded until the process exits. fini() (optional) runs at xend stop, in reverse load
 * order; the core then drops whatever the plugin left registered.
 */
#ifndef XEND_PLUGIN_H
#define XEND_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include <xend/abi.h>

#ifdef __cplusplus
extern "C" {
#endif

#define XEND_PLUGIN_MAGIC 0x58454e44u /* "XEND" */

struct xend_plugin; /* the core's handle for one loaded plugin: opaque */
struct xend_host;

typedef int xend_plugin_init_fn(struct xend_plugin *self, const struct xend_host *host);
typedef void xend_plugin_fini_fn(struct xend_plugin *self);

struct xend_plugin_desc {
    uint32_t magic;     /* XEND_PLUGIN_MAGIC */
    uint32_t abi_major; /* must equal the core's XEND_ABI_MAJOR */
    uint32_t abi_minor; /* the least minor the plugin needs; the core's must be >= */
    uint32_t size;      /* sizeof(struct xend_plugin_desc) as compiled */
    const char *name;   /* unique among loaded plugins: "vif", "sched-bvt" */
    const char *version;
    const char *description; /* one line */
    const char *license;
    xend_plugin_init_fn *init;
    xend_plugin_fini_fn *fini; /* may be NULL */
};

#if defined(__GNUC__)
#define XEND_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define XEND_PLUGIN_EXPORT
#endif

/*
 * The least ABI minor the plugin needs, stamped into its descriptor. By default the minor
 * of the headers it is built against, which is always safe. A plugin that touches nothing
 * newer than minor N, or reads every newer member only after an XEND_HAS_MEMBER check,
 * loads on older 1.x cores too when it defines XEND_PLUGIN_ABI_MINOR to N before including
 * this header (or on its compiler's command line); the scheduler plugins, pure data, say 0.
 */
#ifndef XEND_PLUGIN_ABI_MINOR
#define XEND_PLUGIN_ABI_MINOR XEND_ABI_MINOR
#endif
#if XEND_PLUGIN_ABI_MINOR > XEND_ABI_MINOR
#error "XEND_PLUGIN_ABI_MINOR names a minor newer than these headers"
#endif

/* Define the plugin's descriptor: major from the headers, minor XEND_PLUGIN_ABI_MINOR. */
#define XEND_PLUGIN(...)                                                                           \
    XEND_PLUGIN_EXPORT extern const struct xend_plugin_desc xend_plugin_desc;                      \
    const struct xend_plugin_desc xend_plugin_desc = {.magic = XEND_PLUGIN_MAGIC,                  \
                                                      .abi_major = XEND_ABI_MAJOR,                 \
                                                      .abi_minor = XEND_PLUGIN_ABI_MINOR,          \
                                                      .size = sizeof(struct xend_plugin_desc),     \
                                                      __VA_ARGS__}

#ifdef __cplusplus
}
#endif
#endif
