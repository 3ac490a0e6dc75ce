/*
 * vif plugin against the fake host: mac generation and validation, the vif script's exact
 * argument vector, failures that fail an attach (and undo the back end), down on detach,
 * configure, reattach without scripts, and the network script at xend start and stop.
 *
 * Scripts are small shell files in a temporary script-dir that append their argv (one
 * argument a line, then ---) to a log file the test reads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake_host.h"
#include "script_fixture.h"
#include "sxp.h"

extern const struct xend_plugin_desc xend_plugin_desc;

/* ---- getrandom, steerable: the plugin's mac generator takes these bytes first ---- */
ssize_t __real_getrandom(void *buf, size_t len, unsigned flags);
static uint8_t rnd_queue[64];
static size_t rnd_len, rnd_pos;

ssize_t __wrap_getrandom(void *buf, size_t len, unsigned flags)
{
    if (rnd_pos + len <= rnd_len) {
        memcpy(buf, rnd_queue + rnd_pos, len);
        rnd_pos += len;
        return (ssize_t)len;
    }
    return __real_getrandom(buf, len, flags);
}

static void rnd_push(uint8_t a, uint8_t b, uint8_t c)
{
    rnd_queue[rnd_len++] = a;
    rnd_queue[rnd_len++] = b;
    rnd_queue[rnd_len++] = c;
}

/* ---- a fake hypervisor backend that records device calls ---- */
static struct {
    int attach_calls, detach_calls;
    uint32_t domid, devid;
    char cls[16];
    char params[256];
    int fail_attach;
    int attached_already; /* the next attach finds the device there (a crash cut one short) */
    int fail_detach;
} B;

static int fb_attach(void *ctx, uint32_t domid, const char *cls, uint32_t devid,
                     const struct xend_sxp *params, char *name, size_t name_len,
                     struct xend_err *err)
{
    (void)ctx;
    B.attach_calls++;
    B.domid = domid;
    B.devid = devid;
    snprintf(B.cls, sizeof(B.cls), "%s", cls);
    char *p = xend_sxp_print(params);
    snprintf(B.params, sizeof(B.params), "%s", p);
    free(p);
    if (B.fail_attach)
        return xend_err_set(err, XEND_EBACKEND, "netback refused");
    if (B.attached_already) {
        B.attached_already = 0;
        return xend_err_set(err, XEND_EEXIST, "device vif %u is already attached", devid);
    }
    snprintf(name, name_len, "vif%u.%u", domid, devid);
    return 0;
}

static int fb_detach(void *ctx, uint32_t domid, const char *cls, uint32_t devid,
                     struct xend_err *err)
{
    (void)ctx;
    (void)domid;
    (void)cls;
    (void)devid;
    B.detach_calls++;
    if (B.fail_detach)
        return xend_err_set(err, XEND_EBACKEND, "netback will not let go");
    return 0;
}

static const struct xend_backend_ops fake_backend = {
    XEND_BACKEND_OPS_INIT, .name = "fake", .dev_attach = fb_attach, .dev_detach = fb_detach};
/* A simulated hypervisor, whatever its name: it says so by a flag. */
static const struct xend_backend_ops sim_backend = {
    XEND_BACKEND_OPS_INIT, .name = "simulated", .flags = XEND_BACKEND_SIMULATED,
    .dev_attach = fb_attach, .dev_detach = fb_detach};
static const struct xend_backend_ops bare_backend = {XEND_BACKEND_OPS_INIT, .name = "bare"};

/* ---- fixture ---- */
static const struct xend_host *host;
static struct xend_domain *dom0, *vm1, *vm2;

static int setup(void **state)
{
    (void)state;
    script_fixture_setup("vif");
    write_script("rec", "exit 0");
    write_script("net", "exit 0");
    write_script("fail", "echo starting\necho 'something went wrong' >&2\nexit 3");
    write_script("faildown", "[ \"$1\" = down ] && { echo 'down broke'; exit 1; }\nexit 0");
    write_script("slow", "exec sleep 5");
    write_script("envrec", "echo \"dry=${XEND_SCRIPT_DRY_RUN:-unset}\" >> "
                           "$(dirname \"$0\")/env.log");

    memset(&B, 0, sizeof(B));
    rnd_len = rnd_pos = 0;
    host = class_host_new("vif", &dom0, &vm1, &vm2);
    fake_host_config_set("vif-script", "rec");
    fake_host_config_set("network-script", "net");
    fake_host_backend_set(&fake_backend, NULL);
    return 0;
}

static void init_plugin(void)
{
    class_init("vif");
}

static int teardown(void **state)
{
    (void)state;
    return class_teardown(host, "vif");
}

static struct xend_sxp *sxp(const char *text)
{
    struct xend_sxp *s;
    char msg[128];
    assert_int_equal(xend_sxp_parse(text, strlen(text), NULL, &s, msg, sizeof(msg)), 0);
    return s;
}

/* parse(text) for dom: rc; *norm_text gets the printed normalised config (or NULL). */
static int parse(struct xend_domain *dom, const char *text, char **norm_text, struct xend_err *err)
{
    struct xend_sxp *c = sxp(text);
    struct xend_sxp *norm = NULL;
    xend_err_clear(err);
    int rc = ops->parse(ctx, dom, c, &norm, err);
    if (norm_text)
        *norm_text = norm ? xend_sxp_print(norm) : NULL;
    xend_sxp_free(norm);
    xend_sxp_free(c);
    return rc;
}

static int configure(struct xend_device *dev, const char *text, char *msg, size_t msglen)
{
    struct xend_sxp *c = sxp(text);
    struct xend_op *op = fake_host_op_new();
    ops->configure(ctx, dev, c, op);
    int rc = fake_host_op_wait(op, 5000);
    if (msg)
        snprintf(msg, msglen, "%s", rc < 0 ? fake_host_op_msg(op) : "");
    fake_host_op_free(op);
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

/* ---- parse ---- */

static void mac_of(const char *norm, char out[18])
{
    const char *m = strstr(norm, "(mac ");
    assert_non_null(m);
    memcpy(out, m + 5, 17);
    out[17] = '\0';
}

static void test_missing_mac_gets_one_of_oui_aa0000(void **state)
{
    (void)state;
    init_plugin();
    struct xend_err err = {0};
    char *norm;
    assert_int_equal(parse(NULL, "(vif (bridge br0))", &norm, &err), 0);
    assert_non_null(norm);
    char mac[18];
    mac_of(norm, mac);
    assert_memory_equal(mac, "aa:00:00:", 9);
    assert_true(strtoul(mac + 9, NULL, 16) < 0x80);
    assert_non_null(strstr(norm, "(bridge br0)"));
    free(norm);
}

static void test_mac_None_from_the_2_0_0_client_is_replaced(void **state)
{
    (void)state;
    init_plugin();
    struct xend_err err = {0};
    char *norm;
    assert_int_equal(parse(NULL, "(vif (mac None) (bridge br0))", &norm, &err), 0);
    assert_non_null(norm);
    assert_null(strstr(norm, "None"));
    assert_non_null(strstr(norm, "(vif (mac aa:00:00:"));
    assert_null(strstr(strstr(norm, "(mac ") + 1, "(mac ")); /* exactly one mac */
    free(norm);
}

static void test_generated_mac_skips_macs_in_use(void **state)
{
    (void)state;
    init_plugin();
    fake_host_device_new(vm1, "vif", 0, "(vif (mac aa:00:00:01:02:03))");
    /* The 4th byte loses its top bit: 0x81 becomes 0x01, a clash; the next try is free. */
    rnd_push(0x81, 0x02, 0x03);
    rnd_push(0x11, 0x22, 0x33);
    struct xend_err err = {0};
    char *norm;
    assert_int_equal(parse(NULL, "(vif)", &norm, &err), 0);
    char mac[18];
    mac_of(norm, mac);
    assert_string_equal(mac, "aa:00:00:11:22:33");
    free(norm);
}

static void test_generated_macs_see_earlier_devices_of_same_config(void **state)
{
    (void)state;
    init_plugin();
    char seen[50][18];
    for (int i = 0; i < 50; i++) {
        struct xend_err err = {0};
        char *norm;
        assert_int_equal(parse(NULL, "(vif)", &norm, &err), 0);
        mac_of(norm, seen[i]);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(seen[i], seen[j]);
        fake_host_device_new(NULL, "vif", (uint32_t)i, norm);
        free(norm);
    }
}

static void test_malformed_mac_is_refused(void **state)
{
    (void)state;
    init_plugin();
    const char *bad[] = {"(vif (mac aa:00:00:12:34))",     "(vif (mac zz:00:00:12:34:56))",
                         "(vif (mac aa:00:00:12:34:567))", "(vif (mac aa-00-00-12-34-56))",
                         "(vif (mac aa:00:00:12:34:56:))", "(vif (mac ''))",
                         "(vif (mac 01:00:5e:00:00:01))"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct xend_err err = {0};
        char *norm = NULL;
        assert_int_equal(parse(NULL, bad[i], &norm, &err), -XEND_EINVAL);
        assert_null(norm);
        assert_non_null(strstr(err.msg, "vif: invalid mac"));
    }
}

static void test_mac_is_normalised_to_lower_case(void **state)
{
    (void)state;
    init_plugin();
    struct xend_err err = {0};
    char *norm;
    assert_int_equal(parse(NULL, "(vif (mac AA:0:00:0A:B:0c) (bridge br0))", &norm, &err), 0);
    assert_string_equal(norm, "(vif (mac aa:00:00:0a:0b:0c) (bridge br0))");
    free(norm);
    assert_int_equal(parse(NULL, "(vif (mac aa:00:00:0a:0b:0c))", &norm, &err), 0);
    assert_null(norm); /* already normal: nothing to store */
}

static void test_duplicate_mac_on_the_host_is_refused(void **state)
{
    (void)state;
    init_plugin();
    fake_host_device_new(vm1, "vif", 0, "(vif (mac aa:00:00:12:34:56))");
    struct xend_err err = {0};
    assert_int_equal(parse(NULL, "(vif (mac AA:00:00:12:34:56))", NULL, &err), -XEND_EEXIST);
    assert_string_equal(err.msg, "vif: duplicate mac aa:00:00:12:34:56: domain vm1 (5) uses it");
    assert_int_equal(parse(vm2, "(vif (mac aa:00:00:12:34:56))", NULL, &err), -XEND_EEXIST);
}

static void test_same_mac_twice_in_one_new_config_is_refused_at_parse(void **state)
{
    (void)state;
    init_plugin();
    /* As the core does it: the record exists, and parse gets the record's own config. */
    struct xend_device *a = fake_host_device_new(vm1, "vif", 0, "(vif (mac aa:00:00:12:34:56))");
    struct xend_device *b = fake_host_device_new(vm1, "vif", 1, "(vif (mac aa:00:00:12:34:56))");
    struct xend_err err = {0};
    struct xend_sxp *norm = NULL;
    assert_int_equal(ops->parse(ctx, vm1, host->device->config(b), &norm, &err), -XEND_EEXIST);
    assert_null(norm);
    assert_string_equal(err.msg, "vif: duplicate mac aa:00:00:12:34:56: domain vm1 (5) uses it");
    (void)a;
}

static void test_unknown_backend_domain_is_refused(void **state)
{
    (void)state;
    init_plugin();
    struct xend_err err = {0};
    assert_int_equal(parse(NULL, "(vif (mac aa:00:00:12:34:56) (backend 9))", NULL, &err),
                     -XEND_ENOENT);
    assert_string_equal(err.msg, "vif: unknown backend domain: 9");
    assert_int_equal(parse(NULL, "(vif (mac aa:00:00:12:34:56) (backend Domain-0))", NULL, &err),
                     0);
}

static void test_bad_bridge_ip_vifname_and_missing_script_are_refused(void **state)
{
    (void)state;
    init_plugin();
    struct xend_err err = {0};
    assert_int_equal(parse(NULL, "(vif (bridge 'br 0'))", NULL, &err), -XEND_EINVAL);
    assert_string_equal(err.msg, "vif: invalid bridge: br 0");
    assert_int_equal(parse(NULL, "(vif (ip 10.0.0.300))", NULL, &err), -XEND_EINVAL);
    assert_string_equal(err.msg, "vif: invalid ip: 10.0.0.300");
    assert_int_equal(parse(NULL, "(vif (ip '10.0.0.1/24 10.0.0.2/33'))", NULL, &err), -XEND_EINVAL);
    assert_string_equal(err.msg, "vif: invalid ip: 10.0.0.2/33");
    assert_int_equal(parse(NULL, "(vif (vifname waytoolongforlinux0))", NULL, &err), -XEND_EINVAL);
    assert_int_equal(parse(NULL, "(vif (script nosuch))", NULL, &err), -XEND_ENOENT);
    assert_non_null(strstr(err.msg, "vif: script not found or not executable: "));
    assert_non_null(strstr(err.msg, "/nosuch"));
    assert_int_equal(
        parse(NULL, "(vif (ip 10.0.0.1/24) (ip fe80::1/64) (vifname web0))", NULL, &err), 0);
}

static void test_an_operator_may_name_no_script(void **state)
{
    (void)state;
    init_plugin();
    struct xend_err err = {0};
    fake_host_caller_role_set(XEND_ROLE_OPERATOR);
    /* Even one of script-dir: only the default (vif-script) runs for an operator. */
    assert_int_equal(parse(NULL, "(vif (script fail))", NULL, &err), -XEND_EPERM);
    assert_string_equal(err.msg, "vif: script fail refused: role operator may not name a device "
                                 "script; the default script runs (docs/security.md)");
    xend_err_clear(&err);
    assert_int_equal(parse(NULL, "(vif (vifname web0))", NULL, &err), 0);
    fake_host_caller_role_set(XEND_ROLE_ADMIN);
    assert_int_equal(parse(NULL, "(vif (script fail))", NULL, &err), 0);
}

static void test_a_device_may_only_name_scripts_in_script_dir(void **state)
{
    (void)state;
    init_plugin();
    struct xend_err err = {0};
    char cfg[256], link[128];
    assert_int_equal(parse(NULL, "(vif (script /bin/sh))", NULL, &err), -XEND_EPERM);
    assert_non_null(strstr(err.msg, "vif: script /bin/sh refused: a device may only run "
                                    "scripts from script-dir"));
    assert_int_equal(parse(NULL, "(vif (script sub/rec))", NULL, &err), -XEND_EPERM);
    assert_non_null(strstr(err.msg, "vif: script sub/rec refused"));
    assert_int_equal(parse(NULL, "(vif (script ../rec))", NULL, &err), -XEND_EINVAL);
    /* A symlink in script-dir whose target is elsewhere. */
    snprintf(link, sizeof(link), "%s/sh-link", script_dir);
    assert_int_equal(symlink("/bin/sh", link), 0);
    snprintf(cfg, sizeof(cfg), "(vif (script %s))", link);
    assert_int_equal(parse(NULL, cfg, NULL, &err), -XEND_EPERM);
    assert_non_null(strstr(err.msg, "refused"));
    unlink(link);
    /* Inside script-dir: by name or by absolute path. */
    assert_int_equal(parse(NULL, "(vif (script fail))", NULL, &err), 0);
    snprintf(cfg, sizeof(cfg), "(vif (script %s/fail))", script_dir);
    assert_int_equal(parse(NULL, cfg, NULL, &err), 0);
    char *log = script_log();
    assert_string_equal(log, ""); /* validation runs nothing */
    free(log);
}

/* ---- attach, detach ---- */

static void test_attach_asks_backend_then_runs_up_with_exact_argv(void **state)
{
    (void)state;
    init_plugin();
    struct xend_device *dev = fake_host_device_new(
        vm1, "vif", 0, "(vif (mac aa:00:00:12:34:56) (bridge br1) (ip 10.0.0.5/24 10.0.0.6))");
    char msg[512];
    assert_int_equal(attach(dev, msg, sizeof(msg)), 0);
    assert_int_equal(B.attach_calls, 1);
    assert_int_equal(B.domid, 5);
    assert_int_equal(B.devid, 0);
    assert_string_equal(B.cls, "vif");
    assert_string_equal(B.params, "(vif (mac aa:00:00:12:34:56) (bridge br1))");
    char *log = script_log();
    assert_string_equal(log, expect_argv("rec", "up", "domain=vm1", "vif=vif5.0",
                                         "mac=aa:00:00:12:34:56", "bridge=br1",
                                         "ip=10.0.0.5/24 10.0.0.6", NULL));
    free(log);
}

static void test_attach_uses_config_defaults_for_bridge_and_script(void **state)
{
    (void)state;
    fake_host_config_set("vif-bridge", "xenbr9");
    init_plugin();
    struct xend_device *dev = fake_host_device_new(vm2, "vif", 1, "(vif (mac aa:00:00:00:00:01))");
    assert_int_equal(attach(dev, NULL, 0), 0);
    char *log = script_log();
    assert_string_equal(log, expect_argv("rec", "up", "domain=vm2", "vif=vif7.1",
                                         "mac=aa:00:00:00:00:01", "bridge=xenbr9", NULL));
    free(log);
}

static void test_backend_without_dev_attach_still_names_vifD_N(void **state)
{
    (void)state;
    fake_host_backend_set(&bare_backend, NULL);
    init_plugin();
    struct xend_device *dev = fake_host_device_new(vm1, "vif", 3, "(vif (mac aa:00:00:00:00:03))");
    assert_int_equal(attach(dev, NULL, 0), 0);
    char *log = script_log();
    assert_non_null(strstr(log, "\nvif=vif5.3\n"));
    free(log);
    char *d = describe(dev);
    assert_non_null(strstr(d, "(vif 3) (vifname vif5.3)"));
    free(d);
}

static void test_vifname_names_the_back_end(void **state)
{
    (void)state;
    init_plugin();
    struct xend_device *dev =
        fake_host_device_new(vm1, "vif", 0, "(vif (mac aa:00:00:00:00:04) (vifname web0))");
    assert_int_equal(attach(dev, NULL, 0), 0);
    assert_string_equal(B.params, "(vif (mac aa:00:00:00:00:04) (bridge xen-br0) (vifname web0))");
    char *log = script_log();
    assert_non_null(strstr(log, "\nvif=web0\n"));
    free(log);
}

static void test_failing_up_script_fails_attach_and_undoes_backend(void **state)
{
    (void)state;
    init_plugin();
    struct xend_device *dev =
        fake_host_device_new(vm1, "vif", 0, "(vif (mac aa:00:00:12:34:56) (script fail))");
    char msg[512];
    assert_int_equal(attach(dev, msg, sizeof(msg)), -XEND_EIO);
    char want[512];
    snprintf(want, sizeof(want),
             "vif: script %s/fail up failed: exit status 3: something went wrong", script_dir);
    assert_string_equal(msg, want);
    assert_int_equal(B.attach_calls, 1);
    assert_int_equal(B.detach_calls, 1);
    assert_true(fake_host_log_contains("script failed"));
    /* A device whose attach failed has nothing to take down. */
    reset_log();
    assert_int_equal(detach(dev), 0);
    char *log = script_log();
    assert_string_equal(log, "");
    free(log);
    assert_int_equal(B.detach_calls, 1);
}

/* A device the backend already has on the instance is what an attach cut short by a crash
 * leaves (a migrated domain whose take-over the next start finishes): it is taken over. */
static void test_attach_over_a_device_left_attached_detaches_it_first(void **state)
{
    (void)state;
    B.attached_already = 1;
    init_plugin();
    struct xend_device *dev = fake_host_device_new(vm1, "vif", 0, "(vif (mac aa:00:00:12:34:56))");
    char msg[512];
    assert_int_equal(attach(dev, msg, sizeof(msg)), 0);
    assert_int_equal(B.attach_calls, 2);
    assert_int_equal(B.detach_calls, 1);
    assert_true(fake_host_log_contains("device taken over"));
    char *log = script_log();
    assert_non_null(strstr(log, "up"));
    free(log);
}

/* One the backend will not let go of stays an error: the attach fails as the backend said. */
static void test_attach_over_a_device_the_backend_keeps_fails(void **state)
{
    (void)state;
    B.attached_already = 1;
    B.fail_detach = 1;
    init_plugin();
    struct xend_device *dev = fake_host_device_new(vm1, "vif", 0, "(vif (mac aa:00:00:12:34:56))");
    char msg[512];
    assert_int_equal(attach(dev, msg, sizeof(msg)), -XEND_EEXIST);
    assert_non_null(strstr(msg, "already attached"));
    assert_int_equal(B.attach_calls, 1);
    assert_int_equal(B.detach_calls, 1);
    assert_false(fake_host_log_contains("device taken over"));
    char *log = script_log();
    assert_string_equal(log, "");
    free(log);
}

static void test_backend_refusal_fails_attach_without_running_script(void **state)
{
    (void)state;
    B.fail_attach = 1;
    init_plugin();
    struct xend_device *dev = fake_host_device_new(vm1, "vif", 0, "(vif (mac aa:00:00:12:34:56))");
    char msg[512];
    assert_int_equal(attach(dev, msg, sizeof(msg)), -XEND_EBACKEND);
    assert_string_equal(msg, "netback refused");
    char *log = script_log();
    assert_string_equal(log, "");
    free(log);
}

static void test_script_past_its_timeout_fails_attach(void **state)
{
    (void)state;
    fake_host_config_set("script-timeout-ms", "200");
    init_plugin();
    struct xend_device *dev =
        fake_host_device_new(vm1, "vif", 0, "(vif (mac aa:00:00:12:34:56) (script slow))");
    char msg[512];
    assert_int_equal(attach(dev, msg, sizeof(msg)), -XEND_ETIMEDOUT);
    assert_non_null(strstr(msg, "slow up failed: timed out after 200 ms"));
    assert_int_equal(B.detach_calls, 1);
}

static void test_hotplug_vif_with_a_mac_of_the_same_domain_fails_before_anything(void **state)
{
    (void)state;
    init_plugin();
    struct xend_device *a = fake_host_device_new(vm1, "vif", 0, "(vif (mac aa:00:00:12:34:56))");
    assert_int_equal(attach(a, NULL, 0), 0);
    reset_log();
    struct xend_err err = {0};
    /* parse cannot tell this from configuring `a`; attach can. */
    assert_int_equal(parse(vm1, "(vif (mac aa:00:00:12:34:56))", NULL, &err), 0);
    struct xend_device *b = fake_host_device_new(vm1, "vif", 1, "(vif (mac aa:00:00:12:34:56))");
    char msg[512];
    assert_int_equal(attach(b, msg, sizeof(msg)), -XEND_EEXIST);
    assert_string_equal(msg, "vif: duplicate mac aa:00:00:12:34:56: domain vm1 (5) uses it");
    assert_int_equal(B.attach_calls, 1);
    char *log = script_log();
    assert_string_equal(log, "");
    free(log);
}

static void test_detach_runs_down_then_detaches_backend(void **state)
{
    (void)state;
    init_plugin();
    struct xend_device *dev = fake_host_device_new(vm1, "vif", 0, "(vif (mac aa:00:00:12:34:56))");
    assert_int_equal(attach(dev, NULL, 0), 0);
    reset_log();
    struct xend_op *op = fake_host_op_new();
    ops->detach(ctx, dev, XEND_DEV_ROLLBACK, op);
    assert_false(fake_host_op_done(op, NULL));
    assert_int_equal(B.detach_calls, 0); /* not before the down script finished */
    assert_int_equal(fake_host_op_wait(op, 5000), 0);
    fake_host_op_free(op);
    assert_int_equal(B.detach_calls, 1);
    char *log = script_log();
    assert_string_equal(log, expect_argv("rec", "down", "domain=vm1", "vif=vif5.0",
                                         "mac=aa:00:00:12:34:56", "bridge=xen-br0", NULL));
    free(log);
}

static void test_failing_down_is_logged_and_device_goes_anyway(void **state)
{
    (void)state;
    init_plugin();
    struct xend_device *dev =
        fake_host_device_new(vm1, "vif", 0, "(vif (mac aa:00:00:12:34:56) (script faildown))");
    assert_int_equal(attach(dev, NULL, 0), 0);
    assert_int_equal(detach(dev), 0);
    assert_int_equal(B.detach_calls, 1);
    assert_true(fake_host_log_contains("script failed"));
    assert_true(fake_host_log_contains("down broke"));
}

static void test_describe_lists_vif_mac_bridge_script_ips(void **state)
{
    (void)state;
    init_plugin();
    struct xend_device *dev = fake_host_device_new(
        vm1, "vif", 2, "(vif (mac aa:00:00:12:34:56) (bridge br1) (ip '10.0.0.5/24 10.0.0.6'))");
    char *d = describe(dev); /* before attach: from the config */
    assert_string_equal(
        d, "(vif (idx 2) (vif 2) (vifname vif5.2) (mac aa:00:00:12:34:56) (bridge br1) "
           "(script rec) (ip 10.0.0.5/24) (ip 10.0.0.6) (index 2))");
    free(d);
    assert_int_equal(attach(dev, NULL, 0), 0);
    d = describe(dev);
    assert_string_equal(
        d, "(vif (idx 2) (vif 2) (vifname vif5.2) (mac aa:00:00:12:34:56) (bridge br1) "
           "(script rec) (ip 10.0.0.5/24) (ip 10.0.0.6) (index 2))");
    free(d);
}

static void test_reattach_rebuilds_state_without_scripts(void **state)
{
    (void)state;
    init_plugin();
    struct xend_device *dev = fake_host_device_new(vm1, "vif", 0, "(vif (mac aa:00:00:12:34:56))");
    struct xend_sxp *st = sxp("(vif (idx 0) (vif 0) (vifname vif5.0) (mac aa:00:00:12:34:56) "
                              "(bridge oldbr) (script rec) (index 0))");
    struct xend_err err = {0};
    assert_int_equal(ops->reattach(ctx, dev, st, &err), 0);
    xend_sxp_free(st);
    char *log = script_log();
    assert_string_equal(log, "");
    free(log);
    assert_int_equal(B.attach_calls, 0);
    /* down undoes what up did then: the bridge the state names */
    assert_int_equal(detach(dev), 0);
    log = script_log();
    assert_string_equal(log, expect_argv("rec", "down", "domain=vm1", "vif=vif5.0",
                                         "mac=aa:00:00:12:34:56", "bridge=oldbr", NULL));
    free(log);
    assert_int_equal(B.detach_calls, 1);
}

/* ---- configure ---- */

static void test_configure_bridge_runs_down_old_then_up_new(void **state)
{
    (void)state;
    init_plugin();
    struct xend_device *dev = fake_host_device_new(vm1, "vif", 0, "(vif (mac aa:00:00:12:34:56))");
    assert_int_equal(attach(dev, NULL, 0), 0);
    reset_log();
    assert_int_equal(
        configure(dev, "(vif (mac aa:00:00:12:34:56) (bridge br2) (ip 10.1.1.1))", NULL, 0), 0);
    char *log = script_log();
    char want[2048];
    snprintf(want, sizeof(want), "%s",
             expect_argv("rec", "down", "domain=vm1", "vif=vif5.0", "mac=aa:00:00:12:34:56",
                         "bridge=xen-br0", NULL));
    strcat(want, expect_argv("rec", "up", "domain=vm1", "vif=vif5.0", "mac=aa:00:00:12:34:56",
                             "bridge=br2", "ip=10.1.1.1", NULL));
    assert_string_equal(log, want);
    free(log);
    char *d = describe(dev);
    assert_non_null(strstr(d, "(bridge br2)"));
    free(d);
}

static void test_configure_refuses_mac_backend_and_vifname_changes(void **state)
{
    (void)state;
    init_plugin();
    struct xend_device *dev = fake_host_device_new(vm1, "vif", 0, "(vif (mac aa:00:00:12:34:56))");
    assert_int_equal(attach(dev, NULL, 0), 0);
    reset_log();
    char msg[512];
    assert_int_equal(configure(dev, "(vif (mac aa:00:00:12:34:57))", msg, sizeof(msg)),
                     -XEND_EINVAL);
    assert_string_equal(msg, "vif: cannot change mac");
    assert_int_equal(configure(dev, "(vif (mac aa:00:00:12:34:56) (backend 7))", msg, sizeof(msg)),
                     -XEND_EINVAL);
    assert_string_equal(msg, "vif: cannot change backend");
    assert_int_equal(configure(dev, "(vif (vifname x0))", msg, sizeof(msg)), -XEND_EINVAL);
    assert_string_equal(msg, "vif: cannot change vifname");
    char *log = script_log();
    assert_string_equal(log, "");
    free(log);
}

static void test_configure_whose_new_up_fails_goes_back_to_old_settings(void **state)
{
    (void)state;
    init_plugin();
    struct xend_device *dev = fake_host_device_new(vm1, "vif", 0, "(vif (mac aa:00:00:12:34:56))");
    assert_int_equal(attach(dev, NULL, 0), 0);
    reset_log();
    char msg[512];
    assert_int_equal(configure(dev, "(vif (mac aa:00:00:12:34:56) (script fail) (bridge br2))", msg,
                               sizeof(msg)),
                     -XEND_EIO);
    assert_non_null(strstr(msg, "fail up failed: exit status 3: something went wrong"));
    char *log = script_log();
    char want[4096];
    snprintf(want, sizeof(want), "%s",
             expect_argv("rec", "down", "domain=vm1", "vif=vif5.0", "mac=aa:00:00:12:34:56",
                         "bridge=xen-br0", NULL));
    strcat(want, expect_argv("fail", "up", "domain=vm1", "vif=vif5.0", "mac=aa:00:00:12:34:56",
                             "bridge=br2", NULL));
    strcat(want, expect_argv("rec", "up", "domain=vm1", "vif=vif5.0", "mac=aa:00:00:12:34:56",
                             "bridge=xen-br0", NULL));
    assert_string_equal(log, want);
    free(log);
    char *d = describe(dev);
    assert_non_null(strstr(d, "(bridge xen-br0) (script rec)"));
    free(d);
}

/* ---- network script, dry run ---- */

static bool log_has_blocks(void *arg)
{
    char *log = script_log();
    int n = 0;
    for (char *p = log; (p = strstr(p, "---\n")); p += 4)
        n++;
    free(log);
    return n >= *(int *)arg;
}

static void test_network_script_runs_at_xend_start_and_stop(void **state)
{
    (void)state;
    fake_host_config_set("vif-bridge", "br7");
    init_plugin();
    struct xend_err err = {0};
    assert_int_equal(fake_host_run_hooks(XEND_HOOK_XEND_START, NULL, 0, 0, &err), 0);
    int want = 1;
    assert_true(fake_host_loop_until(log_has_blocks, &want, 5000));
    assert_int_equal(fake_host_run_hooks(XEND_HOOK_XEND_STOP, NULL, 0, 0, &err), 0);
    /* At stop the loop no longer runs: the script has finished when the hook returns. */
    want = 2;
    assert_true(log_has_blocks(&want));
    char *log = script_log();
    char expect[1024];
    snprintf(expect, sizeof(expect), "%s",
             expect_argv("net", "start", "bridge=br7", "antispoof=yes", NULL));
    strcat(expect, expect_argv("net", "stop", "bridge=br7", "antispoof=yes", NULL));
    assert_string_equal(log, expect);
    free(log);
}

static void test_network_script_antispoof_no_and_disabled(void **state)
{
    (void)state;
    fake_host_config_set("vif-antispoof", "no");
    init_plugin();
    struct xend_err err = {0};
    assert_int_equal(fake_host_run_hooks(XEND_HOOK_XEND_START, NULL, 0, 0, &err), 0);
    int want = 1;
    assert_true(fake_host_loop_until(log_has_blocks, &want, 5000));
    char *log = script_log();
    assert_string_equal(log, expect_argv("net", "start", "bridge=xen-br0", "antispoof=no", NULL));
    free(log);
}

static void test_no_network_script_when_configured_empty(void **state)
{
    (void)state;
    fake_host_config_set("network-script", "");
    init_plugin();
    struct xend_err err = {0};
    assert_int_equal(fake_host_run_hooks(XEND_HOOK_XEND_START, NULL, 0, 0, &err), 0);
    assert_false(fake_host_log_contains("script run"));
}

static char envlog[160];
static bool env_written(void *arg)
{
    (void)arg;
    return access(envlog, F_OK) == 0;
}

static void run_env_script(struct xend_domain *dom, uint32_t idx)
{
    char cfg[128];
    snprintf(cfg, sizeof(cfg), "(vif (mac aa:00:00:00:01:%02x) (script envrec))", idx);
    struct xend_device *dev = fake_host_device_new(dom, "vif", idx, cfg);
    assert_int_equal(attach(dev, NULL, 0), 0);
    assert_true(fake_host_loop_until(env_written, NULL, 5000));
}

static void test_simulated_backend_runs_scripts_in_dry_run(void **state)
{
    (void)state;
    snprintf(envlog, sizeof(envlog), "%s/env.log", script_dir);
    fake_host_backend_set(&sim_backend, NULL);
    init_plugin();
    run_env_script(vm1, 0);
    char *s = slurp(envlog);
    assert_string_equal(s, "dry=1\n");
    free(s);
    assert_true(fake_host_log_contains("dry_run=yes"));
}

static void test_other_backends_run_scripts_for_real(void **state)
{
    (void)state;
    snprintf(envlog, sizeof(envlog), "%s/env.log", script_dir);
    unsetenv("XEND_SCRIPT_DRY_RUN");
    init_plugin();
    run_env_script(vm1, 0);
    char *s = slurp(envlog);
    assert_string_equal(s, "dry=unset\n");
    free(s);
}

static void test_script_dry_run_yes_forces_dry_run(void **state)
{
    (void)state;
    snprintf(envlog, sizeof(envlog), "%s/env.log", script_dir);
    fake_host_config_set("script-dry-run", "yes");
    init_plugin();
    run_env_script(vm1, 1);
    char *s = slurp(envlog);
    assert_string_equal(s, "dry=1\n");
    free(s);
}

static void test_bad_dry_run_setting_fails_init(void **state)
{
    (void)state;
    fake_host_config_set("script-dry-run", "maybe");
    assert_int_equal(fake_host_init_plugin(&xend_plugin_desc), -XEND_EINVAL);
    assert_non_null(strstr(fake_host_plugin_err(), "script-dry-run"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_missing_mac_gets_one_of_oui_aa0000),
        T(test_mac_None_from_the_2_0_0_client_is_replaced),
        T(test_generated_mac_skips_macs_in_use),
        T(test_generated_macs_see_earlier_devices_of_same_config),
        T(test_malformed_mac_is_refused),
        T(test_mac_is_normalised_to_lower_case),
        T(test_duplicate_mac_on_the_host_is_refused),
        T(test_same_mac_twice_in_one_new_config_is_refused_at_parse),
        T(test_unknown_backend_domain_is_refused),
        T(test_bad_bridge_ip_vifname_and_missing_script_are_refused),
        T(test_an_operator_may_name_no_script),
        T(test_a_device_may_only_name_scripts_in_script_dir),
        T(test_attach_asks_backend_then_runs_up_with_exact_argv),
        T(test_attach_uses_config_defaults_for_bridge_and_script),
        T(test_backend_without_dev_attach_still_names_vifD_N),
        T(test_vifname_names_the_back_end),
        T(test_failing_up_script_fails_attach_and_undoes_backend),
        T(test_attach_over_a_device_left_attached_detaches_it_first),
        T(test_attach_over_a_device_the_backend_keeps_fails),
        T(test_backend_refusal_fails_attach_without_running_script),
        T(test_script_past_its_timeout_fails_attach),
        T(test_hotplug_vif_with_a_mac_of_the_same_domain_fails_before_anything),
        T(test_detach_runs_down_then_detaches_backend),
        T(test_failing_down_is_logged_and_device_goes_anyway),
        T(test_describe_lists_vif_mac_bridge_script_ips),
        T(test_reattach_rebuilds_state_without_scripts),
        T(test_configure_bridge_runs_down_old_then_up_new),
        T(test_configure_refuses_mac_backend_and_vifname_changes),
        T(test_configure_whose_new_up_fails_goes_back_to_old_settings),
        T(test_network_script_runs_at_xend_start_and_stop),
        T(test_network_script_antispoof_no_and_disabled),
        T(test_no_network_script_when_configured_empty),
        T(test_simulated_backend_runs_scripts_in_dry_run),
        T(test_other_backends_run_scripts_for_real),
        T(test_script_dry_run_yes_forces_dry_run),
        T(test_bad_dry_run_setting_fails_init),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
