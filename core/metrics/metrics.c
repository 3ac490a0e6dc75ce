/*
 * Counters and histograms (metrics.h). Fixed tables: a few dozen ops and status codes,
 * three kinds of histogram; nothing grows with traffic.
 */
#include "metrics/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define MAX_CODES 64u

/* Upper bounds of the buckets (+Inf implied). */
static const double op_bounds[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                   0.5,   1,     2.5,  5,     10,   30,  60};
static const double commit_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                       0.05,   0.1,   0.25,   0.5,   1,    2.5};
static const double batch_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};

#define NB(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_BOUNDS 16u

struct hist {
    unsigned long long buckets[MAX_BOUNDS]; /* not cumulative; the last one is +Inf */
    unsigned long long count;
    double sum;
};

struct op {
    char name[32];
    unsigned long long ok, error;
    struct hist latency;
};

struct code {
    int method; /* 0 GET, 1 POST, 2 other */
    int status;
    unsigned long long n;
};

static struct {
    pthread_mutex_t lock;
    struct op ops[XEND_METRICS_MAX_OPS + 1]; /* the last one is "other" */
    size_t nops;
    struct code codes[MAX_CODES];
    size_t ncodes;
    struct hist commit, batch;
} m = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void observe(struct hist *h, const double *bounds, size_t n, double v)
{
    size_t i = 0;
    while (i < n && v > bounds[i])
        i++;
    h->buckets[i]++;
    h->count++;
    h->sum += v;
}

static struct op *op_slot(const char *name)
{
    for (size_t i = 0; i < m.nops; i++)
        if (strcmp(m.ops[i].name, name) == 0)
            return &m.ops[i];
    if (m.nops < XEND_METRICS_MAX_OPS && strlen(name) < sizeof(m.ops[0].name)) {
        struct op *o = &m.ops[m.nops++];
        snprintf(o->name, sizeof(o->name), "%s", name);
        return o;
    }
    struct op *o = &m.ops[XEND_METRICS_MAX_OPS];
    snprintf(o->name, sizeof(o->name), "other");
    return o;
}

void xend_metrics_op_done(const char *op, bool ok, uint64_t ns)
{
    pthread_mutex_lock(&m.lock);
    struct op *o = op_slot(op != NULL ? op : "-");
    if (ok)
        o->ok++;
    else
        o->error++;
    observe(&o->latency, op_bounds, NB(op_bounds), (double)ns / 1e9);
    pthread_mutex_unlock(&m.lock);
}

void xend_metrics_http_request(const char *method, int status)
{
    int mi = method != NULL && strcmp(method, "GET") == 0    ? 0
             : method != NULL && strcmp(method, "POST") == 0 ? 1
                                                             : 2;
    pthread_mutex_lock(&m.lock);
    size_t i = 0;
    while (i < m.ncodes && (m.codes[i].method != mi || m.codes[i].status != status))
        i++;
    if (i == m.ncodes && m.ncodes < MAX_CODES)
        m.codes[m.ncodes++] = (struct code){mi, status, 0};
    if (i < m.ncodes)
        m.codes[i].n++;
    pthread_mutex_unlock(&m.lock);
}

void xend_metrics_store_commit(uint64_t ns, size_t records)
{
    pthread_mutex_lock(&m.lock);
    observe(&m.commit, commit_bounds, NB(commit_bounds), (double)ns / 1e9);
    observe(&m.batch, batch_bounds, NB(batch_bounds), (double)records);
    pthread_mutex_unlock(&m.lock);
}

void xend_metrics_label_escape(const char *text, struct xend_buf *out)
{
    for (const char *p = text; *p != '\0'; p++) {
        if (*p == '\\')
            xend_buf_puts(out, "\\\\");
        else if (*p == '"')
            xend_buf_puts(out, "\\\"");
        else if (*p == '\n')
            xend_buf_puts(out, "\\n");
        else
            xend_buf_putc(out, *p);
    }
}

void xend_metrics_family(struct xend_buf *out, const char *name, const char *type, const char *help)
{
    xend_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void put_value(struct xend_buf *out, double v)
{
    if (isinf(v))
        xend_buf_puts(out, v > 0 ? "+Inf" : "-Inf");
    else if (v == (double)(long long)v && fabs(v) < 9e15)
        xend_buf_printf(out, "%lld", (long long)v);
    else
        xend_buf_printf(out, "%.9g", v);
}

void xend_metrics_sample(struct xend_buf *out, const char *name, const char *labels, double value)
{
    xend_buf_puts(out, name);
    if (labels != NULL && *labels != '\0')
        xend_buf_printf(out, "{%s}", labels);
    xend_buf_putc(out, ' ');
    put_value(out, value);
    xend_buf_putc(out, '\n');
}

/* The _bucket, _sum and _count lines of one histogram; labels may be empty. */
static void render_hist(struct xend_buf *out, const char *name, const char *labels,
                        const struct hist *h, const double *bounds, size_t n)
{
    unsigned long long cum = 0;
    for (size_t i = 0; i <= n; i++) {
        cum += h->buckets[i];
        xend_buf_printf(out, "%s_bucket{%s%sle=\"", name, labels, *labels ? "," : "");
        if (i < n)
            put_value(out, bounds[i]);
        else
            xend_buf_puts(out, "+Inf");
        xend_buf_printf(out, "\"} %llu\n", cum);
    }
    xend_buf_printf(out, "%s_sum", name);
    if (*labels)
        xend_buf_printf(out, "{%s}", labels);
    xend_buf_putc(out, ' ');
    put_value(out, h->sum);
    xend_buf_printf(out, "\n%s_count", name);
    if (*labels)
        xend_buf_printf(out, "{%s}", labels);
    xend_buf_printf(out, " %llu\n", h->count);
}

void xend_metrics_render(struct xend_buf *out)
{
    static const char *const methods[] = {"GET", "POST", "other"};
    struct xend_buf l = XEND_BUF_INIT;
    pthread_mutex_lock(&m.lock);
    size_t nops = m.nops + (m.ops[XEND_METRICS_MAX_OPS].name[0] != '\0');
    xend_metrics_family(out, "xend_operations_total", "counter",
                        "Operations (state-changing requests, op=NAME) answered, by result.");
    for (size_t k = 0; k < nops; k++) {
        const struct op *o = k < m.nops ? &m.ops[k] : &m.ops[XEND_METRICS_MAX_OPS];
        for (int r = 0; r < 2; r++) {
            xend_buf_reset(&l);
            xend_buf_puts(&l, "op=\"");
            xend_metrics_label_escape(o->name, &l);
            xend_buf_puts(&l, r == 0 ? "\",result=\"ok\"" : "\",result=\"error\"");
            xend_metrics_sample(out, "xend_operations_total", xend_buf_str(&l),
                                (double)(r == 0 ? o->ok : o->error));
        }
    }
    xend_metrics_family(out, "xend_operation_duration_seconds", "histogram",
                        "Time from an operation's arrival to its reply.");
    for (size_t k = 0; k < nops; k++) {
        const struct op *o = k < m.nops ? &m.ops[k] : &m.ops[XEND_METRICS_MAX_OPS];
        xend_buf_reset(&l);
        xend_buf_puts(&l, "op=\"");
        xend_metrics_label_escape(o->name, &l);
        xend_buf_putc(&l, '"');
        render_hist(out, "xend_operation_duration_seconds", xend_buf_str(&l), &o->latency,
                    op_bounds, NB(op_bounds));
    }
    xend_metrics_family(out, "xend_http_requests_total", "counter",
                        "HTTP requests answered, by method and status code.");
    for (size_t i = 0; i < m.ncodes; i++) {
        xend_buf_reset(&l);
        xend_buf_printf(&l, "method=\"%s\",code=\"%d\"", methods[m.codes[i].method],
                        m.codes[i].status);
        xend_metrics_sample(out, "xend_http_requests_total", xend_buf_str(&l),
                            (double)m.codes[i].n);
    }
    xend_metrics_family(out, "xend_store_commit_duration_seconds", "histogram",
                        "Time to make one batch of store records durable.");
    render_hist(out, "xend_store_commit_duration_seconds", "", &m.commit, commit_bounds,
                NB(commit_bounds));
    xend_metrics_family(out, "xend_store_batch_records", "histogram",
                        "Records made durable together in one store batch.");
    render_hist(out, "xend_store_batch_records", "", &m.batch, batch_bounds, NB(batch_bounds));
    pthread_mutex_unlock(&m.lock);
    xend_buf_free(&l);
}

void xend_metrics_reset(void)
{
    pthread_mutex_lock(&m.lock);
    memset(m.ops, 0, sizeof(m.ops));
    memset(m.codes, 0, sizeof(m.codes));
    m.nops = m.ncodes = 0;
    memset(&m.commit, 0, sizeof(m.commit));
    memset(&m.batch, 0, sizeof(m.batch));
    pthread_mutex_unlock(&m.lock);
}
