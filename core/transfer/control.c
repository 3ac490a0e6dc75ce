/*
 * What an operator can do to a running transfer (transfer/internal.h): stop it, and hold it
 * to a rate. Both act inside the backend's progress callback, on the worker thread, which
 * is the only place a transfer's pace can be set without copying its bytes through xend.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <linux/tcp.h> /* the kernel's tcp_info: glibc's lacks the byte counts */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "domain_table.h"
#include "log/log.h"
#include "transfer/internal.h"

/* The backend's units, where the fd cannot say how many bytes went through it: a page
 * record's page and its 8-byte frame number (sim and xenctrl both count pages). */
#define PAGE_BYTES 4104u

void xend_transfer_ctl_init(struct xend_transfer_ctl *c, uint64_t rate_bytes_s)
{
    atomic_init(&c->state, XEND_TRANSFER_RUNNING);
    atomic_init(&c->bytes, 0);
    c->rate = rate_bytes_s;
    c->fd = -1;
    pthread_mutex_init(&c->lock, NULL);
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&c->wake, &a);
    pthread_condattr_destroy(&a);
}

/* The listed transfers, for a cancel to find by domain; loop thread only. */
static struct xend_transfer_ctl *listed;

void xend_transfer_ctl_list(struct xend_transfer_ctl *c, struct xend_domain *dom, const char *op,
                            const char *refusal, ...)
{
    va_list ap;
    va_start(ap, refusal);
    vsnprintf(c->refusal, sizeof(c->refusal), refusal, ap);
    va_end(ap);
    c->dom = dom;
    c->op = op;
    c->next = listed;
    listed = c;
}

void xend_transfer_ctl_destroy(struct xend_transfer_ctl *c)
{
    for (struct xend_transfer_ctl **pp = &listed; *pp != NULL; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->lock);
}

/*
 * Bytes through fd so far: a file's offset (save and restore move through it in order), a
 * TCP socket's bytes the peer acknowledged plus those still queued, and what it received.
 * -1 where the descriptor keeps no count (the socketpair of a TLS connection).
 */
int64_t xend_transfer_fd_bytes(int fd)
{
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return -1;
    if (S_ISREG(st.st_mode)) {
        off_t off = lseek(fd, 0, SEEK_CUR);
        return off < 0 ? -1 : (int64_t)off;
    }
    if (!S_ISSOCK(st.st_mode))
        return -1;
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 ||
        len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(ti.tcpi_bytes_received))
        return -1;
    int queued = 0;
    if (ioctl(fd, SIOCOUTQ, &queued) < 0)
        queued = 0;
    return (int64_t)(ti.tcpi_bytes_acked + (uint64_t)queued + ti.tcpi_bytes_received);
}

void xend_transfer_ctl_start(struct xend_transfer_ctl *c, int fd)
{
    c->fd = fd;
    int64_t b = xend_transfer_fd_bytes(fd);
    c->counted = b >= 0;
    c->base = b >= 0 ? (uint64_t)b : 0;
    c->start_ns = xend_clock_ns();
}

uint64_t xend_transfer_ctl_measure(struct xend_transfer_ctl *c, uint64_t done)
{
    int64_t b = c->counted ? xend_transfer_fd_bytes(c->fd) : -1;
    if (b >= (int64_t)c->base)
        atomic_store(&c->bytes, (uint64_t)b - c->base);
    else if (done > 0)
        atomic_store(&c->bytes, done * PAGE_BYTES);
    return atomic_load(&c->bytes);
}

int xend_transfer_ctl_step(struct xend_transfer_ctl *c, struct xend_transfer_progress *p,
                           uint64_t done, uint64_t total)
{
    /* Measuring a counted fd takes three system calls: once a second is enough for the
     * report; pacing needs it every time. An uncounted one's estimate is arithmetic. */
    bool due = p != NULL && xend_transfer_progress_due(p, done, total);
    uint64_t bytes = due || c->rate > 0 || !c->counted ? xend_transfer_ctl_measure(c, done)
                                                       : atomic_load(&c->bytes);
    if (due)
        xend_transfer_progress_report(p, done, total, bytes);
    if (c->rate > 0) {
        /* Hold the stream until it is no ahead of the rate since its start: sleep until
         * the time these bytes are due, or until a cancel. */
        uint64_t due = c->start_ns + (uint64_t)((long double)bytes * 1e9L / (long double)c->rate);
        struct timespec ts = {.tv_sec = (time_t)(due / 1000000000u),
                              .tv_nsec = (long)(due % 1000000000u)};
        pthread_mutex_lock(&c->lock);
        while (atomic_load(&c->state) != XEND_TRANSFER_CANCELLED && xend_clock_ns() < due)
            if (pthread_cond_timedwait(&c->wake, &c->lock, &ts) == ETIMEDOUT)
                break;
        pthread_mutex_unlock(&c->lock);
    }
    return atomic_load(&c->state) == XEND_TRANSFER_CANCELLED ? -XEND_ECANCELED : 0;
}

bool xend_transfer_ctl_cancel(struct xend_transfer_ctl *c)
{
    int want = XEND_TRANSFER_RUNNING;
    if (!atomic_compare_exchange_strong(&c->state, &want, XEND_TRANSFER_CANCELLED))
        return want == XEND_TRANSFER_CANCELLED;
    pthread_mutex_lock(&c->lock);
    pthread_cond_broadcast(&c->wake);
    pthread_mutex_unlock(&c->lock);
    return true;
}

bool xend_transfer_ctl_decide(struct xend_transfer_ctl *c)
{
    int want = XEND_TRANSFER_RUNNING;
    return atomic_compare_exchange_strong(&c->state, &want, XEND_TRANSFER_DECIDED) ||
           want == XEND_TRANSFER_DECIDED;
}

bool xend_transfer_ctl_cancelled(struct xend_transfer_ctl *c)
{
    return atomic_load(&c->state) == XEND_TRANSFER_CANCELLED;
}

int xend_transfer_cancel(struct xend_domain *dom, struct xend_err *err)
{
    struct xend_transfer_ctl *c = listed;
    while (c != NULL && c->dom != dom)
        c = c->next;
    if (c == NULL)
        return xend_err_set(err, XEND_EINVAL,
                            "Domain %s has no save, migration or restore to cancel", dom->name);
    if (!xend_transfer_ctl_cancel(c))
        return xend_err_set(err, XEND_EBUSY, "%s", c->refusal);
    xend_log_notice("transfer cancel asked", "domain=%s op=%s", dom->name, c->op);
    return 0;
}
