/*
 * Receiving a domain: a restore from a save file, and a migration from the relocation port
 * (the receiver's side of the two-phase hand-over, handover.h; the protocol is in
 * docs/durability.md). A restored domain is validated, attached and persisted like a
 * created one. Each receive from a peer has a watchdog: deadlines for its header and its
 * whole transfer, and a minimum rate for its image (relocation.c's settings).
 */
#include <netdb.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "confine.h"
#include "crashpoint.h"
#include "domain_table.h"
#include "domain_runtime.h"
#include "handover.h"
#include "http/role.h"
#include "hv.h"
#include "lifecycle.h"
#include "lifecycle/lifecycle_internal.h"
#include "log/log.h"
#include "event_loop.h"
#include "transfer/internal.h"
#include "wire.h"

#define GUARD_TICK_MS 1000   /* how often a receive's deadlines are checked */
#define RATE_WINDOW_MS 10000 /* the image's minimum rate holds over each such window */

enum recv_decision {
    RECV_UNDECIDED,
    RECV_RELEASED, /* the sender let go: take the domain over */
    RECV_ABORTED,  /* the sender kept it: drop the copy */
    RECV_LOST,     /* no word from the sender: in doubt, ask it */
};

struct recv {
    int fd;
    char *path;    /* restore: the file, opened by the worker; NULL for the relocation port */
    int role;      /* restore: the caller's (enum xend_role), for the devices' checks */
    char *control; /* the relocation port: a control line (handover.h) instead of an image */
    struct xend_sxp *record;
    /* a restore, and a migration from another host: the domain, prepared (name reserved)
     * before the image is read */
    struct xend_domain *dom;
    /* a local migration, until the take-over: stands for the domain in its intent record
     * (its name not reserved, the source holds it); owned */
    struct xend_domain *shadow;
    bool local;
    bool intent_written;
    struct xend_dom_create args;
    uint32_t domid;
    char peer_host[NI_MAXHOST]; /* the sender, as this side sees it */
    char peer_port[16];         /* its relocation port, from the header's (source ...) */
    char src_key[33];           /* the domain's key on the sender */
    enum recv_decision decision;
    int sock;                   /* from a peer: the TCP socket, open until the end */
    struct xend_tls_conn *conn; /* from a peer: the connection (fd is its descriptor) */
    char peer_cert[XEND_TLS_FINGERPRINT_LEN + 1]; /* the peer's, over TLS */
    /* the relocation port's guard: deadlines and a minimum rate (loop timer) */
    struct xend_timer *guard;
    uint64_t started_ms;
    bool header_done;
    struct xend_transfer_progress progress; /* the worker's reports */
    struct xend_transfer_ctl ctl;           /* counts the image's bytes */
    unsigned long long bytes_at_check;
    bool in_image;         /* between (ready) and the image's end */
    uint64_t rate_mark_ms; /* the start of the current minimum-rate window */
    xend_lifecycle_done_fn *done;
    void *arg;
    struct xend_err err;
    int rc;
};

/* Whether the sender's domain was paused: (paused 1) in the image's record. */
static bool sent_paused(const struct recv *r)
{
    long long paused = 0;
    xend_sxp_child_int(r->record, "paused", &paused);
    return paused != 0;
}

static void recv_reply(struct recv *r)
{
    xend_loop_host_table()->timer_remove(r->guard);
    r->guard = NULL;
    xend_lifecycle_adopt_hold(false);
    if (r->done)
        r->done(r->rc, &r->err, r->rc == 0 ? r->dom : NULL, r->arg);
    /* The peer waits for a last word, unless it is gone or only asked a question. */
    if (r->path == NULL && r->control == NULL && r->fd >= 0 && r->decision != RECV_LOST) {
        struct xend_buf b = XEND_BUF_INIT;
        if (r->rc == 0) {
            /* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): rc 0 comes with dom set */
            xend_buf_printf(&b, "(ok %u)\n", r->dom->id);
        } else {
            xend_buf_puts(&b, "(err ");
            xend_sxp_print_atom(xend_err_msg(&r->err), strlen(xend_err_msg(&r->err)), &b);
            xend_buf_puts(&b, ")\n");
        }
        xend_wire_write_str(r->fd, xend_buf_str(&b));
        xend_buf_free(&b);
    }
    if (r->conn)
        xend_tls_conn_close(r->conn);
    else if (r->fd >= 0)
        close(r->fd);
    xend_sxp_free(r->record);
    xend_transfer_ctl_destroy(&r->ctl);
    free(r->shadow);
    free(r->path);
    free(r->control);
    free(r);
}

static void recv_forgotten(void *arg, int rc)
{
    (void)rc;
    struct recv *r = arg;
    if (r->dom)
        xend_domain_free(r->dom);
    r->dom = NULL;
    recv_reply(r);
}

/* Whatever the hypervisor made of it is gone by now; the intent record goes last. */
static void recv_fail(struct recv *r)
{
    if (r->path && r->rc == -XEND_ECANCELED) {
        xend_log_notice("transfer cancelled", "domain=%s op=restore file=%s", r->dom->name,
                        r->path);
        xend_lifecycle_emit("xend.domain.restore", r->dom, "cancelled");
    } else {
        xend_log_warn(r->path ? "restore failed" : "incoming migration failed", "error=\"%s\"",
                      xend_err_msg(&r->err));
    }
    if (r->dom) {
        xend_lifecycle_forget(r->dom, recv_forgotten, r);
        return;
    }
    if (r->shadow && r->intent_written) {
        xend_lifecycle_forget(r->shadow, recv_forgotten, r);
        return;
    }
    recv_reply(r);
}

/* A step failed with its own error: the receive undoes itself. */
static void recv_fail_with(struct recv *r, int rc, const struct xend_err *err)
{
    r->rc = rc;
    r->err = *err;
    recv_fail(r);
}

/* The prepared copy of a migration from another host goes: devices, domain, record. */
static void recv_copy_dropped(int rc, const struct xend_err *err, struct xend_domain *dom,
                              void *arg)
{
    (void)rc;
    (void)err;
    (void)dom;
    struct recv *r = arg;
    r->dom = NULL;
    recv_reply(r);
}

static void recv_drop_copy(struct recv *r)
{
    xend_log_warn("incoming migration dropped", "domain=%s reason=\"%s\"", r->dom->name,
                  xend_err_msg(&r->err));
    r->dom->busy = false;
    r->dom->shutdown_requested = XEND_SHUTDOWN_HALT;
    xend_lifecycle_teardown(r->dom, XEND_SHUTDOWN_SUSPEND, false, recv_copy_dropped, r);
}

static void recv_acknowledged(void *arg, int rc)
{
    struct recv *r = arg;
    if (rc < 0 && r->path == NULL) {
        /* Released to us: this is the only copy. Its (received ...) record stays on disk,
         * and a start settles it with the sender again. */
        xend_log_error("migrated domain runs, but its record was not updated", "domain=%s id=%u",
                       r->dom->name, r->dom->id);
    } else if (rc < 0) {
        r->rc = xend_err_set(&r->err, XEND_EIO, "restored, but the store write failed");
        xend_lifecycle_teardown(r->dom, XEND_SHUTDOWN_POWEROFF, false, NULL, NULL);
        r->dom = NULL;
        recv_reply(r);
        return;
    }
    r->dom->busy = false;
    xend_lifecycle_emit("xend.domain.create", r->dom, NULL);
    xend_log_info(r->path ? "domain restored" : "domain migrated in", "domain=%s id=%u",
                  r->dom->name, r->dom->id);
    xend_crash_point(r->path ? "restore.recorded" : "receive.recorded");
    recv_reply(r);
}

/* A restore, or a local migration after the release: devices and hooks are attached. */
static void recv_attached(int rc, const struct xend_err *err, void *arg)
{
    struct recv *r = arg;
    if (rc < 0) {
        if (r->path == NULL)
            xend_log_error("migrated domain take-over failed",
                           "domain=%s error=\"%s\" action=\"left to be adopted\"", r->dom->name,
                           xend_err_msg(err));
        recv_fail_with(r, rc, err);
        return;
    }
    xend_domain_runtime_apply(r->dom, r->record); /* the balloon target, the pin */
    /* A migrated domain carries on running; a restored one waits for unpause. */
    xend_lifecycle_restored(r->dom, r->path == NULL && !sent_paused(r), recv_acknowledged, r);
}

/* A restore, or a local migration after the release: make the hypervisor's domain xend's. */
static void recv_take_over(struct recv *r)
{
    /* A restore reserved the name before reading the image; a local migration can only
     * now (the source had it). */
    if (r->dom == NULL) {
        const struct xend_sxp *cfg = xend_sxp_nth(xend_sxp_child(r->record, "config"), 1);
        int rc = xend_lifecycle_prepare(xend_sxp_copy(cfg), &r->dom, &r->err);
        if (rc < 0) {
            /* The source let go: this is the only copy of the guest. Leave it running, to
             * be adopted as a domain xend did not create, rather than destroy it. */
            xend_log_error("migrated domain take-over failed",
                           "id=%u error=\"%s\" action=\"left to be adopted\"", r->domid,
                           xend_err_msg(&r->err));
            r->rc = rc;
            xend_lifecycle_forget(r->shadow, recv_forgotten, r);
            return;
        }
        /* Its records replace the intent. */
        memcpy(r->dom->uuid, r->shadow->uuid, sizeof(r->dom->uuid));
        free(r->shadow);
        r->shadow = NULL;
    }
    xend_domain_set_id(r->dom, r->domid);
    /* After a local migration's release the domain is the only copy of the guest. */
    xend_lifecycle_attach_instance(r->dom, XEND_HOOK_RESTORE, r->path == NULL, recv_attached, r);
}

/* ---- migration: the receiver's decision ---- */

/* Worker: (received), then the sender's decision. */
static void recv_decide_work(void *arg)
{
    struct recv *r = arg;
    char line[64];
    r->decision = RECV_LOST;
    if (xend_wire_write_str(r->fd, "(received)\n") < 0 ||
        xend_wire_read_line(r->fd, line, sizeof(line)) < 0)
        return;
    if (strcmp(line, "(released)") == 0)
        r->decision = RECV_RELEASED;
    else if (strcmp(line, "(abort)") == 0)
        r->decision = RECV_ABORTED;
}

static void recv_local_in_doubt(struct recv *r);

/* A local migration's source lets go of the name only once its teardown is over: the
 * sender says (released) before that, so wait for it here. */
static void recv_local_take_over(void *arg)
{
    struct recv *r = arg;
    if (xend_transfer_domain_by_key(r->src_key) != NULL) {
        xend_loop_host_table()->timer_add(NULL, 10, false, recv_local_take_over, r);
        return;
    }
    recv_take_over(r);
}

static void recv_decided(void *arg)
{
    struct recv *r = arg;
    switch (r->decision) {
    case RECV_RELEASED:
        xend_crash_point("receive.released");
        if (r->local) {
            recv_local_take_over(r);
            return;
        }
        xend_domain_set_mark(r->dom, NULL);
        xend_domain_runtime_apply(r->dom, r->record);
        xend_lifecycle_restored(r->dom, !sent_paused(r), recv_acknowledged, r);
        return;
    case RECV_ABORTED:
        r->rc = xend_err_set(&r->err, XEND_ECANCELED, "the sender kept the domain");
        if (r->local) {
            struct xend_err e = {0};
            XEND_HV_CALL(dom_destroy, &e, r->domid);
            recv_fail(r);
            return;
        }
        recv_drop_copy(r);
        return;
    default:
        /* The sender's decision is its own durable record: ask for it (handover.h). */
        r->rc = xend_err_set(&r->err, XEND_EIO, "lost the sender before its decision");
        if (r->local) {
            recv_local_in_doubt(r);
            return;
        }
        xend_log_warn("incoming migration in doubt", "domain=%s sender=%s:%s", r->dom->name,
                      r->peer_host, r->peer_port);
        xend_transfer_doubt(r->dom, r->peer_host, r->peer_port, r->src_key, !sent_paused(r));
        r->dom = NULL;
        recv_reply(r);
        return;
    }
}

/* The (received ...) mark: what a start needs to settle the domain with its sender. */
static struct xend_sxp *received_mark(const struct recv *r, bool taken)
{
    struct xend_sxp *mark = xend_sxp_list_of("received", NULL);
    xend_sxp_add_kv_int(mark, "paused", sent_paused(r));
    xend_sxp_add_kv(mark, "host", r->peer_host);
    xend_sxp_add_kv(mark, "port", r->peer_port);
    xend_sxp_add_kv(mark, "key", r->src_key);
    xend_sxp_add_kv_int(mark, "taken", taken);
    return mark;
}

static void recv_marked(void *arg, int rc)
{
    struct recv *r = arg;
    if (rc < 0) {
        r->rc = xend_err_set(&r->err, XEND_EIO, "cannot write the store");
        if (r->local) {
            struct xend_err e = {0};
            XEND_HV_CALL(dom_destroy, &e, r->domid);
            recv_fail(r);
        } else {
            recv_drop_copy(r);
        }
        return;
    }
    xend_crash_point("receive.marked");
    xend_loop_work(recv_decide_work, recv_decided, r);
}

/* A migration from another host: built and attached, paused; mark it, then (received). */
static void recv_prepared(int rc, const struct xend_err *err, void *arg)
{
    struct recv *r = arg;
    if (rc < 0) {
        /* The attach rolled back and destroyed the domain; its intent goes. */
        recv_fail_with(r, rc, err);
        return;
    }
    r->dom->busy = true;
    xend_domain_set_mark(r->dom, received_mark(r, true));
    xend_lifecycle_persist(r->dom, recv_marked, r);
}

static int recv_progress(void *arg, uint64_t done, uint64_t total)
{
    struct recv *r = arg;
    return xend_transfer_ctl_step(&r->ctl, &r->progress, done, total); /* rate limit, cancel */
}

static void recv_image_work(void *arg)
{
    struct recv *r = arg;
    void *ctx;
    const struct xend_backend_ops *ops = xend_hv(&ctx);
    if (ops == NULL || ops->restore == NULL) {
        r->rc = xend_hv_enotsup("restore", &r->err);
        return;
    }
    r->rc = xend_transfer_ctl_cancelled(&r->ctl)
                ? -XEND_ECANCELED
                : ops->restore(ctx, r->fd, &r->args, &r->domid, recv_progress, r, &r->err);
    /* The decision point of a restore: from a whole image on, the domain is made. A backend
     * that cannot stop has restored it all by now; recv_image_done destroys it. */
    if (r->rc == 0 && !xend_transfer_ctl_decide(&r->ctl))
        r->rc = -XEND_ECANCELED;
    if (r->path && r->rc == -XEND_ECANCELED) {
        xend_err_clear(&r->err);
        r->rc = xend_err_set(&r->err, XEND_ECANCELED,
                             "Restore of domain %s cancelled: no domain made, %s as it was",
                             r->args.name, r->path);
    }
}

static void recv_image_done(void *arg)
{
    struct recv *r = arg;
    r->in_image = false;
    if (r->rc < 0) {
        if (r->domid) {
            struct xend_err e = {0};
            XEND_HV_CALL(dom_destroy, &e, r->domid);
        }
        recv_fail(r);
        return;
    }
    if (r->path != NULL) {
        xend_crash_point("restore.image");
        recv_take_over(r);
        return;
    }
    xend_crash_point("receive.image");
    if (r->local) {
        /* The name, devices and hooks wait for the source to let go of them. */
        r->shadow->id = r->domid;
        xend_lifecycle_persist_marked(r->shadow, received_mark(r, false), recv_marked, r);
        return;
    }
    /* Everything that can still refuse happens before (received): devices, scripts, the
     * console port. A refusal here leaves the sender's domain untouched. */
    xend_domain_set_id(r->dom, r->domid);
    xend_lifecycle_attach_instance(r->dom, XEND_HOOK_RESTORE, false, recv_prepared, r);
}

/* Worker: a restore's file, or the first bytes from a peer (a header or a control line). */
static void recv_header_work(void *arg)
{
    struct recv *r = arg;
    int first = -1;
    if (r->path) {
        /* Worker thread: opening may block on slow storage. Only a regular file, never a
         * symlink, a fifo or a device that a request names; inside save-dir when set. */
        r->fd = xend_confine_open(r->path, &r->err);
        if (r->fd < 0) {
            r->rc = r->fd;
            r->fd = -1;
            return;
        }
    } else {
        /* Over TLS the peer is authenticated here, before a byte of its stream is read. */
        if ((r->rc = xend_tls_conn_open(xend_transfer_tls(), r->fd, true, &r->conn, r->peer_cert,
                                        &r->err)) < 0)
            return; /* the socket is still r->fd's, closed at the end */
        r->fd = xend_tls_conn_fd(r->conn);
        char c;
        if (xend_wire_read_all(r->fd, &c, 1) < 0) {
            r->rc = xend_err_set(&r->err, XEND_EIO, "the peer sent nothing");
            return;
        }
        if (c == '(') {
            char line[256] = "(";
            if (xend_wire_read_line(r->fd, line + 1, sizeof(line) - 1) < 0)
                r->rc = xend_err_set(&r->err, XEND_EIO, "the peer's request was cut short");
            else
                r->control = xend_xstrdup(line);
            return;
        }
        first = (unsigned char)c;
    }
    r->record = xend_transfer_read_header(r->fd, first, &r->err);
    if (r->record == NULL)
        r->rc = -r->err.code;
    else if (r->path == NULL)
        xend_wire_set_timeout(
            r->fd, XEND_TRANSFER_IO_TIMEOUT_S); /* the image may take a while between pages */
}

static void recv_image(struct recv *r)
{
    xend_loop_work(recv_image_work, recv_image_done, r);
}

/* Before the image: the domain has its name, not yet an id (the event says -1). */
static void recv_progress_init(struct recv *r)
{
    struct xend_domain *dom = r->dom ? r->dom : r->shadow;
    xend_transfer_progress_init(&r->progress, r->path ? "restore" : "migrate",
                                dom ? dom->name : "?", UINT32_MAX);
}

/* Worker: the checks passed and the intent is durable: (ready), then the image. */
static void recv_ready_work(void *arg)
{
    struct recv *r = arg;
    if (xend_wire_write_str(r->fd, "(ready)\n") < 0) {
        r->rc = xend_err_set(&r->err, XEND_EIO, "lost the sender");
        return;
    }
    recv_image_work(r);
}

static void recv_intent_durable(void *arg, int rc)
{
    struct recv *r = arg;
    if (rc < 0) {
        r->rc = xend_err_set(&r->err, XEND_EIO, "cannot write the store");
        recv_fail(r);
        return;
    }
    r->intent_written = true;
    recv_progress_init(r);
    /* The image is counted on the TCP socket, not on r->fd: over TLS that is a socket pair
     * that keeps no count, and then only the backend's progress would tell the guard
     * (below) that bytes still come; xenctrl's restore reports none. Started here, on the
     * loop, before the worker reads a byte of the image, and before the guard looks. */
    xend_transfer_ctl_start(&r->ctl, r->sock >= 0 ? r->sock : r->fd);
    if (r->path) {
        xend_crash_point("restore.intent");
        recv_image(r);
        return;
    }
    xend_crash_point("receive.intent");
    r->in_image = xend_transfer_settings()->min_rate_kb > 0;
    r->rate_mark_ms = xend_loop_now_ms();
    xend_loop_work(recv_ready_work, recv_image_done, r);
}

/* 1 when this xend holds a domain under key, 2 when an operation is running on it. */
static int held_here(const char *key)
{
    struct xend_domain *dom = xend_transfer_domain_by_key(key);
    return dom == NULL ? 0 : dom->busy ? 2 : 1;
}

/*
 * A migration from another host: everything that can refuse is checked, and the name
 * reserved, before the sender sends a byte of the image.
 */
static int recv_check_remote(struct recv *r, const struct xend_sxp *cfg)
{
    int rc = xend_lifecycle_prepare(xend_sxp_copy(cfg), &r->dom, &r->err);
    if (rc < 0)
        return rc;
    r->dom->busy = true;
    rc = xend_lifecycle_create_args(r->dom, &r->args, &r->err);
    if (rc < 0)
        return rc;
    struct xend_physinfo pi = {.size = sizeof(pi)};
    struct xend_err e = {0};
    if (XEND_HV_CALL(physinfo, &e, &pi) == 0 && pi.free_kb < r->args.mem_kb)
        return xend_err_set(&r->err, XEND_ENOMEM, "not enough memory: %llu MB needed, %llu MB free",
                            (unsigned long long)r->args.mem_kb / 1024,
                            (unsigned long long)pi.free_kb / 1024);
    return 0;
}

/*
 * A local migration: the source holds the name until it lets go, so only it may have it.
 * The intent is durable before the hypervisor holds the domain, as for a create: a crash in
 * between leaves a record that tells the next start to remove the domain, which the
 * hypervisor knows by this name. The source's id is spared (its own record may load later).
 */
static int recv_check_local(struct recv *r, const struct xend_sxp *cfg)
{
    struct xend_domain *sh = r->shadow = xend_xcalloc(1, sizeof(*sh));
    snprintf(sh->name, sizeof(sh->name), "%s", xend_sxp_child_value(cfg, "name", ""));
    sh->id = UINT32_MAX;
    sh->phase = XEND_DOM_CREATING;
    sh->shutdown_requested = -1;
    sh->config = (struct xend_sxp *)cfg; /* borrowed from r->record; the record copies it */
    xend_lifecycle_new_key(sh->uuid);
    int rc = xend_lifecycle_create_args(sh, &r->args, &r->err); /* validates the name too */
    if (rc < 0)
        return rc;
    struct xend_domain *holder = xend_domain_by_name(sh->name);
    if (holder && strcmp(holder->uuid, r->src_key) != 0)
        return xend_err_set(&r->err, XEND_EEXIST, "vm name clash: %s", sh->name);
    return 0;
}

static void recv_header_done(void *arg)
{
    struct recv *r = arg;
    r->header_done = true;
    if (r->rc < 0) {
        recv_fail(r);
        return;
    }
    if (r->peer_cert[0])
        xend_log_info("relocation peer authenticated", "peer=%s cert=%s", r->peer_host,
                      r->peer_cert);
    if (r->control) {
        xend_wire_write_str(r->fd, xend_handover_answer(r->control, held_here));
        recv_reply(r);
        return;
    }
    const struct xend_sxp *cfg = xend_sxp_nth(xend_sxp_child(r->record, "config"), 1);
    if (cfg == NULL) {
        r->rc = xend_err_set(&r->err, XEND_EINVAL, "the image carries no domain config");
        recv_fail(r);
        return;
    }
    if (r->path != NULL) {
        /* The image's devices are judged as the restoring caller's (a script, a disk). */
        int prev = xend_role_act_as(r->role);
        r->rc = xend_lifecycle_prepare(xend_sxp_copy(cfg), &r->dom, &r->err);
        xend_role_act_as(prev);
        if (r->rc == 0)
            r->rc = xend_lifecycle_create_args(r->dom, &r->args, &r->err);
        if (r->rc < 0) {
            recv_fail(r);
            return;
        }
        xend_transfer_ctl_list(&r->ctl, r->dom, "restore",
                               "Restore of domain %s not cancelled: its image is whole, the "
                               "domain is being set up",
                               r->dom->name);
        xend_lifecycle_persist(r->dom, recv_intent_durable, r);
        return;
    }
    const struct xend_sxp *src = xend_sxp_child(r->record, "source");
    snprintf(r->src_key, sizeof(r->src_key), "%s", xend_sxp_child_value(src, "key", ""));
    snprintf(r->peer_port, sizeof(r->peer_port), "%s", xend_sxp_child_value(src, "port", "0"));
    r->local = r->src_key[0] && xend_transfer_domain_by_key(r->src_key) != NULL;
    r->rc = r->local ? recv_check_local(r, cfg) : recv_check_remote(r, cfg);
    if (r->rc < 0) {
        recv_fail(r);
        return;
    }
    if (r->local) {
        struct xend_sxp *spare = xend_sxp_list_of("spare", NULL);
        struct xend_domain *holder = xend_domain_by_name(r->shadow->name);
        if (holder && holder->id != UINT32_MAX)
            xend_sxp_append_take(spare, xend_sxp_atom_int(holder->id));
        xend_lifecycle_persist_marked(r->shadow, spare, recv_intent_durable, r);
        return;
    }
    xend_lifecycle_persist(r->dom, recv_intent_durable, r);
}

/* From a connected peer (fd taken, peer its numeric address) or from a file (path
 * borrowed). */
static void recv_guard(void *arg);

static void recv_start(int fd, const char *peer, const char *path, uint64_t rate_bytes_s,
                       xend_lifecycle_done_fn *done, void *arg)
{
    struct recv *r = xend_xcalloc(1, sizeof(*r));
    xend_transfer_ctl_init(&r->ctl, rate_bytes_s);
    r->sock = fd;
    xend_lifecycle_adopt_hold(true);
    r->fd = fd; /* until the worker has authenticated it: then the connection's */
    r->path = path ? xend_xstrdup(path) : NULL;
    r->role = xend_role_acting(); /* a restore's handler runs now: its caller's */
    if (peer)
        snprintf(r->peer_host, sizeof(r->peer_host), "%s", peer);
    r->done = done;
    r->arg = arg;
    r->started_ms = xend_loop_now_ms();
    if (fd >= 0)
        r->guard = xend_loop_host_table()->timer_add(NULL, GUARD_TICK_MS, true, recv_guard, r);
    xend_loop_work(recv_header_work, recv_header_done, r);
}

void xend_transfer_restore(const char *path, long long resource, xend_lifecycle_done_fn *done,
                           void *arg)
{
    xend_log_info("domain restore", "file=%s", path);
    recv_start(-1, NULL, path, xend_transfer_mbit_bytes(resource), done, arg);
}

/*
 * A local migration that lost its own sender (the same xend) before the decision: the
 * sender's release record decides, once the sender is no longer busy deciding.
 */
static void recv_local_recheck(void *arg)
{
    recv_local_in_doubt(arg);
}

static void recv_local_in_doubt(struct recv *r)
{
    if (xend_handover_released(r->src_key)) {
        recv_local_take_over(r); /* the sender drops its release record once it is done */
        return;
    }
    if (held_here(r->src_key) == 2) {
        xend_loop_host_table()->timer_add(NULL, 200, false, recv_local_recheck, r);
        return;
    }
    struct xend_err e = {0};
    XEND_HV_CALL(dom_destroy, &e, r->domid);
    r->rc = xend_err_set(&r->err, XEND_ECANCELED, "the sender kept the domain");
    recv_fail(r);
}

/*
 * The receive's watchdog: the header must be whole within header_timeout_s of the accept,
 * the image must keep coming at min_rate_kb per second, and the whole receive must end
 * within transfer_timeout_s. Missing either shuts the socket down: the worker's read fails
 * and the receive undoes itself like any failed one, freeing its slot.
 */

static void recv_guard(void *arg)
{
    struct recv *r = arg;
    uint64_t now = xend_loop_now_ms();
    const char *why = NULL;
    if (!r->header_done &&
        now - r->started_ms >= (uint64_t)xend_transfer_settings()->header_timeout_s * 1000) {
        why = "no whole header in time";
    } else if (now - r->started_ms >=
               (uint64_t)xend_transfer_settings()->transfer_timeout_s * 1000) {
        why = "the transfer took too long";
    } else if (r->in_image && now - r->rate_mark_ms >= RATE_WINDOW_MS) {
        unsigned long long bytes = xend_transfer_ctl_measure(&r->ctl, 0);
        unsigned long long want = (unsigned long long)xend_transfer_settings()->min_rate_kb * 1024 *
                                  (now - r->rate_mark_ms) / 1000;
        if (bytes - r->bytes_at_check < want)
            why = "the image came too slowly";
        r->bytes_at_check = bytes;
        r->rate_mark_ms = now;
    }
    if (why == NULL)
        return;
    xend_log_warn("relocation deadline passed", "peer=%s reason=\"%s\"", r->peer_host, why);
    xend_loop_host_table()->timer_remove(r->guard);
    r->guard = NULL;
    shutdown(r->sock, SHUT_RDWR); /* the worker's next read or write fails */
}

void xend_transfer_receive(int fd, const char *peer, xend_lifecycle_done_fn *done, void *arg)
{
    recv_start(fd, peer, NULL, 0, done, arg);
}
