/*
 * Test plugin `init_fails_after_registering`: registers a route
 * (GET /xend/test/init_fails_after_registering) and CREATE/DESTROY hooks, then fails its
 * init. The core must remove both registrations and unload it; if a hook of this plugin
 * were ever called afterwards it would run unloaded code, so a test that survives proves
 * the removal.
 */
#include <xend/host.h>
#include <xend/plugin.h>

#include "test_recorder.h"

static struct recorder fails_rec = {.plugin = "init_fails_after_registering"};

static int fails_init(struct xend_plugin *self, const struct xend_host *host)
{
    int rc = recorder_register(&fails_rec, self, host, "/xend/test/init_fails_after_registering");
    if (rc < 0)
        return rc;
    host->plugin_err_set(self, "failing on purpose after registering");
    return -XEND_EINVAL;
}

XEND_PLUGIN(.name = "init_fails_after_registering", .version = "1.0",
            .description = "test plugin: init fails after registering", .init = fails_init);
