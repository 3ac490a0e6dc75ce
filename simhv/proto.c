/*
 * The simhv protocol dispatcher (see proto.h and docs/simhv.md): parse a request line,
 * check its arguments, call the domain model, print the reply. Every failure becomes an
 * (err ...) reply; nothing here can stop the server.
 */
#include "crashpoint.h"
#include "proto.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xend/backend.h>

#include "sxp.h"

#define MAX_SCHED_VALUES 16

struct call {
    struct simhv_machine *m;
    const void *client;
    const struct xend_sxp *req;
    struct xend_sxp *reply; /* (ok ID ...) being built */
    struct simhv_proto_result *res;
    uint64_t now_ns;
    bool fd_passed;       /* a descriptor came with the request */
    struct xend_buf tail; /* printed reply items that follow the tree's (compact forms) */
};

typedef int op_fn(struct call *c, struct xend_err *err);

/* ---- arguments ---- */

static int arg_ll(const struct call *c, const char *key, long long dflt, bool required,
                  long long min, long long max, long long *out, struct xend_err *err)
{
    long long v = 0;
    int rc = xend_sxp_child_int(c->req, key, &v);
    if (rc == -XEND_ENOENT) {
        if (required)
            return xend_err_set(err, XEND_EINVAL, "missing argument: %s", key);
        v = dflt;
    } else if (rc < 0) {
        return xend_err_set(err, XEND_EINVAL, "argument %s is not a number", key);
    }
    if (v < min || v > max)
        return xend_err_set(err, XEND_EINVAL, "argument %s out of range: %lld", key, v);
    *out = v;
    return 0;
}

static int arg_u64(const struct call *c, const char *key, uint64_t *out, struct xend_err *err)
{
    long long v = 0;
    int rc = arg_ll(c, key, 0, true, 0, INT64_MAX, &v, err);
    *out = (uint64_t)v;
    return rc;
}

static const char *arg_str(const struct call *c, const char *key, const char *dflt)
{
    return xend_sxp_child_value(c->req, key, dflt);
}

static int arg_dom(const struct call *c, struct simhv_domain **d, struct xend_err *err)
{
    long long id = 0;
    int rc = arg_ll(c, "domid", 0, true, 0, UINT32_MAX, &id, err);
    if (rc < 0)
        return rc;
    *d = simhv_dom_get(c->m, (uint32_t)id, err);
    return *d ? 0 : -XEND_ENOENT;
}

/* ---- replies ---- */

static struct xend_sxp *dom_sxp(const struct simhv_domain *d)
{
    static const char letters[] = "rbpsc";
    uint32_t f = simhv_dom_flags(d);
    char state[6];
    for (int i = 0; i < 5; i++)
        state[i] = (f & (1u << i)) ? letters[i] : '-';
    state[5] = '\0';
    struct xend_sxp *s = xend_sxp_list();
    xend_sxp_append_take(s, xend_sxp_atom("domain"));
    xend_sxp_add_kv_int(s, "domid", d->domid);
    xend_sxp_add_kv(s, "name", d->name);
    xend_sxp_add_kv_int(s, "flags", f);
    xend_sxp_add_kv(s, "state", state);
    xend_sxp_add_kv_int(s, "shutdown_reason", d->shutdown_reason);
    xend_sxp_add_kv_int(s, "vcpus", d->nvcpus);
    xend_sxp_add_kv_int(s, "cpu", d->nvcpus ? d->vcpus[0].last_cpu : 0);
    xend_sxp_add_kv_int(s, "cpu_time", (long long)simhv_dom_cpu_time(d));
    xend_sxp_add_kv_int(s, "mem_kb", (long long)d->mem_kb);
    xend_sxp_add_kv_int(s, "maxmem_kb", (long long)d->maxmem_kb);
    return s;
}

/*
 * A domain in the compact form dom_list and dom_info give with (compact 1): fixed
 * positions, no keys, printed straight into the reply, so neither end builds a tree per
 * domain: (d ID FLAGS REASON VCPUS CPU CPU_TIME MEM_KB MAXMEM_KB NAME).
 */
static void put_uints(struct xend_buf *out, const unsigned long long *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        xend_buf_put_uint(out, v[i]);
        xend_buf_putc(out, ' ');
    }
}

static void dom_compact(const struct simhv_domain *d, struct xend_buf *out)
{
    /* By hand, not printf: a list of ten thousand spent most of its time in vfprintf. */
    const unsigned long long before_cpu[] = {d->domid, simhv_dom_flags(d), d->shutdown_reason,
                                             d->nvcpus};
    const unsigned long long after_cpu[] = {simhv_dom_cpu_time(d), d->mem_kb, d->maxmem_kb};
    xend_buf_append(out, " (d ", 4);
    put_uints(out, before_cpu, sizeof(before_cpu) / sizeof(before_cpu[0]));
    xend_buf_put_int(out, d->nvcpus ? d->vcpus[0].last_cpu : 0);
    xend_buf_putc(out, ' ');
    put_uints(out, after_cpu, sizeof(after_cpu) / sizeof(after_cpu[0]));
    xend_sxp_print_atom(d->name, strlen(d->name), out);
    xend_buf_putc(out, ')');
}

static void dom_compact_to(const struct simhv_domain *d, void *out)
{
    dom_compact(d, out);
}

static void put_line(struct xend_buf *out, const struct xend_sxp *s)
{
    xend_sxp_print_buf(s, out);
    xend_buf_putc(out, '\n');
}

void simhv_proto_reply(struct xend_buf *out, long long id, int rc, const struct xend_err *err,
                       const char *key, long long value)
{
    struct xend_sxp *s = xend_sxp_list();
    if (rc < 0) {
        xend_sxp_append_take(s, xend_sxp_atom("err"));
        xend_sxp_append_take(s, xend_sxp_atom_int(id));
        xend_sxp_append_take(s, xend_sxp_atom_int(-rc));
        xend_sxp_append_take(
            s, xend_sxp_atom(err && err->code ? xend_err_msg(err) : xend_strerror(rc)));
    } else {
        xend_sxp_append_take(s, xend_sxp_atom("ok"));
        xend_sxp_append_take(s, xend_sxp_atom_int(id));
        if (key != NULL)
            xend_sxp_add_kv_int(s, key, value);
    }
    put_line(out, s);
    xend_sxp_free(s);
}

/* ---- operations ---- */

static int op_hello(struct call *c, struct xend_err *err)
{
    (void)err;
    xend_sxp_add_kv_int(c->reply, "version", SIMHV_PROTO_VERSION);
    xend_sxp_add_kv(c->reply, "hypervisor", "simhv " SIMHV_VERSION);
    return 0;
}

static int op_physinfo(struct call *c, struct xend_err *err)
{
    (void)err;
    xend_sxp_add_kv_int(c->reply, "nr_cpus", c->m->ncpus);
    xend_sxp_add_kv_int(c->reply, "cores_per_socket", 1);
    xend_sxp_add_kv_int(c->reply, "threads_per_core", 1);
    xend_sxp_add_kv_int(c->reply, "cpu_mhz", SIMHV_CPU_MHZ);
    xend_sxp_add_kv_int(c->reply, "total_kb", (long long)c->m->total_kb);
    xend_sxp_add_kv_int(c->reply, "free_kb", (long long)simhv_machine_free_kb(c->m));
    xend_sxp_add_kv(c->reply, "hypervisor", "simhv " SIMHV_VERSION);
    xend_sxp_add_kv(c->reply, "scheduler", simhv_sched_name(c->m->sched));
    return 0;
}

static int op_dmesg(struct call *c, struct xend_err *err)
{
    long long clear = 0;
    int rc = arg_ll(c, "clear", 0, false, 0, 1, &clear, err);
    if (rc < 0)
        return rc;
    char *text = simhv_dmesg_read(c->m, clear != 0);
    xend_sxp_add_kv(c->reply, "text", text);
    free(text);
    return 0;
}

static int create_args(struct call *c, struct simhv_dom_args *a, bool mem_required,
                       struct xend_err *err)
{
    long long mem = 0, maxmem = 0, vcpus = 0, want = 0, cpu = 0;
    int rc;
    if ((rc = arg_ll(c, "mem_kb", 0, mem_required, 0, INT64_MAX / 2, &mem, err)) < 0 ||
        (rc = arg_ll(c, "maxmem_kb", 0, false, 0, INT64_MAX / 2, &maxmem, err)) < 0 ||
        (rc = arg_ll(c, "vcpus", 0, false, 0, SIMHV_MAX_VCPUS, &vcpus, err)) < 0 ||
        (rc = arg_ll(c, "want_domid", -1, false, -1, UINT32_MAX, &want, err)) < 0 ||
        (rc = arg_ll(c, "cpu", -1, false, -1, 1024, &cpu, err)) < 0)
        return rc;
    const char *name = arg_str(c, "name", "");
    if (strlen(name) >= sizeof(((struct simhv_domain *)0)->name))
        return xend_err_set(err, XEND_EINVAL, "domain name too long");
    *a = (struct simhv_dom_args){.name = name,
                                 .mem_kb = (uint64_t)mem,
                                 .maxmem_kb = (uint64_t)maxmem,
                                 .vcpus = (uint32_t)vcpus,
                                 .want_domid = want,
                                 .cpu = (int32_t)cpu};
    return 0;
}

static int op_dom_create(struct call *c, struct xend_err *err)
{
    struct simhv_dom_args a;
    struct simhv_domain *d;
    int rc = create_args(c, &a, true, err);
    if (rc < 0)
        return rc;
    if (a.mem_kb == 0)
        return xend_err_set(err, XEND_EINVAL, "domain memory must be more than 0 KiB");
    rc = simhv_dom_create(c->m, &a, c->client, &d, err);
    if (rc < 0)
        return rc;
    xend_sxp_add_kv_int(c->reply, "domid", d->domid);
    return 0;
}

static int build_args(struct call *c, struct simhv_domain *d, struct xend_err *err)
{
    const char *builder = arg_str(c, "builder", "linux");
    /* pvh: a real Xen boots the same kernel another way; the simulation has no difference. */
    if (strcmp(builder, "linux") != 0 && strcmp(builder, "pvh") != 0)
        return xend_err_set(err, XEND_ENOTSUP, "simhv builds linux and pvh domains, not %s",
                            builder);
    return simhv_dom_build(c->m, d, arg_str(c, "kernel", NULL), arg_str(c, "ramdisk", NULL),
                           arg_str(c, "cmdline", ""), err);
}

static int op_dom_build(struct call *c, struct xend_err *err)
{
    struct simhv_domain *d;
    int rc = arg_dom(c, &d, err);
    return rc < 0 ? rc : build_args(c, d, err);
}

/*
 * dom_create and dom_build in one request, answered with the new domain's compact info:
 * what lets xend pipeline creates. With (hold 1) the domain stays its creator's until
 * dom_confirm, so a creator that dies first takes it along (simhv_machine_owner_gone).
 */
static int op_dom_make(struct call *c, struct xend_err *err)
{
    struct simhv_dom_args a;
    struct simhv_domain *d;
    long long hold = 0;
    int rc = create_args(c, &a, true, err);
    if (rc < 0 || (rc = arg_ll(c, "hold", 0, false, 0, 1, &hold, err)) < 0)
        return rc;
    if (a.mem_kb == 0)
        return xend_err_set(err, XEND_EINVAL, "domain memory must be more than 0 KiB");
    if ((rc = simhv_dom_create(c->m, &a, c->client, &d, err)) < 0)
        return rc;
    if ((rc = build_args(c, d, err)) < 0) {
        simhv_dom_destroy(c->m, d, NULL);
        return rc;
    }
    if (hold)
        d->owner = c->client;
    xend_crash_point("simhv.created");
    dom_compact(d, &c->tail);
    return 0;
}

static int op_dom_confirm(struct call *c, struct xend_err *err)
{
    struct simhv_domain *d;
    int rc = arg_dom(c, &d, err);
    if (rc == 0)
        d->owner = NULL;
    return rc;
}

#define DOM_OP(fname, call_expr)                                                                   \
    static int fname(struct call *c, struct xend_err *err)                                         \
    {                                                                                              \
        struct simhv_domain *d;                                                                    \
        int rc = arg_dom(c, &d, err);                                                              \
        return rc < 0 ? rc : (call_expr);                                                          \
    }

DOM_OP(op_dom_pause, simhv_dom_pause(c->m, d, err))
DOM_OP(op_dom_unpause, simhv_dom_unpause(c->m, d, err))
DOM_OP(op_dom_destroy, simhv_dom_destroy(c->m, d, err))

static int op_dom_shutdown(struct call *c, struct xend_err *err)
{
    struct simhv_domain *d;
    long long reason = 0;
    int rc;
    if ((rc = arg_dom(c, &d, err)) < 0 ||
        (rc = arg_ll(c, "reason", 0, true, 0, 16, &reason, err)) < 0)
        return rc;
    return simhv_dom_shutdown(c->m, d, (uint32_t)reason, err);
}

static int arg_compact(const struct call *c, bool *compact, struct xend_err *err)
{
    long long v = 0;
    int rc = arg_ll(c, "compact", 0, false, 0, 1, &v, err);
    *compact = v == 1;
    return rc;
}

static int op_dom_info(struct call *c, struct xend_err *err)
{
    struct simhv_domain *d;
    bool compact;
    int rc;
    if ((rc = arg_dom(c, &d, err)) < 0 || (rc = arg_compact(c, &compact, err)) < 0)
        return rc;
    if (compact)
        dom_compact(d, &c->tail);
    else
        xend_sxp_append_take(c->reply, dom_sxp(d));
    return 0;
}

static int op_dom_list(struct call *c, struct xend_err *err)
{
    bool compact;
    int rc = arg_compact(c, &compact, err);
    if (rc < 0)
        return rc;
    if (compact) {
        simhv_dom_walk(c->m, dom_compact_to, &c->tail);
        return 0;
    }
    for (const struct simhv_domain *d = c->m->domains; d != NULL; d = d->next)
        xend_sxp_append_take(c->reply, dom_sxp(d));
    return 0;
}

static int op_dom_set_maxmem(struct call *c, struct xend_err *err)
{
    struct simhv_domain *d;
    uint64_t kb;
    int rc;
    if ((rc = arg_dom(c, &d, err)) < 0 || (rc = arg_u64(c, "kb", &kb, err)) < 0)
        return rc;
    return simhv_dom_set_maxmem(c->m, d, kb, err);
}

static int op_dom_set_target(struct call *c, struct xend_err *err)
{
    struct simhv_domain *d;
    uint64_t kb;
    int rc;
    if ((rc = arg_dom(c, &d, err)) < 0 || (rc = arg_u64(c, "kb", &kb, err)) < 0)
        return rc;
    return simhv_dom_set_target(c->m, d, kb, err);
}

static int op_dom_pin_vcpu(struct call *c, struct xend_err *err)
{
    struct simhv_domain *d;
    long long vcpu = 0, cpu = 0;
    int rc;
    if ((rc = arg_dom(c, &d, err)) < 0 ||
        (rc = arg_ll(c, "vcpu", 0, true, 0, SIMHV_MAX_VCPUS, &vcpu, err)) < 0 ||
        (rc = arg_ll(c, "cpu", 0, true, -1, 1024, &cpu, err)) < 0)
        return rc;
    return simhv_dom_pin_vcpu(c->m, d, (uint32_t)vcpu, (int32_t)cpu, err);
}

/* (values (name value)...) into v[]; names borrowed from the request. */
static int sched_values(struct call *c, struct simhv_sched_value *v, size_t *n,
                        struct xend_err *err)
{
    const char *sched = arg_str(c, "sched", NULL);
    if (sched == NULL)
        return xend_err_set(err, XEND_EINVAL, "missing argument: sched");
    if (strcmp(sched, simhv_sched_name(c->m->sched)) != 0)
        return xend_err_set(err, XEND_ENOTSUP, "simhv runs the %s scheduler, not %s",
                            simhv_sched_name(c->m->sched), sched);
    const struct xend_sxp *values = xend_sxp_child(c->req, "values");
    *n = 0;
    size_t len = values ? xend_sxp_length(values) : 0;
    for (size_t i = 1; i < len; i++) {
        const struct xend_sxp *p = xend_sxp_nth(values, i);
        long long val;
        if (*n == MAX_SCHED_VALUES)
            return xend_err_set(err, XEND_ELIMIT, "too many scheduler values");
        if (xend_sxp_length(p) != 2 || xend_sxp_name(p) == NULL ||
            xend_sxp_atom_text(xend_sxp_nth(p, 1)) == NULL ||
            !xend_sxp_text_int(xend_sxp_atom_text(xend_sxp_nth(p, 1)), &val))
            return xend_err_set(err, XEND_EINVAL, "scheduler values must be (name integer)");
        v[*n].name = xend_sxp_name(p);
        v[*n].value = val;
        (*n)++;
    }
    return 0;
}

static struct xend_sxp *values_sxp(const struct simhv_sched_value *v, size_t n)
{
    struct xend_sxp *s = xend_sxp_list();
    xend_sxp_append_take(s, xend_sxp_atom("values"));
    for (size_t i = 0; i < n; i++)
        xend_sxp_add_kv_int(s, v[i].name, v[i].value);
    return s;
}

static int op_sched_set(struct call *c, struct xend_err *err)
{
    struct simhv_domain *d;
    struct simhv_sched_value v[MAX_SCHED_VALUES];
    size_t n;
    int rc;
    if ((rc = arg_dom(c, &d, err)) < 0 || (rc = sched_values(c, v, &n, err)) < 0)
        return rc;
    char msg[256] = "";
    for (uint32_t i = 0; i < d->nvcpus; i++)
        if (simhv_sched_set(c->m->sched, &d->vcpus[i], v, n, msg, sizeof(msg)) < 0)
            return xend_err_set(err, XEND_EINVAL, "%s", msg);
    return 0;
}

static int op_sched_get(struct call *c, struct xend_err *err)
{
    struct simhv_domain *d;
    struct simhv_sched_value v[MAX_SCHED_VALUES];
    size_t n;
    int rc;
    if ((rc = arg_dom(c, &d, err)) < 0 || (rc = sched_values(c, v, &n, err)) < 0)
        return rc;
    char msg[256] = "";
    if (d->nvcpus > 0 && simhv_sched_get(c->m->sched, &d->vcpus[0], v, n, msg, sizeof(msg)) < 0)
        return xend_err_set(err, XEND_EINVAL, "%s", msg);
    xend_sxp_append_take(c->reply, values_sxp(v, n));
    return 0;
}

static int op_sched_node_set(struct call *c, struct xend_err *err)
{
    struct simhv_sched_value v[MAX_SCHED_VALUES];
    size_t n;
    int rc = sched_values(c, v, &n, err);
    if (rc < 0)
        return rc;
    char msg[256] = "";
    if (simhv_sched_node_set(c->m->sched, v, n, msg, sizeof(msg)) < 0)
        return xend_err_set(err, XEND_EINVAL, "%s", msg);
    return 0;
}

static int op_console(struct call *c, struct xend_err *err)
{
    struct simhv_domain *d;
    int rc = arg_dom(c, &d, err);
    if (rc < 0)
        return rc;
    if (d->domid == 0)
        return xend_err_set(err, XEND_ENOTSUP, "Domain-0 has no simulated console");
    d->console.attach_gen++;
    c->res->action = SIMHV_ACT_CONSOLE;
    c->res->dom_uid = d->uid;
    return 0;
}

static int op_notify(struct call *c, struct xend_err *err)
{
    (void)err;
    c->res->action = SIMHV_ACT_NOTIFY;
    return 0;
}

static int op_dev_attach(struct call *c, struct xend_err *err)
{
    struct simhv_domain *d;
    long long devid = 0;
    int rc;
    if ((rc = arg_dom(c, &d, err)) < 0 ||
        (rc = arg_ll(c, "devid", 0, true, 0, UINT32_MAX, &devid, err)) < 0)
        return rc;
    const struct xend_sxp *params = xend_sxp_child(c->req, "params");
    const struct xend_sxp *inner = params ? xend_sxp_nth(params, 1) : NULL;
    const char *node = inner ? xend_sxp_child_value(inner, "node", NULL) : NULL;
    char name[64];
    rc = simhv_dom_dev_attach(c->m, d, arg_str(c, "cls", NULL), (uint32_t)devid, node, name,
                              sizeof(name), err);
    if (rc < 0)
        return rc;
    xend_sxp_add_kv(c->reply, "name", name);
    return 0;
}

static int op_dev_detach(struct call *c, struct xend_err *err)
{
    struct simhv_domain *d;
    long long devid = 0;
    int rc;
    if ((rc = arg_dom(c, &d, err)) < 0 ||
        (rc = arg_ll(c, "devid", 0, true, 0, UINT32_MAX, &devid, err)) < 0)
        return rc;
    return simhv_dom_dev_detach(c->m, d, arg_str(c, "cls", ""), (uint32_t)devid, err);
}

/* (fd 1): the image goes through the descriptor handed with the request, with a progress
 * record every (report N) bytes (1 MiB when not given). */
#define HANDED_REPORT_DEFAULT ((long long)1024 * 1024)

static int arg_handed(struct call *c, struct xend_err *err)
{
    long long fd = 0, report = 0;
    int rc;
    if ((rc = arg_ll(c, "fd", 0, false, 0, 1, &fd, err)) < 0 ||
        (rc = arg_ll(c, "report", HANDED_REPORT_DEFAULT, false, 4096, 1ll << 32, &report, err)) < 0)
        return rc;
    if (fd && !c->fd_passed)
        return xend_err_set(err, XEND_EINVAL, "(fd 1) but no descriptor came with the request");
    c->res->handed = fd != 0;
    c->res->report_bytes = (uint64_t)report;
    return 0;
}

static int op_save(struct call *c, struct xend_err *err)
{
    struct simhv_domain *d;
    long long live = 0, max_rounds = 0, max_last = 0;
    int rc;
    if ((rc = arg_dom(c, &d, err)) < 0 ||
        (rc = arg_ll(c, "live", 0, false, 0, 1, &live, err)) < 0 ||
        (rc = arg_ll(c, "max_rounds", 0, false, 0, 1000000, &max_rounds, err)) < 0 ||
        (rc = arg_ll(c, "max_last_pages", 0, false, 0, 1ll << 40, &max_last, err)) < 0 ||
        (rc = arg_handed(c, err)) < 0)
        return rc;
    struct simhv_saver *s =
        simhv_saver_new(c->m, d, live != 0, (unsigned)max_rounds, (uint64_t)max_last, err);
    if (s == NULL)
        return -err->code;
    xend_crash_point("simhv.saving");
    xend_sxp_add_kv_int(c->reply, "pages", (long long)simhv_saver_pages(s));
    c->res->action = SIMHV_ACT_SAVE;
    c->res->saver = s;
    return 0;
}

static int op_restore(struct call *c, struct xend_err *err)
{
    struct simhv_dom_args a;
    int rc = create_args(c, &a, false, err);
    if (rc < 0 || (rc = arg_handed(c, err)) < 0)
        return rc;
    c->res->action = SIMHV_ACT_RESTORE;
    c->res->restorer = simhv_restorer_new(&a, c->client);
    return 0;
}

static int op_dirty_begin(struct call *c, struct xend_err *err)
{
    struct simhv_domain *d;
    int rc = arg_dom(c, &d, err);
    if (rc < 0)
        return rc;
    simhv_mem_track_begin(&d->mem, SIMHV_MEM_TRACK_API);
    xend_sxp_add_kv_int(c->reply, "npages", (long long)d->mem.npages);
    return 0;
}

static int op_dirty_read(struct call *c, struct xend_err *err)
{
    struct simhv_domain *d;
    long long npages = 0;
    int rc;
    if ((rc = arg_dom(c, &d, err)) < 0 ||
        (rc = arg_ll(c, "npages", 0, true, 0, 1ll << 28, &npages, err)) < 0)
        return rc;
    if (!simhv_mem_tracking(&d->mem, SIMHV_MEM_TRACK_API))
        return xend_err_set(err, XEND_EINVAL, "dirty tracking is not on for domain %u", d->domid);
    size_t nbytes = (size_t)(npages + 7) / 8;
    uint8_t *bits = xend_xmalloc(nbytes ? nbytes : 1);
    uint64_t count = simhv_mem_track_take(&d->mem, SIMHV_MEM_TRACK_API, bits, (uint64_t)npages);
    char *hex = xend_xmalloc(nbytes * 2 + 1);
    for (size_t i = 0; i < nbytes; i++)
        snprintf(hex + 2 * i, 3, "%02x", bits[i]);
    hex[nbytes * 2] = '\0';
    xend_sxp_add_kv_int(c->reply, "count", (long long)count);
    xend_sxp_add_kv(c->reply, "bitmap", hex);
    free(hex);
    free(bits);
    return 0;
}

static int op_dirty_end(struct call *c, struct xend_err *err)
{
    struct simhv_domain *d;
    int rc = arg_dom(c, &d, err);
    if (rc < 0)
        return rc;
    simhv_mem_track_end(&d->mem, SIMHV_MEM_TRACK_API);
    return 0;
}

static int op_mem_checksum(struct call *c, struct xend_err *err)
{
    struct simhv_domain *d;
    int rc = arg_dom(c, &d, err);
    if (rc < 0)
        return rc;
    xend_sxp_add_kv_take(c->reply, "checksum",
                         xend_sxp_atom_fmt("%016" PRIx64, simhv_mem_checksum(&d->mem)));
    xend_sxp_add_kv_int(c->reply, "pages", (long long)d->mem.present);
    return 0;
}

static int op_stop(struct call *c, struct xend_err *err)
{
    (void)err;
    c->res->action = SIMHV_ACT_STOP;
    return 0;
}

static const struct {
    const char *name;
    op_fn *fn;
} ops[] = {
    {"hello", op_hello},
    {"physinfo", op_physinfo},
    {"dmesg", op_dmesg},
    {"dom_create", op_dom_create},
    {"dom_build", op_dom_build},
    {"dom_make", op_dom_make},
    {"dom_confirm", op_dom_confirm},
    {"dom_pause", op_dom_pause},
    {"dom_unpause", op_dom_unpause},
    {"dom_shutdown", op_dom_shutdown},
    {"dom_destroy", op_dom_destroy},
    {"dom_info", op_dom_info},
    {"dom_list", op_dom_list},
    {"dom_set_maxmem", op_dom_set_maxmem},
    {"dom_set_target", op_dom_set_target},
    {"dom_pin_vcpu", op_dom_pin_vcpu},
    {"sched_set", op_sched_set},
    {"sched_get", op_sched_get},
    {"sched_node_set", op_sched_node_set},
    {"console", op_console},
    {"notify", op_notify},
    {"dev_attach", op_dev_attach},
    {"dev_detach", op_dev_detach},
    {"save", op_save},
    {"restore", op_restore},
    {"dirty_begin", op_dirty_begin},
    {"dirty_read", op_dirty_read},
    {"dirty_end", op_dirty_end},
    {"mem_checksum", op_mem_checksum},
    {"stop", op_stop},
};

void simhv_proto_handle(struct simhv_machine *m, const void *client, const char *line, size_t len,
                        uint64_t now_ns, struct xend_buf *out, struct simhv_proto_result *res)
{
    simhv_proto_handle_with(m, client, line, len, now_ns, false, out, res);
}

void simhv_proto_handle_with(struct simhv_machine *m, const void *client, const char *line,
                             size_t len, uint64_t now_ns, bool fd_passed, struct xend_buf *out,
                             struct simhv_proto_result *res)
{
    static const struct xend_sxp_limits limits = {
        .max_depth = 16, .max_nodes = 100000, .max_atom = (size_t)256 * 1024};
    struct xend_err err = {0};
    struct xend_sxp *req = NULL;
    long long id = 0;
    char msg[200];
    int rc;

    memset(res, 0, sizeof(*res));
    if (xend_sxp_parse(line, len, &limits, &req, msg, sizeof(msg)) < 0) {
        rc = xend_err_set(&err, XEND_EINVAL, "malformed request: %s", msg);
        goto reply;
    }
    const char *op = xend_sxp_name(req);
    const char *id_text = xend_sxp_atom_text(xend_sxp_nth(req, 1));
    if (op == NULL || id_text == NULL || !xend_sxp_text_int(id_text, &id) || id < 0) {
        id = 0;
        rc = xend_err_set(&err, XEND_EINVAL, "malformed request: want (OP ID (key value)...)");
        goto reply;
    }
    size_t i;
    for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strcmp(ops[i].name, op) == 0)
            break;
    if (i == sizeof(ops) / sizeof(ops[0])) {
        rc = xend_err_set(&err, XEND_ENOTSUP, "unknown request: %s", op);
        goto reply;
    }
    simhv_machine_advance(m, now_ns);
    struct call c = {
        .m = m, .client = client, .req = req, .res = res, .now_ns = now_ns, .fd_passed = fd_passed};
    c.reply = xend_sxp_list();
    xend_sxp_append_take(c.reply, xend_sxp_atom("ok"));
    xend_sxp_append_take(c.reply, xend_sxp_atom_int(id));
    rc = ops[i].fn(&c, &err);
    res->req_id = id;
    bool quiet = strcmp(xend_sxp_child_value(req, "quiet", "0"), "1") == 0;
    if (rc < 0 && quiet) {
        xend_sxp_free(c.reply);
        xend_buf_free(&c.tail);
        memset(res, 0, sizeof(*res));
        res->action = SIMHV_ACT_HANGUP;
        xend_sxp_free(req);
        return;
    }
    if (rc == 0 && res->action != SIMHV_ACT_RESTORE && !quiet) {
        put_line(out, c.reply);
        if (c.tail.len > 0) { /* "(ok ID ...)\n" becomes "(ok ID ... TAIL)\n" */
            out->len -= 2;
            xend_buf_append(out, c.tail.data, c.tail.len);
            xend_buf_puts(out, ")\n");
        }
    }
    xend_buf_free(&c.tail);
    xend_sxp_free(c.reply);
reply:
    if (rc < 0) {
        memset(res, 0, sizeof(*res));
        simhv_proto_reply(out, id, rc, &err, NULL, 0);
    }
    xend_sxp_free(req);
}
