/* The readers: get, keys and load (start-up), which sets damaged records aside. */
#include "store/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log/log.h"
#include "sxp.h"

int xend_store_get(struct xend_store *s, const char *ns, const char *key, struct xend_sxp **out,
                   struct xend_err *err)
{
    *out = NULL;
    int rc = xend_store_check_names(ns, key, err);
    if (rc != 0)
        return rc;
    char why[160] = "";
    pthread_mutex_lock(&s->iolock);
    struct nsdir *d = xend_store_ns_dir(s, ns, false);
    int e0 = errno;
    if (d == NULL)
        rc = e0 == ENOENT ? -XEND_ENOENT : -XEND_EIO;
    else
        rc = xend_store_record_read(d->fd, key, out, why, sizeof(why));
    pthread_mutex_unlock(&s->iolock);
    if (rc == -XEND_ENOENT)
        return xend_err_set(err, XEND_ENOENT, "no store record %s/%s", ns, key);
    if (rc != 0)
        return xend_err_set(err, XEND_EIO, "cannot read store record %s/%s in %s: %s", ns, key,
                            s->dir, d == NULL ? strerror(e0) : why);
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The sorted names in a namespace directory that may be records (valid keys, regular
 * files; never the pool's hidden files). Owned array.
 */
static int list_dir(int dirfd, char ***names, size_t *n)
{
    int fd = dup(dirfd);
    DIR *dir = fd < 0 ? NULL : fdopendir(fd);
    if (dir == NULL) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return -e;
    }
    rewinddir(dir);
    size_t cap = 0;
    *names = NULL;
    *n = 0;
    for (struct dirent *de; (de = readdir(dir)) != NULL;) {
        if (!xend_store_key_valid(de->d_name))
            continue;
        if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
            continue; /* a sub-namespace, not a record */
        if (de->d_type == DT_UNKNOWN) {
            struct stat st;
            if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISDIR(st.st_mode))
                continue;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *names = xend_xrealloc(*names, cap * sizeof(**names));
        }
        (*names)[(*n)++] = xend_xstrdup(de->d_name);
    }
    closedir(dir);
    if (*n > 1)
        qsort(*names, *n, sizeof(**names), cmp_names);
    return 0;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

int xend_store_keys(struct xend_store *s, const char *ns, char ***keys, size_t *n,
                    struct xend_err *err)
{
    *keys = NULL;
    *n = 0;
    if (!xend_store_ns_valid(ns))
        return xend_err_set(err, XEND_EINVAL, "invalid store namespace: %s", ns ? ns : "(null)");
    pthread_mutex_lock(&s->iolock);
    struct nsdir *d = xend_store_ns_dir(s, ns, false);
    int rc = d == NULL ? (errno == ENOENT ? 0 : -errno) : list_dir(d->fd, keys, n);
    pthread_mutex_unlock(&s->iolock);
    if (rc != 0)
        return xend_err_set(err, XEND_EIO, "cannot list store namespace %s in %s: %s", ns, s->dir,
                            strerror(-rc));
    return 0;
}

/* Rename a damaged record out of the way as KEY.corrupt-TIMESTAMP[-N]. */
static void set_aside(struct xend_store *s, const char *ns, int dirfd, const char *key,
                      const char *why)
{
    char stamp[32], target[NAME_MAX + 1];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    snprintf(target, sizeof(target), "%s" STORE_CORRUPT_MARK "%s", key, stamp);
    for (int i = 1; faccessat(dirfd, target, F_OK, AT_SYMLINK_NOFOLLOW) == 0 && i < 1000; i++)
        snprintf(target, sizeof(target), "%s" STORE_CORRUPT_MARK "%s-%d", key, stamp, i);
    if (renameat(dirfd, key, dirfd, target) != 0) {
        xend_log_emit(NULL, XEND_LOG_ERROR, "store record unreadable",
                      "dir=%s ns=%s key=%s reason=\"%s\" rename_error=\"%s\"", s->dir, ns, key, why,
                      strerror(errno));
        return;
    }
    xend_log_emit(NULL, XEND_LOG_WARN, "store record set aside",
                  "dir=%s ns=%s key=%s reason=\"%s\" moved_to=%s", s->dir, ns, key, why, target);
}

/*
 * Reading a namespace at start: a start with 10,000 domains reads and parses 10,000 files
 * before it can reconcile them. Helper threads read and parse the files ahead (claimed
 * through a counter) while the caller takes them in key order, and the caller reads too
 * whenever the record it wants next is not ready, so reading, parsing and what the caller
 * does with each record share the cpus instead of following one another.
 */
#define STORE_LOAD_SHARED_MIN 256
#define STORE_LOAD_HELPERS_MAX 3
/*
 * How far the helpers read ahead of the caller of load_next (XEND_STORE_LOAD_WINDOW files):
 * the memory of the records it is done with serves the next ones instead of new pages (on
 * this VM the first write to a page costs more than parsing the record on it; reading all
 * 10,000 records of a start ahead touched 30 MB). They wait for the caller to take half of
 * it before they read on, so that they wake once per half window, not once per record.
 */

struct xend_store_loader {
    struct xend_store *s;
    char *ns;     /* owned */
    int dirfd;    /* the namespace's: never closed while the store is open */
    char **names; /* owned, sorted */
    size_t n;
    struct xend_sxp **values; /* owned until delivered */
    int *rcs;
    char **whys; /* owned strings, set for damaged files only */
    atomic_bool *done;
    atomic_size_t next;             /* the next file to claim */
    atomic_size_t waiting_for;      /* the file the caller sleeps on; SIZE_MAX: none */
    size_t window;                  /* XEND_STORE_LOAD_WINDOW, or SIZE_MAX: none (load) */
    xend_store_prepare_fn *prepare; /* or NULL */
    atomic_size_t taken;       /* files the caller has gone past: helpers read below taken+window */
    atomic_size_t ahead_waits; /* helpers waiting for the caller to take more */
    pthread_mutex_t lock;
    pthread_cond_t cond;  /* the caller's: the file it waits for is read */
    pthread_cond_t ahead; /* the helpers': the caller took more */
    pthread_t helpers[STORE_LOAD_HELPERS_MAX];
    size_t n_helpers;
    struct xend_buf buf; /* the caller's, for the files it reads itself */
    size_t pos;          /* the caller's next file */
    size_t n_ok;
    bool changed; /* a damaged file was set aside: the directory needs an fsync */
};

static void read_one(struct xend_store_loader *l, size_t i, struct xend_buf *b)
{
    char why[160] = "";
    l->rcs[i] =
        xend_store_record_read_buf(l->dirfd, l->names[i], b, &l->values[i], why, sizeof(why));
    if (l->rcs[i] == -XEND_EIO)
        l->whys[i] = xend_xstrdup(why);
    else if (l->rcs[i] == 0 && l->prepare != NULL)
        l->prepare(l->values[i]);
    /* Sequentially consistent with the caller's waiting_for store then done load: either
     * the caller sees done, or this sees it waiting and wakes it under the lock. */
    atomic_store(&l->done[i], true);
    if (atomic_load(&l->waiting_for) == i) {
        pthread_mutex_lock(&l->lock);
        pthread_cond_signal(&l->cond);
        pthread_mutex_unlock(&l->lock);
    }
}

/* A helper's claim i beyond the window: wait until the caller has taken half of it. */
static void wait_window(struct xend_store_loader *l, size_t i)
{
    if (l->window == SIZE_MAX || i < atomic_load(&l->taken) + l->window)
        return;
    pthread_mutex_lock(&l->lock);
    atomic_fetch_add(&l->ahead_waits, 1);
    while (i >= atomic_load(&l->taken) + l->window / 2)
        pthread_cond_wait(&l->ahead, &l->lock);
    atomic_fetch_sub(&l->ahead_waits, 1);
    pthread_mutex_unlock(&l->lock);
}

/* The caller went past file `taken`: wake the helpers waiting for it now and then. */
static void note_taken(struct xend_store_loader *l, size_t taken)
{
    atomic_store(&l->taken, taken);
    if (atomic_load(&l->ahead_waits) > 0 && taken % (l->window / 4) == 0) {
        pthread_mutex_lock(&l->lock);
        pthread_cond_broadcast(&l->ahead);
        pthread_mutex_unlock(&l->lock);
    }
}

/* The next unclaimed file, read into b; false when none is left. The caller of load_next
 * never waits for the window: it reads only the file it waits for. */
static bool read_claimed(struct xend_store_loader *l, struct xend_buf *b, bool helper)
{
    size_t i = atomic_fetch_add_explicit(&l->next, 1, memory_order_relaxed);
    if (i >= l->n)
        return false;
    if (helper)
        wait_window(l, i);
    read_one(l, i, b);
    return true;
}

static void *helper_main(void *arg)
{
    struct xend_store_loader *l = arg;
    struct xend_buf b = XEND_BUF_INIT; /* one buffer for every file this thread reads */
    while (read_claimed(l, &b, true))
        ;
    xend_buf_free(&b);
    return NULL;
}

static void start_helpers(struct xend_store_loader *l)
{
    if (l->n < STORE_LOAD_SHARED_MIN)
        return;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t want = cpus < 1                        ? 1
                  : cpus > STORE_LOAD_HELPERS_MAX ? STORE_LOAD_HELPERS_MAX
                                                  : (size_t)cpus;
    sigset_t all, old; /* the helpers take no signals: they belong to the loop thread */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    while (l->n_helpers < want &&
           pthread_create(&l->helpers[l->n_helpers], NULL, helper_main, l) == 0)
        l->n_helpers++;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* File i read and parsed, by a helper or by the caller itself meanwhile. */
static void wait_for(struct xend_store_loader *l, size_t i)
{
    while (!atomic_load(&l->done[i])) {
        if (atomic_load(&l->next) <= i && read_claimed(l, &l->buf, false))
            continue;
        atomic_store(&l->waiting_for, i);
        pthread_mutex_lock(&l->lock);
        while (!atomic_load(&l->done[i]))
            pthread_cond_wait(&l->cond, &l->lock);
        pthread_mutex_unlock(&l->lock);
        atomic_store(&l->waiting_for, SIZE_MAX);
    }
}

static int load_begin(struct xend_store *s, const char *ns, size_t window,
                      xend_store_prepare_fn *prepare, struct xend_store_loader **out,
                      struct xend_err *err)
{
    *out = NULL;
    if (!xend_store_ns_valid(ns))
        return xend_err_set(err, XEND_EINVAL, "invalid store namespace: %s", ns ? ns : "(null)");
    struct xend_store_loader *l = xend_xcalloc(1, sizeof(*l));
    l->s = s;
    l->ns = xend_xstrdup(ns);
    l->dirfd = -1;
    l->buf = (struct xend_buf)XEND_BUF_INIT;
    int rc = 0;
    pthread_mutex_lock(&s->iolock);
    struct nsdir *d = xend_store_ns_dir(s, ns, false);
    if (d == NULL)
        rc = errno == ENOENT ? 0 : -errno;
    else /* The spare pool (hidden names) was cleaned when ns_dir first opened the namespace. */
        rc = list_dir(d->fd, &l->names, &l->n);
    pthread_mutex_unlock(&s->iolock);
    if (rc != 0) {
        xend_store_load_end(l);
        return xend_err_set(err, XEND_EIO, "cannot read store namespace %s in %s: %s", ns, s->dir,
                            strerror(-rc));
    }
    l->dirfd = d == NULL ? -1 : d->fd;
    size_t slots = l->n ? l->n : 1;
    l->values = xend_xcalloc(slots, sizeof(*l->values));
    l->whys = xend_xcalloc(slots, sizeof(*l->whys));
    l->rcs = xend_xcalloc(slots, sizeof(*l->rcs));
    l->done = xend_xcalloc(slots, sizeof(*l->done));
    for (size_t i = 0; i < l->n; i++)
        atomic_init(&l->done[i], false);
    atomic_init(&l->next, 0);
    atomic_init(&l->waiting_for, SIZE_MAX);
    l->window = window;
    l->prepare = prepare;
    atomic_init(&l->taken, 0);
    atomic_init(&l->ahead_waits, 0);
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->cond, NULL);
    pthread_cond_init(&l->ahead, NULL);
    start_helpers(l);
    *out = l;
    return 0;
}

int xend_store_load_begin(struct xend_store *s, const char *ns, xend_store_prepare_fn *prepare,
                          struct xend_store_loader **out, struct xend_err *err)
{
    return load_begin(s, ns, XEND_STORE_LOAD_WINDOW, prepare, out, err);
}

int xend_store_load_next(struct xend_store_loader *l, const char **key,
                         const struct xend_sxp **value)
{
    if (l->pos > 0) { /* the previous record was borrowed until now */
        xend_sxp_free(l->values[l->pos - 1]);
        l->values[l->pos - 1] = NULL;
    }
    while (l->pos < l->n) {
        size_t i = l->pos++;
        if (l->window != SIZE_MAX)
            note_taken(l, i);
        wait_for(l, i);
        if (l->rcs[i] == -XEND_EIO) {
            pthread_mutex_lock(&l->s->iolock);
            set_aside(l->s, l->ns, l->dirfd, l->names[i], l->whys[i] ? l->whys[i] : "unreadable");
            pthread_mutex_unlock(&l->s->iolock);
            l->changed = true;
        }
        if (l->rcs[i] != 0)
            continue; /* damaged, or gone since it was listed */
        l->n_ok++;
        *key = l->names[i];
        *value = l->values[i];
        return 1;
    }
    return 0;
}

struct xend_sxp *xend_store_load_take(struct xend_store_loader *l)
{
    if (l->pos == 0)
        return NULL;
    struct xend_sxp *v = l->values[l->pos - 1];
    l->values[l->pos - 1] = NULL;
    return v;
}

size_t xend_store_load_ahead(const struct xend_store_loader *l)
{
    size_t n = 0;
    for (size_t i = l->pos; i < l->n; i++)
        n += atomic_load(&l->done[i]);
    return n;
}

int xend_store_load_end(struct xend_store_loader *l)
{
    if (l == NULL)
        return 0;
    atomic_store(&l->next, l->n); /* an early end: the helpers claim nothing more */
    if (l->values) {              /* and those waiting for the window read what they claimed */
        pthread_mutex_lock(&l->lock);
        atomic_store(&l->taken, l->n);
        pthread_cond_broadcast(&l->ahead);
        pthread_mutex_unlock(&l->lock);
    }
    for (size_t i = 0; i < l->n_helpers; i++)
        pthread_join(l->helpers[i], NULL);
    if (l->changed) {
        pthread_mutex_lock(&l->s->iolock);
        xend_store_fsync_dir(l->dirfd);
        pthread_mutex_unlock(&l->s->iolock);
    }
    int n_ok = (int)l->n_ok;
    for (size_t i = 0; i < l->n; i++) {
        if (l->values)
            xend_sxp_free(l->values[i]);
        if (l->whys)
            free(l->whys[i]);
    }
    if (l->values) {
        pthread_mutex_destroy(&l->lock);
        pthread_cond_destroy(&l->cond);
        pthread_cond_destroy(&l->ahead);
    }
    free(l->values);
    free(l->whys);
    free(l->rcs);
    free(l->done);
    free_names(l->names, l->n);
    xend_buf_free(&l->buf);
    free(l->ns);
    free(l);
    return n_ok;
}

int xend_store_load(struct xend_store *s, const char *ns, xend_store_fn *fn, void *arg,
                    struct xend_err *err)
{
    struct xend_store_loader *l;
    int rc = load_begin(s, ns, SIZE_MAX, NULL, &l, err);
    if (rc < 0)
        return rc;
    /* Every file read before the first fn: an fn that writes another key of ns must not
     * change what a later call is given (the lifecycle, which writes only the key it is
     * given, uses the loader itself to overlap the two). */
    for (size_t i = 0; i < l->n; i++)
        wait_for(l, i);
    const char *key;
    const struct xend_sxp *value;
    while (xend_store_load_next(l, &key, &value) == 1)
        fn(key, value, arg);
    return xend_store_load_end(l);
}
