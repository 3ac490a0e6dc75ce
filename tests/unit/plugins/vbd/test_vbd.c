/*
 * vbd plugin against the fake host: config errors with Xen's texts, virtual device numbers,
 * phy devices that must be block devices, the sharing rules, file: through a block-file
 * script (bind prints the node, unbind on detach), site block-TYPE scripts, failures that
 * fail an attach and undo what was done, reattach without scripts.
 *
 * phy tests use /dev/loop0 and /dev/loop1 (block devices on most Linux hosts) and are
 * skipped where they are missing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fake_host.h"
#include "script_fixture.h"
#include "sxp.h"

extern const struct xend_plugin_desc xend_plugin_desc;

/* ---- a fake backend that records device calls ---- */
static struct {
    int attach_calls, detach_calls;
    uint32_t domid, devid, detach_devid;
    char params[256];
    int fail_attach;
    bool detached_before_unbind_log; /* the script log was empty of unbind at detach time */
} B;

static int fb_attach(void *ctx, uint32_t domid, const char *cls, uint32_t devid,
                     const struct xend_sxp *params, char *name, size_t name_len,
                     struct xend_err *err)
{
    (void)ctx;
    assert_string_equal(cls, "vbd");
    B.attach_calls++;
    B.domid = domid;
    B.devid = devid;
    char *p = xend_sxp_print(params);
    snprintf(B.params, sizeof(B.params), "%s", p);
    free(p);
    if (B.fail_attach)
        return xend_err_set(err, XEND_EBACKEND, "blkback refused");
    snprintf(name, name_len, "vbd-%u-%u", domid, devid);
    return 0;
}

static int fb_detach(void *ctx, uint32_t domid, const char *cls, uint32_t devid,
                     struct xend_err *err)
{
    (void)ctx;
    (void)domid;
    (void)err;
    assert_string_equal(cls, "vbd");
    B.detach_calls++;
    B.detach_devid = devid;
    char *log = slurp(script_logpath);
    B.detached_before_unbind_log = strstr(log, "unbind") == NULL;
    free(log);
    return 0;
}

static const struct xend_backend_ops fake_backend = {
    XEND_BACKEND_OPS_INIT, .name = "fake", .dev_attach = fb_attach, .dev_detach = fb_detach};

/* ---- fixture ---- */
static const struct xend_host *host;
static struct xend_domain *vm1, *vm2;
static char img[160], node[160];

static int setup(void **state)
{
    (void)state;
    script_fixture_setup("vbd");
    snprintf(img, sizeof(img), "%s/disk.img", script_dir);
    snprintf(node, sizeof(node), "%s/loop-node", script_dir);
    FILE *f = fopen(img, "w");
    assert_non_null(f);
    fputs("an image", f);
    fclose(f);

    char body[512];
    snprintf(body, sizeof(body), "[ \"$1\" = bind ] && echo %s\nexit 0", node);
    write_script("block-file", body);
    write_script("my-binder", body);
    write_script("block-nbd", body);
    write_script("block-silent", "exit 0");
    write_script("block-fail", "echo 'losetup: cannot find an unused loop device'\nexit 2");

    memset(&B, 0, sizeof(B));
    host = class_host_new("vbd", NULL, &vm1, &vm2);
    fake_host_backend_set(&fake_backend, NULL);
    return 0;
}

static void init_plugin(void)
{
    class_init("vbd");
}

static int teardown(void **state)
{
    (void)state;
    return class_teardown(host, "vbd");
}

static bool have_block(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISBLK(st.st_mode);
}

#define NEED_LOOP_DEVICES()                                                                        \
    do {                                                                                           \
        if (!have_block("/dev/loop0") || !have_block("/dev/loop1"))                                \
            skip();                                                                                \
    } while (0)

static int parse(struct xend_domain *dom, const char *text, struct xend_err *err)
{
    struct xend_sxp *c;
    char msg[128];
    assert_int_equal(xend_sxp_parse(text, strlen(text), NULL, &c, msg, sizeof(msg)), 0);
    struct xend_sxp *norm = NULL;
    xend_err_clear(err);
    int rc = ops->parse(ctx, dom, c, &norm, err);
    assert_null(norm);
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

static struct xend_device *dev_new(struct xend_domain *dom, uint32_t idx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static struct xend_device *dev_new(struct xend_domain *dom, uint32_t idx, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return fake_host_device_new(dom, "vbd", idx, text);
}

/* ---- config ---- */

static void test_config_errors_use_xen_texts(void **state)
{
    (void)state;
    init_plugin();
    struct xend_err err;
    assert_int_equal(parse(NULL, "(vbd (dev sda1))", &err), -XEND_EINVAL);
    assert_string_equal(err.msg, "vbd: Missing uname");
    assert_int_equal(parse(NULL, "(vbd (uname phy:loop0))", &err), -XEND_EINVAL);
    assert_string_equal(err.msg, "vbd: Missing dev");
    assert_int_equal(parse(NULL, "(vbd (uname loop0) (dev sda1))", &err), -XEND_EINVAL);
    assert_string_equal(err.msg, "vbd: Invalid uname: loop0 (want TYPE:PARAMS)");
    assert_int_equal(parse(NULL, "(vbd (uname ../x:y) (dev sda1))", &err), -XEND_EINVAL);
    assert_string_equal(err.msg, "vbd: Invalid uname: ../x:y");
    assert_int_equal(parse(NULL, "(vbd (uname phy:loop0) (dev sda1) (mode rw))", &err),
                     -XEND_EINVAL);
    assert_string_equal(err.msg, "vbd: Invalid mode: rw (want r, w, r! or w!)");
    assert_int_equal(parse(NULL, "(vbd (uname phy:loop0) (dev sdq17))", &err), -XEND_EINVAL);
    assert_string_equal(err.msg, "vbd: Invalid dev: sdq17");
    assert_int_equal(parse(NULL, "(vbd (uname phy:nosuchdisk) (dev sda1))", &err), -XEND_ENOENT);
    assert_string_equal(err.msg, "vbd: Device not found: nosuchdisk");
    /* a character device is no disk */
    assert_int_equal(parse(NULL, "(vbd (uname phy:/dev/null) (dev sda1))", &err), -XEND_ENOENT);
    assert_string_equal(err.msg, "vbd: Device not found: /dev/null");
    assert_int_equal(parse(NULL, "(vbd (uname file:/no/such.img) (dev sda1))", &err), -XEND_ENOENT);
    assert_string_equal(err.msg, "vbd: Device not found: /no/such.img");
    assert_int_equal(parse(NULL, "(vbd (uname file:disk.img) (dev sda1))", &err), -XEND_EINVAL);
    assert_non_null(strstr(err.msg, "absolute path"));
}

static void test_unknown_backend_and_type_without_script_are_refused(void **state)
{
    (void)state;
    init_plugin();
    struct xend_err err;
    char text[256];
    snprintf(text, sizeof(text), "(vbd (uname file:%s) (dev sda1) (backend 3))", img);
    assert_int_equal(parse(NULL, text, &err), -XEND_ENOENT);
    assert_string_equal(err.msg, "vbd: unknown backend domain: 3");
    assert_int_equal(parse(NULL, "(vbd (uname iscsi:target0) (dev sda1))", &err), -XEND_ENOENT);
    char want[256];
    snprintf(want, sizeof(want), "vbd: script not found or not executable: %s/block-iscsi",
             script_dir);
    assert_string_equal(err.msg, want);
    assert_int_equal(parse(NULL, "(vbd (uname nbd:server:1234) (dev sda1))", &err), 0);
}

static void test_vdev_is_the_linux_number_of_the_name(void **state)
{
    (void)state;
    init_plugin();
    static const struct {
        const char *dev;
        unsigned vdev;
    } cases[] = {
        {"sda1", 2049},  {"sda", 2048},    {"/dev/sdb2", 2066}, {"sdp15", 2303}, {"sdq", 16640},
        {"sdaa", 16800}, {"hda1", 769},    {"hdb", 832},        {"hdc", 5632},   {"hdd3", 5699},
        {"xvda", 51712}, {"xvdb1", 51729}, {"0x801", 2049},     {"301", 769},
    };
    for (uint32_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct xend_device *dev =
            dev_new(vm1, i, "(vbd (uname nbd:h:1) (dev %s) (mode r))", cases[i].dev);
        char *d = describe(dev);
        char want[64];
        snprintf(want, sizeof(want), "(vdev %u) (device %u)", cases[i].vdev, cases[i].vdev);
        if (strstr(d, want) == NULL)
            fail_msg("%s: got %s, want %s", cases[i].dev, d, want);
        free(d);
    }
}

/* ---- writable unames: the host's system is not a guest's disk ---- */

static int parse_fmt(const char *fmt, const char *arg, struct xend_err *err)
{
    char text[512];
    snprintf(text, sizeof(text), fmt, arg);
    return parse(NULL, text, err);
}

static void test_writable_system_files_are_refused_without_vbd_allow(void **state)
{
    (void)state;
    init_plugin();
    struct xend_err err;
    assert_int_equal(parse(NULL, "(vbd (uname file:/etc/passwd) (dev sda1) (mode w))", &err),
                     -XEND_EPERM);
    assert_string_equal(err.msg, "vbd: writable uname file:/etc/passwd refused: /etc/passwd is "
                                 "in /etc, part of the host's system (vbd-allow can allow it)");
    assert_int_equal(parse(NULL, "(vbd (uname file:/etc/passwd) (dev sda1) (mode w !))", &err),
                     -XEND_EPERM);
    assert_int_equal(parse(NULL, "(vbd (uname file:/usr/bin/env) (dev sda1) (mode w))", &err),
                     -XEND_EPERM);
    assert_int_equal(parse(NULL, "(vbd (uname file:/bin/sh) (dev sda1) (mode w))", &err),
                     -XEND_EPERM);
    /* Read-only is fine; so is a writable image elsewhere. */
    assert_int_equal(parse(NULL, "(vbd (uname file:/etc/passwd) (dev sda1) (mode r))", &err), 0);
    assert_int_equal(parse_fmt("(vbd (uname file:%s) (dev sda1) (mode w))", img, &err), 0);
    /* A symlink beside the image that leads into /etc is judged by where it leads. */
    char link[200];
    snprintf(link, sizeof(link), "%s/innocent.img", script_dir);
    assert_int_equal(symlink("/etc/passwd", link), 0);
    assert_int_equal(parse_fmt("(vbd (uname file:%s) (dev sda1) (mode w))", link, &err),
                     -XEND_EPERM);
    assert_non_null(strstr(err.msg, "is in /etc"));
    unlink(link);
}

/* The block node of the device holding /, or "" (in a container / is often no disk). */
static void root_block_node(char *out, size_t len)
{
    struct stat root, st;
    out[0] = '\0';
    if (stat("/", &root) != 0)
        return;
    DIR *d = opendir("/dev");
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        char path[300];
        snprintf(path, sizeof(path), "/dev/%s", e->d_name);
        if (stat(path, &st) == 0 && S_ISBLK(st.st_mode) && st.st_rdev == root.st_dev) {
            snprintf(out, len, "%s", path);
            break;
        }
    }
    if (d)
        closedir(d);
}

static void test_the_disk_holding_root_is_refused_writable(void **state)
{
    (void)state;
    char node[300];
    root_block_node(node, sizeof(node));
    if (node[0] == '\0')
        skip();
    init_plugin();
    struct xend_err err;
    assert_int_equal(parse_fmt("(vbd (uname phy:%s) (dev sda1) (mode w !))", node, &err),
                     -XEND_EPERM);
    assert_non_null(strstr(err.msg, "it is the disk holding /"));
}

static void test_vbd_allow_patterns_decide_writable_unames(void **state)
{
    (void)state;
    char pat[256];
    snprintf(pat, sizeof(pat), "file:%s/*.img phy:/dev/loop1", script_dir);
    fake_host_config_set("vbd-allow", pat);
    init_plugin();
    struct xend_err err;
    assert_int_equal(parse_fmt("(vbd (uname file:%s) (dev sda1) (mode w))", img, &err), 0);
    /* The deny list no longer applies, but /etc matches no pattern. */
    assert_int_equal(parse(NULL, "(vbd (uname file:/etc/passwd) (dev sda1) (mode w))", &err),
                     -XEND_EPERM);
    assert_string_equal(err.msg, "vbd: uname file:/etc/passwd refused: "
                                 "file:/etc/passwd matches no vbd-allow pattern");
    char link[200];
    snprintf(link, sizeof(link), "%s/innocent.img", script_dir);
    assert_int_equal(symlink("/etc/passwd", link), 0);
    assert_int_equal(parse_fmt("(vbd (uname file:%s) (dev sda1) (mode w))", link, &err),
                     -XEND_EPERM);
    unlink(link);
    /* Other types are matched by their uname as written. */
    assert_int_equal(parse(NULL, "(vbd (uname nbd:host:1) (dev sda1) (mode w))", &err),
                     -XEND_EPERM);
    assert_int_equal(parse(NULL, "(vbd (uname nbd:host:1) (dev sda1) (mode r))", &err), 0);
    if (have_block("/dev/loop0") && have_block("/dev/loop1")) {
        assert_int_equal(parse(NULL, "(vbd (uname phy:loop1) (dev sda1) (mode w))", &err), 0);
        assert_int_equal(parse(NULL, "(vbd (uname phy:loop0) (dev sda1) (mode w))", &err),
                         -XEND_EPERM);
        assert_int_equal(
            parse(NULL, "(vbd (uname phy:/dev/../dev/loop1) (dev sda1) (mode w))", &err),
            -XEND_EPERM);
        assert_non_null(strstr(err.msg, "'..' in it"));
    }
}

/* ---- sharing ---- */

static void test_an_operator_names_only_what_vbd_allow_operator_allows(void **state)
{
    (void)state;
    /* Unset: no uname at all for an operator, read-only ones included (a host file given
     * read-only is given away); any for an admin (the deny list aside). */
    init_plugin();
    struct xend_err err = {0};
    fake_host_caller_role_set(XEND_ROLE_OPERATOR);
    assert_int_equal(parse_fmt("(vbd (uname file:%s) (dev sda1) (mode w))", img, &err),
                     -XEND_EPERM);
    assert_non_null(strstr(err.msg, "matches no vbd-allow-operator pattern"));
    xend_err_clear(&err);
    assert_int_equal(parse_fmt("(vbd (uname file:%s) (dev sda1) (mode r))", img, &err),
                     -XEND_EPERM);
    assert_non_null(strstr(err.msg, "matches no vbd-allow-operator pattern"));
    xend_err_clear(&err);
    assert_int_equal(parse(NULL, "(vbd (uname file:/etc/shadow) (dev sda1) (mode r))", &err),
                     -XEND_EPERM);
    fake_host_caller_role_set(XEND_ROLE_ADMIN);
    xend_err_clear(&err);
    assert_int_equal(parse_fmt("(vbd (uname file:%s) (dev sda1) (mode w))", img, &err), 0);
    assert_int_equal(parse_fmt("(vbd (uname file:%s) (dev sda1) (mode r))", img, &err), 0);
}

static void test_vbd_allow_operator_patterns_open_writable_unames_to_operators(void **state)
{
    (void)state;
    char pat[256], other[200];
    snprintf(pat, sizeof(pat), "file:%s/*.img", script_dir);
    snprintf(other, sizeof(other), "%s/other.dat", script_dir);
    FILE *f = fopen(other, "w");
    assert_non_null(f);
    fclose(f);
    fake_host_config_set("vbd-allow-operator", pat);
    init_plugin();
    struct xend_err err = {0};
    fake_host_caller_role_set(XEND_ROLE_OPERATOR);
    assert_int_equal(parse_fmt("(vbd (uname file:%s) (dev sda1) (mode w))", img, &err), 0);
    assert_int_equal(parse_fmt("(vbd (uname file:%s) (dev sda1) (mode w))", other, &err),
                     -XEND_EPERM);
    assert_non_null(strstr(err.msg, "matches no vbd-allow-operator pattern"));
    /* The host's own system stays refused whatever the operator patterns say. */
    xend_err_clear(&err);
    assert_int_equal(parse(NULL, "(vbd (uname file:/etc/passwd) (dev sda1) (mode w))", &err),
                     -XEND_EPERM);
    assert_non_null(strstr(err.msg, "part of the host's system"));
    fake_host_caller_role_set(XEND_ROLE_ADMIN);
    assert_int_equal(parse_fmt("(vbd (uname file:%s) (dev sda1) (mode w))", other, &err), 0);
    unlink(other);
}

static void test_writable_segment_cannot_be_shared(void **state)
{
    (void)state;
    NEED_LOOP_DEVICES();
    init_plugin();
    dev_new(vm1, 0, "(vbd (uname phy:loop0) (dev sda1) (mode w))");
    struct xend_err err;
    assert_int_equal(parse(vm2, "(vbd (uname phy:loop0) (dev sda1) (mode r))", &err), -XEND_EBUSY);
    assert_string_equal(err.msg, "vbd: Segment phy:loop0 is in writable use");
    assert_int_equal(parse(vm2, "(vbd (uname phy:/dev/loop0) (dev sda1) (mode w))", &err),
                     -XEND_EBUSY);
    assert_string_equal(err.msg, "vbd: Segment phy:/dev/loop0 is in writable use");
    /* '!' overrides; another device is free */
    assert_int_equal(parse(vm2, "(vbd (uname phy:loop0) (dev sda1) (mode 'w!'))", &err), 0);
    assert_int_equal(parse(vm2, "(vbd (uname phy:loop1) (dev sda1) (mode w))", &err), 0);
}

static void test_read_only_segment_is_shared_read_only_only(void **state)
{
    (void)state;
    NEED_LOOP_DEVICES();
    init_plugin();
    dev_new(vm1, 0, "(vbd (uname phy:loop0) (dev sda1))"); /* mode r by default */
    struct xend_err err;
    assert_int_equal(parse(vm2, "(vbd (uname phy:loop0) (dev sda1) (mode r))", &err), 0);
    assert_int_equal(parse(vm2, "(vbd (uname phy:loop0) (dev sda1) (mode w))", &err), -XEND_EBUSY);
    assert_string_equal(err.msg, "vbd: Segment phy:loop0 is in read-only use");
    assert_int_equal(parse(vm2, "(vbd (uname phy:loop0) (dev sda1) (mode w!))", &err), 0);
}

static void test_file_segments_are_shared_by_identity_not_name(void **state)
{
    (void)state;
    init_plugin();
    char link[200];
    snprintf(link, sizeof(link), "%s/other-name.img", script_dir);
    assert_int_equal(symlink(img, link), 0);
    dev_new(vm1, 0, "(vbd (uname file:%s) (dev sda1) (mode w))", img);
    struct xend_err err;
    char text[512];
    snprintf(text, sizeof(text), "(vbd (uname file:%s) (dev sda1))", link);
    assert_int_equal(parse(vm2, text, &err), -XEND_EBUSY);
    assert_non_null(strstr(err.msg, "is in writable use"));
}

static void test_guest_device_name_is_unique_within_a_domain(void **state)
{
    (void)state;
    init_plugin();
    dev_new(vm1, 0, "(vbd (uname nbd:a:1) (dev sda1))");
    struct xend_err err;
    assert_int_equal(parse(vm1, "(vbd (uname nbd:b:1) (dev sda1))", &err), -XEND_EEXIST);
    assert_string_equal(err.msg, "vbd: device sda1 already in use in domain 5");
    /* the same number under another spelling */
    assert_int_equal(parse(vm1, "(vbd (uname nbd:b:1) (dev 0x801))", &err), -XEND_EEXIST);
    assert_int_equal(parse(vm2, "(vbd (uname nbd:b:1) (dev sda1))", &err), 0);
    assert_int_equal(parse(vm1, "(vbd (uname nbd:b:1) (dev sda2))", &err), 0);
}

static void test_a_new_device_does_not_clash_with_its_own_record(void **state)
{
    (void)state;
    NEED_LOOP_DEVICES();
    init_plugin();
    /* The core makes the record, then parses the record's own config. */
    struct xend_device *dev = dev_new(vm1, 0, "(vbd (uname phy:loop0) (dev sda1) (mode w))");
    struct xend_err err = {0};
    struct xend_sxp *norm = NULL;
    assert_int_equal(ops->parse(ctx, vm1, host->device->config(dev), &norm, &err), 0);
    /* ...and a second record of the same config is seen */
    struct xend_device *dup = dev_new(vm1, 1, "(vbd (uname phy:loop1) (dev sda1) (mode w))");
    assert_int_equal(ops->parse(ctx, vm1, host->device->config(dup), &norm, &err), -XEND_EEXIST);
}

/* ---- attach, detach ---- */

static void test_phy_attach_gives_the_backend_the_node_without_scripts(void **state)
{
    (void)state;
    NEED_LOOP_DEVICES();
    init_plugin();
    struct xend_device *dev = dev_new(vm1, 0, "(vbd (uname phy:loop0) (dev sda1) (mode w))");
    assert_int_equal(attach(dev, NULL, 0), 0);
    assert_int_equal(B.attach_calls, 1);
    assert_int_equal(B.domid, 5);
    assert_int_equal(B.devid, 2049);
    assert_string_equal(B.params, "(vbd (node /dev/loop0) (dev sda1) (vdev 2049) (mode w))");
    char *d = describe(dev);
    assert_string_equal(d, "(vbd (idx 0) (vdev 2049) (device 1792) (mode w) (dev sda1) "
                           "(uname phy:loop0) (node /dev/loop0) (index 0))");
    free(d);
    assert_int_equal(detach(dev), 0);
    assert_int_equal(B.detach_calls, 1);
    assert_int_equal(B.detach_devid, 2049);
    char *log = script_log();
    assert_string_equal(log, "");
    free(log);
}

static void test_file_is_bound_by_block_file_and_unbound_after_backend_detach(void **state)
{
    (void)state;
    init_plugin();
    struct xend_device *dev = dev_new(vm1, 1, "(vbd (uname file:%s) (dev xvda) (mode w!))", img);
    assert_int_equal(attach(dev, NULL, 0), 0);
    char *log = script_log();
    assert_string_equal(log, expect_argv("block-file", "bind", img, NULL));
    free(log);
    char want[512];
    snprintf(want, sizeof(want), "(vbd (node %s) (dev xvda) (vdev 51712) (mode w))", node);
    assert_string_equal(B.params, want);
    char *d = describe(dev);
    snprintf(want, sizeof(want),
             "(vbd (idx 1) (vdev 51712) (device 51712) (mode 'w!') (dev xvda) (uname file:%s) "
             "(node %s) (index 1))",
             img, node);
    assert_string_equal(d, want);
    free(d);

    unlink(script_logpath);
    assert_int_equal(detach(dev), 0);
    assert_int_equal(B.detach_calls, 1);
    assert_true(B.detached_before_unbind_log);
    log = script_log();
    assert_string_equal(log, expect_argv("block-file", "unbind", node, NULL));
    free(log);
}

static void test_block_file_key_renames_the_script(void **state)
{
    (void)state;
    fake_host_config_set("block-file", "my-binder");
    init_plugin();
    struct xend_device *dev = dev_new(vm1, 0, "(vbd (uname file:%s) (dev sda1))", img);
    assert_int_equal(attach(dev, NULL, 0), 0);
    char *log = script_log();
    assert_string_equal(log, expect_argv("my-binder", "bind", img, NULL));
    free(log);
}

static void test_site_type_runs_block_TYPE_with_params_split_at_colons(void **state)
{
    (void)state;
    init_plugin();
    struct xend_device *dev = dev_new(vm2, 0, "(vbd (uname nbd:server:1234) (dev hda1))");
    assert_int_equal(attach(dev, NULL, 0), 0);
    char *log = script_log();
    assert_string_equal(log, expect_argv("block-nbd", "bind", "server", "1234", NULL));
    free(log);
    assert_int_equal(B.devid, 769);
}

static void test_failing_bind_fails_attach_before_the_backend(void **state)
{
    (void)state;
    init_plugin();
    struct xend_device *dev = dev_new(vm1, 0, "(vbd (uname fail:x) (dev sda1))");
    char msg[512];
    assert_int_equal(attach(dev, msg, sizeof(msg)), -XEND_EIO);
    char want[512];
    snprintf(want, sizeof(want),
             "vbd: script %s/block-fail bind failed: exit status 2: losetup: cannot find an "
             "unused loop device",
             script_dir);
    assert_string_equal(msg, want);
    assert_int_equal(B.attach_calls, 0);
    /* nothing bound: detach has nothing to unbind */
    unlink(script_logpath);
    assert_int_equal(detach(dev), 0);
    char *log = script_log();
    assert_string_equal(log, "");
    free(log);
}

static void test_bind_that_prints_no_node_fails_attach(void **state)
{
    (void)state;
    init_plugin();
    struct xend_device *dev = dev_new(vm1, 0, "(vbd (uname silent:x) (dev sda1))");
    char msg[512];
    assert_int_equal(attach(dev, msg, sizeof(msg)), -XEND_EIO);
    assert_string_equal(msg, "vbd: script block-silent bind x printed no device node (got '')");
    assert_int_equal(B.attach_calls, 0);
}

static void test_backend_refusal_after_bind_unbinds(void **state)
{
    (void)state;
    B.fail_attach = 1;
    init_plugin();
    struct xend_device *dev = dev_new(vm1, 0, "(vbd (uname file:%s) (dev sda1))", img);
    char msg[512];
    assert_int_equal(attach(dev, msg, sizeof(msg)), -XEND_EBACKEND);
    assert_string_equal(msg, "blkback refused");
    char *log = script_log();
    char want[1024];
    snprintf(want, sizeof(want), "%s", expect_argv("block-file", "bind", img, NULL));
    strcat(want, expect_argv("block-file", "unbind", node, NULL));
    assert_string_equal(log, want);
    free(log);
}

static void test_reattach_takes_the_node_from_state_without_binding(void **state)
{
    (void)state;
    init_plugin();
    struct xend_device *dev = dev_new(vm1, 0, "(vbd (uname file:%s) (dev sda1) (mode w))", img);
    struct xend_sxp *st;
    char text[512], msg[128];
    snprintf(text, sizeof(text),
             "(vbd (idx 0) (vdev 2049) (device 1799) (mode w) (dev sda1) (uname file:%s) "
             "(node /dev/loop7) (index 0))",
             img);
    assert_int_equal(xend_sxp_parse(text, strlen(text), NULL, &st, msg, sizeof(msg)), 0);
    struct xend_err err = {0};
    assert_int_equal(ops->reattach(ctx, dev, st, &err), 0);
    xend_sxp_free(st);
    char *log = script_log();
    assert_string_equal(log, "");
    free(log);
    char *d = describe(dev);
    assert_non_null(strstr(d, "(node /dev/loop7)"));
    free(d);
    assert_int_equal(detach(dev), 0);
    assert_int_equal(B.detach_calls, 1);
    log = script_log();
    assert_string_equal(log, expect_argv("block-file", "unbind", "/dev/loop7", NULL));
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_config_errors_use_xen_texts),
        T(test_unknown_backend_and_type_without_script_are_refused),
        T(test_vdev_is_the_linux_number_of_the_name),
        T(test_writable_system_files_are_refused_without_vbd_allow),
        T(test_the_disk_holding_root_is_refused_writable),
        T(test_vbd_allow_patterns_decide_writable_unames),
        T(test_an_operator_names_only_what_vbd_allow_operator_allows),
        T(test_vbd_allow_operator_patterns_open_writable_unames_to_operators),
        T(test_writable_segment_cannot_be_shared),
        T(test_read_only_segment_is_shared_read_only_only),
        T(test_file_segments_are_shared_by_identity_not_name),
        T(test_guest_device_name_is_unique_within_a_domain),
        T(test_a_new_device_does_not_clash_with_its_own_record),
        T(test_phy_attach_gives_the_backend_the_node_without_scripts),
        T(test_file_is_bound_by_block_file_and_unbound_after_backend_detach),
        T(test_block_file_key_renames_the_script),
        T(test_site_type_runs_block_TYPE_with_params_split_at_colons),
        T(test_failing_bind_fails_attach_before_the_backend),
        T(test_bind_that_prints_no_node_fails_attach),
        T(test_backend_refusal_after_bind_unbinds),
        T(test_reattach_takes_the_node_from_state_without_binding),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
