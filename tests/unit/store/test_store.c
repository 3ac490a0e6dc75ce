/*
 * Unit tests of the persistent store (core/store): round trips, the durability protocol,
 * group commit and supersede, the spare pool (reuse of deleted records' files, crash
 * leftovers, load never delivering a pool file), damaged files at load, the lastboot rule.
 *
 * The loop is played by a small posted-function queue; a "gate" in it can hold the writer
 * inside its post call, which makes queue states (supersede, one big batch) deterministic.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "log/log.h"
#include "record_limits.h"
#include "store/store.h"
#include "sxp.h"

/* --- a captured log ---------------------------------------------------------------- */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_lines[64][512];
static int log_count;

void xend_log_vemit(const char *source, enum xend_log_level level, const char *event,
                    const char *fmt, va_list ap)
{
    (void)source;
    (void)level;
    char rest[400];
    vsnprintf(rest, sizeof(rest), fmt, ap);
    pthread_mutex_lock(&log_lock);
    if (log_count < 64)
        snprintf(log_lines[log_count++], sizeof(log_lines[0]), "%s %s", event, rest);
    pthread_mutex_unlock(&log_lock);
}

void xend_log_emit(const char *source, enum xend_log_level level, const char *event,
                   const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    xend_log_vemit(source, level, event, fmt, ap);
    va_end(ap);
}

static int log_matches(const char *prefix)
{
    int n = 0;
    pthread_mutex_lock(&log_lock);
    for (int i = 0; i < log_count; i++)
        n += strncmp(log_lines[i], prefix, strlen(prefix)) == 0;
    pthread_mutex_unlock(&log_lock);
    return n;
}

/* --- a fake loop: posted functions run by the test thread ---------------------------- */

struct posted {
    xend_work_fn *fn;
    void *arg;
};

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cond = PTHREAD_COND_INITIALIZER;
static struct posted q_items[4096];
static size_t q_len;
static bool gate_closed;    /* post() blocks while true */
static bool writer_at_gate; /* the writer is blocked in post() */

static int fake_post(void *ctx, xend_work_fn *fn, void *arg)
{
    (void)ctx;
    pthread_mutex_lock(&q_lock);
    while (gate_closed) {
        writer_at_gate = true;
        pthread_cond_broadcast(&q_cond);
        pthread_cond_wait(&q_cond, &q_lock);
    }
    writer_at_gate = false;
    if (q_len == sizeof(q_items) / sizeof(q_items[0])) {
        pthread_mutex_unlock(&q_lock);
        return -XEND_ENOMEM;
    }
    q_items[q_len].fn = fn;
    q_items[q_len].arg = arg;
    q_len++;
    pthread_cond_broadcast(&q_cond);
    pthread_mutex_unlock(&q_lock);
    return 0;
}

static void deadline_in(struct timespec *ts, int seconds)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += seconds;
}

/* Run posted functions until *counter reaches want or 10 s pass. */
static void run_until(const int *counter, int want)
{
    struct timespec dl;
    deadline_in(&dl, 10);
    pthread_mutex_lock(&q_lock);
    while (*counter < want) {
        if (q_len == 0) {
            if (pthread_cond_timedwait(&q_cond, &q_lock, &dl) == ETIMEDOUT)
                break;
            continue;
        }
        struct posted p = q_items[0];
        memmove(q_items, q_items + 1, (q_len - 1) * sizeof(q_items[0]));
        q_len--;
        pthread_mutex_unlock(&q_lock);
        p.fn(p.arg);
        pthread_mutex_lock(&q_lock);
    }
    pthread_mutex_unlock(&q_lock);
    assert_int_equal(*counter, want);
}

static void close_gate(void)
{
    pthread_mutex_lock(&q_lock);
    gate_closed = true;
    writer_at_gate = false;
    pthread_mutex_unlock(&q_lock);
}

static void wait_writer_at_gate(void)
{
    struct timespec dl;
    deadline_in(&dl, 10);
    pthread_mutex_lock(&q_lock);
    while (!writer_at_gate)
        if (pthread_cond_timedwait(&q_cond, &q_lock, &dl) == ETIMEDOUT)
            break;
    bool at = writer_at_gate;
    pthread_mutex_unlock(&q_lock);
    assert_true(at);
}

static void open_gate(void)
{
    pthread_mutex_lock(&q_lock);
    gate_closed = false;
    pthread_cond_broadcast(&q_cond);
    pthread_mutex_unlock(&q_lock);
}

/* --- fixtures ---------------------------------------------------------------------- */

struct fx {
    char dir[64];
    struct xend_store *store;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/xend-store-test.XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    struct xend_err err = {0};
    f->store = xend_store_open(f->dir, fake_post, NULL, &err);
    if (f->store == NULL)
        return -1;
    pthread_mutex_lock(&log_lock);
    log_count = 0;
    pthread_mutex_unlock(&log_lock);
    q_len = 0;
    *state = f;
    return 0;
}

static void rm_rf(const char *path)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", path);
}

static bool set_immutable(const char *path, bool on);

static int teardown(void **state)
{
    struct fx *f = *state;
    xend_store_close(f->store);
    char ns[128];
    snprintf(ns, sizeof(ns), "%s/domain", f->dir);
    set_immutable(ns, false); /* a failed retry test may have left it so */
    rm_rf(f->dir);
    free(f);
    return 0;
}

/* Open f's store again after the test closed it (a restart of xend). */
static void open_again(struct fx *f)
{
    struct xend_err err = {0};
    f->store = xend_store_open(f->dir, fake_post, NULL, &err);
    assert_non_null(f->store);
}

static struct xend_sxp *parse(const char *text)
{
    struct xend_sxp *v = NULL;
    char msg[128];
    assert_int_equal(xend_sxp_parse(text, strlen(text), NULL, &v, msg, sizeof(msg)), 0);
    return v;
}

static void assert_record(struct xend_store *s, const char *ns, const char *key, const char *text)
{
    struct xend_sxp *got = NULL, *want = parse(text);
    struct xend_err err = {0};
    assert_int_equal(xend_store_get(s, ns, key, &got, &err), 0);
    char *printed = xend_sxp_print(got);
    assert_string_equal(printed, text);
    assert_true(xend_sxp_equal(got, want));
    free(printed);
    xend_sxp_free(got);
    xend_sxp_free(want);
}

static void put_text_sync(struct xend_store *s, const char *ns, const char *key, const char *text)
{
    struct xend_sxp *v = parse(text);
    struct xend_err err = {0};
    assert_int_equal(xend_store_put_sync(s, ns, key, v, &err), 0);
    xend_sxp_free(v);
}

/*
 * Names in dir/ns, sorted, joined by spaces. The pool's files are left out when
 * `with_spares` is false: the refiller may add some at any time once a namespace is busy.
 */
static void dir_listing_x(const char *dir, const char *ns, char *out, size_t len, bool with_spares)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, ns);
    struct dirent **ents;
    int n = scandir(path, &ents, NULL, alphasort);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        bool spare = strncmp(ents[i]->d_name, ".spare-", 7) == 0;
        if (strcmp(ents[i]->d_name, ".") != 0 && strcmp(ents[i]->d_name, "..") != 0 &&
            (with_spares || !spare)) {
            if (out[0])
                strncat(out, " ", len - strlen(out) - 1);
            strncat(out, ents[i]->d_name, len - strlen(out) - 1);
        }
        free(ents[i]);
    }
    if (n >= 0)
        free(ents);
}

static void dir_listing(const char *dir, const char *ns, char *out, size_t len)
{
    dir_listing_x(dir, ns, out, len, true);
}

static ino_t inode_of(const char *dir, const char *ns, const char *name)
{
    char path[256];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s/%s", dir, ns, name);
    assert_int_equal(stat(path, &st), 0);
    return st.st_ino;
}

static void write_file(const char *dir, const char *ns, const char *name, const char *data,
                       size_t len)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s/%s", dir, ns, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
}

static char *read_file(const char *dir, const char *ns, const char *name, size_t *len)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s/%s", dir, ns, name);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char *buf = calloc(1, 65536);
    *len = fread(buf, 1, 65535, fp);
    fclose(fp);
    return buf;
}

/* A done callback that counts per slot and remembers the last rc. */
struct done_rec {
    int calls;
    int rc;
    int *total;
};

static void on_done(void *arg, int rc)
{
    struct done_rec *d = arg;
    d->calls++;
    d->rc = rc;
    (*d->total)++;
}

/* --- tests ------------------------------------------------------------------------- */

static void test_put_then_get_round_trips_after_done(void **state)
{
    struct fx *f = *state;
    const char *text = "(domain (id 5) (name vm1) (image '/boot/vmlinuz root=/dev/sda1 ro'))";
    struct xend_sxp *v = parse(text);
    int total = 0;
    struct done_rec d = {.total = &total};
    struct xend_err err = {0};
    assert_int_equal(xend_store_put(f->store, "domain", "5", v, on_done, &d, &err), 0);
    xend_sxp_free(v); /* borrowed only for the call */
    run_until(&total, 1);
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.rc, 0);
    assert_record(f->store, "domain", "5", text);

    /* The file on disk is the SXP itself, then the trailer. */
    size_t len;
    char *data = read_file(f->dir, "domain", "5", &len);
    assert_memory_equal(data, text, strlen(text));
    assert_non_null(strstr(data, "\n# xend-store len="));
    free(data);
}

static void test_durable_write_leaves_no_temp_files_beside_records(void **state)
{
    struct fx *f = *state;
    int total = 0;
    struct done_rec d[20];
    for (int i = 0; i < 20; i++) {
        char key[16];
        snprintf(key, sizeof(key), "k%02d", i);
        d[i] = (struct done_rec){.total = &total};
        struct xend_sxp *v = xend_sxp_list_of("rec", key, NULL);
        assert_int_equal(xend_store_put(f->store, "plugin/console", key, v, on_done, &d[i], NULL),
                         0);
        xend_sxp_free(v);
    }
    run_until(&total, 20);
    char listing[1024];
    dir_listing_x(f->dir, "plugin/console", listing, sizeof(listing), false);
    assert_string_equal(listing, "k00 k01 k02 k03 k04 k05 k06 k07 k08 k09 k10 k11 k12 k13 k14 "
                                 "k15 k16 k17 k18 k19");
    char **keys;
    size_t n;
    assert_int_equal(xend_store_keys(f->store, "plugin/console", &keys, &n, NULL), 0);
    assert_int_equal(n, 20);
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
}

static void test_rewrite_keeps_previous_version_in_the_pool_for_the_next_write(void **state)
{
    struct fx *f = *state;
    put_text_sync(f->store, "domain", "vm", "(vm (v 1))");
    put_text_sync(f->store, "domain", "vm", "(vm (v 2))");
    char listing[256];
    dir_listing(f->dir, "domain", listing, sizeof(listing));
    assert_string_equal(listing, ".spare-1 vm"); /* .spare-0 became vm at the first write */
    size_t len;
    char *spare = read_file(f->dir, "domain", ".spare-1", &len);
    assert_memory_equal(spare, "(vm (v 1))\n", 11);
    free(spare);
    /* A shorter version overwrites that spare in place, cut to length, and takes its inode. */
    ino_t ino = inode_of(f->dir, "domain", ".spare-1");
    put_text_sync(f->store, "domain", "vm", "(vm)");
    assert_record(f->store, "domain", "vm", "(vm)");
    assert_true(inode_of(f->dir, "domain", "vm") == ino);
    spare = read_file(f->dir, "domain", ".spare-1", &len);
    assert_memory_equal(spare, "(vm (v 2))\n", 11);
    free(spare);
    /* Spares are not records: not by name, not in keys, not at load. */
    struct xend_sxp *v = NULL;
    assert_int_equal(xend_store_get(f->store, "domain", ".spare-1", &v, NULL), -XEND_EINVAL);
    assert_int_equal(xend_store_del_sync(f->store, "domain", "vm", NULL), 0);
    dir_listing(f->dir, "domain", listing, sizeof(listing));
    assert_string_equal(listing, ".spare-1 .spare-2"); /* the deleted record joined the pool */
    char **keys;
    size_t n;
    assert_int_equal(xend_store_keys(f->store, "domain", &keys, &n, NULL), 0);
    assert_int_equal(n, 0);
    free(keys);
}

static void test_new_keys_reuse_the_files_of_deleted_records(void **state)
{
    struct fx *f = *state;
    put_text_sync(f->store, "domain", "old", "(vm (name old) (memory 256) (padding xxxxxxxxxx))");
    ino_t old_ino = inode_of(f->dir, "domain", "old");
    assert_int_equal(xend_store_del_sync(f->store, "domain", "old", NULL), 0);
    char listing[256];
    dir_listing(f->dir, "domain", listing, sizeof(listing));
    assert_string_equal(listing, ".spare-1");

    /* A create (intent, then live, as the lifecycle writes it) allocates no inode. */
    put_text_sync(f->store, "domain", "new", "(vm (name new) (state intent))");
    assert_true(inode_of(f->dir, "domain", "new") == old_ino);
    dir_listing(f->dir, "domain", listing, sizeof(listing));
    assert_string_equal(listing, "new");
    put_text_sync(f->store, "domain", "new", "(vm (name new))"); /* shorter than old's */
    assert_record(f->store, "domain", "new", "(vm (name new))");
    /* The intent version is now the pool's file, and the next new key takes it. */
    dir_listing(f->dir, "domain", listing, sizeof(listing));
    assert_string_equal(listing, ".spare-2 new");
    ino_t intent_ino = inode_of(f->dir, "domain", ".spare-2");
    put_text_sync(f->store, "domain", "next", "(vm (name next))");
    assert_true(inode_of(f->dir, "domain", "next") == intent_ino);
    assert_record(f->store, "domain", "next", "(vm (name next))");
    struct xend_store_stats st;
    xend_store_stats(f->store, &st);
    assert_int_equal(st.failures, 0);
}

static void test_newer_put_supersedes_queued_one_and_both_callbacks_fire(void **state)
{
    struct fx *f = *state;
    int total = 0;
    struct done_rec first = {.total = &total}, v1 = {.total = &total}, v2 = {.total = &total};
    struct xend_sxp *a = parse("(first)"), *b = parse("(vm (v 1))"), *c = parse("(vm (v 2))");

    close_gate();
    assert_int_equal(xend_store_put(f->store, "domain", "other", a, on_done, &first, NULL), 0);
    wait_writer_at_gate(); /* the writer is done with "other" and holds no batch */
    assert_int_equal(xend_store_put(f->store, "domain", "vm", b, on_done, &v1, NULL), 0);
    assert_int_equal(xend_store_put(f->store, "domain", "vm", c, on_done, &v2, NULL), 0);
    struct xend_store_stats st;
    xend_store_stats(f->store, &st);
    assert_int_equal(st.superseded, 1);
    open_gate();
    run_until(&total, 3);
    assert_int_equal(v1.calls, 1);
    assert_int_equal(v2.calls, 1);
    assert_int_equal(v1.rc, 0);
    assert_int_equal(v2.rc, 0);
    assert_record(f->store, "domain", "vm", "(vm (v 2))");
    xend_store_stats(f->store, &st);
    assert_int_equal(st.records, 2); /* "other" and one write of "vm" */
    xend_sxp_free(a);
    xend_sxp_free(b);
    xend_sxp_free(c);
}

/* The order in which done callbacks ran: the calls' positions. */
struct seq_rec {
    int at;
    int *total;
};

static void on_seq(void *arg, int rc)
{
    struct seq_rec *r = arg;
    assert_int_equal(rc, 0);
    r->at = ++*r->total;
}

static void test_first_entries_are_written_ahead_of_those_queued_before(void **state)
{
    struct fx *f = *state;
    int total = 0;
    struct seq_rec other = {.total = &total}, p[10], urgent = {.total = &total},
                   gone = {.total = &total};
    struct xend_sxp *v = parse("(vm (v 1))");

    assert_int_equal(xend_store_put(f->store, "domain", "old", v, on_seq, &gone, NULL), 0);
    run_until(&total, 1);
    close_gate();
    assert_int_equal(xend_store_put(f->store, "domain", "other", v, on_seq, &other, NULL), 0);
    wait_writer_at_gate(); /* the writer holds no batch: the next one is what follows */
    for (int i = 0; i < 10; i++) {
        char key[16];
        snprintf(key, sizeof(key), "p%d", i);
        p[i] = (struct seq_rec){.total = &total};
        assert_int_equal(xend_store_put(f->store, "domain", key, v, on_seq, &p[i], NULL), 0);
    }
    assert_int_equal(xend_store_put_first(f->store, "domain", "urgent", v, on_seq, &urgent, NULL),
                     0);
    assert_int_equal(xend_store_del_first(f->store, "domain", "old", on_seq, &gone, NULL), 0);
    struct xend_store_stats st0, st1;
    xend_store_stats(f->store, &st0);
    open_gate();
    run_until(&total, 14);
    /* "other", then the two first entries as a batch of their own, then the ten. */
    assert_int_equal(other.at, 2);
    assert_true(urgent.at == 3 || urgent.at == 4);
    assert_true(gone.at == 3 || gone.at == 4);
    for (int i = 0; i < 10; i++)
        assert_int_equal(p[i].at, 5 + i);
    xend_store_stats(f->store, &st1);
    assert_int_equal(st1.batches - st0.batches, 2); /* "other" was counted already */
    assert_record(f->store, "domain", "urgent", "(vm (v 1))");
    assert_record(f->store, "domain", "p9", "(vm (v 1))");
    struct xend_sxp *out = NULL;
    assert_int_equal(xend_store_get(f->store, "domain", "old", &out, NULL), -XEND_ENOENT);
    xend_sxp_free(v);
}

static void test_delete_supersedes_queued_put(void **state)
{
    struct fx *f = *state;
    put_text_sync(f->store, "vnet", "7", "(vnet (id 7))");
    int total = 0;
    struct done_rec first = {.total = &total}, p = {.total = &total}, d = {.total = &total};
    struct xend_sxp *a = parse("(x)"), *b = parse("(vnet (id 7) (bridge b))");
    close_gate();
    assert_int_equal(xend_store_put(f->store, "vnet", "other", a, on_done, &first, NULL), 0);
    wait_writer_at_gate();
    assert_int_equal(xend_store_put(f->store, "vnet", "7", b, on_done, &p, NULL), 0);
    assert_int_equal(xend_store_del(f->store, "vnet", "7", on_done, &d, NULL), 0);
    open_gate();
    run_until(&total, 3);
    assert_int_equal(p.rc, 0);
    assert_int_equal(d.rc, 0);
    struct xend_sxp *got = NULL;
    assert_int_equal(xend_store_get(f->store, "vnet", "7", &got, NULL), -XEND_ENOENT);
    xend_sxp_free(a);
    xend_sxp_free(b);
}

static void test_sync_put_and_delete_work_without_the_loop(void **state)
{
    struct fx *f = *state;
    put_text_sync(f->store, "domain", "vm1", "(vm (name vm1))");
    assert_record(f->store, "domain", "vm1", "(vm (name vm1))");
    put_text_sync(f->store, "domain", "vm1", "(vm (name vm1) (memory 64))");
    assert_record(f->store, "domain", "vm1", "(vm (name vm1) (memory 64))");
    struct xend_err err = {0};
    assert_int_equal(xend_store_del_sync(f->store, "domain", "vm1", &err), 0);
    struct xend_sxp *got = NULL;
    assert_int_equal(xend_store_get(f->store, "domain", "vm1", &got, &err), -XEND_ENOENT);
    assert_string_equal(err.msg, "no store record domain/vm1");
    /* Deleting what is absent is not an error. */
    assert_int_equal(xend_store_del_sync(f->store, "domain", "vm1", NULL), 0);
    assert_int_equal(q_len, 0); /* nothing was posted for sync callers */
}

static void test_put_without_a_callback_is_written_and_posts_nothing(void **state)
{
    struct fx *f = *state;
    struct xend_sxp *v = parse("(vm (v 1))");
    int not_a_slot = 0;
    assert_int_equal(xend_store_put(f->store, "domain", "a", v, NULL, &not_a_slot, NULL), 0);
    assert_int_equal(xend_store_put(f->store, "domain", "b", v, NULL, NULL, NULL), 0);
    assert_int_equal(xend_store_del(f->store, "domain", "c", NULL, &not_a_slot, NULL), 0);
    /* A sync put queued behind them is durable only after they are. */
    put_text_sync(f->store, "domain", "z", "(vm)");
    assert_record(f->store, "domain", "a", "(vm (v 1))");
    assert_record(f->store, "domain", "b", "(vm (v 1))");
    assert_int_equal(not_a_slot, 0);
    assert_int_equal(q_len, 0);
    xend_sxp_free(v);
}

/* A record the loader would set aside (deeper than it parses) is refused at put, before
 * anything is queued: a put never acknowledges what load would call damage. */
static void test_a_record_load_would_refuse_is_refused_at_put(void **state)
{
    struct fx *f = *state;
    struct xend_buf b = XEND_BUF_INIT;
    for (int i = 0; i < XEND_RECORD_MAX_DEPTH + 1; i++)
        xend_buf_puts(&b, "(n ");
    for (int i = 0; i < XEND_RECORD_MAX_DEPTH + 1; i++)
        xend_buf_putc(&b, ')');
    struct xend_sxp *v = NULL;
    char msg[128];
    static const struct xend_sxp_limits deep = {.max_depth = 1000};
    assert_int_equal(xend_sxp_parse(b.data, b.len, &deep, &v, msg, sizeof(msg)), 0);
    struct xend_err err = {0};
    assert_int_equal(xend_store_put(f->store, "domain", "deep", v, NULL, NULL, &err), -XEND_ELIMIT);
    assert_non_null(strstr(xend_err_msg(&err), "nested 65 deep"));
    assert_int_equal(xend_store_put_sync(f->store, "domain", "deep", v, &err), -XEND_ELIMIT);
    xend_sxp_free(v);
    xend_buf_free(&b);
    /* The deepest the loader reads is stored and read back. */
    b = (struct xend_buf)XEND_BUF_INIT;
    for (int i = 0; i < XEND_RECORD_MAX_DEPTH; i++)
        xend_buf_puts(&b, "(n ");
    for (int i = 0; i < XEND_RECORD_MAX_DEPTH; i++)
        xend_buf_putc(&b, ')');
    assert_int_equal(xend_sxp_parse(b.data, b.len, NULL, &v, msg, sizeof(msg)), 0);
    assert_int_equal(xend_store_put_sync(f->store, "domain", "deep", v, &err), 0);
    xend_sxp_free(v);
    v = NULL;
    assert_int_equal(xend_store_get(f->store, "domain", "deep", &v, &err), 0);
    xend_sxp_free(v);
    xend_buf_free(&b);
}

/* chattr +i / -i on a directory; false where the file system has no such flag. */
static bool set_immutable(const char *path, bool on)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return false;
    int flags = 0;
    bool ok = ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
    flags = on ? flags | FS_IMMUTABLE_FL : flags & ~FS_IMMUTABLE_FL;
    ok = ok && ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0;
    close(fd);
    return ok;
}

/* The record's value as text, or "" when absent. */
static void record_text(struct xend_store *s, const char *key, char *out, size_t len)
{
    struct xend_sxp *v = NULL;
    struct xend_err err = {0};
    out[0] = '\0';
    if (xend_store_get(s, "domain", key, &v, &err) == 0) {
        char *text = xend_sxp_print(v);
        snprintf(out, len, "%s", text);
        free(text);
        xend_sxp_free(v);
    }
}

static bool wait_record(struct xend_store *s, const char *key, const char *want)
{
    char got[256];
    for (int i = 0; i < 400; i++) { /* 20 s */
        record_text(s, key, got, sizeof(got));
        if (strcmp(got, want) == 0)
            return true;
        usleep(50000);
    }
    return false;
}

/* A write that fails while the directory is immutable is reported failed, then retried
 * until the directory is writable again: puts and deletes converge. A newer put of the
 * key replaces a pending retry (the older value never comes back). */
static void test_failed_writes_are_retried_until_the_directory_is_writable(void **state)
{
    struct fx *f = *state;
    struct xend_err err = {0};
    struct xend_sxp *v1 = parse("(v 1)"), *v2 = parse("(v 2)"), *v3 = parse("(v 3)");
    assert_int_equal(xend_store_put_sync(f->store, "domain", "a", v1, &err), 0);
    assert_int_equal(xend_store_put_sync(f->store, "domain", "b", v1, &err), 0);
    char path[128];
    snprintf(path, sizeof(path), "%s/domain", f->dir);
    if (!set_immutable(path, true)) {
        xend_sxp_free(v1);
        xend_sxp_free(v2);
        xend_sxp_free(v3);
        skip();
    }
    assert_int_not_equal(xend_store_put_sync(f->store, "domain", "a", v2, &err), 0);
    assert_int_not_equal(xend_store_del_sync(f->store, "domain", "b", &err), 0);
    assert_int_not_equal(xend_store_put_sync(f->store, "domain", "c", v2, &err), 0);
    assert_int_not_equal(xend_store_put_sync(f->store, "domain", "c", v3, &err), 0);
    assert_true(set_immutable(path, false));
    assert_true(wait_record(f->store, "a", "(v 2)"));
    assert_true(wait_record(f->store, "b", ""));
    assert_true(wait_record(f->store, "c", "(v 3)"));
    struct xend_store_stats st;
    xend_store_stats(f->store, &st);
    assert_true(st.retries >= 3);
    xend_sxp_free(v1);
    xend_sxp_free(v2);
    xend_sxp_free(v3);
}

static void test_bad_names_are_refused_before_queueing(void **state)
{
    struct fx *f = *state;
    struct xend_sxp *v = parse("(x)");
    const char *bad_keys[] = {"", ".hidden", "..", "a/b", "a b", "k.corrupt-1", "é"};
    for (size_t i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
        struct xend_err err = {0};
        assert_int_equal(xend_store_put(f->store, "domain", bad_keys[i], v, NULL, NULL, &err),
                         -XEND_EINVAL);
        assert_non_null(strstr(err.msg, "invalid store key"));
    }
    const char *bad_ns[] = {"", "/domain", "domain/", "a//b", "../etc", "plugin/.x"};
    for (size_t i = 0; i < sizeof(bad_ns) / sizeof(bad_ns[0]); i++)
        assert_int_equal(xend_store_put(f->store, bad_ns[i], "k", v, NULL, NULL, NULL),
                         -XEND_EINVAL);
    assert_true(xend_store_ns_valid("plugin/vif-bridge"));
    assert_true(xend_store_key_valid("Domain-0.cfg_1"));
    assert_int_equal(xend_store_put_sync(f->store, "domain", "n", NULL, NULL), -XEND_EINVAL);
    xend_sxp_free(v);
}

struct loaded {
    char keys[16][32];
    char values[16][128];
    int n;
};

static void on_record(const char *key, const struct xend_sxp *value, void *arg)
{
    struct loaded *l = arg;
    snprintf(l->keys[l->n], sizeof(l->keys[0]), "%s", key);
    char *p = xend_sxp_print(value);
    snprintf(l->values[l->n], sizeof(l->values[0]), "%s", p);
    free(p);
    l->n++;
}

static int count_corrupt(const char *dir, const char *ns, const char *key)
{
    char listing[2048], want[64];
    dir_listing(dir, ns, listing, sizeof(listing));
    snprintf(want, sizeof(want), "%s.corrupt-", key);
    int n = 0;
    for (char *p = listing; (p = strstr(p, want)) != NULL; p++)
        n++;
    return n;
}

static void test_damaged_files_are_set_aside_and_load_continues(void **state)
{
    struct fx *f = *state;
    put_text_sync(f->store, "domain", "a", "(vm (name a))");
    put_text_sync(f->store, "domain", "c", "(vm (name c) (memory 128))");
    put_text_sync(f->store, "domain", "e", "(vm (name e))");

    /* b: truncated inside the value; d: a flipped byte; f: half a trailer; g: empty. */
    size_t len;
    char *good = read_file(f->dir, "domain", "c", &len);
    write_file(f->dir, "domain", "b", good, 9);
    char *flipped = strdup(good);
    flipped[5] = 'X';
    write_file(f->dir, "domain", "d", flipped, len);
    char *cut = strstr(good, "crc32=");
    write_file(f->dir, "domain", "f", good, (size_t)(cut - good) + 3);
    write_file(f->dir, "domain", "g", "", 0);
    /* h: no trailer at all but a complete value (hand-written): accepted. */
    write_file(f->dir, "domain", "h", "(vm (name h)) # by hand\n", 24);
    free(good);
    free(flipped);

    struct loaded l = {0};
    struct xend_err err = {0};
    assert_int_equal(xend_store_load(f->store, "domain", on_record, &l, &err), 4);
    assert_int_equal(l.n, 4);
    assert_string_equal(l.keys[0], "a");
    assert_string_equal(l.keys[1], "c");
    assert_string_equal(l.values[1], "(vm (name c) (memory 128))");
    assert_string_equal(l.keys[2], "e");
    assert_string_equal(l.keys[3], "h");
    const char *bad[] = {"b", "d", "f", "g"};
    for (int i = 0; i < 4; i++)
        assert_int_equal(count_corrupt(f->dir, "domain", bad[i]), 1);
    assert_int_equal(log_matches("store record set aside"), 4);
    assert_int_equal(log_matches("store record set aside dir="), 4);

    /* The set-aside files are not records: a second load sees the same four, quietly. */
    struct loaded l2 = {0};
    assert_int_equal(xend_store_load(f->store, "domain", on_record, &l2, &err), 4);
    assert_int_equal(log_matches("store record set aside"), 4);
    /* And get reports a damaged file without moving it. */
    write_file(f->dir, "domain", "z", "(vm", 3);
    struct xend_sxp *got = NULL;
    assert_int_equal(xend_store_get(f->store, "domain", "z", &got, &err), -XEND_EIO);
    assert_int_equal(count_corrupt(f->dir, "domain", "z"), 0);
}

/* The loader's helpers read ahead while the caller takes the records in key order and
 * writes the key it was given; a damaged file met on the way is set aside; an early end
 * stops the helpers and frees what they read. */
/* A loader's prepare: on the thread that parsed the record, before it is given. */
static void mark_prepared(struct xend_sxp *value)
{
    xend_sxp_add_kv_int(value, "prepared", 1);
}

static void test_loader_gives_records_in_order_while_helpers_read_ahead(void **state)
{
    struct fx *f = *state;
    char key[32], text[64];
    put_text_sync(f->store, "domain", "k0000", "(vm (name k0000))");
    for (int i = 1; i < 600; i++) { /* past STORE_LOAD_SHARED_MIN: helpers start */
        snprintf(key, sizeof(key), "k%04d", i);
        int len = snprintf(text, sizeof(text), "(vm (name %s))\n", key);
        write_file(f->dir, "domain", key, i == 300 ? "(vm" : text, i == 300 ? 3 : (size_t)len);
    }
    struct xend_store_loader *l = NULL;
    struct xend_err err = {0};
    assert_int_equal(xend_store_load_begin(f->store, "domain", mark_prepared, &l, &err), 0);
    const char *k;
    const struct xend_sxp *v;
    int i = 0;
    while (xend_store_load_next(l, &k, &v) == 1) {
        i += i == 300; /* damaged */
        snprintf(key, sizeof(key), "k%04d", i);
        assert_string_equal(k, key);
        assert_string_equal(xend_sxp_child_value(v, "name", ""), key);
        assert_string_equal(xend_sxp_child_value(v, "prepared", ""), "1");
        if (i % 100 == 1)
            put_text_sync(f->store, "domain", k, "(vm (name again))");
        i++;
    }
    assert_int_equal(i, 600);
    assert_int_equal(xend_store_load_end(l), 599);
    assert_int_equal(count_corrupt(f->dir, "domain", "k0300"), 1);
    assert_record(f->store, "domain", "k0101", "(vm (name again))");

    assert_int_equal(xend_store_load_begin(f->store, "domain", mark_prepared, &l, &err), 0);
    assert_int_equal(xend_store_load_next(l, &k, &v), 1);
    assert_string_equal(k, "k0000");
    assert_string_equal(xend_sxp_child_value(v, "prepared", ""), "1");
    struct xend_sxp *taken = xend_store_load_take(l); /* now ours, whatever end does */
    assert_string_equal(xend_sxp_child_value(taken, "name", ""), "k0000");
    assert_null(xend_store_load_take(l));
    assert_int_equal(xend_store_load_end(l), 1);
    xend_sxp_free(taken);
}

static void count_record(const char *key, const struct xend_sxp *value, void *arg)
{
    (void)key;
    (void)value;
    (*(int *)arg)++;
}

/* Past the helpers' window (XEND_STORE_LOAD_WINDOW files ahead of the caller): every
 * record in key order, the helpers stopping at the window, and an early end while they
 * wait for the caller. */
static void test_loader_reads_past_its_window_and_ends_early_while_helpers_wait(void **state)
{
    struct fx *f = *state;
    char key[32], text[64];
    put_text_sync(f->store, "domain", "w0000", "(vm (name w0000))");
    for (int i = 1; i < 1300; i++) {
        snprintf(key, sizeof(key), "w%04d", i);
        int len = snprintf(text, sizeof(text), "(vm (name %s))\n", key);
        write_file(f->dir, "domain", key, text, (size_t)len);
    }
    struct xend_store_loader *l = NULL;
    struct xend_err err = {0};
    const char *k;
    const struct xend_sxp *v;
    assert_int_equal(xend_store_load_begin(f->store, "domain", NULL, &l, &err), 0);
    int i = 0;
    while (xend_store_load_next(l, &k, &v) == 1) {
        snprintf(key, sizeof(key), "w%04d", i++);
        assert_string_equal(k, key);
        assert_string_equal(xend_sxp_child_value(v, "name", ""), key);
    }
    assert_int_equal(xend_store_load_end(l), 1300);
    assert_int_equal(i, 1300);

    assert_int_equal(xend_store_load_begin(f->store, "domain", NULL, &l, &err), 0);
    for (i = 0; i < 3; i++)
        assert_int_equal(xend_store_load_next(l, &k, &v), 1);
    /* The helpers stop at the window's end (2 files + 512): wait until they got there. */
    struct timespec t0, now, tick = {0, 1000000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t ahead;
    while ((ahead = xend_store_load_ahead(l)) < XEND_STORE_LOAD_WINDOW - 3) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        assert_true(now.tv_sec - t0.tv_sec < 20);
        nanosleep(&tick, NULL);
    }
    assert_true(ahead <= XEND_STORE_LOAD_WINDOW);
    assert_int_equal(xend_store_load_end(l), 3); /* wakes them: no hang */

    i = 0; /* load has no window: it reads every file before the first call */
    assert_int_equal(xend_store_load(f->store, "domain", count_record, &i, &err), 1300);
    assert_int_equal(i, 1300);
}

static void test_a_busy_namespace_gets_spares_created_ahead(void **state)
{
    struct fx *f = *state;
    struct xend_store_stats st;
    /* New keys that find the pool empty: after 16 the namespace counts as busy. */
    for (int i = 0; i < 20; i++) {
        char key[16];
        snprintf(key, sizeof(key), "d%02d", i);
        put_text_sync(f->store, "domain", key, "(vm)");
    }
    xend_store_stats(f->store, &st);
    /* The refiller starts at the 16th; later puts may already find its files. */
    assert_true(st.spare_misses >= 16 && st.spare_misses <= 20);
    /* The refiller tops the pool up off the writer's path (poll with a deadline). */
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        xend_store_stats(f->store, &st);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (st.spares_created < 64 && now.tv_sec - t0.tv_sec < 10);
    assert_true(st.spares_created >= 64);
    unsigned long long misses = st.spare_misses, hits = st.spare_hits;
    put_text_sync(f->store, "domain", "next", "(vm (name next))");
    xend_store_stats(f->store, &st);
    assert_int_equal(st.spare_misses, misses); /* no file created for the new key */
    assert_int_equal(st.spare_hits, hits + 1);
    assert_record(f->store, "domain", "next", "(vm (name next))");
    /* A quiet namespace gets no pool ahead. */
    put_text_sync(f->store, "vnet", "1", "(vnet)");
    char listing[256];
    dir_listing(f->dir, "vnet", listing, sizeof(listing));
    assert_string_equal(listing, "1");
}

static void test_crash_leftovers_join_the_pool_and_load_ignores_the_pool(void **state)
{
    struct fx *f = *state;
    put_text_sync(f->store, "domain", "vm", "(vm (v 1))");
    xend_store_close(f->store);
    /*
     * What a crash can leave: a pool file half-overwritten before its rename (.spare-7),
     * and the per-key temp files of the previous layout, one beside its record and one of
     * a first write cut short. Plus names in the pool's space the store never makes.
     */
    write_file(f->dir, "domain", ".spare-7", "(vm (v 2", 8);
    write_file(f->dir, "domain", ".vm.tmp", "(vm (v 0))\n", 11);
    write_file(f->dir, "domain", ".new.tmp", "", 0);
    write_file(f->dir, "domain", ".spare-x", "junk", 4);
    char path[256];
    snprintf(path, sizeof(path), "%s/domain/.spare-12", f->dir);
    assert_int_equal(mkdir(path, 0700), 0);
    open_again(f);

    struct loaded l = {0};
    assert_int_equal(xend_store_load(f->store, "domain", on_record, &l, NULL), 1);
    assert_string_equal(l.keys[0], "vm");
    assert_string_equal(l.values[0], "(vm (v 1))");
    char listing[256];
    dir_listing(f->dir, "domain", listing, sizeof(listing));
    assert_string_equal(listing, ".spare-7 .spare-8 .spare-9 vm");
    assert_int_equal(log_matches("store spare pool cleaned dir="), 1);
    assert_non_null(strstr(log_lines[0], "removed=2 temp_files_pooled=2"));
    char **keys;
    size_t n;
    assert_int_equal(xend_store_keys(f->store, "domain", &keys, &n, NULL), 0);
    assert_int_equal(n, 1);
    free(keys[0]);
    free(keys);

    /* The half-written pool file is reused like any other and the result is whole. */
    put_text_sync(f->store, "domain", "vm", "(vm (v 3) (long 'a longer value than before'))");
    assert_record(f->store, "domain", "vm", "(vm (v 3) (long 'a longer value than before'))");
    /* New keys take pool files: the directory does not grow. */
    put_text_sync(f->store, "domain", "a", "(vm (name a))");
    put_text_sync(f->store, "domain", "b", "(vm (name b))");
    dir_listing(f->dir, "domain", listing, sizeof(listing));
    int entries = 1;
    for (const char *p = listing; *p; p++)
        entries += *p == ' ';
    assert_int_equal(entries, 4);
    struct loaded l2 = {0};
    assert_int_equal(xend_store_load(f->store, "domain", on_record, &l2, NULL), 3);
}

static void test_load_of_missing_namespace_is_empty(void **state)
{
    struct fx *f = *state;
    struct loaded l = {0};
    assert_int_equal(xend_store_load(f->store, "nothing/here", on_record, &l, NULL), 0);
    assert_int_equal(l.n, 0);
    /* A sub-namespace directory is not a record of its parent. */
    put_text_sync(f->store, "plugin/vif", "x", "(x)");
    assert_int_equal(xend_store_load(f->store, "plugin", on_record, &l, NULL), 0);
}

static void test_thousand_puts_complete_in_few_batches_each_callback_once(void **state)
{
    struct fx *f = *state;
    enum { N = 1000 };
    static struct done_rec d[N];
    int total = 0;
    struct xend_sxp *first = parse("(first)");

    close_gate();
    assert_int_equal(xend_store_put(f->store, "domain", "first", first, on_done,
                                    &(struct done_rec){.total = &total}, NULL),
                     0);
    wait_writer_at_gate();
    for (int i = 0; i < N; i++) {
        char key[16];
        snprintf(key, sizeof(key), "d%04d", i);
        struct xend_sxp *v = xend_sxp_list_of("domain", NULL);
        xend_sxp_add_kv_int(v, "id", i);
        xend_sxp_add_kv(v, "name", key);
        d[i] = (struct done_rec){.total = &total};
        assert_int_equal(xend_store_put(f->store, "domain", key, v, on_done, &d[i], NULL), 0);
        xend_sxp_free(v);
    }
    open_gate();
    run_until(&total, N + 1);
    for (int i = 0; i < N; i++) {
        assert_int_equal(d[i].calls, 1);
        assert_int_equal(d[i].rc, 0);
    }
    struct xend_store_stats st;
    xend_store_stats(f->store, &st);
    assert_int_equal(st.batches, 2); /* "first", then all thousand together */
    assert_int_equal(st.records, N + 1);
    assert_int_equal(st.failures, 0);
    char **keys;
    size_t n;
    assert_int_equal(xend_store_keys(f->store, "domain", &keys, &n, NULL), 0);
    assert_int_equal(n, N + 1);
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
    assert_record(f->store, "domain", "d0999", "(domain (id 999) (name d0999))");
    xend_sxp_free(first);
}

/*
 * Write n new keys (prefix-0 ...) in exactly one batch: the writer is held at the gate
 * after a first record, the n puts queue behind it, then the gate opens.
 */
static void write_one_batch(struct xend_store *s, const char *prefix, int n)
{
    int total = 0;
    struct done_rec first = {.total = &total}, d[64];
    assert_true(n <= 64);
    struct xend_sxp *v = parse("(vm (name x))");
    char key[32];
    snprintf(key, sizeof(key), "%s-first", prefix);
    close_gate();
    assert_int_equal(xend_store_put(s, "domain", key, v, on_done, &first, NULL), 0);
    wait_writer_at_gate();
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "%s-%d", prefix, i);
        d[i] = (struct done_rec){.total = &total};
        assert_int_equal(xend_store_put(s, "domain", key, v, on_done, &d[i], NULL), 0);
    }
    open_gate();
    run_until(&total, n + 1);
    for (int i = 0; i < n; i++)
        assert_int_equal(d[i].rc, 0);
    xend_sxp_free(v);
}

static void test_sync_fanout_follows_batch_size_and_measured_cost(void **state)
{
    (void)state;
    const unsigned long long disk = 2000000, tmpfs = 800; /* ns per fdatasync */
    assert_int_equal(xend_store_sync_fanout(1, disk), 0); /* the writer alone */
    assert_int_equal(xend_store_sync_fanout(2, disk), 1); /* one helper per further file */
    assert_int_equal(xend_store_sync_fanout(10, disk), 9);
    assert_int_equal(xend_store_sync_fanout(16, disk), 15);
    assert_int_equal(xend_store_sync_fanout(500, disk), 15); /* the pool's size */
    assert_int_equal(xend_store_sync_fanout(500, tmpfs), 0); /* cheaper than a wake-up */
    assert_int_equal(xend_store_sync_fanout(2, tmpfs), 0);
}

static void test_auto_mode_takes_syncfs_only_for_large_batches_on_a_clean_device(void **state)
{
    (void)state;
    const unsigned long long disk = 2000000, tmpfs = 800; /* ns per fdatasync */
    assert_true(xend_store_sync_by_syncfs(8, disk, 0));
    assert_true(xend_store_sync_by_syncfs(300, disk, 16 * 1024));
    assert_false(xend_store_sync_by_syncfs(7, disk, 0));               /* small: fdatasyncs */
    assert_false(xend_store_sync_by_syncfs(300, disk, 16 * 1024 + 1)); /* others' data */
    assert_false(xend_store_sync_by_syncfs(300, disk, -1));            /* unknown: no guess */
    assert_false(xend_store_sync_by_syncfs(300, tmpfs, 0));            /* in line is cheaper */
}

/* The default mode writes a batch large enough for syncfs as durably as any other. */
static void test_auto_mode_writes_a_large_batch_durably(void **state)
{
    struct fx *f = *state;
    write_one_batch(f->store, "big", 14); /* load below keeps at most 16 */
    struct xend_store_stats st;
    xend_store_stats(f->store, &st);
    assert_int_equal(st.failures, 0);
    xend_store_close(f->store);
    open_again(f);
    struct loaded l = {0};
    assert_int_equal(xend_store_load(f->store, "domain", on_record, &l, NULL), 15);
    assert_string_equal(l.values[14], "(vm (name x))");
}

static void test_a_batch_wakes_at_most_one_sync_helper_per_further_file(void **state)
{
    struct fx *f = *state;
    struct xend_store_stats st0, st1;
    xend_store_stats(f->store, &st0);
    write_one_batch(f->store, "three", 3);
    xend_store_stats(f->store, &st1);
    assert_int_equal(st1.batches - st0.batches, 2);
    assert_true(st1.sync_wakeups - st0.sync_wakeups <= 2); /* was: all 15, every batch */
    assert_record(f->store, "domain", "three-2", "(vm (name x))");
}

static void test_on_tmpfs_batches_are_synced_by_the_writer_alone(void **state)
{
    (void)state;
    struct statfs fs;
    if (statfs("/dev/shm", &fs) != 0 || fs.f_type != TMPFS_MAGIC)
        skip();
    char dir[] = "/dev/shm/xend-store-test.XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct xend_store *s = xend_store_open(dir, fake_post, NULL, NULL);
    assert_non_null(s);
    /*
     * fdatasync is free here: the first batch that would fan out times one file alone,
     * finds it cheap and syncs the rest itself. A probe slowed by preemption only delays
     * that, so allow a few dozen batches for it, then none may wake a helper.
     */
    struct xend_store_stats st0, st1;
    int tries = 0;
    do {
        char prefix[16];
        snprintf(prefix, sizeof(prefix), "t%d", tries);
        xend_store_stats(s, &st0);
        write_one_batch(s, prefix, 8);
        xend_store_stats(s, &st1);
    } while (st1.sync_inline == st0.sync_inline && ++tries < 200);
    assert_true(st1.sync_inline > st0.sync_inline);
    assert_int_equal(st1.sync_wakeups, st0.sync_wakeups);
    assert_int_equal(st1.sync_syncfs, st0.sync_syncfs); /* AUTO: no syncfs where it is free */
    assert_true(st1.sync_ns < 50000);
    for (int i = 0; i < 3; i++) {
        char prefix[16];
        snprintf(prefix, sizeof(prefix), "u%d", i);
        write_one_batch(s, prefix, 8);
    }
    xend_store_stats(s, &st0);
    assert_int_equal(st0.sync_wakeups, st1.sync_wakeups);
    assert_int_equal(st0.sync_syncfs, st1.sync_syncfs);
    assert_record(s, "domain", "u2-7", "(vm (name x))");
    xend_store_close(s);
    rm_rf(dir);
}

static void test_close_writes_everything_queued(void **state)
{
    struct fx *f = *state;
    int total = 0;
    struct done_rec d[10];
    for (int i = 0; i < 10; i++) {
        char key[16];
        snprintf(key, sizeof(key), "q%d", i);
        d[i] = (struct done_rec){.total = &total};
        struct xend_sxp *v = xend_sxp_list_of("q", key, NULL);
        assert_int_equal(xend_store_put(f->store, "domain", key, v, on_done, &d[i], NULL), 0);
        xend_sxp_free(v);
    }
    xend_store_close(f->store);
    run_until(&total, 10); /* completions were posted before close returned */
    open_again(f);
    struct loaded l = {0};
    assert_int_equal(xend_store_load(f->store, "domain", on_record, &l, NULL), 10);
    assert_string_equal(l.values[9], "(q q9)");
}

static void test_syncfs_mode_is_as_durable_as_fdatasync(void **state)
{
    struct fx *f = *state;
    xend_store_set_sync_mode(f->store, XEND_STORE_SYNC_SYNCFS);
    put_text_sync(f->store, "domain", "s", "(vm (name s))");
    assert_record(f->store, "domain", "s", "(vm (name s))");
    char listing[64];
    dir_listing(f->dir, "domain", listing, sizeof(listing));
    assert_string_equal(listing, "s");
}

static void test_lastboot_detects_a_reboot_and_records_the_current_boot(void **state)
{
    struct fx *f = *state;
    /* Nothing recorded yet: no proof of a reboot. */
    assert_false(xend_store_boot_id_changed(f->store));
    struct xend_sxp *rec = NULL;
    assert_int_equal(xend_store_get(f->store, "xend", "lastboot", &rec, NULL), 0);
    assert_string_equal(xend_sxp_name(rec), "lastboot");
    assert_non_null(xend_sxp_child_value(rec, "boot_id", NULL));
    xend_sxp_free(rec);
    /* Same boot. */
    assert_false(xend_store_boot_id_changed(f->store));
    /* A record from another boot. */
    put_text_sync(f->store, "xend", "lastboot",
                  "(lastboot (boot_id 00000000-0000-0000-0000-000000000000) (btime 1))");
    assert_true(xend_store_boot_id_changed(f->store));
    assert_int_equal(log_matches("host rebooted since last run"), 1);
    /* ...which has now been replaced by the current one. */
    assert_false(xend_store_boot_id_changed(f->store));
    /* Without a boot id, btime decides. */
    put_text_sync(f->store, "xend", "lastboot", "(lastboot (btime 12))");
    assert_true(xend_store_boot_id_changed(f->store));
}

/*
 * On a file system that has the flag (ext2/3/4), the state dir is marked as the top of its
 * own tree, so that its namespace directories are placed away from its parent's block
 * group (docs/store.md, "Where the records' inodes go").
 */
static void test_the_state_dir_is_marked_as_a_top_dir_for_the_allocator(void **state)
{
    struct fx *f = *state;
    int fd = open(f->dir, O_RDONLY | O_DIRECTORY);
    assert_true(fd >= 0);
    int flags = 0;
    int r = ioctl(fd, FS_IOC_GETFLAGS, &flags);
    close(fd);
    if (r != 0) /* tmpfs and others: nothing to mark */
        skip();
    assert_true(flags & FS_TOPDIR_FL);
}

static bool dir_has_making_leftover(const char *path)
{
    DIR *d = opendir(path);
    assert_non_null(d);
    bool found = false;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strncmp(e->d_name, ".ns-making-", 11) == 0)
            found = true;
    closedir(d);
    return found;
}

/* A namespace dir is made under a temporary name and renamed: none of those stay behind. */
static void test_namespace_dirs_are_made_in_place_with_nothing_left_over(void **state)
{
    struct fx *f = *state;
    put_text_sync(f->store, "domain", "vm1", "(vm1)");
    put_text_sync(f->store, "plugin/vnet", "n1", "(n1)");
    char p[128];
    struct stat st;
    snprintf(p, sizeof(p), "%s/domain", f->dir);
    assert_int_equal(stat(p, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    snprintf(p, sizeof(p), "%s/plugin/vnet", f->dir);
    assert_int_equal(stat(p, &st), 0);
    assert_false(dir_has_making_leftover(f->dir));
    assert_record(f->store, "domain", "vm1", "(vm1)");
}

/* A crash between the mkdir and the rename leaves an empty directory: the next start drops it. */
static void test_a_namespace_dir_left_half_made_is_removed_at_the_next_start(void **state)
{
    struct fx *f = *state;
    put_text_sync(f->store, "domain", "vm1", "(vm1)");
    xend_store_close(f->store);
    char p[128];
    snprintf(p, sizeof(p), "%s/.ns-making-00000000deadbeef", f->dir);
    assert_int_equal(mkdir(p, 0700), 0);
    open_again(f);
    assert_false(dir_has_making_leftover(f->dir));
    assert_int_equal(log_matches("store unfinished namespace removed"), 1);
    assert_record(f->store, "domain", "vm1", "(vm1)");
}

/*
 * ext4 places a top directory by the hash of its name among the groups with the fewest
 * directories, so "domain" made, removed and made again came back to the same inode, next
 * to the inodes its records had just freed. Made under a random name it lands apart.
 */
static void test_a_namespace_dir_made_again_lands_elsewhere_on_ext4(void **state)
{
    struct fx *f = *state;
    struct statfs sf;
    if (statfs(f->dir, &sf) != 0 || sf.f_type != EXT4_SUPER_MAGIC)
        skip();
    char p[128];
    snprintf(p, sizeof(p), "%s/domain", f->dir);
    ino_t first = 0;
    bool moved = false;
    for (int round = 0; round < 6; round++) {
        xend_store_close(f->store);
        rm_rf(p);
        open_again(f);
        put_text_sync(f->store, "domain", "vm1", "(vm1)");
        struct stat st;
        assert_int_equal(stat(p, &st), 0);
        if (round == 0)
            first = st.st_ino;
        else if (st.st_ino != first)
            moved = true;
    }
    assert_true(moved);
}

static void test_open_reports_an_unusable_dir(void **state)
{
    (void)state;
    struct xend_err err = {0};
    assert_null(xend_store_open("/proc/xend-store-cannot-exist", fake_post, NULL, &err));
    assert_int_equal(err.code, XEND_EIO);
    assert_non_null(strstr(err.msg, "cannot create state dir /proc/xend-store-cannot-exist"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_put_then_get_round_trips_after_done),
        T(test_durable_write_leaves_no_temp_files_beside_records),
        T(test_rewrite_keeps_previous_version_in_the_pool_for_the_next_write),
        T(test_new_keys_reuse_the_files_of_deleted_records),
        T(test_newer_put_supersedes_queued_one_and_both_callbacks_fire),
        T(test_delete_supersedes_queued_put),
        T(test_first_entries_are_written_ahead_of_those_queued_before),
        T(test_sync_put_and_delete_work_without_the_loop),
        T(test_put_without_a_callback_is_written_and_posts_nothing),
        T(test_bad_names_are_refused_before_queueing),
        T(test_failed_writes_are_retried_until_the_directory_is_writable),
        T(test_a_record_load_would_refuse_is_refused_at_put),
        T(test_damaged_files_are_set_aside_and_load_continues),
        T(test_loader_gives_records_in_order_while_helpers_read_ahead),
        T(test_loader_reads_past_its_window_and_ends_early_while_helpers_wait),
        T(test_a_busy_namespace_gets_spares_created_ahead),
        T(test_crash_leftovers_join_the_pool_and_load_ignores_the_pool),
        T(test_load_of_missing_namespace_is_empty),
        T(test_thousand_puts_complete_in_few_batches_each_callback_once),
        T(test_close_writes_everything_queued),
        cmocka_unit_test(test_sync_fanout_follows_batch_size_and_measured_cost),
        T(test_a_batch_wakes_at_most_one_sync_helper_per_further_file),
        cmocka_unit_test(test_auto_mode_takes_syncfs_only_for_large_batches_on_a_clean_device),
        T(test_auto_mode_writes_a_large_batch_durably),
        T(test_on_tmpfs_batches_are_synced_by_the_writer_alone),
        T(test_syncfs_mode_is_as_durable_as_fdatasync),
        T(test_lastboot_detects_a_reboot_and_records_the_current_boot),
        T(test_the_state_dir_is_marked_as_a_top_dir_for_the_allocator),
        T(test_namespace_dirs_are_made_in_place_with_nothing_left_over),
        T(test_a_namespace_dir_left_half_made_is_removed_at_the_next_start),
        T(test_a_namespace_dir_made_again_lands_elsewhere_on_ext4),
        cmocka_unit_test(test_open_reports_an_unusable_dir),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
