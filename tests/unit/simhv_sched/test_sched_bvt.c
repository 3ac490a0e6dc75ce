/*
 * BVT in the simulated cpus (simhv/sched_bvt.c) against Duda & Cheriton's claims: shares
 * proportional to weight (1/mcuadv), and warp cutting a latency-sensitive domain's
 * dispatch latency, on simulated workloads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sim_helpers.h"

/* Two cpu-bound domains on one cpu for 10 s; returns a's cpu time / b's. */
static double share_ratio(const char *sched, int64_t adv_a, int64_t adv_b)
{
    struct sim m;
    sim_init(&m, sched, 1);
    struct simhv_vcpu *a = sim_add(&m, 1, 100), *b = sim_add(&m, 2, 100);
    sim_set(&m, a, "mcuadv", adv_a);
    sim_set(&m, b, "mcuadv", adv_b);
    sim_run(&m, 10000 * MS);
    /* One cpu, always busy: nothing lost, nothing invented. */
    assert_int_equal(a->cpu_time_ns + b->cpu_time_ns, 10000 * MS);
    double r = (double)a->cpu_time_ns / (double)b->cpu_time_ns;
    sim_free(&m);
    return r;
}

static void assert_within(double got, double want, double rel)
{
    if (got < want * (1 - rel) || got > want * (1 + rel))
        fail_msg("got %.4f, want %.4f within %.0f%%", got, want, rel * 100);
}

static void bvt_shares_cpu_in_proportion_to_inverse_mcuadv(void **state)
{
    (void)state;
    assert_within(share_ratio("bvt", 10, 10), 1.0, 0.02);
    assert_within(share_ratio("bvt", 10, 20), 2.0, 0.02);
    assert_within(share_ratio("bvt", 10, 30), 3.0, 0.02);
    assert_within(share_ratio("bvt", 25, 5), 0.2, 0.02);
}

static void fbvt_shares_cpu_in_proportion_to_inverse_mcuadv(void **state)
{
    (void)state;
    assert_within(share_ratio("fbvt", 10, 20), 2.0, 0.02);
    assert_within(share_ratio("fbvt", 30, 10), 1.0 / 3, 0.02);
}

struct latency {
    double mean_ns;
    uint64_t max_ns;
};

/*
 * A latency-sensitive domain (20% load: it wakes every 100 ms window) among three
 * cpu-bound ones, all of equal weight; its dispatch latency is the time from each wake to
 * its first run, sampled every 20 us over 50 windows after a warm-up.
 */
static struct latency dispatch_latency(const char *sched, bool warp)
{
    struct sim m;
    sim_init(&m, sched, 1);
    struct simhv_vcpu *io = sim_add(&m, 1, 20);
    for (uint32_t d = 2; d <= 4; d++)
        sim_add(&m, d, 100);
    if (warp) {
        sim_set(&m, io, "warpback", 1);
        sim_set(&m, io, "warpvalue", 1000); /* 100 MCUs: far more than ctx_allow's 50 */
    }
    struct latency l = {0, 0};
    uint64_t total = 0;
    const unsigned first = 10, windows = 50;
    for (unsigned k = first; k < first + windows; k++) {
        uint64_t wake = k * SIMHV_SCHED_WINDOW_NS, t = wake;
        sim_run(&m, t);
        while (!io->running) {
            t += 20000;
            assert_true(t < wake + SIMHV_SCHED_WINDOW_NS);
            sim_run(&m, t);
        }
        total += t - wake;
        if (t - wake > l.max_ns)
            l.max_ns = t - wake;
    }
    l.mean_ns = (double)total / windows;
    sim_free(&m);
    return l;
}

static void bvt_warp_cuts_dispatch_latency(void **state)
{
    (void)state;
    struct latency plain = dispatch_latency("bvt", false);
    struct latency warped = dispatch_latency("bvt", true);
    print_message("bvt dispatch latency: unwarped mean %.0f us max %.0f us, "
                  "warped mean %.0f us max %.0f us\n",
                  plain.mean_ns / 1e3, plain.max_ns / 1e3, warped.mean_ns / 1e3,
                  warped.max_ns / 1e3);
    /*
     * Unwarped, a woken domain waits until the runner is ahead of it by the context-switch
     * allowance (up to ctx_allow, 5 ms). Warped by more than that allowance, it preempts at
     * once: the paper's point.
     */
    assert_true(plain.mean_ns >= 1000000);
    assert_true(warped.max_ns <= 20000);
    assert_true(warped.mean_ns * 10 < plain.mean_ns);
}

/*
 * FBVT resumes a sleeper slightly before SVT (its I/O warp), so even unwarped it gets
 * dispatch precedence that plain BVT does not give; warping still works on top.
 */
static void fbvt_gives_sleepers_dispatch_precedence(void **state)
{
    (void)state;
    struct latency bvt = dispatch_latency("bvt", false);
    struct latency plain = dispatch_latency("fbvt", false);
    struct latency warped = dispatch_latency("fbvt", true);
    print_message("fbvt dispatch latency: unwarped mean %.0f us, warped mean %.0f us\n",
                  plain.mean_ns / 1e3, warped.mean_ns / 1e3);
    assert_true(plain.mean_ns * 10 < bvt.mean_ns);
    assert_true(warped.max_ns <= 20000);
}

/* The warp limit: a cpu-bound warped domain gets no more than its share in the long run. */
static void bvt_warp_does_not_change_long_term_share(void **state)
{
    (void)state;
    struct sim m;
    sim_init(&m, "bvt", 1);
    struct simhv_vcpu *a = sim_add(&m, 1, 100), *b = sim_add(&m, 2, 100);
    sim_set(&m, a, "warpback", 1);
    sim_set(&m, a, "warpvalue", 100000);
    sim_set(&m, a, "warpl", 50);
    sim_set(&m, a, "warpu", 200);
    sim_run(&m, 10000 * MS);
    assert_within((double)a->cpu_time_ns / (double)b->cpu_time_ns, 1.0, 0.05);
    sim_free(&m);
}

static void bvt_new_parameters_move_the_share(void **state)
{
    (void)state;
    struct sim m;
    sim_init(&m, "bvt", 1);
    struct simhv_vcpu *a = sim_add(&m, 1, 100), *b = sim_add(&m, 2, 100);
    sim_run(&m, 2000 * MS);
    assert_within((double)a->cpu_time_ns / (double)b->cpu_time_ns, 1.0, 0.02);
    uint64_t a0 = a->cpu_time_ns, b0 = b->cpu_time_ns;
    sim_set(&m, b, "mcuadv", 40);
    sim_run(&m, 12000 * MS);
    assert_within((double)(a->cpu_time_ns - a0) / (double)(b->cpu_time_ns - b0), 4.0, 0.02);
    sim_free(&m);
}

static void bvt_ctx_allow_sets_how_long_a_domain_keeps_the_cpu(void **state)
{
    (void)state;
    const int64_t allow[] = {1 * MS, 20 * MS};
    unsigned switches[2];
    for (int i = 0; i < 2; i++) {
        struct sim m;
        char err[256] = "";
        sim_init(&m, "bvt", 1);
        struct simhv_sched_value v = {"ctx_allow", allow[i]};
        assert_int_equal(simhv_sched_node_set(m.s, &v, 1, err, sizeof(err)), 0);
        struct simhv_sched_value got = {"ctx_allow", 0};
        assert_int_equal(simhv_sched_node_get(m.s, &got, 1, err, sizeof(err)), 0);
        assert_int_equal(got.value, allow[i]);
        struct simhv_vcpu *a = sim_add(&m, 1, 100);
        sim_add(&m, 2, 100);
        switches[i] = 0;
        bool was = false;
        for (uint64_t t = 0; t <= 1000 * MS; t += 100000) {
            sim_run(&m, t);
            if (a->running != was)
                switches[i]++;
            was = a->running;
        }
        sim_free(&m);
    }
    /*
     * Each domain runs until it is ahead by ctx_allow, so turns last 2 x ctx_allow and a
     * runs every other turn: 1 s / (2 x ctx_allow) state changes of its running flag.
     */
    assert_in_range(switches[0], 450, 550);
    assert_in_range(switches[1], 20, 30);
}

static void bvt_validation_errors_name_the_parameter(void **state)
{
    (void)state;
    struct sim m;
    char err[256];
    sim_init(&m, "bvt", 1);
    struct simhv_vcpu *a = sim_add(&m, 1, 100);

    err[0] = '\0';
    assert_int_equal(sim_try_set(&m, a, "mcuadv", 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "mcuadv"));
    err[0] = '\0';
    assert_int_equal(sim_try_set(&m, a, "warpl", -1, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "warpl"));
    err[0] = '\0';
    assert_int_equal(sim_try_set(&m, a, "period", 1, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "period"));

    /* A refused set changes nothing, not even the valid values given with it. */
    struct simhv_sched_value vals[] = {{"mcuadv", 20}, {"warpu", -5}};
    err[0] = '\0';
    assert_int_equal(simhv_sched_set(m.s, a, vals, 2, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "warpu"));
    assert_int_equal(sim_get(&m, a, "mcuadv"), 10);

    struct simhv_sched_value node = {"ctx_allow", 0};
    err[0] = '\0';
    assert_int_equal(simhv_sched_node_set(m.s, &node, 1, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "ctx_allow"));
    sim_free(&m);
}

static void bvt_defaults_are_xen_2_0s(void **state)
{
    (void)state;
    struct sim m;
    sim_init(&m, "bvt", 1);
    struct simhv_vcpu *a = sim_add(&m, 1, 100);
    assert_int_equal(sim_get(&m, a, "mcuadv"), 10);
    assert_int_equal(sim_get(&m, a, "warpback"), 0);
    assert_int_equal(sim_get(&m, a, "warpvalue"), 0);
    assert_int_equal(sim_get(&m, a, "warpl"), 2000);
    assert_int_equal(sim_get(&m, a, "warpu"), 1000);
    sim_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bvt_shares_cpu_in_proportion_to_inverse_mcuadv),
        cmocka_unit_test(fbvt_shares_cpu_in_proportion_to_inverse_mcuadv),
        cmocka_unit_test(bvt_warp_cuts_dispatch_latency),
        cmocka_unit_test(fbvt_gives_sleepers_dispatch_precedence),
        cmocka_unit_test(bvt_warp_does_not_change_long_term_share),
        cmocka_unit_test(bvt_new_parameters_move_the_share),
        cmocka_unit_test(bvt_ctx_allow_sets_how_long_a_domain_keeps_the_cpu),
        cmocka_unit_test(bvt_validation_errors_name_the_parameter),
        cmocka_unit_test(bvt_defaults_are_xen_2_0s),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
