/*
 * The third device class, loaded from its .so with dlopen and driven through the fake
 * host: a class the core never heard of registers, validates, attaches and detaches
 * through deferred ops, describes itself, reattaches, reconfigures and refuses a clash,
 * using nothing but the public ABI.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "fake_host.h"
#include "sxp.h"

static void *so;
static const struct xend_plugin_desc *desc;
static const struct xend_host *host;
static const struct xend_device_ops *ops;
static void *ctx;
static struct xend_domain *vm1, *vm2;

static int setup(void **state)
{
    (void)state;
    so = dlopen(DEVCLASS_SO, RTLD_NOW | RTLD_LOCAL);
    assert_non_null(so);
    desc = dlsym(so, "xend_plugin_desc");
    assert_non_null(desc);
    host = fake_host_new("devclass_test");
    fake_host_domain_add(0, "Domain-0", NULL);
    vm1 = fake_host_domain_add(5, "vm1", NULL);
    vm2 = fake_host_domain_add(7, "vm2", NULL);
    assert_int_equal(fake_host_init_plugin(desc), 0);
    ops = fake_host_device_class("tpm", &ctx);
    assert_non_null(ops);
    return 0;
}

static void free_priv(struct xend_device *dev, void *arg)
{
    (void)arg;
    ops->free(ctx, dev);
}

static int teardown(void **state)
{
    (void)state;
    host->device->foreach ("tpm", free_priv, NULL);
    fake_host_free();
    dlclose(so);
    return 0;
}

static int parse(struct xend_domain *dom, const char *text, struct xend_err *err)
{
    struct xend_sxp *c;
    char msg[128];
    assert_int_equal(xend_sxp_parse(text, strlen(text), NULL, &c, msg, sizeof(msg)), 0);
    struct xend_sxp *norm = NULL;
    xend_err_clear(err);
    int rc = ops->parse(ctx, dom, c, &norm, err);
    xend_sxp_free(c);
    return rc;
}

static char *describe(struct xend_device *dev)
{
    struct xend_sxp *d = ops->describe(ctx, dev);
    char *s = xend_sxp_print(d);
    xend_sxp_free(d);
    return s;
}

static void test_only_the_descriptor_is_exported(void **state)
{
    (void)state;
    assert_null(dlsym(so, "tpm_init"));
    assert_null(dlsym(so, "tpm_ops"));
    assert_string_equal(desc->name, "devclass_test");
    assert_true(ops->flags & XEND_DEVICE_HOTPLUG);
}

static void test_parse_validates_the_class_own_config(void **state)
{
    (void)state;
    struct xend_err err;
    assert_int_equal(parse(NULL, "(tpm)", &err), -XEND_EINVAL);
    assert_string_equal(err.msg, "tpm: Missing instance");
    assert_int_equal(parse(NULL, "(tpm (instance 300))", &err), -XEND_EINVAL);
    assert_string_equal(err.msg, "tpm: invalid instance: 300");
    assert_int_equal(parse(NULL, "(tpm (instance 3))", &err), 0);
    fake_host_device_new(vm1, "tpm", 0, "(tpm (instance 3))");
    assert_int_equal(parse(vm2, "(tpm (instance 3))", &err), -XEND_EEXIST);
    assert_string_equal(err.msg, "tpm: instance 3 already in use");
}

static void test_attach_and_detach_complete_later_through_the_op(void **state)
{
    (void)state;
    struct xend_device *dev = fake_host_device_new(vm1, "tpm", 0, "(tpm (instance 4))");
    struct xend_op *op = fake_host_op_new();
    ops->attach(ctx, dev, op);
    assert_false(fake_host_op_done(op, NULL)); /* deferred, as a script would be */
    assert_int_equal(fake_host_op_wait(op, 5000), 0);
    fake_host_op_free(op);
    assert_true(fake_host_log_contains("tpm attach domain=vm1 instance=4"));
    char *d = describe(dev);
    assert_string_equal(d, "(tpm (idx 0) (instance 4) (state attached))");
    free(d);

    op = fake_host_op_new();
    ops->detach(ctx, dev, XEND_DEV_HOTPLUG, op);
    assert_int_equal(fake_host_op_wait(op, 5000), 0);
    fake_host_op_free(op);
    assert_true(fake_host_log_contains("tpm detach domain=vm1 instance=4 reason=3"));
    d = describe(dev);
    assert_string_equal(d, "(tpm (idx 0) (instance 4) (state detached))");
    free(d);
}

static void test_a_failing_attach_reports_its_error(void **state)
{
    (void)state;
    struct xend_device *dev =
        fake_host_device_new(vm1, "tpm", 1, "(tpm (instance 5) (fail attach))");
    struct xend_op *op = fake_host_op_new();
    ops->attach(ctx, dev, op);
    assert_int_equal(fake_host_op_wait(op, 5000), -XEND_EIO);
    assert_string_equal(fake_host_op_msg(op), "tpm: instance 5 refused to attach (as configured)");
    fake_host_op_free(op);
}

static void test_reattach_and_configure(void **state)
{
    (void)state;
    struct xend_device *dev = fake_host_device_new(vm2, "tpm", 0, "(tpm (instance 6))");
    struct xend_sxp *st;
    char msg[64];
    const char *text = "(tpm (idx 0) (instance 6) (state attached))";
    assert_int_equal(xend_sxp_parse(text, strlen(text), NULL, &st, msg, sizeof(msg)), 0);
    struct xend_err err = {0};
    assert_int_equal(ops->reattach(ctx, dev, st, &err), 0);
    xend_sxp_free(st);
    assert_true(fake_host_log_contains("tpm reattach domain=vm2 instance=6 state=attached"));
    /* device_configure: parse the new config (its own instance is no clash), then configure */
    assert_int_equal(parse(vm2, "(tpm (instance 6))", &err), 0);
    const char *cfgs[] = {"(tpm (instance 6))", "(tpm (instance 9))"};
    int want[] = {0, -XEND_EINVAL};
    for (int i = 0; i < 2; i++) {
        struct xend_sxp *c;
        assert_int_equal(xend_sxp_parse(cfgs[i], strlen(cfgs[i]), NULL, &c, msg, sizeof(msg)), 0);
        struct xend_op *op = fake_host_op_new();
        ops->configure(ctx, dev, c, op);
        assert_int_equal(fake_host_op_wait(op, 5000), want[i]);
        fake_host_op_free(op);
        xend_sxp_free(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_only_the_descriptor_is_exported),
        T(test_parse_validates_the_class_own_config),
        T(test_attach_and_detach_complete_later_through_the_op),
        T(test_a_failing_attach_reports_its_error),
        T(test_reattach_and_configure),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
