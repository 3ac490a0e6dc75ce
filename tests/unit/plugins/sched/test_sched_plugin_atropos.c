/* The sched-atropos plugin (plugins/sched/atropos) against the fake host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "fake_host.h"
#include "sched_check.h"

extern const struct xend_plugin_desc xend_plugin_desc;

#define MS 1000000LL

static void atropos_registers_the_release_and_manual_ops(void **state)
{
    (void)state;
    const struct xend_sched_ops *ops = sched_check_load(&xend_plugin_desc, "atropos");
    assert_string_equal(xend_plugin_desc.name, "sched-atropos");
    sched_check_schema(ops);
    sched_check_ops(ops->domain_ops, (const char *const[]){"cpu_atropos_set", "atropos_set", NULL});
    sched_check_ops(ops->node_ops, (const char *const[]){NULL});
    sched_check_unload();
}

static void atropos_schema_is_in_ns_with_xen_2_0s_defaults(void **state)
{
    (void)state;
    const struct xend_sched_ops *ops = sched_check_load(&xend_plugin_desc, "atropos");
    assert_int_equal(ops->nparams, 4);
    const char *ns[] = {"period", "slice", "latency"};
    for (size_t i = 0; i < 3; i++) {
        const struct xend_sched_param *p = sched_check_param(ops, ns[i]);
        assert_string_equal(p->unit, "ns");
        assert_true(p->min > 0); /* positive values only */
        assert_false(p->optional);
    }
    assert_int_equal(sched_check_param(ops, "period")->dflt, 10000 * MS);
    assert_int_equal(sched_check_param(ops, "slice")->dflt, 10 * MS);
    assert_int_equal(sched_check_param(ops, "latency")->dflt, 10000 * MS);
    const struct xend_sched_param *x = sched_check_param(ops, "xtratime");
    assert_int_equal(x->min, 0);
    assert_int_equal(x->max, 1);
    assert_int_equal(x->dflt, 1);
    sched_check_unload();
}

static void atropos_validate_refuses_slice_or_latency_above_period_naming_them(void **state)
{
    (void)state;
    const struct xend_sched_ops *ops = sched_check_load(&xend_plugin_desc, "atropos");
    char msg[XEND_ERR_MSG_MAX];
    struct xend_sched_value ok[] = {
        {"period", 100 * MS}, {"slice", 100 * MS}, {"latency", 100 * MS}, {"xtratime", 0}};
    assert_int_equal(sched_check_validate(ops, ok, 4, msg, sizeof(msg)), 0);

    struct xend_sched_value slice[] = {
        {"period", 100 * MS}, {"slice", 101 * MS}, {"latency", 10 * MS}, {"xtratime", 1}};
    assert_int_equal(sched_check_validate(ops, slice, 4, msg, sizeof(msg)), -XEND_EINVAL);
    assert_non_null(strstr(msg, "slice"));
    assert_non_null(strstr(msg, "period"));

    struct xend_sched_value latency[] = {
        {"period", 100 * MS}, {"slice", 10 * MS}, {"latency", 200 * MS}, {"xtratime", 1}};
    assert_int_equal(sched_check_validate(ops, latency, 4, msg, sizeof(msg)), -XEND_EINVAL);
    assert_non_null(strstr(msg, "latency"));

    /* Node scope has nothing to check. */
    struct xend_err err = {0};
    assert_int_equal(ops->validate(NULL, XEND_SCHED_NODE, NULL, 0, &err), 0);
    sched_check_unload();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(atropos_registers_the_release_and_manual_ops),
        cmocka_unit_test(atropos_schema_is_in_ns_with_xen_2_0s_defaults),
        cmocka_unit_test(atropos_validate_refuses_slice_or_latency_above_period_naming_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
