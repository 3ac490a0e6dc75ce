/*
 * A fourth scheduler from outside (tests/plugins/sched_test4), loaded as a shared object
 * the way the core loads plugins: it registers through the ABI alone, with a schema,
 * ops and a validate() that xend has never heard of.
 */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "fake_host.h"
#include "sched_check.h"

static void *handle;

static const struct xend_plugin_desc *load_desc(void)
{
    handle = dlopen(SCHED_TEST4_SO, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL)
        fail_msg("dlopen %s: %s", SCHED_TEST4_SO, dlerror());
    const struct xend_plugin_desc *desc = dlsym(handle, "xend_plugin_desc");
    assert_non_null(desc);
    assert_int_equal(desc->magic, XEND_PLUGIN_MAGIC);
    assert_int_equal(desc->size, sizeof(struct xend_plugin_desc));
    return desc;
}

static void a_third_party_scheduler_registers_through_the_abi(void **state)
{
    (void)state;
    const struct xend_plugin_desc *desc = load_desc();
    const struct xend_sched_ops *ops = sched_check_load(desc, "test4");
    sched_check_schema(ops);
    sched_check_ops(ops->domain_ops, (const char *const[]){"test4_set", NULL});
    sched_check_ops(ops->node_ops, (const char *const[]){"test4_tslice_set", NULL});
    assert_string_equal(sched_check_param(ops, "tslice")->alias, "timeslice");
    assert_true(sched_check_param(ops, "cap")->optional);

    char msg[XEND_ERR_MSG_MAX];
    struct xend_sched_value bad[] = {{"weight", 2000}, {"cap", 50}};
    assert_int_equal(sched_check_validate(ops, bad, 2, msg, sizeof(msg)), -XEND_EINVAL);
    assert_non_null(strstr(msg, "weight"));
    struct xend_sched_value good[] = {{"weight", 2000}, {"cap", 0}};
    assert_int_equal(sched_check_validate(ops, good, 2, msg, sizeof(msg)), 0);
    sched_check_unload();
    dlclose(handle);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_third_party_scheduler_registers_through_the_abi),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
