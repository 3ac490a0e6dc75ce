/*
 * The simulated cpus' engine (simhv/sched.c), for every scheduler: the workload model,
 * paused domains, pinning, the running/last_cpu flags, speed, and creation errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "sim_helpers.h"

static const char *const scheds[] = {"rrobin", "bvt", "fbvt", "atropos"};
#define NSCHEDS (sizeof(scheds) / sizeof(scheds[0]))

static void paused_domain_gets_no_cpu(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSCHEDS; i++) {
        struct sim m;
        sim_init(&m, scheds[i], 1);
        struct simhv_vcpu *a = sim_add(&m, 1, 100), *b = sim_add(&m, 2, 100);
        b->runnable = false;
        simhv_sched_update(m.s, b);
        sim_run(&m, 2000 * MS);
        assert_int_equal(b->cpu_time_ns, 0);
        assert_false(b->running);
        assert_int_equal(a->cpu_time_ns, 2000 * MS);
        /* Unpaused it competes again; paused while running it stops at once. */
        b->runnable = true;
        simhv_sched_update(m.s, b);
        sim_run(&m, 4000 * MS);
        assert_true(b->cpu_time_ns > 500 * MS);
        a->runnable = false;
        simhv_sched_update(m.s, a);
        uint64_t a0 = a->cpu_time_ns;
        sim_run(&m, 5000 * MS);
        assert_int_equal(a->cpu_time_ns, a0);
        assert_false(a->running);
        assert_true(b->running);
        sim_free(&m);
    }
}

static void load_is_the_share_of_time_a_guest_wants(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSCHEDS; i++) {
        struct sim m;
        sim_init(&m, scheds[i], 1);
        struct simhv_vcpu *a = sim_add(&m, 1, 30), *idle = sim_add(&m, 2, 0);
        sim_run(&m, 10000 * MS);
        assert_int_equal(a->cpu_time_ns, 3000 * MS);
        assert_int_equal(idle->cpu_time_ns, 0);
        /* Between its bursts a guest is blocked, neither running nor charged. */
        sim_run(&m, 10050 * MS);
        assert_false(a->running);
        sim_free(&m);
    }
}

static void a_light_guest_gets_its_load_beside_a_busy_one(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSCHEDS; i++) {
        struct sim m;
        sim_init(&m, scheds[i], 1);
        struct simhv_vcpu *busy = sim_add(&m, 1, 100), *light = sim_add(&m, 2, 20);
        sim_run(&m, 10000 * MS);
        if (light->cpu_time_ns < 1900 * MS)
            fail_msg("%s: light guest got %.3f s of its 2 s", scheds[i], sim_secs(light));
        assert_int_equal(busy->cpu_time_ns + light->cpu_time_ns, 10000 * MS);
        sim_free(&m);
    }
}

static void pinned_vcpus_run_only_on_their_cpu(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSCHEDS; i++) {
        struct sim m;
        sim_init(&m, scheds[i], 2);
        struct simhv_vcpu *v[3];
        for (unsigned d = 0; d < 3; d++) {
            v[d] = &m.v[m.n++];
            v[d]->domid = d + 1;
            v[d]->load_pct = 100;
            v[d]->runnable = true;
            v[d]->pin = 1;
            simhv_sched_add(m.s, v[d]);
        }
        for (uint64_t t = MS; t <= 1000 * MS; t += MS) {
            sim_run(&m, t);
            unsigned running = 0;
            for (unsigned d = 0; d < 3; d++) {
                assert_int_equal(v[d]->last_cpu, 1);
                running += v[d]->running;
            }
            assert_int_equal(running, 1);
        }
        /* Unpinned, one moves to the idle cpu 0: two run at once from then on. */
        v[0]->pin = 0;
        simhv_sched_update(m.s, v[0]);
        uint64_t before = v[0]->cpu_time_ns;
        sim_run(&m, 2000 * MS);
        assert_int_equal(v[0]->cpu_time_ns - before, 1000 * MS);
        assert_int_equal(v[0]->last_cpu, 0);
        sim_free(&m);
    }
}

static void unpinned_vcpus_spread_over_cpus(void **state)
{
    (void)state;
    struct sim m;
    sim_init(&m, "bvt", 2);
    struct simhv_vcpu *a = sim_add(&m, 1, 100), *b = sim_add(&m, 2, 100);
    sim_run(&m, 1000 * MS);
    assert_int_equal(a->cpu_time_ns, 1000 * MS);
    assert_int_equal(b->cpu_time_ns, 1000 * MS);
    assert_int_not_equal(a->last_cpu, b->last_cpu);
    sim_free(&m);
}

static void removed_vcpu_frees_its_cpu(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSCHEDS; i++) {
        struct sim m;
        sim_init(&m, scheds[i], 1);
        struct simhv_vcpu *a = sim_add(&m, 1, 100), *b = sim_add(&m, 2, 100);
        sim_run(&m, 1000 * MS);
        simhv_sched_remove(m.s, a);
        assert_null(a->sched_priv);
        assert_false(a->running);
        uint64_t b0 = b->cpu_time_ns;
        sim_run(&m, 2000 * MS);
        assert_int_equal(b->cpu_time_ns - b0, 1000 * MS);
        sim_free(&m);
    }
}

static void unknown_scheduler_is_refused_by_name(void **state)
{
    (void)state;
    char err[256] = "";
    assert_null(simhv_sched_new("credit", 1, 10 * MS, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "credit"));
    for (size_t i = 0; i < NSCHEDS; i++) {
        struct simhv_sched *s = simhv_sched_new(scheds[i], 1, 10 * MS, 0, err, sizeof(err));
        assert_non_null(s);
        assert_string_equal(simhv_sched_name(s), scheds[i]);
        simhv_sched_free(s);
    }
}

static void ten_simulated_seconds_take_well_under_a_second(void **state)
{
    (void)state;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t i = 0; i < NSCHEDS; i++) {
        struct sim m;
        sim_init(&m, scheds[i], 2);
        for (uint32_t d = 1; d <= 6; d++)
            sim_add(&m, d, d % 2 ? 100 : 15 * d);
        /* As simhv drives it: many small steps. */
        for (uint64_t t = 0; t <= 10000 * MS; t += MS)
            sim_run(&m, t);
        uint64_t total = 0;
        for (unsigned d = 0; d < m.n; d++)
            total += m.v[d].cpu_time_ns;
        assert_true(total <= 2 * 10000 * MS);
        sim_free(&m);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    print_message("4 schedulers x 10 simulated s: %.3f s\n", secs);
    assert_true(secs < 2.0); /* generous: a shared machine, maybe under ASan */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(paused_domain_gets_no_cpu),
        cmocka_unit_test(load_is_the_share_of_time_a_guest_wants),
        cmocka_unit_test(a_light_guest_gets_its_load_beside_a_busy_one),
        cmocka_unit_test(pinned_vcpus_run_only_on_their_cpu),
        cmocka_unit_test(unpinned_vcpus_spread_over_cpus),
        cmocka_unit_test(removed_vcpu_frees_its_cpu),
        cmocka_unit_test(unknown_scheduler_is_refused_by_name),
        cmocka_unit_test(ten_simulated_seconds_take_well_under_a_second),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
