/* The sched-rrobin plugin (plugins/sched/rrobin) against the fake host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "fake_host.h"
#include "sched_check.h"

extern const struct xend_plugin_desc xend_plugin_desc;

static void rrobin_registers_only_the_node_slice(void **state)
{
    (void)state;
    const struct xend_sched_ops *ops = sched_check_load(&xend_plugin_desc, "rrobin");
    assert_string_equal(xend_plugin_desc.name, "sched-rrobin");
    sched_check_schema(ops);
    sched_check_ops(ops->domain_ops, (const char *const[]){NULL});
    sched_check_ops(ops->node_ops, (const char *const[]){"cpu_rrobin_slice_set", NULL});
    assert_int_equal(ops->nparams, 1);
    const struct xend_sched_param *p = sched_check_param(ops, "slice");
    assert_int_equal(p->scope, XEND_SCHED_NODE);
    assert_string_equal(p->unit, "ns");
    assert_int_equal(p->dflt, 10000000);
    assert_true(p->min > 0);
    sched_check_unload();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rrobin_registers_only_the_node_slice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
