/*
 * API tokens and the HTTPS identity of core/http (tokens.c, remote.c, session.c): the token
 * file's parser and its errors, the hash check, the file checks, `xend token add`, the
 * Bearer header, the session cookie, and the origin rule over TLS.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "http/access_control.h"
#include "http/remote.h"
#include "http/role.h"
#include "http/session.h"
#include "http/tokens.h"

/* sha256("secret1") and sha256("secret2") */
static char h1[65], h2[65];

static int setup(void **state)
{
    (void)state;
    xend_tokens_sha256_hex("secret1", 7, h1);
    xend_tokens_sha256_hex("secret2", 7, h2);
    return 0;
}

static void test_sha256_hex(void **state)
{
    (void)state;
    char h[65];
    xend_tokens_sha256_hex("abc", 3, h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_parse_and_find(void **state)
{
    (void)state;
    char text[512];
    snprintf(text, sizeof(text),
             "# tokens\n\nci operator %s   # the CI robot\n  ops-1@host admin\t%s\n", h1, h2);
    struct xend_tokens t;
    struct xend_err err = {0};
    assert_int_equal(xend_tokens_parse(text, strlen(text), "f", &t, &err), 0);
    assert_int_equal(t.n, 2);
    assert_string_equal(t.v[0].name, "ci");
    assert_int_equal(t.v[0].role, XEND_ROLE_OPERATOR);
    assert_int_equal(t.v[1].role, XEND_ROLE_ADMIN);
    const struct xend_token *f = xend_tokens_find(&t, "secret2", 7);
    assert_non_null(f);
    assert_string_equal(f->name, "ops-1@host");
    assert_null(xend_tokens_find(&t, "secret3", 7));
    assert_null(xend_tokens_find(&t, "secret", 6));
    assert_null(xend_tokens_find(&t, "", 0));
    assert_null(xend_tokens_find(&t, NULL, 0));
    /* the hash itself is no token */
    assert_null(xend_tokens_find(&t, h1, 64));
    xend_tokens_free(&t);
}

static void expect_bad(const char *text, const char *want)
{
    struct xend_tokens t;
    struct xend_err err = {0};
    assert_int_equal(xend_tokens_parse(text, strlen(text), "tokens", &t, &err), -XEND_EINVAL);
    assert_int_equal(t.n, 0);
    if (strstr(xend_err_msg(&err), want) == NULL)
        fail_msg("'%s' does not say '%s'", xend_err_msg(&err), want);
}

static void test_parse_errors(void **state)
{
    (void)state;
    char line[512];
    expect_bad("ci operator\n", "tokens:1: a line is NAME ROLE SHA256HEX");
    snprintf(line, sizeof(line), "\n\nci operator %s extra\n", h1);
    expect_bad(line, "tokens:3: a line is");
    snprintf(line, sizeof(line), "ci root %s\n", h1);
    expect_bad(line, "role must be admin, operator or viewer");
    expect_bad("ci viewer abcdef\n", "never the token");
    snprintf(line, sizeof(line), "ci viewer %.63sg\n", h1);
    expect_bad(line, "not a SHA-256");
    snprintf(line, sizeof(line), "c/i viewer %s\n", h1);
    expect_bad(line, "bad token name");
    snprintf(line, sizeof(line), "ci viewer %s\nci admin %s\n", h1, h2);
    expect_bad(line, "tokens:2: token name 'ci' given twice");
}

static void test_roles(void **state)
{
    (void)state;
    assert_int_equal(xend_role_parse("admin"), XEND_ROLE_ADMIN);
    assert_int_equal(xend_role_parse("operator"), XEND_ROLE_OPERATOR);
    assert_int_equal(xend_role_parse("viewer"), XEND_ROLE_VIEWER);
    assert_true(xend_role_parse("root") < 0);
    assert_true(xend_role_parse(NULL) < 0);
    assert_string_equal(xend_role_name(XEND_ROLE_VIEWER), "viewer");
    assert_string_equal(xend_role_name(7), "?");
}

static void test_file_add_and_checks(void **state)
{
    (void)state;
    char dir[] = "/tmp/xend-tokens.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/tokens", dir);
    struct xend_err err = {0};
    char tok[XEND_TOKEN_TEXT_LEN + 1], tok2[XEND_TOKEN_TEXT_LEN + 1];
    assert_int_equal(xend_tokens_add(path, "ci", "operator", tok, &err), 0);
    assert_int_equal(strlen(tok), 64);
    assert_int_equal(xend_tokens_add(path, "ops", "admin", tok2, &err), 0);
    assert_string_not_equal(tok, tok2);
    assert_int_equal(xend_tokens_add(path, "ci", "viewer", tok2, &err), -XEND_EEXIST);
    assert_int_equal(xend_tokens_add(path, "x", "boss", tok2, &err), -XEND_EINVAL);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    struct xend_tokens t;
    assert_int_equal(xend_tokens_load(path, &t, &err), 0);
    assert_int_equal(t.n, 2);
    const struct xend_token *f = xend_tokens_find(&t, tok, strlen(tok));
    assert_non_null(f);
    assert_string_equal(f->name, "ci");
    xend_tokens_free(&t);

    chmod(path, 0620);
    err = (struct xend_err){0};
    assert_int_equal(xend_tokens_load(path, &t, &err), -XEND_EPERM);
    assert_non_null(strstr(xend_err_msg(&err), "writable by group or others"));
    assert_int_equal(xend_tokens_file_check(path, &err), -XEND_EPERM);
    chmod(path, 0602);
    assert_int_equal(xend_tokens_file_check(path, &err), -XEND_EPERM);
    chmod(path, 0644);
    assert_int_equal(xend_tokens_file_check(path, &err), 0);
    char link[160];
    snprintf(link, sizeof(link), "%s/link", dir);
    assert_int_equal(symlink(path, link), 0);
    assert_int_equal(xend_tokens_file_check(link, &err), -XEND_EPERM);
    assert_int_not_equal(xend_tokens_load(link, &t, &err), 0);
    unlink(link);
    unlink(path);
    rmdir(dir);
}

static void test_bearer(void **state)
{
    (void)state;
    size_t n = 0;
    const char *t = xend_http_remote_bearer("Bearer abc ", &n);
    assert_non_null(t);
    assert_int_equal(n, 3);
    assert_memory_equal(t, "abc", 3);
    assert_non_null(xend_http_remote_bearer("bearer  xyz", &n));
    assert_int_equal(n, 3);
    assert_null(xend_http_remote_bearer("Basic Zm9vOmJhcg==", &n));
    assert_null(xend_http_remote_bearer(NULL, &n));
}

static void test_sessions(void **state)
{
    (void)state;
    char id[XEND_SESSION_ID_LEN + 1], id2[XEND_SESSION_ID_LEN + 1], cookie[200], name[65];
    int role = -1;
    xend_http_session_new("ci", XEND_ROLE_OPERATOR, 3600, id);
    xend_http_session_new("ops", XEND_ROLE_ADMIN, 3600, id2);
    assert_int_equal(strlen(id), 64);
    assert_string_not_equal(id, id2);
    snprintf(cookie, sizeof(cookie), "theme=dark; xend_session=%s; other=1", id);
    assert_true(xend_http_session_find(cookie, name, sizeof(name), &role));
    assert_string_equal(name, "ci");
    assert_int_equal(role, XEND_ROLE_OPERATOR);
    snprintf(cookie, sizeof(cookie), "xend_session=%s", id2);
    assert_true(xend_http_session_find(cookie, name, sizeof(name), &role));
    assert_string_equal(name, "ops");
    assert_false(xend_http_session_find("xend_session=00", name, sizeof(name), &role));
    assert_false(xend_http_session_find("xend_sessionx=1", name, sizeof(name), &role));
    assert_false(xend_http_session_find(NULL, name, sizeof(name), &role));
    assert_true(xend_http_session_forget(cookie));
    assert_false(xend_http_session_find(cookie, name, sizeof(name), &role));
    assert_false(xend_http_session_forget(cookie));
    /* expired: a session of 0 seconds is gone at once */
    xend_http_session_new("short", XEND_ROLE_VIEWER, 0, id);
    snprintf(cookie, sizeof(cookie), "xend_session=%s", id);
    assert_false(xend_http_session_find(cookie, name, sizeof(name), &role));
    xend_http_session_reset();
}

static void test_origin_over_tls(void **state)
{
    (void)state;
    assert_true(xend_http_access_origin_ok_tls("https://10.0.0.1:8443", "10.0.0.1:8443", true));
    assert_false(xend_http_access_origin_ok_tls("http://10.0.0.1:8443", "10.0.0.1:8443", true));
    assert_false(xend_http_access_origin_ok_tls("https://10.0.0.1:8000", "10.0.0.1:8000", false));
    assert_true(xend_http_access_origin_ok_tls("https://h.example:443", "h.example", true));
    assert_true(xend_http_access_origin_ok("http://127.0.0.1:8000", "127.0.0.1:8000"));
}

static void test_https_clients_config(void **state)
{
    (void)state;
    static const char *const good[] = {
        "CN=alice admin", "bob viewer",
        "AA:BB:cc:dd:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:"
        "00:11:22:33:44:55:66:77:88:99:aa:bb operator"};
    struct xend_http_remote_options o = {.clients = good, .n_clients = 3};
    struct xend_err err = {0};
    assert_int_equal(xend_http_remote_configure(&o, &err), 0);
    static const char *const bad_role[] = {"CN=alice boss"};
    o = (struct xend_http_remote_options){.clients = bad_role, .n_clients = 1};
    assert_int_equal(xend_http_remote_configure(&o, &err), -XEND_EINVAL);
    static const char *const no_role[] = {"CN=alice"};
    o = (struct xend_http_remote_options){.clients = no_role, .n_clients = 1};
    err = (struct xend_err){0};
    assert_int_equal(xend_http_remote_configure(&o, &err), -XEND_EINVAL);
    assert_non_null(strstr(xend_err_msg(&err), "CN-or-fingerprint ROLE"));
    xend_http_remote_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_hex),
        cmocka_unit_test(test_parse_and_find),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_file_add_and_checks),
        cmocka_unit_test(test_bearer),
        cmocka_unit_test(test_sessions),
        cmocka_unit_test(test_origin_over_tls),
        cmocka_unit_test(test_https_clients_config),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
