/*
 * /xend/event through the real HTTP layer (core/http) in process: a private event_base, a
 * free 127.0.0.1 port, a raw socket client; the loop is turned while the client waits,
 * each wait bounded by a deadline.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "event/event.h"
#include "event/event_http.h"
#include "event/history.h"
#include "http/server.h"
#include "owner.h"
#include "sxp.h"

const char *xend_plugin_name(const struct xend_plugin *p)
{
    return p ? "plugin" : "core";
}

static struct event_base *base;

static int setup(void **state)
{
    (void)state;
    base = event_base_new();
    struct xend_http_options o = {.address = "127.0.0.1", .port = 0};
    struct xend_err err = {0};
    if (xend_http_start(base, &o, &err) != 0 || xend_event_http_register() != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    xend_event_http_close_followers();
    xend_http_stop();
    xend_http_routes_clear();
    xend_event_reset();
    event_base_free(base);
    return 0;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int client(const char *request)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)xend_http_port()),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    assert_true(rc == 0 || errno == EINPROGRESS);
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    for (long long dl = now_ms() + 5000; poll(&p, 1, 0) != 1;) {
        assert_true(now_ms() < dl);
        event_base_loop(base, EVLOOP_NONBLOCK | EVLOOP_ONCE);
    }
    size_t len = strlen(request);
    assert_int_equal(send(fd, request, len, MSG_NOSIGNAL), (ssize_t)len);
    return fd;
}

/* Turn the loop once and append what fd has to buf (NUL-terminated); false on EOF. */
static bool read_more(int fd, char *buf, size_t cap)
{
    event_base_loop(base, EVLOOP_NONBLOCK | EVLOOP_ONCE);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 5) == 1) {
        size_t have = strlen(buf);
        ssize_t n = recv(fd, buf + have, cap - 1 - have, 0);
        if (n == 0)
            return false;
        if (n > 0)
            buf[have + (size_t)n] = '\0';
    }
    return true;
}

/* Read from fd into buf (NUL-terminated) until it contains want; false on EOF. */
static bool read_until(int fd, char *buf, size_t cap, const char *want)
{
    for (long long dl = now_ms() + 5000;;) {
        if (strstr(buf, want) != NULL)
            return true;
        assert_true(now_ms() < dl);
        if (!read_more(fd, buf, cap))
            return false;
    }
}

static void turn_until_followers(unsigned n)
{
    for (long long dl = now_ms() + 5000; xend_event_http_followers() != n;) {
        assert_true(now_ms() < dl);
        event_base_loop(base, EVLOOP_NONBLOCK | EVLOOP_ONCE);
    }
}

static void test_get_lists_nothing(void **state)
{
    (void)state;
    char buf[4096] = "";
    int fd = client("GET /xend/event HTTP/1.0\r\n\r\n");
    assert_false(read_until(fd, buf, sizeof(buf), "never"));
    assert_non_null(strstr(buf, "HTTP/1.0 200"));
    assert_non_null(strstr(buf, "\r\n\r\n(ls)"));
    close(fd);
}

static char seen[256];

static void on_any(const char *name, const struct xend_sxp *value, void *arg)
{
    (void)arg;
    char *v = xend_sxp_print(value);
    snprintf(seen, sizeof(seen), "%s %s", name, v);
    free(v);
}

static void test_inject_delivers_the_event_named_by_its_head(void **state)
{
    (void)state;
    int owner = 0;
    assert_int_equal(xend_event_subscribe(&owner, "*", on_any, NULL), 0);
    const char *body = "op=inject&event=%28foo.bar+1+%27two+words%27%29";
    char req[512], buf[4096] = "";
    snprintf(req, sizeof(req),
             "POST /xend/event HTTP/1.0\r\nContent-Type: application/x-www-form-urlencoded\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    int fd = client(req);
    assert_false(read_until(fd, buf, sizeof(buf), "never"));
    assert_non_null(strstr(buf, "HTTP/1.0 200"));
    assert_non_null(strstr(buf, "\r\n\r\n0"));
    assert_string_equal(seen, "foo.bar (foo.bar 1 'two words')");
    close(fd);

    /* An atom names no event: an operation error, and nothing delivered. */
    seen[0] = '\0';
    body = "op=inject&event=foo";
    snprintf(req, sizeof(req),
             "POST /xend/event HTTP/1.0\r\nContent-Type: application/x-www-form-urlencoded\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    buf[0] = '\0';
    fd = client(req);
    assert_false(read_until(fd, buf, sizeof(buf), "never"));
    assert_non_null(strstr(buf, "(xend.err 'invalid event"));
    assert_string_equal(seen, "");
    close(fd);
}

static void test_follow_streams_events_until_the_client_goes(void **state)
{
    (void)state;
    char buf[8192] = "";
    int fd = client("GET /xend/event?follow=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    turn_until_followers(1);
    assert_true(read_until(fd, buf, sizeof(buf), "\r\n\r\n"));
    assert_non_null(strstr(buf, "HTTP/1.1 200"));
    assert_non_null(strstr(buf, "Transfer-Encoding: chunked"));
    struct xend_sxp *v = xend_sxp_list_of("vm1", "7", NULL);
    xend_event_emit("xend.domain.create", v);
    xend_event_emit("xend.domain.unpause", v);
    xend_sxp_free(v);
    assert_true(read_until(fd, buf, sizeof(buf), "(event xend.domain.create (vm1 7))\n"));
    assert_true(read_until(fd, buf, sizeof(buf), "(event xend.domain.unpause (vm1 7))\n"));
    /* The client goes: the follower and its subscription go with it. */
    close(fd);
    turn_until_followers(0);
    assert_int_equal(xend_event_count(), 0);
}

static void test_follow_with_a_pattern_and_stop_ends_the_stream(void **state)
{
    (void)state;
    char buf[8192] = "";
    int fd = client(
        "GET /xend/event?follow=1&pattern=xend.console.* HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    turn_until_followers(1);
    xend_event_emit("xend.domain.create", NULL);
    xend_event_emit("xend.console.close", NULL);
    assert_true(read_until(fd, buf, sizeof(buf), "(event xend.console.close)\n"));
    assert_null(strstr(buf, "xend.domain.create"));
    /* Shutdown ends the stream with the last chunk. */
    xend_event_http_close_followers();
    assert_true(read_until(fd, buf, sizeof(buf), "\r\n0\r\n\r\n"));
    assert_int_equal(xend_event_http_followers(), 0);
    assert_int_equal(xend_event_count(), 0);
    close(fd);

    /* A bad pattern is refused before any stream starts. */
    buf[0] = '\0';
    fd = client("GET /xend/event?follow=1&pattern=a..b HTTP/1.0\r\n\r\n");
    assert_false(read_until(fd, buf, sizeof(buf), "never"));
    assert_non_null(strstr(buf, "invalid event pattern: a..b"));
    close(fd);
}

static void test_a_follower_that_does_not_read_is_dropped(void **state)
{
    (void)state;
    char buf[8192] = "";
    int fd = client("GET /xend/event?follow=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    turn_until_followers(1);
    assert_true(read_until(fd, buf, sizeof(buf), "\r\n\r\n"));
    char *big = malloc(65536);
    memset(big, 'x', 65535);
    big[65535] = '\0';
    struct xend_sxp *v = xend_sxp_list_of("big", big, NULL);
    free(big);
    /* More than the HTTP layer's 8 MiB backlog while the loop does not turn. */
    for (int i = 0; i < 160 && xend_event_http_followers() > 0; i++)
        xend_event_emit("xend.flood", v);
    xend_sxp_free(v);
    assert_int_equal(xend_event_http_followers(), 0);
    assert_int_equal(xend_event_count(), 0);
    close(fd);
}

/* The body of a chunked reply read so far, its framing removed, up to the last whole
 * chunk. */
static void dechunk(const char *raw, char *body, size_t cap)
{
    const char *p = strstr(raw, "\r\n\r\n");
    size_t n = 0;
    body[0] = '\0';
    if (p == NULL)
        return;
    for (p += 4;;) {
        char *end;
        unsigned long len = strtoul(p, &end, 16);
        if (end == p || strncmp(end, "\r\n", 2) != 0 || strlen(end + 2) < len + 2 || len == 0)
            return;
        assert_true(n + len < cap);
        memcpy(body + n, end + 2, len);
        body[n += len] = '\0';
        p = end + 2 + len + 2;
    }
}

/* Followers of every line form at once, two of each, each written exactly its own bytes:
 * one formatting per form per event must give all of them what each would have made. */
static void test_followers_of_every_form_get_their_own_lines_exactly(void **state)
{
    (void)state;
    static const char *query[] = {"follow=1", "follow=1&format=sxp", "follow=1&format=json",
                                  "follow=1&format=sse"};
    enum { N = 8 };
    int fd[N];
    static char raw[N][8192];
    for (int i = 0; i < N; i++) {
        char req[256];
        snprintf(req, sizeof(req), "GET /xend/event?%s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                 query[i % 4]);
        fd[i] = client(req);
        turn_until_followers((unsigned)i + 1);
        raw[i][0] = '\0';
        assert_true(read_until(fd[i], raw[i], sizeof(raw[i]), "\r\n\r\n"));
    }
    struct xend_sxp *v = xend_sxp_list_of("vm1", NULL);
    xend_sxp_add_kv_int(v, "id", 7);
    xend_sxp_add_kv(v, "note", "two words");
    uint64_t first = xend_event_history_last() + 1;
    xend_event_emit("xend.domain.create", v);
    xend_event_emit("xend.console.close", NULL);
    xend_sxp_free(v);
    const char *e = xend_event_history_epoch();
    unsigned long long s1 = first, s2 = first + 1;
    char want[4][1024];
    snprintf(want[0], sizeof(want[0]),
             "(event xend.domain.create (vm1 (id 7) (note 'two words')))\n"
             "(event xend.console.close)\n");
    snprintf(want[1], sizeof(want[1]),
             "(event (seq %llu) (epoch %s) (name xend.domain.create) (value (vm1 (id 7) (note "
             "'two words'))))\n"
             "(event (seq %llu) (epoch %s) (name xend.console.close) (value))\n",
             s1, e, s2, e);
    char json1[256], json2[256];
    snprintf(json1, sizeof(json1),
             "{\"event\": {\"seq\": %llu, \"epoch\": \"%s\", \"name\": \"xend.domain.create\", "
             "\"value\": {\"vm1\": {\"id\": 7, \"note\": \"two words\"}}}}",
             s1, e);
    snprintf(json2, sizeof(json2),
             "{\"event\": {\"seq\": %llu, \"epoch\": \"%s\", \"name\": \"xend.console.close\", "
             "\"value\": null}}",
             s2, e);
    snprintf(want[2], sizeof(want[2]), "%s\n%s\n", json1, json2);
    snprintf(want[3], sizeof(want[3]), "id: %llu\ndata: %s\n\nid: %llu\ndata: %s\n\n", s1, json1,
             s2, json2);
    for (int i = 0; i < N; i++) {
        char body[4096];
        for (long long dl = now_ms() + 5000;;) {
            dechunk(raw[i], body, sizeof(body));
            if (strlen(body) >= strlen(want[i % 4]))
                break;
            assert_true(now_ms() < dl);
            assert_true(read_more(fd[i], raw[i], sizeof(raw[i])));
        }
        assert_string_equal(body, want[i % 4]);
        close(fd[i]);
    }
    turn_until_followers(0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_get_lists_nothing),
        T(test_inject_delivers_the_event_named_by_its_head),
        T(test_follow_streams_events_until_the_client_goes),
        T(test_follow_with_a_pattern_and_stop_ends_the_stream),
        T(test_a_follower_that_does_not_read_is_dropped),
        T(test_followers_of_every_form_get_their_own_lines_exactly),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
