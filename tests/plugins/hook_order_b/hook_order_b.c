/*
 * Test plugin `hook_order_b`: like hook_order_a, and vetoes the CREATE of a domain named
 * "veto-b", so a test can see the core roll back the plugins whose CREATE had succeeded
 * (DESTROY with reason rollback, reversed) and not tell this one.
 */
#include <xend/host.h>
#include <xend/plugin.h>

#include "test_recorder.h"

static struct recorder b_rec = {.plugin = "hook_order_b", .veto_domain = "veto-b"};

static int hook_order_b_init(struct xend_plugin *self, const struct xend_host *host)
{
    return recorder_register(&b_rec, self, host, "/xend/test/hook_order_b");
}

XEND_PLUGIN(.name = "hook_order_b", .version = "1.0",
            .description = "test plugin: hook order, vetoes veto-b", .init = hook_order_b_init);
