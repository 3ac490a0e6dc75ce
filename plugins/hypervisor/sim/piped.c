/*
 * The domain ops that go on the pipelined connection (pipeline.h), so that the loop never
 * waits for simhv's answer: creates, confirms and destroys; and the request a create sends
 * (the synchronous create's too). On one connection they reach simhv in the order xend
 * made them: a domain's destroy never overtakes its create or its confirm.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

struct piped;
typedef void piped_fn(struct piped *q, int rc, const char *line, size_t len,
                      const struct xend_err *err);

/* One pipelined request: what to check its answer against, and whom to tell. */
struct piped {
    struct sim_ctx *c;
    char want_id[32];
    char opname[32];
    piped_fn *fn;
    xend_dom_created_fn *done; /* dom_create_async's caller */
    xend_dom_done_fn *op_done; /* dom_destroy_async's caller */
    void *arg;
    uint32_t domid;        /* dom_confirm's */
    struct xend_err early; /* the connection could not be made */
};

struct xend_sxp *sim_create_req(struct sim_ctx *c, const char *op, const struct xend_dom_create *a)
{
    struct xend_sxp *r = sim_req_new(c, op);
    if (a == NULL)
        return r;
    if (a->name != NULL)
        c->sxp->add_kv(r, "name", a->name);
    c->sxp->add_kv_int(r, "mem_kb", (long long)a->mem_kb);
    c->sxp->add_kv_int(r, "maxmem_kb", (long long)a->maxmem_kb);
    c->sxp->add_kv_int(r, "vcpus", a->vcpus);
    c->sxp->add_kv_int(r, "want_domid", a->want_domid);
    c->sxp->add_kv_int(r, "cpu", a->cpu);
    return r;
}

struct xend_sxp *sim_image_args(struct sim_ctx *c, struct xend_sxp *r,
                                const struct xend_dom_image *image)
{
    c->sxp->add_kv(r, "builder", image->builder ? image->builder : "linux");
    c->sxp->add_kv(r, "kernel", image->kernel ? image->kernel : "");
    if (image->ramdisk != NULL)
        c->sxp->add_kv(r, "ramdisk", image->ramdisk);
    c->sxp->add_kv(r, "cmdline", image->cmdline ? image->cmdline : "");
    return r;
}

static struct piped *piped_new(piped_fn *fn)
{
    struct piped *q = calloc(1, sizeof(*q));
    if (q == NULL)
        abort(); /* the ABI's out-of-memory policy */
    q->fn = fn;
    return q;
}

static int pipe_dial(void *ctx, int *fd)
{
    struct sim_ctx *c = ctx;
    int r = sim_dial(c->socket_path);
    if (r < 0)
        return r;
    *fd = r;
    return 0;
}

static void piped_reply(void *arg, int rc, const char *line, size_t len, const char *why)
{
    struct piped *q = arg;
    struct sim_ctx *c = q->c;
    struct xend_err err = {0};
    if (rc == -ECANCELED) { /* the backend is closing: its caller is going away too */
        free(q);
        return;
    }
    if (rc < 0) {
        rc = sim_lost(c, q->opname, rc, why, &err);
    } else {
        bool broken = false;
        rc = sim_check_answer(c, line, len, q->want_id, q->opname, &broken, &err);
        if (broken)
            sim_pipeline_fail(c->pipe);
    }
    q->fn(q, rc, line, len, &err);
    free(q);
}

static void piped_early(void *arg)
{
    struct piped *q = arg;
    q->fn(q, -q->early.code, NULL, 0, &q->early);
    free(q);
}

/* Send req (freed here) on the pipeline; q (taken) hears of its end, always later. */
static void pipe_request(struct sim_ctx *c, struct xend_sxp *req, struct piped *q)
{
    q->c = c;
    size_t len;
    char *text =
        sim_req_line(c, req, &len, q->want_id, sizeof(q->want_id), q->opname, sizeof(q->opname));
    if (c->pipe == NULL)
        c->pipe = sim_pipeline_new(c->self, c->host, pipe_dial, c, SIM_REPLY_TIMEOUT_MS);
    int r = sim_pipeline_send(c->pipe, text, len, piped_reply, q);
    free(text);
    if (r == 0)
        return;
    xend_err_set(&q->early, XEND_EBACKEND, "cannot connect to xend-simhv at %s: %s", c->socket_path,
                 strerror(-r));
    if (c->host->loop->post(piped_early, q) < 0)
        abort(); /* post fails only when the loop is gone */
}

static void make_replied(struct piped *q, int rc, const char *line, size_t len,
                         const struct xend_err *err)
{
    struct sim_dom_scan ds = {0};
    struct xend_err e = {0};
    if (rc == 0) {
        bool broken = false;
        rc = sim_doms_fn(q->c, line, len, q->opname, &ds, &broken, &e);
        if (rc == 0 && ds.count != 1)
            rc = xend_err_set(&e, XEND_EBACKEND, "xend-simhv reply lacks the domain");
        if (rc < 0)
            sim_pipeline_fail(q->c->pipe); /* (a domain it made may be left: it is held) */
        err = &e;
    }
    if (rc == 0)
        q->done(q->arg, 0, &ds.v[0], NULL);
    else
        q->done(q->arg, rc, NULL, err);
    free(ds.v);
}

void sim_dom_create_async(void *ctx, const struct xend_dom_create *args,
                          const struct xend_dom_image *image, xend_dom_created_fn *done, void *arg)
{
    struct sim_ctx *c = ctx;
    struct xend_sxp *r = sim_create_req(c, "dom_make", args);
    sim_image_args(c, r, image);
    if (XEND_HAS_MEMBER(args, flags) && (args->flags & XEND_DOM_CREATE_HOLD))
        c->sxp->add_kv_int(r, "hold", 1);
    struct piped *q = piped_new(make_replied);
    q->done = done;
    q->arg = arg;
    pipe_request(c, r, q);
}

static void confirm_replied(struct piped *q, int rc, const char *line, size_t len,
                            const struct xend_err *err)
{
    (void)line;
    (void)len;
    if (rc < 0)
        q->c->host->log->emit(q->c->self, XEND_LOG_WARN, "domain confirm failed",
                              "id=%u error=\"%s\"", q->domid, err->msg);
}

/*
 * Written now, answered later: what counts is that simhv reads it before any hang-up, so
 * it is in the socket before this returns (and before xend acknowledges the create).
 */
int sim_dom_confirm(void *ctx, uint32_t domid, struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    struct piped *q = piped_new(confirm_replied);
    q->domid = domid;
    pipe_request(c, sim_req_dom(c, "dom_confirm", domid), q);
    int r = c->pipe ? sim_pipeline_flush(c->pipe, SIM_REPLY_TIMEOUT_MS) : -EPIPE;
    if (r < 0)
        return xend_err_set(err, XEND_EBACKEND, "cannot confirm domain %u to xend-simhv: %s", domid,
                            strerror(-r));
    return 0;
}

static void destroy_replied(struct piped *q, int rc, const char *line, size_t len,
                            const struct xend_err *err)
{
    (void)line;
    (void)len;
    q->op_done(q->arg, rc, rc < 0 ? err : NULL);
}

void sim_dom_destroy_async(void *ctx, uint32_t domid, xend_dom_done_fn *done, void *arg)
{
    struct sim_ctx *c = ctx;
    struct piped *q = piped_new(destroy_replied);
    q->op_done = done;
    q->arg = arg;
    pipe_request(c, sim_req_dom(c, "dom_destroy", domid), q);
    /* Written now, not on the loop's next turn: under load that turn comes after every
     * client the loop found ready, and a destroy's caller already waits for two more (the
     * answer, the store). What the socket does not take goes as usual. */
    if (c->pipe != NULL)
        (void)sim_pipeline_flush(c->pipe, 0);
}
