/*
 * The backend table: each op as a request to xend-simhv (sim.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim.h"

static bool sim_probe(void *ctx)
{
    (void)ctx;
    return true; /* simhv runs anywhere */
}

void sim_close(void *ctx)
{
    struct sim_ctx *c = ctx;
    sim_pipeline_free(c->pipe);
    c->pipe = NULL;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    if (!c->opened)
        return;
    c->host->loop->timer_remove(c->reconnect_timer);
    c->reconnect_timer = NULL;
    sim_notify_drop(c);
    close(c->notify_pipe[0]);
    close(c->notify_pipe[1]);
    c->opened = false;
}

static int sim_physinfo(void *ctx, struct xend_physinfo *out, struct xend_err *err);

static int sim_open(void *ctx, struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    if (c->opened)
        return 0;
    struct xend_sxp *rep = NULL;
    int rc = sim_call(c, sim_req_new(c, "hello"), &rep, err);
    if (rc < 0)
        return rc;
    long long version = 0;
    c->sxp->child_int(rep, "version", &version);
    c->sxp->free(rep);
    c->proto = (int)version;
    /* Version 2 brought what creates rely on (dom_make, dom_confirm, quiet console
     * requests); 3 takes a save's or restore's descriptor, which a version-2 simhv does
     * not, so its images are relayed (image.c). A simhv started by an older xend keeps
     * running across an upgrade, as Xen would: say what to do rather than fail every
     * create. */
    if (version < SIM_PROTO_OLDEST || version > SIM_PROTO_VERSION)
        return xend_err_set(err, XEND_EBACKEND,
                            "xend-simhv at %s speaks protocol %lld, this plugin speaks %d to "
                            "%d: stop it (xend-simhv --stop --socket %s; its domains go with "
                            "it) and start xend again",
                            c->socket_path, version, SIM_PROTO_OLDEST, SIM_PROTO_VERSION,
                            c->socket_path);
    /* A simhv that was already running keeps its machine: say so when it is not ours. */
    struct xend_physinfo pi;
    struct xend_err ignored = {0};
    if (sim_physinfo(c, &pi, &ignored) == 0 &&
        (pi.nr_cpus != (uint32_t)c->cpus || pi.total_kb != (uint64_t)c->memory_mb * 1024 ||
         strcmp(pi.scheduler, c->scheduler) != 0))
        c->host->log->emit(c->self, XEND_LOG_WARN, "simhv settings differ",
                           "socket=%s cpus=%u memory_mb=%llu scheduler=%s configured_cpus=%lld "
                           "configured_memory_mb=%lld configured_scheduler=%s",
                           c->socket_path, pi.nr_cpus, (unsigned long long)(pi.total_kb / 1024),
                           pi.scheduler, c->cpus, c->memory_mb, c->scheduler);
    if (pipe2(c->notify_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        return xend_err_set(err, XEND_EIO, "pipe: %s", strerror(errno));
    c->notify_sock = -1;
    c->opened = true;
    rc = sim_notify_subscribe(c, err);
    if (rc < 0)
        sim_close(c);
    return rc;
}

static int sim_physinfo(void *ctx, struct xend_physinfo *out, struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    struct xend_sxp *rep = NULL;
    int rc = sim_call(c, sim_req_new(c, "physinfo"), &rep, err);
    if (rc < 0)
        return rc;
    uint64_t cpus = 0, cores = 0, threads = 0, mhz = 0;
    memset(out, 0, sizeof(*out));
    out->size = sizeof(*out);
    if ((rc = sim_reply_u64(c, rep, "nr_cpus", &cpus, err)) == 0 &&
        (rc = sim_reply_u64(c, rep, "cores_per_socket", &cores, err)) == 0 &&
        (rc = sim_reply_u64(c, rep, "threads_per_core", &threads, err)) == 0 &&
        (rc = sim_reply_u64(c, rep, "cpu_mhz", &mhz, err)) == 0 &&
        (rc = sim_reply_u64(c, rep, "total_kb", &out->total_kb, err)) == 0 &&
        (rc = sim_reply_u64(c, rep, "free_kb", &out->free_kb, err)) == 0) {
        out->nr_cpus = (uint32_t)cpus;
        out->cores_per_socket = (uint32_t)cores;
        out->threads_per_core = (uint32_t)threads;
        out->cpu_mhz = (uint32_t)mhz;
        snprintf(out->hypervisor, sizeof(out->hypervisor), "%s",
                 c->sxp->child_value(rep, "hypervisor", "simhv"));
        snprintf(out->scheduler, sizeof(out->scheduler), "%s",
                 c->sxp->child_value(rep, "scheduler", ""));
    }
    c->sxp->free(rep);
    return rc;
}

static char *sim_dmesg(void *ctx, bool clear, struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    struct xend_sxp *rep = NULL;
    struct xend_sxp *req = c->sxp->add_kv_int(sim_req_new(c, "dmesg"), "clear", clear);
    if (sim_call(c, req, &rep, err) < 0)
        return NULL;
    char *text = strdup(c->sxp->child_value(rep, "text", ""));
    c->sxp->free(rep);
    if (text == NULL)
        abort();
    return text;
}

static int sim_dom_create(void *ctx, const struct xend_dom_create *args, uint32_t *domid,
                          struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    struct xend_sxp *rep = NULL;
    int rc = sim_call(c, sim_create_req(c, "dom_create", args), &rep, err);
    if (rc < 0)
        return rc;
    uint64_t id = 0;
    rc = sim_reply_u64(c, rep, "domid", &id, err);
    *domid = (uint32_t)id;
    c->sxp->free(rep);
    return rc;
}

static int sim_dom_build(void *ctx, uint32_t domid, const struct xend_dom_image *image,
                         struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    return sim_call(c, sim_image_args(c, sim_req_dom(c, "dom_build", domid), image), NULL, err);
}

static int sim_dom_simple(struct sim_ctx *c, const char *op, uint32_t domid, struct xend_err *err)
{
    return sim_call(c, sim_req_dom(c, op, domid), NULL, err);
}

static int sim_dom_pause(void *ctx, uint32_t domid, struct xend_err *err)
{
    return sim_dom_simple(ctx, "dom_pause", domid, err);
}

static int sim_dom_unpause(void *ctx, uint32_t domid, struct xend_err *err)
{
    return sim_dom_simple(ctx, "dom_unpause", domid, err);
}

static int sim_dom_destroy(void *ctx, uint32_t domid, struct xend_err *err)
{
    return sim_dom_simple(ctx, "dom_destroy", domid, err);
}

static int sim_dom_shutdown(void *ctx, uint32_t domid, enum xend_shutdown_reason reason,
                            struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    return sim_call(c, c->sxp->add_kv_int(sim_req_dom(c, "dom_shutdown", domid), "reason", reason),
                    NULL, err);
}

static int sim_dom_info(void *ctx, uint32_t domid, struct xend_dominfo *out, struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    struct sim_dom_scan ds = {0};
    int rc = sim_call_raw(c, c->sxp->add_kv_int(sim_req_dom(c, "dom_info", domid), "compact", 1),
                          sim_doms_fn, &ds, err);
    if (rc == 0 && ds.count != 1)
        rc = xend_err_set(err, XEND_EBACKEND, "xend-simhv reply lacks the domain");
    if (rc == 0)
        *out = ds.v[0];
    free(ds.v);
    return rc;
}

static int sim_dom_list(void *ctx, xend_dominfo_fn *fn, void *arg, struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    struct sim_dom_scan ds = {0};
    int rc = sim_call_raw(c, c->sxp->add_kv_int(sim_req_new(c, "dom_list"), "compact", 1),
                          sim_doms_fn, &ds, err);
    for (size_t i = 0; rc == 0 && i < ds.count; i++)
        fn(arg, &ds.v[i]);
    free(ds.v);
    return rc;
}

static int sim_dom_kb(struct sim_ctx *c, const char *op, uint32_t domid, uint64_t kb,
                      struct xend_err *err)
{
    return sim_call(c, c->sxp->add_kv_int(sim_req_dom(c, op, domid), "kb", (long long)kb), NULL,
                    err);
}

static int sim_dom_set_maxmem(void *ctx, uint32_t domid, uint64_t kb, struct xend_err *err)
{
    return sim_dom_kb(ctx, "dom_set_maxmem", domid, kb, err);
}

static int sim_dom_set_target(void *ctx, uint32_t domid, uint64_t kb, struct xend_err *err)
{
    return sim_dom_kb(ctx, "dom_set_target", domid, kb, err);
}

static int sim_dom_pin_vcpu(void *ctx, uint32_t domid, uint32_t vcpu, int32_t cpu,
                            struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    struct xend_sxp *r = sim_req_dom(c, "dom_pin_vcpu", domid);
    c->sxp->add_kv_int(r, "vcpu", vcpu);
    c->sxp->add_kv_int(r, "cpu", cpu);
    return sim_call(c, r, NULL, err);
}

static struct xend_sxp *sched_req(struct sim_ctx *c, struct xend_sxp *r, const char *sched,
                                  const struct xend_sched_value *values, size_t n)
{
    c->sxp->add_kv(r, "sched", sched ? sched : "");
    struct xend_sxp *v = c->sxp->list();
    c->sxp->append_take(v, c->sxp->atom("values"));
    for (size_t i = 0; i < n; i++)
        c->sxp->add_kv_int(v, values[i].name, values[i].value);
    return c->sxp->append_take(r, v);
}

static int sim_sched_set(void *ctx, uint32_t domid, const char *sched,
                         const struct xend_sched_value *values, size_t n, struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    return sim_call(c, sched_req(c, sim_req_dom(c, "sched_set", domid), sched, values, n), NULL,
                    err);
}

static int sim_sched_get(void *ctx, uint32_t domid, const char *sched,
                         struct xend_sched_value *values, size_t n, struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    struct xend_sxp *rep = NULL;
    int rc =
        sim_call(c, sched_req(c, sim_req_dom(c, "sched_get", domid), sched, values, n), &rep, err);
    if (rc < 0)
        return rc;
    const struct xend_sxp *v = c->sxp->child(rep, "values");
    for (size_t i = 0; i < n && rc == 0; i++) {
        long long val;
        if (v == NULL || c->sxp->child_int(v, values[i].name, &val) < 0)
            rc = xend_err_set(err, XEND_EBACKEND, "xend-simhv did not return %s", values[i].name);
        else
            values[i].value = val;
    }
    c->sxp->free(rep);
    return rc;
}

static int sim_sched_node_set(void *ctx, const char *sched, const struct xend_sched_value *values,
                              size_t n, struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    return sim_call(c, sched_req(c, sim_req_new(c, "sched_node_set"), sched, values, n), NULL, err);
}

static int sim_console_open(void *ctx, uint32_t domid, int *fd, struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    /* (quiet 1): no answer to wait for; should simhv refuse, the stream just ends. */
    int rc = sim_stream(c, c->sxp->add_kv_int(sim_req_dom(c, "console", domid), "quiet", 1), true,
                        -1, NULL, fd, err);
    if (rc == 0)
        fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) | O_NONBLOCK);
    return rc;
}

static int sim_dev_attach(void *ctx, uint32_t domid, const char *cls, uint32_t devid,
                          const struct xend_sxp *params, char *name, size_t name_len,
                          struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    struct xend_sxp *r = sim_req_dom(c, "dev_attach", domid);
    c->sxp->add_kv(r, "cls", cls ? cls : "");
    c->sxp->add_kv_int(r, "devid", devid);
    if (params != NULL) {
        struct xend_sxp *p = c->sxp->list();
        c->sxp->append_take(p, c->sxp->atom("params"));
        c->sxp->append_take(r, c->sxp->append_take(p, c->sxp->copy(params)));
    }
    struct xend_sxp *rep = NULL;
    int rc = sim_call(c, r, &rep, err);
    if (rc < 0)
        return rc;
    snprintf(name, name_len, "%s", c->sxp->child_value(rep, "name", ""));
    c->sxp->free(rep);
    return 0;
}

static int sim_dev_detach(void *ctx, uint32_t domid, const char *cls, uint32_t devid,
                          struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    struct xend_sxp *r = sim_req_dom(c, "dev_detach", domid);
    c->sxp->add_kv(r, "cls", cls ? cls : "");
    c->sxp->add_kv_int(r, "devid", devid);
    return sim_call(c, r, NULL, err);
}

static int sim_dirty_begin(void *ctx, uint32_t domid, struct xend_err *err)
{
    return sim_dom_simple(ctx, "dirty_begin", domid, err);
}

static int sim_dirty_end(void *ctx, uint32_t domid, struct xend_err *err)
{
    return sim_dom_simple(ctx, "dirty_end", domid, err);
}

static int sim_dirty_read(void *ctx, uint32_t domid, uint8_t *bitmap, uint64_t npages,
                          struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    struct xend_sxp *rep = NULL;
    int rc = sim_call(
        c, c->sxp->add_kv_int(sim_req_dom(c, "dirty_read", domid), "npages", (long long)npages),
        &rep, err);
    if (rc < 0)
        return rc;
    const char *hex = c->sxp->child_value(rep, "bitmap", "");
    size_t nbytes = (size_t)(npages + 7) / 8;
    if (strlen(hex) != nbytes * 2) {
        rc = xend_err_set(err, XEND_EBACKEND, "xend-simhv sent a dirty bitmap of the wrong size");
    } else {
        for (size_t i = 0; i < nbytes && rc == 0; i++) {
            int hi = sim_hexdig(hex[2 * i]), lo = sim_hexdig(hex[2 * i + 1]);
            if (hi < 0 || lo < 0)
                rc = xend_err_set(err, XEND_EBACKEND, "xend-simhv sent a bad dirty bitmap");
            else
                bitmap[i] = (uint8_t)(hi << 4 | lo);
        }
    }
    c->sxp->free(rep);
    return rc;
}

static int sim_mem_checksum(void *ctx, uint32_t domid, uint64_t *sum, struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    struct xend_sxp *rep = NULL;
    int rc = sim_call(c, sim_req_dom(c, "mem_checksum", domid), &rep, err);
    if (rc < 0)
        return rc;
    const char *hex = c->sxp->child_value(rep, "checksum", NULL);
    if (hex == NULL)
        rc = xend_err_set(err, XEND_EBACKEND, "xend-simhv reply lacks the checksum");
    else
        *sum = strtoull(hex, NULL, 16);
    c->sxp->free(rep);
    return rc;
}

const struct xend_backend_ops sim_backend_ops = {
    XEND_BACKEND_OPS_INIT,
    .name = "sim",
    /* simhv keeps a domain's console output while no stream is open (simhv/console.h) */
    .flags =
        XEND_BACKEND_CONSOLE_KEEPS_OUTPUT | XEND_BACKEND_SIMULATED | XEND_BACKEND_TRANSFER_STOPS,
    .priority = 10,
    .probe = sim_probe,
    .open = sim_open,
    .close = sim_close,
    .physinfo = sim_physinfo,
    .dmesg = sim_dmesg,
    .dom_create = sim_dom_create,
    .dom_build = sim_dom_build,
    .dom_pause = sim_dom_pause,
    .dom_unpause = sim_dom_unpause,
    .dom_shutdown = sim_dom_shutdown,
    .dom_destroy = sim_dom_destroy,
    .dom_info = sim_dom_info,
    .dom_list = sim_dom_list,
    .dom_set_maxmem = sim_dom_set_maxmem,
    .dom_set_target = sim_dom_set_target,
    .dom_pin_vcpu = sim_dom_pin_vcpu,
    .sched_set = sim_sched_set,
    .sched_get = sim_sched_get,
    .sched_node_set = sim_sched_node_set,
    .console_open = sim_console_open,
    .notify_fd = sim_notify_fd,
    .notify_ack = sim_notify_ack,
    .dev_attach = sim_dev_attach,
    .dev_detach = sim_dev_detach,
    .save = sim_save,
    .save_with = sim_save_with,
    .restore = sim_restore,
    .dirty_begin = sim_dirty_begin,
    .dirty_read = sim_dirty_read,
    .dirty_end = sim_dirty_end,
    .mem_checksum = sim_mem_checksum,
    .dom_create_async = sim_dom_create_async,
    .dom_confirm = sim_dom_confirm,
    .dom_destroy_async = sim_dom_destroy_async,
};
