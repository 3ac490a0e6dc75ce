/*
 * Progress of long operations (see progress.h).
 */
#include "progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "cmd.h"
#include "http.h"
#include "sxp.h"

void xm_progress_begin(struct xm_progress *p, struct xm_client *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    *p = (struct xm_progress){.downtime_ms = -1};
    vsnprintf(p->label, sizeof(p->label), fmt, ap);
    va_end(ap);
    p->enabled = isatty(STDERR_FILENO) == 1;
    if (c != NULL) {
        c->tick = xm_progress_tick;
        c->tick_arg = p;
    }
    if (p->enabled) {
        fprintf(stderr, "%s...", p->label);
        fflush(stderr);
    }
}

/* Call fn on the value of each event named `event` after p->since; p->since moves on. */
static void fetch_events(struct xm_progress *p, const char *event,
                         void (*fn)(struct xm_progress *p, const struct xend_sxp *value))
{
    const struct xm_endpoint *ep = &p->ctx->client.ep;
    struct xend_buf target = XEND_BUF_INIT;
    xm_client_path(ep, "event", false, &target);
    xend_buf_printf(&target, "?since=%lld&pattern=%s", p->since, event);
    struct xm_http_request req = {.method = "GET", .target = xend_buf_str(&target)};
    struct xm_http_response resp = XM_HTTP_RESPONSE_INIT;
    bool failed = false;
    struct xend_err err = {0};
    if (xm_http_do(ep, &req, &resp, NULL, NULL, &failed, &err) == 0 && resp.status == 200) {
        const char *s = xend_buf_str(&resp.body);
        for (const char *nl; (nl = strchr(s, '\n')) != NULL; s = nl + 1) {
            struct xend_sxp *ev = NULL;
            char msg[64];
            if (xend_sxp_parse(s, (size_t)(nl - s), NULL, &ev, msg, sizeof(msg)) != 0 || ev == NULL)
                continue;
            long long seq = 0;
            if (xend_sxp_child_int(ev, "seq", &seq) == 0 && seq > p->since)
                p->since = seq;
            if (fn != NULL && xend_sxp_child(ev, "value") != NULL)
                fn(p, xend_sxp_nth(xend_sxp_child(ev, "value"), 1));
            xend_sxp_free(ev);
        }
    }
    xm_http_response_free(&resp);
    xend_buf_free(&target);
}

static uint64_t kv(const struct xend_sxp *v, const char *key)
{
    long long n = 0;
    return xend_sxp_child_int(v, key, &n) == 0 && n > 0 ? (uint64_t)n : 0;
}

/* (NAME ID OP (done D) (total T) (percent P) (bytes B) (bytes_per_s R)) */
static void take_progress(struct xm_progress *p, const struct xend_sxp *v)
{
    const char *name = xend_sxp_atom_text(xend_sxp_nth(v, 0));
    const char *op = xend_sxp_atom_text(xend_sxp_nth(v, 2));
    if (name == NULL || op == NULL || strcmp(op, p->op) != 0 ||
        (p->name[0] != '\0' && strcmp(name, p->name) != 0))
        return;
    p->have = true;
    p->done = kv(v, "done");
    p->total = kv(v, "total");
    p->bytes = kv(v, "bytes");
    p->bytes_per_s = kv(v, "bytes_per_s");
    p->round = kv(v, "round");
    p->round_bytes = kv(v, "round_bytes");
    p->dirty_bytes_per_s = kv(v, "dirty_bytes_per_s");
    p->last_round = kv(v, "last") != 0;
}

void xm_progress_follow(struct xm_progress *p, const struct xm_ctx *ctx, const char *name,
                        const char *op)
{
    if (!p->enabled)
        return;
    p->ctx = ctx;
    p->op = op;
    snprintf(p->name, sizeof(p->name), "%s", name != NULL ? name : "");
    /* Only what comes after now: the history may hold an earlier transfer's events. */
    fetch_events(p, "xend.domain.progress", NULL);
}

void xm_progress_describe(const struct xm_progress *p, char *out, size_t len)
{
    out[0] = '\0';
    if (!p->have)
        return;
    /* The image's bytes are known only as they go: its total is estimated from the
     * backend's pages (a live migration's later rounds make it grow). */
    uint64_t total = p->done > 0 && p->total > p->done
                         ? (uint64_t)((long double)p->bytes * p->total / p->done)
                         : p->bytes;
    unsigned pct = p->total ? (unsigned)(p->done >= p->total ? 100 : p->done * 100 / p->total) : 0;
    int n = snprintf(out, len, "%u%% %.1f/%.1f MB at %.1f Mbit/s", pct, p->bytes / 1e6, total / 1e6,
                     p->bytes_per_s * 8 / 1e6);
    if (p->round == 0 || n < 0 || (size_t)n >= len)
        return;
    if (p->last_round)
        snprintf(out + n, len - (size_t)n, ", last round %llu: %.1f MB",
                 (unsigned long long)p->round, p->round_bytes / 1e6);
    else
        snprintf(out + n, len - (size_t)n, ", round %llu: %.1f MB, dirtied at %.1f MB/s",
                 (unsigned long long)p->round, p->round_bytes / 1e6, p->dirty_bytes_per_s / 1e6);
}

void xm_progress_tick(void *arg, unsigned elapsed_s)
{
    struct xm_progress *p = arg;
    p->elapsed = elapsed_s;
    if (!p->enabled)
        return;
    if (p->ctx != NULL)
        fetch_events(p, "xend.domain.progress", take_progress);
    char what[192];
    xm_progress_describe(p, what, sizeof(what));
    /* \r and clear-to-end-of-line: the line is rewritten in place */
    fprintf(stderr, "\r%s... %s%s%us\033[K", p->label, what, what[0] ? " " : "", elapsed_s);
    fflush(stderr);
}

void xm_progress_clear(struct xm_progress *p)
{
    if (!p->enabled)
        return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
}

/* (NAME done (downtime_ms N)): the sender's end of a migration. */
static void take_downtime(struct xm_progress *p, const struct xend_sxp *v)
{
    const char *name = xend_sxp_atom_text(xend_sxp_nth(v, 0));
    long long ms;
    if (name != NULL && strcmp(name, p->name) == 0 &&
        xend_sxp_child_int(v, "downtime_ms", &ms) == 0)
        p->downtime_ms = ms;
}

void xm_progress_end(struct xm_progress *p, struct xm_client *c, bool ok)
{
    if (c != NULL) {
        c->tick = NULL;
        c->tick_arg = NULL;
    }
    if (!p->enabled)
        return;
    char what[256] = "";
    if (p->ctx != NULL && ok) {
        fetch_events(p, "xend.domain.progress", take_progress);
        char moved[192];
        xm_progress_describe(p, moved, sizeof(moved));
        /* "100% 16.8/16.8 MB at 63.9 Mbit/s" reads as "16.8 MB at 63.9 Mbit/s" once done */
        const char *tail = strchr(moved, '/');
        if (tail != NULL)
            snprintf(what, sizeof(what), ", %s", tail + 1);
        if (p->live) {
            fetch_events(p, "xend.domain.migrate", take_downtime);
            size_t n = strlen(what);
            if (p->downtime_ms >= 0)
                snprintf(what + n, sizeof(what) - n, ", downtime %lld ms", p->downtime_ms);
        }
    }
    fprintf(stderr, "\r%s... %s (%us%s)\033[K\n", p->label, ok ? "done" : "failed", p->elapsed,
            what);
    fflush(stderr);
}
