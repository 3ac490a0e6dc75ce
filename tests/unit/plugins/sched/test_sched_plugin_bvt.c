/* The sched-bvt plugin (plugins/sched/bvt) against the fake host: what it registers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "fake_host.h"
#include "sched_check.h"

extern const struct xend_plugin_desc xend_plugin_desc;

static void bvt_registers_the_release_and_manual_ops(void **state)
{
    (void)state;
    const struct xend_sched_ops *ops = sched_check_load(&xend_plugin_desc, "bvt");
    assert_string_equal(xend_plugin_desc.name, "sched-bvt");
    sched_check_schema(ops);
    sched_check_ops(ops->domain_ops, (const char *const[]){"cpu_bvt_set", "bvt_set", NULL});
    sched_check_ops(ops->node_ops, (const char *const[]){"cpu_bvt_slice_set", NULL});
    assert_null(ops->validate);
    sched_check_unload();
}

static void bvt_schema_has_xen_2_0s_parameters_units_and_defaults(void **state)
{
    (void)state;
    const struct xend_sched_ops *ops = sched_check_load(&xend_plugin_desc, "bvt");
    assert_int_equal(ops->nparams, 6);
    const struct xend_sched_param *p = sched_check_param(ops, "mcuadv");
    assert_int_equal(p->scope, XEND_SCHED_DOMAIN);
    assert_int_equal(p->min, 1); /* Xen: mcuadv 0 would divide by zero */
    assert_int_equal(p->dflt, 10);
    assert_false(p->optional);
    /* bvt_set (manual) has no warpback: it must be optional. */
    assert_true(sched_check_param(ops, "warpback")->optional);
    assert_int_equal(sched_check_param(ops, "warpback")->max, 1);
    /* The manual calls warpvalue `warp`. */
    p = sched_check_param(ops, "warpvalue");
    assert_non_null(p->alias);
    assert_string_equal(p->alias, "warp");
    assert_false(p->optional);
    assert_string_equal(sched_check_param(ops, "warpl")->unit, "ms");
    assert_int_equal(sched_check_param(ops, "warpl")->dflt, 2000);
    assert_int_equal(sched_check_param(ops, "warpl")->min, 0);
    assert_string_equal(sched_check_param(ops, "warpu")->unit, "ms");
    assert_int_equal(sched_check_param(ops, "warpu")->dflt, 1000);
    p = sched_check_param(ops, "ctx_allow");
    assert_int_equal(p->scope, XEND_SCHED_NODE);
    assert_string_equal(p->unit, "ns");
    assert_int_equal(p->dflt, 5000000);
    sched_check_unload();
}

static void bvt_second_registration_fails_naming_the_scheduler(void **state)
{
    (void)state;
    sched_check_load(&xend_plugin_desc, "bvt");
    assert_int_equal(fake_host_init_plugin(&xend_plugin_desc), -XEND_EEXIST);
    assert_non_null(strstr(fake_host_plugin_err(), "bvt"));
    sched_check_unload();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bvt_registers_the_release_and_manual_ops),
        cmocka_unit_test(bvt_schema_has_xen_2_0s_parameters_units_and_defaults),
        cmocka_unit_test(bvt_second_registration_fails_naming_the_scheduler),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
