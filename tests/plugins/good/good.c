/*
 * Test plugin `good`: a well-formed plugin that registers GET /xend/test/good and CREATE and
 * DESTROY hooks recording what it saw, proving route registration and hook delivery. It
 * must never do anything a test does not read back.
 */
#include <xend/host.h>
#include <xend/plugin.h>

#include "test_recorder.h"

static struct recorder good_rec = {.plugin = "good"};

static int good_init(struct xend_plugin *self, const struct xend_host *host)
{
    return recorder_register(&good_rec, self, host, "/xend/test/good");
}

XEND_PLUGIN(.name = "good", .version = "1.2.3", .description = "test plugin: route and hooks",
            .license = "GPL-2.0", .init = good_init);
