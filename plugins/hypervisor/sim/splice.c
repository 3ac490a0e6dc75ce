/*
 * An image's pages between simhv's socket and the caller's file or TCP socket without
 * copying them through xend (sim.h): splice(2) into a pipe and out of it, so the bytes stay
 * in the kernel's pages. Copying them through a buffer cost each xend about 300 ms of CPU
 * a GB (issue 22); the copy stays as the fallback for ends the kernel cannot splice.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "sim.h"

/* A pipe the size of a record, so that one splice in and one out move a whole one. */
#define MOVER_PIPE_BYTES SIM_REC_MAX

void sim_mover_open(struct sim_mover *m)
{
    m->copy = pipe2(m->pipe, O_CLOEXEC) < 0;
    if (m->copy) {
        m->pipe[0] = m->pipe[1] = -1;
        return;
    }
    (void)fcntl(m->pipe[1], F_SETPIPE_SZ, MOVER_PIPE_BYTES); /* a smaller pipe only costs calls */
}

void sim_mover_close(struct sim_mover *m)
{
    if (m->pipe[0] >= 0)
        close(m->pipe[0]);
    if (m->pipe[1] >= 0)
        close(m->pipe[1]);
    m->pipe[0] = m->pipe[1] = -1;
}

static int copy(int from, int to, size_t len, uint8_t *buf, uint64_t deadline)
{
    int rc = sim_recv_exact(from, buf, len, deadline);
    return rc < 0 ? rc : sim_write_all(to, buf, len, deadline);
}

/* The n bytes in the pipe out to `to`; where `to` cannot take a splice they are read back
 * and written, and the mover copies from then on. */
static int drain(struct sim_mover *m, int to, size_t n, uint8_t *buf, uint64_t deadline)
{
    while (n > 0) {
        ssize_t w = splice(m->pipe[0], NULL, to, NULL, n, SPLICE_F_MOVE | SPLICE_F_MORE);
        if (w > 0) {
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int rc = sim_wait_fd(to, POLLOUT, deadline);
            if (rc < 0)
                return rc;
            continue;
        }
        if (w < 0 && errno == EINVAL) {
            m->copy = true;
            return copy(m->pipe[0], to, n, buf, deadline);
        }
        return w < 0 ? -errno : -EPIPE;
    }
    return 0;
}

int sim_move(struct sim_mover *m, int from, int to, size_t len, uint8_t *buf, uint64_t deadline)
{
    while (len > 0) {
        if (m->copy)
            return copy(from, to, len, buf, deadline);
        int rc = sim_wait_fd(from, POLLIN, deadline);
        if (rc < 0)
            return rc;
        ssize_t n =
            splice(from, NULL, m->pipe[1], NULL, len < MOVER_PIPE_BYTES ? len : MOVER_PIPE_BYTES,
                   SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE);
        if (n == 0)
            return -EPIPE;
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            if (errno != EINVAL)
                return -errno;
            m->copy = true; /* nothing was taken from `from` */
            continue;
        }
        len -= (size_t)n;
        if ((rc = drain(m, to, (size_t)n, buf, deadline)) < 0)
            return rc;
    }
    return 0;
}
