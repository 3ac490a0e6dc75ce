/*
 * Test plugin `wrong_major`: a descriptor written by hand (not with XEND_PLUGIN) that claims
 * the next ABI major. The loader must refuse it before any of its code runs, so init
 * aborts the process: a test that sees it run fails loudly.
 */
#include <stdlib.h>

#include <xend/plugin.h>

static int wrong_major_init(struct xend_plugin *self, const struct xend_host *host)
{
    (void)self;
    (void)host;
    abort();
}

XEND_PLUGIN_EXPORT extern const struct xend_plugin_desc xend_plugin_desc;
const struct xend_plugin_desc xend_plugin_desc = {
    .magic = XEND_PLUGIN_MAGIC,
    .abi_major = XEND_ABI_MAJOR + 1,
    .abi_minor = 0,
    .size = sizeof(struct xend_plugin_desc),
    .name = "wrong_major",
    .version = "9.9",
    .init = wrong_major_init,
};
