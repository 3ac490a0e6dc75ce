/*
 * The HTTP server in-process: a private event_base, a free loopback port, and a raw
 * non-blocking socket client. The loop is pumped while the client waits, each wait bounded
 * by a deadline (no sleeps).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "gather.h"
#include "support.h"
#include "sxp.h"

static struct event_base *base;
static int baseline_fds;
static struct xend_request *held; /* a request a handler deferred */

/* libevent's calls to epoll_ctl land here (the executable's definition comes first), so a
 * test can see when the server armed a socket's write event. */
static int epollout_arms;

int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
    if (ev != NULL && (op == EPOLL_CTL_ADD || op == EPOLL_CTL_MOD) && (ev->events & EPOLLOUT))
        epollout_arms++;
    return (int)syscall(SYS_epoll_ctl, epfd, op, fd, ev);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void pump(void)
{
    event_base_loop(base, EVLOOP_NONBLOCK);
}

static int count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    for (struct dirent *e; d && (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.')
            n++;
    if (d)
        closedir(d);
    return n;
}

/* Pump until the process has no more descriptors than at setup. */
static bool fds_back_to_baseline(void)
{
    uint64_t deadline = now_ms() + 5000;
    while (now_ms() < deadline) {
        pump();
        if (count_fds() <= baseline_fds)
            return true;
    }
    return false;
}

static int finish_connect(int fd, struct sockaddr *sa, socklen_t sl)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    int r = connect(fd, sa, sl);
    assert_true(r == 0 || errno == EINPROGRESS);
    pump();
    return fd;
}

static int client_tcp(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(xend_http_port())};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    return finish_connect(fd, (struct sockaddr *)&sa, sizeof(sa));
}

static int client_unix(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    assert_true(strlen(path) < sizeof(sa.sun_path));
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    return finish_connect(fd, (struct sockaddr *)&sa, sizeof(sa));
}

/* Send what the server will take; stops early when it stops reading or resets. */
static size_t client_send(int fd, const char *data, size_t len)
{
    size_t off = 0;
    uint64_t deadline = now_ms() + 3000;
    while (off < len && now_ms() < deadline) {
        ssize_t n = send(fd, data + off, len - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            deadline = now_ms() + 3000;
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
            break;
        }
        pump();
    }
    return off;
}

struct resp {
    int status;
    char reason[256];
    char head[4096];
    struct xend_buf body;
    bool eof;
};

static const char *header(const struct resp *r, const char *name)
{
    static char value[512];
    size_t n = strlen(name);
    for (const char *p = strstr(r->head, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
            const char *v = p + 3 + n;
            while (*v == ' ')
                v++;
            size_t k = strcspn(v, "\r");
            snprintf(value, sizeof(value), "%.*s", (int)k, v);
            return value;
        }
    }
    return NULL;
}

/* Read one response (Content-Length, chunked or close-delimited); false on timeout. The
 * bytes after it stay in *pending for the next call. */
static bool client_read(int fd, struct resp *r, struct xend_buf *pending)
{
    memset(r, 0, sizeof(*r));
    uint64_t deadline = now_ms() + 5000;
    for (;;) {
        const char *s = xend_buf_str(pending);
        const char *end = strstr(s, "\r\n\r\n");
        if (end != NULL) {
            size_t hlen = (size_t)(end - s) + 4;
            snprintf(r->head, sizeof(r->head), "%.*s", (int)hlen, s);
            sscanf(r->head, "HTTP/%*d.%*d %d %255[^\r]", &r->status, r->reason);
            const char *cl = header(r, "Content-Length");
            const char *te = header(r, "Transfer-Encoding");
            size_t have = pending->len - hlen;
            if (cl != NULL && have >= (size_t)atol(cl)) {
                size_t blen = (size_t)atol(cl);
                xend_buf_append(&r->body, s + hlen, blen);
                memmove(pending->data, s + hlen + blen, pending->len - hlen - blen);
                pending->len -= hlen + blen;
                pending->data[pending->len] = '\0';
                return true;
            }
            if (te != NULL && strstr(s + hlen, "0\r\n\r\n") != NULL) {
                /* Decode the chunks. */
                const char *p = s + hlen;
                for (;;) {
                    size_t n = strtoul(p, NULL, 16);
                    p = strstr(p, "\r\n") + 2;
                    if (n == 0)
                        break;
                    xend_buf_append(&r->body, p, n);
                    p += n + 2;
                }
                pending->len = 0;
                return true;
            }
            if (cl == NULL && te == NULL && r->eof) {
                xend_buf_append(&r->body, s + hlen, pending->len - hlen);
                pending->len = 0;
                return true;
            }
        }
        if (r->eof || now_ms() > deadline)
            return false;
        char buf[65536];
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n > 0)
            xend_buf_append(pending, buf, (size_t)n);
        else if (n == 0 || (errno != EAGAIN && errno != EINTR))
            r->eof = true;
        else
            pump();
    }
}

/* One request on a fresh connection; the connection is closed afterwards. */
static bool roundtrip(const char *request, struct resp *r)
{
    struct xend_buf pending = XEND_BUF_INIT;
    int fd = client_tcp();
    client_send(fd, request, strlen(request));
    bool ok = client_read(fd, r, &pending);
    close(fd);
    xend_buf_free(&pending);
    return ok;
}

static bool wait_eof(int fd)
{
    uint64_t deadline = now_ms() + 5000;
    while (now_ms() < deadline) {
        char buf[4096];
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            return true;
        if (n < 0)
            pump();
    }
    return false;
}

/* Pump the loop until the deferring handler holds the request (or fail after 5 s). */
static void wait_held(void)
{
    uint64_t deadline = now_ms() + 5000;
    while (held == NULL && now_ms() < deadline)
        pump();
    assert_non_null(held);
}

static void resp_free(struct resp *r)
{
    xend_buf_free(&r->body);
}

/* ---- handlers ---- */

static int h_defer(struct xend_request *req, void *arg)
{
    (void)arg;
    xend_http_host_table()->defer(req);
    held = req;
    return 0;
}

static int h_stream(struct xend_request *req, void *arg)
{
    (void)arg;
    assert_int_equal(xend_http_stream_begin(req, "application/sxp"), 0);
    assert_int_equal(xend_http_stream_write(req, "(event one)\n", 12), 0);
    held = req;
    return 0;
}

static int h_echo(struct xend_request *req, void *arg)
{
    (void)arg;
    const struct xend_host_http *http = xend_http_host_table();
    const struct xend_sxp *cfg;
    int rc = http->arg_sxp(req, "config", &cfg);
    if (rc < 0)
        return rc;
    http->reply_take(req, 201, xend_sxp_copy(cfg));
    return 0;
}

#define BIG_REPLY (4u << 20)

static int h_big(struct xend_request *req, void *arg)
{
    (void)arg;
    char *body = xend_xmalloc(BIG_REPLY);
    for (size_t i = 0; i < BIG_REPLY; i++)
        body[i] = (char)('a' + i % 26);
    xend_http_host_table()->reply_raw(req, 200, "text/plain", body, BIG_REPLY);
    free(body);
    return 0;
}

/* A body in pieces borrowed from here, changed once the handler has returned. */
static char borrowed[BIG_REPLY];

static int h_pieces(struct xend_request *req, void *arg)
{
    (void)arg;
    for (size_t i = 0; i < BIG_REPLY; i++)
        borrowed[i] = (char)('a' + i % 26);
    struct xend_gather g;
    xend_gather_init(&g);
    xend_buf_puts(xend_gather_buf(&g), "(big '");
    for (size_t at = 0; at < BIG_REPLY; at += 1000)
        xend_gather_borrow(&g, borrowed + at, BIG_REPLY - at < 1000 ? BIG_REPLY - at : 1000);
    xend_buf_puts(xend_gather_buf(&g), "')");
    xend_http_reply_sxp_gather(req, 0, &g);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    capture_reset();
    held = NULL;
    base = event_base_new();
    assert_non_null(base);
    assert_int_equal(xend_http_register_core_routes(), 0);
    struct xend_route routes[] = {
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/xend/slow", .op = "wait",
         .fn = h_defer},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET, .path = "/xend/event", .fn = h_stream},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/xend/domain", .op = "create",
         .fn = h_echo},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET, .path = "/xend/big", .fn = h_big},
        {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET, .path = "/xend/pieces", .fn = h_pieces},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        assert_int_equal(xend_http_route_add(NULL, &routes[i]), 0);
    baseline_fds = count_fds();
    struct xend_http_options o = {.address = "127.0.0.1", .port = 0};
    struct xend_err err = {0};
    /* The requests below name the server "x". */
    static const char *const names[] = {"x"};
    struct xend_http_access_options ao = {.names = names, .n_names = 1};
    assert_int_equal(xend_http_access_configure(&ao, &err), 0);
    assert_int_equal(xend_http_start(base, &o, &err), 0);
    assert_true(xend_http_port() > 0);
    baseline_fds = count_fds(); /* with the listener */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    xend_http_stop();
    xend_http_routes_clear();
    xend_http_access_reset();
    event_base_free(base);
    base = NULL;
    return 0;
}

static void test_root_over_keepalive_connection_twice(void **state)
{
    (void)state;
    struct xend_buf pending = XEND_BUF_INIT;
    struct resp r;
    int fd = client_tcp();
    const char *req = "GET /xend HTTP/1.1\r\nHost: x\r\n\r\n";
    for (int i = 0; i < 2; i++) {
        client_send(fd, req, strlen(req));
        assert_true(client_read(fd, &r, &pending));
        assert_int_equal(r.status, 200);
        assert_string_equal(header(&r, "Content-Type"), "application/sxp");
        assert_string_equal(xend_buf_str(&r.body), "(ls node domain console event device vnet)");
        assert_null(header(&r, "Connection"));
        resp_free(&r);
    }
    close(fd);
    xend_buf_free(&pending);
    assert_true(fds_back_to_baseline());
}

/* A client whose small receive buffer makes a large reply a short write for the server. */
static int client_tcp_small_window(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(xend_http_port())};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    return finish_connect(fd, (struct sockaddr *)&sa, sizeof(sa));
}

/* body[0..n) is the alphabet over and over, as h_big and h_pieces write it. */
static void expect_letters(const char *body, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (body[i] != (char)('a' + i % 26))
            fail_msg("byte %zu is %c", i, body[i]);
}

/* The next reply on fd is the root listing; then the connection is closed. */
static void expect_root_then_close(int fd, struct xend_buf *pending)
{
    struct resp r;
    assert_true(client_read(fd, &r, pending));
    assert_int_equal(r.status, 200);
    assert_string_equal(xend_buf_str(&r.body), "(ls node domain console event device vnet)");
    resp_free(&r);
    close(fd);
    xend_buf_free(pending);
    assert_true(fds_back_to_baseline());
}

/* A reply that fits the socket's buffer is written at once: the socket's write event is
 * never armed for it (two epoll_ctl and a loop turn per request otherwise). */
static void test_small_replies_arm_no_write_event(void **state)
{
    (void)state;
    struct xend_buf pending = XEND_BUF_INIT;
    struct resp r;
    int fd = client_tcp();
    const char *req = "GET /xend HTTP/1.1\r\nHost: x\r\n\r\n";
    client_send(fd, req, strlen(req));
    assert_true(client_read(fd, &r, &pending));
    resp_free(&r);
    epollout_arms = 0;
    for (int i = 0; i < 20; i++) {
        client_send(fd, req, strlen(req));
        assert_true(client_read(fd, &r, &pending));
        assert_int_equal(r.status, 200);
        assert_string_equal(xend_buf_str(&r.body), "(ls node domain console event device vnet)");
        resp_free(&r);
    }
    assert_int_equal(epollout_arms, 0);
    close(fd);
    xend_buf_free(&pending);
    assert_true(fds_back_to_baseline());
}

/* A reply the socket cannot take at once: what it took went straight out, the rest
 * follows in order once the client reads, and the connection serves the next request. */
static void test_reply_larger_than_the_socket_buffer_arrives_whole(void **state)
{
    (void)state;
    struct xend_buf pending = XEND_BUF_INIT;
    struct resp r;
    int fd = client_tcp_small_window();
    const char *req = "GET /xend/big HTTP/1.1\r\nHost: x\r\n\r\n"
                      "GET /xend HTTP/1.1\r\nHost: x\r\n\r\n";
    client_send(fd, req, strlen(req));
    for (int i = 0; i < 20; i++)
        pump(); /* the server writes what the socket takes; the client is not reading */
    assert_true(client_read(fd, &r, &pending));
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, BIG_REPLY);
    expect_letters(r.body.data, BIG_REPLY);
    resp_free(&r);
    expect_root_then_close(fd, &pending);
}

/* A body in pieces borrowed from elsewhere (a list's kept info texts): what the socket
 * did not take at once is the server's own copy, so a change of the borrowed bytes right
 * after the handler returned (a domain changed or destroyed) does not reach the wire. */
static void test_borrowed_pieces_arrive_as_they_were_when_sent(void **state)
{
    (void)state;
    struct xend_buf pending = XEND_BUF_INIT;
    struct resp r;
    int fd = client_tcp_small_window();
    const char *req = "GET /xend/pieces HTTP/1.1\r\nHost: x\r\n\r\n"
                      "GET /xend HTTP/1.1\r\nHost: x\r\n\r\n";
    client_send(fd, req, strlen(req));
    for (int i = 0; i < 20; i++)
        pump();
    memset(borrowed, 'X', sizeof(borrowed));
    assert_true(client_read(fd, &r, &pending));
    assert_int_equal(r.status, 200);
    assert_string_equal(header(&r, "Content-Type"), "application/sxp");
    assert_int_equal(r.body.len, BIG_REPLY + 8);
    assert_memory_equal(r.body.data, "(big '", 6);
    expect_letters(r.body.data + 6, BIG_REPLY);
    assert_memory_equal(r.body.data + 6 + BIG_REPLY, "')", 2);
    resp_free(&r);
    expect_root_then_close(fd, &pending);
}

/* A client that asks for JSON gets the pieces' text parsed and rendered as before. */
static void test_pieces_render_as_json(void **state)
{
    (void)state;
    struct resp r;
    assert_true(
        roundtrip("GET /xend/pieces HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n\r\n", &r));
    assert_int_equal(r.status, 200);
    assert_string_equal(header(&r, "Content-Type"), "application/json");
    assert_int_equal(strncmp(r.body.data, "[\"big\", \"abcdefghij", 19), 0);
    resp_free(&r);
    assert_true(fds_back_to_baseline());
}

static void test_pipelined_requests_are_both_answered(void **state)
{
    (void)state;
    struct xend_buf pending = XEND_BUF_INIT;
    struct resp r;
    int fd = client_tcp();
    const char *req =
        "GET /xend HTTP/1.1\r\nHost: x\r\n\r\nGET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n";
    client_send(fd, req, strlen(req));
    assert_true(client_read(fd, &r, &pending));
    assert_int_equal(r.status, 200);
    resp_free(&r);
    assert_true(client_read(fd, &r, &pending));
    assert_int_equal(r.status, 404);
    assert_string_equal(r.reason, "Not found /nowhere");
    resp_free(&r);
    close(fd);
    xend_buf_free(&pending);
    assert_true(fds_back_to_baseline());
}

static void test_request_pipelined_behind_a_deferred_one_waits_its_turn(void **state)
{
    (void)state;
    struct xend_buf pending = XEND_BUF_INIT;
    struct resp r;
    int fd = client_tcp();
    const char *req = "POST /xend/slow?op=wait HTTP/1.1\r\nHost: x\r\n\r\n"
                      "GET /xend HTTP/1.1\r\nHost: x\r\n\r\n";
    client_send(fd, req, strlen(req));
    wait_held();
    for (int i = 0; i < 10; i++)
        pump(); /* the second request must not be answered first, nor kill the first */
    xend_http_host_table()->complete(held, 0);
    held = NULL;
    assert_true(client_read(fd, &r, &pending));
    assert_int_equal(r.status, 200);
    assert_string_equal(xend_buf_str(&r.body), "0");
    resp_free(&r);
    assert_true(client_read(fd, &r, &pending));
    assert_int_equal(r.status, 200);
    assert_string_equal(xend_buf_str(&r.body), "(ls node domain console event device vnet)");
    resp_free(&r);
    close(fd);
    xend_buf_free(&pending);
    assert_true(fds_back_to_baseline());
}

static void test_http10_reply_closes_the_connection(void **state)
{
    (void)state;
    struct xend_buf pending = XEND_BUF_INIT;
    struct resp r;
    int fd = client_tcp();
    const char *req = "GET /xend/ HTTP/1.0\r\n\r\n";
    client_send(fd, req, strlen(req));
    assert_true(client_read(fd, &r, &pending));
    assert_true(strncmp(r.head, "HTTP/1.0 200 OK\r\n", 17) == 0);
    assert_string_equal(header(&r, "Connection"), "close");
    assert_true(wait_eof(fd));
    close(fd);
    resp_free(&r);
    xend_buf_free(&pending);
}

static void test_10mb_body_gets_413_and_server_keeps_serving(void **state)
{
    (void)state;
    struct xend_buf pending = XEND_BUF_INIT;
    struct resp r;
    int fd = client_tcp();
    const char *head = "POST /xend/domain HTTP/1.1\r\nHost: x\r\n"
                       "Content-Type: application/x-www-form-urlencoded\r\n"
                       "Content-Length: 10485760\r\n\r\n";
    client_send(fd, head, strlen(head));
    size_t chunk = 1 << 20;
    char *body = malloc(chunk);
    memset(body, 'a', chunk);
    client_send(fd, body, chunk); /* the server drains it or stops reading: either is fine */
    free(body);
    assert_true(client_read(fd, &r, &pending));
    assert_int_equal(r.status, 413);
    assert_non_null(strstr(r.reason, "Request body too large"));
    assert_string_equal(header(&r, "Connection"), "close");
    assert_non_null(strstr(xend_buf_str(&r.body), "xend.err"));
    close(fd);
    resp_free(&r);
    xend_buf_free(&pending);

    assert_true(roundtrip("GET /xend HTTP/1.1\r\nHost: x\r\n\r\n", &r));
    assert_int_equal(r.status, 200);
    resp_free(&r);
    assert_true(fds_back_to_baseline());
}

static void test_long_uri_gets_414_and_server_keeps_serving(void **state)
{
    (void)state;
    struct xend_buf req = XEND_BUF_INIT;
    struct resp r;
    xend_buf_puts(&req, "GET /xend/");
    for (int i = 0; i < 6000; i++)
        xend_buf_putc(&req, 'a');
    xend_buf_puts(&req, " HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_true(roundtrip(xend_buf_str(&req), &r));
    xend_buf_free(&req);
    assert_int_equal(r.status, 414);
    assert_non_null(strstr(r.reason, "Request line too long"));
    resp_free(&r);

    assert_true(roundtrip("GET /xend HTTP/1.1\r\nHost: x\r\n\r\n", &r));
    assert_int_equal(r.status, 200);
    resp_free(&r);
    assert_true(fds_back_to_baseline());
}

static void test_huge_header_gets_431(void **state)
{
    (void)state;
    struct xend_buf req = XEND_BUF_INIT;
    struct resp r;
    xend_buf_puts(&req, "GET /xend HTTP/1.1\r\nX-Big: ");
    for (int i = 0; i < 20000; i++)
        xend_buf_putc(&req, 'b');
    xend_buf_puts(&req, "\r\n\r\n");
    assert_true(roundtrip(xend_buf_str(&req), &r));
    xend_buf_free(&req);
    assert_int_equal(r.status, 431);
    resp_free(&r);
    assert_true(fds_back_to_baseline());
}

static void test_malformed_query_escape_gets_400(void **state)
{
    (void)state;
    struct resp r;
    assert_true(roundtrip("GET /xend?op=%zz HTTP/1.1\r\nHost: x\r\n\r\n", &r));
    assert_int_equal(r.status, 400);
    resp_free(&r);
}

static void test_unknown_op_reason_phrase_on_the_wire(void **state)
{
    (void)state;
    struct resp r;
    assert_true(roundtrip("POST /xend/domain HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n"
                          "Content-Type: application/x-www-form-urlencoded\r\n\r\nop=foo",
                          &r));
    assert_int_equal(r.status, 501);
    assert_string_equal(r.reason, "Operation not implemented: foo");
    assert_string_equal(xend_buf_str(&r.body), "Operation not implemented: foo");
    resp_free(&r);
}

static void test_multipart_create_from_the_2_0_client(void **state)
{
    (void)state;
    const char body[] = "--0123456789abcdef\r\nContent-Disposition: form-data; name=\"config\"; "
                        "filename=\"vm1\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                        "(vm (name vm1))--0123456789abcdef\r\nContent-Disposition: form-data; "
                        "name=\"op\"\r\n\r\ncreate\r\n--0123456789abcdef--\r\n";
    char req[1024];
    snprintf(req, sizeof(req),
             "POST /xend/domain HTTP/1.1\r\nHost: x\r\nAccept-Encoding: identity\r\n"
             "Content-Type: multipart/form-data; boundary=0123456789abcdef\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             sizeof(body) - 1, body);
    struct resp r;
    assert_true(roundtrip(req, &r));
    assert_int_equal(r.status, 201);
    assert_string_equal(r.reason, "Created");
    assert_string_equal(xend_buf_str(&r.body), "(vm (name vm1))");
    resp_free(&r);
}

static void test_deferred_request_survives_client_leaving(void **state)
{
    (void)state;
    int fd = client_tcp();
    const char *req = "POST /xend/slow?op=wait HTTP/1.1\r\nHost: x\r\n\r\n";
    client_send(fd, req, strlen(req));
    wait_held();
    close(fd);
    assert_true(fds_back_to_baseline());       /* the server noticed and closed its side */
    xend_http_host_table()->complete(held, 0); /* a tombstone: freed, nothing written */
    held = NULL;
}

static void test_deferred_request_replies_later_on_the_wire(void **state)
{
    (void)state;
    struct xend_buf pending = XEND_BUF_INIT;
    struct resp r;
    int fd = client_tcp();
    const char *req = "POST /xend/slow?op=wait HTTP/1.1\r\nHost: x\r\n\r\n";
    client_send(fd, req, strlen(req));
    wait_held();
    const struct xend_host_http *http = xend_http_host_table();
    http->reply_take(held, 202, xend_sxp_atom("0"));
    http->complete(held, 0);
    assert_true(client_read(fd, &r, &pending));
    assert_int_equal(r.status, 202);
    assert_string_equal(r.reason, "Accepted");
    close(fd);
    resp_free(&r);
    xend_buf_free(&pending);
}

static void test_stream_is_chunked_and_ends(void **state)
{
    (void)state;
    struct xend_buf pending = XEND_BUF_INIT;
    struct resp r;
    int fd = client_tcp();
    const char *req = "GET /xend/event?follow=1 HTTP/1.1\r\nHost: x\r\n\r\n";
    client_send(fd, req, strlen(req));
    wait_held();
    assert_int_equal(xend_http_stream_write(held, "(event two)\n", 12), 0);
    xend_http_stream_end(held);
    held = NULL;
    assert_true(client_read(fd, &r, &pending));
    assert_int_equal(r.status, 200);
    assert_string_equal(header(&r, "Transfer-Encoding"), "chunked");
    assert_string_equal(xend_buf_str(&r.body), "(event one)\n(event two)\n");
    close(fd);
    resp_free(&r);
    xend_buf_free(&pending);
}

static int stream_closed;
static void on_stream_closed(struct xend_request *req, void *arg)
{
    (void)arg;
    (void)req;
    stream_closed++;
}

static void test_stream_learns_the_client_left(void **state)
{
    (void)state;
    stream_closed = 0;
    int fd = client_tcp();
    const char *req = "GET /xend/event?follow=1 HTTP/1.1\r\nHost: x\r\n\r\n";
    client_send(fd, req, strlen(req));
    wait_held();
    xend_http_stream_on_close(held, on_stream_closed, NULL);
    close(fd);
    uint64_t deadline = now_ms() + 5000;
    while (stream_closed == 0 && now_ms() < deadline)
        pump();
    assert_int_equal(stream_closed, 1);
    assert_int_equal(xend_http_stream_write(held, "x", 1), -XEND_EIO);
    xend_http_stream_end(held);
    held = NULL;
}

static void test_stop_frees_open_keepalive_connections(void **state)
{
    (void)state;
    struct xend_buf pending = XEND_BUF_INIT;
    struct resp r;
    int fd = client_tcp();
    const char *req = "GET /xend HTTP/1.1\r\nHost: x\r\n\r\n";
    client_send(fd, req, strlen(req));
    assert_true(client_read(fd, &r, &pending));
    resp_free(&r);
    xend_http_stop(); /* the connection is still open: stop closes it (LSan checks frees) */
    assert_true(wait_eof(fd));
    close(fd);
    xend_buf_free(&pending);
}

static void test_unix_socket_replaces_a_stale_file(void **state)
{
    (void)state;
    xend_http_stop();
    char dir[] = "/tmp/xend-http-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[96];
    snprintf(path, sizeof(path), "%s/xend.sock", dir);
    /* A socket file left behind by a dead xend. */
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, path, strlen(path) + 1);
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(s);

    struct xend_http_options o = {.address = "127.0.0.1", .port = 0, .unix_path = path};
    struct xend_err err = {0};
    assert_int_equal(xend_http_start(base, &o, &err), 0);

    struct xend_buf pending = XEND_BUF_INIT;
    struct resp r;
    int fd = client_unix(path);
    const char *req = "GET /xend HTTP/1.1\r\nHost: x\r\n\r\n";
    client_send(fd, req, strlen(req));
    assert_true(client_read(fd, &r, &pending));
    assert_int_equal(r.status, 200);
    resp_free(&r);
    close(fd);
    xend_buf_free(&pending);

    xend_http_stop();
    assert_int_equal(access(path, F_OK), -1); /* removed at stop */

    /* A socket somebody still listens on is not taken over. */
    s = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(s, 1), 0);
    xend_err_clear(&err);
    assert_int_equal(xend_http_start(base, &o, &err), -XEND_EEXIST);
    assert_non_null(strstr(err.msg, "in use"));
    close(s);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_root_over_keepalive_connection_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_small_replies_arm_no_write_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_larger_than_the_socket_buffer_arrives_whole,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_borrowed_pieces_arrive_as_they_were_when_sent, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pieces_render_as_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_requests_are_both_answered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_pipelined_behind_a_deferred_one_waits_its_turn,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_http10_reply_closes_the_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_10mb_body_gets_413_and_server_keeps_serving, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_long_uri_gets_414_and_server_keeps_serving, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_huge_header_gets_431, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_query_escape_gets_400, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_op_reason_phrase_on_the_wire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multipart_create_from_the_2_0_client, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deferred_request_survives_client_leaving, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_deferred_request_replies_later_on_the_wire, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stream_is_chunked_and_ends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_learns_the_client_left, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_frees_open_keepalive_connections, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unix_socket_replaces_a_stale_file, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
