/* The scheduler tests' harness (sim_helpers.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sim_helpers.h"

void sim_init(struct sim *m, const char *sched, unsigned ncpus)
{
    char err[256] = "";
    memset(m, 0, sizeof(*m));
    m->s = simhv_sched_new(sched, ncpus, 10 * MS, 0, err, sizeof(err));
    if (m->s == NULL)
        fail_msg("simhv_sched_new(%s): %s", sched, err);
}

void sim_free(struct sim *m)
{
    for (unsigned i = 0; i < m->n; i++)
        simhv_sched_remove(m->s, &m->v[i]);
    simhv_sched_free(m->s);
}

struct simhv_vcpu *sim_add(struct sim *m, uint32_t domid, unsigned load_pct)
{
    assert_true(m->n < SIM_MAX_VCPUS);
    struct simhv_vcpu *v = &m->v[m->n++];
    v->domid = domid;
    v->load_pct = load_pct;
    v->runnable = true;
    v->pin = -1;
    simhv_sched_add(m->s, v);
    assert_non_null(v->sched_priv);
    return v;
}

int sim_try_set(struct sim *m, struct simhv_vcpu *v, const char *name, int64_t value, char *err,
                size_t err_len)
{
    struct simhv_sched_value val = {name, value};
    return simhv_sched_set(m->s, v, &val, 1, err, err_len);
}

void sim_set(struct sim *m, struct simhv_vcpu *v, const char *name, int64_t value)
{
    char err[256] = "";
    if (sim_try_set(m, v, name, value, err, sizeof(err)) != 0)
        fail_msg("set %s=%lld: %s", name, (long long)value, err);
}

int64_t sim_get(struct sim *m, struct simhv_vcpu *v, const char *name)
{
    char err[256] = "";
    struct simhv_sched_value val = {name, -1};
    if (simhv_sched_get(m->s, v, &val, 1, err, sizeof(err)) != 0)
        fail_msg("get %s: %s", name, err);
    return val.value;
}

void sim_run(struct sim *m, uint64_t until_ns)
{
    simhv_sched_advance(m->s, until_ns);
}

double sim_secs(const struct simhv_vcpu *v)
{
    return (double)v->cpu_time_ns / 1e9;
}
