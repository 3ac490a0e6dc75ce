/*
 * Plugin records in the store (see store_plugin.h). Namespaces are derived from the
 * plugin's name so that one plugin can never read or clobber another's records.
 */
#include "store_plugin.h"

#include <stdio.h>

#include "owner.h"
#include "store/store.h"

static struct xend_store *plugin_store;

void xend_store_plugin_init(struct xend_store *store)
{
    plugin_store = store;
}

static int ns_of(struct xend_plugin *self, char *ns, size_t len, struct xend_err *err)
{
    snprintf(ns, len, "plugin-%s", xend_plugin_name(self));
    if (plugin_store == NULL)
        return xend_err_set(err, XEND_EIO, "the store is not open");
    if (!xend_store_ns_valid(ns))
        return xend_err_set(err, XEND_EINVAL, "plugin name %s cannot name a store namespace",
                            xend_plugin_name(self));
    return 0;
}

static int put(struct xend_plugin *self, const char *key, const struct xend_sxp *value,
               struct xend_err *err)
{
    char ns[96];
    int rc = ns_of(self, ns, sizeof(ns), err);
    return rc < 0 ? rc : xend_store_put_sync(plugin_store, ns, key, value, err);
}

static int get(struct xend_plugin *self, const char *key, struct xend_sxp **out,
               struct xend_err *err)
{
    char ns[96];
    int rc = ns_of(self, ns, sizeof(ns), err);
    return rc < 0 ? rc : xend_store_get(plugin_store, ns, key, out, err);
}

static int del(struct xend_plugin *self, const char *key, struct xend_err *err)
{
    char ns[96];
    int rc = ns_of(self, ns, sizeof(ns), err);
    return rc < 0 ? rc : xend_store_del_sync(plugin_store, ns, key, err);
}

static int foreach (struct xend_plugin *self, xend_store_fn * fn, void *arg)
{
    char ns[96];
    struct xend_err err = {0};
    int rc = ns_of(self, ns, sizeof(ns), &err);
    if (rc < 0)
        return rc;
    rc = xend_store_load(plugin_store, ns, fn, arg, &err);
    return rc < 0 ? rc : 0;
}

static const struct xend_host_store table = {
    .size = sizeof(struct xend_host_store),
    .put = put,
    .get = get,
    .del = del,
    .foreach = foreach,
};

const struct xend_host_store *xend_store_plugin_host_table(void)
{
    return &table;
}
