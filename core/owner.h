/*
 * The owner of registrations: a plugin as every part of the core knows it (its name, for
 * logs and refusals), and which plugin the running code belongs to, for the host functions
 * that take no `self` (loop->post): the loader enters a plugin around its init and fini,
 * the loop around the callbacks it dispatches to a plugin's timers, watches, children and
 * work, and a worker around the plugin's job it runs. Per thread, so a worker's post is its
 * job's owner's. NULL means the core.
 *
 * The registries below the loader name a plugin through here, never through the loader,
 * which stands above them (docs/ARCHITECTURE.md, "Layers").
 */
#ifndef XEND_CORE_OWNER_H
#define XEND_CORE_OWNER_H

#include <xend/plugin.h>

/* A plugin's handle, named `name`; owned by the caller (the loader), xend_owner_free. */
struct xend_plugin *xend_owner_new(const char *name);
void xend_owner_rename(struct xend_plugin *p, const char *name);
void xend_owner_free(struct xend_plugin *p);
/* The plugin's name ("vif"), or "core" for NULL (registrations the core makes itself). */
const char *xend_plugin_name(const struct xend_plugin *p);

struct xend_plugin *xend_owner_current(void);
/* Make p current on this thread; returns the previous one, for xend_owner_leave. */
struct xend_plugin *xend_owner_enter(struct xend_plugin *p);
void xend_owner_leave(struct xend_plugin *prev);

#endif
