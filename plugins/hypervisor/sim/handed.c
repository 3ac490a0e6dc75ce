/*
 * Save and restore through a descriptor handed to xend-simhv (sim.h; docs/simhv.md,
 * "Handed descriptors"): the image goes between simhv and the caller's socket (the
 * relocation connection) directly, with no hop through xend; only the control stays here.
 * simhv tells its progress (and a live save's rounds) on the request's connection; each
 * progress is the core's progress call, which may pace the stream by sleeping or stop it,
 * and after it the plugin grants simhv credit: how many bytes it may have moved through
 * the descriptor in all. The credit reaches `window` past what the last progress said, so
 * no more of the image than that waits ahead of the core's pace: about 100 ms of a rate
 * limit, so that a live save's last round does not queue behind seconds of earlier ones.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim.h"

/* How far ahead of the last progress call simhv may run: a tenth of a second of the rate,
 * within these bounds, and the most when there is no rate: 16 reports' worth, so that simhv
 * does not wait for a grant while this worker waits for a cpu on a busy machine (at 2 GB/s
 * a 4 MiB window was 2 ms). It reports four times a window, at least every MiB (the core
 * wants a progress call that often). */
#define WINDOW_MIN ((uint64_t)16 * 1024)
#define WINDOW_MAX ((uint64_t)16 * 1024 * 1024)
#define WINDOW_PER_S 10u
#define REPORTS_PER_WINDOW 4u
#define REPORT_MAX ((uint64_t)1024 * 1024)
/* A control record is small: a progress or round, an abort's message. */
#define CTL_MAX ((uint32_t)64 * 1024)

bool sim_handed_fits(const struct sim_ctx *c, int fd)
{
    struct stat st;
    return c->proto >= SIM_PROTO_HANDED && fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

static uint64_t window_for(uint64_t rate_bytes_s)
{
    if (rate_bytes_s == 0)
        return WINDOW_MAX;
    uint64_t w = rate_bytes_s / WINDOW_PER_S;
    return w < WINDOW_MIN ? WINDOW_MIN : w > WINDOW_MAX ? WINDOW_MAX : w;
}

static long long report_every(uint64_t window)
{
    uint64_t r = window / REPORTS_PER_WINDOW;
    return (long long)(r < REPORT_MAX ? r : REPORT_MAX);
}

static int grant(int sock, uint64_t limit, struct xend_err *err)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(limit >> (8 * i));
    int r = sim_send_all(sock, b, sizeof(b), sim_now_ms() + SIM_STREAM_TIMEOUT_MS);
    return r < 0 ? sim_io_err(err, "granting xend-simhv credit", r) : 0;
}

/*
 * Told to stop: closing our side stops simhv's save (a guest it paused runs again) or
 * drops its half-made domain. Waiting for it to close its side means that is done when
 * the op returns.
 */
static void stop(int sock)
{
    shutdown(sock, SHUT_WR);
    uint64_t deadline = sim_now_ms() + SIM_STREAM_TIMEOUT_MS;
    char buf[4096];
    struct pollfd p = {.fd = sock, .events = POLLIN};
    while (sim_now_ms() < deadline && poll(&p, 1, 100) >= 0) {
        ssize_t n = recv(sock, buf, sizeof(buf), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            return;
    }
}

struct run {
    struct sim_ctx *c;
    int sock;
    uint64_t window;
    xend_progress_fn *progress;
    void *progress_arg;
    const struct xend_save_args *save; /* a save's, for its rounds; NULL for a restore */
    uint32_t *domid;                   /* a restore's */
};

/* A restore's reply line, simhv's last word (an early one is a refusal). */
static int restore_line(struct run *r, struct xend_err *err)
{
    char *line = NULL;
    int n = sim_read_line(r->sock, &line, sim_now_ms() + SIM_STREAM_TIMEOUT_MS);
    if (n < 0)
        return sim_io_err(err, "waiting for xend-simhv to finish the restore", n);
    int rc = sim_restore_answer(r->c, line, r->domid, err);
    free(line);
    return rc;
}

/* Control records until the end: 0, or an error (simhv stopped by then). */
static int run_records(struct run *r, uint64_t total, struct xend_err *err)
{
    uint8_t *buf = malloc(8 + CTL_MAX);
    if (buf == NULL)
        abort(); /* the ABI's OOM policy */
    int rc = sim_report(0, total, r->progress, r->progress_arg, err);
    if (rc == 0)
        rc = grant(r->sock, r->window, err);
    uint64_t done = 0;
    while (rc == 0) {
        /* A long stream is fine, a stalled one is not: a fresh deadline per record. */
        uint64_t deadline = sim_now_ms() + SIM_STREAM_TIMEOUT_MS;
        int w = sim_wait_fd(r->sock, POLLIN, deadline);
        if (w == 0 && r->domid != NULL && recv(r->sock, buf, 1, MSG_PEEK | MSG_DONTWAIT) == 1 &&
            buf[0] == '(') {
            rc = restore_line(r, err);
            if (rc == 0) /* whatever the last progress said, the image is whole */
                rc = sim_report(done, total, r->progress, r->progress_arg, err);
            break;
        }
        if (w < 0 || (w = sim_recv_exact(r->sock, buf, 8, deadline)) < 0) {
            rc = sim_io_err(err, "following xend-simhv's transfer", w);
            break;
        }
        uint32_t type = sim_le32(buf), len = sim_le32(buf + 4);
        if (len > CTL_MAX) {
            rc = xend_err_set(err, XEND_EBACKEND, "xend-simhv sent a record of %u bytes", len);
            break;
        }
        if ((w = sim_recv_exact(r->sock, buf + 8, len, deadline)) < 0) {
            rc = sim_io_err(err, "following xend-simhv's transfer", w);
            break;
        }
        if (type == SIM_CTL_PROGRESS && len >= 24) {
            uint64_t moved = sim_le64(buf + 8);
            done = sim_le64(buf + 16);
            if (sim_le64(buf + 24) > 0)
                total = sim_le64(buf + 24);
            rc = sim_report(done, total, r->progress, r->progress_arg, err);
            if (rc == 0)
                rc = grant(r->sock, moved + r->window, err);
        } else if (type == SIM_REC_ROUND && r->save != NULL) {
            sim_round_report(buf, len, r->save);
        } else if (type == SIM_REC_ABORT) {
            rc = sim_save_aborted(buf + 8, len, err);
        } else if (type == SIM_REC_END && r->save != NULL && len >= 16) {
            done = sim_le64(buf + 16);
            sim_report(done, total, r->progress, r->progress_arg, err);
            break;
        } else {
            rc = xend_err_set(err, XEND_EBACKEND, "xend-simhv sent a control record of type %u",
                              type);
        }
    }
    free(buf);
    if (rc < 0)
        stop(r->sock);
    return rc;
}

int sim_handed_save(struct sim_ctx *c, struct xend_sxp *req, int fd,
                    const struct xend_save_args *args, struct xend_err *err)
{
    uint64_t rate = XEND_HAS_MEMBER(args, rate_bytes_s) ? args->rate_bytes_s : 0;
    struct run r = {.c = c,
                    .window = window_for(rate),
                    .progress = args->progress,
                    .progress_arg = args->progress_arg,
                    .save = args};
    c->sxp->add_kv_int(req, "fd", 1);
    c->sxp->add_kv_int(req, "report", report_every(r.window));
    struct xend_sxp *rep = NULL;
    int rc = sim_stream(c, req, false, fd, &rep, &r.sock, err);
    if (rc < 0)
        return rc;
    uint64_t total = 0;
    sim_reply_u64(c, rep, "pages", &total, NULL);
    c->sxp->free(rep);
    rc = run_records(&r, total, err);
    close(r.sock);
    return rc;
}

int sim_handed_restore(struct sim_ctx *c, int fd, const struct xend_dom_create *args,
                       uint32_t *domid, xend_progress_fn *progress, void *progress_arg,
                       struct xend_err *err)
{
    /* A restore's transfer has no rate the backend is told of: the widest window. */
    struct run r = {.c = c,
                    .window = WINDOW_MAX,
                    .progress = progress,
                    .progress_arg = progress_arg,
                    .domid = domid};
    struct xend_sxp *req = sim_create_req(c, "restore", args);
    c->sxp->add_kv_int(req, "fd", 1);
    c->sxp->add_kv_int(req, "report", report_every(r.window));
    char want_id[32], opname[32];
    size_t len;
    char *text = sim_req_line(c, req, &len, want_id, sizeof(want_id), opname, sizeof(opname));
    int rc = sim_connect(c, false, &r.sock, err);
    if (rc < 0) {
        free(text);
        return rc;
    }
    /* simhv answers a restore at its end (or to refuse it): no reply to wait for now. */
    int w = sim_send_fd(r.sock, text, len, fd, sim_now_ms() + SIM_REPLY_TIMEOUT_MS);
    free(text);
    rc = w < 0 ? sim_lost(c, opname, w, NULL, err) : run_records(&r, 0, err);
    close(r.sock);
    return rc;
}
