/*
 * bench-store: durable record writes per second through the store's group commit.
 *
 * C clients each keep one put in flight: when a put's done callback runs (on this
 * program's stand-in for the loop), the client puts its next record. A put counts once it
 * is durable. Records look like domain records (~600 bytes).
 *
 * Workloads (-w): `rewrite` (each client rewrites its own key, as xend does for a
 * domain's changes) and `churn` (create/destroy as xend does them: each client writes a
 * NEW key twice, the intent record then the live one, and after every second create
 * deletes the key it created before, so half the keys are deleted a little later; a
 * create counts once its second write is durable). files_created=W+R: files the writer
 * created itself (spare pool empty) + files the refiller created ahead.
 *
 *   bench-store [-c CLIENTS] [-t SECONDS] [-m auto|fdatasync|syncfs|both|all]
 *               [-w rewrite|churn|both]
 *               [-d DIR]
 *
 * CLIENTS may be a comma list (1,16,64); the default runs 1,4,16,64,256 for each mode
 * (all: auto, the store's default, then fdatasync and syncfs; both: those two).
 * DIR defaults to a fresh directory under /var/tmp, removed afterwards.
 * This is a measurement, never run by ctest; it never sleeps to pace itself.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "log/log.h"
#include "store/store.h"
#include "sxp.h"

/* The store logs through xend's log; here failures go to stderr. */
void xend_log_vemit(const char *source, enum xend_log_level level, const char *event,
                    const char *fmt, va_list ap)
{
    (void)source;
    if (level > XEND_LOG_WARN)
        return;
    fprintf(stderr, "%s ", event);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void xend_log_emit(const char *source, enum xend_log_level level, const char *event,
                   const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    xend_log_vemit(source, level, event, fmt, ap);
    va_end(ap);
}

/* --- the stand-in loop: a queue of posted functions run by main --------------------- */

struct posted {
    struct posted *next;
    xend_work_fn *fn;
    void *arg;
};

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cond = PTHREAD_COND_INITIALIZER;
static struct posted *q_head, *q_tail;

static int post(void *ctx, xend_work_fn *fn, void *arg)
{
    (void)ctx;
    struct posted *p = malloc(sizeof(*p));
    if (p == NULL)
        return -XEND_ENOMEM;
    *p = (struct posted){NULL, fn, arg};
    pthread_mutex_lock(&q_lock);
    if (q_tail)
        q_tail->next = p;
    else
        q_head = p;
    q_tail = p;
    pthread_cond_signal(&q_cond);
    pthread_mutex_unlock(&q_lock);
    return 0;
}

/* CPU seconds (user + system) of the whole process, and its context switches. */
struct cpu {
    double user, sys;
    long vcsw, ivcsw;
};

static struct cpu cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (struct cpu){(double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
                        (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6, ru.ru_nvcsw,
                        ru.ru_nivcsw};
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- clients ------------------------------------------------------------------------ */

struct run {
    struct xend_store *store;
    struct xend_sxp **records; /* one per client */
    bool churn;
    int run_id; /* with the pid, keeps churn keys unique across runs in one directory */
    bool stopping;
    unsigned long long done, failed; /* records (rewrite) or creates (churn) */
    unsigned long long ops;          /* store operations that completed */
    unsigned in_flight;
};

struct client {
    struct run *run;
    char key[48];
    char prev[48]; /* churn: the key created in the previous cycle */
    int idx;
    unsigned long long seq; /* churn: creates so far */
    int step;               /* churn: 0 intent put, 1 live put, 2 delete of prev */
};

static void op_next(struct client *c);

static void on_done(void *arg, int rc)
{
    struct client *c = arg;
    struct run *r = c->run;
    r->in_flight--;
    r->ops++;
    if (rc != 0)
        r->failed++;
    if (!r->churn) {
        r->done += rc == 0;
    } else if (c->step == 0) {
        c->step = 1;
    } else if (c->step == 1) {
        r->done += rc == 0;
        c->step = c->seq % 2 == 1 ? 2 : 0; /* every second create deletes the one before */
        if (c->step == 0) {
            memcpy(c->prev, c->key, sizeof(c->prev));
            c->seq++;
        }
    } else {
        c->step = 0;
        c->seq++;
    }
    if (!r->stopping)
        op_next(c);
}

static void op_next(struct client *c)
{
    struct xend_err err = {0};
    struct run *r = c->run;
    int rc;
    if (r->churn && c->step == 0)
        snprintf(c->key, sizeof(c->key), "p%ld-r%d-c%d-%llu", (long)getpid(), r->run_id, c->idx,
                 c->seq);
    if (r->churn && c->step == 2)
        rc = xend_store_del(r->store, "domain", c->prev, on_done, c, &err);
    else
        rc = xend_store_put(r->store, "domain", c->key, r->records[c->idx], on_done, c, &err);
    if (rc != 0) {
        fprintf(stderr, "store: %s\n", xend_err_msg(&err));
        exit(1);
    }
    r->in_flight++;
}

static struct xend_sxp *domain_record(int i)
{
    char name[32];
    snprintf(name, sizeof(name), "bench-vm-%d", i);
    struct xend_sxp *vm = xend_sxp_list_of("vm", NULL);
    xend_sxp_add_kv(vm, "name", name);
    xend_sxp_add_kv_int(vm, "memory", 128);
    xend_sxp_add_kv(vm, "restart", "onreboot");
    struct xend_sxp *image = xend_sxp_list_of("linux", NULL);
    xend_sxp_add_kv(image, "kernel", "/boot/vmlinuz-2.6.9-xenU");
    xend_sxp_add_kv(image, "root", "/dev/sda1 ro");
    xend_sxp_add_kv(image, "args", "console=ttyS0 quiet");
    xend_sxp_add_kv_take(vm, "image", image);
    struct xend_sxp *vbd = xend_sxp_list_of("vbd", NULL);
    xend_sxp_add_kv(vbd, "uname", "file:/var/img/bench.img");
    xend_sxp_add_kv(vbd, "dev", "sda1");
    xend_sxp_add_kv(vbd, "mode", "w");
    xend_sxp_add_kv_take(vm, "device", vbd);
    struct xend_sxp *vif = xend_sxp_list_of("vif", NULL);
    xend_sxp_add_kv(vif, "mac", "aa:00:00:12:34:56");
    xend_sxp_add_kv(vif, "bridge", "xen-br0");
    xend_sxp_add_kv_take(vm, "device", vif);

    struct xend_sxp *dom = xend_sxp_list_of("domain", NULL);
    xend_sxp_add_kv_int(dom, "id", i + 1);
    xend_sxp_add_kv(dom, "name", name);
    xend_sxp_add_kv_int(dom, "memory", 128);
    xend_sxp_add_kv(dom, "state", "-b---");
    xend_sxp_add_kv(dom, "cpu_time", "12.5");
    xend_sxp_add_kv(dom, "start_time", "1101234567.8");
    xend_sxp_add_kv_take(dom, "devices", xend_sxp_list());
    xend_sxp_add_kv_take(dom, "config", vm);
    return dom;
}

static double bench_one(const char *dir, enum xend_store_sync_mode mode, bool churn, int clients,
                        double seconds)
{
    static int runs;
    struct xend_err err = {0};
    struct run run = {.churn = churn, .run_id = runs++};
    run.store = xend_store_open(dir, post, NULL, &err);
    if (run.store == NULL) {
        fprintf(stderr, "%s\n", xend_err_msg(&err));
        exit(1);
    }
    xend_store_set_sync_mode(run.store, mode);
    struct client *cl = calloc((size_t)clients, sizeof(*cl));
    run.records = calloc((size_t)clients, sizeof(*run.records));
    for (int i = 0; i < clients; i++) {
        cl[i].run = &run;
        cl[i].idx = i;
        snprintf(cl[i].key, sizeof(cl[i].key), "bench-%d", i);
        run.records[i] = domain_record(i);
    }
    struct xend_store_stats st0, st1;
    xend_store_stats(run.store, &st0);

    struct cpu c0 = cpu_now(), c1 = c0;
    double t0 = now_s(), end = t0 + seconds;
    for (int i = 0; i < clients; i++)
        op_next(&cl[i]);
    unsigned long long done_at_end = 0, ops_at_end = 0;
    double t_end = 0;
    pthread_mutex_lock(&q_lock);
    while (run.in_flight > 0) {
        while (q_head == NULL)
            pthread_cond_wait(&q_cond, &q_lock);
        struct posted *p = q_head;
        q_head = p->next;
        if (q_head == NULL)
            q_tail = NULL;
        pthread_mutex_unlock(&q_lock);
        p->fn(p->arg);
        free(p);
        if (!run.stopping && now_s() >= end) {
            run.stopping = true;
            t_end = now_s();
            done_at_end = run.done;
            ops_at_end = run.ops;
            c1 = cpu_now();
        }
        pthread_mutex_lock(&q_lock);
    }
    pthread_mutex_unlock(&q_lock);
    xend_store_stats(run.store, &st1);
    xend_store_close(run.store);

    double rate = (double)done_at_end / (t_end - t0);
    unsigned long long batches = st1.batches - st0.batches;
    const char *mname = mode == XEND_STORE_SYNC_SYNCFS ? "syncfs"
                        : mode == XEND_STORE_SYNC_AUTO ? "auto"
                                                       : "fdatasync";
    double avg = batches ? (double)(st1.records - st0.records) / batches : 0;
    /* Per store operation (a record written or removed): what the store costs the host. */
    double n_ops = ops_at_end ? (double)ops_at_end : 1;
    char cpu[256];
    snprintf(cpu, sizeof(cpu),
             "cpu_us/op=%.1f (usr %.1f sys %.1f) csw/op=%.2f helpers/batch=%.1f inline=%llu "
             "syncfs=%llu fdatasync_us=%.0f",
             (c1.user + c1.sys - c0.user - c0.sys) * 1e6 / n_ops, (c1.user - c0.user) * 1e6 / n_ops,
             (c1.sys - c0.sys) * 1e6 / n_ops, (double)(c1.vcsw - c0.vcsw) / n_ops,
             batches ? (double)(st1.sync_wakeups - st0.sync_wakeups) / (double)batches : 0,
             st1.sync_inline - st0.sync_inline, st1.sync_syncfs - st0.sync_syncfs,
             (double)st1.sync_ns / 1e3);
    if (churn)
        printf("churn   %-9s clients=%-4d creates=%-7llu seconds=%.2f durable_creates/s=%-7.0f "
               "ops/s=%-7.0f batches=%llu avg_batch=%.1f failed=%llu files_created=%llu+%llu %s\n",
               mname, clients, run.done, t_end - t0, rate, (double)ops_at_end / (t_end - t0),
               batches, avg, run.failed, st1.spare_misses - st0.spare_misses,
               st1.spares_created - st0.spares_created, cpu);
    else
        printf("rewrite %-9s clients=%-4d records=%-7llu seconds=%.2f durable_records/s=%-8.0f "
               "batches=%llu avg_batch=%.1f failed=%llu %s\n",
               mname, clients, run.done, t_end - t0, rate, batches, avg, run.failed, cpu);
    fflush(stdout);
    for (int i = 0; i < clients; i++)
        xend_sxp_free(run.records[i]);
    free(run.records);
    free(cl);
    return rate;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench-store [-c CLIENTS[,CLIENTS...]] [-t SECONDS] "
                    "[-m auto|fdatasync|syncfs|both|all] [-w rewrite|churn|both] [-d DIR]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *clients_arg = "1,4,16,64,256", *mode_arg = "all", *dir_arg = NULL;
    const char *work_arg = "both";
    double seconds = 3;
    for (int o; (o = getopt(argc, argv, "c:t:m:w:d:h")) != -1;) {
        switch (o) {
        case 'c':
            clients_arg = optarg;
            break;
        case 't':
            seconds = atof(optarg);
            break;
        case 'm':
            mode_arg = optarg;
            break;
        case 'w':
            work_arg = optarg;
            break;
        case 'd':
            dir_arg = optarg;
            break;
        default:
            usage();
        }
    }
    static const char *const modes[] = {"auto", "fdatasync", "syncfs"};
    static const enum xend_store_sync_mode mode_of[] = {
        XEND_STORE_SYNC_AUTO, XEND_STORE_SYNC_FDATASYNC, XEND_STORE_SYNC_SYNCFS};
    bool known = strcmp(mode_arg, "both") == 0 || strcmp(mode_arg, "all") == 0;
    for (int m = 0; m < 3; m++)
        known = known || strcmp(mode_arg, modes[m]) == 0;
    if (seconds <= 0 || !known)
        usage();
    if (strcmp(work_arg, "both") != 0 && strcmp(work_arg, "rewrite") != 0 &&
        strcmp(work_arg, "churn") != 0)
        usage();

    char tmpdir[] = "/var/tmp/bench-store.XXXXXX";
    const char *dir = dir_arg;
    if (dir == NULL) {
        if (mkdtemp(tmpdir) == NULL) {
            perror("mkdtemp");
            return 1;
        }
        dir = tmpdir;
    }
    printf("bench-store: dir=%s seconds=%.1f\n", dir, seconds);
    for (int w = 0; w < 2; w++) {
        const char *wname = w ? "churn" : "rewrite";
        if (strcmp(work_arg, "both") != 0 && strcmp(work_arg, wname) != 0)
            continue;
        for (int m = 0; m < 3; m++) {
            enum xend_store_sync_mode mode = mode_of[m];
            const char *name = modes[m];
            bool want = strcmp(mode_arg, name) == 0 || strcmp(mode_arg, "all") == 0 ||
                        (strcmp(mode_arg, "both") == 0 && m > 0); /* both: the two fixed ones */
            if (!want)
                continue;
            char *list = strdup(clients_arg);
            for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
                int c = atoi(tok);
                if (c < 1)
                    usage();
                bench_one(dir, mode, w == 1, c, seconds);
            }
            free(list);
        }
    }
    if (dir_arg == NULL) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmpdir);
    }
    return 0;
}
