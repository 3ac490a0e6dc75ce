/*
 * Atropos in the simulated cpus (simhv/sched_atropos.c): the Nemesis guarantee (slice ns
 * in every period ns, earliest deadline first), slack only to xtratime domains, the
 * latency bound after a long block, and the cross-parameter validation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sim_helpers.h"

static void set_contract(struct sim *m, struct simhv_vcpu *v, uint64_t period, uint64_t slice,
                         int64_t xtratime)
{
    struct simhv_sched_value vals[] = {
        {"period", (int64_t)period},
        {"slice", (int64_t)slice},
        {"latency", (int64_t)period},
        {"xtratime", xtratime},
    };
    char err[256] = "";
    if (simhv_sched_set(m->s, v, vals, 4, err, sizeof(err)) != 0)
        fail_msg("%s", err);
}

static void atropos_guarantees_each_domain_its_slice_every_period(void **state)
{
    (void)state;
    struct sim m;
    sim_init(&m, "atropos", 1);
    /* sum(slice/period) = 0.25 + 0.2 + 0.3 + 0.2 = 0.95, all cpu-bound, periods differ. */
    const struct {
        uint64_t period, slice;
        int64_t xtra;
    } c[] = {
        {40 * MS, 10 * MS, 0},
        {100 * MS, 20 * MS, 1},
        {50 * MS, 15 * MS, 0},
        {30 * MS, 6 * MS, 1},
    };
    const unsigned n = sizeof(c) / sizeof(c[0]);
    struct simhv_vcpu *v[4];
    uint64_t last[4] = {0};
    for (unsigned i = 0; i < n; i++) {
        v[i] = sim_add(&m, i + 1, 100);
        set_contract(&m, v[i], c[i].period, c[i].slice, c[i].xtra);
    }
    /* Every period of every domain over 3 s: periods start at 0, when the contracts were set. */
    for (uint64_t t = MS; t <= 3000 * MS; t += MS) {
        sim_run(&m, t);
        for (unsigned i = 0; i < n; i++) {
            if (t % c[i].period != 0)
                continue;
            uint64_t got = v[i]->cpu_time_ns - last[i];
            if (got < c[i].slice)
                fail_msg("domain %u got %llu ns in the period ending at %llu ms, slice %llu", i + 1,
                         (unsigned long long)got, (unsigned long long)(t / MS),
                         (unsigned long long)c[i].slice);
            last[i] = v[i]->cpu_time_ns;
        }
    }
    /* The 5% nobody is guaranteed went to the xtratime domains only. */
    assert_int_equal(v[0]->cpu_time_ns, 3000 * MS / 4);
    assert_int_equal(v[2]->cpu_time_ns, 3000 * MS * 3 / 10);
    sim_free(&m);
}

static void atropos_gives_slack_only_to_xtratime_domains(void **state)
{
    (void)state;
    struct sim m;
    sim_init(&m, "atropos", 1);
    struct simhv_vcpu *a = sim_add(&m, 1, 100), *b = sim_add(&m, 2, 100), *c = sim_add(&m, 3, 100);
    set_contract(&m, a, 100 * MS, 20 * MS, 1);
    set_contract(&m, b, 100 * MS, 20 * MS, 1);
    set_contract(&m, c, 100 * MS, 20 * MS, 0);
    sim_run(&m, 10000 * MS);
    /* c has exactly its guarantee; the 40% slack is shared round robin by a and b. */
    assert_int_equal(c->cpu_time_ns, 2000 * MS);
    assert_int_equal(a->cpu_time_ns + b->cpu_time_ns, 8000 * MS);
    assert_in_range(a->cpu_time_ns, 3950 * MS, 4050 * MS);
    sim_free(&m);
}

static void atropos_leaves_the_cpu_idle_rather_than_give_slack_to_others(void **state)
{
    (void)state;
    struct sim m;
    sim_init(&m, "atropos", 1);
    struct simhv_vcpu *a = sim_add(&m, 1, 100);
    set_contract(&m, a, 100 * MS, 30 * MS, 0);
    sim_run(&m, 1000 * MS);
    assert_int_equal(a->cpu_time_ns, 300 * MS);
    sim_free(&m);
}

/*
 * A domain that sleeps past its deadline gets, on waking, a deadline `latency` away (and
 * a slice scaled to it), so under EDF it runs within its latency even against a busy
 * domain with a large guarantee.
 */
static void atropos_woken_domain_runs_within_its_latency(void **state)
{
    (void)state;
    struct sim m;
    sim_init(&m, "atropos", 1);
    struct simhv_vcpu *io = sim_add(&m, 1, 5), *busy = sim_add(&m, 2, 100);
    set_contract(&m, busy, 100 * MS, 80 * MS, 1);
    struct simhv_sched_value vals[] = {
        {"period", 50 * MS}, {"slice", 10 * MS}, {"latency", 4 * MS}, {"xtratime", 0}};
    char err[256] = "";
    assert_int_equal(simhv_sched_set(m.s, io, vals, 4, err, sizeof(err)), 0);
    uint64_t worst = 0;
    for (unsigned k = 1; k <= 30; k++) {
        uint64_t wake = k * SIMHV_SCHED_WINDOW_NS, t = wake;
        sim_run(&m, t);
        while (!io->running) {
            t += 100000;
            assert_true(t < wake + SIMHV_SCHED_WINDOW_NS);
            sim_run(&m, t);
        }
        if (t - wake > worst)
            worst = t - wake;
    }
    assert_true(worst <= 4 * MS);
    /* It still gets its 5% of work done every window. */
    sim_run(&m, 31 * SIMHV_SCHED_WINDOW_NS);
    assert_true(io->cpu_time_ns >= 31 * 5 * MS - 1 * MS);
    sim_free(&m);
}

static void atropos_validation_errors_name_the_parameter(void **state)
{
    (void)state;
    struct sim m;
    char err[256];
    sim_init(&m, "atropos", 1);
    struct simhv_vcpu *a = sim_add(&m, 1, 100);

    struct simhv_sched_value slice_big[] = {{"period", 10 * MS}, {"slice", 20 * MS}};
    err[0] = '\0';
    assert_int_equal(simhv_sched_set(m.s, a, slice_big, 2, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "slice"));

    struct simhv_sched_value lat_big[] = {
        {"period", 10 * MS}, {"slice", 1 * MS}, {"latency", 20 * MS}};
    err[0] = '\0';
    assert_int_equal(simhv_sched_set(m.s, a, lat_big, 3, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "latency"));

    err[0] = '\0';
    assert_int_equal(sim_try_set(&m, a, "period", 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "period"));
    err[0] = '\0';
    assert_int_equal(sim_try_set(&m, a, "slice", -1, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "slice"));
    err[0] = '\0';
    assert_int_equal(sim_try_set(&m, a, "xtratime", 2, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "xtratime"));

    /* Nothing changed: Xen 2.0's defaults for a domain other than 0. */
    assert_int_equal(sim_get(&m, a, "period"), 10000 * (int64_t)MS);
    assert_int_equal(sim_get(&m, a, "slice"), 10 * (int64_t)MS);
    assert_int_equal(sim_get(&m, a, "latency"), 10000 * (int64_t)MS);
    assert_int_equal(sim_get(&m, a, "xtratime"), 1);
    sim_free(&m);
}

static void atropos_domain_0_gets_xen_2_0s_guarantee(void **state)
{
    (void)state;
    struct sim m;
    sim_init(&m, "atropos", 1);
    struct simhv_vcpu *d0 = sim_add(&m, 0, 100);
    assert_int_equal(sim_get(&m, d0, "period"), 20 * (int64_t)MS);
    assert_int_equal(sim_get(&m, d0, "slice"), 15 * (int64_t)MS);
    assert_int_equal(sim_get(&m, d0, "latency"), 5 * (int64_t)MS);
    /* Against three best-effort domains it keeps its 75%. */
    for (uint32_t d = 1; d <= 3; d++)
        sim_add(&m, d, 100);
    sim_run(&m, 1000 * MS);
    assert_true(d0->cpu_time_ns >= 750 * MS);
    sim_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(atropos_guarantees_each_domain_its_slice_every_period),
        cmocka_unit_test(atropos_gives_slack_only_to_xtratime_domains),
        cmocka_unit_test(atropos_leaves_the_cpu_idle_rather_than_give_slack_to_others),
        cmocka_unit_test(atropos_woken_domain_runs_within_its_latency),
        cmocka_unit_test(atropos_validation_errors_name_the_parameter),
        cmocka_unit_test(atropos_domain_0_gets_xen_2_0s_guarantee),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
