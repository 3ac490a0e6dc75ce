/*
 * Save, restore and migration: a domain's record and its memory image as one stream, to a
 * file or to another xend's relocation port. The image moves on a worker thread (the
 * backend's save/restore block); everything else happens on the loop through the same
 * lifecycle steps as create and destroy, so a restored domain is validated, attached and
 * persisted like any other.
 *
 * Stream: MAGIC "\n" LEN "\n" RECORD "\n" then the backend's image. A save file is written
 * with the magic XENDPART and becomes XENDIMG1 only once all of it is durable: that one
 * write is the moment the file, not the domain, holds the guest (docs/durability.md).
 *
 * Migration is a two-phase hand-over in which the sender decides (handover.h):
 *   sender                         receiver
 *   header             ------->    checks and reserves everything that can refuse (name,
 *                                  memory, devices' configs, scheduler), intent record
 *                      <-------    (ready) | (err MSG)
 *   image              ------->    domain built paused, devices attached, hooks run
 *                                  (console port), record marked (received ...) durably
 *                      <-------    (received) | (err MSG)
 *   release record durable, own copy taken down
 *   (released) | (abort) ------>   runs it on (unless it came paused), live record
 *                      <-------    (ok ID) | (err MSG)
 * Anything refused before (received) leaves the domain running on the sender as before.
 * A receiver that loses the sender between (received) and its decision keeps the domain
 * paused and asks the sender's relocation port what became of it (handover.h); a start
 * that finds such a record does the same.
 *
 * A local migration (the sender is this xend: a domain here holds the source key) keeps
 * the name held by the source until it lets go, so the receiver takes the name, devices and
 * hooks only after (released); its record's (received ... (taken 0)) mark lets a start
 * decide from this host's own store.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "crashpoint.h"
#include "device.h"
#include "domain.h"
#include "handover.h"
#include "hv.h"
#include "lifecycle.h"
#include "lifecycle_internal.h"
#include "log/log.h"
#include "loop.h"
#include "transfer.h"
#include "wire.h"

#define MAGIC "XENDIMG1\n"
#define MAGIC_PARTIAL "XENDPART\n" /* a save file not yet complete; as long as MAGIC */
#define RECORD_MAX (1u << 20)
#define IO_TIMEOUT_S 60
#define GUARD_TICK_MS 1000   /* how often a receive's deadlines are checked */
#define RATE_WINDOW_MS 10000 /* the image's minimum rate holds over each such window */
#define DOUBT_RETRY_MIN_MS 2000
#define DOUBT_RETRY_MAX_MS 60000

static struct {
    int fd;
    int port; /* what a receiver in doubt asks (the header's (source (port P))) */
    struct xend_watch *watch;
    unsigned receiving;
    regex_t *allow; /* the peers admitted (xend_transfer_options.hosts_allow) */
    size_t nallow;
    bool allow_all;
    struct xend_transfer_options opt;
} R = {.fd = -1};

/* ---- the stream's header ---- */

static int write_header(int fd, const struct xend_sxp *record, const char *magic)
{
    char *text = xend_sxp_print(record);
    char len[32];
    snprintf(len, sizeof(len), "%zu\n", strlen(text));
    int rc = xend_wire_write_str(fd, magic) || xend_wire_write_str(fd, len) ||
             xend_wire_write_str(fd, text) || xend_wire_write_all(fd, "\n", 1);
    free(text);
    return rc ? -1 : 0;
}

/*
 * Read the header; `first` is its first byte when the caller has read it already, else -1.
 * *complete says whether the magic was MAGIC (else MAGIC_PARTIAL). Returns the record
 * (owned) or NULL with err set.
 */
static struct xend_sxp *read_header_any(int fd, int first, bool *complete, struct xend_err *err)
{
    char magic[sizeof(MAGIC)] = {0};
    size_t have = 0;
    if (first >= 0)
        magic[have++] = (char)first;
    if (xend_wire_read_all(fd, magic + have, strlen(MAGIC) - have) < 0 ||
        (strcmp(magic, MAGIC) != 0 && strcmp(magic, MAGIC_PARTIAL) != 0)) {
        xend_err_set(err, XEND_EINVAL, "not a xend image (bad magic)");
        return NULL;
    }
    *complete = strcmp(magic, MAGIC) == 0;
    char line[32];
    long long len;
    if (xend_wire_read_line(fd, line, sizeof(line)) < 0 || !xend_sxp_text_int(line, &len) ||
        len <= 0 || len > RECORD_MAX) {
        xend_err_set(err, XEND_EINVAL, "damaged xend image header");
        return NULL;
    }
    char *text = xend_xmalloc((size_t)len + 1);
    char nl;
    if (xend_wire_read_all(fd, text, (size_t)len) < 0 || xend_wire_read_all(fd, &nl, 1) < 0 ||
        nl != '\n') {
        free(text);
        xend_err_set(err, XEND_EINVAL, "truncated xend image header");
        return NULL;
    }
    struct xend_sxp *rec = NULL;
    char msg[256];
    if (xend_sxp_parse(text, (size_t)len, NULL, &rec, msg, sizeof(msg)) < 0)
        xend_err_set(err, XEND_EINVAL, "damaged xend image record: %s", msg);
    free(text);
    return rec;
}

/* A header that restore and migration accept: complete. */
static struct xend_sxp *read_header(int fd, int first, struct xend_err *err)
{
    bool complete = false;
    struct xend_sxp *rec = read_header_any(fd, first, &complete, err);
    if (rec && !complete) {
        xend_sxp_free(rec);
        rec = NULL;
        xend_err_set(err, XEND_EINVAL, "incomplete xend image: the save did not finish");
    }
    return rec;
}

bool xend_transfer_settle_save(const char *path, const char *token)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct xend_err err = {0};
    bool complete = false;
    struct stat st;
    struct xend_sxp *rec = fstat(fd, &st) == 0 && S_ISREG(st.st_mode)
                               ? read_header_any(fd, -1, &complete, &err)
                               : NULL;
    close(fd);
    bool ours = rec && strcmp(xend_sxp_child_value(rec, "save_token", ""), token) == 0;
    xend_sxp_free(rec);
    if (ours && complete)
        return true;
    if (ours) {
        unlink(path);
        xend_log_notice("unfinished save file removed", "file=%s", path);
    }
    return false;
}

/* A peer's answer line: `expect`, or (err MSG) turned into "destination: MSG". */
static int read_reply(int fd, const char *expect, long long *value, struct xend_err *err)
{
    char line[1024];
    if (xend_wire_read_line(fd, line, sizeof(line)) < 0)
        return xend_err_set(err, XEND_EIO, "the destination closed the connection");
    struct xend_sxp *v = NULL;
    char msg[128];
    if (xend_sxp_parse(line, strlen(line), NULL, &v, msg, sizeof(msg)) < 0)
        return xend_err_set(err, XEND_EIO, "bad reply from the destination: %s", msg);
    const char *head = xend_sxp_name(v);
    const char *arg = xend_sxp_atom_text(xend_sxp_nth(v, 1));
    int rc = 0;
    if (head && strcmp(head, "err") == 0)
        rc = xend_err_set(err, XEND_EBACKEND, "destination: %s", arg ? arg : "?");
    else if (head == NULL || strcmp(head, expect) != 0)
        rc = xend_err_set(err, XEND_EIO, "unexpected reply from the destination: %s", line);
    else if (value)
        xend_sxp_text_int(arg ? arg : "", value);
    xend_sxp_free(v);
    return rc;
}

/* The domain of this xend whose store key is `key`, or NULL. */
static struct xend_domain *domain_by_key(const char *key)
{
    struct xend_domain **all = NULL;
    size_t n = xend_domain_all(&all);
    struct xend_domain *found = NULL;
    for (size_t i = 0; i < n && !found; i++)
        if (strcmp(all[i]->uuid, key) == 0)
            found = all[i];
    free(all);
    return found;
}

/* ---- sending: save and migrate ---- */

struct send {
    struct xend_domain *dom;
    char key[33];  /* the domain's store key */
    char name[64];
    char token[33]; /* save: ties the record's (transfer ...) mark to the file it wrote */
    uint32_t domid;
    int fd;
    char *path;        /* save: the file (made by the worker) */
    bool created;      /* save: the worker made path, so a failure may remove it */
    char *host, *port; /* migrate */
    bool live;
    bool was_paused;
    struct xend_sxp *record;
    void (*go)(struct send *s); /* the kind's next step once the domain is paused */
    xend_lifecycle_done_fn *done;
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
    if (s->fd >= 0)
        close(s->fd);
    xend_sxp_free(s->record);
    free(s->path);
    free(s->host);
    free(s->port);
    free(s);
}

static void send_reply(struct send *s, struct xend_domain *dom)
{
    s->done(s->rc, &s->err, dom, s->arg);
    send_free(s);
}

static void send_unmarked(void *arg, int rc)
{
    struct send *s = arg;
    if (rc < 0)
        xend_log_warn("transfer mark not removed", "domain=%s", s->name);
    send_reply(s, s->dom);
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
    if (s->created)
        unlink(s->path);
    xend_domain_set_mark(dom, NULL);
    xend_log_warn("transfer failed", "domain=%s error=\"%s\"", dom->name, xend_err_msg(&s->err));
    xend_lifecycle_emit(send_what(s), dom, "error");
    xend_lifecycle_persist(dom, send_unmarked, s);
}

static void progress(void *arg, uint64_t done, uint64_t total)
{
    struct send *s = arg;
    xend_log_debug("transfer progress", "domain=%u done=%llu total=%llu", s->domid,
                   (unsigned long long)done, (unsigned long long)total);
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

static void save_source_gone(int rc, const struct xend_err *err, struct xend_domain *dom,
                             void *arg)
{
    (void)dom;
    (void)rc;
    (void)err;
    struct send *s = arg;
    xend_log_info("domain saved", "domain=%s file=%s", s->name, s->path);
    send_reply(s, NULL);
}

/* Worker thread: every call on the file may block on slow storage. */
static void save_work(void *arg)
{
    struct send *s = arg;
    void *ctx;
    const struct xend_backend_ops *ops = xend_hv(&ctx);
    /* Never over anything: an existing file, a symlink planted where the image goes. */
    s->fd = open(s->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (s->fd < 0) {
        s->rc = errno == EEXIST
                    ? xend_err_set(&s->err, XEND_EEXIST, "file exists: %s", s->path)
                    : xend_err_set(&s->err, XEND_EIO, "cannot create %s: %s", s->path,
                                   strerror(errno));
        return;
    }
    s->created = true;
    if (write_header(s->fd, s->record, MAGIC_PARTIAL) < 0) {
        s->rc = xend_err_set(&s->err, XEND_EIO, "cannot write %s: %s", s->path, strerror(errno));
        return;
    }
    s->rc = ops->save(ctx, s->domid, s->fd, false, progress, s, &s->err);
    if (s->rc == 0 && (fsync(s->fd) < 0 || fsync_parent(s->path) < 0))
        s->rc = xend_err_set(&s->err, XEND_EIO, "cannot write %s: %s", s->path, strerror(errno));
    if (s->rc < 0)
        return;
    xend_crash_point("save.image_written");
    /* The commit: from this write on, the file is the domain. */
    if (pwrite(s->fd, MAGIC, strlen(MAGIC), 0) != (ssize_t)strlen(MAGIC) || fdatasync(s->fd) < 0)
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
    s->rc = XEND_HV_CALL(dom_pause, &s->err, dom->id);
    if (s->rc < 0) {
        s->was_paused = true; /* nothing to undo in the hypervisor */
        send_failed_on_loop(s);
        return;
    }
    s->domid = dom->id;
    xend_hooks_run(XEND_HOOK_SAVE, dom, XEND_HOOK_NORMAL, -1, NULL, NULL, NULL);
    struct xend_sxp *mark = dom->mark;
    dom->mark = NULL; /* the sender's own business, not the image's */
    s->record = xend_domain_record(dom);
    dom->mark = mark;
    /* A paused domain stays paused where it lands; a running one runs on. */
    xend_sxp_add_kv_int(s->record, "paused", s->was_paused);
    if (s->path) {
        xend_sxp_add_kv(s->record, "save_token", s->token);
    } else {
        /* Where a receiver in doubt asks what became of the domain (handover.h). */
        struct xend_sxp *src = xend_sxp_list_of("source", NULL);
        xend_sxp_add_kv(src, "key", s->key);
        xend_sxp_add_kv_int(src, "port", R.port);
        xend_sxp_append_take(s->record, src);
    }
    s->go(s);
}

static struct send *send_new(struct xend_domain *dom, const char *path,
                             xend_lifecycle_done_fn *done, void *arg, void (*go)(struct send *s))
{
    struct send *s = xend_xcalloc(1, sizeof(*s));
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
    dom->busy = true;
    xend_lifecycle_emit(send_what(s), dom, "begin");
    struct xend_sxp *mark = xend_sxp_list_of("transfer", NULL);
    xend_sxp_add_kv_int(mark, "paused", s->was_paused);
    if (s->path) {
        xend_lifecycle_new_key(s->token);
        xend_sxp_add_kv(mark, "file", s->path);
        xend_sxp_add_kv(mark, "token", s->token);
    }
    xend_domain_set_mark(dom, mark);
    xend_lifecycle_persist(dom, send_marked, s);
}

void xend_lifecycle_save(struct xend_domain *dom, const char *path, xend_lifecycle_done_fn *done,
                         void *arg)
{
    if (path == NULL || path[0] != '/') {
        struct xend_err err = {0};
        xend_err_set(&err, XEND_EINVAL, "save file must be an absolute path: %s", path ? path : "");
        done(-XEND_EINVAL, &err, dom, arg);
        return;
    }
    xend_log_info("domain save", "domain=%s file=%s", dom->name, path);
    send_begin(send_new(dom, path, done, arg, save_go));
}

/* Worker: up to (received); the sender has let go of nothing yet. */
static void migrate_work(void *arg)
{
    struct send *s = arg;
    void *ctx;
    const struct xend_backend_ops *ops = xend_hv(&ctx);
    s->fd = xend_wire_connect(s->host, s->port, IO_TIMEOUT_S, &s->err);
    if (s->fd < 0) {
        s->rc = s->fd;
        s->fd = -1;
        return;
    }
    if (write_header(s->fd, s->record, MAGIC) < 0) {
        s->rc = xend_err_set(&s->err, XEND_EIO, "cannot send to %s: %s", s->host, strerror(errno));
        return;
    }
    /* The destination's checks come before a byte of the image: a refusal costs nothing. */
    s->rc = read_reply(s->fd, "ready", NULL, &s->err);
    if (s->rc == 0)
        s->rc = ops->save(ctx, s->domid, s->fd, s->live, progress, s, &s->err);
    if (s->rc == 0)
        s->rc = read_reply(s->fd, "received", NULL, &s->err);
}

static void migrate_finished(void *arg)
{
    struct send *s = arg;
    if (s->rc == 0) {
        xend_handover_forget(s->key);
        xend_log_info("domain migrated out", "domain=%s destination=%s:%s", s->name, s->host,
                      s->port);
    } else {
        /* The domain is the destination's whatever it says now: it asks if in doubt. */
        xend_log_error("migration finished with an error after release",
                       "domain=%s destination=%s:%s error=\"%s\"", s->name, s->host, s->port,
                       xend_err_msg(&s->err));
    }
    send_reply(s, NULL);
}

/* Worker: tell the receiver the decision, wait for its take-over. */
static void migrate_wait_ok(void *arg)
{
    struct send *s = arg;
    if (xend_wire_write_str(s->fd, "(released)\n") < 0) {
        s->rc = xend_err_set(&s->err, XEND_EIO, "lost the destination after release");
        return;
    }
    long long id = -1;
    s->rc = read_reply(s->fd, "ok", &id, &s->err);
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

static void migrate_abort(struct send *s)
{
    if (s->fd >= 0)
        xend_wire_write_str(s->fd, "(abort)\n");
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
    dom->busy = false;
    dom->restart_forced = false;
    dom->shutdown_requested = XEND_SHUTDOWN_HALT;
    xend_lifecycle_emit("xend.domain.migrate", dom, "ok");
    xend_lifecycle_teardown(dom, XEND_SHUTDOWN_SUSPEND, false, migrate_source_gone, s);
}

static void migrate_done(void *arg)
{
    struct send *s = arg;
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

void xend_lifecycle_migrate(struct xend_domain *dom, const char *destination, bool live,
                            long long resource, xend_lifecycle_done_fn *done, void *arg)
{
    (void)resource; /* the rate limit of 2.0's xfrd; the stream here is unthrottled */
    char *host, *port;
    const char *colon = strrchr(destination, ':');
    if (colon && strchr(colon, ']') == NULL) {
        host = xend_xstrndup(destination, (size_t)(colon - destination));
        port = xend_xstrdup(colon + 1);
    } else {
        host = xend_xstrdup(destination);
        /* As 2.0's xend: the peer listens where this host's relocation port does. */
        char own[16];
        snprintf(own, sizeof(own), "%d", R.port);
        port = xend_xstrdup(R.port > 0 ? own : XEND_RELOCATION_DEFAULT_PORT);
    }
    if (host[0] == '[') {
        size_t n = strlen(host);
        memmove(host, host + 1, n);
        if (n > 1 && host[n - 2] == ']')
            host[n - 2] = '\0';
    }
    xend_log_info("domain migrate", "domain=%s destination=%s:%s live=%d", dom->name, host, port,
                  live);
    struct send *s = send_new(dom, NULL, done, arg, migrate_go);
    s->host = host;
    s->port = port;
    s->live = live;
    send_begin(s);
}

/* ---- receiving: restore and the relocation port ---- */

enum recv_decision {
    RECV_UNDECIDED,
    RECV_RELEASED, /* the sender let go: take the domain over */
    RECV_ABORTED,  /* the sender kept it: drop the copy */
    RECV_LOST,     /* no word from the sender: in doubt, ask it */
};

struct recv {
    int fd;
    char *path;    /* restore: the file, opened by the worker; NULL for the relocation port */
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
    /* the relocation port's guard: deadlines and a minimum rate (loop timer) */
    struct xend_timer *guard;
    uint64_t started_ms;
    bool header_done;
    atomic_ullong image_bytes; /* the backend's progress, from the worker */
    unsigned long long bytes_at_check;
    bool in_image;        /* between (ready) and the image's end */
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
            xend_buf_printf(&b, "(ok %u)\n", r->dom->id);
        } else {
            xend_buf_puts(&b, "(err ");
            xend_sxp_print_atom(xend_err_msg(&r->err), strlen(xend_err_msg(&r->err)), &b);
            xend_buf_puts(&b, ")\n");
        }
        xend_wire_write_str(r->fd, xend_buf_str(&b));
        xend_buf_free(&b);
    }
    if (r->fd >= 0)
        close(r->fd);
    xend_sxp_free(r->record);
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
    xend_log_warn(r->path ? "restore failed" : "incoming migration failed", "error=\"%s\"",
                  xend_err_msg(&r->err));
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
        xend_log_error("migrated domain runs, but its record was not updated",
                       "domain=%s id=%u", r->dom->name, r->dom->id);
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
        r->rc = rc;
        r->err = *err;
        recv_fail(r);
        return;
    }
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
    xend_lifecycle_attach_instance(r->dom, XEND_HOOK_RESTORE, recv_attached, r);
}

/* ---- migration: the receiver's decision ---- */

/* Worker: (received), then the sender's decision. */
static void recv_decide_work(void *arg)
{
    struct recv *r = arg;
    char line[64];
    if (xend_wire_write_str(r->fd, "(received)\n") < 0 ||
        xend_wire_read_line(r->fd, line, sizeof(line)) < 0)
        r->decision = RECV_LOST;
    else if (strcmp(line, "(released)") == 0)
        r->decision = RECV_RELEASED;
    else if (strcmp(line, "(abort)") == 0)
        r->decision = RECV_ABORTED;
    else
        r->decision = RECV_LOST;
}

static void recv_local_in_doubt(struct recv *r);

static void recv_decided(void *arg)
{
    struct recv *r = arg;
    switch (r->decision) {
    case RECV_RELEASED:
        xend_crash_point("receive.released");
        if (r->local) {
            recv_take_over(r);
            return;
        }
        xend_domain_set_mark(r->dom, NULL);
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
        r->rc = rc;
        r->err = *err;
        recv_fail(r);
        return;
    }
    r->dom->busy = true;
    xend_domain_set_mark(r->dom, received_mark(r, true));
    xend_lifecycle_persist(r->dom, recv_marked, r);
}

static void recv_progress(void *arg, uint64_t done, uint64_t total)
{
    (void)total;
    struct recv *r = arg;
    atomic_store(&r->image_bytes, done);
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
    r->rc = ops->restore(ctx, r->fd, &r->args, &r->domid, recv_progress, r, &r->err);
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
    xend_lifecycle_attach_instance(r->dom, XEND_HOOK_RESTORE, recv_prepared, r);
}

/* Worker: a restore's file, or the first bytes from a peer (a header or a control line). */
static void recv_header_work(void *arg)
{
    struct recv *r = arg;
    int first = -1;
    if (r->path) {
        /* Worker thread: opening may block on slow storage. Only a regular file, never a
         * symlink, a fifo or a device that a request names. */
        r->fd = open(r->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        struct stat st;
        if (r->fd < 0 || fstat(r->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
            r->rc = r->fd < 0 ? xend_err_set(&r->err, XEND_ENOENT, "cannot open %s: %s",
                                             r->path, strerror(errno))
                              : xend_err_set(&r->err, XEND_EINVAL,
                                             "not a regular file: %s", r->path);
            return;
        }
        fcntl(r->fd, F_SETFL, fcntl(r->fd, F_GETFL) & ~O_NONBLOCK);
    } else {
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
    r->record = read_header(r->fd, first, &r->err);
    if (r->record == NULL)
        r->rc = -r->err.code;
    else if (r->path == NULL)
        xend_wire_set_timeout(r->fd, IO_TIMEOUT_S); /* the image may take a while between pages */
}

static void recv_image(struct recv *r)
{
    xend_loop_work(recv_image_work, recv_image_done, r);
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
    if (r->path) {
        xend_crash_point("restore.intent");
        recv_image(r);
        return;
    }
    xend_crash_point("receive.intent");
    r->in_image = R.opt.min_rate_kb > 0;
    r->rate_mark_ms = xend_loop_now_ms();
    xend_loop_work(recv_ready_work, recv_image_done, r);
}

/* 1 when this xend holds a domain under key, 2 when an operation is running on it. */
static int held_here(const char *key)
{
    struct xend_domain *dom = domain_by_key(key);
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
        return xend_err_set(&r->err, XEND_ENOMEM,
                            "not enough memory: %llu MB needed, %llu MB free",
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
        r->rc = xend_lifecycle_prepare(xend_sxp_copy(cfg), &r->dom, &r->err);
        if (r->rc == 0)
            r->rc = xend_lifecycle_create_args(r->dom, &r->args, &r->err);
        if (r->rc < 0) {
            recv_fail(r);
            return;
        }
        xend_lifecycle_persist(r->dom, recv_intent_durable, r);
        return;
    }
    const struct xend_sxp *src = xend_sxp_child(r->record, "source");
    snprintf(r->src_key, sizeof(r->src_key), "%s", xend_sxp_child_value(src, "key", ""));
    snprintf(r->peer_port, sizeof(r->peer_port), "%s", xend_sxp_child_value(src, "port", "0"));
    r->local = r->src_key[0] && domain_by_key(r->src_key) != NULL;
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

static void recv_guard(void *arg);

/* From a connected peer (fd taken, peer its numeric address) or from a file (path
 * borrowed). */
static struct recv *recv_start(int fd, const char *peer, const char *path,
                               xend_lifecycle_done_fn *done, void *arg)
{
    struct recv *r = xend_xcalloc(1, sizeof(*r));
    xend_lifecycle_adopt_hold(true);
    r->fd = fd;
    r->path = path ? xend_xstrdup(path) : NULL;
    if (peer)
        snprintf(r->peer_host, sizeof(r->peer_host), "%s", peer);
    r->done = done;
    r->arg = arg;
    r->started_ms = xend_loop_now_ms();
    if (fd >= 0)
        r->guard = xend_loop_host_table()->timer_add(NULL, GUARD_TICK_MS, true, recv_guard, r);
    xend_loop_work(recv_header_work, recv_header_done, r);
    return r;
}

void xend_lifecycle_restore(const char *path, xend_lifecycle_done_fn *done, void *arg)
{
    xend_log_info("domain restore", "file=%s", path);
    recv_start(-1, NULL, path, done, arg);
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
        xend_handover_forget(r->src_key);
        recv_take_over(r);
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

/* ---- a migration from another host in doubt: ask the sender until it says ---- */

struct doubt {
    char key[33]; /* the domain's key here */
    char host[NI_MAXHOST], port[16], src_key[33];
    bool unpause;
    uint64_t delay_ms;
    enum xend_handover_state state;
};

static void doubt_schedule(struct doubt *d);

static void doubt_end(struct doubt *d)
{
    xend_lifecycle_adopt_hold(false);
    free(d);
}

static void doubt_taken_work(void *arg)
{
    struct doubt *d = arg;
    xend_handover_tell_taken(d->host, d->port, d->src_key);
}

static void doubt_taken_told(void *arg)
{
    doubt_end(arg);
}

static void doubt_committed(void *arg, int rc)
{
    struct doubt *d = arg;
    struct xend_domain *dom = domain_by_key(d->key);
    if (dom) {
        dom->busy = false;
        xend_log_notice("migrated domain taken over", "domain=%s id=%u recorded=%s", dom->name,
                        dom->id, rc < 0 ? "no" : "yes");
        xend_lifecycle_emit("xend.domain.create", dom, NULL);
    }
    xend_loop_work(doubt_taken_work, doubt_taken_told, d);
}

static void doubt_dropped(int rc, const struct xend_err *err, struct xend_domain *dom, void *arg)
{
    (void)rc;
    (void)err;
    (void)dom;
    doubt_end(arg);
}

static void doubt_ask_work(void *arg)
{
    struct doubt *d = arg;
    d->state = xend_handover_ask(d->host, d->port, d->src_key);
}

static void doubt_answered(void *arg)
{
    struct doubt *d = arg;
    struct xend_domain *dom = domain_by_key(d->key);
    if (dom == NULL) { /* an operator destroyed it meanwhile */
        doubt_end(d);
        return;
    }
    switch (d->state) {
    case XEND_HANDOVER_RELEASED:
        xend_domain_set_doubt(dom, NULL);
        xend_domain_set_mark(dom, NULL);
        xend_lifecycle_restored(dom, d->unpause, doubt_committed, d);
        return;
    case XEND_HANDOVER_HELD:
        xend_log_notice("migrated copy dropped: the sender kept the domain", "domain=%s sender=%s:%s",
                        dom->name, d->host, d->port);
        xend_domain_set_doubt(dom, NULL);
        dom->shutdown_requested = XEND_SHUTDOWN_HALT;
        xend_lifecycle_teardown(dom, XEND_SHUTDOWN_SUSPEND, false, doubt_dropped, d);
        return;
    default:
        dom->busy = false;
        xend_domain_set_doubt(dom, "the sender %s:%s is %s; kept paused until it answers",
                              d->host, d->port, xend_handover_state_name(d->state));
        xend_log_warn("migration in doubt", "domain=%s sender=%s:%s answer=%s retry_ms=%llu",
                      dom->name, d->host, d->port, xend_handover_state_name(d->state),
                      (unsigned long long)d->delay_ms);
        doubt_schedule(d);
        return;
    }
}

static void doubt_tick(void *arg)
{
    struct doubt *d = arg;
    struct xend_domain *dom = domain_by_key(d->key);
    if (dom == NULL) {
        doubt_end(d);
        return;
    }
    if (dom->busy) {
        doubt_schedule(d);
        return;
    }
    dom->busy = true;
    xend_loop_work(doubt_ask_work, doubt_answered, d);
}

static void doubt_schedule(struct doubt *d)
{
    uint64_t delay = d->delay_ms;
    d->delay_ms = d->delay_ms * 2 > DOUBT_RETRY_MAX_MS ? DOUBT_RETRY_MAX_MS : d->delay_ms * 2;
    xend_loop_host_table()->timer_add(NULL, delay, false, doubt_tick, d);
}

void xend_transfer_doubt(struct xend_domain *dom, const char *host, const char *port,
                         const char *src_key, bool unpause)
{
    struct doubt *d = xend_xcalloc(1, sizeof(*d));
    snprintf(d->key, sizeof(d->key), "%s", dom->uuid);
    snprintf(d->host, sizeof(d->host), "%s", host);
    snprintf(d->port, sizeof(d->port), "%s", port);
    snprintf(d->src_key, sizeof(d->src_key), "%s", src_key);
    d->unpause = unpause;
    d->delay_ms = DOUBT_RETRY_MIN_MS;
    xend_domain_set_doubt(dom, "asking the sender %s:%s; kept paused until it answers", host,
                          port);
    /* The first question goes at once; it is not a stranger to adopt meanwhile. */
    xend_lifecycle_adopt_hold(true);
    dom->busy = true;
    xend_loop_work(doubt_ask_work, doubt_answered, d);
}

/* ---- the relocation listener ---- */

#define RELOCATION_MAX_RECEIVES 2 /* concurrent incoming domains; more are refused */

/*
 * A peer is admitted when its numeric address (or "localhost", for a loopback one) matches
 * one of the hosts-allow expressions. Names are not looked up: a reverse lookup would block
 * the loop and is the peer's own to forge.
 */
static bool peer_allowed(const struct sockaddr_storage *peer, const char *host)
{
    if (R.allow_all)
        return true;
    bool loopback = (peer->ss_family == AF_INET &&
                     (ntohl(((const struct sockaddr_in *)peer)->sin_addr.s_addr) >> 24) == 127) ||
                    (peer->ss_family == AF_INET6 &&
                     IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)peer)->sin6_addr));
    for (size_t i = 0; i < R.nallow; i++)
        if (regexec(&R.allow[i], host, 0, NULL, 0) == 0 ||
            (loopback && regexec(&R.allow[i], "localhost", 0, NULL, 0) == 0))
            return true;
    return false;
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
    if (!r->header_done && now - r->started_ms >= (uint64_t)R.opt.header_timeout_s * 1000) {
        why = "no whole header in time";
    } else if (now - r->started_ms >= (uint64_t)R.opt.transfer_timeout_s * 1000) {
        why = "the transfer took too long";
    } else if (r->in_image && now - r->rate_mark_ms >= RATE_WINDOW_MS) {
        unsigned long long bytes = atomic_load(&r->image_bytes);
        unsigned long long want = (unsigned long long)R.opt.min_rate_kb * 1024 *
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
    shutdown(r->fd, SHUT_RDWR);
}

static void relocation_done(int rc, const struct xend_err *err, struct xend_domain *dom,
                            void *arg)
{
    (void)rc;
    (void)err;
    (void)dom;
    (void)arg;
    R.receiving--;
}

static void on_relocation(int fd, uint32_t events, void *arg)
{
    (void)events;
    (void)arg;
    struct sockaddr_storage peer;
    socklen_t len = sizeof(peer);
    int c = accept4(fd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
    if (c < 0)
        return;
    /* Each receive holds a worker while it reads: idle peers must not starve saves. */
    if (R.receiving >= RELOCATION_MAX_RECEIVES) {
        xend_log_warn("relocation refused", "reason=\"%u receives in progress\"", R.receiving);
        close(c);
        return;
    }
    char host[NI_MAXHOST] = "";
    getnameinfo((struct sockaddr *)&peer, len, host, sizeof(host), NULL, 0, NI_NUMERICHOST);
    if (!peer_allowed(&peer, host)) {
        xend_log_warn("relocation refused", "peer=%s reason=\"not in xend-relocation-hosts-allow\"",
                      host);
        close(c);
        return;
    }
    xend_wire_set_timeout(c, R.opt.header_timeout_s);
    R.receiving++;
    xend_log_info("relocation connection", "fd=%d peer=%s", c, host);
    recv_start(c, host, NULL, relocation_done, NULL);
}

/* Compile the hosts-allow expressions (space-separated); "" admits every peer. */
static int compile_allow(const char *list, struct xend_err *err)
{
    R.allow_all = list[0] == '\0';
    char *copy = xend_xstrdup(list), *save = NULL;
    int rc = 0;
    for (char *re = strtok_r(copy, " \t", &save); re && rc == 0; re = strtok_r(NULL, " \t", &save)) {
        R.allow = xend_xrealloc(R.allow, (R.nallow + 1) * sizeof(*R.allow));
        int e = regcomp(&R.allow[R.nallow], re, REG_EXTENDED | REG_NOSUB | REG_ICASE);
        if (e != 0) {
            char msg[128];
            regerror(e, &R.allow[R.nallow], msg, sizeof(msg));
            rc = xend_err_set(err, XEND_EINVAL, "xend-relocation-hosts-allow: %s: %s", re, msg);
        } else {
            R.nallow++;
        }
    }
    free(copy);
    return rc;
}

static void free_allow(void)
{
    for (size_t i = 0; i < R.nallow; i++)
        regfree(&R.allow[i]);
    free(R.allow);
    R.allow = NULL;
    R.nallow = 0;
}

int xend_transfer_listen(const struct xend_transfer_options *opt, struct xend_err *err)
{
    const char *address = opt->address;
    int port = opt->port;
    R.opt = *opt;
    if (R.opt.header_timeout_s <= 0)
        R.opt.header_timeout_s = 10;
    if (R.opt.transfer_timeout_s <= 0)
        R.opt.transfer_timeout_s = 3600;
    int crc = compile_allow(opt->hosts_allow ? opt->hosts_allow : XEND_RELOCATION_HOSTS_ALLOW, err);
    if (crc < 0) {
        free_allow();
        return crc;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res;
    char ports[16];
    snprintf(ports, sizeof(ports), "%d", port);
    int r = getaddrinfo(address && *address ? address : NULL, ports, &hints, &res);
    if (r != 0)
        return xend_err_set(err, XEND_EINVAL, "relocation address %s: %s", address, gai_strerror(r));
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 16) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return xend_err_set(err, XEND_EIO, "cannot listen on relocation port %d: %s", port,
                            strerror(e));
    }
    freeaddrinfo(res);
    R.fd = fd;
    R.port = port;
    R.watch = xend_loop_host_table()->watch_add(NULL, fd, XEND_WATCH_READ, on_relocation, NULL);
    return 0;
}

void xend_transfer_stop(void)
{
    xend_loop_host_table()->watch_remove(R.watch);
    R.watch = NULL;
    if (R.fd >= 0)
        close(R.fd);
    R.fd = -1;
    free_allow();
}
