/*
 * The /xend/domain resource of docs/http.md: list, create, restore, info, and the domain
 * ops. Handlers only read arguments, call the lifecycle and shape replies; validation and
 * every state change live in lifecycle/, devices in device.c.
 */
#include "domain_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "confine.h"
#include "create_check.h"
#include "crashpoint.h"
#include "device_registry.h"
#include "domain_table.h"
#include "gather.h"
#include "http/server.h"
#include "hv.h"
#include "lane.h"
#include "lifecycle.h"
#include "sxp_json.h"
#include "transfer.h"
#include "log/log.h"

static const struct xend_host_http *http;

/* Domain starts (create, restore) in progress at once; the rest wait (lib/lane.h). */
static struct xend_lane starts = {.limit = XEND_DOMAIN_STARTS_DEFAULT, .tail = &starts.head};
static bool starts_stopped; /* xend stops: a start that comes now is refused */

/* ---- replies shared by the deferred ops ---- */

static void reply_info(struct xend_request *req, int status, struct xend_domain *dom)
{
    struct xend_buf b = XEND_BUF_INIT;
    /* An info is about 500 bytes: one allocation, not five. Kept under glibc's large-chunk
     * size (1 KB), whose allocation consolidates the heap first. */
    xend_buf_reserve(&b, 960);
    xend_domain_info_print(dom, &b);
    xend_http_reply_sxp_text(req, status, &b);
}

static void reply_done(int rc, const struct xend_err *err, struct xend_domain *dom, void *arg)
{
    struct xend_request *req = arg;
    (void)dom;
    if (rc < 0) {
        *http->err(req) = *err;
        http->complete(req, rc);
        return;
    }
    http->reply_take(req, 0, xend_sxp_atom_int(0));
    http->complete(req, 0);
}

static void reply_created(int rc, const struct xend_err *err, struct xend_domain *dom, void *arg)
{
    struct xend_request *req = arg;
    if (rc < 0) {
        *http->err(req) = *err;
        http->complete(req, rc);
        return;
    }
    char loc[128];
    snprintf(loc, sizeof(loc), "/xend/domain/%s", dom->name);
    http->reply_header(req, "Location", loc);
    reply_info(req, 201, dom);
    http->complete(req, 0);
}

/* ---- domain starts, through the lane ---- */

/* A create or restore from its request to its reply; it may wait in the lane first. */
struct start {
    struct xend_request *req;
    void (*go)(struct start *st);
    struct xend_sxp *config; /* create: taken by the lifecycle when it runs */
    char *file;              /* restore */
    long long resource;
    uint64_t queued_ns; /* when it began to wait, 0 if it never did */
};

static struct start *start_new(struct xend_request *req, void (*go)(struct start *st))
{
    struct start *st = xend_xcalloc(1, sizeof(*st));
    st->req = req;
    st->go = go;
    http->defer(req);
    return st;
}

static void start_free(struct start *st)
{
    xend_sxp_free(st->config);
    free(st->file);
    free(st);
}

static void start_done(int rc, const struct xend_err *err, struct xend_domain *dom, void *arg)
{
    reply_created(rc, err, dom, arg);
    xend_lane_leave(&starts);
}

static void create_go(struct start *st)
{
    struct xend_sxp *config = st->config;
    st->config = NULL;
    xend_lifecycle_create(config, start_done, st->req);
}

static void restore_go(struct start *st)
{
    xend_transfer_restore(st->file, st->resource, start_done, st->req);
}

static bool start_wanted(void *arg)
{
    const struct start *st = arg;
    return !xend_http_request_gone(st->req);
}

static void start_run(void *arg, bool run)
{
    struct start *st = arg;
    if (run) {
        if (st->queued_ns != 0)
            xend_log_debug("domain start admitted", "request=%llu waited_ms=%.1f",
                           (unsigned long long)xend_http_request_id(st->req),
                           (double)(xend_clock_ns() - st->queued_ns) / 1e6);
        st->go(st);
    } else {
        /* Its client went while it waited (or xend stops): nothing was done for it. */
        const char *why = xend_http_request_gone(st->req) ? "its client went while it waited"
                                                          : "xend is stopping";
        xend_log_info("domain start dropped", "request=%llu reason=\"%s\"",
                      (unsigned long long)xend_http_request_id(st->req), why);
        xend_err_set(http->err(st->req), XEND_EBUSY, "Domain start not done: %s", why);
        http->complete(st->req, -XEND_EBUSY);
    }
    start_free(st);
}

static void start_enter(struct start *st)
{
    if (starts_stopped) {
        start_run(st, false);
        return;
    }
    bool full = starts.limit != 0 && starts.running >= starts.limit;
    if (full && starts.waiting == 0)
        xend_log_info("domain starts wait", "in_flight=%u limit=%u (domain-starts-in-flight)",
                      starts.running, starts.limit);
    if (full || starts.waiting > 0)
        st->queued_ns = xend_clock_ns();
    xend_lane_enter(&starts, start_run, start_wanted, st);
}

void xend_domain_http_set_starts_in_flight(unsigned limit)
{
    xend_lane_set_limit(&starts, limit);
}

const struct xend_lane *xend_domain_http_starts(void)
{
    return &starts;
}

void xend_domain_http_stop(void)
{
    starts_stopped = true;
    xend_lane_drain(&starts);
}

/* ---- /xend/domain ---- */

static int list_domains(struct xend_request *req, void *arg)
{
    (void)arg;
    struct xend_err e = {0};
    long long detail = 0;
    int rc = http->arg_int_opt(req, "detail", 0, &detail);
    if (rc < 0)
        return rc;
    if (detail)
        xend_domain_refresh_all_cached(&e);
    size_t n;
    struct xend_domain *const *all = xend_domain_sorted(&n);
    /* The kept info texts are borrowed, not copied (gather.h): only what is printed
     * anew (times, devices, separators) is in the buffer, sized like the last list's. */
    static size_t last_len[2];
    struct xend_gather g;
    xend_gather_init(&g);
    struct xend_buf *b = xend_gather_buf(&g);
    xend_buf_reserve(b, last_len[detail != 0] + last_len[detail != 0] / 8);
    xend_buf_putc(b, '(');
    bool first = true;
    uint64_t now_ns = xend_clock_boot_ns(); /* one up_time clock for every domain */
    for (size_t i = 0; i < n; i++) {
        if (detail)
            xend_domain_info_ahead(all, n, i);
        if (all[i]->phase == XEND_DOM_CREATING)
            continue;
        if (!first)
            xend_buf_putc(b, ' ');
        first = false;
        if (detail)
            xend_domain_info_gather_at(all[i], now_ns, &g);
        else
            xend_sxp_print_atom(all[i]->name, strlen(all[i]->name), b);
    }
    xend_buf_putc(b, ')');
    last_len[detail != 0] = b->len;
    xend_http_reply_sxp_gather(req, 0, &g);
    return 0;
}

/*
 * Problems of a config: SXP and HTML clients get the operation error (xend.err "...") with
 * one "line N: TEXT" per line of the message; JSON clients also get the list itself,
 * {"error": "...", "problems": [{"line": N, "text": "..."}]} (line 0: not tied to one).
 */
static int reply_problems(struct xend_request *req, int rc,
                          const struct xend_config_problems *problems)
{
    char *msg = xend_config_problems_text(problems);
    if (!xend_http_wants_json(req)) {
        xend_err_set(http->err(req), -rc, "%s", msg);
        free(msg);
        return rc;
    }
    struct xend_buf b = XEND_BUF_INIT;
    xend_buf_puts(&b, "{\"error\": ");
    xend_sxp_json_string(msg, &b);
    xend_buf_puts(&b, ", \"problems\": [");
    for (size_t i = 0; i < problems->n; i++) {
        xend_buf_printf(&b, "%s{\"line\": %u, \"text\": ", i > 0 ? ", " : "", problems->v[i].line);
        xend_sxp_json_string(problems->v[i].text, &b);
        xend_buf_putc(&b, '}');
    }
    xend_buf_puts(&b, "]}");
    http->reply_raw(req, xend_http_status_for(rc), "application/json", xend_buf_str(&b), b.len);
    xend_buf_free(&b);
    free(msg);
    return 0;
}

/* check=1: the dry run. Nothing wrong: (check (result ok) (config (vm ...))). */
static int check_create(struct xend_request *req, const char *text)
{
    struct xend_sxp *config = NULL;
    struct xend_config_problems problems = {0};
    int rc = xend_create_check(text, strlen(text), http->caller_role(req), &config, &problems);
    if (rc < 0) {
        rc = reply_problems(req, rc, &problems);
        xend_config_problems_free(&problems);
        return rc;
    }
    xend_config_problems_free(&problems);
    struct xend_sxp *r = xend_sxp_list_of("check", NULL);
    xend_sxp_append_take(r, xend_sxp_list_of("result", "ok", NULL));
    xend_sxp_add_kv_take(r, "config", config);
    http->reply_take(req, 0, r);
    return 0;
}

static int create_domain(struct xend_request *req, void *arg)
{
    (void)arg;
    long long check = 0;
    int rc = http->arg_int_opt(req, "check", 0, &check);
    if (rc < 0)
        return rc;
    const char *text = http->arg_str(req, "config");
    if (check && text == NULL)
        return xend_err_set(http->err(req), XEND_EINVAL, "Missing parameter: config");
    if (check)
        return check_create(req, text);
    struct xend_sxp *config = NULL;
    if (text != NULL && !xend_create_text_is_sxp(text, strlen(text))) {
        /* an xm-style Python config, as a browser uploads it */
        struct xend_config_problems problems = {0};
        rc = xend_create_read(text, strlen(text), &config, &problems);
        if (rc < 0)
            rc = reply_problems(req, rc, &problems);
        xend_config_problems_free(&problems);
        if (rc < 0 || config == NULL)
            return rc;
    } else {
        /* SXP as the 2.0 client sends it: its errors as they always were */
        const struct xend_sxp *parsed;
        rc = http->arg_sxp(req, "config", &parsed);
        if (rc < 0)
            return rc;
        config = xend_sxp_copy(parsed);
    }
    struct start *st = start_new(req, create_go);
    st->config = config;
    start_enter(st);
    return 0;
}

/* A caller below admin names a save or restore file only inside save-dir, where the open
 * confines it (core/confine.c); without save-dir, it names none (docs/security.md). */
static int file_allowed(struct xend_request *req)
{
    int role = http->caller_role(req);
    if (role == XEND_ROLE_ADMIN || xend_confine_has_save_dir())
        return 0;
    return xend_err_set(http->err(req), XEND_EPERM,
                        "Permission denied: role %s may save and restore only inside save-dir, "
                        "and this xend has no save-dir (see docs/security.md)",
                        xend_role_name(role));
}

/* A required text argument into *out: 0, or -XEND_EINVAL with 2.0's "Missing parameter: NAME"
 * (2.0.0 acted on no op whose parameter was missing). */
static int arg_required(struct xend_request *req, const char *name, const char **out)
{
    *out = http->arg_str(req, name);
    if (*out == NULL)
        return xend_err_set(http->err(req), XEND_EINVAL, "Missing parameter: %s", name);
    return 0;
}

static int restore_domain(struct xend_request *req, void *arg)
{
    (void)arg;
    const char *file;
    long long resource = 0;
    int rc = arg_required(req, "file", &file);
    if (rc == 0)
        rc = file_allowed(req);
    if (rc == 0)
        rc = http->arg_int_opt(req, "resource", 0, &resource);
    if (rc < 0)
        return rc;
    struct start *st = start_new(req, restore_go);
    st->file = xend_xstrdup(file);
    st->resource = resource;
    start_enter(st);
    return 0;
}

/* ---- /xend/domain/{domain} ---- */

static int domain_info(struct xend_request *req, void *arg)
{
    (void)arg;
    struct xend_domain *dom = http->domain(req);
    struct xend_err e = {0};
    xend_domain_refresh_cached(dom, &e);
    reply_info(req, 0, dom);
    return 0;
}

typedef int simple_op_fn(struct xend_domain *dom, struct xend_err *err);

static int run_simple(struct xend_request *req, simple_op_fn *fn)
{
    int rc = fn(http->domain(req), http->err(req));
    if (rc == 0)
        http->reply_take(req, 0, xend_sxp_atom_int(0));
    return rc;
}

static int op_pause(struct xend_request *req, void *arg)
{
    (void)arg;
    return run_simple(req, xend_lifecycle_pause);
}

static int op_unpause(struct xend_request *req, void *arg)
{
    (void)arg;
    return run_simple(req, xend_lifecycle_unpause);
}

static void set_parent_location(struct xend_request *req)
{
    http->reply_header(req, "Location", "/xend/domain");
}

void xend_domain_http_reply_when_durable(void *arg, int rc)
{
    struct xend_request *req = arg;
    if (rc < 0)
        xend_err_set(http->err(req), XEND_EIO, "done, but the store write failed");
    http->complete(req, rc < 0 ? -XEND_EIO : 0);
}

static int persist_then_reply(struct xend_request *req, int status, struct xend_domain *dom)
{
    http->reply_take(req, status, xend_sxp_atom_int(0));
    http->defer(req);
    xend_lifecycle_persist(dom, xend_domain_http_reply_when_durable, req);
    return 0;
}

static int op_shutdown(struct xend_request *req, void *arg)
{
    (void)arg;
    const char *reason;
    struct xend_domain *dom = http->domain(req);
    int rc = arg_required(req, "reason", &reason);
    if (rc == 0)
        rc = xend_lifecycle_shutdown(dom, reason, http->err(req));
    if (rc < 0)
        return rc;
    set_parent_location(req);
    return persist_then_reply(req, 202, dom);
}

static int op_destroy(struct xend_request *req, void *arg)
{
    (void)arg;
    const char *reason;
    int rc = arg_required(req, "reason", &reason);
    if (rc < 0)
        return rc;
    set_parent_location(req);
    http->defer(req);
    xend_lifecycle_destroy(http->domain(req), reason, reply_done, req);
    return 0;
}

static int op_int(struct xend_request *req, const char *name,
                  int (*fn)(struct xend_domain *, long long, struct xend_err *))
{
    long long v;
    int rc = http->arg_int(req, name, &v);
    if (rc == 0)
        rc = fn(http->domain(req), v, http->err(req));
    if (rc == 0)
        http->reply_take(req, 0, xend_sxp_atom_int(0));
    return rc;
}

/* A domain with a record keeps what it was changed to there (domain_runtime.h). */
static int persist_recorded_then_reply(struct xend_request *req, int rc)
{
    struct xend_domain *dom = http->domain(req);
    return rc < 0 || dom->uuid[0] == '\0' ? rc : persist_then_reply(req, 0, dom);
}

static int op_pincpu(struct xend_request *req, void *arg)
{
    (void)arg;
    return persist_recorded_then_reply(req, op_int(req, "cpu", xend_lifecycle_pincpu));
}

static int op_maxmem(struct xend_request *req, void *arg)
{
    (void)arg;
    int rc = op_int(req, "memory", xend_lifecycle_set_maxmem);
    return rc < 0 ? rc : persist_then_reply(req, 0, http->domain(req));
}

static int op_target(struct xend_request *req, void *arg)
{
    (void)arg;
    return persist_recorded_then_reply(req, op_int(req, "target", xend_lifecycle_set_target));
}

static int op_save(struct xend_request *req, void *arg)
{
    (void)arg;
    const char *file;
    long long resource = 0;
    int rc = arg_required(req, "file", &file);
    if (rc == 0)
        rc = file_allowed(req);
    if (rc == 0)
        rc = http->arg_int_opt(req, "resource", 0, &resource);
    if (rc < 0)
        return rc;
    http->defer(req);
    xend_transfer_save(http->domain(req), file, resource, reply_done, req);
    return 0;
}

/* Stop the domain's running save, migration or restore; the request that started it
 * answers the cancel. */
static int op_cancel(struct xend_request *req, void *arg)
{
    (void)arg;
    return run_simple(req, xend_transfer_cancel);
}

/*
 * As 2.0 answered: the URL of the domain at the destination, as the reply and its Location.
 * Like 2.0's (whose port was xfrd's, 8002) it names the relocation port the domain went
 * through, the only one this host knows: the destination's HTTP port may differ.
 */
static void reply_migrated(int rc, const struct xend_err *err,
                           const struct xend_transfer_migrated *where, void *arg)
{
    struct xend_request *req = arg;
    if (rc < 0) {
        *http->err(req) = *err;
        http->complete(req, rc);
        return;
    }
    bool v6 = strchr(where->host, ':') != NULL;
    char url[400];
    snprintf(url, sizeof(url), "http://%s%s%s:%s/xend/domain/%lld", v6 ? "[" : "", where->host,
             v6 ? "]" : "", where->port, where->id);
    http->reply_header(req, "Location", url);
    http->reply_take(req, 0, xend_sxp_atom(url));
    http->complete(req, 0);
}

static int op_migrate(struct xend_request *req, void *arg)
{
    (void)arg;
    const char *dst = http->arg_str(req, "destination");
    if (dst == NULL)
        dst = http->arg_str(req, "dst"); /* the manual's name */
    if (dst == NULL)
        return arg_required(req, "destination", &dst);
    long long live = 0, resource = 0;
    int rc = http->arg_int_opt(req, "live", 0, &live);
    if (rc == 0)
        rc = http->arg_int_opt(req, "resource", 0, &resource);
    if (rc < 0)
        return rc;
    http->defer(req);
    xend_transfer_migrate(http->domain(req), dst, live != 0, resource, reply_migrated, req);
    return 0;
}

/* The memory image's checksum, so tests can prove that save, restore and migration moved
 * the right bytes (a backend op only the simulated hypervisor has). */
static int op_mem_checksum(struct xend_request *req, void *arg)
{
    (void)arg;
    struct xend_domain *dom = http->domain(req);
    uint64_t sum = 0;
    int rc = XEND_HV_CALL(mem_checksum, http->err(req), dom->id, &sum);
    if (rc < 0)
        return rc;
    struct xend_sxp *v = xend_sxp_list_of("mem_checksum", NULL);
    xend_sxp_append_take(v, xend_sxp_atom_fmt("%llu", (unsigned long long)sum));
    http->reply_take(req, 0, v);
    return 0;
}

/* ---- configure: give a domain xend found (restored or adopted) its config ---- */

static void reply_configured(int rc, const struct xend_err *err, struct xend_domain *dom, void *arg)
{
    struct xend_request *req = arg;
    if (rc < 0) {
        *http->err(req) = *err;
        http->complete(req, rc);
        return;
    }
    reply_info(req, 0, dom);
    http->complete(req, 0);
}

static int op_configure(struct xend_request *req, void *arg)
{
    (void)arg;
    const struct xend_sxp *config;
    int rc = http->arg_sxp(req, "config", &config);
    if (rc < 0)
        return rc;
    http->defer(req);
    xend_lifecycle_configure(http->domain(req), config, reply_configured, req);
    return 0;
}

/* ---- devices ---- */

struct device_req {
    struct xend_request *req;
    struct xend_domain *dom; /* held busy until the reply, so it cannot go meanwhile */
    char cls[32];
    bool reply_config;
};

static int device_begin(struct xend_request *req, struct xend_domain *dom)
{
    if (dom->phase != XEND_DOM_LIVE || dom->busy)
        return xend_err_set(http->err(req), XEND_EBUSY, "Domain %s is busy or not running",
                            dom->name);
    dom->busy = true;
    return 0;
}

static void device_end(struct device_req *d, int rc)
{
    d->dom->busy = false;
    http->complete(d->req, rc);
    free(d);
    /* The domain may have exited while it was held. */
    xend_lifecycle_check();
}

/* The change is durable (device.c writes its own record) or failed. */
static void device_done(int rc, const struct xend_err *err, void *arg)
{
    struct device_req *d = arg;
    if (rc < 0) {
        *http->err(d->req) = *err;
        device_end(d, rc);
        return;
    }
    if (d->reply_config) {
        /* the device just added is the last of its class; the others are not described,
         * which cost a hot-plug time in proportion to the domain's devices */
        struct xend_sxp *last = xend_devices_describe_last(d->dom, d->cls);
        http->reply_take(d->req, 0, last ? last : xend_sxp_atom_int(0));
    } else {
        http->reply_take(d->req, 0, xend_sxp_atom_int(0));
    }
    xend_crash_point("device.recorded");
    device_end(d, 0);
}

static struct device_req *device_req_new(struct xend_request *req, struct xend_domain *dom)
{
    struct device_req *d = xend_xcalloc(1, sizeof(*d));
    d->req = req;
    d->dom = dom;
    http->defer(req);
    return d;
}

static int op_device_create(struct xend_request *req, void *arg)
{
    (void)arg;
    const struct xend_sxp *config;
    int rc = http->arg_sxp(req, "config", &config);
    struct xend_domain *dom = http->domain(req);
    if (rc < 0 || (rc = device_begin(req, dom)) < 0)
        return rc;
    struct device_req *d = device_req_new(req, dom);
    d->reply_config = true;
    snprintf(d->cls, sizeof(d->cls), "%s", xend_sxp_name(config) ? xend_sxp_name(config) : "");
    xend_device_hotplug_add(dom, config, device_done, d);
    return 0;
}

static int find_device(struct xend_request *req, const char *cls, struct xend_device **out)
{
    long long idx;
    /* idx in the 2.0 release, index in the manual */
    int rc = http->arg_int(
        req, http->arg_str(req, "idx") || !http->arg_str(req, "index") ? "idx" : "index", &idx);
    if (rc < 0)
        return rc;
    struct xend_device *dev =
        idx >= 0 ? xend_devices_find(http->domain(req), cls, (uint32_t)idx) : NULL;
    if (dev == NULL)
        return xend_err_set(http->err(req), XEND_ENOENT, "invalid device: %s %lld", cls, idx);
    *out = dev;
    return 0;
}

static int op_device_destroy(struct xend_request *req, void *arg)
{
    (void)arg;
    const char *type;
    int rc = arg_required(req, "type", &type);
    if (rc < 0)
        return rc;
    struct xend_domain *dom = http->domain(req);
    struct xend_device *dev;
    rc = find_device(req, type, &dev);
    if (rc < 0 || (rc = device_begin(req, dom)) < 0)
        return rc;
    xend_device_hotplug_remove(dom, dev, device_done, device_req_new(req, dom));
    return 0;
}

static int op_device_configure(struct xend_request *req, void *arg)
{
    (void)arg;
    const struct xend_sxp *config;
    int rc = http->arg_sxp(req, "config", &config);
    if (rc < 0)
        return rc;
    const char *cls = xend_sxp_name(config);
    struct xend_domain *dom = http->domain(req);
    struct xend_device *dev;
    rc = find_device(req, cls ? cls : "", &dev);
    if (rc < 0 || (rc = device_begin(req, dom)) < 0)
        return rc;
    xend_device_hotplug_configure(dom, dev, config, device_done, device_req_new(req, dom));
    return 0;
}

/* ---- per-class listings: op=vifs, op=vif&vif=N ... ---- */

struct class_route {
    struct xend_plugin *owner;
    char name[32];
    char op_list[40];
    struct xend_route list, one;
};

static int class_list(struct xend_request *req, void *arg)
{
    struct class_route *cr = arg;
    http->reply_take(req, 0, xend_devices_list(http->domain(req), cr->name));
    return 0;
}

static int class_one(struct xend_request *req, void *arg)
{
    struct class_route *cr = arg;
    long long idx;
    int rc = http->arg_int(req, cr->name, &idx);
    if (rc < 0)
        return rc;
    struct xend_device *dev =
        idx >= 0 ? xend_devices_find(http->domain(req), cr->name, (uint32_t)idx) : NULL;
    if (dev == NULL)
        return xend_err_set(http->err(req), XEND_ENOENT, "invalid device: %s %lld", cr->name, idx);
    struct xend_sxp *list = xend_devices_list(http->domain(req), cr->name);
    struct xend_sxp *found = NULL;
    for (size_t i = 0; i < xend_sxp_length(list); i++) {
        long long k;
        if (xend_sxp_child_int(xend_sxp_nth(list, i), "idx", &k) == 0 && k == idx)
            found = xend_sxp_copy(xend_sxp_nth(list, i));
    }
    xend_sxp_free(list);
    http->reply_take(req, 0, found ? found : xend_sxp_copy(dev->config));
    return 0;
}

static void class_routes_free(void *watched);

/* The device registry's watcher: a class's routes, registered for its plugin. */
static void *class_routes_new(struct xend_plugin *owner, const char *cls)
{
    http = xend_http_host_table();
    /* Owned by the class's registration: the routes point into it. */
    struct class_route *cr = xend_xcalloc(1, sizeof(*cr));
    cr->owner = owner;
    snprintf(cr->name, sizeof(cr->name), "%s", cls);
    snprintf(cr->op_list, sizeof(cr->op_list), "%ss", cls);
    cr->list = (struct xend_route){XEND_ROUTE_INIT,
                                   .methods = XEND_HTTP_GET,
                                   .path = "/xend/domain/{domain}",
                                   .op = cr->op_list,
                                   .fn = class_list,
                                   .arg = cr,
                                   .flags = XEND_ROUTE_DOMAIN,
                                   .role = XEND_ROLE_VIEWER};
    cr->one = (struct xend_route){XEND_ROUTE_INIT,
                                  .methods = XEND_HTTP_GET,
                                  .path = "/xend/domain/{domain}",
                                  .op = cr->name,
                                  .fn = class_one,
                                  .arg = cr,
                                  .flags = XEND_ROUTE_DOMAIN,
                                  .role = XEND_ROLE_VIEWER};
    int rc = xend_http_route_add(owner, &cr->list);
    if (rc == 0)
        rc = xend_http_route_add(owner, &cr->one);
    if (rc < 0) {
        class_routes_free(cr);
        return NULL;
    }
    return cr;
}

/* Remove the routes (if still there) and free. */
static void class_routes_free(void *watched)
{
    struct class_route *cr = watched;
    if (cr == NULL)
        return;
    xend_http_route_remove(cr->owner, &cr->list);
    xend_http_route_remove(cr->owner, &cr->one);
    free(cr);
}

void xend_domain_http_watch_classes(void)
{
    static const struct xend_device_class_watcher watcher = {class_routes_new, class_routes_free};
    xend_device_class_watch(&watcher);
}

/* ---- registration ---- */

int xend_domain_http_register(void)
{
    http = xend_http_host_table();
    static const struct xend_route routes[] = {
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET, .path = "/xend/domain", .fn = list_domains,
         .doc = "domains; detail=1 gives every domain's info", .role = XEND_ROLE_VIEWER},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/xend/domain", .op = "create",
         .fn = create_domain,
         .doc = "create a domain from an SXP or xm-style config; check=1 only checks it. "
                "params: config:file",
         .role = XEND_ROLE_OPERATOR},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/xend/domain", .op = "restore",
         .fn = restore_domain, .doc = "restore a saved domain. params: file resource:MBIT",
         .role = XEND_ROLE_OPERATOR},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET, .path = "/xend/domain/{domain}",
         .fn = domain_info, .flags = XEND_ROUTE_DOMAIN, .role = XEND_ROLE_VIEWER},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET, .path = "/xend/domain/{domain}",
         .op = "mem_checksum", .fn = op_mem_checksum, .flags = XEND_ROUTE_DOMAIN,
         .doc = "checksum of the memory image (simulated hypervisor)", .role = XEND_ROLE_VIEWER},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/xend/domain/{domain}",
         .op = "configure", .fn = op_configure, .flags = XEND_ROUTE_DOMAIN,
         .doc = "give a domain its config. params: config", .role = XEND_ROLE_ADMIN},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/xend/domain/{domain}",
         .op = "unpause", .fn = op_unpause, .flags = XEND_ROUTE_DOMAIN, .doc = "unpause",
         .role = XEND_ROLE_OPERATOR},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/xend/domain/{domain}", .op = "pause",
         .fn = op_pause, .flags = XEND_ROUTE_DOMAIN, .doc = "pause", .role = XEND_ROLE_OPERATOR},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/xend/domain/{domain}",
         .op = "shutdown", .fn = op_shutdown, .flags = XEND_ROUTE_DOMAIN,
         .doc = "shut down. params: reason:poweroff|halt|reboot", .role = XEND_ROLE_OPERATOR},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/xend/domain/{domain}",
         .op = "destroy", .fn = op_destroy, .flags = XEND_ROUTE_DOMAIN,
         .doc = "destroy. params: reason:halt|reboot", .role = XEND_ROLE_OPERATOR},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/xend/domain/{domain}", .op = "save",
         .fn = op_save, .flags = XEND_ROUTE_DOMAIN, .doc = "save. params: file resource:MBIT",
         .role = XEND_ROLE_OPERATOR},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/xend/domain/{domain}",
         .op = "migrate", .fn = op_migrate, .flags = XEND_ROUTE_DOMAIN,
         .doc = "migrate. params: destination live:0|1 resource:MBIT", .role = XEND_ROLE_OPERATOR},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/xend/domain/{domain}",
         .op = "cancel", .fn = op_cancel, .flags = XEND_ROUTE_DOMAIN | XEND_ROUTE_CORE_INCOMING,
         .doc = "cancel the running save, migration or restore", .role = XEND_ROLE_OPERATOR},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/xend/domain/{domain}",
         .op = "pincpu", .fn = op_pincpu, .flags = XEND_ROUTE_DOMAIN, .doc = "pin. params: cpu",
         .role = XEND_ROLE_ADMIN},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/xend/domain/{domain}",
         .op = "maxmem_set", .fn = op_maxmem, .flags = XEND_ROUTE_DOMAIN,
         .doc = "maximum memory. params: memory", .role = XEND_ROLE_ADMIN},
        /* POST only: a GET never changes state (the 2.0 client POSTs it too). */
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/xend/domain/{domain}",
         .op = "mem_target_set", .fn = op_target, .flags = XEND_ROUTE_DOMAIN,
         .doc = "balloon target. params: target", .role = XEND_ROLE_OPERATOR},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/xend/domain/{domain}",
         .op = "device_create", .fn = op_device_create, .flags = XEND_ROUTE_DOMAIN,
         .doc = "add a device. params: config", .role = XEND_ROLE_ADMIN},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/xend/domain/{domain}",
         .op = "device_destroy", .fn = op_device_destroy, .flags = XEND_ROUTE_DOMAIN,
         .doc = "remove a device. params: type idx", .role = XEND_ROLE_ADMIN},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/xend/domain/{domain}",
         .op = "device_configure", .fn = op_device_configure, .flags = XEND_ROUTE_DOMAIN,
         .doc = "reconfigure a device. params: config idx", .role = XEND_ROLE_ADMIN},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        int rc = xend_http_route_add(NULL, &routes[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}
