/*
 * Unit tests of the event/debug TCP port (core/event/event_port.c), in process: the port
 * runs on a private event_base on a free 127.0.0.1 port and the test is its client,
 * turning the loop while it waits (with a deadline) for what it expects.
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

#include "buf.h"
#include "event/event.h"
#include "event/event_port.h"
#include "log/trace.h"
#include "sxp.h"

struct fx {
    struct event_base *base;
    struct xend_event_port *port;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->base = event_base_new();
    struct xend_err err = {0};
    f->port = xend_event_port_start(f->base, "127.0.0.1", 0, &err);
    if (f->port == NULL) {
        fprintf(stderr, "%s\n", xend_err_msg(&err));
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    xend_event_port_stop(f->port);
    event_base_free(f->base);
    xend_event_reset();
    free(f);
    return 0;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int client(struct fx *f)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)xend_event_port_number(f->port)),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    assert_true(rc == 0 || errno == EINPROGRESS);
    /* Let the port accept it (and subscribe it to everything). */
    unsigned before = xend_event_port_connections(f->port);
    for (long long dl = now_ms() + 5000; xend_event_port_connections(f->port) == before;) {
        assert_true(now_ms() < dl);
        event_base_loop(f->base, EVLOOP_NONBLOCK | EVLOOP_ONCE);
        poll(NULL, 0, 1);
    }
    return fd;
}

static void send_text(int fd, const char *text)
{
    size_t len = strlen(text);
    assert_int_equal(send(fd, text, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Per-client input kept between reads (messages may arrive together). */
static char pending[8][8192];

/* One turn of the port's loop, then what fd has to read appended to its pending text.
 * False when the port closed the connection. */
static bool read_more(struct fx *f, int fd)
{
    char *buf = pending[fd % 8];
    event_base_loop(f->base, EVLOOP_NONBLOCK | EVLOOP_ONCE);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 5) == 1) {
        size_t have = strlen(buf);
        ssize_t n = recv(fd, buf + have, 8191 - have, 0);
        if (n == 0)
            return false;
        if (n > 0)
            buf[have + (size_t)n] = '\0';
    }
    return true;
}

/*
 * The next message (text before the empty line, joined into one line) from fd, turning
 * the loop until it arrives; "" when the port closed the connection.
 */
static void next_message(struct fx *f, int fd, char *out, size_t len)
{
    char *buf = pending[fd % 8];
    for (long long dl = now_ms() + 5000;;) {
        char *end = strstr(buf, "\n\n");
        if (end != NULL) {
            *end = '\0';
            size_t j = 0;
            for (char *p = buf; *p && j + 1 < len; p++) {
                if (*p == '\n') {
                    while (p[1] == ' ')
                        p++;
                    out[j++] = ' ';
                } else {
                    out[j++] = *p;
                }
            }
            out[j] = '\0';
            memmove(buf, end + 2, strlen(end + 2) + 1);
            return;
        }
        assert_true(now_ms() < dl);
        if (!read_more(f, fd)) {
            out[0] = '\0';
            return;
        }
    }
}

/* Turn the loop until the port has dropped fd (the client sees EOF). */
static void assert_dropped(struct fx *f, int fd)
{
    char msg[256];
    next_message(f, fd, msg, sizeof(msg));
    assert_string_equal(msg, "");
}

static void request(struct fx *f, int fd, const char *req, const char *want)
{
    char msg[1024];
    send_text(fd, req);
    next_message(f, fd, msg, sizeof(msg));
    assert_string_equal(msg, want);
}

static void test_help_and_info_reply_ok(void **state)
{
    struct fx *f = *state;
    int fd = client(f);
    memset(pending, 0, sizeof(pending));
    request(f, fd, "(help)",
            "(ok (console.disconnect help info quit sys.inject sys.subscribe trace))");
    request(f, fd, "  # a comment (with a paren\n(info)",
            "(ok (info (connections 1) (subscriptions 1) (trace off)))");
    close(fd);
}

static void test_inject_reaches_every_connection_subscribed_to_everything(void **state)
{
    struct fx *f = *state;
    memset(pending, 0, sizeof(pending));
    int a = client(f), b = client(f);
    char msg[1024];
    /* The reply first, then the event, to the injecting connection too. */
    request(f, a, "(sys.inject (foo.bar 1 'two words'))", "(ok (ok))");
    next_message(f, a, msg, sizeof(msg));
    assert_string_equal(msg, "(event foo.bar (foo.bar 1 'two words'))");
    next_message(f, b, msg, sizeof(msg));
    assert_string_equal(msg, "(event foo.bar (foo.bar 1 'two words'))");
    /* Events of the bus reach them too, in order. */
    struct xend_sxp *v = xend_sxp_list_of("vm1", "7", NULL);
    xend_event_emit("xend.domain.create", v);
    xend_event_emit("xend.domain.unpause", v);
    xend_sxp_free(v);
    next_message(f, b, msg, sizeof(msg));
    assert_string_equal(msg, "(event xend.domain.create (vm1 7))");
    next_message(f, b, msg, sizeof(msg));
    assert_string_equal(msg, "(event xend.domain.unpause (vm1 7))");
    close(a);
    close(b);
}

static void test_subscribe_replaces_the_patterns(void **state)
{
    struct fx *f = *state;
    memset(pending, 0, sizeof(pending));
    int fd = client(f);
    char msg[1024];
    request(f, fd, "(sys.subscribe xend.domain.? xend.console.*)", "(ok (ok))");
    xend_event_emit("xend.start", NULL);      /* no longer subscribed to * */
    xend_event_emit("xend.domain.a.b", NULL); /* ? is one segment */
    xend_event_emit("xend.console.close", NULL);
    struct xend_sxp *v = xend_sxp_list_of("vm1", "7", NULL);
    xend_event_emit("xend.domain.pause", v);
    xend_sxp_free(v);
    next_message(f, fd, msg, sizeof(msg));
    assert_string_equal(msg, "(event xend.console.close)");
    next_message(f, fd, msg, sizeof(msg));
    assert_string_equal(msg, "(event xend.domain.pause (vm1 7))");
    /* Requests split across writes are put back together. */
    send_text(fd, "(sys.sub");
    event_base_loop(f->base, EVLOOP_NONBLOCK | EVLOOP_ONCE);
    request(f, fd, "scribe)", "(ok (ok))");
    xend_event_emit("xend.domain.pause", NULL);
    request(f, fd, "(sys.inject (x.y))", "(ok (ok))"); /* nothing in between: no events */
    close(fd);
}

static const char *disconnect_seen;
static char disconnect_buf[128];

static void on_disconnect(const char *name, const struct xend_sxp *value, void *arg)
{
    (void)name;
    (void)arg;
    char *p = xend_sxp_print(value);
    snprintf(disconnect_buf, sizeof(disconnect_buf), "%s", p);
    free(p);
    disconnect_seen = disconnect_buf;
}

static void test_console_disconnect_is_forwarded_to_the_console_plugin(void **state)
{
    struct fx *f = *state;
    memset(pending, 0, sizeof(pending));
    int owner = 0;
    assert_int_equal(
        xend_event_subscribe(&owner, "xend.console.disconnect.request", on_disconnect, NULL), 0);
    int fd = client(f);
    request(f, fd, "(sys.subscribe nothing)", "(ok (ok))");
    request(f, fd, "(console.disconnect (id 12))", "(ok (ok))");
    assert_non_null(disconnect_seen);
    assert_string_equal(disconnect_seen, "(console.disconnect (id 12))");
    /* A bad id drops the connection, as the original did. */
    send_text(fd, "(console.disconnect (id twelve))");
    assert_dropped(f, fd);
    close(fd);
}

static void test_bad_requests_drop_the_connection(void **state)
{
    struct fx *f = *state;
    const char *bad[] = {"(no.such.op)\n",       "1help\n",      ")\n",
                         "(sys.subscribe a..b)", "(sys.inject)", "(sys.inject atom)",
                         "(trace maybe)",        "((nested))"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(pending, 0, sizeof(pending));
        int fd = client(f);
        send_text(fd, bad[i]);
        assert_dropped(f, fd);
        close(fd);
        /* the port itself carries on, and the connection's subscription is gone */
        for (long long dl = now_ms() + 5000; xend_event_port_connections(f->port) != 0;) {
            assert_true(now_ms() < dl);
            event_base_loop(f->base, EVLOOP_NONBLOCK | EVLOOP_ONCE);
        }
        assert_int_equal(xend_event_count(), 0);
    }
}

static void test_trace_and_quit(void **state)
{
    struct fx *f = *state;
    memset(pending, 0, sizeof(pending));
    int fd = client(f);
    /* without a trace-file: a readable refusal, the connection stays */
    request(f, fd, "(trace on)", "(xend.err 'no trace-file is set')");
    char path[] = "/tmp/xend-trace-port.XXXXXX";
    int tfd = mkstemp(path);
    assert_true(tfd >= 0);
    close(tfd);
    xend_trace_set_path(path);
    request(f, fd, "(trace on)", "(ok 'None')");
    assert_true(xend_trace_enabled());
    request(f, fd, "(trace off)", "(ok 'None')");
    assert_false(xend_trace_enabled());
    xend_trace_reset();
    unlink(path);
    request(f, fd, "(quit)", "(ok 'None')");
    assert_dropped(f, fd);
    close(fd);
}

/* Read from fd until needle has arrived (turning the loop); the text read is dropped. */
static void wait_text(struct fx *f, int fd, const char *needle)
{
    char *buf = pending[fd % 8];
    for (long long dl = now_ms() + 5000; strstr(buf, needle) == NULL;) {
        assert_true(now_ms() < dl);
        assert_true(read_more(f, fd)); /* the port must not close before needle */
    }
    buf[0] = '\0';
}

static void info_lines(struct xend_buf *out)
{
    xend_buf_puts(out, "device controllers:\n  vif: vm1 (3): 0\n");
}

/* The manual's debugging interface: help, info, traceon, traceoff, quit, typed by a person. */
static void test_plain_commands_answer_a_person(void **state)
{
    struct fx *f = *state;
    memset(pending, 0, sizeof(pending));
    char path[] = "/tmp/xend-trace-plain.XXXXXX";
    int tfd = mkstemp(path);
    assert_true(tfd >= 0);
    close(tfd);
    xend_trace_set_path(path);
    xend_event_port_set_info(f->port, info_lines);
    int fd = client(f);
    send_text(fd, "help\n");
    wait_text(f, fd, "traceoff  stop tracing\n");
    send_text(fd, "  info \r\n");
    wait_text(f, fd, "trace: off\ndevice controllers:\n  vif: vm1 (3): 0\n");
    send_text(fd, "traceon\n");
    wait_text(f, fd, "trace on, to /tmp/xend-trace-plain.");
    assert_true(xend_trace_enabled());
    send_text(fd, "info\n");
    wait_text(f, fd, "trace: on, to ");
    send_text(fd, "traceoff\n");
    wait_text(f, fd, "trace off\n");
    assert_false(xend_trace_enabled());
    send_text(fd, "frobnicate\n");
    wait_text(f, fd, "unknown command 'frobnicate': try help\n");
    /* what was typed while tracing is in the trace file */
    char buf[1024] = {0};
    FILE *tf = fopen(path, "r");
    assert_non_null(tf);
    assert_true(fread(buf, 1, sizeof(buf) - 1, tf) > 0);
    fclose(tf);
    assert_non_null(strstr(buf, " debug peer=127.0.0.1:"));
    assert_non_null(strstr(buf, " info\n"));
    send_text(fd, "quit\n");
    wait_text(f, fd, "bye\n");
    assert_dropped(f, fd);
    close(fd);
    xend_event_port_set_info(f->port, NULL);
    xend_trace_reset();
    unlink(path);
}

static void test_long_messages_are_pretty_printed_over_several_lines(void **state)
{
    struct fx *f = *state;
    memset(pending, 0, sizeof(pending));
    int fd = client(f);
    struct xend_sxp *v = xend_sxp_list_of("domain", NULL);
    xend_sxp_add_kv(v, "name", "a-domain-with-a-rather-long-name");
    xend_sxp_add_kv(v, "image", "/boot/vmlinuz-2.6.9-xenU");
    xend_event_emit("xend.domain.create", v);
    xend_sxp_free(v);
    char raw[1024] = "";
    for (long long dl = now_ms() + 5000; strstr(raw, "\n\n") == NULL;) {
        assert_true(now_ms() < dl);
        event_base_loop(f->base, EVLOOP_NONBLOCK | EVLOOP_ONCE);
        ssize_t n = recv(fd, raw + strlen(raw), sizeof(raw) - 1 - strlen(raw), 0);
        if (n > 0)
            raw[strlen(raw) + (size_t)n] = '\0';
    }
    assert_string_equal(raw, "(event\n"
                             "    xend.domain.create\n"
                             "    (domain\n"
                             "        (name a-domain-with-a-rather-long-name)\n"
                             "        (image /boot/vmlinuz-2.6.9-xenU)\n"
                             "    )\n"
                             ")\n\n");
    close(fd);
}

static void test_a_client_that_does_not_read_is_dropped(void **state)
{
    struct fx *f = *state;
    int fd = client(f);
    char *big = malloc(65536);
    memset(big, 'x', 65535);
    big[65535] = '\0';
    struct xend_sxp *v = xend_sxp_list_of("big", big, NULL);
    free(big);
    /* 8 MiB of events while the loop does not turn: nothing can reach the socket. */
    for (int i = 0; i < 128; i++)
        xend_event_emit("xend.flood", v);
    xend_sxp_free(v);
    assert_int_equal(xend_event_count(), 0); /* unsubscribed at once */
    for (long long dl = now_ms() + 5000; xend_event_port_connections(f->port) != 0;) {
        assert_true(now_ms() < dl);
        event_base_loop(f->base, EVLOOP_NONBLOCK | EVLOOP_ONCE);
    }
    close(fd);
}

static void test_second_port_on_the_same_address_is_refused(void **state)
{
    struct fx *f = *state;
    struct xend_err err = {0};
    assert_null(xend_event_port_start(f->base, "127.0.0.1", xend_event_port_number(f->port), &err));
    assert_int_equal(err.code, XEND_EIO);
    assert_non_null(strstr(err.msg, "cannot listen on 127.0.0.1:"));
}

static int refuse_all(int fd, struct xend_err *err)
{
    (void)fd;
    return xend_err_set(err, XEND_EPERM, "Access denied: user nobody (uid 65534) is not root");
}

static void test_a_refused_client_gets_the_reason_and_nothing_else(void **state)
{
    struct fx *f = *state;
    xend_event_port_set_check(f->port, refuse_all);
    memset(pending, 0, sizeof(pending));
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)xend_event_port_number(f->port)),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    char msg[256];
    next_message(f, fd, msg, sizeof(msg));
    assert_string_equal(msg, "(xend.err 'Access denied: user nobody (uid 65534) is not root')");
    assert_dropped(f, fd);
    assert_int_equal(xend_event_port_connections(f->port), 0);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_help_and_info_reply_ok),
        T(test_a_refused_client_gets_the_reason_and_nothing_else),
        T(test_inject_reaches_every_connection_subscribed_to_everything),
        T(test_subscribe_replaces_the_patterns),
        T(test_console_disconnect_is_forwarded_to_the_console_plugin),
        T(test_bad_requests_drop_the_connection),
        T(test_trace_and_quit),
        T(test_plain_commands_answer_a_person),
        T(test_long_messages_are_pretty_printed_over_several_lines),
        T(test_a_client_that_does_not_read_is_dropped),
        T(test_second_port_on_the_same_address_is_refused),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
