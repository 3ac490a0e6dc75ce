/*
 * A small harness over simhv/sched.h for the scheduler tests: a scheduler and a few vcpus
 * that live in the harness, parameters set with a cmocka assertion, simulated time only.
 */
#ifndef SIM_HELPERS_H
#define SIM_HELPERS_H

#include <stdbool.h>
#include <stdint.h>

#include "sched.h"

#define MS 1000000ull
#define SIM_MAX_VCPUS 8

struct sim {
    struct simhv_sched *s;
    struct simhv_vcpu v[SIM_MAX_VCPUS];
    unsigned n;
};

void sim_init(struct sim *m, const char *sched, unsigned ncpus);
void sim_free(struct sim *m);
/* A runnable, unpinned vcpu with the given load, added at the current simulated time. */
struct simhv_vcpu *sim_add(struct sim *m, uint32_t domid, unsigned load_pct);
/* Set one domain parameter; the test fails if the scheduler refuses it. */
void sim_set(struct sim *m, struct simhv_vcpu *v, const char *name, int64_t value);
/* Try to set one parameter: 0 or -1, the scheduler's message in err. */
int sim_try_set(struct sim *m, struct simhv_vcpu *v, const char *name, int64_t value, char *err,
                size_t err_len);
int64_t sim_get(struct sim *m, struct simhv_vcpu *v, const char *name);
void sim_run(struct sim *m, uint64_t until_ns);
double sim_secs(const struct simhv_vcpu *v);

#endif
