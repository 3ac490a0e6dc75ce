/*
 * Test plugin `newer_minor`: needs one ABI minor more than this tree speaks (a plugin built
 * against a newer xend). Refused before init, which therefore aborts if it ever runs.
 */
#include <stdlib.h>

#include <xend/plugin.h>

static int newer_minor_init(struct xend_plugin *self, const struct xend_host *host)
{
    (void)self;
    (void)host;
    abort();
}

/* Written out rather than XEND_PLUGIN(.abi_minor = ...): overriding a field the macro
 * sets is a -Woverride-init error. */
XEND_PLUGIN_EXPORT extern const struct xend_plugin_desc xend_plugin_desc;
const struct xend_plugin_desc xend_plugin_desc = {
    .magic = XEND_PLUGIN_MAGIC,
    .abi_major = XEND_ABI_MAJOR,
    .abi_minor = XEND_ABI_MINOR + 1,
    .size = sizeof(struct xend_plugin_desc),
    .name = "newer_minor",
    .version = "1.0",
    .init = newer_minor_init,
};
