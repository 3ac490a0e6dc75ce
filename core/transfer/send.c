/*
 * Sending a domain: a save to a file, a migration to another xend's relocation port. The
 * sender's side of the two-phase hand-over (handover.h): nothing is let go before the
 * file is complete or the receiver holds the domain durably; a durable (transfer ...) mark
 * lets a start put the domain back as it was if neither happened (docs/durability.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "confine.h"
#include "crashpoint.h"
#include "domain_table.h"
#include "event/event.h"
#include "handover.h"
#include "hv.h"
#include "lifecycle.h"
#include "lifecycle/lifecycle_internal.h"
#include "log/log.h"
#include "event_loop.h"
#include "record_limits.h"
#include "transfer/internal.h"
#include "wire.h"

struct send {
    struct xend_domain *dom;
    char key[33]; /* the domain's store key */
    char name[64];
    char token[33]; /* save: ties the record's (transfer ...) mark to the file it wrote */
    uint32_t domid;
    int fd;                     /* the save file, or conn's descriptor */
    struct xend_tls_conn *conn; /* migrate: the connection to the destination */
    char *path;                 /* save: the file (made by the worker) */
    bool created;               /* save: the worker made path, so a failure may remove it */
    char *host, *port;          /* migrate */
    bool live;
    bool was_paused;
    uint64_t image_end_ns; /* when the backend wrote the image's last round */
    uint64_t paused_ns;    /* when the guest stopped running for the transfer (0: unknown) */
    uint64_t downtime_ms;  /* migrate: from then to the destination's (ok), an upper bound */
    struct xend_transfer_progress progress; /* the worker's reports */
    struct xend_transfer_ctl ctl;           /* cancel and rate limit */
    bool stops;      /* the backend stops when its progress callback says so */
    bool image_sent; /* migrate: the whole image went; the destination waits for a word */
    /* The config before the SAVE hooks (owned): they make it what the image carries (the
     * console plugin drops this host's port), and a transfer that fails puts it back. */
    struct xend_sxp *config_before;
    struct xend_sxp *record;
    void (*go)(struct send *s);          /* the kind's next step once the domain is paused */
    xend_lifecycle_done_fn *done;        /* save */
    xend_transfer_migrated_fn *migrated; /* migrate */
    long long dest_id;                   /* migrate: the domain's id at the destination */
    void *arg;
    struct xend_err err;
    int rc;
};

static const char *send_what(const struct send *s)
{
    return s->path ? "xend.domain.save" : "xend.domain.migrate";
}

static void send_free(struct send *s)
{
    xend_transfer_ctl_destroy(&s->ctl);
    if (s->conn)
        xend_tls_conn_close(s->conn);
    else if (s->fd >= 0)
        close(s->fd);
    xend_sxp_free(s->record);
    xend_sxp_free(s->config_before);
    free(s->path);
    free(s->host);
    free(s->port);
    free(s);
}

static void send_reply(struct send *s, struct xend_domain *dom)
{
    if (s->migrated != NULL) {
        struct xend_transfer_migrated where = {s->host, s->port, s->dest_id};
        s->migrated(s->rc, &s->err, s->rc == 0 ? &where : NULL, s->arg);
    } else {
        s->done(s->rc, &s->err, dom, s->arg);
    }
    send_free(s);
}

static void send_unmarked(void *arg, int rc)
{
    struct send *s = arg;
    if (rc < 0)
        xend_log_warn("transfer mark not removed", "domain=%s", s->name);
    send_reply(s, s->dom);
}

/* A cancelled transfer answers that, whatever error the cut left on the way (a backend
 * that cannot stop fails on its cut connection instead). Worker or loop. */
static void send_note_cancel(struct send *s)
{
    if (!xend_transfer_ctl_cancelled(&s->ctl))
        return;
    xend_err_clear(&s->err);
    if (s->path)
        s->rc = xend_err_set(&s->err, XEND_ECANCELED,
                             "Save of domain %s cancelled: no file written", s->name);
    else
        s->rc = xend_err_set(&s->err, XEND_ECANCELED,
                             "Migration of domain %s to %s:%s cancelled: it stays here", s->name,
                             s->host, s->port);
}

/* Nothing was let go: the domain runs on as it was, and its record loses the mark. */
static void send_failed_on_loop(struct send *s)
{
    struct xend_domain *dom = s->dom;
    struct xend_err e = {0};
    if (!s->was_paused && XEND_HV_CALL(dom_unpause, &e, dom->id) < 0)
        xend_log_warn("unpause after failed transfer", "domain=%s error=\"%s\"", dom->name,
                      xend_err_msg(&e));
    dom->busy = false;
    if (s->created && s->path != NULL)
        unlink(s->path);
    if (s->config_before != NULL) {
        xend_sxp_free(dom->config);
        dom->config = s->config_before;
        s->config_before = NULL;
        xend_domain_config_changed(dom);
    }
    xend_domain_set_mark(dom, NULL);
    send_note_cancel(s);
    if (s->rc == -XEND_ECANCELED) {
        xend_log_notice("transfer cancelled", "domain=%s op=%s", dom->name,
                        s->path ? "save" : "migrate");
        xend_lifecycle_emit(send_what(s), dom, "cancelled");
    } else {
        xend_log_warn("transfer failed", "domain=%s error=\"%s\"", dom->name,
                      xend_err_msg(&s->err));
        xend_lifecycle_emit(send_what(s), dom, "error");
    }
    xend_lifecycle_persist(dom, send_unmarked, s);
}

/* The backend's progress callback (worker): report, pace, and say whether to go on. */
static int progress(void *arg, uint64_t done, uint64_t total)
{
    struct send *s = arg;
    int verdict = xend_transfer_ctl_step(&s->ctl, &s->progress, done, total);
    /* A backend that cannot stop is stopped by cutting its stream: a migration's
     * connection (the worker owns it now). A save to a file runs to its end and is
     * dropped there. */
    if (verdict < 0 && !s->stops && s->conn != NULL)
        xend_tls_conn_abort(s->conn);
    return verdict;
}

/* A live save's bounds (xend_transfer_set_live_bounds); loop thread, read by workers that
 * start after it is set. */
static unsigned live_max_rounds;
static uint64_t live_max_last_kb;

void xend_transfer_set_live_bounds(unsigned max_rounds, uint64_t max_last_kb)
{
    live_max_rounds = max_rounds;
    live_max_last_kb = max_last_kb;
}

/* The backend's round callback (worker): the progress event and the log say it; the last
 * round says when the guest stopped running. */
static void round_ended(void *arg, const struct xend_save_round *r)
{
    struct send *s = arg;
    xend_transfer_progress_round(&s->progress, r);
    if (r->last && r->paused_at_ns)
        s->paused_ns = r->paused_at_ns;
}

/* The backend's save, with its rounds reported and bounded where it can (ABI 1.8). Worker. */
static int backend_save(struct send *s, bool live)
{
    void *ctx;
    const struct xend_backend_ops *ops = xend_hv(&ctx);
    if (XEND_HAS_MEMBER(ops, save_with) && ops->save_with != NULL) {
        struct xend_save_args a = {.size = sizeof(a),
                                   .live = live,
                                   .max_rounds = live_max_rounds,
                                   .max_last_kb = live_max_last_kb,
                                   .progress = progress,
                                   .progress_arg = s,
                                   .round = round_ended,
                                   .rate_bytes_s = s->ctl.rate};
        return ops->save_with(ctx, s->domid, s->fd, &a, &s->err);
    }
    return ops->save(ctx, s->domid, s->fd, live, progress, s, &s->err);
}

/* The file's name must survive a crash as well as its bytes. */
static int fsync_parent(const char *path)
{
    char *dir = xend_xstrdup(path);
    char *slash = strrchr(dir, '/');
    slash[slash == dir ? 1 : 0] = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    int rc = fd < 0 || fsync(fd) < 0 ? -1 : 0;
    if (fd >= 0)
        close(fd);
    return rc;
}

/* The image's rate as it went through the file or socket: what a rate limit holds. */
static double send_mbit_s(struct send *s)
{
    uint64_t ns = s->image_end_ns > s->ctl.start_ns ? s->image_end_ns - s->ctl.start_ns : 0;
    return ns ? (double)atomic_load(&s->ctl.bytes) * 8e3 / (double)ns : 0;
}

static void save_source_gone(int rc, const struct xend_err *err, struct xend_domain *dom, void *arg)
{
    (void)dom;
    (void)rc;
    (void)err;
    struct send *s = arg;
    xend_log_info("domain saved", "domain=%s file=%s bytes=%llu mbit_s=%.1f", s->name, s->path,
                  (unsigned long long)atomic_load(&s->ctl.bytes), send_mbit_s(s));
    send_reply(s, NULL);
}

/* Worker thread: every call on the file may block on slow storage. */
static void save_work(void *arg)
{
    struct send *s = arg;
    /* Never over anything (an existing file, a symlink planted where the image goes),
     * and inside save-dir when it is set (confine.h). */
    s->fd = xend_confine_create(s->path, &s->err);
    if (s->fd < 0) {
        s->rc = s->fd;
        s->fd = -1;
        return;
    }
    s->created = true;
    xend_transfer_ctl_start(&s->ctl, s->fd);
    if (xend_transfer_write_header(s->fd, s->record, XEND_IMAGE_MAGIC_PARTIAL) < 0) {
        s->rc = xend_err_set(&s->err, XEND_EIO, "cannot write %s: %s", s->path, strerror(errno));
        return;
    }
    s->rc = xend_transfer_ctl_cancelled(&s->ctl) ? -XEND_ECANCELED : backend_save(s, false);
    xend_transfer_ctl_measure(&s->ctl, 0);
    s->image_end_ns = xend_clock_ns();
    if (s->rc == 0 && (fsync(s->fd) < 0 || fsync_parent(s->path) < 0))
        s->rc = xend_err_set(&s->err, XEND_EIO, "cannot write %s: %s", s->path, strerror(errno));
    /* The last moment a cancel counts: from the commit on, the file is the domain. */
    if (s->rc == 0 && !xend_transfer_ctl_decide(&s->ctl))
        s->rc = -XEND_ECANCELED;
    if (s->rc < 0) {
        send_note_cancel(s);
        return;
    }
    xend_crash_point("save.image_written");
    /* The commit: from this write on, the file is the domain. */
    if (pwrite(s->fd, XEND_IMAGE_MAGIC, strlen(XEND_IMAGE_MAGIC), 0) !=
            (ssize_t)strlen(XEND_IMAGE_MAGIC) ||
        fdatasync(s->fd) < 0)
        s->rc = xend_err_set(&s->err, XEND_EIO, "cannot write %s: %s", s->path, strerror(errno));
}

static void save_done(void *arg)
{
    struct send *s = arg;
    if (s->rc < 0) {
        send_failed_on_loop(s);
        return;
    }
    xend_crash_point("save.completed");
    struct xend_domain *dom = s->dom;
    dom->busy = false;
    dom->restart_forced = false;
    dom->shutdown_requested = XEND_SHUTDOWN_HALT;
    xend_lifecycle_emit("xend.domain.save", dom, "ok");
    xend_lifecycle_teardown(dom, XEND_SHUTDOWN_SUSPEND, false, save_source_gone, s);
}

static void save_go(struct send *s)
{
    xend_loop_work(save_work, save_done, s);
}

/* The record the image carries (owned). */
static struct xend_sxp *sent_record(struct send *s)
{
    struct xend_domain *dom = s->dom;
    struct xend_sxp *mark = dom->mark;
    dom->mark = NULL; /* the sender's own business, not the image's */
    struct xend_sxp *rec = xend_domain_record(dom);
    dom->mark = mark;
    /* A paused domain stays paused where it lands; a running one runs on. */
    xend_sxp_add_kv_int(rec, "paused", s->was_paused);
    if (s->path) {
        xend_sxp_add_kv(rec, "save_token", s->token);
    } else {
        /* Where a receiver in doubt asks what became of the domain (handover.h). */
        struct xend_sxp *src = xend_sxp_list_of("source", NULL);
        xend_sxp_add_kv(src, "key", s->key);
        xend_sxp_add_kv_int(src, "port", xend_transfer_settings()->port);
        xend_sxp_append_take(rec, src);
    }
    return rec;
}

/* The record as its reader (xend_transfer_read_header) will take it: checked before anything
 * is marked or paused, so that a save never takes down a domain whose image restore would
 * refuse. */
static int sent_record_fits(struct send *s)
{
    struct xend_sxp *rec = sent_record(s);
    char *text = xend_sxp_print(rec);
    struct xend_err e = {0};
    int rc = xend_record_check(rec, strlen(text), false, &e);
    free(text);
    xend_sxp_free(rec);
    if (rc < 0)
        return xend_err_set(&s->err, XEND_EINVAL, "Domain %s cannot be %s: %s", s->dom->name,
                            s->path ? "saved" : "migrated", xend_err_msg(&e));
    return 0;
}

/* The (transfer ...) mark is durable: now the domain may be paused. */
static void send_marked(void *arg, int rc)
{
    struct send *s = arg;
    struct xend_domain *dom = s->dom;
    if (rc < 0) {
        dom->busy = false;
        xend_domain_set_mark(dom, NULL);
        s->rc = xend_err_set(&s->err, XEND_EIO, "cannot write the store");
        send_reply(s, dom);
        return;
    }
    xend_crash_point(s->path ? "save.marked" : "migrate.marked");
    /* A live migration copies a running guest in rounds while it runs; the backend stops it
     * for the last round only. Everything else is copied paused. */
    bool precopy = s->path == NULL && s->live && !s->was_paused;
    if (!precopy) {
        s->rc = XEND_HV_CALL(dom_pause, &s->err, dom->id);
        if (!s->was_paused)
            s->paused_ns = xend_clock_ns();
    }
    if (s->rc < 0) {
        s->was_paused = true; /* nothing to undo in the hypervisor */
        send_failed_on_loop(s);
        return;
    }
    s->domid = dom->id;
    void *ctx;
    s->stops = (xend_hv(&ctx)->flags & XEND_BACKEND_TRANSFER_STOPS) != 0;
    xend_transfer_progress_init(&s->progress, s->path ? "save" : "migrate", s->name, s->domid);
    s->config_before = xend_sxp_copy(dom->config);
    xend_hooks_run(XEND_HOOK_SAVE, dom, XEND_HOOK_NORMAL, -1, NULL, NULL, NULL);
    s->record = sent_record(s);
    s->go(s);
}

static struct send *send_new(struct xend_domain *dom, const char *path, long long resource,
                             xend_lifecycle_done_fn *done, void *arg, void (*go)(struct send *s))
{
    struct send *s = xend_xcalloc(1, sizeof(*s));
    xend_transfer_ctl_init(&s->ctl, xend_transfer_mbit_bytes(resource));
    s->dom = dom;
    s->fd = -1;
    s->done = done;
    s->arg = arg;
    s->go = go;
    s->path = path ? xend_xstrdup(path) : NULL;
    snprintf(s->key, sizeof(s->key), "%s", dom->uuid);
    snprintf(s->name, sizeof(s->name), "%s", dom->name);
    return s;
}

/*
 * Checks, then a durable (transfer (paused W) ...) mark in the domain's record before it is
 * paused: a start that finds the mark without the transfer having let go puts the domain
 * back as it was (running or paused) and removes an unfinished save file.
 */
static void send_begin(struct send *s)
{
    struct xend_domain *dom = s->dom;
    if (s->path)
        xend_transfer_ctl_list(&s->ctl, dom, "save",
                               "Save of domain %s not cancelled: its file is complete, the domain "
                               "is being taken down",
                               dom->name);
    else
        xend_transfer_ctl_list(&s->ctl, dom, "migrate",
                               "Migration of domain %s not cancelled: it passed the point of no "
                               "return, the domain belongs to %s:%s now",
                               dom->name, s->host, s->port);
    void *ctx;
    const struct xend_backend_ops *ops = xend_hv(&ctx);
    if (dom->phase != XEND_DOM_LIVE || dom->busy || dom->config == NULL) {
        s->rc = xend_err_set(&s->err, XEND_EBUSY, "Domain %s cannot be %s now", dom->name,
                             s->path ? "saved" : "migrated");
    } else if (ops == NULL || ops->save == NULL) {
        s->rc = xend_hv_enotsup("save", &s->err);
    }
    if (s->rc < 0) {
        send_reply(s, dom);
        return;
    }
    struct xend_err e = {0};
    xend_domain_refresh(dom, &e);
    s->was_paused = (dom->info.flags & XEND_DOMF_PAUSED) != 0;
    if (s->path)
        xend_lifecycle_new_key(s->token);
    if ((s->rc = sent_record_fits(s)) < 0) {
        send_reply(s, dom);
        return;
    }
    dom->busy = true;
    xend_lifecycle_emit(send_what(s), dom, "begin");
    struct xend_sxp *mark = xend_sxp_list_of("transfer", NULL);
    xend_sxp_add_kv_int(mark, "paused", s->was_paused);
    if (s->path) {
        xend_sxp_add_kv(mark, "file", s->path);
        xend_sxp_add_kv(mark, "token", s->token);
    }
    xend_domain_set_mark(dom, mark);
    xend_lifecycle_persist(dom, send_marked, s);
}

void xend_transfer_save(struct xend_domain *dom, const char *path, long long resource,
                        xend_lifecycle_done_fn *done, void *arg)
{
    if (path == NULL || path[0] != '/') {
        struct xend_err err = {0};
        xend_err_set(&err, XEND_EINVAL, "save file must be an absolute path: %s", path ? path : "");
        done(-XEND_EINVAL, &err, dom, arg);
        return;
    }
    xend_log_info("domain save", "domain=%s file=%s", dom->name, path);
    send_begin(send_new(dom, path, resource, done, arg, save_go));
}

/* Worker: up to (received); the sender has let go of nothing yet. */
static void migrate_work(void *arg)
{
    struct send *s = arg;
    s->rc = xend_transfer_connect(s->host, s->port, &s->conn, &s->err);
    if (s->rc < 0)
        return;
    s->fd = xend_tls_conn_fd(s->conn);
    /* Counted on the TCP socket: over TLS s->fd is a socket pair that keeps no count, and the
     * rate (-r) and the progress would rest on the backend's page count alone. */
    xend_transfer_ctl_start(&s->ctl, xend_tls_conn_socket(s->conn));
    if (xend_transfer_write_header(s->fd, s->record, XEND_IMAGE_MAGIC) < 0) {
        s->rc = xend_err_set(&s->err, XEND_EIO, "cannot send to %s: %s", s->host, strerror(errno));
        return;
    }
    /* The destination's checks come before a byte of the image: a refusal costs nothing. */
    s->rc = xend_transfer_read_reply(s->fd, "ready", NULL, &s->err);
    if (s->rc == 0 && xend_transfer_ctl_cancelled(&s->ctl))
        s->rc = -XEND_ECANCELED;
    if (s->rc == 0)
        s->rc = backend_save(s, s->live);
    xend_transfer_ctl_measure(&s->ctl, 0);
    s->image_end_ns = xend_clock_ns();
    s->image_sent = s->rc == 0;
    /* A cancel from here on waits for (received), then answers (abort). */
    if (s->rc == 0)
        s->rc = xend_transfer_read_reply(s->fd, "received", NULL, &s->err);
}

static void migrate_finished(void *arg)
{
    struct send *s = arg;
    if (s->rc == 0) {
        xend_handover_forget(s->key);
        const struct xend_save_round *last = &s->progress.round;
        /* A backend that tells no rounds (no save_with: xenctrl) has them unknown, not 0. */
        char rounds[80] = "";
        if (last->round > 0)
            snprintf(rounds, sizeof(rounds), " rounds=%u last_round_pages=%llu", last->round,
                     (unsigned long long)last->pages);
        xend_log_info("domain migrated out",
                      "domain=%s destination=%s:%s live=%d downtime_ms=%llu bytes=%llu "
                      "mbit_s=%.1f%s",
                      s->name, s->host, s->port, s->live, (unsigned long long)s->downtime_ms,
                      (unsigned long long)atomic_load(&s->ctl.bytes), send_mbit_s(s), rounds);
        struct xend_sxp *v = xend_sxp_list();
        xend_sxp_append_take(v, xend_sxp_atom(s->name));
        xend_sxp_append_take(v, xend_sxp_atom("done"));
        xend_sxp_add_kv_int(v, "downtime_ms", (long long)s->downtime_ms);
        if (last->round > 0) {
            xend_sxp_add_kv_int(v, "rounds", last->round);
            xend_sxp_add_kv_int(v, "last_round_pages", (long long)last->pages);
        }
        xend_event_emit("xend.domain.migrate", v);
        xend_sxp_free(v);
    } else {
        /* The domain is the destination's whatever it says now: it asks if in doubt. */
        xend_log_error("migration finished with an error after release",
                       "domain=%s destination=%s:%s error=\"%s\"", s->name, s->host, s->port,
                       xend_err_msg(&s->err));
    }
    send_reply(s, NULL);
}

/* Worker: wait for the destination's take-over; the guest runs there once it says. */
static void migrate_wait_ok(void *arg)
{
    struct send *s = arg;
    if (s->rc < 0)
        return;
    long long id = -1;
    s->rc = xend_transfer_read_reply(s->fd, "ok", &id, &s->err);
    s->dest_id = id;
    /* The guest runs there once it says: it did not run from the pause on (the backend's
     * last round, or the core's pause), or at least from the image's end. */
    uint64_t from = s->paused_ns && s->paused_ns < s->image_end_ns ? s->paused_ns : s->image_end_ns;
    s->downtime_ms = (xend_clock_ns() - from) / 1000000u;
}

static void migrate_source_gone(int rc, const struct xend_err *err, struct xend_domain *dom,
                                void *arg)
{
    (void)rc;
    (void)err;
    (void)dom;
    struct send *s = arg;
    xend_crash_point("migrate.torn_down");
    xend_loop_work(migrate_wait_ok, migrate_finished, s);
}

/* Worker: tell the destination the decision at once; the teardown here runs meanwhile
 * (the copy here stays paused, and a start finishes its teardown from the release record). */
static void migrate_tell_released(void *arg)
{
    struct send *s = arg;
    if (xend_wire_write_str(s->fd, "(released)\n") < 0)
        s->rc = xend_err_set(&s->err, XEND_EIO, "lost the destination after release");
}

static void migrate_told(void *arg)
{
    struct send *s = arg;
    xend_lifecycle_teardown(s->dom, XEND_SHUTDOWN_SUSPEND, false, migrate_source_gone, s);
}

static void migrate_abort(struct send *s)
{
    /* The destination waits for the decision once it has the whole image; before that,
     * only a cut stream tells it to drop what it has. */
    if (s->image_sent && s->fd >= 0)
        xend_wire_write_str(s->fd, "(abort)\n");
    else if (s->conn != NULL)
        xend_tls_conn_abort(s->conn);
    send_failed_on_loop(s);
}

/* The release record is durable: the domain is the receiver's now. */
static void migrate_released(void *arg, int rc)
{
    struct send *s = arg;
    struct xend_domain *dom = s->dom;
    if (rc < 0) {
        s->rc = xend_err_set(&s->err, XEND_EIO, "cannot write the store: the domain stays here");
        migrate_abort(s);
        return;
    }
    xend_crash_point("migrate.released");
    dom->restart_forced = false;
    dom->shutdown_requested = XEND_SHUTDOWN_HALT;
    xend_lifecycle_emit("xend.domain.migrate", dom, "ok");
    /* Still busy: nothing else may act on it until the teardown has taken it. */
    xend_loop_work(migrate_tell_released, migrate_told, s);
}

static void migrate_done(void *arg)
{
    struct send *s = arg;
    /* The decision point: from the release record on, the domain is the destination's. */
    if (s->rc == 0 && !xend_transfer_ctl_decide(&s->ctl))
        s->rc = -XEND_ECANCELED;
    if (s->rc < 0) {
        migrate_abort(s);
        return;
    }
    xend_crash_point("migrate.received");
    char dest[300];
    snprintf(dest, sizeof(dest), "%s:%s", s->host, s->port);
    xend_handover_release(s->key, s->name, dest, migrate_released, s);
}

static void migrate_go(struct send *s)
{
    xend_loop_work(migrate_work, migrate_done, s);
}

void xend_transfer_migrate(struct xend_domain *dom, const char *destination, bool live,
                           long long resource, xend_transfer_migrated_fn *done, void *arg)
{
    char *host, *port;
    const char *colon = strrchr(destination, ':');
    if (colon && strchr(colon, ']') == NULL) {
        host = xend_xstrndup(destination, (size_t)(colon - destination));
        port = xend_xstrdup(colon + 1);
    } else {
        host = xend_xstrdup(destination);
        /* As 2.0's xend: the peer listens where this host's relocation port does. */
        char own[16];
        int own_port = xend_transfer_settings()->port;
        snprintf(own, sizeof(own), "%d", own_port);
        port = xend_xstrdup(own_port > 0 ? own : XEND_RELOCATION_DEFAULT_PORT);
    }
    if (host[0] == '[') {
        size_t n = strlen(host);
        memmove(host, host + 1, n);
        if (n > 1 && host[n - 2] == ']')
            host[n - 2] = '\0';
    }
    xend_log_info("domain migrate", "domain=%s destination=%s:%s live=%d", dom->name, host, port,
                  live);
    struct send *s = send_new(dom, NULL, resource, NULL, arg, migrate_go);
    s->migrated = done;
    s->host = host;
    s->port = port;
    s->live = live;
    send_begin(s);
}
