/*
 * Unit tests of the xm commands (xm/commands.c, xm/cmd_*.c) against a fake xend on a unix
 * socket: the requests each command makes, what it prints, and its errors.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "fake_xend.h"

#define SXP "application/sxp"

struct run_result {
    int rc;
    struct xend_err err;
    char *out; /* what the command wrote to stdout */
    bool transport_failed;
};

/* Run `xm ARGS...` against `url` with stdout captured. */
static struct run_result run(const char *url, const char *const *args)
{
    struct run_result res;
    memset(&res, 0, sizeof(res));
    struct xm_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.prog = "xm";
    ctx.server_ok = xm_endpoint_parse(url, NULL, &ctx.client.ep, &ctx.server_err) == 0;
    char *argv[32];
    int argc = 0;
    while (args[argc] != NULL) {
        argv[argc] = (char *)args[argc];
        argc++;
    }
    argv[argc] = NULL;

    fflush(stdout);
    FILE *tmp = tmpfile();
    int saved = dup(STDOUT_FILENO);
    dup2(fileno(tmp), STDOUT_FILENO);
    res.rc = xm_run(&ctx, argc, argv, &res.err);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    long len = ftell(tmp);
    res.out = calloc(1, (size_t)len + 1);
    rewind(tmp);
    assert_int_equal(fread(res.out, 1, (size_t)len, tmp), (size_t)len);
    fclose(tmp);
    res.transport_failed = ctx.client.transport_failed;
    return res;
}

static const char *const D0 = "(domain (id 0) (name Domain-0) (memory 251) (maxmem 256) "
                              "(state r----) (cpu 0) (cpu_time 172.23456789) (devices))";
static const char *const VM1 = "(domain (id 3) (name vm1) (memory 64) (maxmem 64) (state -b---) "
                               "(cpu 1) (cpu_time 1.5) (console (status listening) (id 9) "
                               "(domain 3) (console_port 9603)) (devices))";

static void test_list_asks_each_domain_when_xend_has_no_detail(void **state)
{
    (void)state;
    const struct fake_reply replies[] = {
        {"GET /xend/domain/?detail=1", 200, "OK", SXP, "(vm1 Domain-0)", 0},
        {"GET /xend/domain/Domain-0", 200, "OK", SXP, D0, 0},
        {"GET /xend/domain/vm1", 200, "OK", SXP, VM1, 0},
    };
    struct fake_xend *fx = fake_xend_start(replies, 3);
    const char *args[] = {"li", NULL}; /* a prefix works */
    struct run_result r = run(fake_xend_url(fx), args);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.out, "Name              Id  Mem(MB)  CPU  State  Time(s)  Console\n"
                               "Domain-0           0      251    0  r----    172.2        \n"
                               "vm1                3       64    1  -b---      1.5    9603\n");
    assert_int_equal(fake_xend_count(fx), 3);
    assert_string_equal(fake_xend_request(fx, 1), "GET /xend/domain/Domain-0");
    free(r.out);
    fake_xend_stop(fx);
}

static void test_list_uses_one_request_with_detail(void **state)
{
    (void)state;
    char body[1024];
    snprintf(body, sizeof(body), "(%s %s)", VM1, D0);
    const struct fake_reply replies[] = {
        {"GET /xend/domain/?detail=1", 200, "OK", SXP, body, 0},
    };
    struct fake_xend *fx = fake_xend_start(replies, 1);
    const char *args[] = {"list", NULL};
    struct run_result r = run(fake_xend_url(fx), args);
    assert_int_equal(r.rc, 0);
    assert_non_null(strstr(r.out, "Domain-0           0"));
    assert_true(strstr(r.out, "Domain-0") < strstr(r.out, "vm1")); /* sorted by name */
    assert_int_equal(fake_xend_count(fx), 1);
    free(r.out);
    const char *longargs[] = {"list", "-l", "vm1", NULL};
    r = run(fake_xend_url(fx), longargs);
    assert_int_equal(r.rc, -XEND_EIO); /* the fake has no /xend/domain/vm1 */
    assert_string_equal(r.err.msg, "Not found");
    free(r.out);
    fake_xend_stop(fx);
}

static char *write_config(const char *text)
{
    char *path = strdup("/tmp/xm-test-cfg-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_create_posts_the_config_then_unpauses(void **state)
{
    (void)state;
    const struct fake_reply replies[] = {
        {"POST /xend/domain", 201, "created", SXP,
         "(domain (id 3) (name vm1) (memory 64) (console (status listening) (id 9) (domain 3) "
         "(console_port 9603)) (devices))",
         0},
        {"POST /xend/domain/vm1", 200, "OK", SXP, "0", 0},
    };
    struct fake_xend *fx = fake_xend_start(replies, 2);
    char *cfg = write_config("kernel = '/k'\nname = 'vm1'\nmemory = 64\nnics = 0\n");
    const char *args[] = {"create", cfg, "memory=32", NULL};
    struct run_result r = run(fake_xend_url(fx), args);
    assert_int_equal(r.rc, 0);
    char *want = NULL;
    assert_true(asprintf(&want,
                         "Using config file \"%s\".\nStarted domain vm1, console on port 9603\n",
                         cfg) > 0);
    assert_string_equal(r.out, want);
    free(want);
    assert_int_equal(fake_xend_count(fx), 2);
    assert_string_equal(fake_xend_body(fx, 0),
                        "op=create&config=%28vm+%28name+vm1%29+%28memory+32%29+%28image+%28linux+"
                        "%28kernel+%2Fk%29%29%29%29");
    assert_string_equal(fake_xend_request(fx, 1), "POST /xend/domain/vm1");
    assert_string_equal(fake_xend_body(fx, 1), "op=unpause");
    free(r.out);

    /* -p leaves it paused, -q prints nothing */
    const char *paused[] = {"create", "-q", "-p", "-f", cfg, NULL};
    r = run(fake_xend_url(fx), paused);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.out, "");
    assert_int_equal(fake_xend_count(fx), 3);
    free(r.out);
    unlink(cfg);
    free(cfg);
    fake_xend_stop(fx);
}

static void test_create_reports_xend_errors_and_config_errors(void **state)
{
    (void)state;
    const struct fake_reply replies[] = {
        {"POST /xend/domain", 200, "OK", SXP,
         "(xend.err 'Error creating domain: Kernel image does not exist: /k')", 0},
    };
    struct fake_xend *fx = fake_xend_start(replies, 1);
    char *cfg = write_config("kernel = '/k'\n");
    const char *args[] = {"create", "-q", cfg, NULL};
    struct run_result r = run(fake_xend_url(fx), args);
    assert_int_equal(r.rc, -XEND_EIO);
    assert_string_equal(r.err.msg, "Error creating domain: Kernel image does not exist: /k");
    free(r.out);
    unlink(cfg);
    free(cfg);

    cfg = write_config("name = 'x'\n\nkernel = \"unterminated\n");
    const char *bad[] = {"create", "-n", cfg, NULL};
    r = run(fake_xend_url(fx), bad);
    assert_int_equal(r.rc, -XEND_EINVAL);
    char *want = NULL;
    assert_true(asprintf(&want, "%s:3: unterminated string", cfg) > 0);
    assert_string_equal(r.err.msg, want);
    free(want);
    free(r.out);
    unlink(cfg);
    free(cfg);

    const char *missing[] = {"create", "-n", "/nonexistent/cfg", NULL};
    r = run(fake_xend_url(fx), missing);
    assert_string_equal(r.err.msg, "Cannot open config file \"/nonexistent/cfg\"");
    free(r.out);
    assert_int_equal(fake_xend_count(fx), 1);
    fake_xend_stop(fx);
}

static void test_create_uploads_an_sxp_config_file(void **state)
{
    (void)state;
    const struct fake_reply replies[] = {
        {"POST /xend/domain", 201, "created", SXP,
         "(domain (id 4) (name s1) (console (console_port 9604)))", 0},
    };
    struct fake_xend *fx = fake_xend_start(replies, 1);
    char *cfg = write_config("(vm (name s1) (memory 16) (image (linux (kernel /k))))\n");
    const char *args[] = {"create", "-p", "-F", cfg, NULL};
    struct run_result r = run(fake_xend_url(fx), args);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.out, "Started domain s1, console on port 9604\n");
    const char *body = fake_xend_body(fx, 0);
    assert_non_null(strstr(body, "name=\"config\"; filename=\""));
    assert_non_null(strstr(body, "(vm (name s1) (memory 16)"));
    assert_non_null(strstr(body, "name=\"op\"\r\n\r\ncreate\r\n"));
    free(r.out);
    unlink(cfg);
    free(cfg);
    fake_xend_stop(fx);
}

static void test_domain_operations_send_the_2_0_ops(void **state)
{
    (void)state;
    const struct fake_reply replies[] = {
        {"POST /xend/domain/vm1", 200, "OK", SXP, "0", 0},
        {"POST /xend/domain/nosuch", 404, "invalid domain:nosuch", "text/html", "<html/>", 0},
        {"POST /xend/node", 200, "OK", SXP, "0", 0},
    };
    struct fake_xend *fx = fake_xend_start(replies, 3);
    const char *url = fake_xend_url(fx);
    struct {
        const char *args[8];
        const char *body;
    } cases[] = {
        {{"pause", "vm1"}, "op=pause"},
        {{"unpause", "vm1"}, "op=unpause"},
        {{"destroy", "vm1"}, "op=destroy&reason=halt"},
        {{"destroy", "-R", "vm1"}, "op=destroy&reason=reboot"},
        {{"shutdown", "vm1"}, "op=shutdown&reason=poweroff"},
        {{"shutdown", "-R", "vm1"}, "op=shutdown&reason=reboot"},
        {{"shutdown", "-H", "vm1"}, "op=shutdown&reason=halt"},
        {{"pincpu", "vm1", "-1"}, "op=pincpu&cpu=-1"},
        {{"maxmem", "vm1", "256"}, "op=maxmem_set&memory=256"},
        {{"balloon", "vm1", "96"}, "op=mem_target_set&target=96"},
        {{"bvt", "vm1", "10", "1", "0", "2000", "1000"},
         "op=cpu_bvt_set&mcuadv=10&warpback=1&warpvalue=0&warpl=2000&warpu=1000"},
        {{"atropos", "vm1", "100", "10", "50", "1"},
         "op=cpu_atropos_set&period=100&slice=10&latency=50&xtratime=1"},
        {{"bvt_ctxallow", "5000000"}, "op=cpu_bvt_slice_set&ctx_allow=5000000"},
        {{"rrobin", "10000000"}, "op=cpu_rrobin_slice_set&slice=10000000"},
        {{"vbd-create", "vm1", "phy:sda2", "sda2", "w"},
         "op=device_create&config=%28vbd+%28uname+phy%3Asda2%29+%28dev+sda2%29+%28mode+w%29%29"},
        {{"vbd-destroy", "vm1", "0"}, "op=device_destroy&type=vbd&idx=0"},
        {{"migrate", "-l", "vm1", "host2"}, "op=migrate&destination=host2&live=1&resource=0"},
        {{"call", "domain_pincpu", "vm1", "-1"}, "op=pincpu&cpu=-1"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t before = fake_xend_count(fx);
        struct run_result r = run(url, cases[i].args);
        assert_int_equal(r.rc, 0);
        assert_int_equal(fake_xend_count(fx), before + 1);
        assert_string_equal(fake_xend_body(fx, before), cases[i].body);
        free(r.out);
    }
    const char *save[] = {"save", "vm1", "/tmp/../tmp/vm1.save", NULL};
    struct run_result r = run(url, save);
    assert_int_equal(r.rc, 0);
    assert_string_equal(fake_xend_body(fx, fake_xend_count(fx) - 1),
                        "op=save&file=%2Ftmp%2Fvm1.save");
    free(r.out);

    const char *bad[] = {"pause", "nosuch", NULL};
    r = run(url, bad);
    assert_int_equal(r.rc, -XEND_EIO);
    assert_string_equal(r.err.msg, "invalid domain:nosuch");
    assert_false(r.transport_failed);
    free(r.out);
    fake_xend_stop(fx);
}

static void test_usage_errors_make_no_request(void **state)
{
    (void)state;
    struct fake_xend *fx = fake_xend_start(NULL, 0);
    struct {
        const char *args[8];
        const char *msg;
    } cases[] = {
        {{"pause"}, "pause: Missing domain"},
        {{"destroy"}, "destroy: Missing domain"},
        {{"shutdown"}, "Missing domain"}, /* 2.0's shutdown alone says no command name */
        {{"pincpu", "vm1"}, "pincpu: Invalid argument(s)"},
        {{"pincpu", "vm1", "abc"}, "invalid literal for int() with base 10: 'abc'"},
        {{"save", "vm1"}, "save: Missing arguments"},
        {{"shutdown", "-w", "-R", "vm1"}, "Can't specify wait and reboot"},
        {{"shutdown", "-H", "-R", "vm1"}, "Can't specify halt and reboot"},
        {{"migrate", "Domain-0", "h"}, "Cannot migrate Domain-0"},
        {{"list", "-x"}, "option -x not recognized"},
        {{"vbd-create", "vm1", "phy:a"}, "vbd-create: Invalid argument(s)"},
        {{"call", "no_such_fn"}, "call: unknown function: no_such_fn"},
        {{"call", "domain_pause"}, "call: usage: domain_pause ID"},
        {{"d"}, "Unknown command: d\nTry 'xm help' for more information."},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct run_result r = run(fake_xend_url(fx), cases[i].args);
        assert_true(r.rc < 0);
        assert_string_equal(r.err.msg, cases[i].msg);
        free(r.out);
    }
    assert_int_equal(fake_xend_count(fx), 0);
    fake_xend_stop(fx);
}

static void test_shutdown_wait_polls_until_the_domain_is_gone(void **state)
{
    (void)state;
    const struct fake_reply replies[] = {
        {"GET /xend/domain/3", 200, "OK", SXP, VM1, 0},
        {"POST /xend/domain/3", 202, "Accepted", SXP, "0", 0},
        {"GET /xend/domain/", 200, "OK", SXP, "(Domain-0 vm1)", 1},
        {"GET /xend/domain/", 200, "OK", SXP, "(Domain-0)", 0},
    };
    struct fake_xend *fx = fake_xend_start(replies, 4);
    const char *args[] = {"shutdown", "-w", "3", NULL};
    struct run_result r = run(fake_xend_url(fx), args);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.out, "Domain 3 terminated\nAll domains terminated\n");
    assert_string_equal(fake_xend_body(fx, 1), "op=shutdown&reason=halt");
    assert_int_equal(fake_xend_count(fx), 4);
    free(r.out);
    fake_xend_stop(fx);
}

static void test_shutdown_all_spares_domain_0(void **state)
{
    (void)state;
    const struct fake_reply replies[] = {
        {"GET /xend/domain/", 200, "OK", SXP, "(Domain-0 a b)", 0},
        {"POST /xend/domain/a", 202, "Accepted", SXP, "0", 0},
        {"POST /xend/domain/b", 202, "Accepted", SXP, "0", 0},
    };
    struct fake_xend *fx = fake_xend_start(replies, 3);
    const char *args[] = {"shutdown", "-a", NULL};
    struct run_result r = run(fake_xend_url(fx), args);
    assert_int_equal(r.rc, 0);
    assert_int_equal(fake_xend_count(fx), 3);
    assert_string_equal(fake_xend_request(fx, 1), "POST /xend/domain/a");
    assert_string_equal(fake_xend_request(fx, 2), "POST /xend/domain/b");
    free(r.out);
    fake_xend_stop(fx);
}

static void test_host_console_and_device_outputs(void **state)
{
    (void)state;
    const struct fake_reply replies[] = {
        {"GET /xend/node/", 200, "OK", SXP, "(node (system Linux) (cores 2))", 0},
        {"GET /xend/node/dmesg", 200, "OK", "text/plain", "(XEN) boot line", 0},
        {"POST /xend/node/dmesg", 200, "OK", SXP, "0", 0},
        {"GET /xend/console/", 200, "OK", SXP, "(9603)", 0},
        {"GET /xend/console/9603", 200, "OK", SXP,
         "(console (status connected) (id 9) (domain 3) (console_port 9603) "
         "(connected 127.0.0.1 5000))",
         0},
        {"GET /xend/domain/vm1?op=vbds", 200, "OK", SXP,
         "((vbd (idx 0) (dev sda1)) (vbd (idx 1) (dev sda2)))", 0},
        {"GET /xend/domain/vm1", 200, "OK", SXP, VM1, 0},
        {"GET /xend/vnet/", 200, "OK", SXP, "(97)", 0},
        {"GET /xend/vnet/97", 200, "OK", SXP, "(vnet (id 97))", 0},
    };
    struct fake_xend *fx = fake_xend_start(replies, 9);
    const char *url = fake_xend_url(fx);
    struct {
        const char *args[4];
        const char *out;
    } cases[] = {
        {{"info"}, "system                 : Linux\ncores                  : 2\n"},
        {{"dmesg"}, "(XEN) boot line\n"},
        {{"dmesg", "-c"}, ""},
        {{"consoles"}, "Dom Port  Id Connection\n  3 9603   9 127.0.0.1:5000\n"},
        {{"vbd-list", "vm1"}, "(vbd (idx 0) (dev sda1))\n(vbd (idx 1) (dev sda2))\n"},
        {{"domid", "vm1"}, "3\n"},
        {{"domname", "vm1"}, "vm1\n"},
        {{"vnet-list"}, "(vnet (id 97))\n"}, /* the 2.0 layout: what fits stays on a line */
        {{"call", "node"}, "(node (system Linux) (cores 2))\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct run_result r = run(url, cases[i].args);
        assert_int_equal(r.rc, 0);
        assert_string_equal(r.out, cases[i].out);
        free(r.out);
    }
    fake_xend_stop(fx);
}

static void test_help_is_grouped_and_per_command(void **state)
{
    (void)state;
    const char *all[] = {"help", NULL};
    struct run_result r = run("unix:/nonexistent", all);
    assert_int_equal(r.rc, 0);
    const char *head = "\ncall           Call xend api functions.\n";
    assert_true(strncmp(r.out, head, strlen(head)) == 0);
    assert_non_null(strstr(r.out, "\nCommands on domains:\n\nballoon        "));
    assert_non_null(strstr(r.out, "list           List information about domains.\n"));
    const char *tail = "\nTry 'xm help CMD' for help on CMD\n";
    assert_string_equal(r.out + strlen(r.out) - strlen(tail), tail);
    free(r.out);

    const char *one[] = {"help", "pause", NULL};
    r = run("unix:/nonexistent", one);
    assert_string_equal(r.out, "pause DOM\n\nPause execution of domain DOM.\n");
    free(r.out);

    const char *dash_h[] = {"shutdown", "vm1", "-h", NULL};
    r = run("unix:/nonexistent", dash_h);
    assert_int_equal(r.rc, 0);
    const char *usage = "Usage:  shutdown [options] [DOM]\n\nShutdown one or more domains";
    assert_true(strncmp(r.out, usage, strlen(usage)) == 0);
    assert_non_null(strstr(r.out, " -w, --wait\n    Wait for shutdown to complete.\n"));
    free(r.out);

    const char *create_h[] = {"create", "--help", NULL};
    r = run("unix:/nonexistent", create_h);
    assert_non_null(strstr(r.out, " kernel=FILE\n    Path to kernel image.\n    Default None\n"));
    free(r.out);

    assert_ptr_equal(xm_cmd_find("consoles"), xm_cmd_find("consoles"));
    assert_string_equal(xm_cmd_find("console")->name, "console");
    assert_null(xm_cmd_find("con"));
    assert_string_equal(xm_cmd_find("vnet-l")->name, "vnet-list");
}

static void test_nothing_listening_says_so(void **state)
{
    (void)state;
    const char *args[] = {"list", NULL};
    struct run_result r = run("unix:/nonexistent/xend.sock", args);
    assert_int_equal(r.rc, -XEND_EIO);
    assert_true(r.transport_failed);
    free(r.out);
    /* a dry run needs no xend at all */
    char *cfg = write_config("kernel = '/k'\nnics = 0\n");
    const char *dry[] = {"create", "-n", "-q", cfg, NULL};
    r = run("unix:/nonexistent/xend.sock", dry);
    assert_int_equal(r.rc, 0);
    assert_non_null(strstr(r.out, "(kernel /k)"));
    free(r.out);
    unlink(cfg);
    free(cfg);
}

static void test_create_makes_numeric_unknown_variables_numbers(void **state)
{
    (void)state;
    char *cfg = write_config("kernel = '/k'\nnics = 0\nname = 'vm%d' % (vmid + 1)\n");
    const char *args[] = {"create", "-n", "-q", cfg, "vmid=3", "extra=5", NULL};
    struct run_result r = run("unix:/nonexistent", args);
    assert_int_equal(r.rc, 0);
    assert_non_null(strstr(r.out, "(name vm4)"));
    assert_non_null(strstr(r.out, "(args 5)"));
    free(r.out);
    unlink(cfg);
    free(cfg);
}

int main(void)
{
    /* The fake xend may close a connection while the client still writes (CI has no
     * terminal and different timing): that must be an error return, not a dead test. */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_asks_each_domain_when_xend_has_no_detail),
        cmocka_unit_test(test_list_uses_one_request_with_detail),
        cmocka_unit_test(test_create_posts_the_config_then_unpauses),
        cmocka_unit_test(test_create_reports_xend_errors_and_config_errors),
        cmocka_unit_test(test_create_uploads_an_sxp_config_file),
        cmocka_unit_test(test_domain_operations_send_the_2_0_ops),
        cmocka_unit_test(test_usage_errors_make_no_request),
        cmocka_unit_test(test_shutdown_wait_polls_until_the_domain_is_gone),
        cmocka_unit_test(test_shutdown_all_spares_domain_0),
        cmocka_unit_test(test_host_console_and_device_outputs),
        cmocka_unit_test(test_help_is_grouped_and_per_command),
        cmocka_unit_test(test_nothing_listening_says_so),
        cmocka_unit_test(test_create_makes_numeric_unknown_variables_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
