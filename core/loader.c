/*
 * The plugin loader (see loader.h). Order of checks, each refusal logged with the file and
 * the reason: trust (a regular file, owned by root or xend's user, and it and every
 * directory up to / writable by nobody else: plugin_trust.h), dlopen, the xend_plugin_desc
 * symbol, magic, ABI major, ABI minor, size, duplicate name, init. Nothing of a file that
 * fails the trust check is opened, so its constructors never run; no plugin code runs
 * before the descriptor has passed, which is why plugins must not have constructors.
 *
 * Backend plugins that were not chosen are unloaded once the backend is open
 * (xend_loader_unload_unused_backends): hv-xenctrl alone maps libxenctrl, libxenguest and
 * their compressors, ~680 kB of xend's resident memory on a sim host. Which plugin
 * registered which backend is the backend registry's to say (hv.c); no plugin that is in
 * use is ever unloaded.
 */
#include "loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "host_table.h"
#include "hv.h"
#include "log/log.h"
#include "owner.h"
#include "plugin_trust.h"
#include "sxp.h"

/* The size of the 1.0 descriptor: any plugin of this major has at least these fields. */
#define DESC_SIZE_1_0 (offsetof(struct xend_plugin_desc, fini) + sizeof(xend_plugin_fini_fn *))

/* The loader's record of a plugin file; the plugin as every part knows it is `self`
 * (owner.h), which names it. */
struct plugin_rec {
    struct plugin_rec *next;
    struct xend_plugin *self; /* owned */
    char *file;
    const struct xend_plugin_desc *desc; /* NULL when refused before the check passed */
    void *dl;
    bool loaded;
    bool unloaded;                 /* a backend that was not chosen: stopped and dlclosed */
    unsigned abi_major, abi_minor; /* kept for the listing once desc is gone */
    char reason[256];
};

static struct plugin_rec *plugins, **plugins_tail = &plugins;

/* Named after its file until its descriptor names it. */
static struct plugin_rec *record_new(const char *path)
{
    struct plugin_rec *p = xend_xcalloc(1, sizeof(*p));
    p->file = xend_xstrdup(path);
    const char *base = strrchr(path, '/');
    char name[64];
    snprintf(name, sizeof(name), "%s", base ? base + 1 : path);
    char *dot = strstr(name, ".so");
    if (dot)
        *dot = '\0';
    p->self = xend_owner_new(name);
    *plugins_tail = p;
    plugins_tail = &p->next;
    return p;
}

static int refuse(struct plugin_rec *p, struct xend_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int refuse(struct plugin_rec *p, struct xend_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->reason, sizeof(p->reason), fmt, ap);
    va_end(ap);
    xend_log_error("plugin refused", "file=%s reason=\"%s\"", p->file, p->reason);
    if (p->dl) {
        dlclose(p->dl);
        p->dl = NULL;
    }
    p->desc = NULL;
    return xend_err_set(err, code, "plugin %s: %s", p->file, p->reason);
}

static bool name_taken(const struct plugin_rec *self, const char *name)
{
    for (const struct plugin_rec *q = plugins; q; q = q->next)
        if (q != self && q->loaded && strcmp(xend_plugin_name(q->self), name) == 0)
            return true;
    return false;
}

int xend_loader_load_file(const char *path, const struct xend_host *host, struct xend_err *err)
{
    struct plugin_rec *p = record_new(path);
    char why[sizeof(p->reason)];
    if (xend_plugin_trust_file(path, why, sizeof(why)) < 0)
        return refuse(p, err, XEND_EPERM, "not trusted: %s", why);
    p->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (p->dl == NULL)
        return refuse(p, err, XEND_EIO, "dlopen failed: %s", dlerror());
    const struct xend_plugin_desc *d = dlsym(p->dl, "xend_plugin_desc");
    if (d == NULL)
        return refuse(p, err, XEND_EABI, "no xend_plugin_desc symbol");
    if (d->magic != XEND_PLUGIN_MAGIC)
        return refuse(p, err, XEND_EABI, "bad magic 0x%08x in xend_plugin_desc", d->magic);
    if (d->abi_major != XEND_ABI_MAJOR)
        return refuse(p, err, XEND_EABI, "built for ABI %u.x, this xend speaks %d.%d", d->abi_major,
                      XEND_ABI_MAJOR, XEND_ABI_MINOR);
    if (d->abi_minor > XEND_ABI_MINOR)
        return refuse(p, err, XEND_EABI, "needs ABI %u.%u, this xend speaks %d.%d", d->abi_major,
                      d->abi_minor, XEND_ABI_MAJOR, XEND_ABI_MINOR);
    if (d->size < DESC_SIZE_1_0)
        return refuse(p, err, XEND_EABI, "descriptor too small (%u bytes)", d->size);
    if (d->name == NULL || d->name[0] == '\0' || d->init == NULL)
        return refuse(p, err, XEND_EABI, "descriptor without name or init");
    if (name_taken(p, d->name))
        return refuse(p, err, XEND_EEXIST, "a plugin named %s is already loaded", d->name);
    xend_owner_rename(p->self, d->name);
    p->desc = d;

    xend_host_plugin_err_reset();
    /* host->loop->post takes no self: what init posts is p's (owner.h). */
    struct xend_plugin *prev = xend_owner_enter(p->self);
    int rc = d->init(p->self, host);
    xend_owner_leave(prev);
    if (rc < 0) {
        xend_host_remove_owner(p->self);
        const char *msg = xend_host_plugin_err();
        return refuse(p, err, -rc, "init failed: %s%s%s", xend_strerror(rc), *msg ? ": " : "", msg);
    }
    p->loaded = true;
    xend_log_info("plugin loaded", "plugin=%s file=%s version=%s abi=%u.%u",
                  xend_plugin_name(p->self), p->file, d->version ? d->version : "?", d->abi_major,
                  d->abi_minor);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t xend_loader_load_dir(const char *dir, const char *const *only, size_t n_only,
                            const struct xend_host *host)
{
    size_t loaded = 0;
    char **names = NULL;
    size_t n = 0;
    if (n_only > 0) {
        names = xend_xcalloc(n_only, sizeof(*names));
        for (size_t i = 0; i < n_only; i++)
            names[n++] =
                strstr(only[i], ".so") ? xend_xstrdup(only[i]) : xend_xasprintf("%s.so", only[i]);
    } else {
        char why[256];
        if (xend_plugin_trust_dir(dir, why, sizeof(why)) < 0) {
            /* Each file would be refused for the same reason: say it once, open nothing. */
            xend_log_error("plugin dir refused", "dir=%s reason=\"%s\"", dir, why);
            return 0;
        }
        DIR *d = opendir(dir);
        if (d == NULL) {
            xend_log_error("plugin dir unreadable", "dir=%s", dir);
            return 0;
        }
        size_t cap = 0;
        for (struct dirent *e; (e = readdir(d)) != NULL;) {
            size_t len = strlen(e->d_name);
            if (len < 4 || strcmp(e->d_name + len - 3, ".so") != 0)
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                names = xend_xrealloc(names, cap * sizeof(*names));
            }
            names[n++] = xend_xstrdup(e->d_name);
        }
        closedir(d);
        if (n)
            qsort(names, n, sizeof(*names), cmp_str);
    }
    for (size_t i = 0; i < n; i++) {
        char *path =
            names[i][0] == '/' ? xend_xstrdup(names[i]) : xend_xasprintf("%s/%s", dir, names[i]);
        struct xend_err err = {0};
        if (xend_loader_load_file(path, host, &err) == 0)
            loaded++;
        free(path);
        free(names[i]);
    }
    free(names);
    return loaded;
}

/* A loaded plugin's teardown: its fini, then everything it registered. */
static void plugin_stop(struct plugin_rec *p)
{
    if (p->desc->fini) {
        struct xend_plugin *prev = xend_owner_enter(p->self);
        p->desc->fini(p->self);
        xend_owner_leave(prev);
    }
    xend_host_remove_owner(p->self);
    p->loaded = false;
}

void xend_loader_fini_all(void)
{
    /* Reverse load order: collect, then walk backwards. */
    size_t n = 0;
    for (struct plugin_rec *p = plugins; p; p = p->next)
        n++;
    struct plugin_rec **v = xend_xcalloc(n ? n : 1, sizeof(*v));
    n = 0;
    for (struct plugin_rec *p = plugins; p; p = p->next)
        v[n++] = p;
    while (n-- > 0) {
        struct plugin_rec *p = v[n];
        if (!p->loaded)
            continue;
        plugin_stop(p);
        snprintf(p->reason, sizeof(p->reason), "stopped");
    }
    free(v);
}

/*
 * Once the backend is open: stop and dlclose every plugin that registered a backend and
 * none of them the open one. Such a plugin has done nothing but register (its backend was
 * never opened), so the same teardown as at exit (fini, then its registrations) leaves no
 * pointer into its code; its config keys were looked up at init and stay known. Returns
 * the number unloaded.
 */
size_t xend_loader_unload_unused_backends(void)
{
    const struct xend_backend_ops *open = xend_hv(NULL);
    if (open == NULL)
        return 0;
    size_t unloaded = 0;
    for (struct plugin_rec *p = plugins; p; p = p->next) {
        if (!p->loaded || p->dl == NULL || !xend_hv_owns_only_closed(p->self))
            continue;
        plugin_stop(p);
        p->unloaded = true;
        p->abi_major = p->desc->abi_major;
        p->abi_minor = p->desc->abi_minor;
        p->desc = NULL; /* it lives in the file about to go */
        snprintf(p->reason, sizeof(p->reason), "backend %s is the one in use", open->name);
        dlclose(p->dl);
        p->dl = NULL;
        xend_log_info("plugin unloaded", "plugin=%s file=%s reason=\"%s\"",
                      xend_plugin_name(p->self), p->file, p->reason);
        unloaded++;
    }
    return unloaded;
}

struct xend_sxp *xend_loader_describe(void)
{
    struct xend_sxp *l = xend_sxp_list_of("plugins", NULL);
    for (struct plugin_rec *p = plugins; p; p = p->next) {
        struct xend_sxp *e = xend_sxp_list_of("plugin", NULL);
        xend_sxp_add_kv(e, "name", xend_plugin_name(p->self));
        xend_sxp_add_kv(e, "file", p->file);
        if (p->desc) {
            xend_sxp_add_kv(e, "version", p->desc->version ? p->desc->version : "");
            xend_sxp_add_kv_take(
                e, "abi", xend_sxp_atom_fmt("%u.%u", p->desc->abi_major, p->desc->abi_minor));
            if (p->desc->description)
                xend_sxp_add_kv(e, "description", p->desc->description);
        } else if (p->unloaded) {
            xend_sxp_add_kv_take(e, "abi", xend_sxp_atom_fmt("%u.%u", p->abi_major, p->abi_minor));
        }
        xend_sxp_add_kv(e, "status", p->loaded ? "loaded" : p->unloaded ? "unloaded" : "refused");
        if (!p->loaded && p->reason[0])
            xend_sxp_add_kv(e, "reason", p->reason);
        xend_sxp_append_take(l, e);
    }
    return l;
}

void xend_loader_free(void)
{
    /* Loaded plugins are never dlclosed (their code may still be referenced by libc
     * atexit handlers or thread-local destructors); only the records go. */
    while (plugins) {
        struct plugin_rec *p = plugins;
        plugins = p->next;
        free(p->file);
        xend_owner_free(p->self);
        free(p);
    }
    plugins_tail = &plugins;
}
