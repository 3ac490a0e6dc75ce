/*
 * host->store for plugins: records under the plugin's own namespace (plugin-NAME) of the
 * persistent store, written synchronously so that put returns only once durable.
 */
#ifndef XEND_CORE_STORE_PLUGIN_H
#define XEND_CORE_STORE_PLUGIN_H

#include <xend/host.h>

struct xend_store;

void xend_store_plugin_init(struct xend_store *store);
const struct xend_host_store *xend_store_plugin_host_table(void);

#endif
