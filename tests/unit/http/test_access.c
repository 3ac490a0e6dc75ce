/*
 * Access control of core/http (access.c, peer.c): the Host and Origin rules, the CSRF
 * token, the kernel's answer about who is at the other end of a real socket (unix,
 * loopback IPv4, IPv6, an IPv4 client of a dual-stack listener; another uid when run as
 * root), and the one check of a request through the fake transport.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "support.h"
#include "sxp.h"

static int reset(void **state)
{
    (void)state;
    xend_http_access_reset();
    return 0;
}

static void test_host_names_xend_answers_to(void **state)
{
    (void)state;
    static const char *const names[] = {"xenhost.example"};
    struct xend_http_access_options o = {
        .listen_address = "10.1.2.3", .names = names, .n_names = 1};
    struct xend_err err = {0};
    assert_int_equal(xend_http_access_configure(&o, &err), 0);
    const char *good[] = {NULL,
                          "",
                          "127.0.0.1",
                          "127.0.0.1:8000",
                          "localhost",
                          "LocalHost:1",
                          "localhost.",
                          "[::1]",
                          "[::1]:8000",
                          "10.1.2.3:8000",
                          "192.0.2.7",
                          "xenhost.example",
                          "XENHOST.example.:80"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (!xend_http_access_host_ok(good[i]))
            fail_msg("refused Host %s", good[i] ? good[i] : "(none)");
    const char *bad[] = {"evil.example",
                         "evil.example:8000",
                         "x",
                         "localhost.evil.example",
                         "127.0.0.1.evil.example",
                         "[::1",
                         "[::1]x",
                         "[evil]",
                         "127.0.0.1:",
                         "127.0.0.1:80x",
                         "::1",
                         ":8000",
                         "xenhost.example.evil"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (xend_http_access_host_ok(bad[i]))
            fail_msg("accepted Host %s", bad[i]);
    /* Unconfigured again: only literals and localhost. */
    xend_http_access_reset();
    assert_false(xend_http_access_host_ok("xenhost.example"));
    assert_true(xend_http_access_host_ok("localhost:9"));
}

static void test_origin_is_xend_own_only(void **state)
{
    (void)state;
    assert_true(xend_http_access_origin_ok("http://127.0.0.1:8000", "127.0.0.1:8000"));
    assert_true(xend_http_access_origin_ok("HTTP://LOCALHOST:8000", "localhost:8000"));
    assert_true(xend_http_access_origin_ok("http://127.0.0.1", "127.0.0.1:80"));
    assert_true(xend_http_access_origin_ok("http://127.0.0.1:8000/xend/domain?x=1",
                                           "127.0.0.1:8000")); /* a Referer */
    assert_false(xend_http_access_origin_ok("http://evil.example", "127.0.0.1:8000"));
    assert_false(xend_http_access_origin_ok("http://localhost:8000", "127.0.0.1:8000"));
    assert_false(xend_http_access_origin_ok("http://127.0.0.1:8001", "127.0.0.1:8000"));
    assert_false(xend_http_access_origin_ok("https://127.0.0.1:8000", "127.0.0.1:8000"));
    assert_false(xend_http_access_origin_ok("null", "127.0.0.1:8000"));
    assert_false(xend_http_access_origin_ok("http://a@127.0.0.1:8000", "127.0.0.1:8000"));
    assert_false(xend_http_access_origin_ok("", "127.0.0.1:8000"));
    assert_false(xend_http_access_origin_ok(NULL, "127.0.0.1:8000"));
    /* Without a Host: any name xend answers to. */
    assert_true(xend_http_access_origin_ok("http://127.0.0.1:8000", NULL));
    assert_false(xend_http_access_origin_ok("http://evil.example:8000", NULL));
}

static void test_token_is_64_hex_and_compared_whole(void **state)
{
    (void)state;
    const char *t = xend_http_access_token();
    assert_int_equal(strlen(t), 64);
    assert_int_equal(strspn(t, "0123456789abcdef"), 64);
    assert_string_equal(t, xend_http_access_token()); /* one per process */
    assert_true(xend_http_access_token_ok(t, 64));
    char wrong[65];
    memcpy(wrong, t, 65);
    wrong[63] = wrong[63] == '0' ? '1' : '0';
    assert_false(xend_http_access_token_ok(wrong, 64));
    assert_false(xend_http_access_token_ok(t, 63));
    assert_false(xend_http_access_token_ok(NULL, 0));
    assert_false(xend_http_access_token_ok("", 0));
}

/* ---- the kernel's answer, on real sockets ---- */

/* A listener on addr (AF_INET or AF_INET6; v6only=0 makes it dual-stack). */
static int listen_on(int family, const char *addr, bool v6only, struct sockaddr_storage *ss,
                     socklen_t *sl)
{
    int l = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(l >= 0);
    memset(ss, 0, sizeof(*ss));
    if (family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, addr, &in->sin_addr), 1);
        *sl = sizeof(*in);
    } else {
        int v = v6only;
        setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof(v));
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
        in6->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, addr, &in6->sin6_addr), 1);
        *sl = sizeof(*in6);
    }
    assert_int_equal(bind(l, (struct sockaddr *)ss, *sl), 0);
    assert_int_equal(listen(l, 4), 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)ss, sl), 0);
    return l;
}

/* Connect to (family, addr, port of ss) as uid (-1: as we are), accept, identify. */
static void identify_client(int lfam, const char *laddr, bool v6only, int cfam, const char *caddr,
                            int uid, struct xend_peer *out)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int l = listen_on(lfam, laddr, v6only, &ss, &sl);
    in_port_t port = lfam == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                     : ((struct sockaddr_in6 *)&ss)->sin6_port;
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (uid >= 0 && setuid((uid_t)uid) != 0)
            _exit(3);
        int c = socket(cfam, SOCK_STREAM, 0);
        struct sockaddr_storage to = {0};
        socklen_t tl;
        if (cfam == AF_INET) {
            struct sockaddr_in *in = (struct sockaddr_in *)&to;
            in->sin_family = AF_INET;
            in->sin_port = port;
            inet_pton(AF_INET, caddr, &in->sin_addr);
            tl = sizeof(*in);
        } else {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&to;
            in6->sin6_family = AF_INET6;
            in6->sin6_port = port;
            inet_pton(AF_INET6, caddr, &in6->sin6_addr);
            tl = sizeof(*in6);
        }
        if (connect(c, (struct sockaddr *)&to, tl) != 0)
            _exit(4);
        char b;
        close(ready[1]);
        (void)!read(ready[0], &b, 1); /* keep the socket open until the parent looked */
        _exit(0);
    }
    close(ready[0]);
    int a = accept(l, NULL, NULL);
    assert_true(a >= 0);
    struct xend_err err = {0};
    int rc = xend_peer_identify(a, out, &err);
    if (rc < 0)
        fail_msg("identify: %s", xend_err_msg(&err));
    close(ready[1]);
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(a);
    close(l);
}

static void test_loopback_tcp_caller_is_found_by_sock_diag(void **state)
{
    (void)state;
    struct xend_peer p;
    identify_client(AF_INET, "127.0.0.1", true, AF_INET, "127.0.0.1", -1, &p);
    assert_int_equal(p.via, XEND_PEER_SOCK_DIAG);
    assert_true(p.has_uid);
    assert_int_equal(p.uid, geteuid());

    identify_client(AF_INET6, "::1", true, AF_INET6, "::1", -1, &p);
    assert_int_equal(p.via, XEND_PEER_SOCK_DIAG);
    assert_int_equal(p.uid, geteuid());

    /* An IPv4 client of a dual-stack listener: the server sees ::ffff:127.0.0.1. */
    identify_client(AF_INET6, "::", false, AF_INET, "127.0.0.1", -1, &p);
    assert_int_equal(p.via, XEND_PEER_SOCK_DIAG);
    assert_int_equal(p.uid, geteuid());
}

static void test_another_uid_is_told_apart(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        skip();
        return;
    }
    struct xend_peer p;
    identify_client(AF_INET, "127.0.0.1", true, AF_INET, "127.0.0.1", 65534, &p);
    assert_int_equal(p.via, XEND_PEER_SOCK_DIAG);
    assert_int_equal(p.uid, 65534);
    identify_client(AF_INET6, "::1", true, AF_INET6, "::1", 65534, &p);
    assert_int_equal(p.uid, 65534);
}

static void test_unix_caller_by_peercred(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct xend_peer p;
    struct xend_err err = {0};
    assert_int_equal(xend_peer_identify(sv[0], &p, &err), 0);
    assert_int_equal(p.via, XEND_PEER_PEERCRED);
    assert_int_equal(p.uid, geteuid());
    assert_int_equal(p.pid, getpid());
    assert_string_equal(p.user, ""); /* looked up only when needed */
    assert_string_equal(xend_peer_user(&p), geteuid() == 0 ? "root" : xend_peer_user(&p));
    close(sv[0]);
    close(sv[1]);
}

/* The names kept for other peers of a uid stay each uid's own, past as many uids as are
 * kept (a slot reused for another uid must not answer for the old one). */
static void test_user_names_kept_stay_right_across_many_uids(void **state)
{
    (void)state;
    for (int round = 0; round < 3; round++) {
        for (uint32_t i = 0; i < 20; i++) {
            uint32_t uid = i == 0 ? 0 : 3999000u + i;
            struct xend_peer p = {.via = XEND_PEER_PEERCRED, .has_uid = true, .uid = uid};
            char want[40];
            snprintf(want, sizeof(want), "uid %u", (unsigned)uid);
            assert_string_equal(xend_peer_user(&p), uid == 0 ? "root" : want);
        }
    }
    struct xend_peer none = {.via = XEND_PEER_REMOTE};
    assert_string_equal(xend_peer_user(&none), "-");
}

static void test_admin_group_admits_and_others_are_told_how(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        skip();
        return;
    }
    struct xend_http_who who = {0};
    struct xend_err err = {0};
    /* nobody's own group is nogroup on Debian: membership by primary group. */
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(xend_http_access_peer(sv[0], &who, XEND_ROLE_ADMIN, &err), 0); /* root */
    close(sv[0]);
    close(sv[1]);

    /* nobody over loopback TCP: refused, then admitted once its group is the admin's. */
    struct sockaddr_storage ss;
    socklen_t sl;
    int l = listen_on(AF_INET, "127.0.0.1", true, &ss, &sl);
    /* Rounds: no group; nogroup as admin-group, as operator-group, as viewer-group (asked
     * for an operator, as the console ports do). */
    for (int round = 0; round < 4; round++) {
        struct xend_http_access_options o = {0};
        if (round == 1)
            o.admin_group = "nogroup";
        if (round == 2)
            o.operator_group = "nogroup";
        if (round == 3)
            o.viewer_group = "nogroup";
        if (round > 0)
            assert_int_equal(xend_http_access_configure(&o, &err), 0);
        pid_t pid = fork();
        if (pid == 0) {
            if (setuid(65534) != 0)
                _exit(3);
            int c = socket(AF_INET, SOCK_STREAM, 0);
            if (connect(c, (struct sockaddr *)&ss, sl) != 0)
                _exit(4);
            char b;
            (void)!read(c, &b, 1); /* until the parent closes */
            _exit(0);
        }
        int a = accept(l, NULL, NULL);
        memset(&who, 0, sizeof(who));
        xend_err_clear(&err);
        int rc = xend_http_access_peer(a, &who, round == 3 ? XEND_ROLE_OPERATOR : XEND_ROLE_VIEWER,
                                       &err);
        close(a);
        waitpid(pid, NULL, 0);
        if (round == 0) {
            assert_int_equal(rc, -XEND_EPERM);
            assert_int_equal(who.verdict, XEND_HTTP_NOT_ADMIN);
            assert_non_null(strstr(err.msg, "uid 65534, by sock_diag"));
            assert_non_null(strstr(err.msg, "admin-group"));
        } else if (round < 3) {
            assert_int_equal(rc, 0);
            assert_int_equal(who.verdict, XEND_HTTP_ADMITTED);
            assert_int_equal(who.role, round == 1 ? XEND_ROLE_ADMIN : XEND_ROLE_OPERATOR);
        } else {
            assert_int_equal(rc, -XEND_EPERM);
            assert_int_equal(who.verdict, XEND_HTTP_ADMITTED);
            assert_int_equal(who.role, XEND_ROLE_VIEWER);
            assert_non_null(strstr(err.msg, "has role viewer; this needs role operator"));
        }
    }
    /* A group that does not exist stops xend, named with its setting. */
    struct xend_http_access_options nosuch = {.operator_group = "no-such-group-xend"};
    xend_err_clear(&err);
    assert_int_equal(xend_http_access_configure(&nosuch, &err), -XEND_EINVAL);
    assert_string_equal(err.msg, "operator-group 'no-such-group-xend': no such group");
    close(l);
    struct xend_http_access_options bad = {.admin_group = "no-such-group-here"};
    xend_err_clear(&err);
    assert_int_equal(xend_http_access_configure(&bad, &err), -XEND_EINVAL);
    assert_string_equal(err.msg, "admin-group 'no-such-group-here': no such group");
}

/* ---- the check of a request ---- */

static int calls;
static int h_ok(struct xend_request *req, void *arg)
{
    (void)req;
    (void)arg;
    calls++;
    return 0;
}

static int setup_routes(void **state)
{
    (void)state;
    capture_reset();
    calls = 0;
    struct xend_route r[] = {
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/xend/domain", .op = "create",
         .fn = h_ok},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET | XEND_HTTP_POST, .path = "/xend/thing",
         .op = "poke", .fn = h_ok},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET, .path = "/xend/thing", .op = "look",
         .fn = h_ok},
    };
    for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
        assert_int_equal(xend_http_route_add(NULL, &r[i]), 0);
    return 0;
}

static int teardown_routes(void **state)
{
    (void)state;
    xend_http_routes_clear();
    xend_http_access_reset();
    test_who.verdict = XEND_HTTP_ADMITTED;
    return 0;
}

struct hdrs {
    const char *host, *origin, *referer, *fetch_site;
    bool cookie;
};

static void run(const char *method, const char *path, const char *query, const char *ctype,
                const char *body, struct hdrs h)
{
    capture_reset();
    struct xend_http_request_init init = {
        .method = strcmp(method, "GET") == 0 ? XEND_HTTP_GET : XEND_HTTP_POST,
        .method_name = method,
        .path = path,
        .query = query,
        .content_type = ctype,
        .peer = "127.0.0.1:1",
        .transport = &test_transport,
        .host = h.host,
        .origin = h.origin,
        .referer = h.referer,
        .fetch_site = h.fetch_site,
        .has_cookie = h.cookie,
        .fd = -1,
        .conn_who = &test_who,
    };
    struct xend_request *req = xend_http_request_new(&init);
    xend_http_request_run(req, body ? body : "", body ? strlen(body) : 0);
    xend_http_request_free(req);
}

#define FORM "application/x-www-form-urlencoded"

static struct hdrs hd(const char *host, const char *origin, const char *referer,
                      const char *fetch_site, bool cookie)
{
    return (struct hdrs){.host = host,
                         .origin = origin,
                         .referer = referer,
                         .fetch_site = fetch_site,
                         .cookie = cookie};
}

static void test_programs_pass_and_foreign_browsers_do_not(void **state)
{
    (void)state;
    /* The 2.0 xm: no Origin, no Referer, no token. */
    run("POST", "/xend/domain", NULL, FORM, "op=create",
        hd("127.0.0.1:8000", NULL, NULL, NULL, false));
    assert_int_equal(cap.status, 200);
    assert_int_equal(calls, 1);
    /* A page of another origin. */
    run("POST", "/xend/domain", NULL, FORM, "op=create",
        hd("127.0.0.1:8000", "http://evil.example", NULL, NULL, false));
    assert_int_equal(cap.status, 403);
    assert_int_equal(calls, 1);
    run("POST", "/xend/domain", NULL, FORM, "op=create",
        hd("127.0.0.1:8000", NULL, "http://evil.example/page", NULL, false));
    assert_int_equal(cap.status, 403);
    run("POST", "/xend/domain", NULL, FORM, "op=create",
        hd("127.0.0.1:8000", NULL, NULL, "cross-site", false));
    assert_int_equal(cap.status, 403);
    /* DNS rebinding: a name that is not xend's, even for a GET. */
    run("GET", "/xend/thing", NULL, NULL, NULL, hd("evil.example:8000", NULL, NULL, NULL, false));
    assert_int_equal(cap.status, 421);
    assert_int_equal(calls, 1);
}

static void test_same_origin_browser_needs_the_token(void **state)
{
    (void)state;
    struct hdrs same = hd("127.0.0.1:8000", "http://127.0.0.1:8000", NULL, NULL, false);
    run("POST", "/xend/domain", NULL, FORM, "op=create", same);
    assert_int_equal(cap.status, 403);
    assert_non_null(strstr(cap.reason, "missing"));
    char body[200];
    snprintf(body, sizeof(body), "op=create&" XEND_HTTP_CSRF_FIELD "=%064d", 0);
    run("POST", "/xend/domain", NULL, FORM, body, same);
    assert_int_equal(cap.status, 403);
    assert_non_null(strstr(cap.reason, "wrong"));
    assert_int_equal(calls, 0);
    snprintf(body, sizeof(body), "op=create&" XEND_HTTP_CSRF_FIELD "=%s", xend_http_access_token());
    run("POST", "/xend/domain", NULL, FORM, body, same);
    assert_int_equal(cap.status, 200);
    assert_int_equal(calls, 1);
    /* In the URL it does not count: URLs end up in logs and Referers. */
    char query[200];
    snprintf(query, sizeof(query), XEND_HTTP_CSRF_FIELD "=%s", xend_http_access_token());
    run("POST", "/xend/domain", query, FORM, "op=create", same);
    assert_int_equal(cap.status, 403);
    /* A Cookie alone marks a browser too. */
    run("POST", "/xend/domain", NULL, FORM, "op=create",
        hd("127.0.0.1:8000", NULL, NULL, NULL, true));
    assert_int_equal(cap.status, 403);
    assert_int_equal(calls, 1);
}

static void test_a_get_of_a_post_op_is_state_changing(void **state)
{
    (void)state;
    struct hdrs browser =
        hd("127.0.0.1:8000", NULL, "http://127.0.0.1:8000/xend/thing", NULL, false);
    run("GET", "/xend/thing", "op=poke", NULL, NULL, browser);
    assert_int_equal(cap.status, 403); /* no body, so no token: never from a browser */
    run("GET", "/xend/thing", "op=look", NULL, NULL, browser);
    assert_int_equal(cap.status, 200);
    run("GET", "/xend/thing", "op=poke", NULL, NULL, hd("127.0.0.1:8000", NULL, NULL, NULL, false));
    assert_int_equal(cap.status, 200); /* the 2.0 client did this */
    assert_int_equal(calls, 2);
}

static void test_refused_callers_get_403_before_routing(void **state)
{
    (void)state;
    test_who.verdict = XEND_HTTP_NOT_ADMIN;
    test_who.peer.uid = 65534;
    snprintf(test_who.peer.user, sizeof(test_who.peer.user), "nobody");
    run("GET", "/xend/nosuch", NULL, NULL, NULL, hd(NULL, NULL, NULL, NULL, false));
    assert_int_equal(cap.status, 403); /* not 404: a refused caller learns nothing */
    assert_non_null(strstr(cap.reason, "user nobody (uid 65534"));
    test_who.peer.uid = 0;
    snprintf(test_who.peer.user, sizeof(test_who.peer.user), "root");
}

static void test_audit_line_has_who_and_result_but_no_token(void **state)
{
    (void)state;
    char body[200];
    snprintf(body, sizeof(body), "op=create&" XEND_HTTP_CSRF_FIELD "=%s", xend_http_access_token());
    run("POST", "/xend/domain", NULL, FORM, body,
        hd("127.0.0.1:8000", "http://127.0.0.1:8000", NULL, NULL, false));
    const char *log = xend_buf_str(&test_log);
    assert_non_null(strstr(log, "audit uid=0 user=root via=peercred peer=127.0.0.1:1 "
                                "method=POST path=/xend/domain op=create status=200"));
    assert_null(strstr(log, xend_http_access_token()));
    capture_reset();
    run("GET", "/xend/thing", "op=look", NULL, NULL, hd(NULL, NULL, NULL, NULL, false));
    assert_null(strstr(xend_buf_str(&test_log), "audit"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_host_names_xend_answers_to, reset),
        cmocka_unit_test(test_origin_is_xend_own_only),
        cmocka_unit_test(test_token_is_64_hex_and_compared_whole),
        cmocka_unit_test(test_loopback_tcp_caller_is_found_by_sock_diag),
        cmocka_unit_test(test_another_uid_is_told_apart),
        cmocka_unit_test(test_unix_caller_by_peercred),
        cmocka_unit_test(test_user_names_kept_stay_right_across_many_uids),
        cmocka_unit_test_teardown(test_admin_group_admits_and_others_are_told_how, reset),
        cmocka_unit_test_setup_teardown(test_programs_pass_and_foreign_browsers_do_not,
                                        setup_routes, teardown_routes),
        cmocka_unit_test_setup_teardown(test_same_origin_browser_needs_the_token, setup_routes,
                                        teardown_routes),
        cmocka_unit_test_setup_teardown(test_a_get_of_a_post_op_is_state_changing, setup_routes,
                                        teardown_routes),
        cmocka_unit_test_setup_teardown(test_refused_callers_get_403_before_routing, setup_routes,
                                        teardown_routes),
        cmocka_unit_test_setup_teardown(test_audit_line_has_who_and_result_but_no_token,
                                        setup_routes, teardown_routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
