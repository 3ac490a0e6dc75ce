/*
 * The simulated cpus' engine: the clock, the guests' demand, the per-cpu runqueues, and the
 * dispatch to one scheduling class (sched_rrobin.c, sched_bvt.c, sched_fbvt.c,
 * sched_atropos.c) through struct sched_class.
 *
 * Simulation is event by event, not tick by tick: between two events (a class's decision
 * time, a guest finishing its work, a guest's next window) nothing changes, so
 * simhv_sched_advance jumps from one to the next and charges the running vcpus exactly.
 *
 * Workload model: a guest with load L (1..99) needs L% of every SIMHV_SCHED_WINDOW_NS of
 * wall time as work; its windows start when it becomes runnable. It wants the cpu until the
 * work of the current window is done, then blocks until the next window starts; work not
 * done by the end of a window is dropped (demand is per window, not a backlog). L = 100
 * never blocks, L = 0 never wants the cpu.
 *
 * Placement follows Xen 2.0: a vcpu lives on one cpu's runqueue, its pin if it has a valid
 * one, else the cpu with the fewest vcpus when it was added; there is no load balancing.
 *
 * Never touches sockets, files or the real clock.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched_class.h"

#define MAX_PARAMS 8

static const struct sched_class *const classes[] = {
    &simhv_sched_rrobin,
    &simhv_sched_bvt,
    &simhv_sched_fbvt,
    &simhv_sched_atropos,
};

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t err_len, const char *fmt,
                                                      ...)
{
    if (err != NULL && err_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static void set_defaults(const struct sched_param *tab, size_t n, void *base)
{
    for (size_t i = 0; i < n; i++)
        *sched_field(base, &tab[i]) = tab[i].dflt;
}

struct simhv_sched *simhv_sched_new(const char *name, unsigned ncpus, uint64_t slice_ns,
                                    uint64_t now_ns, char *err, size_t err_len)
{
    const struct sched_class *cls = NULL;
    for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
        if (name != NULL && strcmp(classes[i]->name, name) == 0)
            cls = classes[i];
    if (cls == NULL) {
        fail(err, err_len, "unknown scheduler %s (rrobin, bvt, fbvt or atropos)",
             name != NULL ? name : "(none)");
        return NULL;
    }
    if (ncpus == 0) {
        fail(err, err_len, "a scheduler needs at least one cpu");
        return NULL;
    }
    struct simhv_sched *s = calloc(1, sizeof(*s));
    if (s == NULL)
        goto nomem;
    s->cls = cls;
    s->ncpus = ncpus;
    s->now = now_ns;
    s->slice_ns = slice_ns;
    s->cpus = calloc(ncpus, sizeof(*s->cpus));
    s->priv = calloc(1, cls->gpriv_size > 0 ? cls->gpriv_size : 1);
    if (s->cpus == NULL || s->priv == NULL)
        goto nomem;
    for (unsigned c = 0; c < ncpus; c++) {
        s->cpus[c].priv = calloc(1, cls->cpriv_size > 0 ? cls->cpriv_size : 1);
        if (s->cpus[c].priv == NULL)
            goto nomem;
        s->cpus[c].since = now_ns;
        s->cpus[c].decide_at = SCHED_NEVER;
    }
    set_defaults(cls->node_params, cls->nnode_params, s->priv);
    if (cls->init != NULL)
        cls->init(s);
    return s;
nomem:
    simhv_sched_free(s);
    fail(err, err_len, "out of memory");
    return NULL;
}

/* The vcpus still added are freed too; their simhv_vcpu is not touched (it may be gone). */
void simhv_sched_free(struct simhv_sched *s)
{
    if (s == NULL)
        return;
    for (unsigned c = 0; s->cpus != NULL && c < s->ncpus; c++) {
        for (size_t i = 0; i < s->cpus[c].n; i++)
            free(s->cpus[c].vcpus[i]);
        free(s->cpus[c].vcpus);
        free(s->cpus[c].act);
        free(s->cpus[c].priv);
    }
    free(s->cpus);
    free(s->priv);
    free(s);
}

const char *simhv_sched_name(const struct simhv_sched *s)
{
    return s->cls->name;
}

/* --- runqueues ---------------------------------------------------------------------- */

static unsigned home_cpu(const struct simhv_sched *s, const struct simhv_vcpu *v)
{
    if (v->pin >= 0 && (unsigned)v->pin < s->ncpus)
        return (unsigned)v->pin;
    unsigned best = 0;
    for (unsigned c = 1; c < s->ncpus; c++)
        if (s->cpus[c].n < s->cpus[best].n)
            best = c;
    return best;
}

/* Never grows: cpu_attach keeps act as large as vcpus, and only attached vcpus are active. */
static void act_add(struct sched_cpu *cpu, struct sched_vcpu *sv)
{
    cpu->act[cpu->nactive++] = sv;
}

static void act_remove(struct sched_cpu *cpu, struct sched_vcpu *sv)
{
    for (size_t i = 0; i < cpu->nactive; i++) {
        if (cpu->act[i] == sv) {
            cpu->act[i] = cpu->act[--cpu->nactive];
            return;
        }
    }
}

static int cpu_attach(struct simhv_sched *s, struct sched_vcpu *sv, unsigned c)
{
    struct sched_cpu *cpu = &s->cpus[c];
    if (cpu->n == cpu->cap) {
        size_t cap = cpu->cap > 0 ? cpu->cap * 2 : 8;
        struct sched_vcpu **a = realloc(cpu->vcpus, cap * sizeof(*a));
        if (a == NULL)
            return -1;
        cpu->vcpus = a;
        a = realloc(cpu->act, cap * sizeof(*a));
        if (a == NULL)
            return -1;
        cpu->act = a;
        cpu->cap = cap;
    }
    cpu->vcpus[cpu->n++] = sv;
    if (sv->active)
        act_add(cpu, sv);
    sv->cpu = c;
    return 0;
}

/* Keeps the order of the others: classes break ties by it. */
static void cpu_detach(struct simhv_sched *s, struct sched_vcpu *sv)
{
    struct sched_cpu *cpu = &s->cpus[sv->cpu];
    for (size_t i = 0; i < cpu->n; i++) {
        if (cpu->vcpus[i] == sv) {
            memmove(&cpu->vcpus[i], &cpu->vcpus[i + 1], (cpu->n - i - 1) * sizeof(sv));
            cpu->n--;
            if (sv->active)
                act_remove(cpu, sv);
            break;
        }
    }
    if (cpu->curr == sv) {
        cpu->curr = NULL;
        cpu->decide_at = s->now;
    }
    sv->v->running = false;
}

static void set_wants(struct simhv_sched *s, struct sched_vcpu *sv, bool wants)
{
    if (sv->wants == wants)
        return;
    struct sched_cpu *cpu = &s->cpus[sv->cpu];
    sv->wants = wants;
    if (wants) {
        sv->fifo = ++s->seq;
        uint64_t at = s->cls->wake(s, sv);
        if (cpu->curr == NULL || cpu->curr == sv)
            at = s->now;
        if (at < cpu->decide_at)
            cpu->decide_at = at < s->now ? s->now : at;
    } else {
        if (s->cls->sleep != NULL)
            s->cls->sleep(s, sv);
        if (cpu->curr == sv)
            cpu->decide_at = s->now;
    }
}

/* --- workload ----------------------------------------------------------------------- */

static bool cpu_bound(const struct sched_vcpu *sv)
{
    return sv->load >= 100;
}

static void start_window(struct simhv_sched *s, struct sched_vcpu *sv)
{
    sv->window_end = s->now + SIMHV_SCHED_WINDOW_NS;
    sv->work_left = SIMHV_SCHED_WINDOW_NS / 100 * sv->load;
}

/* Bring the engine's view of v (runnable, load, pin) up to date at s->now. */
static void sync_vcpu(struct simhv_sched *s, struct sched_vcpu *sv)
{
    struct simhv_vcpu *v = sv->v;
    unsigned load = v->load_pct > 100 ? 100 : v->load_pct;

    if (v->pin != sv->pin) {
        sv->pin = v->pin;
        /* A new pin moves it; losing the pin leaves it where it is (no balancing). */
        unsigned c = v->pin >= 0 && (unsigned)v->pin < s->ncpus ? (unsigned)v->pin : sv->cpu;
        if (c != sv->cpu) {
            bool was = sv->wants;
            set_wants(s, sv, false);
            cpu_detach(s, sv);
            if (cpu_attach(s, sv, c) != 0) /* no memory: stay where it was */
                cpu_attach(s, sv, sv->cpu);
            if (s->cls->attach != NULL)
                s->cls->attach(s, sv, false);
            set_wants(s, sv, was);
        }
    }
    bool active = v->runnable && load > 0;
    if (active == sv->active && load == sv->load && v->runnable == sv->runnable)
        return;
    sv->runnable = v->runnable;
    if (active != sv->active) {
        if (active)
            act_add(&s->cpus[sv->cpu], sv);
        else
            act_remove(&s->cpus[sv->cpu], sv);
    }
    sv->active = active;
    sv->load = load;
    if (active)
        start_window(s, sv);
    set_wants(s, sv, active);
}

void simhv_sched_add(struct simhv_sched *s, struct simhv_vcpu *v)
{
    struct sched_vcpu *sv = calloc(1, sizeof(*sv) + s->cls->vpriv_size);
    if (sv == NULL)
        return; /* it simply never runs: the domain model has bigger problems */
    sv->v = v;
    sv->pin = v->pin;
    set_defaults(s->cls->params, s->cls->nparams, sv->priv);
    if (cpu_attach(s, sv, home_cpu(s, v)) != 0) {
        free(sv);
        return;
    }
    v->sched_priv = sv;
    v->running = false;
    v->last_cpu = (int)sv->cpu;
    if (s->cls->attach != NULL)
        s->cls->attach(s, sv, true);
    sync_vcpu(s, sv);
}

void simhv_sched_remove(struct simhv_sched *s, struct simhv_vcpu *v)
{
    struct sched_vcpu *sv = v->sched_priv;
    if (sv == NULL)
        return;
    set_wants(s, sv, false);
    cpu_detach(s, sv);
    free(sv);
    v->sched_priv = NULL;
}

void simhv_sched_update(struct simhv_sched *s, struct simhv_vcpu *v)
{
    if (v->sched_priv != NULL)
        sync_vcpu(s, v->sched_priv);
}

/* --- the clock ---------------------------------------------------------------------- */

/* Charge what cpu c's current vcpu ran since it was last charged, up to s->now. */
static void settle(struct simhv_sched *s, struct sched_cpu *cpu)
{
    struct sched_vcpu *sv = cpu->curr;
    if (sv != NULL && s->now > cpu->since) {
        uint64_t ran = s->now - cpu->since;
        sv->v->cpu_time_ns += ran;
        sv->work_left -= ran < sv->work_left ? ran : sv->work_left;
        if (s->cls->charge != NULL)
            s->cls->charge(s, sv, ran);
    }
    cpu->since = s->now;
}

static void schedule(struct simhv_sched *s, unsigned c)
{
    struct sched_cpu *cpu = &s->cpus[c];
    struct sched_vcpu *prev = cpu->curr;
    if (prev != NULL) {
        prev->v->running = false;
        if (prev->wants)
            prev->fifo = ++s->seq; /* back of the queue, as Xen re-adds prev at the tail */
    }
    uint64_t run = SCHED_NEVER;
    struct sched_vcpu *next = s->cls->pick(s, c, &run);
    cpu->curr = next;
    cpu->since = s->now;
    if (run == 0)
        run = 1;
    cpu->decide_at = run >= SCHED_NEVER - s->now ? SCHED_NEVER : s->now + run;
    if (next != NULL) {
        next->v->running = true;
        next->v->last_cpu = (int)c;
    }
}

static uint64_t next_event(const struct simhv_sched *s)
{
    uint64_t t = SCHED_NEVER;
    for (unsigned c = 0; c < s->ncpus; c++) {
        const struct sched_cpu *cpu = &s->cpus[c];
        if (cpu->decide_at < t)
            t = cpu->decide_at;
        if (cpu->curr != NULL && cpu->curr->wants && !cpu_bound(cpu->curr) &&
            cpu->since + cpu->curr->work_left < t)
            t = cpu->since + cpu->curr->work_left;
        for (size_t i = 0; i < cpu->nactive; i++) {
            const struct sched_vcpu *sv = cpu->act[i];
            if (!cpu_bound(sv) && sv->window_end < t)
                t = sv->window_end;
        }
    }
    return t;
}

static void process(struct simhv_sched *s, uint64_t t)
{
    s->now = t;
    for (unsigned c = 0; c < s->ncpus; c++)
        settle(s, &s->cpus[c]);
    /* New windows first: a guest whose window ends as its work does keeps running. */
    for (unsigned c = 0; c < s->ncpus; c++) {
        struct sched_cpu *cpu = &s->cpus[c];
        for (size_t i = 0; cpu->nactive > 0 && i < cpu->n; i++) {
            struct sched_vcpu *sv = cpu->vcpus[i];
            if (sv->active && !cpu_bound(sv) && sv->window_end <= t) {
                start_window(s, sv);
                set_wants(s, sv, true);
            }
        }
    }
    for (unsigned c = 0; c < s->ncpus; c++) {
        struct sched_vcpu *sv = s->cpus[c].curr;
        if (sv != NULL && sv->wants && !cpu_bound(sv) && sv->work_left == 0)
            set_wants(s, sv, false);
    }
    for (unsigned c = 0; c < s->ncpus; c++)
        if (s->cpus[c].decide_at <= t)
            schedule(s, c);
}

void simhv_sched_advance(struct simhv_sched *s, uint64_t now_ns)
{
    if (now_ns < s->now)
        now_ns = s->now;
    for (;;) {
        uint64_t t = next_event(s);
        if (t > now_ns)
            break;
        process(s, t);
    }
    s->now = now_ns;
    for (unsigned c = 0; c < s->ncpus; c++)
        settle(s, &s->cpus[c]);
}

/* --- parameters --------------------------------------------------------------------- */

static const struct sched_param *find_param(const struct sched_param *tab, size_t n,
                                            const char *name, size_t *idx)
{
    for (size_t i = 0; name != NULL && i < n; i++) {
        if (strcmp(tab[i].name, name) == 0) {
            *idx = i;
            return &tab[i];
        }
    }
    return NULL;
}

/* Current values with the given ones merged in, range-checked, into vals (table order). */
static int merge_values(const char *sched, const struct sched_param *tab, size_t ntab, void *base,
                        const char *what, const struct simhv_sched_value *values, size_t n,
                        int64_t *vals, char *err, size_t err_len)
{
    for (size_t i = 0; i < ntab; i++)
        vals[i] = *sched_field(base, &tab[i]);
    for (size_t i = 0; i < n; i++) {
        size_t idx;
        const struct sched_param *p = find_param(tab, ntab, values[i].name, &idx);
        if (p == NULL)
            return fail(err, err_len, "%s has no %s parameter %s", sched, what,
                        values[i].name != NULL ? values[i].name : "(null)");
        if (values[i].value < p->min || values[i].value > p->max)
            return fail(err, err_len,
                        "%s: %s must be between %" PRId64 " and %" PRId64 " (got %" PRId64 ")",
                        sched, p->name, p->min, p->max, values[i].value);
        vals[idx] = values[i].value;
    }
    return 0;
}

int simhv_sched_set(struct simhv_sched *s, struct simhv_vcpu *v,
                    const struct simhv_sched_value *values, size_t n, char *err, size_t err_len)
{
    const struct sched_class *cls = s->cls;
    struct sched_vcpu *sv = v->sched_priv;
    int64_t vals[MAX_PARAMS];
    if (sv == NULL)
        return fail(err, err_len, "domain %" PRIu32 " has no scheduler state", v->domid);
    if (merge_values(cls->name, cls->params, cls->nparams, sv->priv, "domain", values, n, vals, err,
                     err_len) != 0)
        return -1;
    if (cls->validate != NULL && cls->validate(vals, err, err_len) != 0)
        return -1;
    for (size_t i = 0; i < cls->nparams; i++)
        *sched_field(sv->priv, &cls->params[i]) = vals[i];
    if (cls->changed != NULL)
        cls->changed(s, sv);
    return 0;
}

static int get_values(const char *sched, const struct sched_param *tab, size_t ntab, void *base,
                      const char *what, struct simhv_sched_value *values, size_t n, char *err,
                      size_t err_len)
{
    for (size_t i = 0; i < n; i++) {
        size_t idx;
        const struct sched_param *p = find_param(tab, ntab, values[i].name, &idx);
        if (p == NULL)
            return fail(err, err_len, "%s has no %s parameter %s", sched, what,
                        values[i].name != NULL ? values[i].name : "(null)");
        values[i].value = *sched_field(base, p);
    }
    return 0;
}

int simhv_sched_get(struct simhv_sched *s, struct simhv_vcpu *v, struct simhv_sched_value *values,
                    size_t n, char *err, size_t err_len)
{
    struct sched_vcpu *sv = v->sched_priv;
    if (sv == NULL)
        return fail(err, err_len, "domain %" PRIu32 " has no scheduler state", v->domid);
    return get_values(s->cls->name, s->cls->params, s->cls->nparams, sv->priv, "domain", values, n,
                      err, err_len);
}

int simhv_sched_node_set(struct simhv_sched *s, const struct simhv_sched_value *values, size_t n,
                         char *err, size_t err_len)
{
    const struct sched_class *cls = s->cls;
    int64_t vals[MAX_PARAMS];
    if (merge_values(cls->name, cls->node_params, cls->nnode_params, s->priv, "node", values, n,
                     vals, err, err_len) != 0)
        return -1;
    /* Takes effect at each cpu's next decision, as in Xen. */
    for (size_t i = 0; i < cls->nnode_params; i++)
        *sched_field(s->priv, &cls->node_params[i]) = vals[i];
    return 0;
}

int simhv_sched_node_get(struct simhv_sched *s, struct simhv_sched_value *values, size_t n,
                         char *err, size_t err_len)
{
    return get_values(s->cls->name, s->cls->node_params, s->cls->nnode_params, s->priv, "node",
                      values, n, err, err_len);
}
