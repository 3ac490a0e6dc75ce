/*
 * Unit tests of the `xm create` config builder (xm/mkconfig.c): the (vm ...) SXP of
 * docs/compat.md from config variables, and its error messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xmconfig.h"

static uint32_t fixed_random(void *arg)
{
    uint32_t *next = arg;
    return (*next)++;
}

/* Build from a config text plus command-line VAR=VAL strings; returns the compact SXP or
 * NULL with err set. */
static char *build(const char *text, const char *const *cmdline, struct xend_err *err)
{
    struct xend_pyvars vars = XEND_PYVARS_INIT;
    for (size_t i = 0; cmdline != NULL && cmdline[i] != NULL; i++) {
        const char *eq = strchr(cmdline[i], '=');
        char *name = strndup(cmdline[i], (size_t)(eq - cmdline[i]));
        const struct xend_xmvar_spec *spec = xend_xmconfig_var(name);
        xend_pyvars_set_cmdline(&vars, name, eq + 1, spec != NULL && spec->type == XEND_XMVAR_LIST);
        free(name);
    }
    xend_err_clear(err);
    char *out = NULL;
    if (xend_pyconf_parse(text, strlen(text), "cfg", &vars, err) == 0) {
        uint32_t seed = 0x123456;
        struct xend_xmconfig_ctx ctx = {.file = "cfg",
                                        .defconfig = "/etc/xen/myvm",
                                        .random = fixed_random,
                                        .random_arg = &seed};
        struct xend_sxp *vm = NULL;
        if (xend_xmconfig_build(&vars, &ctx, &vm, err) == 0) {
            out = xend_sxp_print(vm);
            xend_sxp_free(vm);
        }
    }
    xend_pyvars_free(&vars);
    return out;
}

static void test_xmexample1_gives_the_2_0_dry_run(void **state)
{
    (void)state;
    struct xend_err err;
    const char *text = "kernel = \"/tmp/vmlinuz-fake\"\n"
                       "memory = 64\n"
                       "name = \"ExampleDomain\"\n"
                       "disk = [ 'phy:hda1,hda1,r' ]\n"
                       "root = \"/dev/hda1 ro\"\n"
                       "extra = \"4\"\n";
    char *s = build(text, NULL, &err);
    assert_non_null(s);
    /* the verified 2.0 dry run, with our fixed random mac */
    assert_string_equal(s, "(vm (name ExampleDomain) (memory 64) (image (linux (kernel "
                           "/tmp/vmlinuz-fake) (root '/dev/hda1 ro') (args 4))) (device (vbd "
                           "(uname phy:hda1) (dev hda1) (mode r))) (device (vif (mac "
                           "aa:00:00:12:34:56))))");
    free(s);
}

static void test_every_element_comes_in_the_2_0_order(void **state)
{
    (void)state;
    struct xend_err err;
    const char *text = "kernel = '/k'\nramdisk = '/r'\nname = 'vm'\nmemory = 32\n"
                       "maxmem = 64\ncpu = 0\ncpu_weight = 0.5\nblkif = 'yes'\nnetif = 1\n"
                       "restart = 'always'\nconsole = 9700\nroot = 'root=/dev/sda1'\n"
                       "disk = ['phy:sda1,sda1,w,0']\npci = ['c0,02,1a']\n"
                       "vif = ['mac=aa:00:00:00:00:01, bridge=br0, script=vif-x, backend=0']\n";
    char *s = build(text, NULL, &err);
    assert_non_null(s);
    assert_string_equal(s, "(vm (name vm) (memory 32) (maxmem 64) (cpu 0) (cpu_weight 0.5) "
                           "(backend (blkif)) (backend (netif)) (restart always) (console 9700) "
                           "(image (linux (kernel /k) (ramdisk /r) (root /dev/sda1))) "
                           "(device (vbd (uname phy:sda1) (dev sda1) (mode w) (backend 0))) "
                           "(device (pci (bus 0xc0) (dev 0x02) (func 0x1a))) "
                           "(device (vif (mac aa:00:00:00:00:01) (bridge br0) (script vif-x) "
                           "(backend 0))))");
    free(s);
}

static void test_defaults_name_memory_and_one_vif(void **state)
{
    (void)state;
    struct xend_err err;
    char *s = build("kernel = '/k'\n", NULL, &err);
    assert_non_null(s);
    /* name from the defconfig's basename, 128 MB, nics = 1 */
    assert_string_equal(s, "(vm (name myvm) (memory 128) (image (linux (kernel /k))) "
                           "(device (vif (mac aa:00:00:12:34:56))))");
    free(s);
}

static void test_nics_adds_vifs_with_random_macs(void **state)
{
    (void)state;
    struct xend_err err;
    const char *cmd[] = {"nics=3", NULL};
    char *s = build("kernel = '/k'\nvif = ['bridge=br1']\n", cmd, &err);
    assert_non_null(s);
    assert_non_null(strstr(s, "(device (vif (mac aa:00:00:12:34:56) (bridge br1))) "
                              "(device (vif (mac aa:00:00:12:34:57))) "
                              "(device (vif (mac aa:00:00:12:34:58)))"));
    free(s);
}

static void test_command_line_overrides_and_appends(void **state)
{
    (void)state;
    struct xend_err err;
    const char *cmd[] = {"memory=256",   "disk=phy:a,a,r", "disk=phy:b,b,w",
                         "cpu_weight=2", "name=other",     NULL};
    char *s = build("kernel = '/k'\nmemory = 64\nname = 'vm'\ndisk = ['phy:c,c,r']\n", cmd, &err);
    assert_non_null(s);
    assert_non_null(strstr(s, "(name other) (memory 256) (cpu_weight 2.0)"));
    assert_non_null(strstr(s, "(uname phy:a)"));
    assert_non_null(strstr(s, "(uname phy:b)"));
    assert_null(strstr(s, "phy:c"));
    free(s);
}

static void test_kernel_ip_and_nfs_arguments(void **state)
{
    (void)state;
    struct xend_err err;
    const char *text = "kernel = '/k'\nip = '10.0.0.5'\ngateway = '10.0.0.1'\n"
                       "netmask = '255.255.255.0'\nhostname = 'vm1'\nnfs_server = '10.0.0.2'\n"
                       "nfs_root = '/export/vm1'\nroot = '/dev/nfs'\nextra = 'single'\nnics=0\n";
    char *s = build(text, NULL, &err);
    assert_non_null(s);
    assert_string_equal(s, "(vm (name myvm) (memory 128) (image (linux (kernel /k) "
                           "(ip 10.0.0.5:10.0.0.2:10.0.0.1:255.255.255.0:vm1:eth0:off) "
                           "(root /dev/nfs) (args 'nfsroot=10.0.0.2:/export/vm1 single'))))");
    free(s);
    s = build("kernel = '/k'\ndhcp = 'dhcp'\nnics=0\n", NULL, &err);
    assert_non_null(strstr(s, "(ip :1.2.3.4::::eth0:dhcp)"));
    free(s);
}

static void test_relative_kernel_is_made_absolute(void **state)
{
    (void)state;
    struct xend_err err;
    char *s = build("kernel = 'boot/../vmlinuz'\nnics = 0\n", NULL, &err);
    char *cwd = getcwd(NULL, 0);
    char *want = NULL;
    assert_true(asprintf(&want, "(kernel %s/vmlinuz)", strcmp(cwd, "/") ? cwd : "") > 0);
    assert_non_null(strstr(s, want));
    free(want);
    free(cwd);
    free(s);
    char *p = xend_abspath("/a/./b//c/../d/");
    assert_string_equal(p, "/a/b/d");
    free(p);
    p = xend_abspath("/..");
    assert_string_equal(p, "/");
    free(p);
}

static void expect_error(const char *text, const char *const *cmd, const char *msg)
{
    struct xend_err err;
    char *s = build(text, cmd, &err);
    assert_null(s);
    assert_string_equal(err.msg, msg);
}

static void test_errors_are_the_2_0_messages_with_file_and_line(void **state)
{
    (void)state;
    expect_error("memory = 64\n", NULL, "No kernel specified");
    expect_error("kernel = '/k'\n\ndisk = ['phy:hda1,hda1']\n", NULL,
                 "cfg:3: Invalid disk specifier: phy:hda1,hda1");
    expect_error("kernel = ['/k']\n", NULL, "cfg:1: kernel: expected a string");
    expect_error("kernel = '/k'\nmemory = 'lots'\n", NULL, "cfg:2: memory: expected an integer");
    expect_error("kernel = '/k'\ndisk = 'phy:a,a,r'\n", NULL,
                 "cfg:2: disk: expected a list of strings");
    expect_error("kernel = '/k'\nvif = ['colour=red']\n", NULL,
                 "cfg:2: Invalid vif specifier: colour=red");
    expect_error("kernel = '/k'\npci = ['1,2']\n", NULL, "cfg:2: Invalid pci specifier: 1,2");
    expect_error("kernel = '/k'\nnfs_root = '/x'\n", NULL, "Must set nfs root and nfs server");
    const char *bad_int[] = {"memory=abc", NULL};
    expect_error("kernel = '/k'\n", bad_int, "Invalid value: abc");
    const char *bad_bool[] = {"blkif=maybe", NULL};
    expect_error("kernel = '/k'\n", bad_bool, "Invalid value:maybe");
}

static void test_random_mac_has_the_aa_oui_and_a_low_fourth_byte(void **state)
{
    (void)state;
    char mac[18];
    xend_random_mac(0xffffffffu, mac);
    assert_string_equal(mac, "aa:00:00:7f:ff:ff");
    xend_random_mac(0, mac);
    assert_string_equal(mac, "aa:00:00:00:00:00");
}

struct seen {
    int lines[8];
    char msgs[8][256];
    size_t n;
};

static void collect(void *arg, int line, const char *msg)
{
    struct seen *s = arg;
    if (s->n < 8) {
        s->lines[s->n] = line;
        snprintf(s->msgs[s->n], sizeof(s->msgs[0]), "%s", msg);
        s->n++;
    }
}

/* xend's dry run: every unknown variable, then every part's problem, each with its line. */
static void test_problems_are_all_reported_with_their_lines(void **state)
{
    (void)state;
    const char *text = "name = 'vm1'\n"
                       "memroy = 64\n"
                       "kernel = 'vmlinuz'\n"
                       "cpu = 'x'\n"
                       "disk = ['phy:hda1']\n"
                       "vif = ['colour=red']\n"
                       "nmae = 'x'\n";
    struct xend_pyvars vars = XEND_PYVARS_INIT;
    struct xend_err err = {0};
    assert_int_equal(xend_pyconf_parse(text, strlen(text), "cfg", &vars, &err), 0);
    struct seen s = {0};
    assert_int_equal(xend_xmconfig_unknown_vars(&vars, collect, &s), 2);
    assert_int_equal(s.lines[0], 2);
    assert_string_equal(s.msgs[0], "unknown variable 'memroy'; did you mean 'memory'?");
    assert_int_equal(s.lines[1], 7);
    assert_string_equal(s.msgs[1], "unknown variable 'nmae'; did you mean 'name'?");

    struct seen b = {0};
    struct xend_xmconfig_ctx ctx = {
        .file = "cfg", .absolute_only = true, .problem = collect, .problem_arg = &b};
    struct xend_sxp *vm = NULL;
    assert_int_equal(xend_xmconfig_build(&vars, &ctx, &vm, &err), -XEND_EINVAL);
    assert_null(vm);
    /* the first is still the error, with its place, as xm prints it */
    assert_string_equal(err.msg, "cfg:4: cpu: expected an integer");
    assert_int_equal(b.n, 4);
    assert_int_equal(b.lines[0], 4);
    assert_int_equal(b.lines[1], 3);
    assert_non_null(strstr(b.msgs[1], "kernel: vmlinuz is a relative path"));
    assert_int_equal(b.lines[2], 5);
    assert_string_equal(b.msgs[2], "Invalid disk specifier: phy:hda1");
    assert_int_equal(b.lines[3], 6);
    xend_pyvars_free(&vars);
}

/* The lines of a config printed one element a line map back to the file's variables. */
static void test_elements_map_back_to_their_variables(void **state)
{
    (void)state;
    const char *text = "kernel = '/k'\nname = 'vm1'\nmemory = 32\ndisk = ['phy:a,sda1,w']\n";
    struct xend_pyvars vars = XEND_PYVARS_INIT;
    struct xend_err err = {0};
    assert_int_equal(xend_pyconf_parse(text, strlen(text), "cfg", &vars, &err), 0);
    struct xend_xmconfig_ctx ctx = {.file = "cfg"};
    struct xend_sxp *vm = NULL;
    assert_int_equal(xend_xmconfig_build(&vars, &ctx, &vm, &err), 0);
    struct xend_buf b = XEND_BUF_INIT;
    xend_xmconfig_print_lines(vm, &b);
    /* line N is element N - 1 */
    const char *s = xend_buf_str(&b);
    assert_true(strncmp(s, "(vm\n (name vm1)\n (memory 32)\n (image", 36) == 0);
    static const char *const want[] = {NULL, "name", "memory", "kernel", "disk", "nics"};
    for (size_t i = 0; i < 6; i++) {
        const char *got = xend_xmconfig_element_var(xend_sxp_nth(vm, i), &vars);
        if (want[i] == NULL)
            assert_null(got);
        else
            assert_string_equal(got, want[i]);
    }
    struct xend_sxp *back = NULL;
    char msg[128];
    assert_int_equal(xend_sxp_parse(s, b.len, NULL, &back, msg, sizeof(msg)), 0);
    assert_true(xend_sxp_equal(back, vm));
    xend_sxp_free(back);
    xend_buf_free(&b);
    xend_sxp_free(vm);
    xend_pyvars_free(&vars);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xmexample1_gives_the_2_0_dry_run),
        cmocka_unit_test(test_every_element_comes_in_the_2_0_order),
        cmocka_unit_test(test_defaults_name_memory_and_one_vif),
        cmocka_unit_test(test_nics_adds_vifs_with_random_macs),
        cmocka_unit_test(test_command_line_overrides_and_appends),
        cmocka_unit_test(test_kernel_ip_and_nfs_arguments),
        cmocka_unit_test(test_relative_kernel_is_made_absolute),
        cmocka_unit_test(test_errors_are_the_2_0_messages_with_file_and_line),
        cmocka_unit_test(test_random_mac_has_the_aa_oui_and_a_low_fourth_byte),
        cmocka_unit_test(test_problems_are_all_reported_with_their_lines),
        cmocka_unit_test(test_elements_map_back_to_their_variables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
