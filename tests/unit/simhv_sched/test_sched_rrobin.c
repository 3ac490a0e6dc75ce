/* Round robin in the simulated cpus (simhv/sched_rrobin.c): equal shares, the node slice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sim_helpers.h"

static void rrobin_gives_cpu_bound_domains_equal_shares(void **state)
{
    (void)state;
    struct sim m;
    sim_init(&m, "rrobin", 1);
    struct simhv_vcpu *v[3];
    for (unsigned i = 0; i < 3; i++)
        v[i] = sim_add(&m, i + 1, 100);
    sim_run(&m, 3000 * MS);
    /* 3 s in 10 ms slices taken in turn: exactly 1 s each. */
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(v[i]->cpu_time_ns, 1000 * MS);
    sim_free(&m);
}

static void rrobin_node_slice_sets_the_turn_length(void **state)
{
    (void)state;
    struct sim m;
    char err[256] = "";
    sim_init(&m, "rrobin", 1);
    struct simhv_sched_value v = {"slice", 30 * MS};
    assert_int_equal(simhv_sched_node_set(m.s, &v, 1, err, sizeof(err)), 0);
    struct simhv_vcpu *a = sim_add(&m, 1, 100), *b = sim_add(&m, 2, 100);
    sim_run(&m, 29 * MS);
    assert_true(a->running);
    assert_int_equal(b->cpu_time_ns, 0);
    sim_run(&m, 31 * MS);
    assert_true(b->running);
    assert_int_equal(a->cpu_time_ns, 30 * MS);
    sim_free(&m);
}

static void rrobin_rejects_a_bad_slice_naming_it(void **state)
{
    (void)state;
    struct sim m;
    char err[256] = "";
    sim_init(&m, "rrobin", 1);
    struct simhv_sched_value v = {"slice", 0};
    assert_int_equal(simhv_sched_node_set(m.s, &v, 1, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "slice"));
    struct simhv_sched_value got = {"slice", 0};
    assert_int_equal(simhv_sched_node_get(m.s, &got, 1, err, sizeof(err)), 0);
    assert_int_equal(got.value, 10 * (int64_t)MS);
    /* Round robin has no per-domain parameters. */
    struct simhv_vcpu *a = sim_add(&m, 1, 100);
    err[0] = '\0';
    assert_int_equal(sim_try_set(&m, a, "mcuadv", 10, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "mcuadv"));
    sim_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rrobin_gives_cpu_bound_domains_equal_shares),
        cmocka_unit_test(rrobin_node_slice_sets_the_turn_length),
        cmocka_unit_test(rrobin_rejects_a_bad_slice_naming_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
