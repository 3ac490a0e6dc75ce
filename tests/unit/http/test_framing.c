/* Strict framing of request heads (framing.c): what passes, and the status and message of
 * each refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "support.h"

static char msg[128];

static int check_len(const char *head, size_t len)
{
    msg[0] = '\0';
    return xend_http_head_check(head, len, msg, sizeof(msg));
}

static int check(const char *head)
{
    return check_len(head, strlen(head));
}

static void test_ordinary_heads_pass(void **state)
{
    (void)state;
    assert_int_equal(check("GET /xend HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    assert_int_equal(check("GET /xend HTTP/1.0\n\n"), 0);
    assert_int_equal(check("\r\nPOST /xend/domain HTTP/1.1\r\nContent-Length:  12 \r\n"
                           "Content-Type: multipart/form-data; boundary=--x\r\n\r\n"),
                     0);
    assert_int_equal(check("POST /x HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n"), 0);
    assert_int_equal(check("GET /x?a=%20&b HTTP/1.1\r\nX-Tab:\ta\tb\r\n"
                           "User-Agent: caf\xc3\xa9\r\n\r\n"),
                     0);
    /* The same length twice is harmless. */
    assert_int_equal(check("POST /x HTTP/1.1\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\n"),
                     0);
}

static void test_te_with_cl_is_400(void **state)
{
    (void)state;
    assert_int_equal(check("POST /x HTTP/1.1\r\nContent-Length: 5\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n"),
                     400);
    assert_string_equal(msg, "Transfer-Encoding together with Content-Length");
    assert_int_equal(check("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                           "Content-Length: 5\r\n\r\n"),
                     400);
}

static void test_other_codings_are_501(void **state)
{
    (void)state;
    assert_int_equal(check("POST /x HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n"), 501);
    assert_string_equal(msg, "Transfer coding not implemented: xchunked");
    assert_int_equal(check("POST /x HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), 501);
    assert_int_equal(check("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n"),
                     400);
}

static void test_versions(void **state)
{
    (void)state;
    assert_int_equal(check("GET /xend HTTP/9.9\r\n\r\n"), 505);
    assert_string_equal(msg, "HTTP version not supported: HTTP/9.9");
    assert_int_equal(check("GET /xend HTTP/2.0\r\n\r\n"), 505);
    assert_int_equal(check("GET /xend HTTP/1.2\r\n\r\n"), 505);
    assert_int_equal(check("GET /xend HTTP/1.10\r\n\r\n"), 400);
    assert_int_equal(check("GET /xend FTP/1.1\r\n\r\n"), 400);
    assert_int_equal(check("GET /xend\r\n\r\n"), 400); /* HTTP/0.9 */
}

static void test_control_bytes_in_request_line_are_400(void **state)
{
    (void)state;
    static const char nul[] = "GET /xend/domain\0/../x HTTP/1.1\r\n\r\n";
    assert_int_equal(check_len(nul, sizeof(nul) - 1), 400);
    assert_string_equal(msg, "Control character in the request line");
    assert_int_equal(check("GET /x\x01y HTTP/1.1\r\n\r\n"), 400);
    assert_int_equal(check("GET /x\ty HTTP/1.1\r\n\r\n"), 400);
    assert_int_equal(check("GET /x\ry HTTP/1.1\r\n\r\n"), 400);
    assert_int_equal(check("GET /x\x7f HTTP/1.1\r\n\r\n"), 400);
}

static void test_malformed_lines_are_400(void **state)
{
    (void)state;
    assert_int_equal(check("GET  /xend HTTP/1.1\r\n\r\n"), 400);
    assert_string_equal(msg, "Malformed request line");
    assert_int_equal(check("G(T /xend HTTP/1.1\r\n\r\n"), 400);
    assert_int_equal(check("GET /xend HTTP/1.1 \r\n\r\n"), 400);
    assert_int_equal(check("\r\n\r\n"), 400);
    assert_int_equal(check("GET /x HTTP/1.1\r\nNo colon here\r\n\r\n"), 400);
    assert_string_equal(msg, "Malformed header line");
    assert_int_equal(check("GET /x HTTP/1.1\r\nHost : x\r\n\r\n"), 400);
    assert_int_equal(check("GET /x HTTP/1.1\r\n: x\r\n\r\n"), 400);
    assert_int_equal(check("GET /x HTTP/1.1\r\nA: b\r\n c\r\n\r\n"), 400);
    assert_string_equal(msg, "Folded header line not accepted");
    static const char nul[] = "GET /x HTTP/1.1\r\nHost: a\0b\r\n\r\n";
    assert_int_equal(check_len(nul, sizeof(nul) - 1), 400);
    assert_string_equal(msg, "Control character in header Host");
    assert_int_equal(check("POST /x HTTP/1.1\r\nContent-Length: 1x\r\n\r\n"), 400);
    assert_int_equal(check("POST /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n"), 400);
    assert_int_equal(check("POST /x HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"),
                     400);
    assert_string_equal(msg, "Conflicting Content-Length headers");
}

/* A header name is RFC 9110 tokens only: every byte value, in the middle of a name, passes
 * exactly when it is a letter, a digit or one of the tchar punctuation. */
static void test_header_names_take_exactly_the_tchars(void **state)
{
    (void)state;
    static const char punct[] = "!#$%&'*+-.^_`|~";
    for (int c = 0; c < 256; c++) {
        if (c == ':' || c == '\r' || c == '\n')
            continue; /* they end the name or the line */
        bool tchar = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                     (c != 0 && memchr(punct, c, sizeof(punct) - 1));
        char head[64];
        int n = snprintf(head, sizeof(head), "GET /x HTTP/1.1\r\nX-%cY: v\r\n\r\n", 'a');
        head[19] = (char)c; /* the 'a' after "X-" */
        int status = check_len(head, (size_t)n);
        if (status != (tchar ? 0 : 400))
            fail_msg("byte 0x%02x in a header name: status %d", c, status);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ordinary_heads_pass),
        cmocka_unit_test(test_te_with_cl_is_400),
        cmocka_unit_test(test_other_codings_are_501),
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_control_bytes_in_request_line_are_400),
        cmocka_unit_test(test_malformed_lines_are_400),
        cmocka_unit_test(test_header_names_take_exactly_the_tchars),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
