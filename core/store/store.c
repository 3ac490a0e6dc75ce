/*
 * The persistent store (store.h): open and close, which start and stop its threads, and
 * its counters. internal.h says which file holds which part.
 */
#include "store/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"

static void stop_pool(struct xend_store *s);
static void destroy(struct xend_store *s);

struct xend_store *xend_store_open(const char *dir, xend_store_post_fn *post, void *post_ctx,
                                   struct xend_err *err)
{
    if (dir == NULL || *dir == '\0' || post == NULL) {
        xend_err_set(err, XEND_EINVAL, "store: no state dir or post function");
        return NULL;
    }
    int rc = xend_store_make_dirs(dir);
    if (rc != 0) {
        xend_err_set(err, XEND_EIO, "cannot create state dir %s: %s", dir, strerror(-rc));
        return NULL;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        xend_err_set(err, XEND_EIO, "cannot open state dir %s: %s", dir, strerror(errno));
        return NULL;
    }
    xend_store_spread_namespaces(fd);
    xend_store_drop_unfinished(fd);
    struct xend_store *s = xend_xcalloc(1, sizeof(*s));
    s->dir = xend_xstrdup(dir);
    s->rootfd = fd;
    s->post = post;
    s->post_ctx = post_ctx;
    s->sync_mode = XEND_STORE_SYNC_AUTO;
    s->meminfo_fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
    struct stat st;
    s->root_dev = fstat(fd, &st) == 0 ? st.st_dev : 0;
    s->sync_ns = STORE_SYNC_GUESS_NS;
    s->since_probe = STORE_SYNC_PROBE_EVERY - 1; /* the first batch that fans out times one */
    pthread_mutex_init(&s->qlock, NULL);
    pthread_mutex_init(&s->iolock, NULL);
    pthread_condattr_t ca; /* the retry timer must not follow a step of the wall clock */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->qcond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&s->synccond, NULL);

    pthread_mutex_init(&s->plock, NULL);
    pthread_cond_init(&s->pcond, NULL);
    pthread_cond_init(&s->pdone, NULL);
    pthread_mutex_init(&s->slock, NULL);
    pthread_cond_init(&s->scond, NULL);
    pthread_cond_init(&s->icond, NULL);

    /* The store's threads take no signals: they belong to the loop thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, (size_t)64 * 1024); /* the refiller only creates files */
    /* The sync pool's threads start with the first batches that can use them (pool_grow).
     * Without a refiller the writer creates the files the pool lacks itself. */
    s->has_refiller = pthread_create(&s->refiller, &attr, xend_store_refill_main, s) == 0;
    pthread_attr_destroy(&attr);
    rc = pthread_create(&s->writer, NULL, xend_store_writer_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        xend_err_set(err, XEND_EIO, "cannot start store writer: %s", strerror(rc));
        stop_pool(s);
        destroy(s);
        return NULL;
    }
    return s;
}

void xend_store_close(struct xend_store *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->qlock);
    s->stop = true;
    pthread_cond_signal(&s->qcond);
    pthread_mutex_unlock(&s->qlock);
    pthread_join(s->writer, NULL);
    stop_pool(s);
    destroy(s);
}

static void stop_pool(struct xend_store *s)
{
    pthread_mutex_lock(&s->slock);
    s->refill_stop = true;
    pthread_cond_signal(&s->scond);
    pthread_cond_signal(&s->icond);
    pthread_mutex_unlock(&s->slock);
    if (s->has_refiller)
        pthread_join(s->refiller, NULL);
    s->has_refiller = false;
    pthread_mutex_lock(&s->plock);
    s->pool_stop = true;
    pthread_cond_broadcast(&s->pcond);
    pthread_mutex_unlock(&s->plock);
    for (size_t i = 0; i < s->n_pool; i++)
        pthread_join(s->pool[i], NULL);
}

static void destroy(struct xend_store *s)
{
    while (s->dirs != NULL) {
        struct nsdir *d = s->dirs;
        s->dirs = d->next;
        close(d->fd);
        free(d->ns);
        free(d->spares);
        free(d);
    }
    close(s->rootfd);
    if (s->meminfo_fd >= 0)
        close(s->meminfo_fd);
    pthread_cond_destroy(&s->qcond);
    pthread_cond_destroy(&s->synccond);
    pthread_mutex_destroy(&s->qlock);
    pthread_mutex_destroy(&s->iolock);
    pthread_cond_destroy(&s->pcond);
    pthread_cond_destroy(&s->pdone);
    pthread_mutex_destroy(&s->plock);
    pthread_cond_destroy(&s->scond);
    pthread_cond_destroy(&s->icond);
    pthread_mutex_destroy(&s->slock);
    free(s->dir);
    free(s);
}

bool xend_store_busy(struct xend_store *s)
{
    pthread_mutex_lock(&s->qlock);
    bool busy = s->head != NULL || !s->writer_idle;
    pthread_mutex_unlock(&s->qlock);
    return busy;
}

void xend_store_set_sync_mode(struct xend_store *s, enum xend_store_sync_mode mode)
{
    pthread_mutex_lock(&s->qlock);
    s->sync_mode = mode;
    pthread_mutex_unlock(&s->qlock);
}

void xend_store_stats(struct xend_store *s, struct xend_store_stats *out)
{
    pthread_mutex_lock(&s->qlock);
    *out = s->stats;
    pthread_mutex_unlock(&s->qlock);
    pthread_mutex_lock(&s->slock);
    out->spare_hits = s->spare_hits;
    out->spare_misses = s->spare_misses;
    out->spares_created = s->spares_created;
    pthread_mutex_unlock(&s->slock);
}
