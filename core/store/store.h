/*
 * The persistent store: xend's state-dir, one SXP file per record, grouped in namespaces
 * (subdirectories such as `domain`, `vnet`, `plugin/<name>`). It is what lets xend stop,
 * crash or restart without losing an acknowledged change (docs/durability.md).
 *
 * Durability: a record is written to a temp file, made durable, renamed over its target,
 * and the directory is fsynced, all before the change is acknowledged. Asynchronous puts
 * and deletes are group-committed by one writer thread: everything queued while a batch
 * is being written goes into the next batch, whose files are made durable together, so
 * many clients in flight cost a few fsyncs per batch rather than one each
 * (docs/store.md has the measurements).
 *
 * The store must never depend on the event loop: completions reach the loop through the
 * `post` function given at open. It must never block the loop thread except in the
 * functions documented as synchronous (start-up, tests, and the plugin ABI's put).
 *
 * Files: ns/KEY holds the record; ns/.spare-N are the namespace's spare pool. A write
 * takes a spare, overwrites it in place, makes it durable and exchanges it with KEY
 * (RENAME_EXCHANGE; a plain rename for a new key or where the filesystem cannot), so the
 * spare then holds the previous version and goes back to the pool; a delete renames the
 * record into the pool. No inode is created or freed per write, create or delete while
 * the pool has files, which is what costs most here (docs/store.md); a background thread
 * creates spares ahead when a busy namespace's pool runs low. Spares are never read; the
 * first use of a namespace takes over the pool a previous run left (and the .KEY.tmp
 * files of the older layout) and removes anything else under a pool name.
 *
 * File format: the record printed as SXP on one line, then a trailer comment
 * `# xend-store len=N crc32=XXXXXXXX` that lets load tell a complete file from a truncated
 * or damaged one. A file without a trailer (written by hand) is accepted when it parses as
 * exactly one value.
 *
 * Names: a namespace is one or more segments separated by '/', a key one segment; a
 * segment is [A-Za-z0-9_.-]+, does not start with '.', and does not contain ".corrupt-"
 * (those names are reserved for temp files and for files set aside).
 *
 * Threads: every function is loop-thread-only (or any single thread that owns the store),
 * except that done callbacks run wherever `post` runs them (the loop). The writer thread
 * is internal.
 */
#ifndef XEND_CORE_STORE_H
#define XEND_CORE_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include <xend/abi.h>
#include <xend/host.h> /* xend_store_fn */
#include <xend/loop.h> /* xend_work_fn */
#include <xend/sxp.h>

struct xend_store; /* opaque; owned by the opener, freed by xend_store_close */

/*
 * Schedule fn(arg) on the loop thread. Called from the writer thread. Returns 0, or a
 * negative code when it cannot (the completion is then lost and logged; the record itself
 * is durable).
 */
typedef int xend_store_post_fn(void *ctx, xend_work_fn *fn, void *arg);

/* A put or delete is durable (rc 0) or failed (rc < 0, nothing changed on disk for it yet:
 * the writer tries it again with a back-off until it succeeds, a newer put or delete of
 * the key replaces it, or 30 attempts have failed). */
typedef void xend_store_done_fn(void *arg, int rc);

/* How a batch's files are made durable before they are renamed. */
enum xend_store_sync_mode {
    XEND_STORE_SYNC_FDATASYNC = 0, /* fdatasync each temp file, up to 16 in parallel */
    XEND_STORE_SYNC_SYNCFS = 1,    /* one syncfs() of the state-dir's filesystem */
    /* The default: SYNCFS for a batch of 8+ files on a device while the system has little
     * other dirty data (xend_store_sync_by_syncfs), FDATASYNC otherwise. */
    XEND_STORE_SYNC_AUTO = 2,
};

/*
 * Open (creating it if needed) the store rooted at `dir` (copied) and start its writer.
 * post/post_ctx are kept for the store's life. Returns an owned store, or NULL with err
 * set ("cannot create state dir /var/lib/xend: Permission denied").
 */
struct xend_store *xend_store_open(const char *dir, xend_store_post_fn *post, void *post_ctx,
                                   struct xend_err *err);
/*
 * Write everything still queued, stop the writer and free the store. The done callbacks
 * of the last batches are posted as usual: keep the loop able to run them until they have
 * (a posted completion does not refer to the store). NULL is fine.
 */
void xend_store_close(struct xend_store *store);

/* True when `ns` / `key` are valid names (see above). */
bool xend_store_ns_valid(const char *ns);
bool xend_store_key_valid(const char *key);

/*
 * Queue `value` (borrowed: printed before return) as record ns/key and return at once.
 * done(arg, rc) runs on the loop once the record is durable or has failed; done may be
 * NULL. A later put or delete of the same key that is queued before the writer takes the
 * first one supersedes it: only the newest value is written, and every done still runs,
 * after that write. Returns 0, or -XEND_EINVAL (bad name) with err set, in which case done
 * is never called.
 */
int xend_store_put(struct xend_store *store, const char *ns, const char *key,
                   const struct xend_sxp *value, xend_store_done_fn *done, void *arg,
                   struct xend_err *err);
/* Queue the removal of ns/key, as put. Removing an absent record succeeds. */
int xend_store_del(struct xend_store *store, const char *ns, const char *key,
                   xend_store_done_fn *done, void *arg, struct xend_err *err);

/*
 * As put and del, but ahead of the queue: the writer takes the entries queued "first" as a
 * batch of their own before anything else queued, so that an operation that must answer
 * fast under load (a destroy) does not wait for a batch of hundreds of other records. Its
 * only cost is that such a record may become durable before records of OTHER keys queued
 * earlier; callers that need an order across keys wait for the first's done callback.
 * Between two writes of the same key the order is always kept (one entry per key).
 */
int xend_store_put_first(struct xend_store *store, const char *ns, const char *key,
                         const struct xend_sxp *value, xend_store_done_fn *done, void *arg,
                         struct xend_err *err);
int xend_store_del_first(struct xend_store *store, const char *ns, const char *key,
                         xend_store_done_fn *done, void *arg, struct xend_err *err);

/*
 * Synchronous forms: queue like put/del, then wait until the record is durable. Ordered
 * with the asynchronous ones (a sync put after an async put of the same key wins). They
 * do not need the loop to run, so they are safe on the loop thread.
 * Returns 0, -XEND_EINVAL or -XEND_EIO with err set.
 */
int xend_store_put_sync(struct xend_store *store, const char *ns, const char *key,
                        const struct xend_sxp *value, struct xend_err *err);
int xend_store_del_sync(struct xend_store *store, const char *ns, const char *key,
                        struct xend_err *err);

/*
 * Read the durable record ns/key: *out owned (xend_sxp_free). -XEND_ENOENT when absent,
 * -XEND_EIO when unreadable or damaged (the file is left where it is; load sets it aside).
 * A put is visible here once its done callback has run.
 */
int xend_store_get(struct xend_store *store, const char *ns, const char *key, struct xend_sxp **out,
                   struct xend_err *err);

/*
 * Call fn(key, value, arg) for every record of ns, in key order, values borrowed for the
 * call. Damaged files are renamed KEY.corrupt-TIMESTAMP and logged; leftover temp files
 * of an interrupted write are removed; neither stops the load. A missing namespace has no
 * records. Returns the number of records delivered, or -XEND_EINVAL / -XEND_EIO with err
 * set when the namespace itself cannot be read.
 */
int xend_store_load(struct xend_store *store, const char *ns, xend_store_fn *fn, void *arg,
                    struct xend_err *err);

/*
 * The same reading, taken one record at a time while helper threads read and parse the
 * files ahead: begin lists ns (*loader owned, freed by end), next gives the next record in
 * key order (1, with *key and *value borrowed until the next call or end; 0 at the end),
 * setting damaged files aside as it meets them, and end waits for the helpers and returns
 * the number of records delivered. Files are read while the caller works on earlier ones,
 * so the caller may write the key it was given but no other key of ns, whose file may not
 * have been read yet. Caller's thread only; begin returns -XEND_EINVAL / -XEND_EIO with
 * err set as load does.
 */
struct xend_store_loader;
/* What a loader does to each record right after parsing it, on whichever thread parsed
 * it (a helper, or the caller of next): work taken off the caller's thread. It may change
 * only the value it is given, and must be safe to run on several threads at once. */
typedef void xend_store_prepare_fn(struct xend_sxp *value);
int xend_store_load_begin(struct xend_store *store, const char *ns, xend_store_prepare_fn *prepare,
                          struct xend_store_loader **loader, struct xend_err *err);
int xend_store_load_next(struct xend_store_loader *loader, const char **key,
                         const struct xend_sxp **value);
/* The record the last next gave, now the caller's (xend_sxp_free); NULL when next gave
 * none. A part kept from it keeps the memory of the whole record (lib/sxp.h): copy it, or
 * have prepare copy it (xend_sxp_detach_own then keeps that copy). */
struct xend_sxp *xend_store_load_take(struct xend_store_loader *loader);
int xend_store_load_end(struct xend_store_loader *loader);
/* How many files after the caller's last one are read already: the helpers read at most
 * XEND_STORE_LOAD_WINDOW ahead, so that the memory of records the caller is done with
 * serves the next ones (docs/store.md). For tests. */
#define XEND_STORE_LOAD_WINDOW 512
size_t xend_store_load_ahead(const struct xend_store_loader *loader);

/* Keys of ns, in order: *keys owned (free each, then the array); *n their count. */
int xend_store_keys(struct xend_store *store, const char *ns, char ***keys, size_t *n,
                    struct xend_err *err);

/*
 * The lastboot rule (manual, "Xend database"): compare the boot recorded in the store
 * (record xend/lastboot: boot_id from /proc/sys/kernel/random/boot_id and btime from
 * /proc/stat) with the running system's, then record the running one. True when the host
 * has rebooted since the record was written, so non-persistent data is stale. False when
 * nothing was recorded yet or the current boot cannot be determined (logged): without
 * proof of a reboot nothing is dropped.
 */
bool xend_store_boot_id_changed(struct xend_store *store);

/* Choose how batches are made durable (for the benchmark; default AUTO). */
void xend_store_set_sync_mode(struct xend_store *store, enum xend_store_sync_mode mode);

/* Whether a write is queued or being written (a failed one waiting for its retry is not):
 * what a stop waits for, so that the last acknowledgements still go out. */
bool xend_store_busy(struct xend_store *store);

/* Counters since open, for the benchmark and /xend/node metrics. */
struct xend_store_stats {
    unsigned long long batches;        /* durable commits */
    unsigned long long records;        /* files written or removed */
    unsigned long long superseded;     /* queued puts/dels replaced before being written */
    unsigned long long failures;       /* records whose write failed */
    unsigned long long retries;        /* failed records put back for another attempt */
    unsigned long long spare_hits;     /* writes that took a file from the spare pool */
    unsigned long long spare_misses;   /* writes that created a file (pool empty) */
    unsigned long long spares_created; /* pool files created ahead by the refiller */
    unsigned long long sync_inline;    /* batches of 2+ files synced by the writer alone */
    unsigned long long sync_wakeups;   /* sync helper threads woken */
    unsigned long long sync_ns;        /* the writer's measure of one fdatasync (ns) */
    unsigned long long sync_syncfs;    /* batches made durable by one syncfs */
};
void xend_store_stats(struct xend_store *store, struct xend_store_stats *out);

/*
 * How many sync helper threads a batch of `files` files wakes, given the measured cost of
 * one fdatasync: none for one file or where fdatasync is nearly free (tmpfs: the writer
 * syncs them itself), else one per further file up to the pool's 15. Pure; for the tests.
 */
unsigned xend_store_sync_fanout(size_t files, unsigned long long fdatasync_ns);

/*
 * AUTO's rule: true when a batch of `files` files is made durable by one syncfs rather than
 * by fdatasyncs: 8 files or more, fdatasync measured as costly (a device, not tmpfs), and
 * at most 16 MiB of dirty + write-back data in the system (`dirty_kb`, -1 when unknown:
 * false), which bounds what syncfs may have to write for others. Pure; for the tests.
 */
bool xend_store_sync_by_syncfs(size_t files, unsigned long long fdatasync_ns, long long dirty_kb);

#endif
