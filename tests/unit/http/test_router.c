/* Router, dispatch and the handler API of core/http, through a fake transport. */
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

static const struct xend_host_http *http;
static struct xend_plugin plug_a = {"alpha"}, plug_b = {"beta"};
static struct xend_domain *const dom_vm1 = (struct xend_domain *)0x1234;

/* vm2 is still coming in: only a route that takes such a domain finds it. */
static struct xend_domain *const dom_vm2 = (struct xend_domain *)0x5678;

static struct xend_domain *resolve(const char *name, bool incoming)
{
    if (incoming && strcmp(name, "vm2") == 0)
        return dom_vm2;
    return strcmp(name, "vm1") == 0 || strcmp(name, "5") == 0 ? dom_vm1 : NULL;
}

/* Handlers record what they saw. */
static struct {
    int calls;
    struct xend_domain *dom;
    char cap[64];
    char arg[64];
    const char *tag;
} seen;

static int h_tag(struct xend_request *req, void *arg)
{
    seen.calls++;
    seen.tag = arg;
    seen.dom = http->domain(req);
    const char *c = http->capture(req, "domain");
    if (c == NULL)
        c = http->capture(req, "id");
    snprintf(seen.cap, sizeof(seen.cap), "%s", c ? c : "");
    http->reply_take(req, 0, xend_sxp_atom(arg ? arg : "ok"));
    return 0;
}

static int h_fail(struct xend_request *req, void *arg)
{
    return xend_err_set(http->err(req), (int)(intptr_t)arg, "it broke: %s", "badly");
}

static void add(struct xend_plugin *p, uint32_t m, const char *path, const char *op,
                xend_route_fn *fn, void *arg, uint32_t flags)
{
    struct xend_route r = {XEND_ROUTE_INIT, .methods = m, .path = path,  .op = op,
                           .fn = fn,        .arg = arg,   .flags = flags};
    assert_int_equal(http->route_add(p, &r), 0);
}

static int setup(void **state)
{
    (void)state;
    http = xend_http_host_table();
    capture_reset();
    memset(&seen, 0, sizeof(seen));
    xend_http_set_domain_resolver(resolve);
    assert_int_equal(xend_http_register_core_routes(), 0);
    add(&plug_a, XEND_HTTP_GET, "/xend/domain", NULL, h_tag, "list", 0);
    add(&plug_a, XEND_HTTP_POST, "/xend/domain", "create", h_tag, "create", 0);
    add(&plug_a, XEND_HTTP_GET, "/xend/domain/{domain}", NULL, h_tag, "info", XEND_ROUTE_DOMAIN);
    add(&plug_a, XEND_HTTP_POST, "/xend/domain/{domain}", "pause", h_tag, "pause",
        XEND_ROUTE_DOMAIN);
    add(&plug_b, XEND_HTTP_GET | XEND_HTTP_POST, "/xend/console/{id}", NULL, h_tag, "console", 0);
    add(&plug_b, XEND_HTTP_POST, "/xend/console/{id}", "disconnect", h_tag, "disconnect", 0);
    add(&plug_b, XEND_HTTP_GET, "/xend/node/{x}", NULL, h_tag, "node-any", 0);
    add(&plug_b, XEND_HTTP_GET, "/xend/node/dmesg", NULL, h_tag, "dmesg", 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    xend_http_routes_clear();
    capture_reset();
    return 0;
}

static void test_get_root_answers_ls_form(void **state)
{
    (void)state;
    struct xend_request *req = run_req("GET", "/xend", NULL, NULL, NULL);
    assert_int_equal(cap.status, 200);
    assert_string_equal(cap.ctype, "application/sxp");
    assert_string_equal(xend_buf_str(&cap.body), "(ls node domain console event device vnet)");
    xend_http_request_free(req);
}

static void test_trailing_slash_is_the_same_path(void **state)
{
    (void)state;
    struct xend_request *req = run_req("GET", "/xend/domain/", NULL, NULL, NULL);
    assert_int_equal(cap.status, 200);
    assert_string_equal(seen.tag, "list");
    xend_http_request_free(req);
    req = run_req("POST", "/xend/domain", NULL, "application/x-www-form-urlencoded", "op=create");
    assert_string_equal(seen.tag, "create");
    xend_http_request_free(req);
}

static void test_post_without_op_is_406(void **state)
{
    (void)state;
    struct xend_request *req =
        run_req("POST", "/xend/domain", NULL, "application/x-www-form-urlencoded", "config=x");
    assert_int_equal(cap.status, 406);
    assert_string_equal(cap.reason, "Invalid request");
    assert_int_equal(seen.calls, 0);
    xend_http_request_free(req);
}

static void test_op_given_twice_is_406_even_split_between_url_and_body(void **state)
{
    (void)state;
    struct xend_request *req = run_req("POST", "/xend/domain", "op=create",
                                       "application/x-www-form-urlencoded", "op=create");
    assert_int_equal(cap.status, 406);
    assert_int_equal(seen.calls, 0);
    xend_http_request_free(req);
}

static void test_unknown_op_is_501_plain_text(void **state)
{
    (void)state;
    struct xend_request *req =
        run_req("POST", "/xend/domain", NULL, "application/x-www-form-urlencoded", "op=frobnicate");
    assert_int_equal(cap.status, 501);
    assert_string_equal(cap.ctype, "text/plain");
    assert_string_equal(xend_buf_str(&cap.body), "Operation not implemented: frobnicate");
    assert_string_equal(cap.reason, "Operation not implemented: frobnicate");
    xend_http_request_free(req);
}

static void test_unknown_path_is_404_naming_it(void **state)
{
    (void)state;
    struct xend_request *req = run_req("GET", "/xend/nothing/here", NULL, NULL, NULL);
    assert_int_equal(cap.status, 404);
    assert_string_equal(cap.reason, "Not found /xend/nothing/here");
    xend_http_request_free(req);
}

static void test_unknown_domain_is_404_invalid_domain_before_op_checks(void **state)
{
    (void)state;
    struct xend_request *req = run_req("POST", "/xend/domain/nosuch", NULL, NULL, NULL);
    assert_int_equal(cap.status, 404);
    assert_string_equal(cap.reason, "invalid domain:nosuch");
    assert_int_equal(seen.calls, 0);
    xend_http_request_free(req);
}

static void test_domain_route_gets_resolved_domain_and_capture(void **state)
{
    (void)state;
    struct xend_request *req =
        run_req("POST", "/xend/domain/vm1", NULL, "application/x-www-form-urlencoded", "op=pause");
    assert_int_equal(cap.status, 200);
    assert_string_equal(seen.tag, "pause");
    assert_ptr_equal(seen.dom, dom_vm1);
    assert_string_equal(seen.cap, "vm1");
    xend_http_request_free(req);
}

static void test_incoming_domain_found_only_by_a_core_route_that_takes_it(void **state)
{
    (void)state;
    add(NULL, XEND_HTTP_POST, "/xend/domain/{domain}", "cancel", h_tag, "cancel",
        XEND_ROUTE_DOMAIN | XEND_ROUTE_CORE_INCOMING);
    struct xend_request *req =
        run_req("POST", "/xend/domain/vm2", NULL, "application/x-www-form-urlencoded", "op=cancel");
    assert_int_equal(cap.status, 200);
    assert_ptr_equal(seen.dom, dom_vm2);
    xend_http_request_free(req);
    req =
        run_req("POST", "/xend/domain/vm2", NULL, "application/x-www-form-urlencoded", "op=pause");
    assert_int_equal(cap.status, 404);
    xend_http_request_free(req);
    /* A plugin may not register it. */
    struct xend_route r = {XEND_ROUTE_INIT,
                           .methods = XEND_HTTP_POST,
                           .path = "/xend/domain/{domain}",
                           .op = "peek",
                           .fn = h_tag,
                           .flags = XEND_ROUTE_DOMAIN | XEND_ROUTE_CORE_INCOMING};
    assert_int_equal(http->route_add(&plug_a, &r), -XEND_EINVAL);
}

static void test_capture_is_percent_decoded(void **state)
{
    (void)state;
    struct xend_request *req = run_req("GET", "/xend/console/96%301", NULL, NULL, NULL);
    assert_string_equal(seen.tag, "console");
    assert_string_equal(seen.cap, "9601");
    xend_http_request_free(req);
}

static void test_literal_segment_beats_capture(void **state)
{
    (void)state;
    struct xend_request *req = run_req("GET", "/xend/node/dmesg", NULL, NULL, NULL);
    assert_string_equal(seen.tag, "dmesg");
    xend_http_request_free(req);
    req = run_req("GET", "/xend/node/log", NULL, NULL, NULL);
    assert_string_equal(seen.tag, "node-any");
    xend_http_request_free(req);
}

static void test_get_with_op_dispatches_on_op(void **state)
{
    (void)state;
    struct xend_request *req = run_req("GET", "/xend/console/9601", "op=disconnect", NULL, NULL);
    /* disconnect is registered for POST only: a GET of it is refused, and told the method
     * that serves it (GET never changes state). */
    assert_int_equal(cap.status, 405);
    assert_non_null(strstr(cap.reason, "op disconnect takes POST"));
    xend_http_request_free(req);
    req = run_req("GET", "/xend/console/9601", "op=nosuch", NULL, NULL);
    assert_int_equal(cap.status, 501); /* an op nobody serves stays 2.0's 501 */
    xend_http_request_free(req);
}

static void test_malformed_escape_in_path_is_400(void **state)
{
    (void)state;
    struct xend_request *req = run_req("GET", "/xend/console/%zz", NULL, NULL, NULL);
    assert_int_equal(cap.status, 400);
    assert_int_equal(seen.calls, 0);
    xend_http_request_free(req);
}

static void test_conflicting_route_refused_naming_both_plugins(void **state)
{
    (void)state;
    struct xend_route r = {XEND_ROUTE_INIT, .methods = XEND_HTTP_POST | XEND_HTTP_GET,
                           .path = "/xend/domain/{dom}/", .op = "pause", .fn = h_tag};
    assert_int_equal(http->route_add(&plug_b, &r), -XEND_EEXIST);
    const char *log = xend_buf_str(&test_log);
    assert_non_null(strstr(log, "route conflict"));
    assert_non_null(strstr(log, "plugin=beta"));
    assert_non_null(strstr(log, "registered_by=alpha"));
    /* Another op on the same path is fine. */
    r.op = "unpause";
    assert_int_equal(http->route_add(&plug_b, &r), 0);
}

static void test_bad_routes_are_einval(void **state)
{
    (void)state;
    struct xend_route r = {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET, .path = "/xend/x",
                           .fn = h_tag, .flags = 1u << 7};
    assert_int_equal(http->route_add(&plug_a, &r), -XEND_EINVAL);
    r.flags = XEND_ROUTE_DOMAIN; /* no {domain} in the path */
    assert_int_equal(http->route_add(&plug_a, &r), -XEND_EINVAL);
    r.flags = 0;
    r.path = "xend/x";
    assert_int_equal(http->route_add(&plug_a, &r), -XEND_EINVAL);
    r.path = "/xend/{a}/{a}";
    assert_int_equal(http->route_add(&plug_a, &r), -XEND_EINVAL);
    r.path = "/xend//x";
    assert_int_equal(http->route_add(&plug_a, &r), -XEND_EINVAL);
    r.path = "/xend/x";
    r.methods = 1u << 5;
    assert_int_equal(http->route_add(&plug_a, &r), -XEND_EINVAL);
    r.methods = XEND_HTTP_GET;
    r.size = offsetof(struct xend_route, op);
    assert_int_equal(http->route_add(&plug_a, &r), -XEND_EINVAL);
}

static void test_route_remove_and_remove_owner(void **state)
{
    (void)state;
    struct xend_route r = {XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/xend/domain",
                           .op = "create", .fn = h_tag};
    assert_int_equal(http->route_remove(&plug_b, &r), -XEND_ENOENT); /* not beta's */
    assert_int_equal(http->route_remove(&plug_a, &r), 0);
    struct xend_request *req = run_req("POST", "/xend/domain", "op=create", NULL, NULL);
    assert_int_equal(cap.status, 501);
    xend_http_request_free(req);

    xend_http_routes_remove_owner(&plug_b);
    req = run_req("GET", "/xend/console/1", NULL, NULL, NULL);
    assert_int_equal(cap.status, 404);
    xend_http_request_free(req);
}

/* The first route registered for a pattern stands for it in matching: when it goes, the
 * pattern's other routes must still be found, and a route added again must join them. */
static void test_removing_the_first_route_of_a_pattern_keeps_its_others(void **state)
{
    (void)state;
    struct xend_route info = {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET,
                              .path = "/xend/domain/{domain}", .fn = h_tag,
                              .flags = XEND_ROUTE_DOMAIN};
    assert_int_equal(http->route_remove(&plug_a, &info), 0);
    struct xend_request *req = run_req("POST", "/xend/domain/vm1", "op=pause", NULL, NULL);
    assert_int_equal(cap.status, 200);
    assert_string_equal(seen.tag, "pause");
    xend_http_request_free(req);
    req = run_req("GET", "/xend/domain/nosuch", NULL, NULL, NULL);
    assert_int_equal(cap.status, 404); /* the pattern still names a domain */
    xend_http_request_free(req);

    add(&plug_b, XEND_HTTP_GET, "/xend/domain/{domain}", NULL, h_tag, "info-again",
        XEND_ROUTE_DOMAIN);
    req = run_req("GET", "/xend/domain/vm1", NULL, NULL, NULL);
    assert_string_equal(seen.tag, "info-again");
    xend_http_request_free(req);
    /* and a conflict with the pattern's routes is still seen */
    struct xend_route dup = {
        XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/xend/domain/{domain}", .op = "pause",
        .fn = h_tag,     .flags = XEND_ROUTE_DOMAIN};
    assert_int_equal(http->route_add(&plug_b, &dup), -XEND_EEXIST);
}

/* Whether a pattern names a domain is counted over its routes: once the last route that
 * takes a domain goes, the pattern's others run without resolving one. */
static void test_a_pattern_left_without_domain_routes_resolves_none(void **state)
{
    (void)state;
    add(&plug_b, XEND_HTTP_GET, "/xend/domain/{domain}", "peek", h_tag, "peek", 0);
    struct xend_request *req = run_req("GET", "/xend/domain/nosuch", "op=peek", NULL, NULL);
    assert_int_equal(cap.status, 404);
    assert_string_equal(cap.reason, "invalid domain:nosuch");
    xend_http_request_free(req);

    xend_http_routes_remove_owner(&plug_a); /* info and pause, the domain routes */
    req = run_req("GET", "/xend/domain/nosuch", "op=peek", NULL, NULL);
    assert_int_equal(cap.status, 200);
    assert_string_equal(seen.tag, "peek");
    assert_null(seen.dom);
    assert_string_equal(seen.cap, "nosuch");
    xend_http_request_free(req);
}

static void test_handler_error_is_200_xend_err(void **state)
{
    (void)state;
    add(&plug_a, XEND_HTTP_POST, "/xend/fail", "einval", h_fail, (void *)(intptr_t)XEND_EINVAL, 0);
    add(&plug_a, XEND_HTTP_POST, "/xend/fail", "elimit", h_fail, (void *)(intptr_t)XEND_ELIMIT, 0);
    struct xend_request *req = run_req("POST", "/xend/fail", "op=einval", NULL, NULL);
    assert_int_equal(cap.status, 200);
    assert_string_equal(cap.ctype, "application/sxp");
    assert_string_equal(xend_buf_str(&cap.body), "(xend.err 'it broke: badly')");
    xend_http_request_free(req);
    req = run_req("POST", "/xend/fail", "op=elimit", NULL, NULL);
    assert_int_equal(cap.status, 413);
    xend_http_request_free(req);
}

static void test_error_forms_follow_negotiation(void **state)
{
    (void)state;
    add(&plug_a, XEND_HTTP_GET, "/xend/fail", NULL, h_fail, (void *)(intptr_t)XEND_EINVAL, 0);
    struct xend_request *req = mkreq("GET", "/xend/fail", NULL, NULL, "x", "application/json");
    xend_http_request_run(req, "", 0);
    assert_string_equal(cap.ctype, "application/json");
    assert_string_equal(xend_buf_str(&cap.body), "{\"error\": \"it broke: badly\"}");
    xend_http_request_free(req);
    req = mkreq("GET", "/xend/fail", NULL, NULL, "Mozilla/5.0", "text/html");
    xend_http_request_run(req, "", 0);
    /* A browser gets a page: the message, the status, a way back (html.c). */
    assert_string_equal(cap.ctype, "text/html; charset=utf-8");
    assert_non_null(strstr(xend_buf_str(&cap.body), "role=\"alert\">it broke: badly</p>"));
    assert_non_null(strstr(xend_buf_str(&cap.body), "<a href=\"/\">Overview</a>"));
    xend_http_request_free(req);
}

/* A reply given as printed SXP reaches each kind of client as the same value given as a
 * tree would: the text itself for programs, the parsed value rendered for JSON and HTML. */
static const char printed_info[] = "(domain (id 7) (name 'my vm') (cpu_time 1.5) (devices))";

static int h_printed(struct xend_request *req, void *arg)
{
    struct xend_buf b = XEND_BUF_INIT;
    xend_buf_puts(&b, arg ? printed_info : "(domain (id");
    xend_http_reply_sxp_text(req, 0, &b);
    assert_int_equal(b.len, 0); /* taken */
    return 0;
}

static int h_tree(struct xend_request *req, void *arg)
{
    (void)arg;
    struct xend_sxp *v = NULL;
    assert_int_equal(xend_sxp_parse(printed_info, strlen(printed_info), NULL, &v, NULL, 0), 0);
    http->reply_take(req, 0, v);
    return 0;
}

static void reply_of(const char *path, const char *ua, const char *accept, struct xend_buf *out,
                     char *ctype, size_t ctype_len)
{
    capture_reset();
    struct xend_request *req = mkreq("GET", path, NULL, NULL, ua, accept);
    xend_http_request_run(req, "", 0);
    xend_buf_reset(out);
    xend_buf_append(out, cap.body.data ? cap.body.data : "", cap.body.len);
    snprintf(ctype, ctype_len, "%s", cap.ctype);
    xend_http_request_free(req);
}

static void test_printed_sxp_replies_render_like_trees(void **state)
{
    (void)state;
    add(&plug_a, XEND_HTTP_GET, "/xend/printed", NULL, h_printed, (void *)1, 0);
    add(&plug_a, XEND_HTTP_GET, "/xend/tree", NULL, h_tree, NULL, 0);
    static const struct {
        const char *ua, *accept;
    } clients[] = {{NULL, NULL}, {"x", "application/json"}, {"Mozilla/5.0", "text/html"}};
    struct xend_buf a = XEND_BUF_INIT, b = XEND_BUF_INIT;
    char ta[128], tb[128];
    for (size_t i = 0; i < sizeof(clients) / sizeof(clients[0]); i++) {
        reply_of("/xend/printed", clients[i].ua, clients[i].accept, &a, ta, sizeof(ta));
        reply_of("/xend/tree", clients[i].ua, clients[i].accept, &b, tb, sizeof(tb));
        assert_string_equal(ta, tb);
        /* the HTML page names its path: compare what follows it */
        const char *pa = strstr(xend_buf_str(&a), "</h1>"), *pb = strstr(xend_buf_str(&b), "</h1>");
        assert_string_equal(pa ? pa : xend_buf_str(&a), pb ? pb : xend_buf_str(&b));
        assert_int_equal(cap.status, 200);
    }
    reply_of("/xend/printed", NULL, NULL, &a, ta, sizeof(ta));
    assert_string_equal(xend_buf_str(&a), printed_info);
    assert_string_equal(ta, "application/sxp");
    xend_buf_free(&a);
    xend_buf_free(&b);
}

/* A printer bug (text that does not parse) is a 500 for a browser, not a crash. */
static void test_unparsable_printed_reply_is_a_500_for_html(void **state)
{
    (void)state;
    add(&plug_a, XEND_HTTP_GET, "/xend/broken", NULL, h_printed, NULL, 0);
    struct xend_request *req = mkreq("GET", "/xend/broken", NULL, NULL, "Mozilla/5.0", "text/html");
    xend_http_request_run(req, "", 0);
    assert_int_equal(cap.status, 500);
    assert_non_null(strstr(test_log.data, "unparsable reply"));
    xend_http_request_free(req);
}

/* ---- arguments ---- */

static struct {
    int rc;
    long long v;
    char msg[600];
    char str[64];
    char sxp[256];
} got;

static int h_args(struct xend_request *req, void *arg)
{
    const char *kind = arg;
    struct xend_err *e = http->err(req);
    memset(&got, 0, sizeof(got));
    if (strcmp(kind, "int") == 0) {
        got.rc = http->arg_int(req, "cpu", &got.v);
    } else if (strcmp(kind, "opt") == 0) {
        got.rc = http->arg_int_opt(req, "cpu", 7, &got.v);
    } else if (strcmp(kind, "str") == 0) {
        const char *s = http->arg_str(req, "name");
        snprintf(got.str, sizeof(got.str), "%s", s ? s : "(null)");
    } else {
        const struct xend_sxp *v;
        got.rc = http->arg_sxp(req, "config", &v);
        if (got.rc == 0) {
            char *p = xend_sxp_print(v);
            snprintf(got.sxp, sizeof(got.sxp), "%s", p);
            free(p);
        }
    }
    snprintf(got.msg, sizeof(got.msg), "%s", e->code ? xend_err_msg(e) : "");
    return got.rc;
}

static int setup_args(void **state)
{
    setup(state);
    add(&plug_a, XEND_HTTP_GET | XEND_HTTP_POST, "/xend/args", "int", h_args, "int", 0);
    add(&plug_a, XEND_HTTP_GET | XEND_HTTP_POST, "/xend/args", "opt", h_args, "opt", 0);
    add(&plug_a, XEND_HTTP_GET | XEND_HTTP_POST, "/xend/args", "str", h_args, "str", 0);
    add(&plug_a, XEND_HTTP_GET | XEND_HTTP_POST, "/xend/args", "sxp", h_args, "sxp", 0);
    return 0;
}

static void args_call(const char *query, const char *body)
{
    struct xend_request *req =
        run_req("POST", "/xend/args", query, "application/x-www-form-urlencoded", body);
    xend_http_request_free(req);
}

static void test_arg_int_messages_match_the_original(void **state)
{
    (void)state;
    args_call("op=int", NULL);
    assert_int_equal(got.rc, -XEND_EINVAL);
    assert_string_equal(got.msg, "Missing parameter: cpu");
    assert_string_equal(xend_buf_str(&cap.body), "(xend.err 'Missing parameter: cpu')");
    assert_int_equal(cap.status, 200);

    args_call("op=int", "cpu=abc");
    assert_string_equal(got.msg, "invalid literal for int() with base 10: 'abc'");

    args_call("op=int", "cpu=+12");
    assert_int_equal(got.rc, 0);
    assert_int_equal(got.v, 12);

    args_call("op=int&cpu=1", "cpu=2");
    assert_string_equal(got.msg, "Too many values for cpu");

    args_call("op=opt", NULL);
    assert_int_equal(got.rc, 0);
    assert_int_equal(got.v, 7);
    args_call("op=opt", "cpu=-3");
    assert_int_equal(got.v, -3);
}

static void test_arg_str_returns_first_of_duplicates_and_url_args_too(void **state)
{
    (void)state;
    args_call("op=str&name=url", "name=body");
    assert_string_equal(got.str, "url");
    args_call("op=str", "name=a+b%21&name=second");
    assert_string_equal(got.str, "a b!");
    args_call("op=str", "name");
    assert_string_equal(got.str, ""); /* present, empty: not NULL */
    args_call("op=str", NULL);
    assert_string_equal(got.str, "(null)");
}

static void test_arg_sxp_parses_and_reports_errors(void **state)
{
    (void)state;
    args_call("op=sxp", "config=%28vm+%28name+x%29%29");
    assert_int_equal(got.rc, 0);
    assert_string_equal(got.sxp, "(vm (name x))");

    args_call("op=sxp", NULL);
    assert_string_equal(got.msg, "Missing parameter: config");

    args_call("op=sxp", "config=%28vm");
    assert_int_equal(got.rc, -XEND_EINVAL);
    assert_int_equal(cap.status, 200);

    /* Deeper than the limit: refused as a limit (413), not parsed. */
    struct xend_buf deep = XEND_BUF_INIT;
    xend_buf_puts(&deep, "config=");
    for (int i = 0; i < 500; i++)
        xend_buf_puts(&deep, "%28");
    args_call("op=sxp", xend_buf_str(&deep));
    xend_buf_free(&deep);
    assert_int_equal(got.rc, -XEND_ELIMIT);
    assert_int_equal(cap.status, 413);
}

/* ---- replies, deferral, streaming ---- */

static int h_created(struct xend_request *req, void *arg)
{
    (void)arg;
    http->reply_header(req, "Location", "/xend/domain/vm1");
    http->reply_header(req, "Evil", "a\r\nInjected: 1"); /* refused */
    http->reply_take(req, 201, xend_sxp_list_of("domain", "vm1", NULL));
    return 0;
}

static int h_raw(struct xend_request *req, void *arg)
{
    (void)arg;
    http->reply_raw(req, 0, "text/plain", "dmesg\n", 6);
    return 0;
}

static struct xend_request *deferred_req;

static int h_defer(struct xend_request *req, void *arg)
{
    (void)arg;
    http->defer(req);
    deferred_req = req;
    return 0;
}

static void test_created_reply_carries_status_text_and_location(void **state)
{
    (void)state;
    add(&plug_a, XEND_HTTP_POST, "/xend/made", "create", h_created, NULL, 0);
    struct xend_request *req = run_req("POST", "/xend/made", "op=create", NULL, NULL);
    assert_int_equal(cap.status, 201);
    assert_string_equal(cap.reason, "Created");
    assert_string_equal(cap.location, "/xend/domain/vm1");
    assert_string_equal(xend_buf_str(&cap.body), "(domain vm1)");
    assert_non_null(strstr(xend_buf_str(&test_log), "reply header refused"));
    xend_http_request_free(req);
}

static void test_raw_reply_keeps_its_content_type(void **state)
{
    (void)state;
    add(&plug_a, XEND_HTTP_GET, "/xend/raw", NULL, h_raw, NULL, 0);
    struct xend_request *req = mkreq("GET", "/xend/raw", NULL, NULL, "x", "application/json");
    xend_http_request_run(req, "", 0);
    assert_string_equal(cap.ctype, "text/plain");
    assert_string_equal(xend_buf_str(&cap.body), "dmesg\n");
    xend_http_request_free(req);
}

static void test_deferred_request_replies_on_complete(void **state)
{
    (void)state;
    add(&plug_a, XEND_HTTP_POST, "/xend/slow", "save", h_defer, NULL, 0);
    struct xend_request *req = run_req("POST", "/xend/slow", "op=save", NULL, NULL);
    assert_int_equal(cap.nsent, 0);
    http->reply_take(deferred_req, 202, xend_sxp_atom("0"));
    http->complete(deferred_req, 0);
    assert_int_equal(cap.nsent, 1);
    assert_int_equal(cap.status, 202);
    assert_string_equal(cap.reason, "Accepted");
    http->complete(deferred_req, 0); /* twice: ignored, logged */
    assert_int_equal(cap.nsent, 1);
    xend_http_request_detach(req); /* the server lets go: done, so freed */
}

static void test_deferred_request_whose_client_left_is_freed_by_complete(void **state)
{
    (void)state;
    add(&plug_a, XEND_HTTP_POST, "/xend/slow", "save", h_defer, NULL, 0);
    struct xend_request *req = run_req("POST", "/xend/slow", "op=save", NULL, NULL);
    xend_http_request_detach(req); /* client gone: a tombstone */
    http->complete(deferred_req, -XEND_EIO);
    assert_int_equal(cap.nsent, 0); /* nothing written, nothing leaked (ASan) */
}

/* The bulk lane: a transport with a queue gets the requests of the bulk ops, routed but
 * not run; resume runs them; any other request runs at once. */
static struct xend_request *lane[4];
static int nlane;
static void fake_queue(struct xend_request *req)
{
    lane[nlane++] = req;
}

static struct xend_request *lane_req(const struct xend_http_transport *t, const char *query)
{
    struct xend_http_request_init init = {
        .method = XEND_HTTP_POST,
        .method_name = "POST",
        .path = "/xend/made",
        .query = query,
        .peer = "127.0.0.1:1",
        .transport = t,
        .fd = -1,
        .conn_who = &test_who,
    };
    struct xend_request *req = xend_http_request_new(&init);
    xend_http_request_run(req, "", 0);
    return req;
}

static void test_bulk_ops_wait_in_the_lane_until_resumed(void **state)
{
    (void)state;
    static const char *const bulk[] = {"create", NULL};
    struct xend_http_transport t = test_transport;
    t.queue = fake_queue;
    nlane = 0;
    xend_http_set_bulk_ops(bulk);
    add(&plug_a, XEND_HTTP_POST, "/xend/made", "create", h_created, NULL, 0);
    add(&plug_a, XEND_HTTP_POST, "/xend/made", "other", h_created, NULL, 0);
    struct xend_request *req = lane_req(&t, "op=create");
    assert_int_equal(nlane, 1);
    assert_int_equal(cap.nsent, 0); /* routed, not run */
    struct xend_request *now = lane_req(&t, "op=other");
    assert_int_equal(nlane, 1);
    assert_int_equal(cap.nsent, 1); /* not a bulk op: at once */
    xend_http_request_free(now);
    xend_http_request_resume(lane[0]);
    assert_int_equal(cap.nsent, 2);
    assert_int_equal(cap.status, 201);
    xend_http_request_resume(lane[0]); /* not queued any more: nothing */
    assert_int_equal(cap.nsent, 2);
    xend_http_request_free(req);
    /* A client that leaves while its request waits: the request is freed, never run. */
    req = lane_req(&t, "op=create");
    assert_int_equal(nlane, 2);
    xend_http_request_detach(req);
    assert_int_equal(cap.nsent, 2);
    xend_http_set_bulk_ops(NULL);
}

static int closed_calls;
static void on_closed(struct xend_request *req, void *arg)
{
    (void)req;
    (void)arg;
    closed_calls++;
}

static int h_stream(struct xend_request *req, void *arg)
{
    (void)arg;
    assert_int_equal(xend_http_stream_begin(req, "application/sxp"), 0);
    xend_http_stream_on_close(req, on_closed, NULL);
    assert_int_equal(xend_http_stream_write(req, "(event a)\n", 10), 0);
    deferred_req = req;
    return 0;
}

static void test_stream_writes_until_client_leaves(void **state)
{
    (void)state;
    closed_calls = 0;
    add(&plug_a, XEND_HTTP_GET, "/xend/event", NULL, h_stream, NULL, 0);
    struct xend_request *req = run_req("GET", "/xend/event", "follow=1", NULL, NULL);
    assert_true(cap.stream_head);
    assert_int_equal(cap.nsent, 0);
    assert_string_equal(xend_buf_str(&cap.stream), "(event a)\n");
    xend_http_request_detach(req);
    assert_int_equal(closed_calls, 1);
    assert_int_equal(xend_http_stream_write(deferred_req, "x", 1), -XEND_EIO);
    xend_http_stream_end(deferred_req); /* frees the tombstone */
    assert_false(cap.stream_ended);
}

static void test_stream_end_finishes_a_live_stream(void **state)
{
    (void)state;
    add(&plug_a, XEND_HTTP_GET, "/xend/event", NULL, h_stream, NULL, 0);
    struct xend_request *req = run_req("GET", "/xend/event", NULL, NULL, NULL);
    xend_http_stream_end(deferred_req);
    assert_true(cap.stream_ended);
    xend_http_request_detach(req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_get_root_answers_ls_form, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trailing_slash_is_the_same_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_without_op_is_406, setup, teardown),
        cmocka_unit_test_setup_teardown(test_op_given_twice_is_406_even_split_between_url_and_body,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_op_is_501_plain_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_path_is_404_naming_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_domain_is_404_invalid_domain_before_op_checks,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_domain_route_gets_resolved_domain_and_capture, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_incoming_domain_found_only_by_a_core_route_that_takes_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_capture_is_percent_decoded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_literal_segment_beats_capture, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_with_op_dispatches_on_op, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_escape_in_path_is_400, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflicting_route_refused_naming_both_plugins, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_routes_are_einval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_route_remove_and_remove_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_removing_the_first_route_of_a_pattern_keeps_its_others,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_pattern_left_without_domain_routes_resolves_none,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_handler_error_is_200_xend_err, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_forms_follow_negotiation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_printed_sxp_replies_render_like_trees, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unparsable_printed_reply_is_a_500_for_html, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_arg_int_messages_match_the_original, setup_args,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_arg_str_returns_first_of_duplicates_and_url_args_too,
                                        setup_args, teardown),
        cmocka_unit_test_setup_teardown(test_arg_sxp_parses_and_reports_errors, setup_args,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_created_reply_carries_status_text_and_location, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_raw_reply_keeps_its_content_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deferred_request_replies_on_complete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bulk_ops_wait_in_the_lane_until_resumed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_deferred_request_whose_client_left_is_freed_by_complete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_writes_until_client_leaves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_end_finishes_a_live_stream, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
