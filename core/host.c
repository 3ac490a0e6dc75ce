/*
 * The host table handed to plugins (see host_table.h): each sub-table comes from the part that
 * owns it; this file only assembles them and knows every registry for owner cleanup.
 */
#include "host_table.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "device_registry.h"
#include "domain_table.h"
#include "domain_http.h"
#include "event/event.h"
#include "http/access_control.h"
#include "http/server.h"
#include "hv.h"
#include "lifecycle.h"
#include "log/log.h"
#include "event_loop.h"
#include "owner.h"
#include "scheduler.h"
#include "scheduler_http.h"
#include "store_plugin.h"
#include "sxp.h"

static struct {
    struct xend_config *cfg;
    char plugin_err[512];
    char dirs[3][4096];
} HS;

static int dir_index(const char *which)
{
    if (strcmp(which, "state") == 0)
        return 0;
    if (strcmp(which, "script") == 0)
        return 1;
    if (strcmp(which, "bin") == 0)
        return 2;
    return -1;
}

void xend_host_set_dir(const char *which, const char *path)
{
    int i = dir_index(which);
    if (i >= 0)
        snprintf(HS.dirs[i], sizeof(HS.dirs[i]), "%s", path);
}

const char *xend_host_dir(const char *which)
{
    int i = dir_index(which);
    return i >= 0 ? HS.dirs[i] : "";
}

/* ---- log ---- */
static void log_emit(struct xend_plugin *self, enum xend_log_level level, const char *event,
                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    xend_log_vemit(xend_plugin_name(self), level, event, fmt, ap);
    va_end(ap);
}

static const struct xend_host_log log_table = {.size = sizeof(struct xend_host_log),
                                               .emit = log_emit};

/* ---- config ---- */
static int cfg_str(struct xend_plugin *self, const char *key, const char *dflt, const char **out,
                   struct xend_err *err)
{
    (void)self;
    return xend_config_get_str(HS.cfg, key, dflt, out, err);
}

static int cfg_int(struct xend_plugin *self, const char *key, long long dflt, long long min,
                   long long max, long long *out, struct xend_err *err)
{
    (void)self;
    return xend_config_get_int(HS.cfg, key, dflt, min, max, out, err);
}

static int cfg_bool(struct xend_plugin *self, const char *key, bool dflt, bool *out,
                    struct xend_err *err)
{
    (void)self;
    return xend_config_get_bool(HS.cfg, key, dflt, out, err);
}

static const struct xend_host_config config_table = {
    .size = sizeof(struct xend_host_config),
    .get_str = cfg_str,
    .get_int = cfg_int,
    .get_bool = cfg_bool,
    .dir = xend_host_dir,
};

/* ---- the rest ---- */
static void plugin_err_set(struct xend_plugin *self, const char *fmt, ...)
{
    (void)self;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(HS.plugin_err, sizeof(HS.plugin_err), fmt, ap);
    va_end(ap);
}

void xend_host_plugin_err_reset(void)
{
    HS.plugin_err[0] = '\0';
}

const char *xend_host_plugin_err(void)
{
    return HS.plugin_err;
}

static struct xend_host host;
static struct xend_host_domain domain_table;

const struct xend_host *xend_host_table(struct xend_config *cfg)
{
    HS.cfg = cfg;
    /* What a part below needs from a part above is handed down here, where every part is
     * known: the domain table's config change persists (the lifecycle's), and each device
     * class a plugin adds gets its HTTP routes. */
    domain_table = *xend_domain_host_table();
    domain_table.config_set_take = xend_lifecycle_config_set_take;
    xend_domain_http_watch_classes();
    host = (struct xend_host){
        .size = sizeof(struct xend_host),
        .abi_major = XEND_ABI_MAJOR,
        .abi_minor = XEND_ABI_MINOR,
        .log = &log_table,
        .config = &config_table,
        .sxp = &xend_sxp_host_table,
        .http = xend_http_host_table(),
        .domain = &domain_table,
        .device = xend_device_host_table(),
        .sched = xend_sched_http_host_table(),
        .backend = xend_hv_host_table(),
        .loop = xend_loop_host_table(),
        .store = xend_store_plugin_host_table(),
        .event = xend_event_host_table(),
        .hv = xend_hv,
        .plugin_err_set = plugin_err_set,
        .access = xend_http_access_host_table(),
    };
    return &host;
}

void xend_host_remove_owner(struct xend_plugin *p)
{
    xend_http_routes_remove_owner(p);
    xend_domain_remove_owner(p);
    xend_device_remove_owner(p);
    xend_sched_http_remove_owner(p);
    xend_sched_remove_owner(p);
    xend_hv_remove_owner(p);
    xend_event_unsubscribe_owner(p);
    xend_loop_remove_owner(p); /* last: a destructor above may still remove its own watches */
}
