/*
 * Test plugin `hook_order_a`: records its CREATE and DESTROY hooks (log and
 * GET /xend/test/hook_order_a) so a test can see that up-hooks run in load order and
 * down-hooks in reverse. Never vetoes.
 */
#include <xend/host.h>
#include <xend/plugin.h>

#include "test_recorder.h"

static struct recorder a_rec = {.plugin = "hook_order_a"};

static int hook_order_a_init(struct xend_plugin *self, const struct xend_host *host)
{
    return recorder_register(&a_rec, self, host, "/xend/test/hook_order_a");
}

XEND_PLUGIN(.name = "hook_order_a", .version = "1.0", .description = "test plugin: hook order",
            .init = hook_order_a_init);
