/*
 * The host table handed to plugins, assembled from every part of the core, and the one
 * place that knows every registry, so that a plugin's registrations can be dropped
 * together (failed init, stop).
 */
#ifndef XEND_CORE_HOST_TABLE_H
#define XEND_CORE_HOST_TABLE_H

#include <xend/host.h>

struct xend_config;

/* Build the table; cfg is borrowed for the life of the process. */
const struct xend_host *xend_host_table(struct xend_config *cfg);
/* Remove every registration owned by p from every registry. */
void xend_host_remove_owner(struct xend_plugin *p);
/* The message a plugin set with plugin_err_set during init (loader use). */
void xend_host_plugin_err_reset(void);
const char *xend_host_plugin_err(void);

/* Directories: "state", "script", "bin"; set once at start. */
void xend_host_set_dir(const char *which, const char *path);
const char *xend_host_dir(const char *which);

#endif
