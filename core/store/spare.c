/* The spare-file pool of each namespace, and the thread that refills it. */
#include "store/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "log/log.h"

#define STORE_TMP_SUFFIX ".tmp"
#define STORE_SPARE_PREFIX ".spare-"
#define STORE_SPARE_MAX 1024 /* files kept per namespace; a delete beyond unlinks */
#define STORE_SPARE_LOW 64   /* a take leaving fewer wakes the refiller ... */
#define STORE_SPARE_HIGH 256 /* ... which creates spares up to this many */
#define STORE_SPARE_BUSY 16  /* empty-pool takes before a namespace gets refilled */

/*
 * Why a pool: creating an inode on this ext4 (no journal) scans the inodes freed in the
 * last minutes (recently_deleted()), 0.3 ms and more per file. Every write's new version
 * goes into a pool file; an exchange with the record puts the old version back in the
 * pool, a new key consumes the file, and a delete renames the record into the pool. In
 * steady churn no inode is created or freed on the writer's path. A spare is never read;
 * what it holds does not matter.
 */

void xend_store_spare_name(unsigned id, char *out, size_t len)
{
    snprintf(out, len, STORE_SPARE_PREFIX "%u", id);
}

/* The id of a pool file name (".spare-ID"), or false when `name` is not one. */
static bool spare_id(const char *name, unsigned *id)
{
    size_t p = strlen(STORE_SPARE_PREFIX);
    if (strncmp(name, STORE_SPARE_PREFIX, p) != 0)
        return false;
    const char *digits = name + p;
    char *end;
    errno = 0;
    unsigned long v = strtoul(digits, &end, 10);
    if (digits[0] < '0' || digits[0] > '9' || *end != '\0' || errno != 0 || v > UINT_MAX - 1)
        return false;
    *id = (unsigned)v;
    return true;
}

static void spare_push(struct nsdir *d, unsigned id)
{
    if (d->n_spares == d->cap_spares) {
        d->cap_spares = d->cap_spares ? d->cap_spares * 2 : 64;
        d->spares = xend_xrealloc(d->spares, d->cap_spares * sizeof(*d->spares));
    }
    d->spares[d->n_spares++] = id;
}

/* A per-key temp file of the previous layout (.KEY.tmp), or a first write cut short. */
static bool is_tmp_name(const char *name)
{
    size_t n = strlen(name), t = strlen(STORE_TMP_SUFFIX);
    return name[0] == '.' && n > t + 1 && strcmp(name + n - t, STORE_TMP_SUFFIX) == 0;
}

/*
 * Take over the pool files a previous run left in a namespace just opened (iolock held,
 * d not yet listed, so neither the writer nor the refiller can see it): regular files
 * named .spare-ID up to the cap, and the .KEY.tmp files of the previous layout (renamed
 * into the pool). Anything else under a pool name (a directory, a symlink, a malformed
 * id, the excess) is removed, since only the store writes those names. None is ever read.
 */
void xend_store_spare_adopt(struct xend_store *s, struct nsdir *d)
{
    int fd = dup(d->fd);
    DIR *dir = fd < 0 ? NULL : fdopendir(fd);
    if (dir == NULL) {
        if (fd >= 0)
            close(fd);
        return;
    }
    size_t removed = 0;
    char **tmps = NULL;
    size_t n_tmps = 0, cap_tmps = 0;
    for (struct dirent *de; (de = readdir(dir)) != NULL;) {
        if (is_tmp_name(de->d_name)) { /* renamed once the ids in use are known */
            if (n_tmps == cap_tmps) {
                cap_tmps = cap_tmps ? cap_tmps * 2 : 16;
                tmps = xend_xrealloc(tmps, cap_tmps * sizeof(*tmps));
            }
            tmps[n_tmps++] = xend_xstrdup(de->d_name);
            continue;
        }
        if (strncmp(de->d_name, STORE_SPARE_PREFIX, strlen(STORE_SPARE_PREFIX)) != 0)
            continue;
        unsigned id;
        struct stat st;
        bool keep = spare_id(de->d_name, &id) && d->n_spares < STORE_SPARE_MAX &&
                    fstatat(d->fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                    S_ISREG(st.st_mode);
        if (keep) {
            spare_push(d, id);
            if (id >= d->next_spare)
                d->next_spare = id + 1;
        } else if (unlinkat(d->fd, de->d_name, 0) == 0 ||
                   (errno == EISDIR && unlinkat(d->fd, de->d_name, AT_REMOVEDIR) == 0)) {
            removed++;
        }
    }
    closedir(dir);
    size_t pooled = 0;
    for (size_t i = 0; i < n_tmps; i++) {
        char sp[NAME_MAX + 1];
        struct stat st;
        bool keep = d->n_spares < STORE_SPARE_MAX &&
                    fstatat(d->fd, tmps[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
        xend_store_spare_name(d->next_spare, sp, sizeof(sp));
        if (keep && renameat(d->fd, tmps[i], d->fd, sp) == 0) {
            spare_push(d, d->next_spare++);
            pooled++;
        } else if (unlinkat(d->fd, tmps[i], 0) == 0) {
            removed++;
        }
        free(tmps[i]);
    }
    free(tmps);
    if (removed + pooled > 0) {
        xend_store_fsync_dir(d->fd);
        xend_log_emit(NULL, XEND_LOG_NOTICE, "store spare pool cleaned",
                      "dir=%s ns=%s removed=%zu temp_files_pooled=%zu", s->dir, d->ns, removed,
                      pooled);
    }
}

/* Ask the refiller to top up d's pool (slock held). */
static void spare_want(struct xend_store *s, struct nsdir *d)
{
    if (d->n_spares >= STORE_SPARE_LOW || d->refill_queued || !s->has_refiller ||
        d->misses < STORE_SPARE_BUSY)
        return;
    d->refill_queued = true;
    d->refill_next = s->refill_head;
    s->refill_head = d;
    pthread_cond_signal(&s->scond);
}

/*
 * A pool file to write a new version into (iolock held): its id in *id and an fd open for
 * writing, or -errno. Creates one (the slow path) only when the pool is empty.
 */
int xend_store_spare_take(struct xend_store *s, struct nsdir *d, unsigned *id)
{
    char sp[NAME_MAX + 1];
    for (;;) {
        pthread_mutex_lock(&s->slock);
        bool have = d->n_spares > 0;
        *id = have ? d->spares[--d->n_spares] : d->next_spare++;
        s->spare_hits += have;
        s->spare_misses += !have;
        d->misses += !have;
        spare_want(s, d);
        pthread_mutex_unlock(&s->slock);
        xend_store_spare_name(*id, sp, sizeof(sp));
        int flags = O_WRONLY | O_CLOEXEC | O_NOFOLLOW | (have ? 0 : O_CREAT | O_EXCL);
        int fd = openat(d->fd, sp, flags, 0600);
        if (fd >= 0)
            return fd;
        if (!have || errno != ENOENT)
            return -errno;
        /* removed behind our back (by hand): try the next one */
    }
}

/* Give a pool file back after a write (iolock held); unlink it when the pool is full. */
void xend_store_spare_return(struct xend_store *s, struct nsdir *d, unsigned id)
{
    pthread_mutex_lock(&s->slock);
    bool full = d->n_spares >= STORE_SPARE_MAX;
    if (!full)
        spare_push(d, id);
    pthread_mutex_unlock(&s->slock);
    if (full) {
        char sp[NAME_MAX + 1];
        xend_store_spare_name(id, sp, sizeof(sp));
        unlinkat(d->fd, sp, 0);
    }
}

/*
 * Move `name` into d's pool instead of unlinking it (iolock held); unlink it when the
 * pool is full. 0, or -errno (-ENOENT when `name` does not exist).
 */
int xend_store_spare_recycle(struct xend_store *s, struct nsdir *d, const char *name)
{
    char sp[NAME_MAX + 1];
    pthread_mutex_lock(&s->slock);
    bool full = d->n_spares >= STORE_SPARE_MAX;
    unsigned id = full ? 0 : d->next_spare++;
    pthread_mutex_unlock(&s->slock);
    if (full)
        return unlinkat(d->fd, name, 0) == 0 ? 0 : -errno;
    xend_store_spare_name(id, sp, sizeof(sp));
    if (renameat(d->fd, name, d->fd, sp) != 0)
        return -errno;
    pthread_mutex_lock(&s->slock);
    spare_push(d, id);
    pthread_mutex_unlock(&s->slock);
    return 0;
}

/*
 * The writer enters or leaves its directory work; the refiller waits while it is in. The
 * writer does this twice per batch: it wakes the refiller only when the refiller is
 * waiting for exactly this (an idle refiller used to be woken for nothing each time).
 */
void xend_store_dir_busy(struct xend_store *s, bool busy)
{
    pthread_mutex_lock(&s->slock);
    s->dir_busy = busy;
    if (!busy && s->refill_waits_dir)
        pthread_cond_signal(&s->icond);
    pthread_mutex_unlock(&s->slock);
}

/*
 * The refiller: creates empty spares for the pools that ran low, off the writer's path
 * (creating the inode is the slow part, and it needs no lock but slock for the id). Its
 * files need no fsync: a spare only becomes a record through a write that fdatasyncs it
 * and a rename made durable by the directory fsync.
 */
void *xend_store_refill_main(void *arg)
{
    struct xend_store *s = arg;
    char sp[NAME_MAX + 1];
    pthread_mutex_lock(&s->slock);
    for (;;) {
        while (!s->refill_stop && s->refill_head == NULL)
            pthread_cond_wait(&s->scond, &s->slock);
        if (s->refill_stop)
            break;
        struct nsdir *d = s->refill_head;
        s->refill_head = d->refill_next;
        while (!s->refill_stop && d->n_spares < STORE_SPARE_HIGH) {
            /*
             * A slow create holds the directory's lock: run only while the writer leaves
             * the directories alone (idle, or waiting for its fdatasyncs), or every rename
             * of a batch can queue behind one (p90 of xend creates doubled).
             */
            if (s->dir_busy) {
                s->refill_waits_dir = true;
                pthread_cond_wait(&s->icond, &s->slock);
                s->refill_waits_dir = false;
                continue;
            }
            unsigned id = d->next_spare++;
            pthread_mutex_unlock(&s->slock);
            xend_store_spare_name(id, sp, sizeof(sp));
            int fd = openat(d->fd, sp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
            if (fd >= 0)
                close(fd);
            pthread_mutex_lock(&s->slock);
            if (fd < 0)
                break; /* a full disk or the like: the writer creates its own files */
            spare_push(d, id);
            s->spares_created++;
        }
        d->refill_queued = false;
    }
    pthread_mutex_unlock(&s->slock);
    return NULL;
}
