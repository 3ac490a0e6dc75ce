/* The sched-fbvt plugin (plugins/sched/fbvt) against the fake host: what it registers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "fake_host.h"
#include "sched_check.h"

extern const struct xend_plugin_desc xend_plugin_desc;

/* The manual's fbvt_set, and the 2.0 XendClient's cpu_fbvt_set and cpu_fbvt_slice_set. */
static void fbvt_registers_the_manual_and_client_ops(void **state)
{
    (void)state;
    const struct xend_sched_ops *ops = sched_check_load(&xend_plugin_desc, "fbvt");
    assert_string_equal(xend_plugin_desc.name, "sched-fbvt");
    sched_check_schema(ops);
    sched_check_ops(ops->domain_ops, (const char *const[]){"cpu_fbvt_set", "fbvt_set", NULL});
    sched_check_ops(ops->node_ops, (const char *const[]){"cpu_fbvt_slice_set", NULL});
    sched_check_unload();
}

/* fbvt_set mcuadv warp warpl warpu: BVT's domain parameters, warp as an alias; BVT's node
 * parameter ctx_allow. */
static void fbvt_has_bvts_parameters(void **state)
{
    (void)state;
    const struct xend_sched_ops *ops = sched_check_load(&xend_plugin_desc, "fbvt");
    assert_int_equal(ops->nparams, 6);
    assert_int_equal(sched_check_param(ops, "ctx_allow")->scope, XEND_SCHED_NODE);
    const char *required[] = {"mcuadv", "warpvalue", "warpl", "warpu"};
    for (size_t i = 0; i < 4; i++) {
        const struct xend_sched_param *p = sched_check_param(ops, required[i]);
        assert_int_equal(p->scope, XEND_SCHED_DOMAIN);
        assert_false(p->optional);
    }
    assert_string_equal(sched_check_param(ops, "warpvalue")->alias, "warp");
    assert_true(sched_check_param(ops, "warpback")->optional);
    assert_int_equal(sched_check_param(ops, "mcuadv")->min, 1);
    assert_int_equal(sched_check_param(ops, "mcuadv")->dflt, 10);
    sched_check_unload();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fbvt_registers_the_manual_and_client_ops),
        cmocka_unit_test(fbvt_has_bvts_parameters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
