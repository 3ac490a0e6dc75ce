/*
 * The xenctrl backend against a fake Xen (fake_xen.c, every libxen call wrapped with
 * -Wl,--wrap): each backend op does what Xen 4.17 needs (hypercalls, xenstore layout,
 * introduction, notification), and each library failure becomes a clear xend error with
 * the right code, leaving nothing half made behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "fake_host.h"
#include "fake_xen.h"
#include "sxp.h"
#include "xc_priv.h"

extern const struct xend_plugin_desc xend_plugin_desc;

static const struct xend_backend_ops *ops;
static void *ctx;
static char tmpdir[64];
static char kernel[128], ramdisk[128];

static int setup(void **state)
{
    (void)state;
    fx_reset();
    fake_host_new("hv-xenctrl");
    fake_host_config_set("xenctrl-device-timeout-ms", "200");
    fake_host_config_set("xenctrl-console-timeout-ms", "200");
    fake_host_config_set("xenctrl-suspend-timeout-ms", "300");
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/xend-xc.XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    snprintf(kernel, sizeof(kernel), "%s/vmlinuz", tmpdir);
    snprintf(ramdisk, sizeof(ramdisk), "%s/initrd", tmpdir);
    FILE *f = fopen(kernel, "w");
    fputs("kernel", f);
    fclose(f);
    f = fopen(ramdisk, "w");
    fputs("initrd", f);
    fclose(f);
    fake_host_config_set("xenctrl-privcmd", kernel);
    assert_int_equal(fake_host_init_plugin(&xend_plugin_desc), 0);
    ops = fake_host_backend("xenctrl", &ctx);
    assert_non_null(ops);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ops->close(ctx);
    fake_host_fini_plugin(&xend_plugin_desc);
    fake_host_free();
    unlink(kernel);
    unlink(ramdisk);
    rmdir(tmpdir);
    fx_reset();
    return 0;
}

static void open_ok(void)
{
    struct xend_err err = {0};
    assert_int_equal(ops->open(ctx, &err), 0);
}

static uint32_t create(const char *name, uint64_t mem_kb, uint32_t vcpus)
{
    struct xend_dom_create a = {.size = sizeof(a),
                                .name = name,
                                .mem_kb = mem_kb,
                                .maxmem_kb = mem_kb,
                                .vcpus = vcpus,
                                .want_domid = -1,
                                .cpu = -1};
    struct xend_err err = {0};
    uint32_t id = 0;
    int rc = ops->dom_create(ctx, &a, &id, &err);
    if (rc != 0)
        fail_msg("create failed: %s", xend_err_msg(&err));
    return id;
}

static uint32_t create_built(const char *name)
{
    uint32_t id = create(name, 131072, 1);
    struct xend_dom_image img = {.size = sizeof(img),
                                 .builder = "linux",
                                 .kernel = kernel,
                                 .ramdisk = ramdisk,
                                 .cmdline = "console=hvc0 rdinit=/init"};
    struct xend_err err = {0};
    if (ops->dom_build(ctx, id, &img, &err) != 0)
        fail_msg("build failed: %s", xend_err_msg(&err));
    return id;
}

static const char *dxs(uint32_t id, const char *rel)
{
    static char path[128];
    snprintf(path, sizeof(path), "/local/domain/%u/%s", id, rel);
    return fx_xs(path);
}

static int dxs_owner(uint32_t id, const char *rel)
{
    char path[128];
    snprintf(path, sizeof(path), "/local/domain/%u/%s", id, rel);
    return fx_xs_owner(path);
}

#define assert_err(rc, err, want, needle)                                                          \
    do {                                                                                           \
        assert_int_equal((rc), -(want));                                                           \
        assert_int_equal((err).code, (want));                                                      \
        if (strstr(xend_err_msg(&(err)), (needle)) == NULL)                                        \
            fail_msg("error \"%s\" lacks \"%s\"", xend_err_msg(&(err)), (needle));                 \
    } while (0)

/* ---- registration, probe, open ---- */

static void test_registers_as_xenctrl_with_priority_100(void **state)
{
    (void)state;
    assert_string_equal(ops->name, "xenctrl");
    assert_int_equal(ops->priority, 100);
}

static void test_probe_follows_privcmd(void **state)
{
    (void)state;
    assert_true(ops->probe(ctx)); /* the test's xenctrl-privcmd exists */
    unlink(kernel);
    assert_false(ops->probe(ctx));
}

static void test_open_without_xen_names_libxens_error(void **state)
{
    (void)state;
    fx_fail("xc_interface_open", ENOENT);
    struct xend_err err = {0};
    int rc = ops->open(ctx, &err);
    assert_err(rc, err, XEND_EBACKEND,
               "cannot open Xen's control interface: Could not obtain handle on privileged "
               "command interface: No such file or directory");
    /* libxen's own words went to xend's log through the plugin's logger */
    assert_true(fake_host_log_contains("Could not obtain handle on privileged command"));
    assert_int_equal(ops->notify_fd(ctx), -1);
}

static void test_open_without_xenstored_fails_clearly(void **state)
{
    (void)state;
    fx_fail("xs_open", ECONNREFUSED);
    struct xend_err err = {0};
    assert_err(ops->open(ctx, &err), err, XEND_EBACKEND, "cannot connect to xenstored");
    assert_int_equal(FX.xc_closes, FX.xc_opens); /* the xc handle was not leaked */
}

static void test_open_failures_of_sched_and_evtchn(void **state)
{
    (void)state;
    struct xend_err err = {0};
    fx_fail("xc_sched_id", EPERM);
    assert_err(ops->open(ctx, &err), err, XEND_EPERM, "cannot ask Xen which scheduler it runs");
    xend_err_clear(&err);
    fx_fail("xenevtchn_open", ENOENT);
    assert_err(ops->open(ctx, &err), err, XEND_ENOENT, "cannot open Xen's event channel device");
    xend_err_clear(&err);
    FX.virq_busy = true;
    fx_fail("xs_watch", EACCES);
    assert_err(ops->open(ctx, &err), err, XEND_EPERM,
               "cannot bind VIRQ_DOM_EXC (File exists) nor watch @releaseDomain");
    assert_int_equal(FX.xc_closes, FX.xc_opens);
    assert_int_equal(FX.xs_closes, FX.xs_opens);
}

static bool readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) == 1;
}

static void test_notify_through_virq_dom_exc(void **state)
{
    (void)state;
    open_ok();
    assert_true(fake_host_log_contains("via=VIRQ_DOM_EXC"));
    int fd = ops->notify_fd(ctx);
    assert_true(fd >= 0);
    assert_false(readable(fd));
    fx_dom_add(5, XEN_DOMINF_running, 100);
    fx_dom_shutdown(5, SHUTDOWN_crash);
    assert_true(readable(fd));
    ops->notify_ack(ctx);
    assert_false(readable(fd));
    assert_int_equal(FX.unmasks, 1);
}

static void test_notify_through_release_domain_when_xenstored_holds_the_virq(void **state)
{
    (void)state;
    FX.virq_busy = true;
    open_ok();
    assert_true(fake_host_log_contains("via=@releaseDomain"));
    int fd = ops->notify_fd(ctx);
    assert_true(fd >= 0);
    ops->notify_ack(ctx); /* the watch's first firing */
    assert_false(readable(fd));
    fx_dom_add(5, XEN_DOMINF_running, 100);
    fx_dom_shutdown(5, SHUTDOWN_poweroff);
    assert_true(readable(fd));
    ops->notify_ack(ctx);
    assert_false(readable(fd));
}

/* ---- node info ---- */

static void test_physinfo_and_dmesg(void **state)
{
    (void)state;
    open_ok();
    struct xend_physinfo pi;
    struct xend_err err = {0};
    assert_int_equal(ops->physinfo(ctx, &pi, &err), 0);
    assert_int_equal(pi.nr_cpus, 2);
    assert_int_equal(pi.cpu_mhz, 2400);
    assert_int_equal(pi.total_kb, 2097152);
    assert_int_equal(pi.free_kb, 1048576);
    assert_string_equal(pi.hypervisor, "Xen 4.17.1");
    assert_string_equal(pi.scheduler, "credit");
    fx_fail("xc_physinfo", EFAULT);
    assert_err(ops->physinfo(ctx, &pi, &err), err, XEND_EBACKEND,
               "cannot read the host's physical info: Bad address");

    xend_err_clear(&err);
    char *text = ops->dmesg(ctx, true, &err);
    assert_non_null(text);
    assert_string_equal(text, "(XEN) Xen version 4.17.1\n");
    free(text);
    text = ops->dmesg(ctx, false, &err);
    assert_string_equal(text, ""); /* cleared */
    free(text);
    fx_fail("xc_readconsolering", EPERM);
    assert_null(ops->dmesg(ctx, false, &err));
    assert_int_equal(err.code, XEND_EPERM);
    assert_non_null(strstr(err.msg, "cannot read Xen's console ring"));
}

/* ---- create and build ---- */

static void test_create_makes_a_pv_shell_with_its_xenstore_home(void **state)
{
    (void)state;
    open_ok();
    uint32_t id = create("vm1", 131072, 2);
    assert_int_equal(id, 1);
    struct fx_dom *d = fx_dom(id);
    assert_non_null(d);
    assert_true(d->flags & XEN_DOMINF_paused);
    assert_int_equal(d->cfg.flags, 0); /* PV: no HVM, no HAP */
    assert_int_equal(d->cfg.max_vcpus, 2);
    assert_int_equal(d->cfg.grant_opts, 2);
    assert_true(d->cfg.max_grant_frames > 0);
    assert_true(d->vcpus_made);
    assert_int_equal(d->max_pages, (131072 + 1024) / 4); /* libxl's slack above the memory */
    assert_string_equal(dxs(id, "name"), "vm1");
    assert_string_equal(dxs(id, "domid"), "1");
    assert_string_equal(dxs(id, "memory/target"), "131072");
    assert_string_equal(dxs(id, "cpu/1/availability"), "online");
    const char *vm = dxs(id, "vm");
    assert_non_null(vm);
    assert_memory_equal(vm, "/vm/", 4);
    char uuid_path[128];
    snprintf(uuid_path, sizeof(uuid_path), "%s/name", vm);
    assert_string_equal(fx_xs(uuid_path), "vm1");
    /* the guest may answer control requests, but not rename itself */
    assert_int_equal(dxs_owner(id, "control/shutdown"), (int)id);
    assert_int_equal(dxs_owner(id, "data"), (int)id);
    assert_int_equal(dxs_owner(id, "name"), 0);
    assert_int_equal(dxs_owner(id, "memory/target"), 0);
}

static void test_create_refuses_what_does_not_fit(void **state)
{
    (void)state;
    open_ok();
    FX.free_pages = 100 * 256;
    struct xend_dom_create a = {.size = sizeof(a),
                                .name = "big",
                                .mem_kb = 512 * 1024,
                                .maxmem_kb = 512 * 1024,
                                .vcpus = 1,
                                .want_domid = -1};
    struct xend_err err = {0};
    uint32_t id;
    assert_err(ops->dom_create(ctx, &a, &id, &err), err, XEND_ENOMEM,
               "Out of memory: domain needs 512 MB, 100 MB free");
    assert_null(fx_dom(1));
}

static void test_create_failures_map_errno_and_leave_nothing(void **state)
{
    (void)state;
    open_ok();
    struct xend_dom_create a = {.size = sizeof(a),
                                .name = "vm1",
                                .mem_kb = 65536,
                                .maxmem_kb = 65536,
                                .vcpus = 1,
                                .want_domid = -1};
    uint32_t id;
    struct {
        const char *fn;
        int e, code;
        const char *msg;
    } cases[] = {
        {"xc_physinfo", EACCES, XEND_EPERM, "cannot create domain vm1: cannot read"},
        {"xc_domain_create", ENOMEM, XEND_ENOMEM,
         "cannot create domain vm1: Cannot allocate memory"},
        {"xc_domain_max_vcpus", ENOMEM, XEND_ENOMEM, "cannot give domain vm1 1 vcpus"},
        {"xc_domain_setmaxmem", EINVAL, XEND_EINVAL, "cannot set the memory limit of domain vm1"},
        {"xs_write", EACCES, XEND_EPERM, "xenstore: cannot write /vm/"},
        {"xs_transaction_start", EIO, XEND_EBACKEND, "xenstore: cannot start a transaction"},
        {"xs_set_permissions", EINVAL, XEND_EINVAL, "xenstore: cannot write"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fx_fail(cases[i].fn, cases[i].e);
        struct xend_err err = {0};
        int rc = ops->dom_create(ctx, &a, &id, &err);
        if (rc != -cases[i].code || strstr(err.msg, cases[i].msg) == NULL)
            fail_msg("%s: rc %d \"%s\"", cases[i].fn, rc, err.msg);
        /* a failed create destroys the shell and its xenstore home */
        assert_null(fx_dom(1));
        assert_null(fx_xs("/local/domain/1/name"));
    }
}

static void test_create_retries_a_conflicting_transaction(void **state)
{
    (void)state;
    open_ok();
    fx_fail("xs_transaction_end", EAGAIN);
    uint32_t id = create("vm1", 65536, 1);
    assert_int_equal(FX.txn_ends, 2);
    assert_string_equal(dxs(id, "name"), "vm1");
}

static void test_create_with_a_taken_id_takes_another(void **state)
{
    (void)state;
    open_ok();
    fx_dom_add(7, XEN_DOMINF_dying, 10); /* the old instance, not gone yet */
    struct xend_dom_create a = {.size = sizeof(a),
                                .name = "again",
                                .mem_kb = 65536,
                                .maxmem_kb = 65536,
                                .vcpus = 1,
                                .want_domid = 7};
    struct xend_err err = {0};
    uint32_t id = 0;
    assert_int_equal(ops->dom_create(ctx, &a, &id, &err), 0);
    assert_int_not_equal(id, 7);
    a.want_domid = 9;
    assert_int_equal(ops->dom_create(ctx, &a, &id, &err), 0);
    assert_int_equal(id, 9);
}

static void test_build_loads_kernel_and_introduces_the_domain(void **state)
{
    (void)state;
    FX.tty[0] = '\0';
    open_ok();
    uint32_t id = create_built("vm1");
    assert_true(fx_dom(id)->built);
    assert_string_equal(FX.kernel, kernel);
    assert_string_equal(FX.ramdisk, ramdisk);
    assert_string_equal(FX.cmdline, "console=hvc0 rdinit=/init");
    assert_int_equal(FX.mem_mb, 128);
    assert_int_equal(FX.dom_allocs, 1);
    assert_int_equal(FX.dom_releases, 1);
    /* console page and port for xenconsoled, store page and port for xenstored */
    assert_string_equal(dxs(id, "console/ring-ref"), "4097");
    assert_string_equal(dxs(id, "console/type"), "xenconsoled");
    assert_string_equal(dxs(id, "store/ring-ref"), "4098");
    assert_int_equal(FX.introduced, 1);
    assert_int_equal(FX.intro_domid, id);
    assert_int_equal(FX.intro_mfn, 0x1002);
    char port[16];
    snprintf(port, sizeof(port), "%u", FX.intro_port);
    assert_string_equal(dxs(id, "store/port"), port);
    assert_string_not_equal(dxs(id, "console/port"), port);
}

static void test_build_failures_name_the_step_and_release_the_builder(void **state)
{
    (void)state;
    open_ok();
    uint32_t id = create("vm1", 65536, 1);
    struct xend_dom_image img = {.size = sizeof(img),
                                 .builder = "linux",
                                 .kernel = kernel,
                                 .ramdisk = ramdisk,
                                 .cmdline = ""};
    struct {
        const char *fn;
        int e;
        const char *msg;
    } cases[] = {
        {"xc_evtchn_alloc_unbound", ENOSPC, "no event channel for xenstore"},
        {"xc_dom_allocate", ENOMEM, "cannot build domain 1: Cannot allocate memory"},
        {"xc_dom_kernel_file", EIO, "cannot load the kernel"},
        {"xc_dom_module_file", EIO, "cannot load the ramdisk"},
        {"xc_dom_boot_xen_init", EPERM, "cannot start the builder"},
        {"xc_dom_parse_image", EINVAL, "is it a Xen PV kernel?): xc_dom_find_loader: no loader"},
        {"xc_dom_mem_init", EINVAL, "cannot lay out its memory"},
        {"xc_dom_boot_mem_init", ENOMEM, "cannot allocate its memory"},
        {"xc_dom_build_image", EFAULT, "cannot build the image"},
        {"xc_dom_boot_image", EFAULT, "cannot boot the image"},
        {"xc_dom_gnttab_init", EFAULT, "cannot seed its grant table"},
        {"xs_introduce_domain", EINVAL, "cannot introduce domain 1 to xenstored"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fx_fail(cases[i].fn, cases[i].e);
        struct xend_err err = {0};
        int rc = ops->dom_build(ctx, id, &img, &err);
        if (rc >= 0 || strstr(err.msg, cases[i].msg) == NULL)
            fail_msg("%s: rc %d \"%s\"", cases[i].fn, rc, err.msg);
        assert_int_equal(FX.dom_allocs, FX.dom_releases);
    }
}

static void test_build_refuses_bad_images(void **state)
{
    (void)state;
    open_ok();
    uint32_t id = create("vm1", 65536, 1);
    struct xend_err err = {0};
    struct xend_dom_image img = {
        .size = sizeof(img), .builder = "linux", .kernel = "/nonexistent/vmlinuz", .cmdline = ""};
    assert_err(ops->dom_build(ctx, id, &img, &err), err, XEND_ENOENT,
               "cannot read kernel /nonexistent/vmlinuz: No such file or directory");
    xend_err_clear(&err);
    img.kernel = kernel;
    img.ramdisk = "/nonexistent/initrd";
    assert_err(ops->dom_build(ctx, id, &img, &err), err, XEND_ENOENT, "cannot read ramdisk");
    xend_err_clear(&err);
    img.ramdisk = NULL;
    img.builder = "hvm";
    assert_err(ops->dom_build(ctx, id, &img, &err), err, XEND_ENOTSUP,
               "PV (linux) and PVH (pvh) domains only");
    xend_err_clear(&err);
    img.builder = "linux";
    fx_dom_add(30, XEN_DOMINF_paused, 0); /* made by someone else: no memory/target */
    assert_err(ops->dom_build(ctx, 30, &img, &err), err, XEND_EINVAL, "not created by xend");
    assert_int_equal(FX.dom_allocs, 0);
}

/* ---- info and list ---- */

static struct {
    struct xend_dominfo info[128];
    size_t n;
} seen;

static void collect(void *arg, const struct xend_dominfo *info)
{
    (void)arg;
    if (seen.n < sizeof(seen.info) / sizeof(seen.info[0]))
        seen.info[seen.n++] = *info;
}

static void test_info_maps_flags_shutdown_reasons_and_memory(void **state)
{
    (void)state;
    open_ok();
    struct xend_dominfo info;
    struct xend_err err = {0};
    assert_int_equal(ops->dom_info(ctx, 0, &info, &err), 0);
    assert_string_equal(info.name, "Domain-0");
    assert_int_equal(info.flags, XEND_DOMF_RUNNING);
    assert_int_equal(info.mem_kb, 1048576);

    uint32_t id = create_built("vm1");
    fx_dom(id)->cpu = 1;
    fx_dom(id)->cpu_time = 12345;
    assert_int_equal(ops->dom_info(ctx, id, &info, &err), 0);
    assert_string_equal(info.name, "vm1");
    assert_int_equal(info.flags, XEND_DOMF_PAUSED);
    assert_int_equal(info.mem_kb, 131072);
    assert_int_equal(info.maxmem_kb, 131072 + 1024);
    assert_int_equal(info.vcpus, 1);
    assert_int_equal(info.cpu, 1);
    assert_int_equal(info.cpu_time_ns, 12345);

    struct {
        unsigned code;
        uint32_t flag, reason;
    } cases[] = {
        {SHUTDOWN_poweroff, XEND_DOMF_SHUTDOWN, XEND_SHUTDOWN_POWEROFF},
        {SHUTDOWN_reboot, XEND_DOMF_SHUTDOWN, XEND_SHUTDOWN_REBOOT},
        {SHUTDOWN_suspend, XEND_DOMF_SHUTDOWN, XEND_SHUTDOWN_SUSPEND},
        {SHUTDOWN_crash, XEND_DOMF_CRASHED, XEND_SHUTDOWN_CRASH},
        {SHUTDOWN_watchdog, XEND_DOMF_CRASHED, XEND_SHUTDOWN_CRASH},
        {SHUTDOWN_soft_reset, XEND_DOMF_SHUTDOWN, XEND_SHUTDOWN_REBOOT},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fx_dom(id)->flags = XEN_DOMINF_shutdown;
        fx_dom(id)->shutdown_code = cases[i].code;
        assert_int_equal(ops->dom_info(ctx, id, &info, &err), 0);
        assert_int_equal(info.flags, cases[i].flag);
        assert_int_equal(info.shutdown_reason, cases[i].reason);
    }
    fx_dom(id)->flags = XEN_DOMINF_blocked | XEN_DOMINF_dying;
    assert_int_equal(ops->dom_info(ctx, id, &info, &err), 0);
    assert_int_equal(info.flags, XEND_DOMF_BLOCKED | XEND_DOMF_DYING);
}

static void test_info_of_a_missing_domain_is_enoent(void **state)
{
    (void)state;
    open_ok();
    fx_dom_add(9, XEN_DOMINF_running, 1); /* getinfolist would return 9 for 4 */
    struct xend_dominfo info;
    struct xend_err err = {0};
    assert_err(ops->dom_info(ctx, 4, &info, &err), err, XEND_ENOENT, "no domain 4");
    xend_err_clear(&err);
    fx_fail("xc_domain_getinfolist", EPERM);
    assert_err(ops->dom_info(ctx, 9, &info, &err), err, XEND_EPERM,
               "cannot get the state of domain 9: Operation not permitted");
}

static void test_list_walks_every_domain_in_batches(void **state)
{
    (void)state;
    open_ok();
    for (uint32_t id = 1; id <= 99; id++)
        fx_dom_add(id * 3, XEN_DOMINF_blocked, 1);
    seen.n = 0;
    struct xend_err err = {0};
    assert_int_equal(ops->dom_list(ctx, collect, NULL, &err), 0);
    assert_int_equal(seen.n, 100);
    for (size_t i = 1; i < seen.n; i++)
        assert_true(seen.info[i].domid > seen.info[i - 1].domid);
    assert_int_equal(seen.info[99].domid, 297);
    fx_fail_nth("xc_domain_getinfolist", 2, EIO);
    assert_err(ops->dom_list(ctx, collect, NULL, &err), err, XEND_EBACKEND,
               "cannot list domains: Input/output error");
}

/* ---- control ---- */

static void test_pause_and_unpause(void **state)
{
    (void)state;
    open_ok();
    uint32_t id = create_built("vm1");
    struct xend_err err = {0};
    assert_int_equal(ops->dom_unpause(ctx, id, &err), 0);
    assert_false(fx_dom(id)->flags & XEN_DOMINF_paused);
    assert_int_equal(ops->dom_pause(ctx, id, &err), 0);
    assert_true(fx_dom(id)->flags & XEN_DOMINF_paused);
    assert_err(ops->dom_pause(ctx, 77, &err), err, XEND_ENOENT,
               "cannot pause domain 77: no such domain");
    xend_err_clear(&err);
    fx_fail("xc_domain_unpause", EBUSY);
    assert_err(ops->dom_unpause(ctx, id, &err), err, XEND_EBUSY, "cannot unpause domain 1");
}

static void test_shutdown_writes_the_request_for_the_guest(void **state)
{
    (void)state;
    open_ok();
    uint32_t id = create_built("vm1");
    struct xend_err err = {0};
    struct {
        enum xend_shutdown_reason r;
        const char *word;
    } cases[] = {{XEND_SHUTDOWN_POWEROFF, "poweroff"},
                 {XEND_SHUTDOWN_REBOOT, "reboot"},
                 {XEND_SHUTDOWN_SUSPEND, "suspend"},
                 {XEND_SHUTDOWN_HALT, "poweroff"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(ops->dom_shutdown(ctx, id, cases[i].r, &err), 0);
        assert_string_equal(dxs(id, "control/shutdown"), cases[i].word);
    }
    /* polite only: the domain itself is untouched */
    assert_false(fx_dom(id)->flags & XEN_DOMINF_shutdown);
    assert_err(ops->dom_shutdown(ctx, id, XEND_SHUTDOWN_CRASH, &err), err, XEND_EINVAL,
               "power off, reboot or suspend");
    xend_err_clear(&err);
    assert_err(ops->dom_shutdown(ctx, 55, XEND_SHUTDOWN_POWEROFF, &err), err, XEND_ENOENT,
               "no domain 55");
    assert_null(fx_xs("/local/domain/55/control/shutdown")); /* nothing made for it */
    xend_err_clear(&err);
    fx_fail("xs_write", EACCES);
    assert_err(ops->dom_shutdown(ctx, id, XEND_SHUTDOWN_REBOOT, &err), err, XEND_EPERM,
               "cannot ask domain 1 to reboot (xenstore control/shutdown)");
}

static void test_destroy_removes_domain_and_its_nodes(void **state)
{
    (void)state;
    open_ok();
    uint32_t id = create_built("vm1");
    char vm[64];
    snprintf(vm, sizeof(vm), "%s", dxs(id, "vm"));
    fx_xs_set("/local/domain/0/backend/vif/1/0/state", "4");
    struct xend_err err = {0};
    fx_fail("xc_domain_destroy", EBUSY);
    assert_err(ops->dom_destroy(ctx, id, &err), err, XEND_EBUSY, "cannot destroy domain 1");
    assert_non_null(fx_dom(id));
    assert_non_null(dxs(id, "name")); /* not cleaned while the domain is still there */
    xend_err_clear(&err);
    assert_int_equal(ops->dom_destroy(ctx, id, &err), 0);
    assert_null(fx_dom(id));
    assert_null(dxs(id, "name"));
    assert_null(fx_xs(vm));
    assert_null(fx_xs("/local/domain/0/backend/vif/1/0/state"));
    assert_err(ops->dom_destroy(ctx, id, &err), err, XEND_ENOENT, "no domain 1");
    xend_err_clear(&err);
    assert_err(ops->dom_destroy(ctx, 0, &err), err, XEND_EPERM, "domain 0 cannot be destroyed");
}

static void test_memory_limit_and_balloon_target(void **state)
{
    (void)state;
    open_ok();
    uint32_t id = create_built("vm1");
    struct xend_err err = {0};
    assert_int_equal(ops->dom_set_maxmem(ctx, id, 262144, &err), 0);
    assert_int_equal(fx_dom(id)->max_pages, 65536);
    assert_string_equal(dxs(id, "memory/static-max"), "262144");
    assert_int_equal(ops->dom_set_target(ctx, id, 98304, &err), 0);
    assert_string_equal(dxs(id, "memory/target"), "98304");
    assert_err(ops->dom_set_maxmem(ctx, 44, 1024, &err), err, XEND_ENOENT, "no such domain");
    xend_err_clear(&err);
    assert_err(ops->dom_set_target(ctx, 44, 1024, &err), err, XEND_ENOENT, "no domain 44");
    xend_err_clear(&err);
    fx_fail("xs_write", EIO);
    assert_err(ops->dom_set_target(ctx, id, 1024, &err), err, XEND_EBACKEND,
               "cannot set the memory target of domain 1");
}

static void test_pin_vcpu_builds_the_cpu_map(void **state)
{
    (void)state;
    open_ok();
    uint32_t id = create("vm1", 65536, 2);
    struct xend_err err = {0};
    assert_int_equal(ops->dom_pin_vcpu(ctx, id, 1, 1, &err), 0);
    assert_int_equal(fx_dom(id)->affinity, 0x02);
    assert_int_equal(fx_dom(id)->affinity_vcpu, 1);
    assert_int_equal(ops->dom_pin_vcpu(ctx, id, 0, -1, &err), 0);
    assert_int_equal(fx_dom(id)->affinity, 0xff);
    assert_err(ops->dom_pin_vcpu(ctx, id, 0, 5, &err), err, XEND_EINVAL,
               "no cpu 5: the host has cpus 0-1");
    xend_err_clear(&err);
    assert_err(ops->dom_pin_vcpu(ctx, id, 2, 0, &err), err, XEND_EINVAL, "domain 1 has no vcpu 2");
    xend_err_clear(&err);
    fx_fail("xc_vcpu_setaffinity", EINVAL);
    assert_err(ops->dom_pin_vcpu(ctx, id, 0, 0, &err), err, XEND_EINVAL,
               "cannot pin vcpu 0 of domain 1 to cpu 0");
}

/* ---- scheduler mapping ---- */

static void test_bvt_mcuadv_becomes_credit_weight(void **state)
{
    (void)state;
    open_ok();
    uint32_t id = create("vm1", 65536, 1);
    struct xend_sched_value v[] = {
        {"mcuadv", 5}, {"warpback", 0}, {"warpvalue", 0}, {"warpl", 2000}, {"warpu", 1000}};
    struct xend_err err = {0};
    assert_int_equal(ops->sched_set(ctx, id, "bvt", v, 5, &err), 0);
    assert_int_equal(fx_dom(id)->weight, 512); /* half the mcuadv, twice the share */
    v[0].value = 10;
    assert_int_equal(ops->sched_set(ctx, id, "fbvt", v, 5, &err), 0);
    assert_int_equal(fx_dom(id)->weight, 256);
    struct xend_sched_value back[] = {{"mcuadv", 0}, {"warpvalue", 9}};
    assert_int_equal(ops->sched_get(ctx, id, "bvt", back, 2, &err), 0);
    assert_int_equal(back[0].value, 10);
    assert_int_equal(back[1].value, 0);
    v[2].value = 50;
    assert_err(ops->sched_set(ctx, id, "bvt", v, 5, &err), err, XEND_EINVAL,
               "bvt parameter warpvalue has no equivalent in Xen's credit scheduler");
    assert_int_equal(fx_dom(id)->weight, 256); /* nothing changed */
}

static void test_atropos_share_becomes_weight_and_cap(void **state)
{
    (void)state;
    open_ok();
    uint32_t id = create("vm1", 65536, 1);
    struct xend_sched_value v[] = {
        {"period", 100000000}, {"slice", 25000000}, {"latency", 100000000}, {"xtratime", 0}};
    struct xend_err err = {0};
    assert_int_equal(ops->sched_set(ctx, id, "atropos", v, 4, &err), 0);
    assert_int_equal(fx_dom(id)->weight, 640);
    assert_int_equal(fx_dom(id)->cap, 25);
    v[3].value = 1; /* extra time allowed: no cap */
    assert_int_equal(ops->sched_set(ctx, id, "atropos", v, 4, &err), 0);
    assert_int_equal(fx_dom(id)->cap, 0);
    v[2].value = 1000000;
    assert_err(ops->sched_set(ctx, id, "atropos", v, 4, &err), err, XEND_EINVAL,
               "atropos parameter latency has no equivalent");
}

static void test_sched_refusals(void **state)
{
    (void)state;
    open_ok();
    uint32_t id = create("vm1", 65536, 1);
    struct xend_err err = {0};
    struct xend_sched_value w[] = {{"weight", 1000}, {"cap", 50}};
    assert_int_equal(ops->sched_set(ctx, id, "credit", w, 2, &err), 0);
    assert_int_equal(fx_dom(id)->weight, 1000);
    assert_int_equal(fx_dom(id)->cap, 50);
    struct xend_sched_value x[] = {{"slice", 5}};
    assert_err(ops->sched_set(ctx, id, "rrobin", x, 1, &err), err, XEND_EINVAL,
               "the rrobin scheduler's parameters have no mapping");
    xend_err_clear(&err);
    struct xend_sched_value bad[] = {{"weight", 0}};
    assert_err(ops->sched_set(ctx, id, "credit", bad, 1, &err), err, XEND_EINVAL,
               "invalid weight: 0");
    xend_err_clear(&err);
    fx_fail("xc_sched_credit_domain_set", EINVAL);
    assert_err(ops->sched_set(ctx, id, "credit", w, 2, &err), err, XEND_EINVAL,
               "cannot set weight 1000 cap 50 on domain 1");
    xend_err_clear(&err);
    assert_err(ops->sched_set(ctx, 99, "credit", w, 2, &err), err, XEND_ENOENT,
               "cannot read the credit parameters of domain 99");
}

static void test_sched_on_a_host_without_credit_is_not_supported(void **state)
{
    (void)state;
    FX.sched_id = XEN_SCHEDULER_RTDS;
    open_ok();
    struct xend_err err = {0};
    struct xend_sched_value w[] = {{"weight", 1000}};
    assert_err(ops->sched_set(ctx, 0, "credit", w, 1, &err), err, XEND_ENOTSUP,
               "Xen runs the rtds scheduler");
}

static void test_sched_credit2_takes_weight_but_no_time_slice(void **state)
{
    (void)state;
    FX.sched_id = XEN_SCHEDULER_CREDIT2;
    open_ok();
    uint32_t id = create("vm1", 65536, 1);
    struct xend_err err = {0};
    struct xend_sched_value v[] = {{"mcuadv", 20}, {"warpback", 0}, {"warpvalue", 0}};
    assert_int_equal(ops->sched_set(ctx, id, "bvt", v, 3, &err), 0);
    assert_int_equal(fx_dom(id)->weight, 128);
    struct xend_sched_value rr[] = {{"slice", 10000000}};
    assert_err(ops->sched_node_set(ctx, "rrobin", rr, 1, &err), err, XEND_EINVAL,
               "rrobin parameter slice has no equivalent in Xen's credit2 scheduler");
    xend_err_clear(&err);
    struct xend_sched_value ctxa[] = {{"ctx_allow", 2000000}};
    assert_int_equal(ops->sched_node_set(ctx, "bvt", ctxa, 1, &err), 0);
    assert_int_equal(FX.credit2_ratelimit_us, 2000);
}

static void test_node_settings_map_to_time_slice_and_rate_limit(void **state)
{
    (void)state;
    open_ok();
    struct xend_err err = {0};
    struct xend_sched_value rr[] = {{"slice", 10000000}};
    assert_int_equal(ops->sched_node_set(ctx, "rrobin", rr, 1, &err), 0);
    assert_int_equal(FX.tslice_ms, 10);
    struct xend_sched_value ca[] = {{"ctx_allow", 5000000}};
    assert_int_equal(ops->sched_node_set(ctx, "bvt", ca, 1, &err), 0);
    assert_int_equal(FX.ratelimit_us, 5000);
    rr[0].value = 10500000;
    assert_err(ops->sched_node_set(ctx, "rrobin", rr, 1, &err), err, XEND_EINVAL,
               "credit's time slice is a whole number of ms");
    xend_err_clear(&err);
    ca[0].value = 10000000000LL;
    assert_err(ops->sched_node_set(ctx, "bvt", ca, 1, &err), err, XEND_EINVAL,
               "Xen accepts 100 to 500000 us");
    xend_err_clear(&err);
    ca[0].value = 20000000; /* 20 ms > the 10 ms slice */
    assert_err(ops->sched_node_set(ctx, "bvt", ca, 1, &err), err, XEND_EINVAL,
               "longer than credit's time slice");
    xend_err_clear(&err);
    fx_fail("xc_sched_credit_params_set", EPERM);
    rr[0].value = 20000000;
    assert_err(ops->sched_node_set(ctx, "rrobin", rr, 1, &err), err, XEND_EPERM,
               "cannot change Xen's credit settings");
}

/* ---- devices ---- */

static struct xend_sxp *params(const char *text)
{
    struct xend_sxp *p = NULL;
    char msg[64];
    assert_int_equal(xend_sxp_parse(text, strlen(text), NULL, &p, msg, sizeof(msg)), 0);
    return p;
}

static const char *block_device(void)
{
    static const char *const cands[] = {"/dev/loop0", "/dev/sda",     "/dev/vda",
                                        "/dev/xvda",  "/dev/nvme0n1", "/dev/ram0"};
    for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
        struct stat st;
        if (stat(cands[i], &st) == 0 && S_ISBLK(st.st_mode))
            return cands[i];
    }
    return NULL;
}

static void test_vif_attach_writes_both_ends_and_names_the_interface(void **state)
{
    (void)state;
    open_ok();
    uint32_t id = create_built("vm1");
    struct xend_sxp *p = params("(vif (mac aa:00:00:12:34:56) (bridge xenbr0))");
    char name[32] = "";
    struct xend_err err = {0};
    assert_int_equal(ops->dev_attach(ctx, id, "vif", 0, p, name, sizeof(name), &err), 0);
    assert_string_equal(name, "vif1.0");
    assert_string_equal(fx_xs("/local/domain/0/backend/vif/1/0/mac"), "aa:00:00:12:34:56");
    assert_string_equal(fx_xs("/local/domain/0/backend/vif/1/0/frontend"),
                        "/local/domain/1/device/vif/0");
    assert_string_equal(fx_xs("/local/domain/0/backend/vif/1/0/state"), "2"); /* taken */
    assert_string_equal(fx_xs("/local/domain/0/backend/vif/1/0/hotplug-status"), "connected");
    assert_string_equal(dxs(id, "device/vif/0/backend"), "/local/domain/0/backend/vif/1/0");
    assert_string_equal(dxs(id, "device/vif/0/mac"), "aa:00:00:12:34:56");
    assert_int_equal(dxs_owner(id, "device/vif/0"), (int)id);
    assert_int_equal(fx_xs_owner("/local/domain/0/backend/vif/1/0"), 0);
    xend_sxp_free(p);
}

static void test_attach_times_out_without_a_driver_and_cleans_up(void **state)
{
    (void)state;
    open_ok();
    FX.drivers = false;
    uint32_t id = create_built("vm1");
    struct xend_sxp *p = params("(vif (mac aa:00:00:12:34:56) (bridge xenbr0))");
    char name[32] = "";
    struct xend_err err = {0};
    assert_err(ops->dev_attach(ctx, id, "vif", 0, p, name, sizeof(name), &err), err, XEND_ETIMEDOUT,
               "vif 0 of domain 1: the netback driver in dom0 did not take it within 200 ms "
               "(back-end state 1; is its module loaded?)");
    assert_null(fx_xs("/local/domain/0/backend/vif/1/0"));
    assert_null(dxs(id, "device/vif/0"));
    xend_sxp_free(p);
}

static void test_vbd_attach_passes_the_device_number(void **state)
{
    (void)state;
    const char *dev = block_device();
    if (dev == NULL)
        skip();
    open_ok();
    uint32_t id = create_built("vm1");
    char text[160];
    snprintf(text, sizeof(text), "(vbd (node %s) (dev xvda) (vdev 51712) (mode w))", dev);
    struct xend_sxp *p = params(text);
    char name[64] = "";
    struct xend_err err = {0};
    assert_int_equal(ops->dev_attach(ctx, id, "vbd", 51712, p, name, sizeof(name), &err), 0);
    assert_string_equal(name, dev);
    struct stat st;
    stat(dev, &st);
    char want[32];
    snprintf(want, sizeof(want), "%x:%x", major(st.st_rdev), minor(st.st_rdev));
    assert_string_equal(fx_xs("/local/domain/0/backend/vbd/1/51712/physical-device"), want);
    assert_string_equal(fx_xs("/local/domain/0/backend/vbd/1/51712/mode"), "w");
    assert_string_equal(dxs(id, "device/vbd/51712/virtual-device"), "51712");
    xend_sxp_free(p);
}

static void test_vbd_attach_refuses_what_is_not_a_block_device(void **state)
{
    (void)state;
    open_ok();
    uint32_t id = create_built("vm1");
    char text[200];
    snprintf(text, sizeof(text), "(vbd (node %s) (dev xvda) (vdev 51712) (mode r))", kernel);
    struct xend_sxp *p = params(text);
    char name[64];
    struct xend_err err = {0};
    assert_err(ops->dev_attach(ctx, id, "vbd", 51712, p, name, sizeof(name), &err), err,
               XEND_EINVAL, "is not a block device");
    xend_sxp_free(p);
    p = params("(usb (port 1))");
    xend_err_clear(&err);
    assert_err(ops->dev_attach(ctx, id, "usb", 0, p, name, sizeof(name), &err), err, XEND_ENOTSUP,
               "attaches vbd and vif devices, not usb");
    xend_sxp_free(p);
}

static void test_detach_waits_for_a_live_guest_and_not_for_a_dead_one(void **state)
{
    (void)state;
    open_ok();
    uint32_t id = create_built("vm1");
    struct xend_err err = {0};
    assert_int_equal(ops->dom_unpause(ctx, id, &err), 0);
    struct xend_sxp *p = params("(vif (mac aa:00:00:12:34:56) (bridge xenbr0))");
    char name[32];
    assert_int_equal(ops->dev_attach(ctx, id, "vif", 0, p, name, sizeof(name), &err), 0);
    assert_int_equal(ops->dev_detach(ctx, id, "vif", 0, &err), 0);
    assert_null(fx_xs("/local/domain/0/backend/vif/1/0"));
    assert_null(dxs(id, "device/vif/0"));
    assert_err(ops->dev_detach(ctx, id, "vif", 0, &err), err, XEND_ENOENT, "domain 1 has no vif 0");

    /* a guest that does not close: removed anyway, with the reason */
    xend_err_clear(&err);
    FX.guest_closes = false;
    assert_int_equal(ops->dev_attach(ctx, id, "vif", 1, p, name, sizeof(name), &err), 0);
    assert_err(ops->dev_detach(ctx, id, "vif", 1, &err), err, XEND_ETIMEDOUT,
               "the guest did not close it within 200 ms (back-end state 5); removed anyway");
    assert_null(fx_xs("/local/domain/0/backend/vif/1/1"));

    /* a dead guest cannot answer: no wait */
    xend_err_clear(&err);
    assert_int_equal(ops->dev_attach(ctx, id, "vif", 2, p, name, sizeof(name), &err), 0);
    fx_dom_shutdown(id, SHUTDOWN_poweroff);
    assert_int_equal(ops->dev_detach(ctx, id, "vif", 2, &err), 0);
    assert_null(fx_xs("/local/domain/0/backend/vif/1/2"));
    xend_sxp_free(p);
}

/* ---- console ---- */

static void test_console_opens_the_pty_xenconsoled_names(void **state)
{
    (void)state;
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(master >= 0);
    assert_int_equal(grantpt(master), 0);
    assert_int_equal(unlockpt(master), 0);
    snprintf(FX.tty, sizeof(FX.tty), "%s", ptsname(master));
    open_ok();
    uint32_t id = create_built("vm1");
    int fd = -1;
    struct xend_err err = {0};
    assert_int_equal(ops->console_open(ctx, id, &fd, &err), 0);
    assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
    /* what the guest writes (xenconsoled puts it on the master) comes out unchanged */
    assert_int_equal(write(master, "hello\r\n", 7), 7);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 2000), 1);
    char buf[16] = "";
    assert_int_equal(read(fd, buf, sizeof(buf)), 7);
    assert_memory_equal(buf, "hello\r\n", 7);
    close(fd);
    close(master);
}

static void test_console_without_xenconsoled_times_out(void **state)
{
    (void)state;
    open_ok();
    uint32_t id = create_built("vm1");
    int fd = -1;
    struct xend_err err = {0};
    assert_err(ops->console_open(ctx, id, &fd, &err), err, XEND_ETIMEDOUT,
               "xenconsoled did not name a pty in console/tty within 200 ms");
    xend_err_clear(&err);
    assert_err(ops->console_open(ctx, 88, &fd, &err), err, XEND_ENOENT, "no domain 88");
    xend_err_clear(&err);
    fx_xs_set("/local/domain/1/console/tty", "/nonexistent/pts/9");
    assert_err(ops->console_open(ctx, id, &fd, &err), err, XEND_ENOENT,
               "cannot open the console of domain 1 (/nonexistent/pts/9)");
}

/* ---- save and restore ---- */

static char *slurp(const char *path)
{
    static char buf[128];
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
    return buf;
}

static void test_save_suspends_the_guest_and_restore_brings_it_back(void **state)
{
    (void)state;
    open_ok();
    FX.guest_suspends = true;
    uint32_t id = create_built("vm1");
    /* the core hands over a paused domain: it must run to suspend */
    char image[128];
    snprintf(image, sizeof(image), "%s/image", tmpdir);
    int fd = open(image, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    struct xend_err err = {0};
    assert_int_equal(ops->save(ctx, id, fd, false, NULL, NULL, &err), 0);
    close(fd);
    assert_string_equal(slurp(image), "FAKESAVE 1 plain\n");
    assert_string_equal(dxs(id, "control/shutdown"), "suspend");
    assert_true(fx_dom(id)->flags & XEN_DOMINF_shutdown);
    assert_int_equal(ops->dom_destroy(ctx, id, &err), 0);

    fd = open(image, O_RDONLY);
    struct xend_dom_create a = {.size = sizeof(a),
                                .name = "vm1",
                                .mem_kb = 131072,
                                .maxmem_kb = 131072,
                                .vcpus = 1,
                                .want_domid = -1};
    uint32_t nid = 0;
    int introduced = FX.introduced;
    assert_int_equal(ops->restore(ctx, fd, &a, &nid, NULL, NULL, &err), 0);
    close(fd);
    assert_true(fx_dom(nid)->built);
    assert_true(fx_dom(nid)->flags & XEN_DOMINF_paused);
    assert_int_equal(FX.introduced, introduced + 1);
    assert_int_equal(FX.intro_mfn, 0x2002);
    assert_string_equal(dxs(nid, "console/ring-ref"), "8193");
    assert_string_equal(dxs(nid, "name"), "vm1");
    /* worker-thread ops open and close their own connections */
    assert_int_equal(FX.xc_opens - FX.xc_closes, 1);
    unlink(image);
}

static void test_save_of_a_guest_that_never_suspends_times_out_and_undoes(void **state)
{
    (void)state;
    open_ok();
    FX.guest_suspends = false;
    uint32_t id = create_built("vm1");
    int fd = open("/dev/null", O_WRONLY);
    struct xend_err err = {0};
    assert_err(ops->save(ctx, id, fd, false, NULL, NULL, &err), err, XEND_ETIMEDOUT,
               "cannot save domain 1: domain 1 did not suspend within 300 ms");
    assert_string_equal(dxs(id, "control/shutdown"), ""); /* request withdrawn */
    assert_true(fx_dom(id)->flags & XEN_DOMINF_paused);   /* paused again, as it was */
    close(fd);
}

static void test_failed_save_resumes_the_suspended_guest(void **state)
{
    (void)state;
    open_ok();
    FX.guest_suspends = true;
    uint32_t id = create_built("vm1");
    int fd = open("/dev/null", O_WRONLY);
    struct xend_err err = {0};
    fx_fail("xc_domain_save", ENOSPC);
    assert_err(ops->save(ctx, id, fd, false, NULL, NULL, &err), err, XEND_ENOMEM,
               "cannot save domain 1: No space left on device");
    assert_int_equal(FX.resumes, 1);
    assert_false(fx_dom(id)->flags & XEN_DOMINF_shutdown);
    xend_err_clear(&err);
    fx_fail("xc_interface_open", EMFILE);
    assert_err(ops->save(ctx, id, fd, false, NULL, NULL, &err), err, XEND_EBACKEND,
               "cannot open Xen's control interface");
    close(fd);
}

static void test_restore_of_a_bad_stream_leaves_no_domain(void **state)
{
    (void)state;
    open_ok();
    int fd = open(kernel, O_RDONLY);
    struct xend_dom_create a = {.size = sizeof(a),
                                .name = "vm1",
                                .mem_kb = 65536,
                                .maxmem_kb = 65536,
                                .vcpus = 1,
                                .want_domid = -1};
    uint32_t nid = 0;
    struct xend_err err = {0};
    assert_err(ops->restore(ctx, fd, &a, &nid, NULL, NULL, &err), err, XEND_EINVAL,
               "cannot restore domain vm1: Invalid marker: not a Xen save stream");
    close(fd);
    seen.n = 0;
    assert_int_equal(ops->dom_list(ctx, collect, NULL, &err), 0);
    assert_int_equal(seen.n, 1); /* Domain-0 only */
}

/* An image whose stream headers say `type` (1 PV, 2 HVM: x86, little-endian), then what
 * the fake's restore reads. */
static void write_stream(const char *path, unsigned char type)
{
    unsigned char hdr[28] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                             'X',  'E',  'N',  'F',  0,    0,    0,    3};
    hdr[24] = type;
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(hdr, 1, sizeof(hdr), f), sizeof(hdr));
    fputs("FAKESAVE 1 live\n", f);
    fclose(f);
}

static int restore_from(const char *path, uint32_t *nid, struct xend_err *err)
{
    int fd = open(path, O_RDONLY);
    struct xend_dom_create a = {.size = sizeof(a),
                                .name = "vm1",
                                .mem_kb = 131072,
                                .maxmem_kb = 131072,
                                .vcpus = 1,
                                .want_domid = -1};
    int rc = ops->restore(ctx, fd, &a, nid, NULL, NULL, err);
    close(fd);
    return rc;
}

static void test_restore_of_a_pvh_stream_lands_in_a_pvh_shell(void **state)
{
    (void)state;
    open_ok();
    FX.hap = true;
    char image[128];
    snprintf(image, sizeof(image), "%s/pvh-image", tmpdir);
    write_stream(image, 2);
    uint32_t nid = 0;
    struct xend_err err = {0};
    assert_int_equal(restore_from(image, &nid, &err), 0);
    const struct fx_dom *d = fx_dom(nid);
    assert_true(d->cfg.flags & XEN_DOMCTL_CDF_hvm);
    assert_true(d->cfg.flags & XEN_DOMCTL_CDF_hap);
    assert_int_equal(d->cfg.arch.emulation_flags, XEN_X86_EMU_LAPIC);
    assert_true(FX.paging_pool >= 1024 * 1024); /* HAP's pool: 1 MiB per vcpu at least */
    assert_true(d->built);

    /* and it saves again (live: HAP logs its dirty pages) */
    FX.guest_suspends = true;
    int out = open("/dev/null", O_WRONLY);
    assert_int_equal(ops->save(ctx, nid, out, true, NULL, NULL, &err), 0);
    close(out);

    /* a PV stream still makes a PV shell */
    write_stream(image, 1);
    assert_int_equal(restore_from(image, &nid, &err), 0);
    assert_false(fx_dom(nid)->cfg.flags & XEN_DOMCTL_CDF_hvm);
    unlink(image);
}

static void test_pvh_without_hap_is_refused_and_leaves_no_domain(void **state)
{
    (void)state;
    open_ok();
    FX.hap = false;
    char image[128];
    snprintf(image, sizeof(image), "%s/pvh-image", tmpdir);
    write_stream(image, 2);
    uint32_t nid = 0;
    struct xend_err err = {0};
    assert_err(restore_from(image, &nid, &err), err, XEND_ENOTSUP,
               "cannot create PVH domain vm1: this host's cpu has no hardware-assisted paging");
    seen.n = 0;
    assert_int_equal(ops->dom_list(ctx, collect, NULL, &err), 0);
    assert_int_equal(seen.n, 1); /* Domain-0 only */
    unlink(image);
}

static void test_pvh_build_of_a_pv_shell_is_refused(void **state)
{
    (void)state;
    open_ok();
    uint32_t id = create("vm1", 131072, 1);
    struct xend_dom_image img = {
        .size = sizeof(img), .builder = "pvh", .kernel = kernel, .cmdline = ""};
    struct xend_err err = {0};
    assert_err(ops->dom_build(ctx, id, &img, &err), err, XEND_EINVAL,
               "builder pvh, but it was created as a PV domain");
    assert_false(fx_dom(id)->built);
}

static void test_live_save_of_a_pv_guest_needs_shadow_paging(void **state)
{
    (void)state;
    open_ok();
    FX.guest_suspends = true;
    FX.shadow = false;
    uint32_t id = create_built("vm1");
    int fd = open("/dev/null", O_WRONLY);
    struct xend_err err = {0};
    assert_err(ops->save(ctx, id, fd, true, NULL, NULL, &err), err, XEND_ENOTSUP,
               "domain 1 is PV, and this Xen has no shadow paging");
    /* refused before anything: not asked to suspend, still paused */
    assert_string_equal(dxs(id, "control/shutdown"), "");
    assert_true(fx_dom(id)->flags & XEN_DOMINF_paused);
    xend_err_clear(&err);
    FX.shadow = true;
    assert_int_equal(ops->save(ctx, id, fd, true, NULL, NULL, &err), 0);
    close(fd);
}

/* ---- a live save's rounds (ABI 1.8 save_with) ---- */

static struct {
    struct xend_save_round r[16];
    int n;
    int stop_after; /* progress says stop from this call on (0: never) */
    int progress_calls;
} told;

static void note_round(void *arg, const struct xend_save_round *r)
{
    (void)arg;
    if (told.n < 16)
        told.r[told.n++] = *r;
}

static int note_progress(void *arg, uint64_t done, uint64_t total)
{
    (void)arg;
    (void)done;
    (void)total;
    return told.stop_after && ++told.progress_calls >= told.stop_after ? -1 : 0;
}

/* A built guest that suspends when asked, on a Xen that can log its dirty pages, which
 * dirties `dirty` pages during each round after the first (the last count repeats) and
 * `at_suspend` during the round before it suspends. */
static uint32_t live_guest(const long *dirty, int n, uint64_t at_suspend)
{
    open_ok();
    FX.guest_suspends = true;
    FX.shadow = true;
    uint32_t id = create_built("vm1");
    memcpy(FX.precopy_dirty, dirty, (size_t)n * sizeof(*dirty));
    FX.precopy_ndirty = n;
    FX.dirty_at_suspend = at_suspend;
    return id;
}

/* A live save_with of id, its rounds noted in told; progress says stop from its
 * stop_after-th call on (0: never). */
static int save_live_with(uint32_t id, uint32_t max_rounds, uint64_t max_last_kb, int stop_after,
                          struct xend_err *err)
{
    memset(&told, 0, sizeof(told));
    told.stop_after = stop_after;
    struct xend_save_args a = {.size = sizeof(a),
                               .live = 1,
                               .max_rounds = max_rounds,
                               .max_last_kb = max_last_kb,
                               .progress = note_progress,
                               .round = note_round};
    int fd = open("/dev/null", O_WRONLY);
    int rc = ops->save_with(ctx, id, fd, &a, err);
    close(fd);
    return rc;
}

static void assert_round(int i, uint32_t round, uint32_t last, uint64_t pages, uint64_t dirty)
{
    assert_true(i < told.n);
    assert_int_equal(told.r[i].round, round);
    assert_int_equal(told.r[i].last, last);
    assert_int_equal(told.r[i].pages, pages);
    if (!last)
        assert_int_equal(told.r[i].dirty_pages, dirty);
}

static void test_live_save_tells_its_rounds_and_stops_at_the_round_bound(void **state)
{
    (void)state;
    /* a guest that keeps dirtying: only the bound stops it */
    uint32_t id = live_guest((const long[]){1000, 900}, 2, 77);
    uint64_t all = fx_dom(id)->tot_pages;
    struct xend_err err = {0};
    assert_int_equal(save_live_with(id, 3, 64, 0, &err), 0);
    /* two rounds while it runs, the third suspended: what it dirtied during the second */
    assert_int_equal(FX.precopy_rounds, 2);
    assert_int_equal(told.n, 3);
    assert_round(0, 1, 0, all, 1000);
    assert_round(1, 2, 0, 1000, 77);
    assert_round(2, 3, 1, 77, 0);
    assert_true(told.r[2].paused_at_ns > 0);
    /* no bound given: libxenguest's own five rounds */
    assert_int_equal(save_live_with(id, 0, 0, 0, &err), 0);
    assert_int_equal(FX.precopy_rounds, 5);
    assert_int_equal(told.n, 6);
    assert_round(5, 6, 1, 77, 0);
}

static void test_live_save_stops_once_the_dirty_set_fits_the_last_round(void **state)
{
    (void)state;
    /* 20 pages are 80 KiB: they fit a 100 KiB last round */
    uint32_t id = live_guest((const long[]){1000, 20}, 2, 3);
    struct xend_err err = {0};
    assert_int_equal(save_live_with(id, 30, 100, 0, &err), 0);
    /* the 20 pages still go while it runs (libxenguest sends the round it was asked
     * about), then the 3 it dirtied meanwhile with the guest suspended */
    assert_int_equal(FX.precopy_rounds, 3);
    assert_int_equal(told.n, 4);
    assert_round(1, 2, 0, 1000, 20);
    assert_round(2, 3, 0, 20, 3);
    assert_round(3, 4, 1, 3, 0);
}

static void test_cancelled_live_save_aborts_before_the_guest_suspends(void **state)
{
    (void)state;
    uint32_t id = live_guest((const long[]){1000}, 1, 0);
    /* libxenguest reports a round's progress through the logger: the core's stop verdict
     * there reaches the policy, which aborts at its next question */
    struct xend_err err = {0};
    assert_true(save_live_with(id, 0, 0, 1, &err) < 0);
    assert_int_equal(FX.precopy_rounds, 1);
    assert_int_equal(told.n, 0);
    /* never asked to suspend; paused again, as it was handed over */
    assert_string_equal(dxs(id, "control/shutdown"), "");
    assert_true(fx_dom(id)->flags & XEN_DOMINF_paused);
}

static _Atomic unsigned long long inflow_seen;

static int inflow_note(void *arg, uint64_t done, uint64_t total)
{
    (void)arg;
    (void)total;
    inflow_seen = done;
    return 0;
}

static void test_restore_progress_follows_the_relocation_socket(void **state)
{
    (void)state;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(l, 1), 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)&a, &len), 0);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
    int r = accept(l, NULL, NULL);
    assert_true(r >= 0);
    inflow_seen = 0;
    struct xcb_inflow f;
    xcb_inflow_start(&f, r, inflow_note, NULL);
    assert_true(f.running);
    char buf[8192];
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(write(c, buf, sizeof(buf)), (ssize_t)sizeof(buf));
    /* counted as received though nobody has read it: the stream is left whole */
    time_t deadline = time(NULL) + 10;
    while (inflow_seen < sizeof(buf) && time(NULL) < deadline)
        poll(NULL, 0, 50);
    xcb_inflow_stop(&f);
    assert_int_equal(inflow_seen, sizeof(buf));
    assert_int_equal(read(r, buf, sizeof(buf)), (ssize_t)sizeof(buf));
    /* no TCP socket, or nobody to tell: nothing runs */
    int p[2];
    assert_int_equal(pipe(p), 0);
    xcb_inflow_start(&f, p[0], inflow_note, NULL);
    assert_false(f.running);
    xcb_inflow_start(&f, r, NULL, NULL);
    assert_false(f.running);
    close(p[0]);
    close(p[1]);
    close(r);
    close(c);
    close(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_registers_as_xenctrl_with_priority_100),
        T(test_probe_follows_privcmd),
        T(test_open_without_xen_names_libxens_error),
        T(test_open_without_xenstored_fails_clearly),
        T(test_open_failures_of_sched_and_evtchn),
        T(test_notify_through_virq_dom_exc),
        T(test_notify_through_release_domain_when_xenstored_holds_the_virq),
        T(test_physinfo_and_dmesg),
        T(test_create_makes_a_pv_shell_with_its_xenstore_home),
        T(test_create_refuses_what_does_not_fit),
        T(test_create_failures_map_errno_and_leave_nothing),
        T(test_create_retries_a_conflicting_transaction),
        T(test_create_with_a_taken_id_takes_another),
        T(test_build_loads_kernel_and_introduces_the_domain),
        T(test_build_failures_name_the_step_and_release_the_builder),
        T(test_build_refuses_bad_images),
        T(test_info_maps_flags_shutdown_reasons_and_memory),
        T(test_info_of_a_missing_domain_is_enoent),
        T(test_list_walks_every_domain_in_batches),
        T(test_pause_and_unpause),
        T(test_shutdown_writes_the_request_for_the_guest),
        T(test_destroy_removes_domain_and_its_nodes),
        T(test_memory_limit_and_balloon_target),
        T(test_pin_vcpu_builds_the_cpu_map),
        T(test_bvt_mcuadv_becomes_credit_weight),
        T(test_atropos_share_becomes_weight_and_cap),
        T(test_sched_refusals),
        T(test_sched_on_a_host_without_credit_is_not_supported),
        T(test_sched_credit2_takes_weight_but_no_time_slice),
        T(test_node_settings_map_to_time_slice_and_rate_limit),
        T(test_vif_attach_writes_both_ends_and_names_the_interface),
        T(test_attach_times_out_without_a_driver_and_cleans_up),
        T(test_vbd_attach_passes_the_device_number),
        T(test_vbd_attach_refuses_what_is_not_a_block_device),
        T(test_detach_waits_for_a_live_guest_and_not_for_a_dead_one),
        T(test_console_opens_the_pty_xenconsoled_names),
        T(test_console_without_xenconsoled_times_out),
        T(test_save_suspends_the_guest_and_restore_brings_it_back),
        T(test_save_of_a_guest_that_never_suspends_times_out_and_undoes),
        T(test_failed_save_resumes_the_suspended_guest),
        T(test_restore_of_a_bad_stream_leaves_no_domain),
        T(test_restore_of_a_pvh_stream_lands_in_a_pvh_shell),
        T(test_pvh_without_hap_is_refused_and_leaves_no_domain),
        T(test_pvh_build_of_a_pv_shell_is_refused),
        T(test_live_save_of_a_pv_guest_needs_shadow_paging),
        T(test_live_save_tells_its_rounds_and_stops_at_the_round_bound),
        T(test_live_save_stops_once_the_dirty_set_fits_the_last_round),
        T(test_cancelled_live_save_aborts_before_the_guest_suspends),
        T(test_restore_progress_follows_the_relocation_socket),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
