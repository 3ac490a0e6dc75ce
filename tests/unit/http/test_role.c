/*
 * Roles (core/http/role.c, and their use by router.c, request.c and access.c): the table
 * of who may call what, the refusal a caller below a route's role gets (403, its message,
 * its audit line), the role of a route that declares none or comes from a plugin built
 * before ABI 1.5 (admin), a caller whose role was set by other means than the groups
 * (judged by the role alone), http->caller_role, and the 405 of a GET of a POST op.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/role.h"
#include "support.h"

static int calls;
static int seen_role, seen_acting;

static int h_ok(struct xend_request *req, void *arg)
{
    (void)arg;
    calls++;
    const struct xend_host_http *http = xend_http_host_table();
    seen_role = http->caller_role(req);
    seen_acting = http->caller_role(NULL);
    return 0;
}

static void test_the_role_table(void **state)
{
    (void)state;
    /* caller down, needed across: admin may all, operator its own and viewer's, viewer
     * only viewer's. */
    static const bool want[3][3] = {
        {true, true, true},
        {false, true, true},
        {false, false, true},
    };
    for (int c = 0; c < XEND_ROLE_COUNT; c++)
        for (int n = 0; n < XEND_ROLE_COUNT; n++)
            if (xend_role_allows(c, n) != want[c][n])
                fail_msg("%s calling a route of %s", xend_role_name(c), xend_role_name(n));
    /* Unknown values refuse: an unknown caller nothing, an unknown need reads as admin. */
    assert_false(xend_role_allows(3, XEND_ROLE_VIEWER));
    assert_false(xend_role_allows(-1, XEND_ROLE_VIEWER));
    assert_false(xend_role_allows(XEND_ROLE_OPERATOR, 7));
    assert_true(xend_role_allows(XEND_ROLE_ADMIN, 7));
    assert_int_equal(xend_role_parse("admin"), XEND_ROLE_ADMIN);
    assert_int_equal(xend_role_parse("operator"), XEND_ROLE_OPERATOR);
    assert_int_equal(xend_role_parse("viewer"), XEND_ROLE_VIEWER);
    assert_int_equal(xend_role_parse("root"), -XEND_EINVAL);
    assert_int_equal(xend_role_parse(NULL), -XEND_EINVAL);
    assert_string_equal(xend_role_name(9), "?");
    char msg[200];
    xend_role_refusal(XEND_ROLE_VIEWER, XEND_ROLE_OPERATOR, "destroy", "/xend/domain/vm1", msg,
                      sizeof(msg));
    assert_string_equal(msg, "Permission denied: role viewer may not destroy on /xend/domain/vm1; "
                             "needs role operator");
    /* xend acting on its own is admin; a handler's caller is put back after it. */
    assert_int_equal(xend_role_acting(), XEND_ROLE_ADMIN);
    assert_int_equal(xend_role_act_as(XEND_ROLE_VIEWER), XEND_ROLE_ADMIN);
    assert_int_equal(xend_role_act_as(XEND_ROLE_ADMIN), XEND_ROLE_VIEWER);
}

/* The 1.0-1.4 layout of struct xend_route: what a plugin built before roles hands over. */
struct route_1_4 {
    size_t size;
    uint32_t methods;
    const char *path;
    const char *op;
    xend_route_fn *fn;
    void *arg;
    uint32_t flags;
    const char *doc;
};

static int setup_routes(void **state)
{
    (void)state;
    capture_reset();
    calls = 0;
    test_who.verdict = XEND_HTTP_ADMITTED;
    test_who.role = XEND_ROLE_ADMIN;
    struct xend_route r[] = {
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET, .path = "/xend/domain", .fn = h_ok,
         .role = XEND_ROLE_VIEWER},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/xend/domain/{domain}",
         .op = "destroy", .fn = h_ok, .role = XEND_ROLE_OPERATOR},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/xend/domain/{domain}",
         .op = "mem_target_set", .fn = h_ok, .role = XEND_ROLE_OPERATOR},
        /* no role given: admin */
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET, .path = "/xend/node/log", .fn = h_ok},
    };
    for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
        assert_int_equal(xend_http_route_add(NULL, &r[i]), 0);
    /* A 1.4 plugin's route, with garbage where 1.5 put the role: it must read as admin. */
    struct {
        struct route_1_4 r;
        uint32_t junk;
    } old = {{sizeof(struct route_1_4), XEND_HTTP_GET, "/xend/old", NULL, h_ok, NULL, 0, NULL},
             XEND_ROLE_VIEWER};
    assert_int_equal(xend_http_route_add(NULL, (const struct xend_route *)&old.r), 0);
    return 0;
}

static int teardown_routes(void **state)
{
    (void)state;
    xend_http_routes_clear();
    test_who.verdict = XEND_HTTP_ADMITTED;
    test_who.role = XEND_ROLE_ADMIN;
    test_who.peer.via = XEND_PEER_PEERCRED;
    return 0;
}

static int get(const char *path, const char *query)
{
    capture_reset();
    xend_http_request_free(run_req("GET", path, query, NULL, NULL));
    return cap.status;
}

static int post(const char *path, const char *body)
{
    capture_reset();
    xend_http_request_free(run_req("POST", path, NULL, "application/x-www-form-urlencoded", body));
    return cap.status;
}

static void test_each_role_calls_what_its_role_reaches(void **state)
{
    (void)state;
    const int viewer[] = {200, 403, 403, 403};
    const int operator[] = {200, 200, 403, 403};
    const int admin[] = {200, 200, 200, 200};
    const int *want[] = {admin, operator, viewer };
    for (int r = 0; r < XEND_ROLE_COUNT; r++) {
        test_who.role = (uint8_t)r;
        int got[] = {get("/xend/domain", NULL), post("/xend/domain/vm1", "op=destroy"),
                     get("/xend/node/log", NULL), get("/xend/old", NULL)};
        for (int i = 0; i < 4; i++)
            if (got[i] != want[r][i])
                fail_msg("role %s, request %d: %d, want %d", xend_role_name(r), i, got[i],
                         want[r][i]);
    }
}

static void test_a_refusal_names_both_roles_and_leaves_an_audit_line(void **state)
{
    (void)state;
    test_who.role = XEND_ROLE_VIEWER;
    struct xend_route r = {XEND_ROUTE_INIT,    .methods = XEND_HTTP_POST,
                           .path = "/xend/vm", .op = "destroy",
                           .fn = h_ok,         .role = XEND_ROLE_OPERATOR};
    assert_int_equal(xend_http_route_add(NULL, &r), 0);
    assert_int_equal(post("/xend/vm", "op=destroy"), 403);
    assert_int_equal(calls, 0);
    assert_string_equal(cap.reason, "Permission denied: role viewer may not destroy on /xend/vm; "
                                    "needs role operator");
    assert_non_null(strstr(xend_buf_str(&cap.body), "xend.err"));
    assert_non_null(strstr(xend_buf_str(&cap.body), "Permission denied: role viewer"));
    assert_non_null(strstr(xend_buf_str(&test_log), "op=destroy status=403 role=viewer"));
    /* A refused GET gets its line too. */
    assert_int_equal(get("/xend/node/log", NULL), 403);
    assert_non_null(strstr(xend_buf_str(&test_log), "method=GET path=/xend/node/log op=- "
                                                    "status=403 role=viewer"));
    assert_string_equal(cap.reason, "Permission denied: role viewer may not GET on "
                                    "/xend/node/log; needs role admin");
}

static void test_a_role_set_by_other_means_is_judged_by_the_role_alone(void **state)
{
    (void)state;
    /* As a TLS listener would: a remote caller, admitted with a role of its own. */
    test_who.peer.via = XEND_PEER_REMOTE;
    test_who.verdict = XEND_HTTP_ADMITTED;
    test_who.role = XEND_ROLE_OPERATOR;
    assert_int_equal(get("/xend/domain", NULL), 200);
    assert_int_equal(get("/xend/node/log", NULL), 403);
    test_who.role = XEND_ROLE_VIEWER;
    assert_int_equal(post("/xend/domain/vm1", "op=destroy"), 403);
    assert_int_equal(get("/xend/old", NULL), 403);
}

static void test_caller_role_is_the_requests_and_acting_during_the_handler(void **state)
{
    (void)state;
    test_who.role = XEND_ROLE_OPERATOR;
    assert_int_equal(get("/xend/domain", NULL), 200);
    assert_int_equal(seen_role, XEND_ROLE_OPERATOR);
    assert_int_equal(seen_acting, XEND_ROLE_OPERATOR);
    assert_int_equal(xend_role_acting(), XEND_ROLE_ADMIN); /* put back after it */
    assert_int_equal(xend_http_host_table()->caller_role(NULL), XEND_ROLE_ADMIN);
}

static void test_a_get_of_a_post_op_is_405_with_allow(void **state)
{
    (void)state;
    struct xend_route r = {
        XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/xend/thing", .op = "poke",
        .fn = h_ok,      .role = XEND_ROLE_OPERATOR};
    assert_int_equal(xend_http_route_add(NULL, &r), 0);
    assert_int_equal(get("/xend/thing", "op=poke"), 405);
    assert_string_equal(cap.allow, "POST");
    assert_string_equal(cap.reason, "Method not allowed: op poke takes POST");
    assert_int_equal(calls, 0);
    assert_int_equal(post("/xend/thing", "op=poke"), 200);
    assert_int_equal(get("/xend/thing", "op=nosuch"), 501);
    assert_string_equal(cap.allow, "");
}

static void test_the_html_page_offers_only_the_forms_the_caller_may_use(void **state)
{
    (void)state;
    struct xend_route r = {XEND_ROUTE_INIT,
                           .methods = XEND_HTTP_POST,
                           .path = "/xend/domain",
                           .op = "create",
                           .fn = h_ok,
                           .doc = "create a domain. params: config",
                           .role = XEND_ROLE_OPERATOR};
    assert_int_equal(xend_http_route_add(NULL, &r), 0);
    for (int role = 0; role < XEND_ROLE_COUNT; role++) {
        test_who.role = (uint8_t)role;
        capture_reset();
        struct xend_request *req =
            mkreq("GET", "/xend/domain", NULL, NULL, "Mozilla/5.0", "text/html");
        xend_http_request_run(req, "", 0);
        xend_http_request_free(req);
        assert_int_equal(cap.status, 200);
        bool has_form = strstr(xend_buf_str(&cap.body), "value=\"create\"") != NULL;
        if (has_form != (role != XEND_ROLE_VIEWER))
            fail_msg("role %s: create form %s", xend_role_name(role),
                     has_form ? "shown" : "missing");
    }
}

static void test_an_unknown_role_is_refused_at_registration(void **state)
{
    (void)state;
    struct xend_route r = {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET, .path = "/xend/bad",
                           .fn = h_ok, .role = 3};
    assert_int_equal(xend_http_route_add(NULL, &r), -XEND_EINVAL);
    assert_non_null(strstr(xend_buf_str(&test_log), "unknown route role 3"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_role_table),
        cmocka_unit_test_setup_teardown(test_each_role_calls_what_its_role_reaches, setup_routes,
                                        teardown_routes),
        cmocka_unit_test_setup_teardown(test_a_refusal_names_both_roles_and_leaves_an_audit_line,
                                        setup_routes, teardown_routes),
        cmocka_unit_test_setup_teardown(test_a_role_set_by_other_means_is_judged_by_the_role_alone,
                                        setup_routes, teardown_routes),
        cmocka_unit_test_setup_teardown(
            test_caller_role_is_the_requests_and_acting_during_the_handler, setup_routes,
            teardown_routes),
        cmocka_unit_test_setup_teardown(test_a_get_of_a_post_op_is_405_with_allow, setup_routes,
                                        teardown_routes),
        cmocka_unit_test_setup_teardown(test_the_html_page_offers_only_the_forms_the_caller_may_use,
                                        setup_routes, teardown_routes),
        cmocka_unit_test_setup_teardown(test_an_unknown_role_is_refused_at_registration,
                                        setup_routes, teardown_routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
