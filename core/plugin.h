/*
 * The plugin loader's view for the rest of the core: the handle of a loaded plugin.
 * (The loader itself is core/loader.c.)
 */
#ifndef XEND_CORE_PLUGIN_H
#define XEND_CORE_PLUGIN_H

#include <xend/plugin.h>

/* The plugin's name ("vif"), or "core" for NULL (registrations the core makes itself). */
const char *xend_plugin_name(const struct xend_plugin *p);

#endif
