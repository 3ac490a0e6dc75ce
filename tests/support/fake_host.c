/*
 * The fake host table for plugin unit tests (see fake_host.h). Simple and explicit rather
 * than fast: linear lists everywhere, one poll() loop, children waited for on the loop.
 */
#include "fake_host.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "sxp.h"

#define MAXN 256

struct xend_plugin {
    char name[64];
    char err[256];
};

struct xend_domain {
    uint32_t id;
    char name[64];
    struct xend_sxp *config;
    uint32_t flags;
    void *priv;
    xend_priv_free_fn *priv_free;
    bool live;
};

struct xend_device {
    struct xend_domain *dom;
    char cls[32];
    uint32_t index;
    struct xend_sxp *config;
    void *priv;
};

struct xend_op {
    bool done;
    int rc;
    struct xend_err err;
};

struct xend_request {
    const char *const *args;
    const char *const *captures;
    struct xend_domain *dom;
    struct xend_err err;
    struct fake_reply *out;
    bool deferred;
    struct xend_sxp *sxp_args[16];
    size_t nsxp;
    struct xend_sxp *reply;
    int status;
    bool gone; /* the client of a stream went (fake_host_stream_close) */
    void (*on_close)(struct xend_request *req, void *arg);
    void *on_close_arg;
};

struct xend_watch {
    int fd;
    uint32_t events;
    xend_watch_fn *fn;
    void *arg;
    bool dead;
};

struct xend_timer {
    uint64_t due, period;
    xend_timer_fn *fn;
    void *arg;
    bool dead;
};

struct child {
    pid_t pid;
    int fd;
    struct xend_buf out;
    uint64_t deadline;
    bool timed_out;
    xend_spawn_fn *done;
    void *arg;
};

struct posted {
    xend_work_fn *fn;
    void *arg;
};

struct hook {
    enum xend_hook_point point;
    xend_hook_fn *fn;
    void *arg;
};

static struct {
    struct xend_plugin self;
    struct xend_host host;
    char *cfg_keys[MAXN], *cfg_vals[MAXN];
    size_t ncfg;
    char dirs[3][256];
    char last_log[1024];
    struct xend_buf all_log;
    struct xend_domain *doms[MAXN];
    size_t ndoms;
    struct xend_device *devs[MAXN];
    size_t ndevs;
    struct xend_route routes[MAXN];
    size_t nroutes;
    struct hook hooks[MAXN];
    size_t nhooks;
    struct {
        xend_describe_fn *fn;
        xend_describe_print_fn *print;
        void *arg;
    } describers[32];
    size_t ndescribers;
    size_t describe_changed; /* calls of host->domain->describe_changed */
    struct {
        const struct xend_device_ops *ops;
        void *ctx;
    } classes[16];
    size_t nclasses;
    struct {
        const struct xend_sched_ops *ops;
        void *ctx;
    } scheds[16];
    size_t nscheds;
    struct {
        const struct xend_backend_ops *ops;
        void *ctx;
    } backends[8];
    size_t nbackends;
    const struct xend_backend_ops *hv_ops;
    void *hv_ctx;
    struct xend_watch *watches[MAXN];
    size_t nwatches;
    struct xend_timer *timers[MAXN];
    size_t ntimers;
    struct child *children[64];
    size_t nchildren;
    struct posted posted[MAXN];
    size_t nposted;
    char *store_keys[MAXN];
    struct xend_sxp *store_vals[MAXN];
    size_t nstore;
    char *ev_names[1024];
    char *ev_vals[1024];
    size_t nev;
    struct {
        char *pattern;
        xend_event_fn *fn;
        void *arg;
    } subs[32];
    size_t nsubs;
    char access_refusal[256]; /* non-empty: access->peer_check refuses with it */
    int caller_role;          /* what http->caller_role answers (enum xend_role) */
    size_t stream_backlog;    /* what http->stream_backlog answers for a live stream */
    size_t access_checks;
} F;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static double wall_time(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- log ---- */
static void log_emit(struct xend_plugin *self, enum xend_log_level level, const char *event,
                     const char *fmt, ...)
{
    char fields[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fields, sizeof(fields), fmt, ap);
    va_end(ap);
    snprintf(F.last_log, sizeof(F.last_log), "L%d %s %s plugin=%s", (int)level, event, fields,
             self ? self->name : "?");
    xend_buf_puts(&F.all_log, F.last_log);
    xend_buf_putc(&F.all_log, '\n');
    if (getenv("FAKE_HOST_LOG"))
        fprintf(stderr, "%s\n", F.last_log);
}

const char *fake_host_last_log(void)
{
    return F.last_log;
}

bool fake_host_log_contains(const char *needle)
{
    return strstr(xend_buf_str(&F.all_log), needle) != NULL;
}

static const struct xend_host_log log_table = {.size = sizeof(log_table), .emit = log_emit};

/* ---- config ---- */
void fake_host_config_set(const char *key, const char *value)
{
    for (size_t i = 0; i < F.ncfg; i++)
        if (strcmp(F.cfg_keys[i], key) == 0) {
            free(F.cfg_vals[i]);
            F.cfg_vals[i] = xend_xstrdup(value);
            return;
        }
    F.cfg_keys[F.ncfg] = xend_xstrdup(key);
    F.cfg_vals[F.ncfg++] = xend_xstrdup(value);
}

static const char *cfg_find(const char *key)
{
    for (size_t i = 0; i < F.ncfg; i++)
        if (strcmp(F.cfg_keys[i], key) == 0)
            return F.cfg_vals[i];
    return NULL;
}

static int cfg_str(struct xend_plugin *self, const char *key, const char *dflt, const char **out,
                   struct xend_err *err)
{
    (void)self;
    (void)err;
    const char *v = cfg_find(key);
    *out = v ? v : dflt;
    return 0;
}

static int cfg_int(struct xend_plugin *self, const char *key, long long dflt, long long min,
                   long long max, long long *out, struct xend_err *err)
{
    (void)self;
    const char *v = cfg_find(key);
    if (v == NULL) {
        *out = dflt;
        return 0;
    }
    long long x;
    if (!xend_sxp_text_int(v, &x) || x < min || x > max)
        return xend_err_set(err, XEND_EINVAL,
                            "test.conf:1: setting '%s' must be an integer between %lld and %lld",
                            key, min, max);
    *out = x;
    return 0;
}

static int cfg_bool(struct xend_plugin *self, const char *key, bool dflt, bool *out,
                    struct xend_err *err)
{
    (void)self;
    const char *v = cfg_find(key);
    if (v == NULL) {
        *out = dflt;
        return 0;
    }
    if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "1"))
        *out = true;
    else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off") || !strcmp(v, "0"))
        *out = false;
    else
        return xend_err_set(err, XEND_EINVAL, "test.conf:1: setting '%s' must be a boolean", key);
    return 0;
}

void fake_host_dir_set(const char *which, const char *path)
{
    int i = !strcmp(which, "state") ? 0 : !strcmp(which, "script") ? 1 : 2;
    snprintf(F.dirs[i], sizeof(F.dirs[i]), "%s", path);
}

static const char *cfg_dir(const char *which)
{
    int i = !strcmp(which, "state") ? 0 : !strcmp(which, "script") ? 1 : 2;
    return F.dirs[i];
}

static const struct xend_host_config config_table = {
    .size = sizeof(config_table),
    .get_str = cfg_str,
    .get_int = cfg_int,
    .get_bool = cfg_bool,
    .dir = cfg_dir,
};

/* ---- http ---- */
static int route_add(struct xend_plugin *self, const struct xend_route *r)
{
    (void)self;
    for (size_t i = 0; i < F.nroutes; i++) {
        const struct xend_route *o = &F.routes[i];
        if ((o->methods & r->methods) && !strcmp(o->path, r->path) &&
            ((o->op == NULL && r->op == NULL) || (o->op && r->op && !strcmp(o->op, r->op))))
            return -XEND_EEXIST;
    }
    F.routes[F.nroutes++] = *r;
    return 0;
}

static int route_remove(struct xend_plugin *self, const struct xend_route *r)
{
    (void)self;
    for (size_t i = 0; i < F.nroutes; i++)
        if (F.routes[i].fn == r->fn && !strcmp(F.routes[i].path, r->path)) {
            F.routes[i] = F.routes[--F.nroutes];
            return 0;
        }
    return -XEND_ENOENT;
}

static struct xend_err *req_err(struct xend_request *req)
{
    return &req->err;
}

static const char *kv_find(const char *const *kv, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; kv && kv[i]; i++)
        if (!strncmp(kv[i], name, n) && kv[i][n] == '=')
            return kv[i] + n + 1;
    return NULL;
}

static const char *req_arg(struct xend_request *req, const char *name)
{
    return kv_find(req->args, name);
}

static int req_arg_int(struct xend_request *req, const char *name, long long *out)
{
    const char *v = req_arg(req, name);
    if (v == NULL)
        return xend_err_set(&req->err, XEND_EINVAL, "Missing parameter: %s", name);
    if (!xend_sxp_text_int(v, out))
        return xend_err_set(&req->err, XEND_EINVAL, "invalid literal for int() with base 10: '%s'",
                            v);
    return 0;
}

static int req_arg_int_opt(struct xend_request *req, const char *name, long long dflt,
                           long long *out)
{
    if (req_arg(req, name) == NULL) {
        *out = dflt;
        return 0;
    }
    return req_arg_int(req, name, out);
}

static int req_arg_sxp(struct xend_request *req, const char *name, const struct xend_sxp **out)
{
    const char *v = req_arg(req, name);
    if (v == NULL)
        return xend_err_set(&req->err, XEND_EINVAL, "Missing parameter: %s", name);
    char msg[256];
    struct xend_sxp *s;
    int rc = xend_sxp_parse(v, strlen(v), NULL, &s, msg, sizeof(msg));
    if (rc < 0)
        return xend_err_set(&req->err, -rc, "%s", msg);
    req->sxp_args[req->nsxp++] = s;
    *out = s;
    return 0;
}

static const char *req_capture(struct xend_request *req, const char *name)
{
    return kv_find(req->captures, name);
}

static struct xend_domain *req_domain(struct xend_request *req)
{
    return req->dom;
}

static bool req_wants_html(struct xend_request *req)
{
    (void)req;
    return false;
}

static const char *req_peer(struct xend_request *req)
{
    (void)req;
    return "127.0.0.1";
}

static void req_reply_take(struct xend_request *req, int status, struct xend_sxp *value)
{
    xend_sxp_free(req->reply);
    req->reply = value;
    req->status = status;
}

static void req_reply_raw(struct xend_request *req, int status, const char *ct, const char *body,
                          size_t len)
{
    (void)ct;
    xend_sxp_free(req->reply);
    req->reply = xend_sxp_atom_len(body, len);
    req->status = status;
}

static void req_reply_header(struct xend_request *req, const char *name, const char *value)
{
    (void)req;
    (void)name;
    (void)value;
}

static void req_finish(struct xend_request *req, int rc)
{
    struct fake_reply *out = req->out;
    out->rc = rc;
    out->status = req->status;
    out->deferred_pending = false;
    if (rc < 0) {
        out->error = xend_xstrdup(xend_err_msg(&req->err));
    } else if (req->reply) {
        const char *t = xend_sxp_atom_text(req->reply);
        out->body = t ? xend_xstrdup(t) : xend_sxp_print(req->reply);
    } else {
        out->body = xend_xstrdup("0");
    }
    for (size_t i = 0; i < req->nsxp; i++)
        xend_sxp_free(req->sxp_args[i]);
    xend_sxp_free(req->reply);
    free(req);
}

static void req_defer(struct xend_request *req)
{
    req->deferred = true;
}

static void req_complete(struct xend_request *req, int rc)
{
    req_finish(req, rc);
}

static int req_caller_role(struct xend_request *req)
{
    (void)req;
    return F.caller_role;
}

/* Streams: what is written collects in out->stream; stream_end finishes the request. */
static int req_stream_begin(struct xend_request *req, const char *ct)
{
    (void)ct;
    req->deferred = true;
    req->out->streaming = req;
    return 0;
}

static int req_stream_write(struct xend_request *req, const char *data, size_t len)
{
    if (req->gone)
        return -XEND_EIO;
    struct fake_reply *out = req->out;
    out->stream = xend_xrealloc(out->stream, out->stream_len + len + 1);
    memcpy(out->stream + out->stream_len, data, len);
    out->stream_len += len;
    out->stream[out->stream_len] = '\0';
    return 0;
}

static void req_stream_end(struct xend_request *req)
{
    req->out->streaming = NULL;
    req_finish(req, 0);
}

static size_t req_stream_backlog(struct xend_request *req)
{
    return req->gone ? 0 : F.stream_backlog;
}

static void req_stream_on_close(struct xend_request *req,
                                void (*fn)(struct xend_request *req, void *arg), void *arg)
{
    req->on_close = fn;
    req->on_close_arg = arg;
}

void fake_host_stream_close(struct fake_reply *out)
{
    struct xend_request *req = out->streaming;
    if (req == NULL || req->gone)
        return;
    req->gone = true;
    if (req->on_close)
        req->on_close(req, req->on_close_arg);
}

void fake_host_stream_backlog_set(size_t bytes)
{
    F.stream_backlog = bytes;
}

static const char *req_form_token(struct xend_request *req, const char **field)
{
    (void)req;
    *field = "xend_csrf";
    return "faketoken";
}

static const struct xend_host_http http_table = {
    .size = sizeof(http_table),
    .route_add = route_add,
    .route_remove = route_remove,
    .err = req_err,
    .arg_str = req_arg,
    .arg_int = req_arg_int,
    .arg_int_opt = req_arg_int_opt,
    .arg_sxp = req_arg_sxp,
    .capture = req_capture,
    .domain = req_domain,
    .wants_html = req_wants_html,
    .peer = req_peer,
    .reply_take = req_reply_take,
    .reply_raw = req_reply_raw,
    .reply_header = req_reply_header,
    .defer = req_defer,
    .complete = req_complete,
    .caller_role = req_caller_role,
    .stream_begin = req_stream_begin,
    .stream_write = req_stream_write,
    .stream_end = req_stream_end,
    .stream_backlog = req_stream_backlog,
    .stream_on_close = req_stream_on_close,
    .form_token = req_form_token,
};

const struct xend_route *fake_host_route(const char *method, const char *path, const char *op)
{
    uint32_t m = !strcmp(method, "GET") ? XEND_HTTP_GET : XEND_HTTP_POST;
    for (size_t i = 0; i < F.nroutes; i++) {
        const struct xend_route *r = &F.routes[i];
        if ((r->methods & m) && !strcmp(r->path, path) &&
            ((op == NULL && r->op == NULL) || (op && r->op && !strcmp(op, r->op))))
            return r;
    }
    return NULL;
}

size_t fake_host_route_count(void)
{
    return F.nroutes;
}

int fake_host_request(const char *method, const char *path, const char *op, struct xend_domain *dom,
                      const char *const *captures, const char *const *args, struct fake_reply *out)
{
    memset(out, 0, sizeof(*out));
    const struct xend_route *r = fake_host_route(method, path, op);
    if (r == NULL) {
        out->rc = -XEND_ENOENT;
        out->error = xend_xstrdup("no such route");
        return out->rc;
    }
    struct xend_request *req = xend_xcalloc(1, sizeof(*req));
    req->args = args;
    req->captures = captures;
    req->dom = dom;
    req->out = out;
    int rc = r->fn(req, r->arg);
    if (req->deferred && rc == 0) {
        out->deferred_pending = true;
        return 0;
    }
    req_finish(req, rc);
    return rc;
}

static bool reply_done(void *arg)
{
    return !((struct fake_reply *)arg)->deferred_pending;
}

bool fake_host_request_wait(struct fake_reply *out, int timeout_ms)
{
    return fake_host_loop_until(reply_done, out, timeout_ms);
}

void fake_reply_free(struct fake_reply *r)
{
    free(r->body);
    free(r->error);
    free(r->stream);
    r->body = r->error = r->stream = NULL;
}

/* ---- domains ---- */
static int hook_add(struct xend_plugin *self, enum xend_hook_point p, xend_hook_fn *fn, void *arg)
{
    (void)self;
    F.hooks[F.nhooks++] = (struct hook){p, fn, arg};
    return 0;
}

static int hook_remove(struct xend_plugin *self, enum xend_hook_point p, xend_hook_fn *fn,
                       void *arg)
{
    (void)self;
    for (size_t i = 0; i < F.nhooks; i++)
        if (F.hooks[i].point == p && F.hooks[i].fn == fn && F.hooks[i].arg == arg) {
            memmove(&F.hooks[i], &F.hooks[i + 1], (F.nhooks - i - 1) * sizeof(F.hooks[0]));
            F.nhooks--;
            return 0;
        }
    return -XEND_ENOENT;
}

static int describe_add(struct xend_plugin *self, xend_describe_fn *fn, void *arg)
{
    (void)self;
    F.describers[F.ndescribers].fn = fn;
    F.describers[F.ndescribers].print = NULL;
    F.describers[F.ndescribers++].arg = arg;
    return 0;
}

static int describe_print_add(struct xend_plugin *self, xend_describe_print_fn *fn, void *arg)
{
    (void)self;
    F.describers[F.ndescribers].fn = NULL;
    F.describers[F.ndescribers].print = fn;
    F.describers[F.ndescribers++].arg = arg;
    return 0;
}

/* Kept or not, the fake prints every describer at every info; it counts what the plugin
 * says changed. */
static void describe_changed(struct xend_domain *dom)
{
    (void)dom;
    F.describe_changed++;
}

static struct xend_domain *dom_lookup(const char *s)
{
    for (size_t i = 0; i < F.ndoms; i++)
        if (!strcmp(F.doms[i]->name, s))
            return F.doms[i];
    long long id;
    if (xend_sxp_text_int(s, &id))
        for (size_t i = 0; i < F.ndoms; i++)
            if (F.doms[i]->id == id)
                return F.doms[i];
    return NULL;
}

static void dom_foreach(xend_domain_fn *fn, void *arg)
{
    for (size_t i = 0; i < F.ndoms; i++)
        fn(F.doms[i], arg);
}

static uint32_t dom_id(const struct xend_domain *d)
{
    return d->id;
}

static const char *dom_name(const struct xend_domain *d)
{
    return d->name;
}

static const struct xend_sxp *dom_config(const struct xend_domain *d)
{
    return d->config;
}

static int dom_config_set_take(struct xend_domain *d, const char *key, struct xend_sxp *value,
                               struct xend_err *err)
{
    (void)err;
    if (d->config == NULL)
        d->config = xend_sxp_list_of("vm", NULL);
    long i = xend_sxp_child_index(d->config, key);
    if (value == NULL) {
        if (i >= 0)
            xend_sxp_remove(d->config, (size_t)i);
        return 0;
    }
    struct xend_sxp *kv = xend_sxp_list_of(key, NULL);
    xend_sxp_append_take(kv, value);
    if (i >= 0)
        xend_sxp_replace_take(d->config, (size_t)i, kv);
    else
        xend_sxp_append_take(d->config, kv);
    return 0;
}

static uint32_t dom_flags(const struct xend_domain *d)
{
    return d->flags;
}

static void *dom_priv_get(struct xend_plugin *self, const struct xend_domain *d)
{
    (void)self;
    return d->priv;
}

static void dom_priv_set(struct xend_plugin *self, struct xend_domain *d, void *priv,
                         xend_priv_free_fn *fn)
{
    (void)self;
    d->priv = priv;
    d->priv_free = fn;
}

static const struct xend_host_domain domain_table = {
    .size = sizeof(domain_table),
    .hook_add = hook_add,
    .hook_remove = hook_remove,
    .describe_add = describe_add,
    .describe_print_add = describe_print_add,
    .describe_print_kept_add = describe_print_add,
    .describe_changed = describe_changed,
    .lookup = dom_lookup,
    .foreach = dom_foreach,
    .id = dom_id,
    .name = dom_name,
    .config = dom_config,
    .config_set_take = dom_config_set_take,
    .flags = dom_flags,
    .priv_get = dom_priv_get,
    .priv_set = dom_priv_set,
};

struct xend_domain *fake_host_domain_add(uint32_t id, const char *name, const char *config_sxp)
{
    struct xend_domain *d = xend_xcalloc(1, sizeof(*d));
    d->id = id;
    snprintf(d->name, sizeof(d->name), "%s", name);
    if (config_sxp) {
        char msg[128];
        if (xend_sxp_parse(config_sxp, strlen(config_sxp), NULL, &d->config, msg, sizeof(msg)))
            abort();
    }
    F.doms[F.ndoms++] = d;
    return d;
}

void fake_host_domain_remove(struct xend_domain *d)
{
    for (size_t i = 0; i < F.ndoms; i++)
        if (F.doms[i] == d) {
            F.doms[i] = F.doms[--F.ndoms];
            break;
        }
    if (d->priv_free)
        d->priv_free(d->priv);
    xend_sxp_free(d->config);
    free(d);
}

void fake_host_domain_set_flags(struct xend_domain *d, uint32_t flags)
{
    d->flags = flags;
}

const struct xend_sxp *fake_host_domain_config(struct xend_domain *d)
{
    return d->config;
}

int fake_host_run_hooks(enum xend_hook_point point, struct xend_domain *dom, int reason,
                        int shutdown_reason, struct xend_err *err)
{
    struct xend_hook_event ev = {
        .size = sizeof(ev),
        .point = point,
        .reason = (enum xend_hook_reason)reason,
        .dom = dom,
        .config = dom ? dom->config : NULL,
        .shutdown_reason = shutdown_reason,
        .err = err,
    };
    for (size_t i = 0; i < F.nhooks; i++)
        if (F.hooks[i].point == point) {
            int rc = F.hooks[i].fn(&ev, F.hooks[i].arg);
            if (rc < 0)
                return rc;
        }
    return 0;
}

static void describe_put(void *ctx, const char *text, size_t len)
{
    xend_buf_append(ctx, text, len);
}

/* As the core does: every describer's items in order, text ones as they wrote them; the
 * whole is parsed back, so a text describer that writes bad SXP fails here. */
size_t fake_host_describe_changed(void)
{
    return F.describe_changed;
}

struct xend_sxp *fake_host_describe(struct xend_domain *dom)
{
    struct xend_buf b = XEND_BUF_INIT;
    xend_buf_puts(&b, "(domain");
    for (size_t i = 0; i < F.ndescribers; i++) {
        if (F.describers[i].print != NULL) {
            F.describers[i].print(dom, describe_put, &b, F.describers[i].arg);
            continue;
        }
        struct xend_sxp *l = xend_sxp_list_of("domain", NULL);
        F.describers[i].fn(dom, l, F.describers[i].arg);
        for (size_t k = 1; k < xend_sxp_length(l); k++) {
            xend_buf_putc(&b, ' ');
            xend_sxp_print_buf(xend_sxp_nth(l, k), &b);
        }
        xend_sxp_free(l);
    }
    xend_buf_putc(&b, ')');
    struct xend_sxp *v = NULL;
    char msg[128];
    if (xend_sxp_parse(b.data, b.len, NULL, &v, msg, sizeof(msg)) < 0) {
        fprintf(stderr, "fake host: describers wrote bad SXP (%s): %s\n", msg, b.data);
        abort();
    }
    xend_buf_free(&b);
    return v;
}

/* ---- devices ---- */
static int class_add(struct xend_plugin *self, const struct xend_device_ops *ops, void *ctx)
{
    (void)self;
    for (size_t i = 0; i < F.nclasses; i++)
        if (!strcmp(F.classes[i].ops->name, ops->name))
            return -XEND_EEXIST;
    F.classes[F.nclasses].ops = ops;
    F.classes[F.nclasses++].ctx = ctx;
    return 0;
}

static void dev_foreach(const char *cls, xend_device_fn *fn, void *arg)
{
    for (size_t i = 0; i < F.ndevs; i++)
        if (!strcmp(F.devs[i]->cls, cls))
            fn(F.devs[i], arg);
}

static struct xend_domain *dev_domain(const struct xend_device *d)
{
    return d->dom;
}

static uint32_t dev_index(const struct xend_device *d)
{
    return d->index;
}

static const struct xend_sxp *dev_config(const struct xend_device *d)
{
    return d->config;
}

static void *dev_priv(const struct xend_device *d)
{
    return d->priv;
}

static void dev_priv_set(struct xend_device *d, void *p)
{
    d->priv = p;
}

static const struct xend_host_device device_table = {
    .size = sizeof(device_table),
    .class_add = class_add,
    .foreach = dev_foreach,
    .domain = dev_domain,
    .index = dev_index,
    .config = dev_config,
    .priv = dev_priv,
    .priv_set = dev_priv_set,
};

struct xend_device *fake_host_device_new(struct xend_domain *dom, const char *cls, uint32_t index,
                                         const char *config_sxp)
{
    struct xend_device *d = xend_xcalloc(1, sizeof(*d));
    d->dom = dom;
    snprintf(d->cls, sizeof(d->cls), "%s", cls);
    d->index = index;
    char msg[128];
    if (xend_sxp_parse(config_sxp, strlen(config_sxp), NULL, &d->config, msg, sizeof(msg)))
        abort();
    F.devs[F.ndevs++] = d;
    return d;
}

void fake_host_device_free(struct xend_device *d)
{
    for (size_t i = 0; i < F.ndevs; i++)
        if (F.devs[i] == d) {
            memmove(&F.devs[i], &F.devs[i + 1], (F.ndevs - i - 1) * sizeof(F.devs[0]));
            F.ndevs--;
            break;
        }
    xend_sxp_free(d->config);
    free(d);
}

const struct xend_device_ops *fake_host_device_class(const char *name, void **ctx)
{
    for (size_t i = 0; i < F.nclasses; i++)
        if (!strcmp(F.classes[i].ops->name, name)) {
            if (ctx)
                *ctx = F.classes[i].ctx;
            return F.classes[i].ops;
        }
    return NULL;
}

/* ---- schedulers and backends ---- */
static int sched_add(struct xend_plugin *self, const struct xend_sched_ops *ops, void *ctx)
{
    (void)self;
    for (size_t i = 0; i < F.nscheds; i++)
        if (!strcmp(F.scheds[i].ops->name, ops->name))
            return -XEND_EEXIST;
    F.scheds[F.nscheds].ops = ops;
    F.scheds[F.nscheds++].ctx = ctx;
    return 0;
}

static const char *sched_current(void)
{
    const char *v = cfg_find("scheduler");
    return v ? v : "bvt";
}

static const struct xend_host_sched sched_table = {
    .size = sizeof(sched_table), .add = sched_add, .current = sched_current};

const struct xend_sched_ops *fake_host_sched(const char *name, void **ctx)
{
    for (size_t i = 0; i < F.nscheds; i++)
        if (!strcmp(F.scheds[i].ops->name, name)) {
            if (ctx)
                *ctx = F.scheds[i].ctx;
            return F.scheds[i].ops;
        }
    return NULL;
}

static int backend_add(struct xend_plugin *self, const struct xend_backend_ops *ops, void *ctx)
{
    (void)self;
    for (size_t i = 0; i < F.nbackends; i++)
        if (!strcmp(F.backends[i].ops->name, ops->name))
            return -XEND_EEXIST;
    F.backends[F.nbackends].ops = ops;
    F.backends[F.nbackends++].ctx = ctx;
    return 0;
}

static const struct xend_host_backend backend_table = {.size = sizeof(backend_table),
                                                       .add = backend_add};

const struct xend_backend_ops *fake_host_backend(const char *name, void **ctx)
{
    for (size_t i = 0; i < F.nbackends; i++)
        if (!strcmp(F.backends[i].ops->name, name)) {
            if (ctx)
                *ctx = F.backends[i].ctx;
            return F.backends[i].ops;
        }
    return NULL;
}

int fake_host_backend_use(const char *name, struct xend_err *err)
{
    void *ctx;
    const struct xend_backend_ops *ops = fake_host_backend(name, &ctx);
    if (ops == NULL)
        return xend_err_set(err, XEND_ENOENT, "no backend %s", name);
    if (ops->open) {
        int rc = ops->open(ctx, err);
        if (rc < 0)
            return rc;
    }
    F.hv_ops = ops;
    F.hv_ctx = ctx;
    return 0;
}

void fake_host_backend_set(const struct xend_backend_ops *ops, void *ctx)
{
    F.hv_ops = ops;
    F.hv_ctx = ctx;
}

static const struct xend_backend_ops *host_hv(void **ctx)
{
    if (ctx)
        *ctx = F.hv_ctx;
    return F.hv_ops;
}

/* ---- loop ---- */
static struct xend_watch *watch_add(struct xend_plugin *self, int fd, uint32_t events,
                                    xend_watch_fn *fn, void *arg)
{
    (void)self;
    struct xend_watch *w = xend_xcalloc(1, sizeof(*w));
    *w = (struct xend_watch){fd, events, fn, arg, false};
    F.watches[F.nwatches++] = w;
    return w;
}

static void watch_set(struct xend_watch *w, uint32_t events)
{
    w->events = events;
}

static void watch_remove(struct xend_watch *w)
{
    if (w)
        w->dead = true;
}

static struct xend_timer *timer_add(struct xend_plugin *self, uint64_t ms, bool repeat,
                                    xend_timer_fn *fn, void *arg)
{
    (void)self;
    struct xend_timer *t = xend_xcalloc(1, sizeof(*t));
    *t = (struct xend_timer){now_ms() + ms, repeat ? (ms ? ms : 1) : 0, fn, arg, false};
    F.timers[F.ntimers++] = t;
    return t;
}

static void timer_remove(struct xend_timer *t)
{
    if (t)
        t->dead = true;
}

static int spawn(struct xend_plugin *self, const char *const *argv, const char *const *envp,
                 uint64_t timeout_ms, xend_spawn_fn *done, void *arg)
{
    (void)self;
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -XEND_EIO;
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -XEND_EIO;
    }
    if (pid == 0) {
        int nul = open("/dev/null", O_RDONLY);
        dup2(nul, 0);
        dup2(p[1], 1);
        dup2(p[1], 2);
        if (envp)
            execve(argv[0], (char *const *)argv, (char *const *)envp);
        else
            execv(argv[0], (char *const *)argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(p[1]);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    struct child *c = xend_xcalloc(1, sizeof(*c));
    c->pid = pid;
    c->fd = p[0];
    c->deadline = now_ms() + timeout_ms;
    c->done = done;
    c->arg = arg;
    F.children[F.nchildren++] = c;
    return 0;
}

static int work_submit(struct xend_plugin *self, xend_work_fn *work, xend_work_fn *done, void *arg)
{
    (void)self;
    work(arg);
    F.posted[F.nposted++] = (struct posted){done, arg};
    return 0;
}

static int post(xend_work_fn *fn, void *arg)
{
    F.posted[F.nposted++] = (struct posted){fn, arg};
    return 0;
}

static struct xend_err *op_err(struct xend_op *op)
{
    return &op->err;
}

static void op_complete(struct xend_op *op, int rc)
{
    op->done = true;
    op->rc = rc;
}

static const struct xend_host_loop loop_table = {
    .size = sizeof(loop_table),
    .watch_add = watch_add,
    .watch_set = watch_set,
    .watch_remove = watch_remove,
    .timer_add = timer_add,
    .timer_remove = timer_remove,
    .spawn = spawn,
    .work_submit = work_submit,
    .post = post,
    .op_err = op_err,
    .op_complete = op_complete,
    .now_ms = now_ms,
    .wall_time = wall_time,
};

struct xend_op *fake_host_op_new(void)
{
    return xend_xcalloc(1, sizeof(struct xend_op));
}

bool fake_host_op_done(const struct xend_op *op, int *rc)
{
    if (op->done && rc)
        *rc = op->rc;
    return op->done;
}

const char *fake_host_op_msg(const struct xend_op *op)
{
    return xend_err_msg(&op->err);
}

static bool op_is_done(void *arg)
{
    return ((struct xend_op *)arg)->done;
}

int fake_host_op_wait(struct xend_op *op, int timeout_ms)
{
    if (!fake_host_loop_until(op_is_done, op, timeout_ms))
        return -XEND_ETIMEDOUT;
    return op->rc;
}

void fake_host_op_free(struct xend_op *op)
{
    free(op);
}

static void reap_children(void)
{
    for (size_t i = 0; i < F.nchildren;) {
        struct child *c = F.children[i];
        char buf[4096];
        ssize_t n;
        while ((n = read(c->fd, buf, sizeof(buf))) > 0)
            if (c->out.len < 65536)
                xend_buf_append(&c->out, buf, (size_t)n);
        if (!c->timed_out && now_ms() >= c->deadline) {
            kill(c->pid, SIGKILL);
            c->timed_out = true;
        }
        int status;
        if (n == 0 || c->timed_out) {
            if (waitpid(c->pid, &status, c->timed_out ? 0 : WNOHANG) == c->pid) {
                close(c->fd);
                struct xend_spawn_result res = {
                    .size = sizeof(res),
                    .status = status,
                    .timed_out = c->timed_out,
                    .output = xend_buf_str(&c->out),
                    .output_len = c->out.len,
                };
                F.children[i] = F.children[--F.nchildren];
                c->done(&res, c->arg);
                xend_buf_free(&c->out);
                free(c);
                continue;
            }
        }
        i++;
    }
}

size_t fake_host_children_running(void)
{
    return F.nchildren;
}

void fake_host_loop_once(int timeout_ms)
{
    if (F.nposted) {
        struct posted p = F.posted[0];
        memmove(&F.posted[0], &F.posted[1], (F.nposted - 1) * sizeof(F.posted[0]));
        F.nposted--;
        p.fn(p.arg);
        return;
    }
    uint64_t now = now_ms();
    int wait = timeout_ms;
    for (size_t i = 0; i < F.ntimers; i++)
        if (!F.timers[i]->dead) {
            int64_t d = (int64_t)F.timers[i]->due - (int64_t)now;
            if (d < 0)
                d = 0;
            if (d < wait)
                wait = (int)d;
        }
    if (F.nchildren && wait > 10)
        wait = 10;
    struct pollfd pfd[MAXN];
    struct xend_watch *ws[MAXN];
    size_t n = 0;
    for (size_t i = 0; i < F.nwatches; i++) {
        struct xend_watch *w = F.watches[i];
        if (w->dead || !w->events)
            continue;
        pfd[n].fd = w->fd;
        pfd[n].events = (short)((w->events & XEND_WATCH_READ ? POLLIN : 0) |
                                (w->events & XEND_WATCH_WRITE ? POLLOUT : 0));
        ws[n++] = w;
    }
    int r = poll(pfd, n, wait);
    for (size_t i = 0; r > 0 && i < n; i++) {
        if (!pfd[i].revents || ws[i]->dead)
            continue;
        uint32_t ev = 0;
        if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
            ev |= XEND_WATCH_READ;
        if (pfd[i].revents & POLLOUT)
            ev |= XEND_WATCH_WRITE;
        ws[i]->fn(ws[i]->fd, ev & ws[i]->events ? ev & ws[i]->events : ev, ws[i]->arg);
    }
    now = now_ms();
    for (size_t i = 0; i < F.ntimers; i++) {
        struct xend_timer *t = F.timers[i];
        if (!t->dead && t->due <= now) {
            if (t->period)
                t->due = now + t->period;
            else
                t->dead = true;
            t->fn(t->arg);
        }
    }
    reap_children();
    /* free removed watches and timers */
    for (size_t i = 0; i < F.nwatches;)
        if (F.watches[i]->dead) {
            free(F.watches[i]);
            F.watches[i] = F.watches[--F.nwatches];
        } else {
            i++;
        }
    for (size_t i = 0; i < F.ntimers;)
        if (F.timers[i]->dead) {
            free(F.timers[i]);
            F.timers[i] = F.timers[--F.ntimers];
        } else {
            i++;
        }
}

bool fake_host_loop_until(bool (*pred)(void *arg), void *arg, int timeout_ms)
{
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    while (!pred(arg)) {
        uint64_t now = now_ms();
        if (now >= end)
            return pred(arg);
        fake_host_loop_once((int)(end - now > 50 ? 50 : end - now));
    }
    return true;
}

/* ---- store ---- */
static int store_put(struct xend_plugin *self, const char *key, const struct xend_sxp *value,
                     struct xend_err *err)
{
    (void)self;
    (void)err;
    for (size_t i = 0; i < F.nstore; i++)
        if (!strcmp(F.store_keys[i], key)) {
            xend_sxp_free(F.store_vals[i]);
            F.store_vals[i] = xend_sxp_copy(value);
            return 0;
        }
    F.store_keys[F.nstore] = xend_xstrdup(key);
    F.store_vals[F.nstore++] = xend_sxp_copy(value);
    return 0;
}

static int store_get(struct xend_plugin *self, const char *key, struct xend_sxp **out,
                     struct xend_err *err)
{
    (void)self;
    for (size_t i = 0; i < F.nstore; i++)
        if (!strcmp(F.store_keys[i], key)) {
            *out = xend_sxp_copy(F.store_vals[i]);
            return 0;
        }
    return xend_err_set(err, XEND_ENOENT, "no record %s", key);
}

static int store_del(struct xend_plugin *self, const char *key, struct xend_err *err)
{
    (void)self;
    for (size_t i = 0; i < F.nstore; i++)
        if (!strcmp(F.store_keys[i], key)) {
            free(F.store_keys[i]);
            xend_sxp_free(F.store_vals[i]);
            F.store_keys[i] = F.store_keys[--F.nstore];
            F.store_vals[i] = F.store_vals[F.nstore];
            return 0;
        }
    return xend_err_set(err, XEND_ENOENT, "no record %s", key);
}

static int store_foreach(struct xend_plugin *self, xend_store_fn *fn, void *arg)
{
    (void)self;
    for (size_t i = 0; i < F.nstore; i++)
        fn(F.store_keys[i], F.store_vals[i], arg);
    return 0;
}

static const struct xend_host_store store_table = {
    .size = sizeof(store_table),
    .put = store_put,
    .get = store_get,
    .del = store_del,
    .foreach = store_foreach,
};

/* ---- events ---- */
static bool pattern_match(const char *pat, const char *name)
{
    size_t n = strlen(pat);
    if (!strcmp(pat, "*"))
        return true;
    if (n >= 2 && !strcmp(pat + n - 2, ".*"))
        return !strncmp(pat, name, n - 1);
    return !strcmp(pat, name);
}

static void event_emit(const char *name, const struct xend_sxp *value)
{
    if (F.nev < 1024) {
        F.ev_names[F.nev] = xend_xstrdup(name);
        F.ev_vals[F.nev++] = value ? xend_sxp_print(value) : xend_xstrdup("");
    }
    for (size_t i = 0; i < F.nsubs; i++)
        if (F.subs[i].fn && pattern_match(F.subs[i].pattern, name))
            F.subs[i].fn(name, value, F.subs[i].arg);
}

static int event_subscribe(struct xend_plugin *self, const char *pattern, xend_event_fn *fn,
                           void *arg)
{
    (void)self;
    F.subs[F.nsubs].pattern = xend_xstrdup(pattern);
    F.subs[F.nsubs].fn = fn;
    F.subs[F.nsubs++].arg = arg;
    return 0;
}

static int event_unsubscribe(struct xend_plugin *self, const char *pattern, xend_event_fn *fn,
                             void *arg)
{
    (void)self;
    for (size_t i = 0; i < F.nsubs; i++)
        if (F.subs[i].fn == fn && F.subs[i].arg == arg && !strcmp(F.subs[i].pattern, pattern)) {
            F.subs[i].fn = NULL;
            return 0;
        }
    return -XEND_ENOENT;
}

static const struct xend_host_event event_table = {
    .size = sizeof(event_table),
    .emit = event_emit,
    .subscribe = event_subscribe,
    .unsubscribe = event_unsubscribe,
};

size_t fake_host_event_count(const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < F.nev; i++)
        if (!strcmp(F.ev_names[i], name))
            n++;
    return n;
}

const char *fake_host_event_last(const char *name)
{
    for (size_t i = F.nev; i-- > 0;)
        if (!strcmp(F.ev_names[i], name))
            return F.ev_vals[i];
    return NULL;
}

/* ---- the host ---- */
static void plugin_err_set(struct xend_plugin *self, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(self->err, sizeof(self->err), fmt, ap);
    va_end(ap);
}

/* ---- access ---- */

static int access_peer_check(struct xend_plugin *self, int fd, struct xend_err *err)
{
    (void)self;
    (void)fd;
    F.access_checks++;
    if (F.access_refusal[0] != '\0')
        return xend_err_set(err, XEND_EPERM, "%s", F.access_refusal);
    return 0;
}

static const struct xend_host_access access_table = {
    .size = sizeof(struct xend_host_access),
    .peer_check = access_peer_check,
};

void fake_host_access_refuse(const char *msg)
{
    snprintf(F.access_refusal, sizeof(F.access_refusal), "%s", msg ? msg : "");
}

void fake_host_caller_role_set(int role)
{
    F.caller_role = role;
}

size_t fake_host_access_checks(void)
{
    return F.access_checks;
}

const struct xend_host *fake_host_new(const char *plugin_name)
{
    memset(&F, 0, sizeof(F));
    snprintf(F.self.name, sizeof(F.self.name), "%s", plugin_name);
    snprintf(F.dirs[0], sizeof(F.dirs[0]), "/tmp");
    snprintf(F.dirs[1], sizeof(F.dirs[1]), "/etc/xen/scripts");
    snprintf(F.dirs[2], sizeof(F.dirs[2]), "/usr/sbin");
    F.host = (struct xend_host){
        .size = sizeof(struct xend_host),
        .abi_major = XEND_ABI_MAJOR,
        .abi_minor = XEND_ABI_MINOR,
        .log = &log_table,
        .config = &config_table,
        .sxp = &xend_sxp_host_table,
        .http = &http_table,
        .domain = &domain_table,
        .device = &device_table,
        .sched = &sched_table,
        .backend = &backend_table,
        .loop = &loop_table,
        .store = &store_table,
        .event = &event_table,
        .hv = host_hv,
        .plugin_err_set = plugin_err_set,
        .access = &access_table,
    };
    signal(SIGPIPE, SIG_IGN);
    return &F.host;
}

struct xend_plugin *fake_host_self(void)
{
    return &F.self;
}

int fake_host_init_plugin(const struct xend_plugin_desc *desc)
{
    if (desc->magic != XEND_PLUGIN_MAGIC || desc->abi_major != XEND_ABI_MAJOR)
        return -XEND_EABI;
    return desc->init(&F.self, &F.host);
}

void fake_host_fini_plugin(const struct xend_plugin_desc *desc)
{
    if (desc->fini)
        desc->fini(&F.self);
}

const char *fake_host_plugin_err(void)
{
    return F.self.err;
}

void fake_host_free(void)
{
    while (F.ndevs)
        fake_host_device_free(F.devs[F.ndevs - 1]);
    while (F.ndoms)
        fake_host_domain_remove(F.doms[F.ndoms - 1]);
    for (size_t i = 0; i < F.ncfg; i++) {
        free(F.cfg_keys[i]);
        free(F.cfg_vals[i]);
    }
    for (size_t i = 0; i < F.nwatches; i++)
        free(F.watches[i]);
    for (size_t i = 0; i < F.ntimers; i++)
        free(F.timers[i]);
    for (size_t i = 0; i < F.nstore; i++) {
        free(F.store_keys[i]);
        xend_sxp_free(F.store_vals[i]);
    }
    for (size_t i = 0; i < F.nev; i++) {
        free(F.ev_names[i]);
        free(F.ev_vals[i]);
    }
    for (size_t i = 0; i < F.nsubs; i++)
        free(F.subs[i].pattern);
    for (size_t i = 0; i < F.nchildren; i++) {
        kill(F.children[i]->pid, SIGKILL);
        waitpid(F.children[i]->pid, NULL, 0);
        close(F.children[i]->fd);
        xend_buf_free(&F.children[i]->out);
        free(F.children[i]);
    }
    xend_buf_free(&F.all_log);
    memset(&F, 0, sizeof(F));
}
