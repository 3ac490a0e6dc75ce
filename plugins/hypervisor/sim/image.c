/*
 * Save and restore: simhv's image streamed between its socket and the caller's fd, on a
 * worker thread (sim.h), where the fd cannot be handed to simhv (handed.c).
 */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim.h"

uint32_t sim_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t sim_le64(const uint8_t *p)
{
    return (uint64_t)sim_le32(p) | (uint64_t)sim_le32(p + 4) << 32;
}

int sim_io_err(struct xend_err *err, const char *what, int r)
{
    return xend_err_set(err, r == -ETIMEDOUT ? XEND_ETIMEDOUT : XEND_EIO, "%s: %s", what,
                        r == -EPIPE ? "stream ended early" : strerror(-r));
}

/* Where a record stream comes from: its name in messages, and how a too long record is
 * judged (simhv breaking the protocol, or a bad file). */
struct record_source {
    const char *reading; /* "reading the image from xend-simhv" */
    int too_long_code;
    const char *too_long_fmt; /* printf with the length */
};

/*
 * Read one record (8-byte type and length, then the payload) from fd into buf, within a
 * fresh stream deadline (*deadline, which the caller may use to pass the record on): a long
 * stream is fine, a stalled one is not. Of a PAGES record only its page count is read (buf
 * holds 12 bytes): its pages are the caller's to move (sim_move). 0, or a negative code
 * with err set.
 */
static int read_record(int fd, uint8_t *buf, const struct record_source *src, uint32_t *type,
                       uint32_t *len, uint64_t *deadline, struct xend_err *err)
{
    *deadline = sim_now_ms() + SIM_STREAM_TIMEOUT_MS;
    int r = sim_recv_exact(fd, buf, 8, *deadline);
    if (r < 0)
        return sim_io_err(err, src->reading, r);
    *type = sim_le32(buf);
    *len = sim_le32(buf + 4);
    if (*len > SIM_REC_MAX)
        return xend_err_set(err, src->too_long_code, src->too_long_fmt, *len);
    uint32_t head = *type == SIM_REC_PAGES && *len >= 4 ? 4 : *len;
    if ((r = sim_recv_exact(fd, buf + 8, head, *deadline)) < 0)
        return sim_io_err(err, src->reading, r);
    return 0;
}

/* What read_record left of a record, its pages, from `from` to `to`; else nothing. */
static uint32_t record_rest(uint32_t type, uint32_t len)
{
    return type == SIM_REC_PAGES && len >= 4 ? len - 4 : 0;
}

int sim_report(uint64_t done, uint64_t total, xend_progress_fn *progress, void *progress_arg,
               struct xend_err *err)
{
    int verdict = progress != NULL ? progress(progress_arg, done, done > total ? done : total) : 0;
    if (verdict >= 0)
        return 0;
    return xend_err_set(err, -verdict, "%s", xend_strerror(verdict));
}

/* A record passed on: count its pages and report. */
static int record_progress(const uint8_t *buf, uint32_t type, uint32_t len, uint64_t *done,
                           uint64_t total, xend_progress_fn *progress, void *progress_arg,
                           struct xend_err *err)
{
    if (type == SIM_REC_PAGES && len >= 4)
        *done += sim_le32(buf + 8);
    return sim_report(*done, total, progress, progress_arg, err);
}

/*
 * Told to stop: a byte on the save's stream stops simhv's save, which resumes a guest it
 * paused (simhv/image.h); it then ends the stream. Waiting for that end means the guest is
 * as it was when sim_save returns.
 */
static void save_stop(int sock, uint8_t *buf, uint64_t deadline)
{
    if (sim_send_all(sock, "x", 1, deadline) < 0)
        return;
    shutdown(sock, SHUT_WR);
    struct pollfd p = {.fd = sock, .events = POLLIN};
    while (sim_now_ms() < deadline && poll(&p, 1, 100) >= 0) {
        ssize_t n = recv(sock, buf, SIM_REC_MAX, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            return;
    }
}

void sim_round_report(const uint8_t *buf, uint32_t len, const struct xend_save_args *a)
{
    if (a->round == NULL || len < 48)
        return;
    const uint8_t *p = buf + 8;
    struct xend_save_round r = {
        .size = sizeof(r),
        .round = sim_le32(p),
        .last = sim_le32(p + 4),
        .pages = sim_le64(p + 8),
        .ns = sim_le64(p + 16),
        .dirty_pages = sim_le64(p + 24),
        .throttle_pct = sim_le32(p + 32),
        .paused_at_ns = sim_le64(p + 40),
    };
    a->round(a->progress_arg, &r);
}

int sim_save_aborted(const uint8_t *payload, uint32_t len, struct xend_err *err)
{
    uint32_t code = len >= 4 ? sim_le32(payload) : XEND_EBACKEND;
    if (code == 0 || code >= XEND_ERROR_COUNT)
        code = XEND_EBACKEND;
    return xend_err_set(err, (int)code, "save failed: %.*s", len >= 4 ? (int)len - 4 : 0,
                        (const char *)payload + 4);
}

int sim_save(void *ctx, uint32_t domid, int fd, bool live, xend_progress_fn *progress,
             void *progress_arg, struct xend_err *err)
{
    struct xend_save_args a = {
        .size = sizeof(a), .live = live, .progress = progress, .progress_arg = progress_arg};
    return sim_save_with(ctx, domid, fd, &a, err);
}

int sim_save_with(void *ctx, uint32_t domid, int fd, const struct xend_save_args *args,
                  struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    struct xend_sxp *rep = NULL;
    int sock;
    xend_progress_fn *progress = args->progress;
    void *progress_arg = args->progress_arg;
    struct xend_sxp *req = c->sxp->add_kv_int(sim_req_dom(c, "save", domid), "live", args->live);
    /* simhv counts pages of 4 KiB */
    if (args->max_rounds)
        c->sxp->add_kv_int(req, "max_rounds", args->max_rounds);
    if (args->max_last_kb)
        c->sxp->add_kv_int(req, "max_last_pages",
                           (long long)(args->max_last_kb < 4 ? 1 : args->max_last_kb / 4));
    if (sim_handed_fits(c, fd))
        return sim_handed_save(c, req, fd, args, err);
    int rc = sim_stream(c, req, false, -1, &rep, &sock, err);
    if (rc < 0)
        return rc;
    uint64_t total = 0, done = 0;
    sim_reply_u64(c, rep, "pages", &total, NULL);
    c->sxp->free(rep);

    struct sim_mover mover;
    sim_mover_open(&mover);
    uint8_t *buf = malloc(SIM_REC_MAX + 16);
    if (buf == NULL)
        abort();
    uint64_t deadline = sim_now_ms() + SIM_STREAM_TIMEOUT_MS;
    int r = sim_recv_exact(sock, buf, 16, deadline);
    if (r < 0) {
        rc = sim_io_err(err, "reading the image from xend-simhv", r);
        goto out;
    }
    uint32_t hlen = sim_le32(buf + 12);
    if (memcmp(buf, SIM_IMAGE_MAGIC, 8) != 0 || hlen > SIM_REC_MAX) {
        rc = xend_err_set(err, XEND_EBACKEND, "xend-simhv sent a bad image header");
        goto out;
    }
    if ((r = sim_recv_exact(sock, buf + 16, hlen, deadline)) < 0 ||
        (r = sim_write_all(fd, buf, 16 + hlen, deadline)) < 0) {
        rc = sim_io_err(err, "saving the image header", r);
        goto out;
    }
    /* The first report as the pages start, not after the first record: a record is up to
     * 255 pages, a quarter of a small guest, and a cancel or a rate limit acts here too. */
    if ((rc = sim_report(0, total, progress, progress_arg, err)) < 0) {
        save_stop(sock, buf, deadline);
        goto out;
    }
    static const struct record_source from_simhv = {
        "reading the image from xend-simhv", XEND_EBACKEND, "xend-simhv sent a record of %u bytes"};
    for (;;) {
        uint32_t type, len;
        if ((rc = read_record(sock, buf, &from_simhv, &type, &len, &deadline, err)) < 0)
            goto out;
        if (type == SIM_REC_ABORT) {
            rc = sim_save_aborted(buf + 8, len, err);
            goto out;
        }
        if (type == SIM_REC_ROUND) {
            sim_round_report(buf, len, args);
            continue;
        }
        uint32_t rest = record_rest(type, len);
        if ((r = sim_write_all(fd, buf, 8 + len - rest, deadline)) < 0 ||
            (r = sim_move(&mover, sock, fd, rest, buf, deadline)) < 0) {
            rc = sim_io_err(err, "moving the image from xend-simhv", r);
            goto out;
        }
        if (type != SIM_REC_END &&
            (rc = record_progress(buf, type, len, &done, total, progress, progress_arg, err)) < 0) {
            save_stop(sock, buf, deadline);
            goto out;
        }
        if (type == SIM_REC_END) {
            record_progress(buf, type, len, &done, total, progress, progress_arg, err);
            break;
        }
    }
out:
    sim_mover_close(&mover);
    free(buf);
    close(sock);
    return rc;
}

/* simhv's (err ID CODE MSG) as an error; dflt where its code is not one of ours. */
static int answer_error(struct sim_ctx *c, const struct xend_sxp *rep, int dflt,
                        struct xend_err *err)
{
    const char *ct = c->sxp->atom_text(c->sxp->nth(rep, 2));
    const char *m = c->sxp->atom_text(c->sxp->nth(rep, 3));
    long code = ct ? strtol(ct, NULL, 10) : dflt;
    if (code <= 0 || code >= XEND_ERROR_COUNT)
        code = dflt;
    return xend_err_set(err, (int)code, "%s", m ? m : xend_strerror((int)code));
}

/* simhv answered before the stream ended (it refused the image): its error, or EIO. */
static int restore_early_reply(struct sim_ctx *c, int sock, const char *want_id,
                               struct xend_err *err)
{
    char *line = NULL;
    if (sim_read_line(sock, &line, sim_now_ms() + 1000) < 0)
        return xend_err_set(err, XEND_EIO, "xend-simhv dropped the restore");
    struct xend_sxp *rep = NULL;
    char msg[64];
    int rc = -XEND_EIO;
    if (c->sxp->parse(line, strlen(line), NULL, &rep, msg, sizeof(msg)) == 0 &&
        c->sxp->name(rep) != NULL && strcmp(c->sxp->name(rep), "err") == 0 &&
        c->sxp->atom_text(c->sxp->nth(rep, 1)) != NULL &&
        strcmp(c->sxp->atom_text(c->sxp->nth(rep, 1)), want_id) == 0) {
        rc = answer_error(c, rep, XEND_EIO, err);
    } else {
        xend_err_set(err, XEND_EIO, "xend-simhv dropped the restore");
    }
    c->sxp->free(rep);
    free(line);
    return rc;
}

int sim_restore_answer(struct sim_ctx *c, const char *line, uint32_t *domid, struct xend_err *err)
{
    struct xend_sxp *rep = NULL;
    char msg[64];
    if (c->sxp->parse(line, strlen(line), NULL, &rep, msg, sizeof(msg)) < 0 ||
        c->sxp->name(rep) == NULL) {
        c->sxp->free(rep);
        return xend_err_set(err, XEND_EBACKEND, "xend-simhv sent a bad reply to restore");
    }
    int rc;
    if (strcmp(c->sxp->name(rep), "ok") == 0) {
        uint64_t id = 0;
        rc = sim_reply_u64(c, rep, "domid", &id, err);
        *domid = (uint32_t)id;
    } else {
        rc = answer_error(c, rep, XEND_EBACKEND, err);
    }
    c->sxp->free(rep);
    return rc;
}

int sim_restore(void *ctx, int fd, const struct xend_dom_create *args, uint32_t *domid,
                xend_progress_fn *progress, void *progress_arg, struct xend_err *err)
{
    struct sim_ctx *c = ctx;
    if (sim_handed_fits(c, fd))
        return sim_handed_restore(c, fd, args, domid, progress, progress_arg, err);
    struct sim_mover mover;
    sim_mover_open(&mover);
    uint8_t *buf = malloc(SIM_REC_MAX + 16);
    if (buf == NULL)
        abort();
    int sock = -1, rc = 0;
    char *line = NULL, *text = NULL;
    uint64_t deadline = sim_now_ms() + SIM_STREAM_TIMEOUT_MS;
    int r = sim_recv_exact(fd, buf, 16, deadline);
    if (r < 0) {
        rc = sim_io_err(err, "reading the image", r);
        goto out;
    }
    uint32_t hlen = sim_le32(buf + 12);
    if (memcmp(buf, SIM_IMAGE_MAGIC, 8) != 0 || hlen == 0 || hlen > SIM_REC_MAX) {
        rc = xend_err_set(err, XEND_EINVAL, "not a simhv image");
        goto out;
    }
    if ((r = sim_recv_exact(fd, buf + 16, hlen, deadline)) < 0) {
        rc = sim_io_err(err, "reading the image header", r);
        goto out;
    }
    uint64_t total = 0, done = 0;
    struct xend_sxp *h = NULL;
    char msg[64];
    if (c->sxp->parse((const char *)buf + 16, hlen, NULL, &h, msg, sizeof(msg)) == 0) {
        long long p = 0;
        if (c->sxp->child_int(h, "pages", &p) == 0 && p > 0)
            total = (uint64_t)p;
        c->sxp->free(h);
    }

    struct xend_sxp *req = sim_create_req(c, "restore", args);
    char want_id[32];
    snprintf(want_id, sizeof(want_id), "%s", c->sxp->atom_text(c->sxp->nth(req, 1)));
    text = c->sxp->print(req);
    c->sxp->free(req);
    rc = sim_connect(c, false, &sock, err);
    if (rc < 0)
        goto out;
    /* A unix socket holds what its sender's buffer allows (200 KiB by default): a larger one
     * lets each of simhv's reads take more, and there are fewer wake-ups on both sides. */
    int sz = SIM_STREAM_SOCKBUF;
    (void)setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    size_t tlen = strlen(text);
    if (sim_send_all(sock, text, tlen, deadline) < 0 || sim_send_all(sock, "\n", 1, deadline) < 0 ||
        sim_send_all(sock, buf, 16 + hlen, deadline) < 0) {
        rc = restore_early_reply(c, sock, want_id, err);
        goto out;
    }
    static const struct record_source from_file = {"reading the image", XEND_EINVAL,
                                                   "image record of %u bytes is too large"};
    /* As a save does: the first report before the first record (told to stop: the closed
     * stream makes simhv drop the half-made domain). */
    if ((rc = sim_report(0, total, progress, progress_arg, err)) < 0)
        goto out;
    for (;;) {
        uint32_t type, len;
        if ((rc = read_record(fd, buf, &from_file, &type, &len, &deadline, err)) < 0)
            goto out;
        /* simhv speaks before the end only to refuse: stop feeding it then. */
        struct pollfd p = {.fd = sock, .events = POLLIN};
        uint32_t rest = record_rest(type, len);
        if (poll(&p, 1, 0) > 0 || sim_send_all(sock, buf, 8 + len - rest, deadline) < 0) {
            rc = restore_early_reply(c, sock, want_id, err);
            goto out;
        }
        if ((r = sim_move(&mover, fd, sock, rest, buf, deadline)) < 0) {
            /* simhv's refusal closes its end: its reason says more than the cut */
            rc = poll(&p, 1, 0) > 0 ? restore_early_reply(c, sock, want_id, err)
                                    : sim_io_err(err, "reading the image", r);
            goto out;
        }
        /* Told to stop: the closed stream makes simhv drop the half-made domain. */
        if ((rc = record_progress(buf, type, len, &done, total, progress, progress_arg, err)) < 0)
            goto out;
        if (type == SIM_REC_END)
            break;
    }
    if ((r = sim_read_line(sock, &line, sim_now_ms() + SIM_STREAM_TIMEOUT_MS)) < 0) {
        rc = sim_io_err(err, "waiting for xend-simhv to finish the restore", r);
        goto out;
    }
    rc = sim_restore_answer(c, line, domid, err);
out:
    sim_mover_close(&mover);
    if (sock >= 0)
        close(sock);
    free(line);
    free(text);
    free(buf);
    return rc;
}
