/*
 * Test plugin `two_symbols`: a working plugin that exports a second symbol besides
 * xend_plugin_desc. The loader accepts it (it cannot tell), but the build's symbol check
 * (check_plugin_symbols.sh) must reject it: this plugin proves that check can fail.
 */
#include <xend/host.h>
#include <xend/plugin.h>

XEND_PLUGIN_EXPORT int two_symbols_leaked(void);
int two_symbols_leaked(void)
{
    return 42;
}

static int two_symbols_init(struct xend_plugin *self, const struct xend_host *host)
{
    (void)self;
    (void)host;
    return 0;
}

XEND_PLUGIN(.name = "two_symbols", .version = "1.0", .init = two_symbols_init);
