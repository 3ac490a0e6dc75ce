/*
 * simhv's state-change stream, relayed into the pipe the core watches (sim.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sim.h"

static void notify_kick(struct sim_ctx *c)
{
    char b = '!';
    ssize_t n = write(c->notify_pipe[1], &b, 1);
    (void)n; /* a full pipe already says "something changed" */
}

void sim_notify_drop(struct sim_ctx *c)
{
    c->host->loop->watch_remove(c->notify_watch);
    c->notify_watch = NULL;
    if (c->notify_sock >= 0)
        close(c->notify_sock);
    c->notify_sock = -1;
}

static void notify_retry(void *arg)
{
    struct sim_ctx *c = arg;
    struct xend_err err = {0};
    if (sim_notify_subscribe(c, &err) == 0) {
        c->host->loop->timer_remove(c->reconnect_timer);
        c->reconnect_timer = NULL;
        c->host->log->emit(c->self, XEND_LOG_NOTICE, "simhv back", "socket=%s", c->socket_path);
        notify_kick(c); /* the world may have changed while we were away */
    }
}

static void notify_readable(int fd, uint32_t events, void *arg)
{
    (void)events;
    struct sim_ctx *c = arg;
    char buf[256];
    bool changed = false;
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0) {
            changed = true;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        /* simhv went away: every domain with it. Tell the core, then keep trying. */
        c->host->log->emit(c->self, XEND_LOG_WARN, "simhv lost", "socket=%s", c->socket_path);
        sim_notify_drop(c);
        changed = true;
        if (c->reconnect_timer == NULL)
            c->reconnect_timer =
                c->host->loop->timer_add(c->self, SIM_RECONNECT_MS, true, notify_retry, c);
        break;
    }
    if (changed)
        notify_kick(c);
}

int sim_notify_subscribe(struct sim_ctx *c, struct xend_err *err)
{
    int fd;
    int rc = sim_stream(c, sim_req_new(c, "notify"), false, -1, NULL, &fd, err);
    if (rc < 0)
        return rc;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    c->notify_sock = fd;
    c->notify_watch = c->host->loop->watch_add(c->self, fd, XEND_WATCH_READ, notify_readable, c);
    return 0;
}

int sim_notify_fd(void *ctx)
{
    struct sim_ctx *c = ctx;
    return c->opened ? c->notify_pipe[0] : -1;
}

void sim_notify_ack(void *ctx)
{
    struct sim_ctx *c = ctx;
    char buf[256];
    while (c->opened && read(c->notify_pipe[0], buf, sizeof(buf)) > 0)
        ;
}
