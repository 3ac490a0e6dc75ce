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
 * before it can reconcile them, which was most of its time. A helper thread shares the
 * files (claimed through a counter) with the caller when there are enough to pay for it.
 */
#define STORE_LOAD_SHARED_MIN 256

struct read_job {
    int dirfd;
    char **names;
    size_t n;
    struct xend_sxp **values;
    int *rcs;
    char **whys; /* owned strings, set for damaged files only */
    atomic_size_t next;
};

static void read_claimed(struct read_job *j)
{
    struct xend_buf b = XEND_BUF_INIT; /* one buffer for every file this thread reads */
    for (size_t i; (i = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed)) < j->n;) {
        char why[160] = "";
        j->rcs[i] =
            xend_store_record_read_buf(j->dirfd, j->names[i], &b, &j->values[i], why, sizeof(why));
        if (j->rcs[i] == -XEND_EIO)
            j->whys[i] = xend_xstrdup(why);
    }
    xend_buf_free(&b);
}

static void *read_main(void *arg)
{
    read_claimed(arg);
    return NULL;
}

static void read_all(int dirfd, char **names, size_t n, struct xend_sxp **values, int *rcs,
                     char **whys)
{
    struct read_job j = {dirfd, names, n, values, rcs, whys, 0};
    pthread_t helper;
    bool helped = false;
    if (n >= STORE_LOAD_SHARED_MIN) {
        sigset_t all, old; /* the helper takes no signals: they belong to the loop thread */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        helped = pthread_create(&helper, NULL, read_main, &j) == 0;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    read_claimed(&j);
    if (helped)
        pthread_join(helper, NULL);
}

int xend_store_load(struct xend_store *s, const char *ns, xend_store_fn *fn, void *arg,
                    struct xend_err *err)
{
    if (!xend_store_ns_valid(ns))
        return xend_err_set(err, XEND_EINVAL, "invalid store namespace: %s", ns ? ns : "(null)");

    char **names = NULL;
    size_t n = 0, n_ok = 0;
    struct xend_sxp **values = NULL;
    int rc = 0;

    pthread_mutex_lock(&s->iolock);
    struct nsdir *d = xend_store_ns_dir(s, ns, false);
    if (d == NULL) {
        rc = errno == ENOENT ? 0 : -errno;
        goto unlock;
    }
    /* The spare pool (hidden names) was cleaned when ns_dir first opened the namespace. */
    rc = list_dir(d->fd, &names, &n);
    if (rc != 0)
        goto unlock;
    bool changed = false;
    values = xend_xcalloc(n ? n : 1, sizeof(*values));
    char **whys = xend_xcalloc(n ? n : 1, sizeof(*whys));
    int *rcs = xend_xcalloc(n ? n : 1, sizeof(*rcs));
    read_all(d->fd, names, n, values, rcs, whys);
    for (size_t i = 0; i < n; i++) {
        if (rcs[i] == -XEND_EIO) {
            set_aside(s, ns, d->fd, names[i], whys[i] ? whys[i] : "unreadable");
            changed = true;
        }
        free(whys[i]);
        n_ok += rcs[i] == 0;
    }
    free(whys);
    free(rcs);
    if (changed)
        xend_store_fsync_dir(d->fd);
unlock:
    pthread_mutex_unlock(&s->iolock);
    if (rc != 0) {
        free_names(names, n);
        return xend_err_set(err, XEND_EIO, "cannot read store namespace %s in %s: %s", ns, s->dir,
                            strerror(-rc));
    }
    /* Called without locks: fn may well store something itself. */
    for (size_t i = 0; i < n; i++) {
        if (values[i] != NULL)
            fn(names[i], values[i], arg);
        xend_sxp_free(values[i]);
    }
    free(values);
    free_names(names, n);
    return (int)n_ok;
}
