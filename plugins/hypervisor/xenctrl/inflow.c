/*
 * The progress of a restore from a relocation socket. libxenguest reports none while it
 * restores, but the core measures an incoming migration's rate by that progress and cuts
 * one that seems to stall; so while xc_domain_restore reads, a thread reads the socket's
 * byte count (TCP_INFO, which takes nothing from the stream) once a second and reports it.
 * A restore from a file or from a socket of another kind reports nothing, as before.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <linux/tcp.h>

#include "xc_priv.h"

static bool tcp_bytes(int fd, uint64_t *bytes)
{
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    memset(&ti, 0, sizeof(ti));
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 ||
        len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(ti.tcpi_bytes_received))
        return false;
    *bytes = ti.tcpi_bytes_received;
    return true;
}

static void *inflow_main(void *arg)
{
    struct xcb_inflow *f = arg;
    pthread_mutex_lock(&f->lock);
    while (!f->stop) {
        struct timespec at;
        clock_gettime(CLOCK_REALTIME, &at);
        at.tv_sec += 1;
        pthread_cond_timedwait(&f->wake, &f->lock, &at);
        uint64_t bytes;
        if (!f->stop && tcp_bytes(f->fd, &bytes))
            f->progress(f->progress_arg, bytes - f->base, 0);
    }
    pthread_mutex_unlock(&f->lock);
    return NULL;
}

void xcb_inflow_start(struct xcb_inflow *f, int fd, xend_progress_fn *progress, void *progress_arg)
{
    memset(f, 0, sizeof(*f));
    f->fd = fd;
    f->progress = progress;
    f->progress_arg = progress_arg;
    if (progress == NULL || !tcp_bytes(fd, &f->base))
        return;
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->wake, NULL);
    f->running = pthread_create(&f->thread, NULL, inflow_main, f) == 0;
    if (!f->running) {
        pthread_cond_destroy(&f->wake);
        pthread_mutex_destroy(&f->lock);
    }
}

void xcb_inflow_stop(struct xcb_inflow *f)
{
    if (!f->running)
        return;
    pthread_mutex_lock(&f->lock);
    f->stop = true;
    pthread_cond_signal(&f->wake);
    pthread_mutex_unlock(&f->lock);
    pthread_join(f->thread, NULL);
    pthread_cond_destroy(&f->wake);
    pthread_mutex_destroy(&f->lock);
    f->running = false;
}
