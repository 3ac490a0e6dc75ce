/*
 * Test plugin `uses_core_symbol`: calls a function of xend's core directly instead of
 * through the host table, and is linked without --no-undefined so the build lets it
 * through. The symbol check (check_plugin_symbols.sh) must reject it; never loaded.
 */
#include <xend/host.h>
#include <xend/plugin.h>

/* Declared by hand: a plugin cannot include core headers, which is part of the point. */
void xend_log_emit(const char *source, enum xend_log_level level, const char *event,
                   const char *fmt, ...);

static int uses_core_symbol_init(struct xend_plugin *self, const struct xend_host *host)
{
    (void)self;
    (void)host;
    xend_log_emit("uses_core_symbol", XEND_LOG_INFO, "bypassing the host table", NULL);
    return 0;
}

XEND_PLUGIN(.name = "uses_core_symbol", .version = "1.0", .init = uses_core_symbol_init);
