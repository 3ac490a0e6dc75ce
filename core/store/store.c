/*
 * The persistent store (store.h): a queue filled on the loop thread, one writer thread
 * that group-commits it, and the readers used at start-up.
 *
 * Locks: `qlock` guards the queue, the supersede index, the stop flag and the sync
 * waiters; `iolock` guards the state-dir itself (namespace fds, renames), held by the
 * writer for a whole batch and by get/load/keys while they read, so that load's setting
 * aside of damaged files can never race with a batch in progress; `slock` guards the
 * spare pools, shared by the writer and the refiller thread, which creates pool files
 * without iolock (under names nothing else uses). Nothing is called back with a lock
 * held.
 */
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/fs.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "log/log.h"
#include "metrics/metrics.h"
#include "record_limits.h"
#include "sxp.h"
#include "wire.h"

#define STORE_TRAILER "# xend-store "
#define STORE_TMP_SUFFIX ".tmp"
#define STORE_CORRUPT_MARK ".corrupt-"
#define STORE_MAX_FILE (64u << 20) /* a record larger than this is damage, not data */
#define STORE_HASH_BUCKETS 1024u
#define STORE_SYNC_THREADS 15 /* plus the writer: 16 fdatasyncs in flight */
/*
 * An fdatasync measured under this (tmpfs, or a device that acknowledges at once) is done
 * by the writer itself: waking a helper (futex, an IPI, two context switches) costs more
 * CPU than the call it would take over. Disk fdatasyncs here take 0.3 ms and more.
 */
#define STORE_SYNC_FREE_NS 50000ull
#define STORE_SYNC_GUESS_NS 1000000ull /* before the first measure: assume a disk */
#define STORE_SYNC_PROBE_EVERY 64      /* fanned-out batches between two lone timings */
/*
 * XEND_STORE_SYNC_AUTO: a batch of at least this many files on a device is made durable
 * by one syncfs (about 40% less CPU per record than as many fdatasyncs here: one flush
 * and merged writes instead of an I/O and a flush per file), unless the system holds more
 * than this much dirty or in-flight data that syncfs would have to write and wait for too.
 */
#define STORE_SYNCFS_MIN_FILES 8
#define STORE_SYNCFS_MAX_DIRTY_KB (16 * 1024)
#define STORE_SPARE_PREFIX ".spare-"
#define STORE_SPARE_MAX 1024 /* files kept per namespace; a delete beyond unlinks */
#define STORE_SPARE_LOW 64   /* a take leaving fewer wakes the refiller ... */
#define STORE_SPARE_HIGH 256 /* ... which creates spares up to this many */
#define STORE_SPARE_BUSY 16  /* empty-pool takes before a namespace gets refilled */
/* A failed write is tried again after 100 ms, doubling up to 10 s, 30 times (about 4.5
 * minutes) unless a newer put or delete of the key replaces it: a directory made read-only
 * or full for a while converges once it is writable again (docs/durability.md). */
#define STORE_RETRY_FIRST_NS 100000000ull
#define STORE_RETRY_MAX_NS 10000000000ull
#define STORE_RETRY_ATTEMPTS 30

/* One caller waiting for a record: an async callback, or a sync caller's slot. */
struct waiter {
    xend_store_done_fn *fn; /* async: run on the loop */
    void *arg;              /* its arg */
    struct sync_slot *slot; /* sync: filled by the writer (fn is NULL) */
};

struct sync_slot {
    bool done;
    int rc;
    char msg[XEND_ERR_MSG_MAX];
};

/* A queued put or delete of ns/key. Owned by the queue, then by the writer's batch. */
struct entry {
    struct entry *next;  /* queue order */
    struct entry *hnext; /* supersede index chain */
    uint32_t hash;
    char *ns;
    char *key;
    char *data; /* the file's bytes (owned), NULL for a delete */
    size_t len;
    struct waiter *waiters;
    size_t n_waiters, cap_waiters;
    /* writer scratch */
    struct nsdir *dir;
    int tmpfd;
    unsigned spare; /* the pool file being written (valid while tmpfd >= 0 or installing) */
    bool has_spare;
    int rc;
    char msg[160];
    unsigned attempts; /* failed writes of this entry so far (retries) */
    bool was_failing;  /* it replaced a failing write of its key: that one was logged */
    uint64_t due_ns;   /* on the retry list: when to try again (xend_clock_ns) */
    bool first;        /* queued with put_first/del_first: taken ahead of the others */
};

/*
 * An open namespace directory, cached for the store's life (the list and `touched` under
 * iolock; ns and fd never change once listed). Its spare pool (slock): files named
 * .spare-ID (old versions, deleted records, or created ahead by the refiller) that every
 * write's new version goes into instead of a new inode (docs/store.md).
 */
struct nsdir {
    struct nsdir *next;
    char *ns;
    int fd;
    bool other_fs;    /* not on the state-dir's file system: syncfs(rootfd) would miss it */
    bool touched;     /* renamed into or unlinked from in the current batch */
    unsigned *spares; /* ids of the pool's files */
    size_t n_spares, cap_spares;
    unsigned next_spare;  /* the next id to name a spare with */
    unsigned long misses; /* takes that found the pool empty since open */
    bool refill_queued;   /* on the refiller's list */
    struct nsdir *refill_next;
};

struct xend_store {
    char *dir;
    int rootfd;
    dev_t root_dev;
    int meminfo_fd; /* /proc/meminfo, for AUTO's dirty-data check; -1: never syncfs */
    xend_store_post_fn *post;
    void *post_ctx;

    pthread_mutex_t qlock;
    pthread_cond_t qcond;    /* writer: work queued or stop */
    pthread_cond_t synccond; /* sync callers: a batch finished */
    struct entry *head, *tail;
    struct entry *index[STORE_HASH_BUCKETS];
    struct entry *retry; /* failed entries waiting for their next attempt (no waiters) */
    size_t n_first;      /* queued entries marked first */
    bool stop;
    bool writer_idle; /* waiting on qcond: the next put signals it, the ones after do not */
    struct xend_store_stats stats;
    enum xend_store_sync_mode sync_mode;

    pthread_mutex_t iolock;
    struct nsdir *dirs;
    bool no_exchange; /* the filesystem refused RENAME_EXCHANGE once */

    pthread_t writer;

    /* The spare pools (slock) and their refiller thread. */
    pthread_mutex_t slock;
    pthread_cond_t scond; /* refiller: a pool ran low, or stop */
    pthread_cond_t icond; /* refiller: the writer left the directories (or stop) */
    struct nsdir *refill_head;
    bool refill_stop;
    bool dir_busy;         /* the writer is renaming, opening or fsyncing in namespace dirs */
    bool refill_waits_dir; /* the refiller waits on icond for !dir_busy */
    bool has_refiller;
    pthread_t refiller;
    unsigned long long spare_hits, spare_misses, spares_created; /* slock: for stats */

    /*
     * The sync pool (plock): one job at a time, posted by the writer. Files are claimed
     * through job_next without the lock; a helper takes plock only to join and to leave
     * the job, and the writer publishes the next job only once no helper is in this one.
     */
    pthread_mutex_t plock;
    pthread_cond_t pcond; /* pool threads: a new job or stop */
    pthread_cond_t pdone; /* writer: the last helper left the job */
    struct entry **job;
    size_t job_n;
    atomic_size_t job_next;
    unsigned job_active; /* helpers inside the job */
    bool job_waiting;    /* the writer waits on pdone */
    unsigned long long job_gen;
    bool pool_stop;
    size_t n_pool;
    pthread_t pool[STORE_SYNC_THREADS];

    /* Writer only: its measure of one fdatasync, and counters finish_batch publishes. */
    unsigned long long sync_ns;
    unsigned since_probe; /* fanned-out batches since the last lone timing */
    unsigned long long w_sync_inline, w_sync_wakeups, w_sync_syncfs;
};

/* What the writer hands the loop after a batch: every async callback with its result. */
struct completion {
    size_t n;
    struct {
        xend_store_done_fn *fn;
        void *arg;
        int rc;
    } items[];
};

/* --- names ------------------------------------------------------------------------- */

static bool segment_valid(const char *s, size_t len)
{
    if (len == 0 || s[0] == '.' || len > NAME_MAX - 32)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        if (!ok)
            return false;
    }
    return memmem(s, len, STORE_CORRUPT_MARK, strlen(STORE_CORRUPT_MARK)) == NULL;
}

bool xend_store_key_valid(const char *key)
{
    return key != NULL && segment_valid(key, strlen(key));
}

bool xend_store_ns_valid(const char *ns)
{
    if (ns == NULL || *ns == '\0' || strlen(ns) > 200)
        return false;
    for (const char *p = ns;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (!segment_valid(p, len))
            return false;
        if (slash == NULL)
            return true;
        p = slash + 1;
    }
}

static int check_names(const char *ns, const char *key, struct xend_err *err)
{
    if (!xend_store_ns_valid(ns))
        return xend_err_set(err, XEND_EINVAL, "invalid store namespace: %s", ns ? ns : "(null)");
    if (!xend_store_key_valid(key))
        return xend_err_set(err, XEND_EINVAL, "invalid store key: %s", key ? key : "(null)");
    return 0;
}

/* --- file format ------------------------------------------------------------------- */

static uint32_t crc_table[256];

static void crc_table_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

/* CRC-32 (the zlib polynomial), so that `crc32` tools can check a file by hand. */
static uint32_t crc32_of(const void *data, size_t len)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, crc_table_init);
    uint32_t c = 0xFFFFFFFFu;
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

/* The bytes of a record file: the value on one line, then the trailer. Owned. */
static char *encode_record(const struct xend_sxp *value, size_t *len_out)
{
    struct xend_buf b = XEND_BUF_INIT;
    xend_sxp_print_buf(value, &b);
    size_t body = b.len;
    uint32_t crc = crc32_of(xend_buf_str(&b), body);
    xend_buf_printf(&b, "\n" STORE_TRAILER "len=%zu crc32=%08" PRIx32 "\n", body, crc);
    *len_out = b.len;
    return xend_buf_steal(&b);
}

/* Check and parse a record file's bytes. 0 and *out owned, or -XEND_EIO with why set. */
static int decode_record(const char *data, size_t len, struct xend_sxp **out, char *why,
                         size_t why_len)
{
    size_t body = len;
    const char *mark = NULL;
    for (const char *p = data; p < data + len;) {
        const char *m = memmem(p, (size_t)(data + len - p), STORE_TRAILER, strlen(STORE_TRAILER));
        if (m == NULL)
            break;
        if (m == data || m[-1] == '\n') {
            mark = m;
            break;
        }
        p = m + 1;
    }
    if (mark != NULL) {
        size_t want_len = 0;
        unsigned want_crc = 0;
        int used = 0;
        const char *tail = mark + strlen(STORE_TRAILER);
        if (data[len - 1] != '\n' ||
            sscanf(tail, "len=%zu crc32=%8x%n", &want_len, &want_crc, &used) != 2 ||
            tail + used != data + len - 1) {
            snprintf(why, why_len, "damaged trailer");
            return -XEND_EIO;
        }
        body = mark == data ? 0 : (size_t)(mark - 1 - data);
        if (body != want_len) {
            snprintf(why, why_len, "truncated: %zu of %zu bytes", body, want_len);
            return -XEND_EIO;
        }
        if (crc32_of(data, body) != want_crc) {
            snprintf(why, why_len, "checksum mismatch");
            return -XEND_EIO;
        }
    }
    char msg[128] = "";
    if (xend_sxp_parse(data, body, &xend_record_limits, out, msg, sizeof(msg)) != 0) {
        snprintf(why, why_len, "parse error: %s", msg[0] ? msg : "malformed");
        return -XEND_EIO;
    }
    return 0;
}

/* Read and decode dirfd/name. 0, -XEND_ENOENT, or -XEND_EIO with why set. */
static int read_record(int dirfd, const char *name, struct xend_sxp **out, char *why,
                       size_t why_len)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT)
            return -XEND_ENOENT;
        snprintf(why, why_len, "open: %s", strerror(errno));
        return -XEND_EIO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > STORE_MAX_FILE) {
        snprintf(why, why_len, "not a regular file of at most %u bytes", STORE_MAX_FILE);
        close(fd);
        return -XEND_EIO;
    }
    struct xend_buf b = XEND_BUF_INIT;
    for (;;) {
        char *p = xend_buf_reserve(&b, 65536);
        ssize_t n = read(fd, p, 65536);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(why, why_len, "read: %s", strerror(errno));
            close(fd);
            xend_buf_free(&b);
            return -XEND_EIO;
        }
        if (n == 0)
            break;
        xend_buf_commit(&b, (size_t)n);
        if (b.len > STORE_MAX_FILE)
            break;
    }
    close(fd);
    int rc = decode_record(xend_buf_str(&b), b.len, out, why, why_len);
    xend_buf_free(&b);
    return rc;
}

/* --- namespace directories (iolock held) -------------------------------------------- */

static int fsync_dir(int fd)
{
    return fsync(fd) == 0 || errno == EINVAL ? 0 : -errno;
}

/* --- the spare pool ----------------------------------------------------------------- */

/*
 * Why a pool: creating an inode on this ext4 (no journal) scans the inodes freed in the
 * last minutes (recently_deleted()), 0.3 ms and more per file. Every write's new version
 * goes into a pool file; an exchange with the record puts the old version back in the
 * pool, a new key consumes the file, and a delete renames the record into the pool. In
 * steady churn no inode is created or freed on the writer's path. A spare is never read;
 * what it holds does not matter.
 */

static void spare_name(unsigned id, char *out, size_t len)
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
static void spare_adopt(struct xend_store *s, struct nsdir *d)
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
        spare_name(d->next_spare, sp, sizeof(sp));
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
        fsync_dir(d->fd);
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
static int spare_take(struct xend_store *s, struct nsdir *d, unsigned *id)
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
        spare_name(*id, sp, sizeof(sp));
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
static void spare_return(struct xend_store *s, struct nsdir *d, unsigned id)
{
    pthread_mutex_lock(&s->slock);
    bool full = d->n_spares >= STORE_SPARE_MAX;
    if (!full)
        spare_push(d, id);
    pthread_mutex_unlock(&s->slock);
    if (full) {
        char sp[NAME_MAX + 1];
        spare_name(id, sp, sizeof(sp));
        unlinkat(d->fd, sp, 0);
    }
}

/*
 * Move `name` into d's pool instead of unlinking it (iolock held); unlink it when the
 * pool is full. 0, or -errno (-ENOENT when `name` does not exist).
 */
static int spare_recycle(struct xend_store *s, struct nsdir *d, const char *name)
{
    char sp[NAME_MAX + 1];
    pthread_mutex_lock(&s->slock);
    bool full = d->n_spares >= STORE_SPARE_MAX;
    unsigned id = full ? 0 : d->next_spare++;
    pthread_mutex_unlock(&s->slock);
    if (full)
        return unlinkat(d->fd, name, 0) == 0 ? 0 : -errno;
    spare_name(id, sp, sizeof(sp));
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
static void dir_busy(struct xend_store *s, bool busy)
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
static void *refill_main(void *arg)
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
            spare_name(id, sp, sizeof(sp));
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

/* What a namespace directory is called while mkdir_spread makes it (never a namespace:
 * those do not start with '.'). */
#define NS_MAKING_PREFIX ".ns-making-"

/*
 * mkdir of a namespace right under the state dir, placed at random: made under a random
 * name, then renamed into place. ext4's Orlov allocator starts its search for a top
 * directory's group at the hash of its name, and the fewest-directories groups tie, so a
 * fixed name ("domain") got the same group every time, the group whose inodes the last
 * state dir there had just freed, and an inode next to freshly freed ones costs a scan of
 * all of them (docs/store.md, "Where the records' inodes go"). -1 with errno (EEXIST when
 * it is there already).
 */
static int mkdir_spread(int rootfd, const char *name)
{
    uint64_t r = 0;
    if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
        r = xend_clock_ns();
    char tmp[64];
    snprintf(tmp, sizeof(tmp), NS_MAKING_PREFIX "%016" PRIx64, r);
    if (mkdirat(rootfd, tmp, 0700) != 0)
        return mkdirat(rootfd, name, 0700);
    if (renameat2(rootfd, tmp, rootfd, name, RENAME_NOREPLACE) == 0)
        return 0;
    int e = errno;
    (void)unlinkat(rootfd, tmp, AT_REMOVEDIR);
    errno = e;
    if (e == EEXIST)
        return -1;
    /* No RENAME_NOREPLACE here: a plain mkdir, placed as the file system likes. */
    return mkdirat(rootfd, name, 0700);
}

/* Remove what a crash inside mkdir_spread left: empty directories under a making name. */
static void drop_unfinished_namespaces(int rootfd)
{
    int fd = dup(rootfd);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (dir == NULL) {
        if (fd >= 0)
            close(fd);
        return;
    }
    for (struct dirent *e; (e = readdir(dir)) != NULL;)
        if (strncmp(e->d_name, NS_MAKING_PREFIX, strlen(NS_MAKING_PREFIX)) == 0 &&
            unlinkat(rootfd, e->d_name, AT_REMOVEDIR) == 0)
            xend_log_info("store unfinished namespace removed", "name=%s", e->d_name);
    closedir(dir);
}

/*
 * The cached fd of ns, creating the directories (and making each creation durable in its
 * parent) when `create`. NULL with errno set when absent or on error.
 */
static struct nsdir *ns_dir(struct xend_store *s, const char *ns, bool create)
{
    for (struct nsdir *d = s->dirs; d != NULL; d = d->next)
        if (strcmp(d->ns, ns) == 0)
            return d;
    int parent = s->rootfd;
    char *path = xend_xstrdup(ns);
    int fd = -1;
    bool made = false;
    for (char *seg = path;;) {
        char *slash = strchr(seg, '/');
        if (slash)
            *slash = '\0';
        made = false;
        bool top = parent == s->rootfd;
        if (create && (top ? mkdir_spread(s->rootfd, path) : mkdirat(s->rootfd, path, 0700)) == 0) {
            made = true;
            if (fsync_dir(parent) != 0)
                goto fail;
        } else if (create && errno != EEXIST) {
            goto fail;
        }
        int dfd = openat(s->rootfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd < 0)
            goto fail;
        if (parent != s->rootfd)
            close(parent);
        parent = dfd;
        if (slash == NULL) {
            fd = dfd;
            break;
        }
        *slash = '/';
        seg = slash + 1;
    }
    free(path);
    struct nsdir *d = xend_xcalloc(1, sizeof(*d));
    d->ns = xend_xstrdup(ns);
    d->fd = fd;
    struct stat st;
    d->other_fs = fstat(fd, &st) != 0 || st.st_dev != s->root_dev;
    if (!made)
        spare_adopt(s, d);
    d->next = s->dirs;
    s->dirs = d;
    return d;
fail:;
    int e = errno;
    if (parent != s->rootfd)
        close(parent);
    free(path);
    errno = e;
    return NULL;
}

/* --- the writer --------------------------------------------------------------------- */

static void entry_fail(struct entry *e, const char *stage, int errnum)
{
    if (e->rc == 0) {
        e->rc = -XEND_EIO;
        snprintf(e->msg, sizeof(e->msg), "%s: %s", stage, strerror(errnum));
    }
}

/*
 * The sync pool: fdatasync of a batch's files, issued in parallel. Each fdatasync waits
 * for its own data and a cache flush; issued back to back they serialise those waits,
 * issued together the device overlaps them (docs/store.md: about 3x on this machine).
 * The writer takes part too, so a batch of one needs no other thread, and it times its
 * own calls: where they cost next to nothing it wakes no helper at all.
 */
static void *sync_main(void *arg);

unsigned xend_store_sync_fanout(size_t files, unsigned long long fdatasync_ns)
{
    if (files < 2 || fdatasync_ns < STORE_SYNC_FREE_NS)
        return 0;
    return files - 1 < STORE_SYNC_THREADS ? (unsigned)(files - 1) : STORE_SYNC_THREADS;
}

static void sync_one(struct entry *e)
{
    if (fdatasync(e->tmpfd) != 0)
        entry_fail(e, "fdatasync", errno);
}

/*
 * The writer's timings of its own fdatasyncs in a batch. Their median, not their mean: a
 * call during which the writer was preempted (2 cpus, busy) lasts a time slice, and a
 * few of those would make tmpfs look like a disk.
 */
#define STORE_SYNC_SAMPLES 31
struct sync_times {
    unsigned long long ns[STORE_SYNC_SAMPLES];
    size_t n;
};

static void sync_timed(struct entry *e, struct sync_times *t)
{
    unsigned long long t0 = xend_clock_ns();
    sync_one(e);
    if (t->n < STORE_SYNC_SAMPLES)
        t->ns[t->n++] = xend_clock_ns() - t0;
}

static int cmp_ull(const void *a, const void *b)
{
    unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;
    return x < y ? -1 : x > y;
}

/* Sync files of the job until none is left to claim. */
static void sync_claimed(struct xend_store *s, struct entry **items, size_t n)
{
    for (size_t i; (i = atomic_fetch_add_explicit(&s->job_next, 1, memory_order_relaxed)) < n;)
        sync_one(items[i]);
}

/* Start sync threads up to `want`, on the writer thread (they inherit its blocked
 * signals). Started when first needed: an idle xend keeps no fifteen stacks resident.
 * Fewer threads only means less parallel syncing. */
static void pool_grow(struct xend_store *s, unsigned want)
{
    if (s->n_pool >= want)
        return;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024); /* they only call fdatasync */
    while (s->n_pool < want && pthread_create(&s->pool[s->n_pool], &attr, sync_main, s) == 0)
        s->n_pool++;
    pthread_attr_destroy(&attr);
}

/*
 * fdatasync every file of items[n]: with as many helpers as the batch and the measured
 * cost call for (xend_store_sync_fanout), each woken on its own rather than all at once,
 * then fold the writer's own timings into its measure.
 */
static void sync_files(struct xend_store *s, struct entry **items, size_t n)
{
    unsigned helpers = xend_store_sync_fanout(n, s->sync_ns);
    if (helpers > 0 && ++s->since_probe >= STORE_SYNC_PROBE_EVERY) {
        /*
         * Fanning out, the writer's own calls share two cpus with the helpers and time
         * the crowd, not the device. So now and then it syncs one file alone, before
         * waking anyone, and trusts that figure: a device gone fast (or a first guess
         * that was wrong) sends the next batches in line, where each call is timed.
         */
        struct sync_times p = {.n = 0};
        s->since_probe = 0;
        sync_timed(items[0], &p);
        s->sync_ns = p.ns[0];
        items++;
        n--;
        helpers = xend_store_sync_fanout(n + 1, s->sync_ns);
    }
    if (helpers > 0)
        pool_grow(s, helpers);
    if (helpers > s->n_pool)
        helpers = (unsigned)s->n_pool;
    if (helpers == 0) {
        struct sync_times t = {.n = 0};
        for (size_t i = 0; i < n; i++)
            sync_timed(items[i], &t);
        s->w_sync_inline += n > 1;
        if (t.n > 0) { /* and a moving average: one odd batch does not flip the choice */
            qsort(t.ns, t.n, sizeof(t.ns[0]), cmp_ull);
            s->sync_ns = (s->sync_ns + t.ns[t.n / 2]) / 2;
        }
        return;
    }
    pthread_mutex_lock(&s->plock);
    s->job = items;
    s->job_n = n;
    atomic_store_explicit(&s->job_next, 0, memory_order_relaxed);
    s->job_gen++;
    pthread_mutex_unlock(&s->plock);
    /* After the unlock, so that the woken do not queue on plock behind the writer. */
    for (unsigned i = 0; i < helpers; i++)
        pthread_cond_signal(&s->pcond);
    s->w_sync_wakeups += helpers;
    sync_claimed(s, items, n);
    pthread_mutex_lock(&s->plock);
    while (s->job_active > 0) {
        s->job_waiting = true;
        pthread_cond_wait(&s->pdone, &s->plock);
    }
    s->job_waiting = false;
    s->job = NULL;
    s->job_n = 0;
    pthread_mutex_unlock(&s->plock);
}

static void *sync_main(void *arg)
{
    struct xend_store *s = arg;
    unsigned long long seen = 0;
    pthread_mutex_lock(&s->plock);
    for (;;) {
        while (!s->pool_stop &&
               (s->job_gen == seen ||
                atomic_load_explicit(&s->job_next, memory_order_relaxed) >= s->job_n))
            pthread_cond_wait(&s->pcond, &s->plock);
        if (s->pool_stop)
            break;
        seen = s->job_gen;
        struct entry **items = s->job;
        size_t n = s->job_n;
        s->job_active++; /* the job (and its entries) stays until we leave it */
        pthread_mutex_unlock(&s->plock);
        sync_claimed(s, items, n);
        pthread_mutex_lock(&s->plock);
        if (--s->job_active == 0 && s->job_waiting)
            pthread_cond_signal(&s->pdone);
    }
    pthread_mutex_unlock(&s->plock);
    return NULL;
}

/*
 * Put the new version (pool file `tmp`) in place. An exchange rather than a rename over
 * the record keeps the old version's inode under the pool name, a spare for the next
 * write: creating and freeing an inode per write is what costs most on ext4
 * (docs/store.md). *consumed: the pool file became the record (a new key, or a rename
 * over where exchanges are refused).
 */
static int install(struct xend_store *s, int dirfd, const char *tmp, const char *key,
                   bool *consumed)
{
    *consumed = false;
    if (!s->no_exchange) {
        if (renameat2(dirfd, tmp, dirfd, key, RENAME_EXCHANGE) == 0)
            return 0;
        if (errno == EINVAL || errno == ENOSYS)
            s->no_exchange = true; /* this filesystem cannot: rename over from now on */
        else if (errno != ENOENT)
            return -errno;
    }
    if (renameat(dirfd, tmp, dirfd, key) != 0)
        return -errno;
    *consumed = true;
    return 0;
}

bool xend_store_sync_by_syncfs(size_t files, unsigned long long fdatasync_ns, long long dirty_kb)
{
    return files >= STORE_SYNCFS_MIN_FILES && fdatasync_ns >= STORE_SYNC_FREE_NS && dirty_kb >= 0 &&
           dirty_kb <= STORE_SYNCFS_MAX_DIRTY_KB;
}

/* Dirty + Writeback of /proc/meminfo in kB (what a syncfs may have to write), or -1. */
static long long dirty_kb(struct xend_store *s)
{
    char buf[4096];
    ssize_t n = s->meminfo_fd < 0 ? -1 : pread(s->meminfo_fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    long long total = 0;
    int found = 0;
    for (const char *p = buf; p != NULL && *p != '\0' && found < 2;
         p = strchr(p, '\n'), p = p ? p + 1 : p) {
        long long kb;
        bool want = strncmp(p, "Dirty:", 6) == 0 || strncmp(p, "Writeback:", 10) == 0;
        if (want && sscanf(strchr(p, ':') + 1, "%lld", &kb) == 1) {
            total += kb;
            found++;
        }
    }
    return found == 2 ? total : -1;
}

/* AUTO's choice for a batch of `files` files, before any of them is written. */
static enum xend_store_sync_mode auto_mode(struct xend_store *s, size_t files)
{
    /* Only read meminfo for a batch the other rules already let through. */
    if (!xend_store_sync_by_syncfs(files, s->sync_ns, 0))
        return XEND_STORE_SYNC_FDATASYNC;
    return xend_store_sync_by_syncfs(files, s->sync_ns, dirty_kb(s)) ? XEND_STORE_SYNC_SYNCFS
                                                                     : XEND_STORE_SYNC_FDATASYNC;
}

/* Write a batch durably: temp files, one durability step, renames, directory fsyncs. */
static void write_batch(struct xend_store *s, struct entry *batch, enum xend_store_sync_mode mode)
{
    size_t n_files = 0;
    if (mode == XEND_STORE_SYNC_AUTO) {
        size_t n_data = 0;
        for (struct entry *e = batch; e != NULL; e = e->next)
            n_data += e->data != NULL;
        mode = auto_mode(s, n_data);
    }
    /* Starting write-back early only pays where fdatasync has a device to wait for. */
    bool kick = mode == XEND_STORE_SYNC_FDATASYNC && s->sync_ns >= STORE_SYNC_FREE_NS;

    for (struct entry *e = batch; e != NULL; e = e->next) {
        e->rc = 0;
        e->tmpfd = -1;
        e->has_spare = false;
        e->dir = ns_dir(s, e->ns, true);
        if (e->dir == NULL) {
            entry_fail(e, "cannot create namespace directory", errno);
            continue;
        }
        if (e->data == NULL)
            continue;
        /* A pool file, usually an old version of some record: overwrite it in place. */
        int fd = spare_take(s, e->dir, &e->spare);
        if (fd < 0) {
            entry_fail(e, "cannot create temp file", -fd);
            continue;
        }
        e->tmpfd = fd;
        e->has_spare = true;
        /* Cut to length only when the old bytes are longer: ftruncate is not free. */
        struct stat st;
        int rc = xend_wire_write_all(e->tmpfd, e->data, e->len) == 0 ? 0 : -errno;
        if (rc == 0 && (fstat(e->tmpfd, &st) != 0 || st.st_size > (off_t)e->len) &&
            ftruncate(e->tmpfd, (off_t)e->len) != 0)
            rc = -errno;
        if (rc != 0)
            entry_fail(e, "cannot write temp file", -rc);
        else if (kick)
            sync_file_range(e->tmpfd, 0, 0, SYNC_FILE_RANGE_WRITE); /* start the I/O now */
        n_files++;
    }

    /* Make every temp file's data durable before any of them replaces a record. */
    dir_busy(s, false); /* the refiller's window: this is mostly waiting for the disk */
    for (struct entry *e = batch; e != NULL && mode == XEND_STORE_SYNC_SYNCFS; e = e->next)
        if (e->dir != NULL && e->dir->other_fs && s->sync_mode == XEND_STORE_SYNC_AUTO)
            mode = XEND_STORE_SYNC_FDATASYNC; /* a namespace mounted elsewhere */
    if (mode == XEND_STORE_SYNC_SYNCFS) {
        s->w_sync_syncfs += n_files > 0;
        if (n_files > 0 && syncfs(s->rootfd) != 0) {
            int e0 = errno;
            for (struct entry *e = batch; e != NULL; e = e->next)
                if (e->tmpfd >= 0)
                    entry_fail(e, "syncfs", e0);
        }
    } else if (n_files > 0) {
        struct entry **items = xend_xmalloc(n_files * sizeof(*items));
        size_t n = 0;
        for (struct entry *e = batch; e != NULL; e = e->next)
            if (e->tmpfd >= 0 && e->rc == 0)
                items[n++] = e;
        sync_files(s, items, n);
        free(items);
    }
    dir_busy(s, true);

    for (struct entry *e = batch; e != NULL; e = e->next) {
        if (e->tmpfd >= 0 && close(e->tmpfd) != 0)
            entry_fail(e, "close", errno);
        e->tmpfd = -1;
        if (e->dir == NULL)
            continue;
        if (e->data == NULL) {
            /* Into the pool rather than unlinked: the next new keys' files. */
            int rc = spare_recycle(s, e->dir, e->key);
            if (rc != 0 && rc != -ENOENT)
                entry_fail(e, "cannot remove record", -rc);
            e->dir->touched = true;
            continue;
        }
        if (!e->has_spare)
            continue;
        char sp[NAME_MAX + 1];
        spare_name(e->spare, sp, sizeof(sp));
        bool consumed = false;
        if (e->rc == 0) {
            int rc = install(s, e->dir->fd, sp, e->key, &consumed);
            if (rc != 0)
                entry_fail(e, "cannot rename temp file", -rc);
            else
                e->dir->touched = true;
        }
        /* Exchanged, it holds the old version; failed, bytes never read: both are spares. */
        if (!consumed)
            spare_return(s, e->dir, e->spare);
    }

    /* One fsync per touched directory makes its renames and unlinks durable. */
    for (struct nsdir *d = s->dirs; d != NULL; d = d->next) {
        if (!d->touched)
            continue;
        d->touched = false;
        int rc = fsync_dir(d->fd);
        if (rc != 0)
            for (struct entry *e = batch; e != NULL; e = e->next)
                if (e->dir == d)
                    entry_fail(e, "cannot fsync directory", -rc);
    }
}

static void deliver(void *arg)
{
    struct completion *c = arg;
    for (size_t i = 0; i < c->n; i++)
        c->items[i].fn(c->items[i].arg, c->items[i].rc);
    free(c);
}

static void entry_free(struct entry *e)
{
    free(e->ns);
    free(e->key);
    free(e->data);
    free(e->waiters);
    free(e);
}

static struct entry *find_queued(struct xend_store *s, uint32_t h, const char *ns, const char *key)
{
    struct entry *e = s->index[h % STORE_HASH_BUCKETS];
    while (e != NULL && (e->hash != h || strcmp(e->key, key) != 0 || strcmp(e->ns, ns) != 0))
        e = e->hnext;
    return e;
}

/* A failed entry (its waiters told) waits for another attempt, unless a newer put or
 * delete of its key is already queued: that one is what the record must become. */
static void retry_later(struct xend_store *s, struct entry *e)
{
    e->attempts++;
    e->n_waiters = 0;
    e->next = NULL;
    uint64_t wait = STORE_RETRY_FIRST_NS << (e->attempts - 1 < 10 ? e->attempts - 1 : 10);
    e->due_ns = xend_clock_ns() + (wait < STORE_RETRY_MAX_NS ? wait : STORE_RETRY_MAX_NS);
    pthread_mutex_lock(&s->qlock);
    bool newer = find_queued(s, e->hash, e->ns, e->key) != NULL;
    if (!newer) {
        e->next = s->retry;
        s->retry = e;
        s->stats.retries++;
    }
    pthread_mutex_unlock(&s->qlock);
    if (newer)
        entry_free(e);
}

/* Move the retries that are due into the queue (qlock held); *next_ns: the earliest one
 * left, or UINT64_MAX. */
static void retry_due(struct xend_store *s, uint64_t now, uint64_t *next_ns)
{
    *next_ns = UINT64_MAX;
    for (struct entry **pp = &s->retry; *pp != NULL;) {
        struct entry *e = *pp;
        if (e->due_ns > now) {
            if (e->due_ns < *next_ns)
                *next_ns = e->due_ns;
            pp = &e->next;
            continue;
        }
        *pp = e->next;
        e->next = NULL;
        s->n_first += e->first;
        /* enqueue drops a key's retry when it queues a newer one: none is queued here. */
        e->hnext = s->index[e->hash % STORE_HASH_BUCKETS];
        s->index[e->hash % STORE_HASH_BUCKETS] = e;
        if (s->tail)
            s->tail->next = e;
        else
            s->head = e;
        s->tail = e;
    }
}

/* Tell every waiter of the batch how it went, then free the batch. */
static void finish_batch(struct xend_store *s, struct entry *batch)
{
    size_t n_async = 0;
    for (struct entry *e = batch; e != NULL; e = e->next) {
        if (e->rc != 0 && e->attempts == 0 && !e->was_failing)
            xend_log_emit(NULL, XEND_LOG_ERROR, "store write failed",
                          "dir=%s ns=%s key=%s error=\"%s\" retry=yes", s->dir, e->ns, e->key,
                          e->msg);
        else if (e->rc == 0 && (e->attempts > 0 || e->was_failing))
            xend_log_emit(NULL, XEND_LOG_NOTICE, "store write retried",
                          "dir=%s ns=%s key=%s attempts=%u", s->dir, e->ns, e->key,
                          e->attempts + 1);
        else if (e->rc != 0 && e->attempts + 1 >= STORE_RETRY_ATTEMPTS)
            xend_log_emit(NULL, XEND_LOG_ERROR, "store write given up",
                          "dir=%s ns=%s key=%s attempts=%u error=\"%s\"", s->dir, e->ns, e->key,
                          e->attempts + 1, e->msg);
        for (size_t i = 0; i < e->n_waiters; i++)
            n_async += e->waiters[i].fn != NULL;
    }

    struct completion *c = NULL;
    if (n_async > 0) {
        c = xend_xmalloc(sizeof(*c) + n_async * sizeof(c->items[0]));
        c->n = 0;
    }
    pthread_mutex_lock(&s->qlock);
    for (struct entry *e = batch; e != NULL; e = e->next) {
        s->stats.records++;
        s->stats.failures += e->rc != 0;
        for (size_t i = 0; i < e->n_waiters; i++) {
            struct waiter *w = &e->waiters[i];
            if (w->slot == NULL) {
                c->items[c->n].fn = w->fn;
                c->items[c->n].arg = w->arg;
                c->items[c->n].rc = e->rc;
                c->n++;
            } else {
                struct sync_slot *slot = w->slot;
                slot->rc = e->rc;
                if (e->rc != 0)
                    snprintf(slot->msg, sizeof(slot->msg), "cannot store %s/%s in %s: %s", e->ns,
                             e->key, s->dir, e->msg);
                slot->done = true;
            }
        }
    }
    s->stats.batches++;
    s->stats.sync_inline = s->w_sync_inline;
    s->stats.sync_wakeups = s->w_sync_wakeups;
    s->stats.sync_syncfs = s->w_sync_syncfs;
    s->stats.sync_ns = s->sync_ns;
    pthread_cond_broadcast(&s->synccond);
    pthread_mutex_unlock(&s->qlock);

    /* Failed entries wait for a retry before their callers hear of the failure, so that
     * what a caller writes next knows it replaces a failing write. */
    while (batch != NULL) {
        struct entry *next = batch->next;
        if (batch->rc != 0 && batch->attempts + 1 < STORE_RETRY_ATTEMPTS)
            retry_later(s, batch);
        else
            entry_free(batch);
        batch = next;
    }
    if (c != NULL && s->post(s->post_ctx, deliver, c) != 0) {
        xend_log_emit(NULL, XEND_LOG_ERROR, "store completion lost", "dir=%s callbacks=%zu", s->dir,
                      c->n);
        free(c);
    }
}

/* Unhook from the supersede index (qlock held). */
static void index_remove(struct xend_store *s, struct entry *e)
{
    struct entry **pp = &s->index[e->hash % STORE_HASH_BUCKETS];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    e->hnext = NULL;
}

/*
 * The entries queued first, in queue order, out of the queue (qlock held). Taking them
 * ahead of older entries is safe for each record, since a record has at most one entry
 * queued (a newer put or delete supersedes it in place); across records it is the
 * documented exception to queue order (store.h).
 */
static struct entry *take_first(struct xend_store *s)
{
    struct entry *batch = NULL, **bt = &batch, *prev = NULL;
    for (struct entry *e = s->head, *next; e != NULL; e = next) {
        next = e->next;
        if (!e->first) {
            prev = e;
            continue;
        }
        if (prev)
            prev->next = next;
        else
            s->head = next;
        if (s->tail == e)
            s->tail = prev;
        index_remove(s, e);
        e->next = NULL;
        *bt = e;
        bt = &e->next;
    }
    s->n_first = 0;
    return batch;
}

static void *writer_main(void *arg)
{
    struct xend_store *s = arg;
    pthread_mutex_lock(&s->qlock);
    for (;;) {
        uint64_t next_retry;
        retry_due(s, xend_clock_ns(), &next_retry);
        while (s->head == NULL && !s->stop) {
            s->writer_idle = true;
            if (next_retry == UINT64_MAX) {
                pthread_cond_wait(&s->qcond, &s->qlock);
            } else {
                struct timespec ts = {.tv_sec = (time_t)(next_retry / 1000000000u),
                                      .tv_nsec = (long)(next_retry % 1000000000u)};
                pthread_cond_timedwait(&s->qcond, &s->qlock, &ts);
            }
            retry_due(s, xend_clock_ns(), &next_retry);
        }
        s->writer_idle = false;
        if (s->head == NULL)
            break;
        /* Take everything queued: this is the group commit. When some entries were
         * queued first, they make a batch of their own, and the rest waits for the next. */
        struct entry *batch;
        if (s->n_first > 0) {
            batch = take_first(s);
        } else {
            batch = s->head;
            s->head = s->tail = NULL;
            memset(s->index, 0, sizeof(s->index));
        }
        enum xend_store_sync_mode mode = s->sync_mode;
        pthread_mutex_unlock(&s->qlock);

        size_t records = 0;
        for (struct entry *e = batch; e != NULL; e = e->next)
            records++;
        pthread_mutex_lock(&s->iolock);
        uint64_t t0 = xend_clock_ns();
        dir_busy(s, true);
        write_batch(s, batch, mode);
        dir_busy(s, false);
        pthread_mutex_unlock(&s->iolock);
        xend_metrics_store_commit(xend_clock_ns() - t0, records);
        finish_batch(s, batch);

        pthread_mutex_lock(&s->qlock);
    }
    /* Closing: what still waits for a retry is left as it is on disk. */
    size_t dropped = 0;
    while (s->retry != NULL) {
        struct entry *e = s->retry;
        s->retry = e->next;
        entry_free(e);
        dropped++;
    }
    pthread_mutex_unlock(&s->qlock);
    if (dropped > 0)
        xend_log_emit(NULL, XEND_LOG_ERROR, "store retries abandoned", "dir=%s records=%zu", s->dir,
                      dropped);
    return NULL;
}

/* --- the queue ---------------------------------------------------------------------- */

static uint32_t name_hash(const char *ns, const char *key)
{
    uint32_t h = 2166136261u;
    for (const char *p = ns; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    h = (h ^ '/') * 16777619u;
    for (const char *p = key; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h;
}

/* Nothing to add for a put whose caller wants no completion (done NULL, slot NULL). */
static void add_waiter(struct entry *e, xend_store_done_fn *fn, void *arg, struct sync_slot *slot)
{
    if (fn == NULL && slot == NULL)
        return;
    if (e->n_waiters == e->cap_waiters) {
        e->cap_waiters = e->cap_waiters ? e->cap_waiters * 2 : 2;
        e->waiters = xend_xrealloc(e->waiters, e->cap_waiters * sizeof(*e->waiters));
    }
    e->waiters[e->n_waiters] = (struct waiter){.fn = fn, .arg = arg, .slot = slot};
    e->n_waiters++;
}

/*
 * Queue data (taken; NULL = delete) for ns/key with its waiter (a callback, a sync slot
 * or neither), superseding a queued entry of the same record. Names already checked.
 */
static void enqueue(struct xend_store *s, const char *ns, const char *key, char *data, size_t len,
                    bool first, xend_store_done_fn *fn, void *arg, struct sync_slot *slot)
{
    uint32_t h = name_hash(ns, key);
    /* Allocated before the lock, which the writer needs to take its batch: a supersede
     * (rare) throws it away. */
    struct entry *fresh = xend_xcalloc(1, sizeof(*fresh));
    fresh->hash = h;
    fresh->ns = xend_xstrdup(ns);
    fresh->key = xend_xstrdup(key);
    fresh->cap_waiters = 2;
    fresh->waiters = xend_xmalloc(fresh->cap_waiters * sizeof(*fresh->waiters));
    pthread_mutex_lock(&s->qlock);
    /* A failed older write of the key must not be retried after this one. */
    struct entry *stale = NULL;
    for (struct entry **pp = &s->retry; *pp != NULL; pp = &(*pp)->next)
        if ((*pp)->hash == h && strcmp((*pp)->key, key) == 0 && strcmp((*pp)->ns, ns) == 0) {
            stale = *pp;
            *pp = stale->next;
            break;
        }
    struct entry *e = find_queued(s, h, ns, key);
    if (e != NULL) {
        free(e->data);
        e->was_failing = e->was_failing || e->attempts > 0;
        e->attempts = 0; /* new bytes: a fresh series of attempts */
        s->stats.superseded++;
    } else {
        e = fresh;
        fresh = NULL;
        e->hnext = s->index[h % STORE_HASH_BUCKETS];
        s->index[h % STORE_HASH_BUCKETS] = e;
        if (s->tail)
            s->tail->next = e;
        else
            s->head = e;
        s->tail = e;
    }
    e->data = data;
    e->len = len;
    if (first && !e->first) {
        e->first = true;
        s->n_first++;
    }
    if (stale != NULL)
        e->was_failing = true;
    add_waiter(e, fn, arg, slot);
    /* Once per batch: the puts that follow find the writer already woken, or busy. */
    bool wake = s->writer_idle;
    s->writer_idle = false;
    pthread_mutex_unlock(&s->qlock);
    if (wake)
        pthread_cond_signal(&s->qcond);
    if (fresh != NULL)
        entry_free(fresh);
    if (stale != NULL)
        entry_free(stale);
}

static int encode_checked(const struct xend_sxp *value, char **data, size_t *len,
                          struct xend_err *err)
{
    if (value == NULL)
        return xend_err_set(err, XEND_EINVAL, "no value to store");
    *data = encode_record(value, len);
    if ((*data)[0] == '\n') { /* an empty atom prints as nothing and could not be read */
        free(*data);
        return xend_err_set(err, XEND_EINVAL, "cannot store an empty value");
    }
    /* Never write what load would set aside as damaged. */
    int rc = xend_record_check(value, (size_t)(strchr(*data, '\n') - *data), false, err);
    if (rc < 0)
        free(*data);
    return rc;
}

static int put_async(struct xend_store *store, const char *ns, const char *key,
                     const struct xend_sxp *value, bool first, xend_store_done_fn *done, void *arg,
                     struct xend_err *err)
{
    char *data;
    size_t len;
    int rc = check_names(ns, key, err);
    if (rc == 0)
        rc = encode_checked(value, &data, &len, err);
    if (rc != 0)
        return rc;
    enqueue(store, ns, key, data, len, first, done, arg, NULL);
    return 0;
}

static int del_async(struct xend_store *store, const char *ns, const char *key, bool first,
                     xend_store_done_fn *done, void *arg, struct xend_err *err)
{
    int rc = check_names(ns, key, err);
    if (rc != 0)
        return rc;
    enqueue(store, ns, key, NULL, 0, first, done, arg, NULL);
    return 0;
}

int xend_store_put(struct xend_store *store, const char *ns, const char *key,
                   const struct xend_sxp *value, xend_store_done_fn *done, void *arg,
                   struct xend_err *err)
{
    return put_async(store, ns, key, value, false, done, arg, err);
}

int xend_store_del(struct xend_store *store, const char *ns, const char *key,
                   xend_store_done_fn *done, void *arg, struct xend_err *err)
{
    return del_async(store, ns, key, false, done, arg, err);
}

int xend_store_put_first(struct xend_store *store, const char *ns, const char *key,
                         const struct xend_sxp *value, xend_store_done_fn *done, void *arg,
                         struct xend_err *err)
{
    return put_async(store, ns, key, value, true, done, arg, err);
}

int xend_store_del_first(struct xend_store *store, const char *ns, const char *key,
                         xend_store_done_fn *done, void *arg, struct xend_err *err)
{
    return del_async(store, ns, key, true, done, arg, err);
}

/* Queue with a sync slot and wait for the writer to fill it (no loop involved). */
static int enqueue_wait(struct xend_store *s, const char *ns, const char *key, char *data,
                        size_t len, struct xend_err *err)
{
    struct sync_slot slot = {.done = false};
    enqueue(s, ns, key, data, len, false, NULL, NULL, &slot);
    pthread_mutex_lock(&s->qlock);
    while (!slot.done)
        pthread_cond_wait(&s->synccond, &s->qlock);
    pthread_mutex_unlock(&s->qlock);
    if (slot.rc != 0)
        return xend_err_set(err, -slot.rc, "%s", slot.msg);
    return 0;
}

int xend_store_put_sync(struct xend_store *store, const char *ns, const char *key,
                        const struct xend_sxp *value, struct xend_err *err)
{
    char *data;
    size_t len;
    int rc = check_names(ns, key, err);
    if (rc == 0)
        rc = encode_checked(value, &data, &len, err);
    if (rc != 0)
        return rc;
    return enqueue_wait(store, ns, key, data, len, err);
}

int xend_store_del_sync(struct xend_store *store, const char *ns, const char *key,
                        struct xend_err *err)
{
    int rc = check_names(ns, key, err);
    if (rc != 0)
        return rc;
    return enqueue_wait(store, ns, key, NULL, 0, err);
}

/* --- open and close ----------------------------------------------------------------- */

static void stop_pool(struct xend_store *s);
static void destroy(struct xend_store *s);

/* mkdir -p with mode 0700 for the parts that are missing. */
static int make_dirs(const char *dir)
{
    char *p = xend_xstrdup(dir);
    int rc = 0;
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0700) != 0 && errno != EEXIST) {
                rc = -errno;
                break;
            }
            *s = c;
            if (c == '\0')
                break;
        }
    }
    free(p);
    return rc;
}

/*
 * Mark the state dir as the top of its own tree for ext4's (Orlov) allocator, so that the
 * namespace directories made in it land in a quiet block group instead of next to the
 * state dir's parent, and their records' inodes with them. Creating an inode on ext4
 * without a journal scans every inode of the group freed in the last seconds to minutes
 * (docs/store.md, "Why a spare pool"): next to a busy /tmp or /var that cost 1.2 ms per
 * record here, against 33 us in a group of its own. A hint only: other file systems, or
 * a state dir we may not mark, are left as they are. Only directories made after this
 * are placed by it.
 */
static void spread_namespaces(int rootfd)
{
    int flags = 0;
    if (ioctl(rootfd, FS_IOC_GETFLAGS, &flags) == 0 && !(flags & FS_TOPDIR_FL)) {
        flags |= FS_TOPDIR_FL;
        (void)ioctl(rootfd, FS_IOC_SETFLAGS, &flags);
    }
}

struct xend_store *xend_store_open(const char *dir, xend_store_post_fn *post, void *post_ctx,
                                   struct xend_err *err)
{
    if (dir == NULL || *dir == '\0' || post == NULL) {
        xend_err_set(err, XEND_EINVAL, "store: no state dir or post function");
        return NULL;
    }
    int rc = make_dirs(dir);
    if (rc != 0) {
        xend_err_set(err, XEND_EIO, "cannot create state dir %s: %s", dir, strerror(-rc));
        return NULL;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        xend_err_set(err, XEND_EIO, "cannot open state dir %s: %s", dir, strerror(errno));
        return NULL;
    }
    spread_namespaces(fd);
    drop_unfinished_namespaces(fd);
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
    pthread_attr_setstacksize(&attr, 64 * 1024); /* the refiller only creates files */
    /* The sync pool's threads start with the first batches that can use them (pool_grow).
     * Without a refiller the writer creates the files the pool lacks itself. */
    s->has_refiller = pthread_create(&s->refiller, &attr, refill_main, s) == 0;
    pthread_attr_destroy(&attr);
    rc = pthread_create(&s->writer, NULL, writer_main, s);
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

/* --- readers ------------------------------------------------------------------------ */

int xend_store_get(struct xend_store *s, const char *ns, const char *key, struct xend_sxp **out,
                   struct xend_err *err)
{
    *out = NULL;
    int rc = check_names(ns, key, err);
    if (rc != 0)
        return rc;
    char why[160] = "";
    pthread_mutex_lock(&s->iolock);
    struct nsdir *d = ns_dir(s, ns, false);
    int e0 = errno;
    if (d == NULL)
        rc = e0 == ENOENT ? -XEND_ENOENT : -XEND_EIO;
    else
        rc = read_record(d->fd, key, out, why, sizeof(why));
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
    struct nsdir *d = ns_dir(s, ns, false);
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
    struct nsdir *d = ns_dir(s, ns, false);
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
    for (size_t i = 0; i < n; i++) {
        char why[160] = "";
        int r = read_record(d->fd, names[i], &values[i], why, sizeof(why));
        if (r == -XEND_EIO) {
            set_aside(s, ns, d->fd, names[i], why);
            changed = true;
        }
        n_ok += r == 0;
    }
    if (changed)
        fsync_dir(d->fd);
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

/* --- lastboot ----------------------------------------------------------------------- */

static bool read_small(const char *path, char *out, size_t len)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return false;
    size_t n = fread(out, 1, len - 1, f);
    fclose(f);
    out[n] = '\0';
    return n > 0;
}

/* The running system's boot: (lastboot (boot_id UUID) (btime SECONDS)), or NULL. Owned. */
static struct xend_sxp *current_boot(void)
{
    char id[64], stat[8192];
    struct xend_sxp *v = xend_sxp_list_of("lastboot", NULL);
    bool any = false;
    if (xend_clock_boot_id(id, sizeof(id))) {
        xend_sxp_add_kv(v, "boot_id", id);
        any = true;
    }
    if (read_small("/proc/stat", stat, sizeof(stat))) {
        const char *b = strstr(stat, "\nbtime ");
        long long btime;
        if (b != NULL && sscanf(b + 7, "%lld", &btime) == 1) {
            xend_sxp_add_kv_int(v, "btime", btime);
            any = true;
        }
    }
    if (!any) {
        xend_sxp_free(v);
        return NULL;
    }
    return v;
}

bool xend_store_boot_id_changed(struct xend_store *s)
{
    struct xend_sxp *now = current_boot();
    if (now == NULL) {
        xend_log_emit(NULL, XEND_LOG_WARN, "boot id unknown",
                      "reason=\"neither /proc/sys/kernel/random/boot_id nor /proc/stat btime\"");
        return false;
    }
    struct xend_err err = {0};
    struct xend_sxp *was = NULL;
    int rc = xend_store_get(s, "xend", "lastboot", &was, &err);
    bool changed = false;
    if (rc == 0) {
        const char *id0 = xend_sxp_child_value(was, "boot_id", NULL);
        const char *id1 = xend_sxp_child_value(now, "boot_id", NULL);
        long long t0, t1;
        if (id0 != NULL && id1 != NULL)
            changed = strcmp(id0, id1) != 0;
        else if (xend_sxp_child_int(was, "btime", &t0) == 0 &&
                 xend_sxp_child_int(now, "btime", &t1) == 0)
            changed = llabs(t0 - t1) > 2; /* btime is computed, and wobbles by a second */
        if (changed)
            xend_log_emit(NULL, XEND_LOG_NOTICE, "host rebooted since last run",
                          "dir=%s was_boot_id=%s boot_id=%s", s->dir, id0 ? id0 : "-",
                          id1 ? id1 : "-");
    } else if (rc != -XEND_ENOENT) {
        xend_log_emit(NULL, XEND_LOG_WARN, "lastboot unreadable", "dir=%s error=\"%s\"", s->dir,
                      xend_err_msg(&err));
    }
    if (rc != 0 || !xend_sxp_equal(was, now)) {
        xend_err_clear(&err);
        if (xend_store_put_sync(s, "xend", "lastboot", now, &err) != 0)
            xend_log_emit(NULL, XEND_LOG_ERROR, "lastboot not recorded", "dir=%s error=\"%s\"",
                          s->dir, xend_err_msg(&err));
    }
    xend_sxp_free(was);
    xend_sxp_free(now);
    return changed;
}
