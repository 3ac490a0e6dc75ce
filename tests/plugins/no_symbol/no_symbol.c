/*
 * Test plugin `no_symbol`: a shared object that exports no xend_plugin_desc (only a
 * misspelt one), as a library dropped into the plugin dir by mistake. Refused.
 */
#include <xend/plugin.h>

XEND_PLUGIN_EXPORT extern const int xend_plugin_descriptor;
const int xend_plugin_descriptor = 1;
