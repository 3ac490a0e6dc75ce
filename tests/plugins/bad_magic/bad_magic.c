/*
 * Test plugin `bad_magic`: exports xend_plugin_desc, but it is not a descriptor (wrong
 * magic), as when an unrelated object happens to use the name. Refused before init.
 */
#include <stdlib.h>

#include <xend/plugin.h>

static int bad_magic_init(struct xend_plugin *self, const struct xend_host *host)
{
    (void)self;
    (void)host;
    abort();
}

XEND_PLUGIN_EXPORT extern const struct xend_plugin_desc xend_plugin_desc;
const struct xend_plugin_desc xend_plugin_desc = {
    .magic = 0xdeadbeefu,
    .abi_major = XEND_ABI_MAJOR,
    .abi_minor = XEND_ABI_MINOR,
    .size = sizeof(struct xend_plugin_desc),
    .name = "bad_magic",
    .init = bad_magic_init,
};
