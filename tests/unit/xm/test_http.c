/*
 * Unit tests of xm's HTTP client and xend client layer (xm/http.c, xm/client.c): server
 * addresses, reply framing, the 2.0 client's reply rules and request encodings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "http.h"

static void test_endpoint_forms(void **state)
{
    (void)state;
    struct xm_endpoint ep;
    struct xend_err err = {0};
    assert_int_equal(xm_endpoint_parse(NULL, NULL, &ep, &err), 0);
    assert_string_equal(ep.host, "localhost");
    assert_string_equal(ep.port, "8000");
    assert_string_equal(ep.root, "/xend/");
    assert_false(ep.is_unix);

    assert_int_equal(xm_endpoint_parse("10.1.2.3:8123", "/other", &ep, &err), 0);
    assert_string_equal(ep.host, "10.1.2.3");
    assert_string_equal(ep.port, "8123");
    assert_string_equal(ep.root, "/other/"); /* XEND_ROOT gets its '/' as in 2.0 */

    assert_int_equal(xm_endpoint_parse("[::1]:9000", "xend", &ep, &err), 0);
    assert_string_equal(ep.host, "::1");
    assert_string_equal(ep.port, "9000");
    assert_string_equal(ep.root, "/xend/");

    assert_int_equal(xm_endpoint_parse("http://h.example:8080/api/xend", NULL, &ep, &err), 0);
    assert_string_equal(ep.host, "h.example");
    assert_string_equal(ep.port, "8080");
    assert_string_equal(ep.root, "/api/xend/");

    assert_int_equal(xm_endpoint_parse("http://h2", NULL, &ep, &err), 0);
    assert_string_equal(ep.port, "8000");
    assert_string_equal(ep.root, "/xend/");
    assert_false(ep.tls);

    assert_int_equal(xm_endpoint_parse("https://h3.example", NULL, &ep, &err), 0);
    assert_true(ep.tls);
    assert_string_equal(ep.host, "h3.example");
    assert_string_equal(ep.port, "8443");
    assert_int_equal(xm_endpoint_parse("HTTPS://[::1]:9443/xend", NULL, &ep, &err), 0);
    assert_true(ep.tls);
    assert_string_equal(ep.host, "::1");
    assert_string_equal(ep.port, "9443");

    assert_int_equal(xm_endpoint_parse("unix:/run/xend.sock", NULL, &ep, &err), 0);
    assert_true(ep.is_unix);
    assert_string_equal(ep.unix_path, "/run/xend.sock");

    assert_int_equal(xm_endpoint_parse("host:99999", NULL, &ep, &err), -XEND_EINVAL);
    assert_string_equal(err.msg, "invalid xend address: host:99999");
    xend_err_clear(&err);
    assert_int_equal(xm_endpoint_parse("unix:", NULL, &ep, &err), -XEND_EINVAL);
}

static int parse(const char *text, bool eof, struct xm_http_response *resp, struct xend_err *err)
{
    xend_err_clear(err);
    return xm_http_parse_response(text, strlen(text), eof, resp, err);
}

static void test_reply_framing(void **state)
{
    (void)state;
    struct xm_http_response r = XM_HTTP_RESPONSE_INIT;
    struct xend_err err;
    /* Content-Length: complete only when the body is all there */
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n(a b", false, &r, &err), 0);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\ncontent-length: 5\r\nContent-Type: "
                           "application/sxp\r\n\r\n(a b)",
                           false, &r, &err),
                     1);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.reason, "OK");
    assert_string_equal(r.content_type, "application/sxp");
    assert_string_equal(xend_buf_str(&r.body), "(a b)");
    /* chunked, as Twisted wrote it: one chunk per write */
    const char *chunked = "HTTP/1.1 201 Created\r\nTransfer-encoding: chunked\r\n\r\n"
                          "3\r\n(a \r\n2;ext=1\r\nb)\r\n0\r\n\r\n";
    assert_int_equal(parse(chunked, false, &r, &err), 1);
    assert_int_equal(r.status, 201);
    assert_string_equal(xend_buf_str(&r.body), "(a b)");
    assert_int_equal(xm_http_parse_response(chunked, strlen(chunked) - 7, false, &r, &err), 0);
    /* close-delimited: complete at EOF */
    assert_int_equal(parse("HTTP/1.0 200 OK\n\nhello", false, &r, &err), 0);
    assert_int_equal(parse("HTTP/1.0 200 OK\n\nhello", true, &r, &err), 1);
    assert_string_equal(xend_buf_str(&r.body), "hello");
    /* an interim 100 is skipped; 204 has no body */
    assert_int_equal(
        parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", false, &r, &err), 1);
    assert_int_equal(r.status, 204);
    /* the reason phrase carries xend's message */
    assert_int_equal(
        parse("HTTP/1.1 404 invalid domain:nosuch\r\nContent-Length: 0\r\n\r\n", false, &r, &err),
        1);
    assert_string_equal(r.reason, "invalid domain:nosuch");
    /* broken replies */
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort", true, &r, &err),
                     -XEND_EINVAL);
    assert_int_equal(parse("", true, &r, &err), -XEND_EINVAL);
    assert_int_equal(parse("SSH-2.0-OpenSSH\r\n\r\n", false, &r, &err), -XEND_EINVAL);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false, &r, &err),
                     -XEND_EINVAL);
    xm_http_response_free(&r);
}

static int decode(int status, const char *reason, const char *ctype, const char *body,
                  struct xm_result *out, struct xend_err *err)
{
    xend_err_clear(err);
    return xm_reply_decode(status, reason, ctype, body, strlen(body), out, err);
}

static void test_replies_follow_the_2_0_client_rules(void **state)
{
    (void)state;
    struct xm_result r;
    struct xend_err err;
    assert_int_equal(decode(200, "OK", "application/sxp", "(Domain-0 vm1)", &r, &err), 0);
    assert_int_equal(r.kind, XM_RESULT_SXP);
    assert_int_equal(xend_sxp_length(r.sxp), 2);
    xm_result_free(&r);

    assert_int_equal(
        decode(200, "OK", "application/sxp", "(xend.err \"(22, 'Invalid')\")", &r, &err),
        -XEND_EIO);
    assert_string_equal(err.msg, "(22, 'Invalid')");

    /* 2.0.0 xend wrote an HTML page after the error: the first value still counts */
    assert_int_equal(decode(200, "OK", "application/sxp",
                            "(xend.err 'No such thing')<html><p>don't</html>", &r, &err),
                     -XEND_EIO);
    assert_string_equal(err.msg, "No such thing");

    assert_int_equal(decode(404, "invalid domain:x", "text/html", "<html/>", &r, &err), -XEND_EIO);
    assert_string_equal(err.msg, "invalid domain:x");
    assert_int_equal(r.status, 404);

    assert_int_equal(decode(501, "", "text/plain", "", &r, &err), -XEND_EIO);
    assert_string_equal(err.msg, "HTTP error 501");

    assert_int_equal(decode(204, "No Content", NULL, "", &r, &err), 0);
    assert_int_equal(r.kind, XM_RESULT_NONE);

    assert_int_equal(decode(200, "OK", "text/plain", "boot lines\n", &r, &err), 0);
    assert_int_equal(r.kind, XM_RESULT_TEXT);
    assert_string_equal(r.text, "boot lines\n");
    xm_result_free(&r);

    assert_int_equal(decode(202, "Accepted", "application/sxp; charset=utf-8", "0", &r, &err), 0);
    assert_int_equal(r.kind, XM_RESULT_SXP);
    assert_string_equal(xend_sxp_atom_text(r.sxp), "0");
    xm_result_free(&r);

    assert_int_equal(decode(200, "OK", "application/sxp", "(unclosed", &r, &err), -XEND_EINVAL);
}

static void test_request_encodings(void **state)
{
    (void)state;
    struct xend_buf b = XEND_BUF_INIT;
    struct xm_param p[3] = {
        {"op", "create", NULL}, {"config", "(vm (name 'a b') (x &=%+))", NULL}, {"e", NULL, NULL}};
    xm_urlencode(p, 3, &b);
    assert_string_equal(xend_buf_str(&b),
                        "op=create&config=%28vm+%28name+%27a+b%27%29+%28x+%26%3D%25%2B%29%29&e=");

    struct xm_endpoint ep;
    struct xend_err err = {0};
    assert_int_equal(xm_endpoint_parse("h:1", NULL, &ep, &err), 0);
    xend_buf_reset(&b);
    xm_client_path(&ep, "domain/", true, &b);
    assert_string_equal(xend_buf_str(&b), "/xend/domain"); /* POST drops the '/' */
    xend_buf_reset(&b);
    xm_client_path(&ep, "domain/", false, &b);
    assert_string_equal(xend_buf_str(&b), "/xend/domain/");
    xend_buf_reset(&b);
    xm_client_path(&ep, "domain/a b?", false, &b);
    assert_string_equal(xend_buf_str(&b), "/xend/domain/a%20b%3F");

    char path[] = "/tmp/xm-test-upload-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "(vm (name x))", 13), 13);
    close(fd);
    struct xm_param up[2] = {{"op", "create", NULL}, {"config", NULL, path}};
    xend_buf_reset(&b);
    assert_int_equal(xm_multipart(up, 2, "0123456789abcdef", &b, &err), 0);
    char *want = NULL;
    assert_true(asprintf(&want,
                         "--0123456789abcdef\r\nContent-Disposition: form-data; name=\"op\"\r\n"
                         "\r\ncreate\r\n"
                         "--0123456789abcdef\r\nContent-Disposition: form-data; name=\"config\"; "
                         "filename=\"%s\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                         "(vm (name x))\r\n--0123456789abcdef--\r\n",
                         path) > 0);
    assert_string_equal(xend_buf_str(&b), want);
    free(want);
    unlink(path);
    xend_buf_reset(&b);
    assert_int_equal(xm_multipart(up, 2, "b", &b, &err), -XEND_EIO);
    assert_non_null(strstr(err.msg, "[Errno 2] No such file or directory"));
    xend_buf_free(&b);
}

static void test_nothing_listening_is_a_transport_failure(void **state)
{
    (void)state;
    struct xm_client c;
    memset(&c, 0, sizeof(c));
    struct xend_err err = {0};
    assert_int_equal(xm_endpoint_parse("unix:/nonexistent/xend.sock", NULL, &c.ep, &err), 0);
    struct xm_result r;
    assert_int_equal(xm_client_get(&c, "domain/", NULL, 0, &r, &err), -XEND_EIO);
    assert_true(c.transport_failed);
    assert_string_equal(err.msg, "[Errno 2] No such file or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endpoint_forms),
        cmocka_unit_test(test_reply_framing),
        cmocka_unit_test(test_replies_follow_the_2_0_client_rules),
        cmocka_unit_test(test_request_encodings),
        cmocka_unit_test(test_nothing_listening_is_a_transport_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
