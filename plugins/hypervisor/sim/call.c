/*
 * Requests to xend-simhv and their replies: on the shared connection, or on a connection
 * about to become a stream (sim.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "sim.h"

/*
 * One reply line on the request connection, into c->rbuf (NUL-terminated, *len without
 * the newline). Between requests simhv never speaks, so nothing can follow the line and
 * large reads with a blocking socket (SO_RCVTIMEO bounds each wait) replace the
 * poll + peek + read of sim_read_line.
 */
static int read_reply(struct sim_ctx *c, int fd, uint64_t deadline, size_t *len)
{
    size_t have = 0;
    for (;;) {
        if (c->rcap - have < 8192) {
            size_t cap = c->rcap ? c->rcap * 2 : 65536;
            if (cap > SIM_LINE_MAX + 1)
                return -EMSGSIZE;
            char *nb = realloc(c->rbuf, cap);
            if (nb == NULL)
                abort(); /* the ABI's OOM policy */
            c->rbuf = nb;
            c->rcap = cap;
        }
        ssize_t n = recv(fd, c->rbuf + have, c->rcap - have - 1, 0);
        if (n == 0)
            return -EPIPE;
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return -ETIMEDOUT;
            if (errno != EINTR)
                return -errno;
            n = 0;
        }
        char *nl = memchr(c->rbuf + have, '\n', (size_t)n);
        have += (size_t)n;
        if (nl != NULL) {
            if (nl != c->rbuf + have - 1)
                return -EPROTO; /* bytes after the reply: the connection is out of step */
            *nl = '\0';
            *len = have - 1;
            return 0;
        }
        if (sim_now_ms() >= deadline)
            return -ETIMEDOUT;
    }
}

struct xend_sxp *sim_req_new(struct sim_ctx *c, const char *op)
{
    struct xend_sxp *r = c->sxp->list();
    c->sxp->append_take(r, c->sxp->atom(op));
    c->sxp->append_take(r, c->sxp->atom_int(atomic_fetch_add(&c->next_id, 1)));
    return r;
}

struct xend_sxp *sim_req_dom(struct sim_ctx *c, const char *op, uint32_t domid)
{
    return c->sxp->add_kv_int(sim_req_new(c, op), "domid", domid);
}

int sim_lost(struct sim_ctx *c, const char *opname, int r, const char *why, struct xend_err *err)
{
    if (why == NULL)
        why = r == -EPIPE ? "connection closed" : strerror(-r);
    return xend_err_set(err, r == -ETIMEDOUT ? XEND_ETIMEDOUT : XEND_EBACKEND,
                        "lost xend-simhv at %s during %s: %s", c->socket_path, opname, why);
}

char *sim_req_line(struct sim_ctx *c, struct xend_sxp *req, size_t *len, char *want_id,
                   size_t want_id_len, char *opname, size_t opname_len)
{
    const struct xend_host_sxp *sx = c->sxp;
    const char *op = sx->name(req);
    snprintf(opname, opname_len, "%s", op ? op : "?");
    const char *id_text = sx->atom_text(sx->nth(req, 1));
    snprintf(want_id, want_id_len, "%s", id_text ? id_text : "");
    char *text = sx->print(req);
    sx->free(req);
    size_t tlen = strlen(text);
    char *nt = realloc(text, tlen + 2);
    if (nt == NULL)
        abort();
    nt[tlen] = '\n';
    nt[tlen + 1] = '\0';
    *len = tlen + 1;
    return nt;
}

int sim_check_answer(struct sim_ctx *c, const char *answer, size_t alen, const char *want_id,
                     const char *opname, bool *broken, struct xend_err *err)
{
    const struct xend_host_sxp *sx = c->sxp;
    /* The usual answer, (ok ID ...), needs no parse to be recognised. */
    size_t idl = strlen(want_id);
    if (alen > 4 + idl && memcmp(answer, "(ok ", 4) == 0 && memcmp(answer + 4, want_id, idl) == 0 &&
        (answer[4 + idl] == ' ' || answer[4 + idl] == ')'))
        return 0;
    struct xend_sxp *rep = NULL;
    char msg[128];
    int rc = 0;
    if (sx->parse(answer, alen, NULL, &rep, msg, sizeof(msg)) < 0) {
        *broken = true;
        return xend_err_set(err, XEND_EBACKEND, "xend-simhv sent a bad reply to %s: %s", opname,
                            msg);
    }
    const char *head = sx->name(rep);
    const char *got_id = sx->atom_text(sx->nth(rep, 1));
    if (head == NULL || got_id == NULL || strcmp(got_id, want_id) != 0) {
        *broken = true;
        rc = xend_err_set(err, XEND_EBACKEND, "xend-simhv answered %s out of turn", opname);
    } else if (strcmp(head, "err") == 0) {
        const char *code_text = sx->atom_text(sx->nth(rep, 2));
        const char *m = sx->atom_text(sx->nth(rep, 3));
        long code = code_text ? strtol(code_text, NULL, 10) : 0;
        if (code <= 0 || code >= XEND_ERROR_COUNT)
            code = XEND_EBACKEND;
        rc = xend_err_set(err, (int)code, "%s", m ? m : xend_strerror((int)code));
    }
    /* else an ok that is not spelt as simhv spells it: still an ok */
    sx->free(rep);
    return rc;
}

/*
 * Send req (freed here) on fd, with the descriptor pass_fd unless it is -1, and read its
 * reply line: on the shared request connection
 * (shared: into c->rbuf, *owned NULL) or on a connection about to become a stream (read
 * without consuming what follows the line; *owned is the line, to free). 0 and *line for
 * an ok reply with the right id, the simhv error as it came, or -XEND_EIO for a broken
 * connection (with *broken set, so the caller can drop it).
 */
static int sim_exchange(struct sim_ctx *c, int fd, bool shared, struct xend_sxp *req, int pass_fd,
                        const char **line, size_t *line_len, char **owned, char *opname,
                        size_t opname_len, bool *broken, struct xend_err *err)
{
    char want_id[32];
    size_t tlen;
    char *text = sim_req_line(c, req, &tlen, want_id, sizeof(want_id), opname, opname_len);
    uint64_t deadline = sim_now_ms() + SIM_REPLY_TIMEOUT_MS;
    int r = pass_fd >= 0 ? sim_send_fd(fd, text, tlen, pass_fd, deadline)
                         : sim_send_all(fd, text, tlen, deadline);
    free(text);
    *owned = NULL;
    size_t alen = 0;
    const char *answer = NULL;
    if (r == 0 && shared) {
        r = read_reply(c, fd, deadline, &alen);
        answer = c->rbuf;
    } else if (r == 0) {
        r = sim_read_line(fd, owned, deadline);
        answer = *owned;
        alen = r == 0 ? strlen(answer) : 0;
    }
    if (r < 0) {
        *broken = true;
        return sim_lost(c, opname, r, NULL, err);
    }
    int rc = sim_check_answer(c, answer, alen, want_id, opname, broken, err);
    if (rc == 0) {
        *line = answer;
        *line_len = alen;
    } else {
        free(*owned);
        *owned = NULL;
    }
    return rc;
}

/*
 * The reply as a tree: `raw` borrowed from the exchange; 0 and *reply (owned) when wanted.
 */
static int reply_tree(struct sim_ctx *c, const char *raw, size_t len, const char *opname,
                      struct xend_sxp **reply, bool *broken, struct xend_err *err)
{
    if (reply == NULL)
        return 0;
    char msg[128];
    if (c->sxp->parse(raw, len, NULL, reply, msg, sizeof(msg)) < 0) {
        *broken = true;
        return xend_err_set(err, XEND_EBACKEND, "xend-simhv sent a bad reply to %s: %s", opname,
                            msg);
    }
    return 0;
}

/* A connection about to become a stream: send req (freed here), read its reply. */
static int sim_call_fd(struct sim_ctx *c, int fd, struct xend_sxp *req, int pass_fd,
                       struct xend_sxp **reply, bool *broken, struct xend_err *err)
{
    const char *line = NULL;
    size_t len = 0;
    char *owned = NULL;
    char opname[32];
    int rc = sim_exchange(c, fd, false, req, pass_fd, &line, &len, &owned, opname, sizeof(opname),
                          broken, err);
    if (rc == 0)
        rc = reply_tree(c, line, len, opname, reply, broken, err);
    free(owned);
    return rc;
}

/*
 * The shared connection, locked and (re)connected: 0, or an error with the lock released.
 * SO_RCVTIMEO bounds read_reply's waits on it.
 */
static int shared_begin(struct sim_ctx *c, struct xend_err *err)
{
    pthread_mutex_lock(&c->lock);
    if (c->fd >= 0) {
        /* Between requests simhv never speaks: readable now means it hung up. */
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        if (poll(&p, 1, 0) > 0) {
            close(c->fd);
            c->fd = -1;
        }
    }
    if (c->fd < 0) {
        int rc = sim_connect(c, true, &c->fd, err);
        if (rc < 0) {
            pthread_mutex_unlock(&c->lock);
            return rc;
        }
        struct timeval tv = {.tv_sec = SIM_REPLY_TIMEOUT_MS / 1000};
        setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    }
    return 0;
}

static void shared_end(struct sim_ctx *c, bool broken)
{
    if (broken) {
        close(c->fd);
        c->fd = -1;
    }
    pthread_mutex_unlock(&c->lock);
}

int sim_call_raw(struct sim_ctx *c, struct xend_sxp *req, sim_reply_fn *fn, void *arg,
                 struct xend_err *err)
{
    int rc = shared_begin(c, err);
    if (rc < 0) {
        c->sxp->free(req);
        return rc;
    }
    bool broken = false;
    const char *line = NULL;
    size_t len = 0;
    char *owned = NULL;
    char opname[32];
    rc = sim_exchange(c, c->fd, true, req, -1, &line, &len, &owned, opname, sizeof(opname), &broken,
                      err);
    if (rc == 0 && fn != NULL)
        rc = fn(c, line, len, opname, arg, &broken, err);
    shared_end(c, broken);
    return rc;
}

static int tree_fn(struct sim_ctx *c, const char *line, size_t len, const char *opname, void *arg,
                   bool *broken, struct xend_err *err)
{
    return reply_tree(c, line, len, opname, arg, broken, err);
}

int sim_call(struct sim_ctx *c, struct xend_sxp *req, struct xend_sxp **reply, struct xend_err *err)
{
    return sim_call_raw(c, req, reply ? tree_fn : NULL, reply, err);
}

/*
 * Send req (freed here) on fd without waiting for an answer: for a (quiet 1) request, which
 * gets none.
 */
static int send_quiet(struct sim_ctx *c, int fd, struct xend_sxp *req, struct xend_err *err)
{
    char id[32], opname[32];
    size_t len;
    char *text = sim_req_line(c, req, &len, id, sizeof(id), opname, sizeof(opname));
    int r = sim_send_all(fd, text, len, sim_now_ms() + SIM_REPLY_TIMEOUT_MS);
    free(text);
    return r < 0 ? sim_lost(c, opname, r, NULL, err) : 0;
}

int sim_stream(struct sim_ctx *c, struct xend_sxp *req, bool quiet, int pass_fd,
               struct xend_sxp **reply, int *out, struct xend_err *err)
{
    int fd = -1;
    int rc = sim_connect(c, false, &fd, err);
    if (rc < 0) {
        c->sxp->free(req);
        return rc;
    }
    bool broken = false;
    rc =
        quiet ? send_quiet(c, fd, req, err) : sim_call_fd(c, fd, req, pass_fd, reply, &broken, err);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    *out = fd;
    return 0;
}

int sim_reply_u64(struct sim_ctx *c, const struct xend_sxp *rep, const char *key, uint64_t *out,
                  struct xend_err *err)
{
    long long v;
    if (c->sxp->child_int(rep, key, &v) < 0 || v < 0)
        return xend_err_set(err, XEND_EBACKEND, "xend-simhv reply lacks %s", key);
    *out = (uint64_t)v;
    return 0;
}
