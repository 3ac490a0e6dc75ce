/*
 * Test plugin `route_conflict`: registers GET /xend/test/good, which the plugin `good`
 * already owns. The core refuses the route (naming both plugins); this plugin then fails
 * its init with that code, and `good` must keep its route.
 */
#include <xend/host.h>
#include <xend/plugin.h>

#include "test_recorder.h"

static struct recorder conflict_rec = {.plugin = "route_conflict"};

static int route_conflict_init(struct xend_plugin *self, const struct xend_host *host)
{
    return recorder_register(&conflict_rec, self, host, "/xend/test/good");
}

XEND_PLUGIN(.name = "route_conflict", .version = "1.0",
            .description = "test plugin: takes good's route", .init = route_conflict_init);
