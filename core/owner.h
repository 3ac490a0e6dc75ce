/*
 * Which plugin the running code belongs to, for the host functions that take no `self`
 * (loop->post): the loader enters a plugin around its init and fini, the loop around the
 * callbacks it dispatches to a plugin's timers, watches, children and work, and a worker
 * around the plugin's job it runs. Per thread, so a worker's post is its job's owner's.
 * NULL means the core.
 */
#ifndef XEND_CORE_OWNER_H
#define XEND_CORE_OWNER_H

struct xend_plugin;

struct xend_plugin *xend_owner_current(void);
/* Make p current on this thread; returns the previous one, for xend_owner_leave. */
struct xend_plugin *xend_owner_enter(struct xend_plugin *p);
void xend_owner_leave(struct xend_plugin *prev);

#endif
