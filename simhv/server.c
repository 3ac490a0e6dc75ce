/*
 * The simhv server loop (see server.h): accept, read, dispatch, write, with each
 * connection in one mode at a time. Never blocks on one client.
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"
#include "image.h"
#include "proto.h"

/* A restore's image comes in through this: 256 KiB a read (its sender's buffer holds more,
 * STREAM_SOCKBUF) is a quarter of the calls 64 KiB took, and still fits in the cache. One
 * buffer for the whole server: it is single-threaded, and no read outlives conn_read. */
#define READ_CHUNK ((size_t)256 * 1024)
static uint8_t read_buf[READ_CHUNK];
#define OUT_HIGH ((size_t)1024 * 1024)   /* stop reading requests while replies pile up */
#define SAVE_BUDGET ((size_t)256 * 1024) /* stream bytes prepared per step */
#define STREAM_SOCKBUF (4 * 1024 * 1024) /* the kernel caps it (net.core.wmem_max) */
#define CONSOLE_CHUNK ((size_t)64 * 1024)
#define CLOSE_DRAIN_MAX ((size_t)64 * 1024 * 1024)
/* A handed save's image made per turn at most, so other clients get their turn. */
#define HANDED_TURN_MAX ((size_t)1024 * 1024)
/* Control records of a handed save or restore (docs/simhv.md, "Handed descriptors"); the
 * image's own types (END, ABORT, ROUND) mean there what they mean in an image. */
#define CTL_PROGRESS 5u /* u64 bytes through the descriptor, u64 pages done, u64 pages in all */

enum conn_mode { MODE_REQ, MODE_CONSOLE, MODE_NOTIFY, MODE_SAVE, MODE_RESTORE, MODE_CLOSING };

struct conn {
    int fd;
    enum conn_mode mode;
    struct xend_buf in; /* MODE_REQ: the partial line */
    bool discarding;    /* skipping the rest of an overlong line */
    struct xend_buf out;
    size_t out_off;
    bool write_shut; /* MODE_CLOSING: our side is done, drain theirs */
    uint64_t drained;
    uint64_t dom_uid;     /* console */
    uint32_t domid;       /* console: with dom_uid, an array lookup per turn */
    uint64_t console_gen; /* console: which attach this is */
    uint64_t seen_seq;    /* notify */
    struct simhv_saver *saver;
    struct simhv_restorer *restorer;
    long long req_id; /* restore: the request to answer at the end */
    /* A save or restore whose image goes through a descriptor the client handed over with
     * its request (SCM_RIGHTS): the connection then carries only control records, and
     * from the client the credit, a u64 of how many bytes may go through in all. */
    int passed_fd;        /* came with the request bytes read last; -1 */
    int data_fd;          /* -1: the image goes through the connection itself */
    struct xend_buf dout; /* a handed save's image not yet written */
    size_t dout_off;
    uint32_t data_events;  /* what epoll watches data_fd for (0: not in the set) */
    uint64_t credit;       /* bytes the client allows through data_fd, in all */
    uint64_t moved;        /* bytes through data_fd so far */
    uint64_t reported;     /* moved, as the last progress record said */
    uint64_t report_every; /* a progress record each time this much more moved */
    uint8_t credit_in[8];  /* a credit being read */
    size_t credit_have;
    bool data_done;  /* a handed save made its last byte */
    bool handed;     /* to its end, whatever comes on the connection is credit */
    uint32_t events; /* what epoll watches for now: changed only when it must */
    bool dead;
    bool in_console_list; /* moved to server.console_conns (prev links it there) */
    bool touched;         /* in server.touched */
    bool hooked;          /* it may be its console's wake_arg */
    struct server *server;
    struct conn *next, *prev;
    struct conn *touched_next;
};

struct server {
    struct simhv_machine *m;
    int listen_fd;
    const char *path;
    struct stat sock_st; /* the socket file we made: gone or replaced means unreachable */
    uint64_t next_check_ns;
    struct conn *conns;
    /* Console connections (one per domain xend follows) live apart and get a look only
     * when touched: by console output or the console's end (its wake), a new attach, an
     * event of their own, or work left from the last look. Walking thousands of them on
     * every turn made simhv quadratic in creates. */
    struct conn *console_conns;
    struct conn *touched;
    int ep; /* epoll: no per-turn poll set over every connection */
    bool stopping;
};

#define ORPHAN_CHECK_NS 1000000000ull

/*
 * Nobody can reach a simhv whose socket file was removed (its state dir deleted, another
 * simhv took the path): once its last client has gone, it stops instead of lingering.
 */
static void check_orphaned(struct server *s, uint64_t now)
{
    if (now < s->next_check_ns || s->conns != NULL || s->console_conns != NULL)
        return;
    s->next_check_ns = now + ORPHAN_CHECK_NS;
    struct stat st;
    if (lstat(s->path, &st) == 0 && st.st_ino == s->sock_st.st_ino &&
        st.st_dev == s->sock_st.st_dev)
        return;
    simhv_log("socket %s is gone and no client is left: stopping", s->path);
    s->stopping = true;
}

uint64_t simhv_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void mkdir_parents(const char *path)
{
    char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
    snprintf(dir, sizeof(dir), "%s", path);
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        mkdir(dir, 0700);
        *p = '/';
    }
}

int simhv_listen(const char *path, struct xend_err *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path)) {
        xend_err_set(err, XEND_EINVAL, "socket path too long: %s", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        xend_err_set(err, XEND_EIO, "socket: %s", strerror(errno));
        return -1;
    }
    /* A socket file nobody answers on is left over from a crash: replace it. */
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        close(probe);
        close(fd);
        xend_err_set(err, XEND_EEXIST, "a simhv is already running on %s", path);
        return -1;
    }
    if (probe >= 0)
        close(probe);
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path);
    mkdir_parents(path);
    mode_t old = umask(077);
    int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (r < 0 || listen(fd, 128) < 0) {
        xend_err_set(err, XEND_EIO, "cannot listen on %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* ---- connections ---- */

static void touch(struct conn *c)
{
    if (c->touched)
        return;
    c->touched = true;
    c->touched_next = c->server->touched;
    c->server->touched = c;
}

static void console_wake(void *arg)
{
    touch(arg);
}

/* A console outlives its reader: it must not wake a freed one. */
static void console_unhook(struct server *s, struct conn *c)
{
    if (!c->hooked)
        return;
    c->hooked = false;
    struct simhv_domain *d = simhv_dom_find(s->m, c->domid);
    if (d != NULL && d->uid == c->dom_uid && d->console.wake_arg == c)
        d->console.wake = NULL;
}

/* The handed descriptor goes as soon as the image is through: the client's side of it (a
 * TCP connection) must not stay open here after the client closes it. */
static void data_close(struct server *s, struct conn *c)
{
    if (c->data_fd < 0)
        return;
    if (c->data_events != 0)
        epoll_ctl(s->ep, EPOLL_CTL_DEL, c->data_fd, NULL);
    close(c->data_fd);
    c->data_fd = -1;
    c->data_events = 0;
}

static void conn_close(struct server *s, struct conn *c)
{
    if (c->touched) /* woken while still a request connection; the list is short */
        for (struct conn **pp = &s->touched; *pp != NULL; pp = &(*pp)->touched_next)
            if (*pp == c) {
                *pp = c->touched_next;
                break;
            }
    console_unhook(s, c);
    if (c->in_console_list) {
        if (c->prev != NULL)
            c->prev->next = c->next;
        else
            s->console_conns = c->next;
        if (c->next != NULL)
            c->next->prev = c->prev;
    }
    epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
    data_close(s, c);
    if (c->passed_fd >= 0)
        close(c->passed_fd);
    xend_buf_free(&c->dout);
    simhv_machine_owner_gone(s->m, c);
    simhv_saver_free(c->saver, s->m);
    simhv_restorer_free(c->restorer, s->m);
    xend_buf_free(&c->in);
    xend_buf_free(&c->out);
    close(c->fd);
    free(c);
}

static size_t out_pending(const struct conn *c)
{
    return c->out.len - c->out_off;
}

/* Our part is done: send what is queued, then drain the peer until it closes. */
static void conn_finish(struct conn *c)
{
    c->mode = MODE_CLOSING;
}

static void conn_write(struct conn *c)
{
    while (out_pending(c) > 0) {
        ssize_t n = send(c->fd, c->out.data + c->out_off, out_pending(c), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                c->dead = true;
            return;
        }
        c->out_off += (size_t)n;
    }
    xend_buf_reset(&c->out);
    c->out_off = 0;
}

/* The request took the descriptor that came with it. */
static void handed_begin(struct conn *c, const struct simhv_proto_result *res)
{
    c->data_fd = c->passed_fd;
    c->passed_fd = -1;
    c->handed = true;
    c->report_every = res->report_bytes;
}

/* A control record of a handed save or restore, to the client. */
static void put_ctl(struct conn *c, uint32_t type, const void *data, size_t len)
{
    uint8_t h[8];
    simhv_put_le32(h, type);
    simhv_put_le32(h + 4, (uint32_t)len);
    xend_buf_append(&c->out, h, sizeof(h));
    xend_buf_append(&c->out, data, len);
}

/* What moved through the descriptor and how many pages that was. */
static void put_progress(struct conn *c)
{
    uint64_t done = 0, total = 0;
    if (c->saver != NULL) {
        done = simhv_saver_sent(c->saver);
        total = simhv_saver_pages(c->saver);
    } else if (c->restorer != NULL) {
        simhv_restorer_progress(c->restorer, &done, &total);
    }
    uint8_t p[24];
    simhv_put_le64(p, c->moved);
    simhv_put_le64(p + 8, done);
    simhv_put_le64(p + 16, total);
    put_ctl(c, CTL_PROGRESS, p, sizeof(p));
    c->reported = c->moved;
}

static void apply_action(struct server *s, struct conn *c, struct simhv_proto_result *res)
{
    switch (res->action) {
    case SIMHV_ACT_NONE:
        break;
    case SIMHV_ACT_CONSOLE: {
        struct simhv_domain *d = simhv_dom_find_uid(s->m, res->dom_uid);
        c->mode = MODE_CONSOLE;
        c->dom_uid = res->dom_uid;
        c->domid = d ? d->domid : 0;
        c->console_gen = d ? d->console.attach_gen : 0;
        if (d != NULL) {
            if (d->console.wake != NULL) /* an older client of this console must go */
                d->console.wake(d->console.wake_arg);
            d->console.wake = console_wake;
            d->console.wake_arg = c;
            c->hooked = true;
        }
        break;
    }
    case SIMHV_ACT_NOTIFY:
        c->mode = MODE_NOTIFY;
        c->seen_seq = s->m->change_seq;
        break;
    case SIMHV_ACT_SAVE: {
        c->mode = MODE_SAVE;
        c->saver = res->saver;
        if (res->handed) {
            handed_begin(c, res);
            simhv_saver_rounds_to(c->saver, &c->out);
            break;
        }
        /* A unix socket holds what its sender's buffer allows (200 KiB by default): a larger
         * one lets each of the reader's wake-ups take more, and there are fewer of them. */
        int sz = STREAM_SOCKBUF;
        (void)setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
        break;
    }
    case SIMHV_ACT_RESTORE:
        c->mode = MODE_RESTORE;
        c->restorer = res->restorer;
        c->req_id = res->req_id;
        if (res->handed)
            handed_begin(c, res);
        break;
    case SIMHV_ACT_STOP:
        s->stopping = true;
        break;
    case SIMHV_ACT_HANGUP:
        c->dead = true;
        break;
    }
}

/* A restore ended: rc 1 complete (domid), or an error. A handed one's descriptor goes
 * before the reply line, which follows its last progress record. */
static void restore_end(struct server *s, struct conn *c, int rc, const struct xend_err *err,
                        uint32_t domid)
{
    if (rc < 0)
        simhv_log("restore failed: %s", xend_err_msg(err));
    if (c->data_fd >= 0) {
        data_close(s, c);
        put_progress(c);
    }
    simhv_proto_reply(&c->out, c->req_id, rc < 0 ? rc : 0, err, rc > 0 ? "domid" : NULL, domid);
    simhv_restorer_free(c->restorer, s->m); /* destroys the domain unless complete */
    c->restorer = NULL;
    conn_finish(c);
}

static void restore_feed(struct server *s, struct conn *c, const uint8_t *data, size_t len)
{
    while (len > 0 && c->mode == MODE_RESTORE) {
        struct xend_err err = {0};
        size_t used = 0;
        uint32_t domid = 0;
        int rc = simhv_restorer_feed(c->restorer, s->m, data, len, &used, &domid, &err);
        data += used;
        len -= used;
        if (rc == 0)
            continue;
        restore_end(s, c, rc, &err, domid);
    }
}

/* The console's domain, unless it is gone (its id may belong to another domain by now). */
static struct simhv_domain *console_dom(const struct server *s, const struct conn *c)
{
    struct simhv_domain *d = simhv_dom_find(s->m, c->domid);
    return d != NULL && d->uid == c->dom_uid ? d : NULL;
}

static void console_input(struct server *s, struct conn *c, const uint8_t *data, size_t len)
{
    struct simhv_domain *d = console_dom(s, c);
    if (d == NULL || d->console.attach_gen != c->console_gen)
        return;
    simhv_console_input(&d->console, data, len);
    simhv_guest_console(s->m, d);
}

/* A handed transfer's client speaks only credit: each u64 the bytes that may have gone
 * through the descriptor in all (it only grows). It stops the transfer by closing. */
static void credit_input(struct conn *c, const uint8_t *data, size_t len)
{
    while (len > 0) {
        size_t n = sizeof(c->credit_in) - c->credit_have;
        n = n < len ? n : len;
        memcpy(c->credit_in + c->credit_have, data, n);
        c->credit_have += n;
        data += n;
        len -= n;
        if (c->credit_have < sizeof(c->credit_in))
            break;
        uint64_t v = simhv_get_le64(c->credit_in);
        if (v > c->credit)
            c->credit = v;
        c->credit_have = 0;
    }
}

/* Bytes that follow a request line belong to the connection's new mode. */
static void stream_input(struct server *s, struct conn *c, const uint8_t *data, size_t len)
{
    if (c->handed) { /* even once it ended: a late credit must not stop a finished save */
        credit_input(c, data, len);
        return;
    }
    switch (c->mode) {
    case MODE_CONSOLE:
        console_input(s, c, data, len);
        break;
    case MODE_RESTORE:
        restore_feed(s, c, data, len);
        break;
    case MODE_SAVE:
    case MODE_CLOSING:
        if (c->saver != NULL && simhv_saver_stop(c->saver, s->m)) {
            /* A save's reader speaks only to stop it: the rest of the stream goes unsent. */
            xend_buf_reset(&c->out);
            c->out_off = 0;
            conn_finish(c);
        }
        c->drained += len;
        break;
    default:
        break; /* notify streams only talk */
    }
}

static void request_input(struct server *s, struct conn *c, const uint8_t *data, size_t len)
{
    while (len > 0) {
        if (c->mode != MODE_REQ) {
            stream_input(s, c, data, len);
            return;
        }
        const uint8_t *nl = memchr(data, '\n', len);
        size_t take = nl ? (size_t)(nl - data) : len;
        if (c->discarding) {
            c->discarding = nl == NULL;
        } else if (c->in.len + take > SIMHV_LINE_MAX) {
            struct xend_err err = {0};
            xend_err_set(&err, XEND_ELIMIT, "request line longer than %zu bytes", SIMHV_LINE_MAX);
            simhv_proto_reply(&c->out, 0, -XEND_ELIMIT, &err, NULL, 0);
            xend_buf_reset(&c->in);
            c->discarding = nl == NULL;
        } else {
            xend_buf_append(&c->in, data, take);
            if (nl != NULL) {
                size_t l = c->in.len;
                while (l > 0 && (c->in.data[l - 1] == '\r' || c->in.data[l - 1] == ' '))
                    l--;
                if (l > 0) {
                    struct simhv_proto_result res;
                    simhv_proto_handle_with(s->m, c, c->in.data, l, simhv_clock_ns(),
                                            c->passed_fd >= 0, &c->out, &res);
                    apply_action(s, c, &res);
                    if (c->passed_fd >= 0) { /* a descriptor no request took */
                        close(c->passed_fd);
                        c->passed_fd = -1;
                    }
                    if (c->dead)
                        return;
                }
                xend_buf_reset(&c->in);
            }
        }
        if (nl == NULL)
            return;
        len -= take + 1;
        data += take + 1;
    }
}

/* A request connection's bytes, and the descriptor that may come with them (a save's or
 * restore's, SCM_RIGHTS): kept for the request they belong to; more than one is refused. */
static ssize_t recv_req(struct conn *c, uint8_t *buf, size_t len)
{
    union {
        struct cmsghdr h;
        char b[CMSG_SPACE(sizeof(int))];
    } u;
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof(u.b)};
    ssize_t n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);
    if (n < 0)
        return n;
    for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); h != NULL; h = CMSG_NXTHDR(&mh, h)) {
        if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
            continue;
        size_t count = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(fd));
            if (c->passed_fd >= 0)
                close(c->passed_fd);
            c->passed_fd = fd;
        }
    }
    return n;
}

static void conn_read(struct server *s, struct conn *c)
{
    uint8_t *buf = read_buf;
    for (int rounds = 0; rounds < 16 && !c->dead; rounds++) {
        ssize_t n =
            c->mode == MODE_REQ ? recv_req(c, buf, READ_CHUNK) : recv(c->fd, buf, READ_CHUNK, 0);
        if (n == 0) {
            c->dead = true;
            return;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                c->dead = true;
            return;
        }
        if (c->mode == MODE_REQ)
            request_input(s, c, buf, (size_t)n);
        else
            stream_input(s, c, buf, (size_t)n);
        if (c->mode == MODE_CLOSING && c->drained > CLOSE_DRAIN_MAX)
            c->dead = true;
        if (c->mode == MODE_REQ && out_pending(c) > OUT_HIGH)
            return;
    }
}

static size_t dout_pending(const struct conn *c)
{
    return c->dout.len - c->dout_off;
}

/* The descriptor broke under a handed save: the save stops (a guest it paused runs again)
 * and the client hears why. */
static void save_handed_failed(struct server *s, struct conn *c, int e)
{
    simhv_saver_stop(c->saver, s->m);
    data_close(s, c);
    char msg[160];
    snprintf(msg, sizeof(msg), "writing the image: %s",
             e == EPIPE || e == ECONNRESET ? "the receiver went away" : strerror(e));
    uint8_t code[4];
    simhv_put_le32(code, XEND_EIO);
    struct xend_buf rec = XEND_BUF_INIT;
    xend_buf_append(&rec, code, sizeof(code));
    xend_buf_puts(&rec, msg);
    put_ctl(c, SIMHV_REC_ABORT, rec.data, rec.len);
    xend_buf_free(&rec);
    conn_finish(c);
}

/*
 * A handed save: the image is made only as far as the client's credit reaches (so that no
 * more of it waits ahead of the client's pace than the credit it gave), written straight
 * into the descriptor, with a progress record every report_every bytes and whenever the
 * credit is used up. Once the last byte is through, the descriptor goes and END says so.
 */
static void save_handed(struct server *s, struct conn *c)
{
    size_t made = 0;
    for (;;) {
        uint64_t room = c->credit - c->moved;
        if (dout_pending(c) == 0) {
            xend_buf_reset(&c->dout);
            c->dout_off = 0;
            if (c->data_done || room == 0 || made >= HANDED_TURN_MAX)
                break;
            if (!simhv_saver_step(c->saver, s->m, &c->dout,
                                  room < SAVE_BUDGET ? room : SAVE_BUDGET))
                c->data_done = true;
            made += c->dout.len;
            continue;
        }
        size_t n = dout_pending(c) < room ? dout_pending(c) : (size_t)room;
        if (n == 0)
            break;
        ssize_t w = send(c->data_fd, c->dout.data + c->dout_off, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (w <= 0) {
            save_handed_failed(s, c, w < 0 ? errno : EPIPE);
            return;
        }
        c->dout_off += (size_t)w;
        c->moved += (uint64_t)w;
        if (c->moved - c->reported >= c->report_every)
            put_progress(c);
    }
    if (c->data_done && dout_pending(c) == 0) {
        data_close(s, c);
        put_progress(c);
        uint8_t e[16];
        simhv_put_le64(e, c->moved);
        simhv_put_le64(e + 8, simhv_saver_sent(c->saver));
        put_ctl(c, SIMHV_REC_END, e, sizeof(e));
        conn_finish(c);
    } else if (c->credit == c->moved && c->moved > c->reported) {
        put_progress(c); /* out of credit: the client grants more on hearing it */
    }
}

/* A handed restore: the image read from the descriptor as far as the credit reaches. */
static void restore_handed(struct server *s, struct conn *c)
{
    size_t taken = 0;
    while (c->mode == MODE_RESTORE && taken < HANDED_TURN_MAX) {
        uint64_t room = c->credit - c->moved;
        if (room == 0)
            break;
        ssize_t n =
            recv(c->data_fd, read_buf, room < READ_CHUNK ? (size_t)room : READ_CHUNK, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            struct xend_err err = {0};
            xend_err_set(&err, XEND_EIO, "reading the image: %s",
                         n == 0 ? "stream ended early" : strerror(errno));
            restore_end(s, c, -XEND_EIO, &err, 0);
            return;
        }
        c->moved += (uint64_t)n;
        taken += (size_t)n;
        restore_feed(s, c, read_buf, (size_t)n);
        if (c->mode == MODE_RESTORE && c->moved - c->reported >= c->report_every)
            put_progress(c);
    }
    if (c->mode == MODE_RESTORE && c->credit == c->moved && c->moved > c->reported)
        put_progress(c);
}

/* Before polling: move machine output into connections, retire finished ones. */
static void conn_prepare(struct server *s, struct conn *c)
{
    switch (c->mode) {
    case MODE_CONSOLE: {
        struct simhv_domain *d = console_dom(s, c);
        if (d == NULL || d->console.attach_gen != c->console_gen) {
            conn_finish(c); /* the domain died, or another client took its console */
            break;
        }
        if (out_pending(c) < CONSOLE_CHUNK && d->console.out_len > 0) {
            size_t n = d->console.out_len < CONSOLE_CHUNK ? d->console.out_len : CONSOLE_CHUNK;
            xend_buf_append(&c->out, d->console.out, n);
            simhv_console_consume_out(&d->console, n);
        }
        break;
    }
    case MODE_NOTIFY:
        if (c->seen_seq != s->m->change_seq && out_pending(c) == 0) {
            xend_buf_putc(&c->out, '!');
            c->seen_seq = s->m->change_seq;
        }
        break;
    case MODE_SAVE:
        if (c->data_fd >= 0) {
            save_handed(s, c);
            break;
        }
        /* Only into an empty buffer: appending behind unsent bytes grew it without end, onto
         * fresh pages (a page fault each), where a small one reused stays in the cache. */
        if (out_pending(c) == 0 && !simhv_saver_step(c->saver, s->m, &c->out, SAVE_BUDGET))
            conn_finish(c);
        break;
    case MODE_RESTORE:
        if (c->data_fd >= 0)
            restore_handed(s, c);
        break;
    default:
        break;
    }
    if (out_pending(c) > 0)
        conn_write(c); /* now rather than after a trip through epoll */
    if (c->mode == MODE_CLOSING && out_pending(c) == 0 && !c->write_shut && !c->dead) {
        shutdown(c->fd, SHUT_WR);
        c->write_shut = true;
    }
}

static void accept_all(struct server *s)
{
    for (;;) {
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                simhv_log("accept: %s", strerror(errno));
            return;
        }
        struct conn *c = xend_xcalloc(1, sizeof(*c));
        c->server = s;
        c->fd = fd;
        c->passed_fd = c->data_fd = -1;
        c->mode = MODE_REQ;
        c->events = EPOLLIN;
        struct epoll_event ev = {.events = c->events, .data.ptr = c};
        if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            simhv_log("epoll_ctl: %s", strerror(errno));
            close(fd);
            free(c);
            continue;
        }
        c->next = s->conns;
        s->conns = c;
    }
}

static int poll_timeout(const struct server *s, bool busy)
{
    if (busy)
        return 0;
    uint64_t next = simhv_machine_next_event(s->m);
    uint64_t tick = (uint64_t)SIMHV_TICK_MS * 1000000u;
    if (next > tick)
        next = tick;
    return (int)((next + 999999u) / 1000000u);
}

/*
 * A handed descriptor is watched only while the credit lets bytes through it: out of
 * credit, its readiness would wake the loop for nothing. Its events carry the connection
 * with the low bit set (a connection is aligned), which the loop only wakes up for: the
 * next turn's conn_prepare moves the bytes.
 */
#define DATA_TAG ((uintptr_t)1)

static void data_watch(struct server *s, struct conn *c)
{
    uint32_t want = 0;
    if (c->moved < c->credit)
        want = c->mode == MODE_RESTORE ? EPOLLIN : dout_pending(c) > 0 ? EPOLLOUT : 0;
    if (want == c->data_events)
        return;
    struct epoll_event ev = {.events = want, .data.u64 = (uintptr_t)c | DATA_TAG};
    int op = want == 0 ? EPOLL_CTL_DEL : c->data_events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    if (epoll_ctl(s->ep, op, c->data_fd, &ev) < 0)
        c->dead = true;
    else
        c->data_events = want;
}

/* Tell epoll what the connection waits for, when that changed. */
static void conn_watch(struct server *s, struct conn *c)
{
    uint32_t want = 0;
    if (c->mode != MODE_REQ || out_pending(c) <= OUT_HIGH)
        want |= EPOLLIN;
    if (out_pending(c) > 0)
        want |= EPOLLOUT;
    if (c->data_fd >= 0)
        data_watch(s, c);
    if (want == c->events)
        return;
    struct epoll_event ev = {.events = want, .data.ptr = c};
    if (epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
        c->dead = true;
    else
        c->events = want;
}

#define EVENTS_MAX 256

/* Whether a console connection needs another look on the next turn. */
static bool console_backlog(const struct server *s, const struct conn *c)
{
    if (c->mode != MODE_CONSOLE || out_pending(c) > 0)
        return true;
    const struct simhv_domain *d = console_dom(s, c);
    return d != NULL && d->console.out_len > 0;
}

/* One look at a connection: move machine output into it, retire it when finished. Returns
 * false when it was closed (and freed). */
static bool conn_turn(struct server *s, struct conn *c, bool *busy)
{
    if (!c->dead)
        conn_prepare(s, c);
    if (!c->dead)
        conn_watch(s, c);
    if (c->dead) {
        conn_close(s, c);
        return false;
    }
    /* A save whose stream is waiting on nobody but us keeps the loop spinning. */
    if (c->data_fd >= 0) /* a handed save with credit and nothing waiting for room */
        *busy = *busy || (c->mode == MODE_SAVE && dout_pending(c) == 0 && c->moved < c->credit);
    else
        *busy = *busy || (c->mode == MODE_SAVE && out_pending(c) == 0);
    return true;
}

/* Every connection but the console ones, each turn; one that became a console connection
 * moves to the console list. */
static void walk_conns(struct server *s, bool *busy)
{
    for (struct conn **pp = &s->conns; *pp != NULL;) {
        struct conn *c = *pp;
        *pp = c->next; /* unlinked while looked at: conn_turn may free it */
        if (!conn_turn(s, c, busy))
            continue;
        if (c->mode == MODE_CONSOLE) {
            c->in_console_list = true;
            c->prev = NULL;
            c->next = s->console_conns;
            if (s->console_conns != NULL)
                s->console_conns->prev = c;
            s->console_conns = c;
            touch(c); /* what the guest wrote before the attach */
            continue;
        }
        c->next = *pp;
        *pp = c;
        pp = &c->next;
    }
}

/* The console connections touched since the last turn; those with work left stay touched. */
static void walk_touched(struct server *s, bool *busy)
{
    struct conn *list = s->touched;
    s->touched = NULL;
    while (list != NULL) {
        struct conn *c = list;
        list = c->touched_next;
        c->touched = false;
        if (conn_turn(s, c, busy) && console_backlog(s, c))
            touch(c);
    }
}

void simhv_serve(struct simhv_machine *m, int listen_fd, const char *path,
                 volatile sig_atomic_t *stop)
{
    struct server s = {.m = m, .listen_fd = listen_fd, .path = path};
    if (lstat(path, &s.sock_st) < 0)
        memset(&s.sock_st, 0, sizeof(s.sock_st));
    s.ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    if (s.ep < 0 || epoll_ctl(s.ep, EPOLL_CTL_ADD, listen_fd, &lev) < 0) {
        simhv_log("epoll: %s", strerror(errno));
        s.stopping = true;
    }
    struct epoll_event evs[EVENTS_MAX];

    simhv_machine_advance(m, simhv_clock_ns());
    while (!*stop && !s.stopping) {
        /* The machine was advanced after the last wait (and before every request since):
         * advancing it again here would only repeat the walk over every domain. */
        check_orphaned(&s, simhv_clock_ns());
        if (s.stopping)
            break;
        bool busy = false;
        walk_conns(&s, &busy);
        walk_touched(&s, &busy);

        simhv_log_flush();
        int r = epoll_wait(s.ep, evs, EVENTS_MAX, poll_timeout(&s, busy));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            simhv_log("epoll_wait: %s", strerror(errno));
            break;
        }
        simhv_machine_advance(m, simhv_clock_ns());
        bool accept_now = false;
        for (int i = 0; i < r; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c == NULL) {
                accept_now = true;
                continue;
            }
            if ((uintptr_t)c & DATA_TAG)
                continue; /* a handed descriptor is ready: the next turn moves its bytes */
            uint32_t re = evs[i].events;
            if (c->in_console_list)
                touch(c);
            if (re & EPOLLOUT)
                conn_write(c);
            if (re & (EPOLLIN | EPOLLHUP | EPOLLERR))
                conn_read(&s, c);
            if (!c->dead && out_pending(c) > 0)
                conn_write(c); /* replies go out at once: one less trip through epoll */
        }
        if (accept_now)
            accept_all(&s);
    }

    /* The socket goes first, so a client that sees its connection close can start
     * another simhv on the same path at once; but only if it is still ours. */
    struct stat st;
    if (lstat(path, &st) == 0 && st.st_ino == s.sock_st.st_ino && st.st_dev == s.sock_st.st_dev)
        unlink(path);
    close(listen_fd);
    /* Best effort: the (stop) reply, then everyone sees the socket close. */
    if (s.console_conns != NULL) { /* one list to close */
        struct conn **tail = &s.console_conns;
        while (*tail != NULL)
            tail = &(*tail)->next;
        *tail = s.conns;
        s.conns = s.console_conns;
        s.console_conns = NULL;
    }
    while (s.conns != NULL) {
        struct conn *c = s.conns;
        s.conns = c->next;
        if (c->mode == MODE_REQ && out_pending(c) > 0) {
            /* Blocking, but never for long: a client that does not read loses its reply. */
            struct timeval tv = {.tv_sec = 1};
            setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
            int fl = fcntl(c->fd, F_GETFL);
            if (fl >= 0)
                fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK);
            conn_write(c);
        }
        /* Leaving: domains stay as they are until the machine goes with us. */
        console_unhook(&s, c);
        c->mode = MODE_CLOSING;
        simhv_saver_free(c->saver, m);
        c->saver = NULL;
        simhv_restorer_free(c->restorer, m);
        c->restorer = NULL;
        if (c->data_fd >= 0)
            close(c->data_fd);
        if (c->passed_fd >= 0)
            close(c->passed_fd);
        xend_buf_free(&c->dout);
        xend_buf_free(&c->in);
        xend_buf_free(&c->out);
        close(c->fd);
        free(c);
    }
    if (s.ep >= 0)
        close(s.ep);
}
