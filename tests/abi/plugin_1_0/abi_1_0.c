/*
 * Test plugin `abi_1_0`: compiled against the frozen ABI 1.0 headers (tests/abi/include-1.0),
 * never the current ones. Every later 1.x core must load it and run its route and hooks
 * (tests/unit/loader), which is the proof that the ABI only ever grew compatibly.
 */
#include <xend/host.h>
#include <xend/plugin.h>

#include "test_recorder.h"

#if XEND_ABI_MAJOR != 1 || XEND_ABI_MINOR != 0
#error "abi_1_0 must be built against tests/abi/include-1.0"
#endif

static struct recorder abi10_rec = {.plugin = "abi_1_0"};

static int abi10_physinfo(void *ctx, struct xend_physinfo *out, struct xend_err *err)
{
    (void)ctx;
    (void)err;
    out->nr_cpus = 1;
    return 0;
}

/* A 1.0 backend: its table ends where 1.0's did (mem_checksum); a later core must read the
 * ops added since as missing, never past the table. */
static const struct xend_backend_ops abi10_backend = {
    XEND_BACKEND_OPS_INIT,
    .name = "abi10",
    .priority = -100,
    .physinfo = abi10_physinfo,
};

static int abi10_init(struct xend_plugin *self, const struct xend_host *host)
{
    /* A 1.0 plugin may rely on a host of minor >= 0 having every 1.0 member. */
    if (host->abi_major != 1 || !XEND_HAS_MEMBER(host, plugin_err_set) ||
        !XEND_HAS_MEMBER(host->http, complete) || !XEND_HAS_MEMBER(host->domain, priv_set))
        return -XEND_EABI;
    int rc = host->backend->add(self, &abi10_backend, NULL);
    if (rc < 0)
        return rc;
    return recorder_register(&abi10_rec, self, host, "/xend/test/abi_1_0");
}

XEND_PLUGIN(.name = "abi_1_0", .version = "1.0", .description = "test plugin: built on ABI 1.0",
            .init = abi10_init);
