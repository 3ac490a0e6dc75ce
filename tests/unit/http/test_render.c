/* Negotiation, the status table, the JSON mapping and the HTML pages of core/http. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support.h"
#include "sxp.h"

static void test_negotiation_follows_protocol(void **state)
{
    (void)state;
    /* The xm client sends neither header. */
    assert_int_equal(xend_http_negotiate(NULL, NULL), XEND_HTTP_FMT_SXP);
    assert_int_equal(xend_http_negotiate("Mozilla/5.0", NULL), XEND_HTTP_FMT_SXP);
    assert_int_equal(xend_http_negotiate(NULL, "text/html"), XEND_HTTP_FMT_SXP);
    assert_int_equal(xend_http_negotiate("Mozilla/5.0", "text/html,application/sxp;q=0.9"),
                     XEND_HTTP_FMT_SXP);
    assert_int_equal(xend_http_negotiate("Mozilla/5.0", "text/html,application/xhtml+xml,*/*"),
                     XEND_HTTP_FMT_HTML);
    assert_int_equal(xend_http_negotiate("x", "application/json"), XEND_HTTP_FMT_JSON);
    assert_int_equal(xend_http_negotiate(NULL, "application/json"), XEND_HTTP_FMT_JSON);
    assert_int_equal(xend_http_negotiate("x", "application/sxp, application/json"),
                     XEND_HTTP_FMT_SXP);
    /* curl: a program that accepts anything gets SXP (docs/http.md). */
    assert_int_equal(xend_http_negotiate("curl/7.88.1", "*/*"), XEND_HTTP_FMT_SXP);
    /* Substrings are not media types. */
    assert_int_equal(xend_http_negotiate("x", "application/jsonx, text/htmlx"), XEND_HTTP_FMT_SXP);
}

static void test_status_table(void **state)
{
    (void)state;
    assert_int_equal(xend_http_status_for(0), 200);
    assert_int_equal(xend_http_status_for(-XEND_EINVAL), 200);
    assert_int_equal(xend_http_status_for(-XEND_ENOENT), 404); /* unknown console, vnet, device */
    assert_int_equal(xend_http_status_for(-XEND_EBACKEND), 200);
    assert_int_equal(xend_http_status_for(-XEND_ELIMIT), 413);
    assert_string_equal(xend_http_reason(201), "Created");
    assert_string_equal(xend_http_reason(202), "Accepted");
}

static char *json_of(const char *sxp)
{
    struct xend_sxp *v = NULL;
    char msg[128];
    assert_int_equal(xend_sxp_parse(sxp, strlen(sxp), NULL, &v, msg, sizeof(msg)), 0);
    struct xend_buf b = XEND_BUF_INIT;
    xend_http_json(v, &b);
    xend_sxp_free(v);
    return xend_buf_steal(&b);
}

static void expect_json(const char *sxp, const char *json)
{
    char *got = json_of(sxp);
    assert_string_equal(got, json);
    free(got);
}

static void test_json_atoms_and_lists(void **state)
{
    (void)state;
    expect_json("5", "5");
    expect_json("-12.5e3", "-12.5e3");
    expect_json("007", "\"007\"");
    expect_json("1.", "\"1.\"");
    expect_json("vm1", "\"vm1\"");
    expect_json("'say \"hi\"\\n'", "\"say \\\"hi\\\"\\n\"");
    expect_json("()", "[]");
    expect_json("(Domain-0 vm1)", "[\"Domain-0\", \"vm1\"]");
    expect_json("(Domain-0)", "[\"Domain-0\"]");
    expect_json("(ls node domain)", "[\"ls\", \"node\", \"domain\"]");
    expect_json("(9601 9602)", "[9601, 9602]");
}

static void test_json_keyed_lists_become_objects(void **state)
{
    (void)state;
    expect_json("(domain (id 5) (name vm1) (cpu_time 12.5) (devices) "
                "(console (status listening) (console_port 9605)) (config (vm (name vm1))))",
                "{\"domain\": {\"id\": 5, \"name\": \"vm1\", \"cpu_time\": 12.5, "
                "\"devices\": null, \"console\": {\"status\": \"listening\", "
                "\"console_port\": 9605}, \"config\": {\"vm\": {\"name\": \"vm1\"}}}}");
    /* Repeated keys cannot be an object: the children stay an array. */
    expect_json("(devices (vbd (idx 0)) (vbd (idx 1)))",
                "[\"devices\", {\"vbd\": {\"idx\": 0}}, {\"vbd\": {\"idx\": 1}}]");
    /* (key v1 v2) is an array of values. */
    expect_json("(x (connected 127.0.0.1 40312))",
                "{\"x\": {\"connected\": [\"127.0.0.1\", 40312]}}");
    expect_json("((a 1) (b 2))", "[[\"a\", 1], [\"b\", 2]]");
}

static void test_html_escape(void **state)
{
    (void)state;
    struct xend_buf b = XEND_BUF_INIT;
    const char *s = "<a href=\"x\">'&'</a>";
    xend_http_html_escape(s, strlen(s), &b);
    assert_string_equal(xend_buf_str(&b), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    xend_buf_free(&b);
}

/* ---- HTML pages through the request path ---- */

static int h_value(struct xend_request *req, void *arg)
{
    const struct xend_host_http *http = xend_http_host_table();
    struct xend_sxp *v = NULL;
    char msg[64];
    assert_int_equal(xend_sxp_parse(arg, strlen(arg), NULL, &v, msg, sizeof(msg)), 0);
    http->reply_take(req, 0, v);
    return 0;
}

static const char *html_get(const char *path, const char *sxp, struct xend_plugin *owner)
{
    struct xend_route r = {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET, .path = path, .fn = h_value,
                           .arg = (void *)sxp};
    assert_int_equal(xend_http_route_add(owner, &r), 0);
    struct xend_request *req = mkreq("GET", path, NULL, NULL, "Mozilla/5.0", "text/html");
    xend_http_request_run(req, "", 0);
    xend_http_request_free(req);
    assert_int_equal(cap.status, 200);
    assert_string_equal(cap.ctype, "text/html; charset=utf-8");
    return xend_buf_str(&cap.body);
}

static int cleanup(void **state)
{
    (void)state;
    xend_http_routes_clear();
    capture_reset();
    return 0;
}

static void test_html_directory_lists_links_to_children(void **state)
{
    (void)state;
    const char *page = html_get("/xend/domain", "(Domain-0 'a b')", NULL);
    assert_non_null(strstr(page, "<html><head><title>"));
    assert_non_null(strstr(page, "<h1>/<a href=\"/xend/\">xend</a>/<a href=\"/xend/domain/\">"
                                 "domain</a>/</h1>"));
    assert_non_null(strstr(page, "<li><a href=\"/xend/domain/Domain-0\">Domain-0</a></li>"));
    assert_non_null(strstr(page, "<li><a href=\"/xend/domain/a%20b\">a b</a></li>"));
    assert_non_null(strstr(page, "</body></html>"));
}

static void test_html_value_is_escaped_pretty_sxp(void **state)
{
    (void)state;
    const char *page = html_get("/xend/thing", "(thing (name '<script>alert(1)</script>'))", NULL);
    assert_null(strstr(page, "<script>"));
    assert_non_null(strstr(page, "<pre>"));
    assert_non_null(strstr(page, "&lt;script&gt;"));
}

static int h_noop(struct xend_request *req, void *arg)
{
    (void)req;
    (void)arg;
    return 0;
}

static void test_html_forms_from_route_docs(void **state)
{
    (void)state;
    struct xend_route shut = {
        XEND_ROUTE_INIT,    .methods = XEND_HTTP_POST,
        .path = "/xend/vm", .op = "shutdown",
        .fn = h_noop,       .doc = "Shut the domain down. params: reason:poweroff|reboot"};
    struct xend_route create = {XEND_ROUTE_INIT,    .methods = XEND_HTTP_POST,
                                .path = "/xend/vm", .op = "create",
                                .fn = h_noop,       .doc = "params: config:file name"};
    assert_int_equal(xend_http_route_add(NULL, &shut), 0);
    assert_int_equal(xend_http_route_add(NULL, &create), 0);
    const char *page = html_get("/xend/vm", "(vm)", NULL);
    assert_non_null(strstr(page, "<form method=\"post\" action=\"/xend/vm\">"));
    assert_non_null(strstr(page, "<input type=\"hidden\" name=\"op\" value=\"shutdown\">"));
    assert_non_null(strstr(page, "<p>Shut the domain down. </p>"));
    assert_non_null(strstr(page, "<input type=\"radio\" name=\"reason\" value=\"poweroff\" "
                                 "checked>"));
    assert_non_null(strstr(page, "<input type=\"radio\" name=\"reason\" value=\"reboot\">"));
    assert_non_null(strstr(page, "<form method=\"post\" action=\"/xend/vm\" "
                                 "enctype=\"multipart/form-data\">"));
    assert_non_null(strstr(page, "<input type=\"file\" name=\"config\">"));
    assert_non_null(strstr(page, "<input type=\"text\" name=\"name\">"));
}

static void test_redirect_targets_stay_on_this_server(void **state)
{
    (void)state;
    assert_true(xend_http_local_path("/"));
    assert_true(xend_http_local_path("/ui/domain/vm1"));
    assert_true(xend_http_local_path("/xend/domain/a%2Fb?flash=x"));
    assert_true(xend_http_local_path("/ui"));
    assert_false(xend_http_local_path(NULL));
    assert_false(xend_http_local_path(""));
    assert_false(xend_http_local_path("//evil.example/ui"));
    assert_false(xend_http_local_path("/\\evil.example"));
    assert_false(xend_http_local_path("http://evil.example/"));
    assert_false(xend_http_local_path("javascript:alert(1)"));
    assert_false(xend_http_local_path("/ui/x\r\nSet-Cookie: a=b"));
    assert_false(xend_http_local_path("/uix"));
    assert_false(xend_http_local_path("/ui//evil"));
    assert_false(xend_http_local_path("/elsewhere"));
}

static int h_zero(struct xend_request *req, void *arg)
{
    (void)arg;
    xend_http_host_table()->reply_take(req, 0, xend_sxp_atom("0"));
    return 0;
}

static const char *location(void)
{
    return cap.location;
}

static void test_form_post_is_answered_303(void **state)
{
    (void)state;
    struct xend_route r = {XEND_ROUTE_INIT,    .methods = XEND_HTTP_POST,
                           .path = "/xend/vm", .op = "pause",
                           .fn = h_zero,       .role = XEND_ROLE_VIEWER};
    assert_int_equal(xend_http_route_add(NULL, &r), 0);
    /* a browser with the form's token and a back path */
    struct xend_request *req = mkreq("POST", "/xend/vm", NULL, "application/x-www-form-urlencoded",
                                     "Mozilla/5.0", "text/html");
    const char *body = "op=pause&xend_csrf=t&xend_back=%2Fui%2Fdomain%2Fvm";
    xend_http_request_run(req, body, strlen(body));
    xend_http_request_free(req);
    assert_int_equal(cap.status, 303);
    assert_string_equal(location(), "/ui/domain/vm?flash=pause%3A%20done");
    /* another host as back: the path posted to instead */
    capture_reset();
    req = mkreq("POST", "/xend/vm", NULL, "application/x-www-form-urlencoded", "Mozilla/5.0",
                "text/html");
    body = "op=pause&xend_csrf=t&xend_back=%2F%2Fevil.example%2F";
    xend_http_request_run(req, body, strlen(body));
    xend_http_request_free(req);
    assert_int_equal(cap.status, 303);
    assert_string_equal(location(), "/xend/vm?flash=pause%3A%20done");
    /* no token (a script that asks for HTML): its page, as before */
    capture_reset();
    req = mkreq("POST", "/xend/vm", NULL, "application/x-www-form-urlencoded", "Mozilla/5.0",
                "text/html");
    xend_http_request_run(req, "op=pause", 8);
    xend_http_request_free(req);
    assert_int_equal(cap.status, 200);
    /* a program with the token in its body: SXP, as before */
    capture_reset();
    req = mkreq("POST", "/xend/vm", NULL, "application/x-www-form-urlencoded", NULL, NULL);
    body = "op=pause&xend_csrf=t";
    xend_http_request_run(req, body, strlen(body));
    xend_http_request_free(req);
    assert_int_equal(cap.status, 200);
    assert_string_equal(xend_buf_str(&cap.body), "0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_negotiation_follows_protocol),
        cmocka_unit_test(test_status_table),
        cmocka_unit_test(test_json_atoms_and_lists),
        cmocka_unit_test(test_json_keyed_lists_become_objects),
        cmocka_unit_test(test_html_escape),
        cmocka_unit_test_teardown(test_html_directory_lists_links_to_children, cleanup),
        cmocka_unit_test_teardown(test_html_value_is_escaped_pretty_sxp, cleanup),
        cmocka_unit_test_teardown(test_html_forms_from_route_docs, cleanup),
        cmocka_unit_test(test_redirect_targets_stay_on_this_server),
        cmocka_unit_test_teardown(test_form_post_is_answered_303, cleanup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
