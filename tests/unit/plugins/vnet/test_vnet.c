/*
 * vnet plugin against the fake host: what it registers, config validation and defaults,
 * the vnet script's exact argument vectors, the store record written before the reply and
 * removed when the script fails, duplicates, deletes that fail and are retried, requests
 * while a script runs, the reload at xend start, and fini with a create in flight.
 *
 * Scripts are small shell files in a temporary script-dir that append their argv (one
 * argument a line, then ---) to a log file the test reads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake_host.h"
#include "script_fixture.h"
#include "sxp.h"

extern const struct xend_plugin_desc xend_plugin_desc;

static const struct xend_host *host;

static int setup(void **state)
{
    (void)state;
    script_fixture_setup("vnet");
    write_script("vnet", "exit 0");
    write_script("fail", "echo starting\necho 'no vnet module here' >&2\nexit 3");
    write_script("faildel", "[ \"$1\" = del ] && { echo 'bridge vnet7 still has ports'; exit 1; }"
                            "\nexit 0");
    write_script("slow", "exec sleep 5");
    write_script("gate", "while [ ! -e \"$(dirname \"$0\")/go\" ]; do sleep 0.01; done");
    host = fake_host_new("vnet");
    fake_host_dir_set("script", script_dir);
    fake_host_config_set("script-dry-run", "no");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fake_host_fini_plugin(&xend_plugin_desc);
    fake_host_free();
    assert_int_equal(script_fixture_teardown(), 0);
    return 0;
}

static void init_plugin(const char *script)
{
    if (script)
        fake_host_config_set("vnet-script", script);
    assert_int_equal(fake_host_init_plugin(&xend_plugin_desc), 0);
}

/* POST /xend/vnet op=create config=CONFIG, waited for; the reply is owned by the caller. */
static void create(const char *config, struct fake_reply *r)
{
    char arg[1024];
    snprintf(arg, sizeof(arg), "config=%s", config);
    const char *args[] = {arg, NULL};
    fake_host_request("POST", "/xend/vnet", "create", NULL, NULL, args, r);
    assert_true(fake_host_request_wait(r, 5000));
}

static void del(const char *id, struct fake_reply *r)
{
    char cap[64];
    snprintf(cap, sizeof(cap), "id=%s", id);
    const char *caps[] = {cap, NULL};
    const char *args[] = {NULL};
    fake_host_request("POST", "/xend/vnet/{id}", "delete", NULL, caps, args, r);
    assert_true(fake_host_request_wait(r, 5000));
}

static void get(const char *id, struct fake_reply *r)
{
    char cap[64];
    snprintf(cap, sizeof(cap), "id=%s", id);
    const char *caps[] = {cap, NULL};
    const char *args[] = {NULL};
    fake_host_request("GET", "/xend/vnet/{id}", NULL, NULL, caps, args, r);
}

/* GET /xend/vnet, printed (owned). */
static char *list(void)
{
    struct fake_reply r;
    const char *args[] = {NULL};
    assert_int_equal(fake_host_request("GET", "/xend/vnet", NULL, NULL, NULL, args, &r), 0);
    char *body = strdup(r.body);
    fake_reply_free(&r);
    return body;
}

/* The stored record of `key`, printed (owned), or NULL. */
static char *stored(const char *key)
{
    struct xend_sxp *v = NULL;
    struct xend_err err = {0};
    if (host->store->get(fake_host_self(), key, &v, &err) < 0)
        return NULL;
    char *s = xend_sxp_print(v);
    xend_sxp_free(v);
    return s;
}

static void put_record(const char *key, const char *text)
{
    struct xend_sxp *v;
    char msg[128];
    assert_int_equal(xend_sxp_parse(text, strlen(text), NULL, &v, msg, sizeof(msg)), 0);
    struct xend_err err = {0};
    assert_int_equal(host->store->put(fake_host_self(), key, v, &err), 0);
    xend_sxp_free(v);
}

/* ---- tests ---- */

static void test_init_registers_the_vnet_routes_and_the_start_hook(void **state)
{
    (void)state;
    init_plugin(NULL);
    assert_int_equal(fake_host_route_count(), 4);
    assert_non_null(fake_host_route("GET", "/xend/vnet", NULL));
    assert_non_null(fake_host_route("POST", "/xend/vnet", "create"));
    assert_non_null(fake_host_route("GET", "/xend/vnet/{id}", NULL));
    assert_non_null(fake_host_route("POST", "/xend/vnet/{id}", "delete"));
    /* a start with an empty store loads nothing and runs nothing */
    struct xend_err err = {0};
    assert_int_equal(fake_host_run_hooks(XEND_HOOK_XEND_START, NULL, 0, 0, &err), 0);
    char *l = list();
    assert_string_equal(l, "()");
    free(l);
}

static void test_init_refuses_a_script_name_with_dotdot(void **state)
{
    (void)state;
    fake_host_config_set("vnet-script", "../bin/sh");
    assert_int_not_equal(fake_host_init_plugin(&xend_plugin_desc), 0);
    assert_non_null(strstr(fake_host_plugin_err(), "vnet-script"));
}

static void test_create_fills_defaults_runs_add_and_stores_before_replying(void **state)
{
    (void)state;
    init_plugin(NULL);
    struct fake_reply r;
    create("(vnet (id 97))", &r);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.status, 201);
    const char *want = "(vnet (id 97) (bridge vnet97) (vnetif vnetif97) (security none))";
    assert_string_equal(r.body, want);
    fake_reply_free(&r);

    char *log = script_log();
    assert_string_equal(log, expect_argv("vnet", "add", "id=97", "bridge=vnet97", "vnetif=vnetif97",
                                         "security=none", NULL));
    free(log);
    char *rec = stored("97");
    assert_non_null(rec);
    assert_string_equal(rec, want);
    free(rec);
    char *l = list();
    assert_string_equal(l, "(97)");
    free(l);
    get("97", &r);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.body, want);
    fake_reply_free(&r);
    assert_int_equal(fake_host_event_count("xend.vnet.create"), 1);
}

static void test_create_keeps_given_names_and_unknown_children(void **state)
{
    (void)state;
    init_plugin(NULL);
    struct fake_reply r;
    create("(vnet (security conf) (vnetif vif-x) (bridge br.1) (id 5) (peer 10.0.0.1))", &r);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.body, "(vnet (id 5) (bridge br.1) (vnetif vif-x) (security conf) "
                                "(peer 10.0.0.1))");
    fake_reply_free(&r);
    char *log = script_log();
    assert_string_equal(log, expect_argv("vnet", "add", "id=5", "bridge=br.1", "vnetif=vif-x",
                                         "security=conf", NULL));
    free(log);
}

static void expect_create_error(const char *config, const char *needle)
{
    struct fake_reply r;
    create(config, &r);
    assert_true(r.rc < 0);
    assert_non_null(r.error);
    if (strstr(r.error, needle) == NULL)
        fail_msg("%s: error [%s] lacks [%s]", config, r.error, needle);
    fake_reply_free(&r);
}

static void test_create_refuses_invalid_configs_without_running_anything(void **state)
{
    (void)state;
    init_plugin(NULL);
    expect_create_error("(vm (id 1))", "config must be (vnet");
    expect_create_error("(vnet (bridge b))", "missing id");
    expect_create_error("(vnet (id 0))", "invalid id: 0");
    expect_create_error("(vnet (id 097))", "invalid id: 097");
    expect_create_error("(vnet (id -1))", "invalid id: -1");
    expect_create_error("(vnet (id abc))", "invalid id: abc");
    expect_create_error("(vnet (id 4294967296))", "invalid id: 4294967296");
    expect_create_error("(vnet (id 1 2))", "invalid id");
    expect_create_error("(vnet (id (1)))", "invalid id");
    expect_create_error("(vnet (id 1) (id 2))", "(id ...) given twice");
    expect_create_error("(vnet (id 1) (bridge 'a b'))", "invalid bridge: a b");
    expect_create_error("(vnet (id 1) (bridge abcdefghijklmnop))", "invalid bridge");
    /* the default vnetif of the largest id would be 16 characters */
    expect_create_error("(vnet (id 4294967295))", "invalid vnetif: vnetif4294967295");
    expect_create_error("(vnet (id 1) (vnetif x) (bridge x))", "bridge and vnetif are both x");
    expect_create_error("(vnet (id 1) (security max))", "want none, auth or conf");
    expect_create_error("(vnet (id 1) 7)", "invalid config item: 7");
    expect_create_error("(vnet (id 1)", "");
    struct fake_reply r;
    const char *args[] = {NULL};
    fake_host_request("POST", "/xend/vnet", "create", NULL, NULL, args, &r);
    assert_non_null(strstr(r.error, "Missing parameter: config"));
    fake_reply_free(&r);

    char *log = script_log();
    assert_string_equal(log, "");
    free(log);
    char *l = list();
    assert_string_equal(l, "()");
    free(l);
    assert_null(stored("1"));
}

static void test_create_refuses_a_duplicate_id_bridge_or_vnetif(void **state)
{
    (void)state;
    init_plugin(NULL);
    struct fake_reply r;
    create("(vnet (id 7))", &r);
    assert_int_equal(r.rc, 0);
    fake_reply_free(&r);
    create("(vnet (id 7) (bridge other))", &r);
    assert_int_equal(r.rc, -XEND_EEXIST);
    assert_string_equal(r.error, "vnet: vnet 7 already exists");
    fake_reply_free(&r);
    expect_create_error("(vnet (id 8) (bridge vnet7))", "bridge vnet7 is in use by vnet 7");
    expect_create_error("(vnet (id 8) (bridge vnetif7))", "bridge vnetif7 is in use by vnet 7");
    expect_create_error("(vnet (id 8) (vnetif vnet7))", "vnetif vnet7 is in use by vnet 7");
    /* the first one is untouched */
    char *rec = stored("7");
    assert_string_equal(rec, "(vnet (id 7) (bridge vnet7) (vnetif vnetif7) (security none))");
    free(rec);
}

static void test_a_failing_add_script_replies_its_error_and_keeps_nothing(void **state)
{
    (void)state;
    init_plugin("fail");
    struct fake_reply r;
    create("(vnet (id 97))", &r);
    assert_true(r.rc < 0);
    assert_non_null(strstr(r.error, "exit status 3"));
    assert_non_null(strstr(r.error, "no vnet module here"));
    fake_reply_free(&r);
    char *l = list();
    assert_string_equal(l, "()");
    free(l);
    assert_null(stored("97"));
    get("97", &r);
    assert_int_equal(r.rc, -XEND_ENOENT);
    fake_reply_free(&r);
    assert_true(fake_host_log_contains("no vnet module here"));
}

static void test_a_script_past_its_timeout_fails_the_create(void **state)
{
    (void)state;
    fake_host_config_set("script-timeout-ms", "200");
    init_plugin("slow");
    struct fake_reply r;
    create("(vnet (id 3))", &r);
    assert_int_equal(r.rc, -XEND_ETIMEDOUT);
    assert_non_null(strstr(r.error, "timed out after 200 ms"));
    fake_reply_free(&r);
    assert_null(stored("3"));
}

static void test_a_missing_script_refuses_the_create_before_storing(void **state)
{
    (void)state;
    init_plugin("nosuch");
    struct fake_reply r;
    create("(vnet (id 3))", &r);
    assert_int_equal(r.rc, -XEND_ENOENT);
    assert_non_null(strstr(r.error, "script not found or not executable"));
    fake_reply_free(&r);
    assert_null(stored("3"));
}

static void test_get_of_an_unknown_vnet_is_invalid_vnet(void **state)
{
    (void)state;
    init_plugin(NULL);
    struct fake_reply r;
    get("42", &r);
    assert_int_equal(r.rc, -XEND_ENOENT);
    assert_string_equal(r.error, "invalid vnet:42");
    fake_reply_free(&r);
    del("42", &r);
    assert_int_equal(r.rc, -XEND_ENOENT);
    assert_string_equal(r.error, "invalid vnet:42");
    fake_reply_free(&r);
}

static void test_list_is_sorted_by_number(void **state)
{
    (void)state;
    init_plugin(NULL);
    struct fake_reply r;
    const char *ids[] = {"97", "10", "2", "100"};
    for (size_t i = 0; i < 4; i++) {
        char cfg[64];
        snprintf(cfg, sizeof(cfg), "(vnet (id %s))", ids[i]);
        create(cfg, &r);
        assert_int_equal(r.rc, 0);
        fake_reply_free(&r);
    }
    char *l = list();
    assert_string_equal(l, "(2 10 97 100)");
    free(l);
}

static void test_delete_runs_del_then_forgets_the_vnet(void **state)
{
    (void)state;
    init_plugin(NULL);
    struct fake_reply r;
    create("(vnet (id 7) (bridge br7))", &r);
    fake_reply_free(&r);
    unlink(script_logpath);
    del("7", &r);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.body, "0");
    fake_reply_free(&r);
    char *log = script_log();
    assert_string_equal(log,
                        expect_argv("vnet", "del", "id=7", "bridge=br7", "vnetif=vnetif7", NULL));
    free(log);
    assert_null(stored("7"));
    char *l = list();
    assert_string_equal(l, "()");
    free(l);
    assert_int_equal(fake_host_event_count("xend.vnet.delete"), 1);
    /* the id is free again */
    create("(vnet (id 7))", &r);
    assert_int_equal(r.rc, 0);
    fake_reply_free(&r);
}

static void test_a_failing_delete_keeps_the_vnet_and_can_be_retried(void **state)
{
    (void)state;
    init_plugin("faildel");
    struct fake_reply r;
    create("(vnet (id 7))", &r);
    assert_int_equal(r.rc, 0);
    fake_reply_free(&r);
    del("7", &r);
    assert_int_equal(r.rc, -XEND_EIO);
    assert_non_null(strstr(r.error, "bridge vnet7 still has ports"));
    fake_reply_free(&r);
    char *l = list();
    assert_string_equal(l, "(7)");
    free(l);
    char *rec = stored("7");
    assert_non_null(rec);
    free(rec);
    /* the operator fixes things; the retry succeeds */
    write_script("faildel", "exit 0");
    del("7", &r);
    assert_int_equal(r.rc, 0);
    fake_reply_free(&r);
    assert_null(stored("7"));
}

static bool file_has_block(void *arg)
{
    char *log = script_log();
    bool yes = strstr(log, (const char *)arg) != NULL;
    free(log);
    return yes;
}

static void test_requests_while_a_script_runs_see_a_consistent_vnet(void **state)
{
    (void)state;
    init_plugin("gate");
    char go[128];
    snprintf(go, sizeof(go), "%s/go", script_dir);

    /* a create in flight: stored, not listed, its id taken */
    struct fake_reply pending;
    const char *args[] = {"config=(vnet (id 9))", NULL};
    assert_int_equal(fake_host_request("POST", "/xend/vnet", "create", NULL, NULL, args, &pending),
                     0);
    assert_true(pending.deferred_pending);
    assert_true(fake_host_loop_until(file_has_block, "add\n", 5000));
    char *rec = stored("9");
    assert_non_null(rec);
    free(rec);
    char *l = list();
    assert_string_equal(l, "()");
    free(l);
    struct fake_reply r;
    get("9", &r);
    assert_int_equal(r.rc, -XEND_ENOENT);
    fake_reply_free(&r);
    create("(vnet (id 9))", &r);
    assert_int_equal(r.rc, -XEND_EEXIST);
    fake_reply_free(&r);

    FILE *f = fopen(go, "w");
    assert_non_null(f);
    fclose(f);
    assert_true(fake_host_request_wait(&pending, 5000));
    assert_int_equal(pending.rc, 0);
    fake_reply_free(&pending);

    /* a delete in flight: a second delete is refused as busy */
    unlink(go);
    const char *caps[] = {"id=9", NULL};
    const char *none[] = {NULL};
    assert_int_equal(
        fake_host_request("POST", "/xend/vnet/{id}", "delete", NULL, caps, none, &pending), 0);
    assert_true(pending.deferred_pending);
    fake_host_request("POST", "/xend/vnet/{id}", "delete", NULL, caps, none, &r);
    assert_int_equal(r.rc, -XEND_EBUSY);
    assert_non_null(strstr(r.error, "busy"));
    fake_reply_free(&r);
    l = list();
    assert_string_equal(l, "(9)");
    free(l);
    f = fopen(go, "w");
    fclose(f);
    assert_true(fake_host_request_wait(&pending, 5000));
    assert_int_equal(pending.rc, 0);
    fake_reply_free(&pending);
    l = list();
    assert_string_equal(l, "()");
    free(l);
}

static bool two_adds(void *arg)
{
    (void)arg;
    char *log = script_log();
    int n = 0;
    for (const char *p = log; (p = strstr(p, "\nadd\n")) != NULL; p++)
        n++;
    free(log);
    /* both scripts have logged, and the plugin has seen them exit */
    return n == 2 && fake_host_children_running() == 0;
}

static void test_xend_start_loads_stored_vnets_and_adds_them_again(void **state)
{
    (void)state;
    init_plugin(NULL);
    put_record("5", "(vnet (id 5) (bridge br5) (vnetif vnetif5) (security auth))");
    put_record("6", "(vnet (id 6))");
    put_record("8", "(vnet (id 9))");                /* wrong key: ignored */
    put_record("10", "(vnet (id 10) (security x))"); /* invalid: ignored */
    put_record("11", "(vnet (id 11) (bridge br5))"); /* clashes with 5: ignored */
    struct xend_err err = {0};
    assert_int_equal(fake_host_run_hooks(XEND_HOOK_XEND_START, NULL, 0, 0, &err), 0);
    assert_true(fake_host_loop_until(two_adds, NULL, 5000));

    char *l = list();
    assert_string_equal(l, "(5 6)");
    free(l);
    char *log = script_log();
    assert_non_null(strstr(log, expect_argv("vnet", "add", "id=5", "bridge=br5", "vnetif=vnetif5",
                                            "security=auth", NULL)));
    assert_non_null(strstr(log, expect_argv("vnet", "add", "id=6", "bridge=vnet6", "vnetif=vnetif6",
                                            "security=none", NULL)));
    free(log);
    assert_true(fake_host_log_contains("record of 8 holds vnet 9"));
    assert_true(fake_host_log_contains("invalid security: x"));
    /* an ignored record stays on disk for the operator */
    char *rec = stored("10");
    assert_non_null(rec);
    free(rec);
    /* a loaded vnet is a vnet like any other: its config is served, it can be deleted */
    struct fake_reply r;
    get("6", &r);
    assert_string_equal(r.body, "(vnet (id 6) (bridge vnet6) (vnetif vnetif6) (security none))");
    fake_reply_free(&r);
    del("5", &r);
    assert_int_equal(r.rc, 0);
    fake_reply_free(&r);
}

static void test_a_failing_add_at_start_keeps_the_stored_vnet(void **state)
{
    (void)state;
    init_plugin("fail");
    put_record("5", "(vnet (id 5))");
    struct xend_err err = {0};
    assert_int_equal(fake_host_run_hooks(XEND_HOOK_XEND_START, NULL, 0, 0, &err), 0);
    assert_true(fake_host_loop_until(file_has_block, "id=5\n", 5000));
    /* the result arrives on the loop after the output: wait for the log line */
    for (int i = 0; i < 500 && !fake_host_log_contains("vnet not configured"); i++)
        fake_host_loop_once(10);
    assert_true(fake_host_log_contains("vnet not configured"));
    char *l = list();
    assert_string_equal(l, "(5)");
    free(l);
    char *rec = stored("5");
    assert_non_null(rec);
    free(rec);
}

static void test_fini_answers_a_create_in_flight(void **state)
{
    (void)state;
    init_plugin("gate");
    struct fake_reply pending;
    const char *args[] = {"config=(vnet (id 9))", NULL};
    fake_host_request("POST", "/xend/vnet", "create", NULL, NULL, args, &pending);
    assert_true(pending.deferred_pending);
    fake_host_fini_plugin(&xend_plugin_desc);
    assert_false(pending.deferred_pending);
    assert_int_equal(pending.rc, -XEND_ECANCELED);
    assert_non_null(strstr(pending.error, "vnet 9 stays stored"));
    fake_reply_free(&pending);
    /* the record was written before the script: the next start sets the vnet up */
    char *rec = stored("9");
    assert_non_null(rec);
    free(rec);
    /* the script's late result is only logged */
    char go[128];
    snprintf(go, sizeof(go), "%s/go", script_dir);
    FILE *f = fopen(go, "w");
    fclose(f);
    for (int i = 0; i < 500 && !fake_host_log_contains("script ok"); i++)
        fake_host_loop_once(10);
    assert_true(fake_host_log_contains("script ok"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_init_registers_the_vnet_routes_and_the_start_hook,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_refuses_a_script_name_with_dotdot, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_create_fills_defaults_runs_add_and_stores_before_replying, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_keeps_given_names_and_unknown_children, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_create_refuses_invalid_configs_without_running_anything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_refuses_a_duplicate_id_bridge_or_vnetif, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_a_failing_add_script_replies_its_error_and_keeps_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_script_past_its_timeout_fails_the_create, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_missing_script_refuses_the_create_before_storing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_of_an_unknown_vnet_is_invalid_vnet, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_list_is_sorted_by_number, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_runs_del_then_forgets_the_vnet, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_failing_delete_keeps_the_vnet_and_can_be_retried,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_requests_while_a_script_runs_see_a_consistent_vnet,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_xend_start_loads_stored_vnets_and_adds_them_again,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_failing_add_at_start_keeps_the_stored_vnet, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fini_answers_a_create_in_flight, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
