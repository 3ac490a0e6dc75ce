/*
 * Save, restore and migration: a domain's record and its memory image as one stream, to a
 * file or to another xend's relocation port. The image moves on a worker thread (the
 * backend's save/restore block); everything else happens on the loop through the same
 * lifecycle steps as create and destroy, so a restored domain is validated, attached and
 * persisted like any other.
 *
 * Stream: "XENDIMG1\n" LEN "\n" RECORD "\n" then the backend's image.
 * Migration adds a handshake after the image: the receiver answers (received) once it
 * holds the image, the sender releases its copy (devices, record) and answers (released),
 * then the receiver takes the domain over and answers (ok ID) or (err MSG). The name can
 * therefore be the same on both sides, which is what a local migration needs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "device.h"
#include "domain.h"
#include "hv.h"
#include "lifecycle.h"
#include "lifecycle_internal.h"
#include "log/log.h"
#include "loop.h"
#include "transfer.h"

#define MAGIC "XENDIMG1\n"
#define RECORD_MAX (1u << 20)
#define IO_TIMEOUT_S 60

/* ---- blocking helpers for the worker side ---- */

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Read one line (up to max-1 bytes, without the newline) byte by byte: the image follows. */
static int read_line(int fd, char *out, size_t max)
{
    size_t n = 0;
    for (;;) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        if (c == '\n')
            break;
        if (n + 1 >= max)
            return -1;
        out[n++] = c;
    }
    out[n] = '\0';
    return 0;
}

static int write_header(int fd, const struct xend_sxp *record)
{
    char *text = xend_sxp_print(record);
    char len[32];
    snprintf(len, sizeof(len), "%zu\n", strlen(text));
    int rc = write_all(fd, MAGIC, strlen(MAGIC)) || write_all(fd, len, strlen(len)) ||
             write_all(fd, text, strlen(text)) || write_all(fd, "\n", 1);
    free(text);
    return rc ? -1 : 0;
}

/* Read the header; returns the record (owned) or NULL with err set. */
static struct xend_sxp *read_header(int fd, struct xend_err *err)
{
    char magic[sizeof(MAGIC)] = {0};
    if (read_all(fd, magic, strlen(MAGIC)) < 0 || strcmp(magic, MAGIC) != 0) {
        xend_err_set(err, XEND_EINVAL, "not a xend image (bad magic)");
        return NULL;
    }
    char line[32];
    long long len;
    if (read_line(fd, line, sizeof(line)) < 0 || !xend_sxp_text_int(line, &len) || len <= 0 ||
        len > RECORD_MAX) {
        xend_err_set(err, XEND_EINVAL, "damaged xend image header");
        return NULL;
    }
    char *text = xend_xmalloc((size_t)len + 1);
    char nl;
    if (read_all(fd, text, (size_t)len) < 0 || read_all(fd, &nl, 1) < 0 || nl != '\n') {
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

static void set_io_timeout(int fd)
{
    struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* ---- sending: save and migrate ---- */

struct send {
    struct xend_domain *dom;
    uint32_t domid;
    int fd;
    char *path;        /* save: the file (opened by the worker), unlinked on failure */
    char *host, *port; /* migrate */
    bool live;
    struct xend_sxp *record;
    xend_lifecycle_done_fn *done;
    void *arg;
    struct xend_err err;
    int rc;
    bool released;     /* migrate: the receiver holds the image */
};

static void send_reply(struct send *s, struct xend_domain *dom)
{
    s->done(s->rc, &s->err, dom, s->arg);
    if (s->fd >= 0)
        close(s->fd);
    xend_sxp_free(s->record);
    free(s->path);
    free(s->host);
    free(s->port);
    free(s);
}

static void send_failed_on_loop(struct send *s)
{
    struct xend_domain *dom = s->dom;
    struct xend_err e = {0};
    long long paused = 0;
    if (s->record)
        xend_sxp_child_int(s->record, "paused", &paused);
    if (!paused && XEND_HV_CALL(dom_unpause, &e, dom->id) < 0)
        xend_log_warn("unpause after failed transfer", "domain=%s error=\"%s\"", dom->name,
                      xend_err_msg(&e));
    dom->busy = false;
    xend_log_warn("transfer failed", "domain=%s error=\"%s\"", dom->name, xend_err_msg(&s->err));
    xend_lifecycle_emit(s->path ? "xend.domain.save" : "xend.domain.migrate", dom, "error");
    send_reply(s, dom);
}

static void source_released(int rc, const struct xend_err *err, struct xend_domain *dom, void *arg)
{
    (void)dom;
    (void)rc;
    (void)err;
    struct send *s = arg;
    xend_log_info(s->path ? "domain saved" : "domain migrated out", "domain=%s", s->record
                  ? xend_sxp_child_value(s->record, "name", "?") : "?");
    send_reply(s, NULL);
}

/* The image is safe elsewhere: take the source down without a restart. */
static void release_source(struct send *s)
{
    struct xend_domain *dom = s->dom;
    dom->busy = false;
    dom->restart_forced = false;
    dom->shutdown_requested = XEND_SHUTDOWN_HALT;
    xend_lifecycle_emit(s->path ? "xend.domain.save" : "xend.domain.migrate", dom, "ok");
    xend_lifecycle_teardown(dom, XEND_SHUTDOWN_SUSPEND, false, source_released, s);
}

static void progress(void *arg, uint64_t done, uint64_t total)
{
    struct send *s = arg;
    xend_log_debug("transfer progress", "domain=%u done=%llu total=%llu", s->domid,
                   (unsigned long long)done, (unsigned long long)total);
}

/* The file's name must survive a crash as well as its bytes: the record is dropped next. */
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

/* Worker thread: every call on the file may block on slow storage. */
static void save_work(void *arg)
{
    struct send *s = arg;
    void *ctx;
    const struct xend_backend_ops *ops = xend_hv(&ctx);
    s->fd = open(s->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (s->fd < 0) {
        s->rc = xend_err_set(&s->err, XEND_EIO, "cannot create %s: %s", s->path, strerror(errno));
        return; /* nothing to unlink: it was never made */
    }
    if (write_header(s->fd, s->record) < 0) {
        s->rc = xend_err_set(&s->err, XEND_EIO, "cannot write %s: %s", s->path, strerror(errno));
    } else {
        s->rc = ops->save(ctx, s->domid, s->fd, false, progress, s, &s->err);
        if (s->rc == 0 && (fsync(s->fd) < 0 || fsync_parent(s->path) < 0))
            s->rc = xend_err_set(&s->err, XEND_EIO, "cannot write %s: %s", s->path,
                                 strerror(errno));
    }
    if (s->rc < 0)
        unlink(s->path);
}

static void save_marked(void *arg, int rc)
{
    struct send *s = arg;
    if (rc < 0) {
        /* Without the mark a crash during the teardown could bring the domain back next to
         * its image: keep the domain, drop the image. */
        s->rc = xend_err_set(&s->err, XEND_EIO, "saved, but cannot write the store");
        unlink(s->path);
        send_failed_on_loop(s);
        return;
    }
    release_source(s);
}

static void save_done(void *arg)
{
    struct send *s = arg;
    if (s->rc < 0) {
        send_failed_on_loop(s);
        return;
    }
    /* The image is durable: from now on the file is the domain. The mark, durable before
     * the teardown starts, makes the next start finish the teardown if xend dies in it. */
    xend_lifecycle_persist_marked(s->dom, xend_sxp_list_of("released", "1", NULL), save_marked, s);
}

static struct send *send_begin(struct xend_domain *dom, xend_lifecycle_done_fn *done, void *arg,
                               const char *what)
{
    struct send *s = xend_xcalloc(1, sizeof(*s));
    bool was_paused = false;
    s->dom = dom;
    s->fd = -1;
    s->done = done;
    s->arg = arg;
    void *ctx;
    const struct xend_backend_ops *ops = xend_hv(&ctx);
    if (dom->phase != XEND_DOM_LIVE || dom->busy || dom->config == NULL) {
        s->rc = xend_err_set(&s->err, XEND_EBUSY, "Domain %s cannot be %s now", dom->name, what);
    } else if (ops == NULL || ops->save == NULL) {
        s->rc = xend_hv_enotsup("save", &s->err);
    } else {
        struct xend_err e = {0};
        xend_domain_refresh(dom, &e);
        was_paused = (dom->info.flags & XEND_DOMF_PAUSED) != 0;
        s->rc = XEND_HV_CALL(dom_pause, &s->err, dom->id);
    }
    if (s->rc < 0) {
        send_reply(s, dom);
        return NULL;
    }
    dom->busy = true;
    s->domid = dom->id;
    xend_hooks_run(XEND_HOOK_SAVE, dom, XEND_HOOK_NORMAL, -1, NULL, NULL, NULL);
    s->record = xend_domain_record(dom);
    /* A paused domain stays paused where it lands; a running one runs on. */
    xend_sxp_add_kv_int(s->record, "paused", was_paused);
    return s;
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
    struct send *s = send_begin(dom, done, arg, "saved");
    if (s == NULL)
        return;
    s->path = xend_xstrdup(path);
    xend_lifecycle_emit("xend.domain.save", dom, "begin");
    xend_log_info("domain save", "domain=%s file=%s", dom->name, path);
    xend_loop_work(save_work, save_done, s);
}

static int connect_to(const char *host, const char *port, struct xend_err *err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res;
    int r = getaddrinfo(host, port, &hints, &res);
    if (r != 0)
        return xend_err_set(err, XEND_EINVAL, "cannot resolve %s: %s", host, gai_strerror(r));
    int fd = -1;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        set_io_timeout(fd);
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return xend_err_set(err, XEND_EIO, "cannot connect to %s:%s: %s", host, port,
                            strerror(errno));
    return fd;
}

static int read_reply(int fd, const char *expect, long long *value, struct xend_err *err)
{
    char line[1024];
    if (read_line(fd, line, sizeof(line)) < 0)
        return xend_err_set(err, XEND_EIO, "the destination closed the connection");
    struct xend_sxp *v = NULL;
    char msg[128];
    if (xend_sxp_parse(line, strlen(line), NULL, &v, msg, sizeof(msg)) < 0)
        return xend_err_set(err, XEND_EIO, "bad reply from the destination: %s", msg);
    const char *head = xend_sxp_name(v);
    int rc = 0;
    if (head && strcmp(head, "err") == 0)
        rc = xend_err_set(err, XEND_EBACKEND, "destination: %s",
                          xend_sxp_atom_text(xend_sxp_nth(v, 1)) ? xend_sxp_atom_text(xend_sxp_nth(v, 1)) : "?");
    else if (head == NULL || strcmp(head, expect) != 0)
        rc = xend_err_set(err, XEND_EIO, "unexpected reply from the destination: %s", line);
    else if (value)
        xend_sxp_text_int(xend_sxp_atom_text(xend_sxp_nth(v, 1)) ? xend_sxp_atom_text(xend_sxp_nth(v, 1)) : "", value);
    xend_sxp_free(v);
    return rc;
}

static void migrate_work(void *arg)
{
    struct send *s = arg;
    void *ctx;
    const struct xend_backend_ops *ops = xend_hv(&ctx);
    s->fd = connect_to(s->host, s->port, &s->err);
    if (s->fd < 0) {
        s->rc = s->fd;
        s->fd = -1;
        return;
    }
    if (write_header(s->fd, s->record) < 0) {
        s->rc = xend_err_set(&s->err, XEND_EIO, "cannot send to %s: %s", s->host, strerror(errno));
        return;
    }
    s->rc = ops->save(ctx, s->domid, s->fd, s->live, progress, s, &s->err);
    if (s->rc == 0)
        s->rc = read_reply(s->fd, "received", NULL, &s->err);
}

static void migrate_finished(void *arg)
{
    struct send *s = arg;
    if (s->rc < 0)
        xend_log_error("migration failed after release", "domain=%s error=\"%s\"",
                       xend_sxp_child_value(s->record, "name", "?"), xend_err_msg(&s->err));
    send_reply(s, NULL);
}

static void migrate_wait_ok(void *arg)
{
    struct send *s = arg;
    if (write_all(s->fd, "(released)\n", 11) < 0) {
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
    xend_loop_work(migrate_wait_ok, migrate_finished, s);
}

static void migrate_done(void *arg)
{
    struct send *s = arg;
    if (s->rc < 0) {
        if (s->fd >= 0)
            write_all(s->fd, "(abort)\n", 8);
        send_failed_on_loop(s);
        return;
    }
    struct xend_domain *dom = s->dom;
    dom->busy = false;
    dom->shutdown_requested = XEND_SHUTDOWN_HALT;
    xend_lifecycle_emit("xend.domain.migrate", dom, "ok");
    xend_lifecycle_teardown(dom, XEND_SHUTDOWN_SUSPEND, false, migrate_source_gone, s);
}

void xend_lifecycle_migrate(struct xend_domain *dom, const char *destination, bool live,
                            long long resource, xend_lifecycle_done_fn *done, void *arg)
{
    (void)resource; /* the rate limit of 2.0's xfrd; the stream here is unthrottled */
    struct send *s = send_begin(dom, done, arg, "migrated");
    if (s == NULL)
        return;
    s->live = live;
    const char *colon = strrchr(destination, ':');
    if (colon && strchr(colon, ']') == NULL) {
        s->host = xend_xstrndup(destination, (size_t)(colon - destination));
        s->port = xend_xstrdup(colon + 1);
    } else {
        s->host = xend_xstrdup(destination);
        s->port = xend_xstrdup(XEND_RELOCATION_DEFAULT_PORT);
    }
    if (s->host[0] == '[') {
        size_t n = strlen(s->host);
        memmove(s->host, s->host + 1, n);
        if (n > 1 && s->host[n - 2] == ']')
            s->host[n - 2] = '\0';
    }
    xend_lifecycle_emit("xend.domain.migrate", dom, "begin");
    xend_log_info("domain migrate", "domain=%s destination=%s:%s live=%d", dom->name, s->host,
                  s->port, live);
    xend_loop_work(migrate_work, migrate_done, s);
}

/* ---- receiving: restore and the relocation port ---- */

struct recv {
    int fd;
    char *path;     /* restore: the file, opened by the worker; NULL for a migration (a
                     * handshake with the peer) */
    struct xend_sxp *record;
    struct xend_domain *dom;
    /* migration, until the take-over: stands for the domain in its intent record (its name
     * not reserved, the source may hold it); owned */
    struct xend_domain *shadow;
    bool intent_written;
    struct xend_dom_create args;
    uint32_t domid;
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
    xend_lifecycle_adopt_hold(false);
    if (r->done)
        r->done(r->rc, &r->err, r->rc == 0 ? r->dom : NULL, r->arg);
    if (r->path == NULL && r->fd >= 0) {
        char line[700];
        if (r->rc == 0) {
            snprintf(line, sizeof(line), "(ok %u)\n", r->dom->id);
        } else {
            struct xend_buf b = XEND_BUF_INIT;
            xend_buf_puts(&b, "(err ");
            xend_sxp_print_atom(xend_err_msg(&r->err), strlen(xend_err_msg(&r->err)), &b);
            xend_buf_puts(&b, ")\n");
            snprintf(line, sizeof(line), "%s", xend_buf_str(&b));
            xend_buf_free(&b);
        }
        write_all(r->fd, line, strlen(line));
    }
    if (r->fd >= 0)
        close(r->fd);
    xend_sxp_free(r->record);
    free(r->shadow);
    free(r->path);
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
    xend_log_warn("restore failed", "error=\"%s\"", xend_err_msg(&r->err));
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

static void recv_acknowledged(void *arg, int rc)
{
    struct recv *r = arg;
    if (rc < 0) {
        r->rc = xend_err_set(&r->err, XEND_EIO, "restored, but the store write failed");
        xend_lifecycle_teardown(r->dom, XEND_SHUTDOWN_POWEROFF, false, NULL, NULL);
        r->dom = NULL;
        recv_reply(r);
        return;
    }
    xend_lifecycle_emit("xend.domain.create", r->dom, NULL);
    xend_log_info("domain restored", "domain=%s id=%u", r->dom->name, r->dom->id);
    recv_reply(r);
}

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

static void recv_take_over(struct recv *r)
{
    /* The hypervisor domain exists; make it xend's. A restore reserved the name before
     * reading the image; a migration can only now (the source may have had it). */
    if (r->dom == NULL) {
        const struct xend_sxp *cfg = xend_sxp_nth(xend_sxp_child(r->record, "config"), 1);
        int rc = xend_lifecycle_prepare(xend_sxp_copy(cfg), &r->dom, &r->err);
        if (rc < 0) {
            struct xend_err e = {0};
            XEND_HV_CALL(dom_destroy, &e, r->domid);
            r->rc = rc;
            recv_fail(r);
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

static void recv_image_work(void *arg)
{
    struct recv *r = arg;
    void *ctx;
    const struct xend_backend_ops *ops = xend_hv(&ctx);
    if (ops == NULL || ops->restore == NULL) {
        r->rc = xend_hv_enotsup("restore", &r->err);
        return;
    }
    r->rc = ops->restore(ctx, r->fd, &r->args, &r->domid, NULL, NULL, &r->err);
    if (r->rc == 0 && r->path == NULL) {
        /* Hold the image; wait for the sender to let go of its copy. */
        if (write_all(r->fd, "(received)\n", 11) < 0) {
            r->rc = xend_err_set(&r->err, XEND_EIO, "lost the sender");
            return;
        }
        char line[64];
        if (read_line(r->fd, line, sizeof(line)) < 0 || strcmp(line, "(released)") != 0)
            r->rc = xend_err_set(&r->err, XEND_EIO, "the sender did not release the domain");
    }
}

static void recv_received_durable(void *arg, int rc)
{
    struct recv *r = arg;
    if (rc < 0)
        xend_log_error("migration take-over not recorded",
                       "domain=%s id=%u reason=\"cannot write the store: a crash before the "
                       "take-over ends loses the domain\"",
                       r->shadow->name, r->domid);
    recv_take_over(r);
}

static void recv_image_done(void *arg)
{
    struct recv *r = arg;
    if (r->rc < 0) {
        if (r->domid) {
            struct xend_err e = {0};
            XEND_HV_CALL(dom_destroy, &e, r->domid);
        }
        recv_fail(r);
        return;
    }
    if (r->path == NULL) {
        /*
         * The sender let go: the domain exists only here now. Say so in its record before
         * the take-over's steps (devices, scripts), so that a crash among them makes the
         * next start finish the take-over instead of removing the domain as an unfinished
         * create (lifecycle.c, load_record; docs/store.md).
         */
        r->shadow->id = r->domid;
        xend_lifecycle_persist_marked(
            r->shadow, xend_sxp_list_of("received", sent_paused(r) ? "paused" : "running", NULL),
            recv_received_durable, r);
        return;
    }
    recv_take_over(r);
}

static void recv_header_work(void *arg)
{
    struct recv *r = arg;
    if (r->path) {
        /* Worker thread: opening may block on slow storage. */
        r->fd = open(r->path, O_RDONLY | O_CLOEXEC);
        if (r->fd < 0) {
            r->rc = xend_err_set(&r->err, XEND_ENOENT, "cannot open %s: %s", r->path,
                                 strerror(errno));
            return;
        }
    }
    r->record = read_header(r->fd, &r->err);
    if (r->record == NULL)
        r->rc = -r->err.code;
    else if (r->path == NULL)
        set_io_timeout(r->fd); /* the image may take a while between pages */
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
    xend_loop_work(recv_image_work, recv_image_done, r);
}

static void recv_header_done(void *arg)
{
    struct recv *r = arg;
    if (r->rc < 0) {
        recv_fail(r);
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
        if (r->rc < 0) {
            recv_fail(r);
            return;
        }
        r->rc = xend_lifecycle_create_args(r->dom, &r->args, &r->err);
        if (r->rc < 0) {
            recv_fail(r);
            return;
        }
        xend_lifecycle_persist(r->dom, recv_intent_durable, r);
        return;
    }
    /*
     * A migration takes the name only at take-over (the source, maybe on this host, holds it
     * until it lets go), but the intent is durable before the hypervisor holds the domain,
     * as for a create: a crash in between leaves a record that tells the next start to
     * remove the domain, which the hypervisor knows by this name. A source on this host
     * has the same name: its id is spared (its own record may load later).
     */
    struct xend_domain *sh = r->shadow = xend_xcalloc(1, sizeof(*sh));
    snprintf(sh->name, sizeof(sh->name), "%s", xend_sxp_child_value(cfg, "name", ""));
    sh->id = UINT32_MAX;
    sh->phase = XEND_DOM_CREATING;
    sh->shutdown_requested = -1;
    sh->config = (struct xend_sxp *)cfg; /* borrowed from r->record; the record copies it */
    xend_lifecycle_new_key(sh->uuid);
    r->rc = xend_lifecycle_create_args(sh, &r->args, &r->err); /* validates the name too */
    if (r->rc < 0) {
        recv_fail(r);
        return;
    }
    struct xend_sxp *spare = xend_sxp_list_of("spare", NULL);
    struct xend_domain *local = xend_domain_by_name(sh->name);
    if (local && local->id != UINT32_MAX)
        xend_sxp_append_take(spare, xend_sxp_atom_int(local->id));
    xend_lifecycle_persist_marked(sh, spare, recv_intent_durable, r);
}

/* From a connected peer (fd taken) or from a file (path borrowed). */
static void recv_start(int fd, const char *path, xend_lifecycle_done_fn *done, void *arg)
{
    struct recv *r = xend_xcalloc(1, sizeof(*r));
    xend_lifecycle_adopt_hold(true);
    r->fd = fd;
    r->path = path ? xend_xstrdup(path) : NULL;
    r->done = done;
    r->arg = arg;
    xend_loop_work(recv_header_work, recv_header_done, r);
}

void xend_lifecycle_restore(const char *path, xend_lifecycle_done_fn *done, void *arg)
{
    xend_log_info("domain restore", "file=%s", path);
    recv_start(-1, path, done, arg);
}

/* ---- the relocation listener ---- */

#define RELOCATION_MAX_RECEIVES 2 /* concurrent incoming domains; more are refused */
#define HEADER_TIMEOUT_S 10       /* a peer that sends no header in time is dropped */

static struct {
    int fd;
    struct xend_watch *watch;
    unsigned receiving;
} R = {.fd = -1};

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
    struct timeval tv = {.tv_sec = HEADER_TIMEOUT_S};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    R.receiving++;
    xend_log_info("relocation connection", "fd=%d", c);
    recv_start(c, NULL, relocation_done, NULL);
}

int xend_transfer_listen(const char *address, int port, struct xend_err *err)
{
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
}
