/*
 * Unit tests of the console plugin against the fake host, with a fake hypervisor whose
 * console stream is one end of a socketpair: the test plays the guest on the other end and
 * the console client over real loopback TCP. No sleeps: every wait is a loop with a deadline.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "console.h"
#include "fake_host.h"

extern const struct xend_plugin_desc xend_plugin_desc;

#define WAIT_MS 3000

/* ---- the fake hypervisor ---- */

static struct {
    int guest[8]; /* the guest's end of each stream opened, in order */
    uint32_t domid[8];
    int opens;
    int fail; /* console_open fails with this code when non-zero */
} hv;

static int hv_console_open(void *ctx, uint32_t domid, int *fd, struct xend_err *err)
{
    (void)ctx;
    if (hv.fail)
        return xend_err_set(err, hv.fail, "no console for domain %u", domid);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        return xend_err_set(err, XEND_EIO, "socketpair: %s", strerror(errno));
    hv.guest[hv.opens] = sv[1];
    hv.domid[hv.opens++] = domid;
    *fd = sv[0];
    return 0;
}

static const struct xend_backend_ops hv_ops = {
    XEND_BACKEND_OPS_INIT,
    .name = "testhv",
    .console_open = hv_console_open,
};

/* The same hypervisor, promising to keep console output while no stream is open. */
static const struct xend_backend_ops hv_keeps_ops = {
    XEND_BACKEND_OPS_INIT,
    .name = "testhv-keeps",
    .flags = XEND_BACKEND_CONSOLE_KEEPS_OUTPUT,
    .console_open = hv_console_open,
};

/* ---- helpers ---- */

static const struct xend_host *host;
static int base; /* console-port-base: base + 1 is free when a test starts */

static bool port_bindable(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/*
 * A TCP port nobody listens on now, with the 7 after it free too: the tests listen on
 * base + 1, base + 2 ... Among the e2e tests' spans (tests/e2e/lib.sh, 21000-31999): the
 * kernel's pick would be in the ephemeral range, where clients' connections running beside
 * this test take the ports after it.
 */
static int free_port(void)
{
    static unsigned seed;
    if (seed == 0)
        seed = (unsigned)getpid() ^ (unsigned)time(NULL);
    for (int tries = 0; tries < 500; tries++) {
        int p = 21000 + (int)(rand_r(&seed) % 10000u), n = 0;
        while (n < 8 && port_bindable(p + n))
            n++;
        if (n == 8)
            return p;
    }
    fail_msg("no 8 free ports in a row in 21000-31007");
    return -1;
}

static int setup_on(const struct xend_backend_ops *ops, const char *takeover,
                    const char *buffer_max, const char *replay_max)
{
    memset(&hv, 0, sizeof(hv));
    for (int i = 0; i < 8; i++)
        hv.guest[i] = -1;
    host = fake_host_new("console");
    base = free_port() - 1;
    char b[16];
    snprintf(b, sizeof(b), "%d", base);
    fake_host_config_set("console-port-base", b);
    if (takeover)
        fake_host_config_set("console-takeover", takeover);
    if (buffer_max)
        fake_host_config_set("console-buffer-max", buffer_max);
    if (replay_max)
        fake_host_config_set("console-replay-max", replay_max);
    fake_host_backend_set(ops, NULL);
    return fake_host_init_plugin(&xend_plugin_desc);
}

static int setup_with_replay(const char *takeover, const char *buffer_max, const char *replay_max)
{
    return setup_on(&hv_ops, takeover, buffer_max, replay_max);
}

static int setup_on_demand(void **state)
{
    (void)state;
    return setup_on(&hv_keeps_ops, NULL, NULL, NULL);
}

static int setup_with(const char *takeover, const char *buffer_max)
{
    return setup_with_replay(takeover, buffer_max, NULL);
}

static int setup(void **state)
{
    (void)state;
    return setup_with(NULL, NULL);
}

static int setup_takeover(void **state)
{
    (void)state;
    return setup_with("true", NULL);
}

static int setup_small_buffer(void **state)
{
    (void)state;
    return setup_with(NULL, "65536");
}

static int setup_replay_100k(void **state)
{
    (void)state;
    return setup_with_replay(NULL, NULL, "102400");
}

static int setup_no_replay(void **state)
{
    (void)state;
    return setup_with_replay(NULL, NULL, "0");
}

static int teardown(void **state)
{
    (void)state;
    fake_host_fini_plugin(&xend_plugin_desc);
    fake_host_free();
    for (int i = 0; i < hv.opens; i++)
        if (hv.guest[i] >= 0)
            close(hv.guest[i]);
    return 0;
}

/* A domain with a console, created as the core would: its CREATE hooks ran. */
static struct xend_domain *create_domain(uint32_t id, const char *config)
{
    struct xend_domain *dom = fake_host_domain_add(id, "vm", config ? config : "(vm (name vm))");
    struct xend_err err = {0};
    assert_int_equal(fake_host_run_hooks(XEND_HOOK_CREATE, dom, XEND_HOOK_NORMAL, -1, &err), 0);
    return dom;
}

static struct console *console_at(int port)
{
    struct console *c = console_find_port(port);
    assert_non_null(c);
    return c;
}

static int connect_port(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static bool is_connected(void *arg)
{
    struct console *c = console_find_port(*(int *)arg);
    return c && c->cfd >= 0;
}

static bool is_disconnected(void *arg)
{
    struct console *c = console_find_port(*(int *)arg);
    return c && c->cfd < 0;
}

/* Hang up a client and wait until the plugin has noticed. */
static void detach_client(int fd, int port)
{
    close(fd);
    assert_true(fake_host_loop_until(is_disconnected, &port, WAIT_MS));
}

/* Connect a client to port and wait until the plugin has accepted it. */
static int attach_client(int port)
{
    int fd = connect_port(port);
    assert_true(fd >= 0);
    assert_true(fake_host_loop_until(is_connected, &port, WAIT_MS));
    return fd;
}

/* Bytes read from a non-blocking fd while the loop runs; eof once it hit end of file. */
struct reader {
    int fd;
    char buf[256 * 1024];
    size_t len;
    bool eof;
    const char *want; /* stop when buf contains it */
    size_t want_len;  /* or when this many bytes arrived */
};

static void reader_pull(struct reader *r)
{
    for (;;) {
        size_t room = sizeof(r->buf) - 1 - r->len;
        if (room == 0)
            return;
        ssize_t n = read(r->fd, r->buf + r->len, room);
        if (n > 0) {
            r->len += (size_t)n;
            r->buf[r->len] = '\0';
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EINTR))
            r->eof = true;
        return;
    }
}

static bool reader_done(void *arg)
{
    struct reader *r = arg;
    reader_pull(r);
    if (r->want && strstr(r->buf, r->want))
        return true;
    if (r->want_len && r->len >= r->want_len)
        return true;
    return r->eof;
}

/* Run the loop until fd delivered `want` (or EOF); returns what arrived (static). */
static struct reader *read_until(int fd, const char *want)
{
    static struct reader r;
    memset(&r, 0, sizeof(r));
    r.fd = fd;
    r.want = want;
    fake_host_loop_until(reader_done, &r, WAIT_MS);
    return &r;
}

static bool read_eof(int fd)
{
    struct reader *r = read_until(fd, NULL);
    return r->eof;
}

static void write_all(int fd, const char *s)
{
    size_t n = strlen(s);
    assert_int_equal(write(fd, s, n), (ssize_t)n);
}

/* A line written on one end arrives whole on the other (guest -> client or back). */
static void assert_line_passes(int from, int to, const char *line)
{
    write_all(from, line);
    assert_string_equal(read_until(to, "\n")->buf, line);
}

static bool ring_has(void *arg)
{
    struct console_stats *want = arg;
    struct console_stats st;
    console_stats_get(console_at(base + 1), &st);
    return st.buffered == want->buffered;
}

static bool not_streaming(void *arg)
{
    struct console_stats st;
    console_stats_get(console_at(*(int *)arg), &st);
    return !st.streaming;
}

static bool fake_host_loop_until_false_streaming(int port)
{
    return fake_host_loop_until(not_streaming, &port, WAIT_MS);
}

static char *describe_text(struct xend_domain *dom)
{
    struct xend_sxp *d = fake_host_describe(dom);
    char *s = host->sxp->print(d);
    host->sxp->free(d);
    return s;
}

/* ---- tests ---- */

static void test_create_listens_on_base_plus_id_and_persists_the_port(void **state)
{
    (void)state;
    struct xend_domain *dom = create_domain(1, NULL);
    long long port;
    assert_int_equal(host->sxp->child_int(fake_host_domain_config(dom), "console", &port), 0);
    assert_int_equal(port, base + 1);
    struct console *c = console_at(base + 1);
    assert_int_equal(c->id, 1);
    assert_int_equal(hv.opens, 1);
    assert_int_equal(hv.domid[0], 1);
    char want[64];
    snprintf(want, sizeof(want), "(1 1 %d)", base + 1);
    assert_string_equal(fake_host_event_last("xend.console.create"), want);
}

static void test_boot_lines_written_before_connect_are_replayed(void **state)
{
    (void)state;
    create_domain(1, NULL);
    const char *boot = "Linux version 2.6.9\nboot line 2\n";
    write_all(hv.guest[0], boot);
    struct console_stats want = {.buffered = strlen(boot)};
    assert_true(fake_host_loop_until(ring_has, &want, WAIT_MS));

    int fd = attach_client(base + 1);
    struct reader *r = read_until(fd, "boot line 2\n");
    assert_string_equal(r->buf, boot);
    assert_int_equal(fake_host_event_count("xend.console.connect"), 1);
    close(fd);
}

/* The guest writes `total` bytes while nobody is connected: the first `keep` are kept (and
 * dropped past that in one logged episode), and a late client gets exactly those. */
static void check_replay_keeps_the_first(size_t total, size_t keep)
{
    create_domain(1, NULL);
    static char big[200 * 1024];
    assert_true(total <= sizeof(big));
    for (size_t i = 0; i < total; i++)
        big[i] = (char)('a' + i % 26);
    size_t written = 0;
    uint64_t end = host->loop->now_ms() + WAIT_MS;
    while (written < total && host->loop->now_ms() < end) {
        ssize_t n = write(hv.guest[0], big + written, total - written);
        if (n > 0)
            written += (size_t)n;
        fake_host_loop_once(n > 0 ? 0 : 1);
    }
    assert_int_equal(written, total);
    /* Let the plugin read the rest: it must be dropped, not queued. */
    for (int i = 0; i < 20; i++)
        fake_host_loop_once(1);
    struct console_stats st;
    console_stats_get(console_at(base + 1), &st);
    assert_int_equal(st.buffered, keep);
    assert_true(st.capacity <= keep);
    assert_int_equal(st.dropped, total - keep);
    assert_int_equal(st.drop_episodes, keep < total ? 1 : 0);

    int fd = attach_client(base + 1);
    static struct reader r;
    memset(&r, 0, sizeof(r));
    r.fd = fd;
    r.want_len = keep + 1;
    fake_host_loop_until(reader_done, &r, 300);
    assert_int_equal(r.len, keep);
    assert_memory_equal(r.buf, big, keep);
    /* Replayed: once the client leaves, the queue's memory goes back. */
    console_stats_get(console_at(base + 1), &st);
    assert_int_equal(st.buffered, 0);
    detach_client(fd, base + 1);
    console_stats_get(console_at(base + 1), &st);
    assert_int_equal(st.capacity, 0);
}

static void test_replay_keeps_the_first_16k_while_nobody_is_connected(void **state)
{
    (void)state;
    check_replay_keeps_the_first(100 * 1024, CONSOLE_REPLAY_MAX_DEFAULT);
}

static void test_console_replay_max_sets_what_a_late_client_is_shown(void **state)
{
    (void)state;
    check_replay_keeps_the_first(150 * 1024, 100 * 1024);
}

static void test_console_replay_max_0_keeps_nothing_for_a_late_client(void **state)
{
    (void)state;
    create_domain(1, NULL);
    write_all(hv.guest[0], "boot line nobody will see\n");
    uint64_t end = host->loop->now_ms() + WAIT_MS;
    struct console_stats st;
    do {
        fake_host_loop_once(1);
        console_stats_get(console_at(base + 1), &st);
    } while (st.dropped == 0 && host->loop->now_ms() < end);
    assert_int_equal(st.dropped, strlen("boot line nobody will see\n"));
    assert_int_equal(st.capacity, 0);
    assert_true(fake_host_log_contains("reason=no-client limit=0"));
    /* Live output still flows once a client is there. */
    int fd = attach_client(base + 1);
    assert_line_passes(hv.guest[0], fd, "live\n");
    close(fd);
}

/* What makes 1,000 idle domains cheap: a console holds no buffer until output waits, then
 * about what waits (not a page, not the cap), and none once a client took it and left. */
static void test_an_idle_console_holds_no_buffer_and_a_few_lines_hold_little(void **state)
{
    (void)state;
    create_domain(1, NULL);
    struct console *c = console_at(base + 1);
    struct console_stats st;
    console_stats_get(c, &st);
    assert_int_equal(st.capacity, 0);
    assert_int_equal(st.in_capacity, 0);

    const char *boot = "Linux version 2.6-simhv\r\nKernel command line: ro\r\n\r\nvm login: ";
    write_all(hv.guest[0], boot);
    struct console_stats want = {.buffered = strlen(boot)};
    assert_true(fake_host_loop_until(ring_has, &want, WAIT_MS));
    console_stats_get(c, &st);
    assert_true(st.capacity >= strlen(boot));
    assert_true(st.capacity <= 512);

    int fd = attach_client(base + 1);
    assert_string_equal(read_until(fd, "login: ")->buf, boot);
    detach_client(fd, base + 1);
    console_stats_get(c, &st);
    assert_int_equal(st.buffered, 0);
    assert_int_equal(st.capacity, 0);
}

/* The guest's side: count what arrives and check every byte is the client's 'k'. */
struct sink {
    int fd;
    size_t len;
    size_t want;
    bool bad;
};

static bool guest_took_everything(void *arg)
{
    struct sink *k = arg;
    static char buf[64 * 1024];
    ssize_t n;
    while ((n = read(k->fd, buf, sizeof(buf))) > 0) {
        for (ssize_t i = 0; i < n; i++)
            k->bad |= buf[i] != 'k';
        k->len += (size_t)n;
    }
    struct console_stats st;
    console_stats_get(console_at(base + 1), &st);
    return st.in_buffered == 0 && k->len >= k->want;
}

/* A client typing faster than the guest reads: its input waits in a queue of at most
 * CONSOLE_IN_MAX (the client is then not read: TCP pushes back), nothing is lost, and the
 * queue's memory goes when the client leaves after the guest took it all. */
static void test_input_the_guest_cannot_take_waits_bounded_and_is_freed_after(void **state)
{
    (void)state;
    create_domain(1, NULL);
    int fd = attach_client(base + 1);
    struct console *c = console_at(base + 1);
    static char chunk[64 * 1024];
    memset(chunk, 'k', sizeof(chunk));
    /* The guest reads nothing yet: the socketpair fills, then the plugin's queue. */
    size_t sent = 0;
    size_t max_seen = 0;
    struct console_stats st;
    uint64_t end = host->loop->now_ms() + WAIT_MS;
    do {
        ssize_t n = write(fd, chunk, sizeof(chunk));
        if (n > 0)
            sent += (size_t)n;
        fake_host_loop_once(n > 0 ? 0 : 1);
        console_stats_get(c, &st);
        if (st.in_buffered > max_seen)
            max_seen = st.in_buffered;
        assert_true(st.in_capacity <= CONSOLE_IN_MAX);
    } while (st.in_buffered < CONSOLE_IN_MAX && host->loop->now_ms() < end);
    assert_int_equal(st.in_buffered, CONSOLE_IN_MAX);
    assert_true(max_seen <= CONSOLE_IN_MAX);

    struct sink k = {.fd = hv.guest[0], .want = sent};
    assert_true(fake_host_loop_until(guest_took_everything, &k, WAIT_MS));
    assert_int_equal(k.len, sent);
    assert_false(k.bad);
    detach_client(fd, base + 1);
    console_stats_get(c, &st);
    assert_int_equal(st.in_capacity, 0);
}

static void test_client_line_reaches_guest_and_guest_line_reaches_client(void **state)
{
    (void)state;
    create_domain(1, NULL);
    int fd = attach_client(base + 1);
    assert_line_passes(fd, hv.guest[0], "root\n");
    write_all(hv.guest[0], "Password: ");
    assert_string_equal(read_until(fd, ": ")->buf, "Password: ");
    close(fd);
}

static void test_second_client_is_refused_with_the_message(void **state)
{
    (void)state;
    create_domain(1, NULL);
    int a = attach_client(base + 1);
    int b = connect_port(base + 1);
    assert_true(b >= 0);
    struct reader *r = read_until(b, NULL);
    assert_true(r->eof);
    assert_string_equal(r->buf, "Cannot connect to console 1 on domain 1\n");
    /* The first client is untouched. */
    assert_line_passes(hv.guest[0], a, "still here\n");
    assert_int_equal(fake_host_event_count("xend.console.connect"), 1);
    close(a);
    close(b);
}

static void test_a_client_the_host_refuses_gets_the_reason_and_is_closed(void **state)
{
    (void)state;
    create_domain(1, NULL);
    size_t checks = fake_host_access_checks();
    fake_host_access_refuse("Access denied: user nobody (uid 65534, by sock_diag) is not root");
    int b = connect_port(base + 1);
    assert_true(b >= 0);
    struct reader *r = read_until(b, NULL);
    assert_true(r->eof);
    assert_string_equal(r->buf,
                        "Access denied: user nobody (uid 65534, by sock_diag) is not root\r\n");
    close(b);
    assert_int_equal(fake_host_access_checks(), checks + 1);
    assert_int_equal(fake_host_event_count("xend.console.connect"), 0);
    assert_true(fake_host_log_contains("reason=access"));
    /* Nothing of the guest's reached it, and an admitted client still gets the console. */
    fake_host_access_refuse(NULL);
    int a = attach_client(base + 1);
    assert_line_passes(hv.guest[0], a, "after\n");
    close(a);
}

static void test_takeover_mode_gives_the_console_to_the_new_client(void **state)
{
    (void)state;
    create_domain(1, NULL);
    int a = attach_client(base + 1);
    int b = connect_port(base + 1);
    assert_true(b >= 0);
    assert_true(read_eof(a));
    assert_int_equal(fake_host_event_count("xend.console.disconnect"), 1);
    assert_int_equal(fake_host_event_count("xend.console.connect"), 2);
    assert_line_passes(hv.guest[0], b, "for b\n");
    close(a);
    close(b);
}

static void test_disconnect_route_drops_the_client_and_keeps_listening(void **state)
{
    (void)state;
    create_domain(1, NULL);
    int fd = attach_client(base + 1);
    char cap[32];
    snprintf(cap, sizeof(cap), "id=%d", base + 1);
    const char *caps[] = {cap, NULL};
    struct fake_reply rep;
    assert_int_equal(
        fake_host_request("POST", "/xend/console/{id}", "disconnect", NULL, caps, NULL, &rep), 0);
    assert_string_equal(rep.body, "0");
    fake_reply_free(&rep);
    assert_true(read_eof(fd));
    close(fd);
    assert_int_equal(fake_host_event_count("xend.console.disconnect"), 1);

    /* GET op=disconnect, as the manual lists it, is no route: a GET never changes state
     * (the 2.0 client POSTs it), and the route needs an operator. */
    assert_null(fake_host_route("GET", "/xend/console/{id}", "disconnect"));
    const struct xend_route *r = fake_host_route("POST", "/xend/console/{id}", "disconnect");
    assert_non_null(r);
    assert_int_equal(r->role, XEND_ROLE_OPERATOR);
    assert_int_equal(fake_host_route("GET", "/xend/console", NULL)->role, XEND_ROLE_VIEWER);
}

static void test_unknown_console_is_404_invalid_console(void **state)
{
    (void)state;
    create_domain(1, NULL);
    const char *caps[] = {"id=1", NULL};
    struct fake_reply rep;
    assert_int_equal(fake_host_request("GET", "/xend/console/{id}", NULL, NULL, caps, NULL, &rep),
                     -XEND_ENOENT);
    assert_string_equal(rep.error, "invalid console:1");
    fake_reply_free(&rep);
    assert_int_equal(
        fake_host_request("POST", "/xend/console/{id}", "disconnect", NULL, caps, NULL, &rep),
        -XEND_ENOENT);
    fake_reply_free(&rep);
}

static void test_list_and_console_sxp_show_the_connected_peer(void **state)
{
    (void)state;
    struct xend_domain *d1 = create_domain(1, NULL);
    create_domain(3, NULL);
    struct fake_reply rep;
    assert_int_equal(fake_host_request("GET", "/xend/console", NULL, NULL, NULL, NULL, &rep), 0);
    char want[256];
    snprintf(want, sizeof(want), "(%d %d)", base + 1, base + 3);
    assert_string_equal(rep.body, want);
    fake_reply_free(&rep);

    int fd = attach_client(base + 1);
    struct console *c = console_at(base + 1);
    char cap[32];
    snprintf(cap, sizeof(cap), "id=%d", base + 1);
    const char *caps[] = {cap, NULL};
    assert_int_equal(fake_host_request("GET", "/xend/console/{id}", NULL, NULL, caps, NULL, &rep),
                     0);
    snprintf(want, sizeof(want),
             "(console (status connected) (id 1) (domain 1) (local_port 1) (remote_port 1) "
             "(console_port %d) (connected 127.0.0.1 %d))",
             base + 1, c->peer_port);
    assert_string_equal(rep.body, want);
    fake_reply_free(&rep);

    /* The domain info carries the same SXP. */
    char *info = describe_text(d1);
    assert_non_null(strstr(info, want));
    free(info);
    close(fd);
}

static void test_restart_keeps_the_client_and_the_new_stream_flows(void **state)
{
    (void)state;
    struct xend_domain *dom = create_domain(1, NULL);
    int fd = attach_client(base + 1);
    struct xend_err err = {0};
    fake_host_run_hooks(XEND_HOOK_DESTROY, dom, XEND_HOOK_FOR_RESTART, -1, &err);
    /* The old instance's stream is let go... */
    assert_true(read_eof(hv.guest[0]));
    fake_host_run_hooks(XEND_HOOK_RESTART, dom, XEND_HOOK_NORMAL, -1, &err);
    assert_int_equal(hv.opens, 2);
    /* ...and the same client talks to the new one. */
    assert_line_passes(hv.guest[1], fd, "reborn\n");
    assert_line_passes(fd, hv.guest[1], "hello again\n");
    assert_int_equal(fake_host_event_count("xend.console.disconnect"), 0);
    assert_int_equal(fake_host_event_count("xend.console.close"), 0);
    close(fd);
}

static void test_stream_eof_keeps_the_listener_until_destroy(void **state)
{
    (void)state;
    struct xend_domain *dom = create_domain(1, NULL);
    close(hv.guest[0]);
    hv.guest[0] = -1;
    int fd = attach_client(base + 1);
    struct console_stats st;
    console_stats_get(console_at(base + 1), &st);
    assert_false(st.streaming);
    /* Typing into a dead console is harmless. */
    write_all(fd, "anyone?\n");
    fake_host_loop_once(10);
    struct xend_err err = {0};
    fake_host_run_hooks(XEND_HOOK_DESTROY, dom, XEND_HOOK_NORMAL, -1, &err);
    assert_true(read_eof(fd));
    close(fd);
}

static void test_destroy_closes_client_and_listener(void **state)
{
    (void)state;
    struct xend_domain *dom = create_domain(1, NULL);
    int fd = attach_client(base + 1);
    struct xend_err err = {0};
    fake_host_run_hooks(XEND_HOOK_DESTROY, dom, XEND_HOOK_NORMAL, -1, &err);
    assert_true(read_eof(fd));
    close(fd);
    assert_int_equal(connect_port(base + 1), -1);
    assert_int_equal(errno, ECONNREFUSED);
    assert_null(console_find_port(base + 1));
    assert_string_equal(fake_host_event_last("xend.console.close"), "1");
    char *info = describe_text(dom);
    assert_null(strstr(info, "console"));
    free(info);
}

/* The core keeps the console's item with the domain's info (a kept describer, ABI 1.9):
 * each change of what it shows must be told, or a list would show the old status. */
static void test_every_change_the_info_shows_is_told_to_the_core(void **state)
{
    (void)state;
    struct xend_domain *dom = create_domain(1, NULL);
    size_t told = fake_host_describe_changed();
    int fd = attach_client(base + 1);
    assert_true(fake_host_describe_changed() > told); /* listening -> connected */
    told = fake_host_describe_changed();
    detach_client(fd, base + 1);
    assert_true(fake_host_describe_changed() > told); /* connected -> listening */
    told = fake_host_describe_changed();
    struct xend_err err = {0};
    fake_host_run_hooks(XEND_HOOK_DESTROY, dom, XEND_HOOK_NORMAL, -1, &err);
    assert_true(fake_host_describe_changed() > told); /* gone from the info */
}

static void test_rollback_closes_listener(void **state)
{
    (void)state;
    struct xend_domain *dom = create_domain(1, NULL);
    struct xend_err err = {0};
    fake_host_run_hooks(XEND_HOOK_DESTROY, dom, XEND_HOOK_ROLLBACK, -1, &err);
    assert_int_equal(connect_port(base + 1), -1);
    assert_null(console_find_port(base + 1));
}

static void test_port_in_use_fails_the_create_hook(void **state)
{
    (void)state;
    int busy = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)(base + 1)),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(busy, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(busy, 1), 0);
    struct xend_domain *dom = fake_host_domain_add(1, "vm", "(vm (name vm))");
    struct xend_err err = {0};
    assert_int_equal(fake_host_run_hooks(XEND_HOOK_CREATE, dom, XEND_HOOK_NORMAL, -1, &err),
                     -XEND_EEXIST);
    char want[64];
    snprintf(want, sizeof(want), "console port in use: %d", base + 1);
    assert_string_equal(err.msg, want);
    assert_null(console_find_port(base + 1));
    assert_int_equal(hv.opens, 0);
    close(busy);
}

static void test_backend_console_failure_fails_create_and_frees_the_port(void **state)
{
    (void)state;
    hv.fail = XEND_EBACKEND;
    struct xend_domain *dom = fake_host_domain_add(1, "vm", "(vm (name vm))");
    struct xend_err err = {0};
    assert_int_equal(fake_host_run_hooks(XEND_HOOK_CREATE, dom, XEND_HOOK_NORMAL, -1, &err),
                     -XEND_EBACKEND);
    assert_string_equal(err.msg, "no console for domain 1");
    assert_null(console_find_port(base + 1));
    assert_int_equal(connect_port(base + 1), -1);
}

static void test_reattach_listens_on_the_port_in_the_config(void **state)
{
    (void)state;
    int port = free_port();
    char cfg[64];
    snprintf(cfg, sizeof(cfg), "(vm (name vm) (console %d))", port);
    struct xend_domain *dom = fake_host_domain_add(7, "vm", cfg);
    struct xend_err err = {0};
    assert_int_equal(fake_host_run_hooks(XEND_HOOK_CREATE, dom, XEND_HOOK_REATTACH, -1, &err), 0);
    struct console *c = console_at(port);
    assert_int_equal(c->domid, 7);
    int fd = attach_client(port);
    assert_line_passes(hv.guest[0], fd, "after xend restart\n");
    close(fd);
}

static void test_reattach_never_fails_the_hook(void **state)
{
    (void)state;
    int busy = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)(base + 1)),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(busy, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(busy, 1), 0);
    struct xend_domain *dom = fake_host_domain_add(1, "vm", "(vm (name vm))");
    struct xend_err err = {0};
    assert_int_equal(fake_host_run_hooks(XEND_HOOK_CREATE, dom, XEND_HOOK_REATTACH, -1, &err), 0);
    assert_true(fake_host_log_contains("console reattach failed"));
    close(busy);
}

static void test_domain0_gets_no_console(void **state)
{
    (void)state;
    struct xend_domain *dom = fake_host_domain_add(0, "Domain-0", NULL);
    struct xend_err err = {0};
    assert_int_equal(fake_host_run_hooks(XEND_HOOK_CREATE, dom, XEND_HOOK_REATTACH, -1, &err), 0);
    assert_null(console_plugin.list);
}

static void test_disconnect_request_event_drops_the_client(void **state)
{
    (void)state;
    create_domain(1, NULL);
    int fd = attach_client(base + 1);
    struct xend_sxp *v = NULL;
    char msg[64];
    const char *text = "(console.disconnect (id 1))";
    assert_int_equal(host->sxp->parse(text, strlen(text), NULL, &v, msg, sizeof(msg)), 0);
    host->event->emit("xend.console.disconnect.request", v);
    host->sxp->free(v);
    assert_true(read_eof(fd));
    close(fd);
    assert_int_equal(fake_host_event_count("xend.console.disconnect"), 1);
}

/* The guest writes 10 MB to a client that reads nothing: the plugin's queue stays within
 * console-buffer-max (64 KiB here), the rest is dropped, and one log line says so. */
static void test_slow_client_never_makes_the_buffer_exceed_the_cap(void **state)
{
    (void)state;
    create_domain(1, NULL);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)(base + 1)),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    int port = base + 1;
    assert_true(fake_host_loop_until(is_connected, &port, WAIT_MS));

    static char chunk[64 * 1024];
    memset(chunk, 'x', sizeof(chunk));
    const size_t total = 10u * 1024 * 1024;
    size_t written = 0;
    struct console *c = console_at(base + 1);
    size_t max_seen = 0;
    uint64_t end = host->loop->now_ms() + 20000;
    while (written < total && host->loop->now_ms() < end) {
        ssize_t n = write(hv.guest[0], chunk,
                          sizeof(chunk) < total - written ? sizeof(chunk) : total - written);
        if (n > 0)
            written += (size_t)n;
        fake_host_loop_once(n > 0 ? 0 : 10);
        struct console_stats st;
        console_stats_get(c, &st);
        if (st.buffered > max_seen)
            max_seen = st.buffered;
        assert_true(st.capacity <= 65536);
    }
    assert_int_equal(written, total);
    for (int i = 0; i < 20; i++)
        fake_host_loop_once(1);
    struct console_stats st;
    console_stats_get(c, &st);
    assert_true(max_seen <= 65536);
    assert_int_equal(st.buffered, 65536);
    assert_true(st.connected);
    /* The kernel holds a few hundred KiB at most; the plugin dropped the rest. */
    assert_true(st.dropped > total - 4u * 1024 * 1024);
    assert_int_equal(st.drop_episodes, 1);
    assert_true(fake_host_log_contains("console output dropped"));
    assert_true(fake_host_log_contains("reason=slow-client"));
    close(fd);
}

static void test_drop_episode_ends_when_the_client_catches_up(void **state)
{
    (void)state;
    create_domain(1, NULL);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)(base + 1)),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    int port = base + 1;
    assert_true(fake_host_loop_until(is_connected, &port, WAIT_MS));
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    struct console *c = console_at(base + 1);
    static char chunk[64 * 1024];
    memset(chunk, 'y', sizeof(chunk));
    struct console_stats st;
    for (int episode = 1; episode <= 2; episode++) {
        /* Flood until something is dropped... */
        uint64_t end = host->loop->now_ms() + WAIT_MS;
        do {
            if (write(hv.guest[0], chunk, sizeof(chunk)) < 0)
                assert_int_equal(errno, EAGAIN);
            fake_host_loop_once(0);
            console_stats_get(c, &st);
        } while (st.drop_episodes < (uint64_t)episode && host->loop->now_ms() < end);
        assert_int_equal(st.drop_episodes, episode);
        /* ...then read everything, so the queue drains. */
        static char sink[256 * 1024];
        end = host->loop->now_ms() + WAIT_MS;
        do {
            while (read(fd, sink, sizeof(sink)) > 0)
                ;
            fake_host_loop_once(1);
            console_stats_get(c, &st);
        } while (st.buffered > 0 && host->loop->now_ms() < end);
        assert_int_equal(st.buffered, 0);
    }
    assert_int_equal(st.drop_episodes, 2);
    close(fd);
}

static void test_bad_console_port_in_config_fails_create(void **state)
{
    (void)state;
    struct xend_domain *dom = fake_host_domain_add(1, "vm", "(vm (name vm) (console 70000))");
    struct xend_err err = {0};
    assert_int_equal(fake_host_run_hooks(XEND_HOOK_CREATE, dom, XEND_HOOK_NORMAL, -1, &err),
                     -XEND_EINVAL);
    assert_string_equal(err.msg, "invalid console port: 70000");
}

/* ---- a backend that keeps console output: streams only while a client is connected ---- */

static bool streaming(int port)
{
    struct console_stats st;
    console_stats_get(console_at(port), &st);
    return st.streaming;
}

static void test_on_demand_a_stream_is_open_only_while_a_client_is_connected(void **state)
{
    (void)state;
    create_domain(1, NULL);
    assert_int_equal(hv.opens, 0);
    assert_false(streaming(base + 1));
    int fd = attach_client(base + 1);
    assert_int_equal(hv.opens, 1);
    assert_int_equal(hv.domid[0], 1);
    assert_true(streaming(base + 1));
    assert_line_passes(hv.guest[0], fd, "kept for you\n");
    assert_line_passes(fd, hv.guest[0], "ls\n");
    detach_client(fd, base + 1);
    /* The backend sees its stream end and keeps the output until the next client. */
    assert_true(read_eof(hv.guest[0]));
    assert_false(streaming(base + 1));
    fd = attach_client(base + 1);
    assert_int_equal(hv.opens, 2);
    assert_line_passes(hv.guest[1], fd, "again\n");
    close(fd);
}

static void test_on_demand_output_already_sent_stays_for_the_next_client(void **state)
{
    (void)state;
    create_domain(1, NULL);
    int fd = attach_client(base + 1);
    /* Sent by the backend, not yet read by the plugin, when the client is dropped. */
    write_all(hv.guest[0], "in flight\n");
    console_client_drop(console_at(base + 1), "request");
    close(fd);
    assert_true(read_eof(hv.guest[0]));
    fd = attach_client(base + 1);
    assert_string_equal(read_until(fd, "\n")->buf, "in flight\n");
    close(fd);
}

static void test_on_demand_restart_opens_the_new_instance_when_a_client_comes(void **state)
{
    (void)state;
    struct xend_domain *dom = create_domain(1, NULL);
    struct xend_err err = {0};
    fake_host_run_hooks(XEND_HOOK_DESTROY, dom, XEND_HOOK_FOR_RESTART, -1, &err);
    assert_int_equal(fake_host_run_hooks(XEND_HOOK_RESTART, dom, XEND_HOOK_NORMAL, -1, &err), 0);
    assert_int_equal(hv.opens, 0);
    int fd = attach_client(base + 1);
    assert_int_equal(hv.opens, 1);
    /* With the client there, the next restart reconnects it at once. */
    fake_host_run_hooks(XEND_HOOK_DESTROY, dom, XEND_HOOK_FOR_RESTART, -1, &err);
    assert_true(read_eof(hv.guest[0]));
    fake_host_run_hooks(XEND_HOOK_RESTART, dom, XEND_HOOK_NORMAL, -1, &err);
    assert_int_equal(hv.opens, 2);
    assert_line_passes(hv.guest[1], fd, "reborn\n");
    close(fd);
}

static void test_on_demand_a_dead_instance_is_not_opened_again(void **state)
{
    (void)state;
    create_domain(1, NULL);
    int fd = attach_client(base + 1);
    assert_int_equal(hv.opens, 1);
    close(hv.guest[0]); /* the guest died: its stream ends */
    hv.guest[0] = -1;
    assert_true(fake_host_loop_until_false_streaming(base + 1));
    detach_client(fd, base + 1);
    fd = attach_client(base + 1);
    assert_int_equal(hv.opens, 1);
    assert_false(streaming(base + 1));
    close(fd);
}

static void test_on_demand_a_failed_open_keeps_the_create_and_the_client(void **state)
{
    (void)state;
    hv.fail = XEND_EBACKEND;
    create_domain(1, NULL); /* nothing opened, so nothing to fail */
    int fd = attach_client(base + 1);
    assert_false(streaming(base + 1));
    assert_true(fake_host_log_contains("console stream unavailable"));
    write_all(fd, "anyone?\n"); /* discarded, harmlessly */
    fake_host_loop_once(10);
    assert_true(console_at(base + 1)->cfd >= 0);
    close(fd);
}

/* ---- the console in a browser (web.c, page.c) ---- */

static void test_base64_matches_the_rfc4648_vectors(void **state)
{
    (void)state;
    static const char *const vec[][2] = {
        {"", ""},        {"f", "Zg=="},        {"fo", "Zm8="},
        {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        char out[16] = {0};
        size_t n = strlen(vec[i][0]);
        console_base64(vec[i][0], n, out);
        assert_int_equal(console_base64_len(n), strlen(vec[i][1]));
        assert_string_equal(out, vec[i][1]);
    }
    char out[8] = {0};
    console_base64("\0\xff\x80", 3, out); /* any byte, a NUL too */
    assert_string_equal(out, "AP+A");
}

static void test_ring_push_tail_keeps_the_newest_bytes(void **state)
{
    (void)state;
    struct console_ring r = CONSOLE_RING_INIT;
    assert_int_equal(console_ring_push_tail(&r, "abcdef", 6, 8), 6);
    assert_int_equal(console_ring_push_tail(&r, "ghij", 4, 8), 4);
    assert_int_equal(r.len, 8);
    char got[16] = {0};
    for (size_t off = 0; off < r.len;) {
        const char *p;
        size_t k = console_ring_run(&r, off, &p);
        memcpy(got + off, p, k);
        off += k;
    }
    assert_string_equal(got, "cdefghij");
    assert_int_equal(console_ring_push_tail(&r, "0123456789", 10, 8), 8);
    const char *p;
    assert_int_equal(console_ring_peek(&r, &p), 8);
    assert_memory_equal(p, "23456789", 8);
    console_ring_free(&r);
}

/* What a stream carried, its events' data decoded (static). */
static const char *sse_text(const struct fake_reply *r)
{
    static char out[64 * 1024];
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = 0;
    for (const char *l = r->stream; l && (l = strstr(l, "data: ")) != NULL;) {
        l += 6;
        uint32_t v = 0;
        int bits = 0;
        for (; *l && *l != '\n'; l++) {
            const char *at = strchr(abc, *l);
            if (*l == '=' || at == NULL)
                continue;
            v = v << 6 | (uint32_t)(at - abc);
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                if (n < sizeof(out) - 1)
                    out[n++] = (char)(v >> bits);
            }
        }
    }
    out[n] = '\0';
    return out;
}

struct sse_want {
    const struct fake_reply *r;
    const char *text;
};

static bool sse_has(void *arg)
{
    struct sse_want *w = arg;
    return strstr(sse_text(w->r), w->text) != NULL;
}

static void assert_sse_gets(const struct fake_reply *r, const char *text)
{
    struct sse_want w = {r, text};
    assert_true(fake_host_loop_until(sse_has, &w, WAIT_MS));
}

static char port_capture[32];

static void follow(int port, const char *since, struct fake_reply *r)
{
    snprintf(port_capture, sizeof(port_capture), "id=%d", port);
    const char *caps[] = {port_capture, NULL};
    const char *args[] = {since, NULL};
    assert_int_equal(
        fake_host_request("GET", "/xend/console/{id}/stream", NULL, NULL, caps, args, r), 0);
    assert_non_null(r->streaming);
}

static int post_input(int port, const char *data, struct fake_reply *r)
{
    snprintf(port_capture, sizeof(port_capture), "id=%d", port);
    const char *caps[] = {port_capture, NULL};
    char arg[64 * 1024];
    snprintf(arg, sizeof(arg), "data=%s", data);
    const char *args[] = {arg, NULL};
    return fake_host_request("POST", "/xend/console/{id}", "input", NULL, caps, args, r);
}

static bool buffered_some(void *arg)
{
    return console_at(*(int *)arg)->out.len > 0;
}

static void test_a_follower_sees_the_replay_then_live_output(void **state)
{
    (void)state;
    create_domain(1, NULL);
    int port = base + 1;
    write_all(hv.guest[0], "boot line\n");
    assert_true(fake_host_loop_until(buffered_some, &port, WAIT_MS));
    struct fake_reply r;
    follow(port, NULL, &r);
    assert_sse_gets(&r, "boot line\n");
    write_all(hv.guest[0], "live\n");
    assert_sse_gets(&r, "boot line\nlive\n");
    assert_non_null(strstr(r.stream, "id: 15\n"));
    /* A follower is not the console's TCP client: that slot stays free. */
    assert_int_equal(console_at(port)->cfd, -1);
    assert_int_equal(console_at(port)->nfollowers, 1);
    fake_host_stream_close(&r);
    assert_null(r.streaming);
    assert_int_equal(console_at(port)->nfollowers, 0);
    assert_null(console_at(port)->hist.data); /* nobody watches: no history kept */
    fake_reply_free(&r);
}

static void test_a_follower_after_a_tcp_client_sees_the_boot_lines_too(void **state)
{
    (void)state;
    create_domain(1, NULL);
    int port = base + 1;
    write_all(hv.guest[0], "boot\n");
    assert_true(fake_host_loop_until(buffered_some, &port, WAIT_MS));
    int fd = attach_client(port);
    assert_string_equal(read_until(fd, "\n")->buf, "boot\n");
    struct fake_reply r;
    follow(port, NULL, &r);
    assert_string_equal(sse_text(&r), "boot\n");
    close(fd);
    fake_host_stream_close(&r);
    fake_reply_free(&r);
}

static void test_a_late_follower_sees_the_recent_output_and_since_skips_it(void **state)
{
    (void)state;
    create_domain(1, NULL);
    int port = base + 1;
    struct fake_reply r1, r2, r3;
    follow(port, NULL, &r1);
    write_all(hv.guest[0], "first\n");
    assert_sse_gets(&r1, "first\n");
    follow(port, NULL, &r2);
    assert_string_equal(sse_text(&r2), "first\n");
    follow(port, "since=6", &r3);
    assert_string_equal(sse_text(&r3), "");
    write_all(hv.guest[0], "second\n");
    assert_sse_gets(&r3, "second\n");
    assert_string_equal(sse_text(&r3), "second\n");
    assert_sse_gets(&r2, "first\nsecond\n");
    assert_sse_gets(&r1, "first\nsecond\n");
    fake_host_stream_close(&r1);
    fake_host_stream_close(&r2);
    fake_host_stream_close(&r3);
    fake_reply_free(&r1);
    fake_reply_free(&r2);
    fake_reply_free(&r3);
}

static void test_on_demand_a_follower_holds_the_stream_until_it_leaves(void **state)
{
    (void)state;
    create_domain(1, NULL);
    int port = base + 1;
    assert_int_equal(hv.opens, 0);
    struct fake_reply r;
    follow(port, NULL, &r);
    assert_int_equal(hv.opens, 1);
    write_all(hv.guest[0], "kept by the backend\n");
    assert_sse_gets(&r, "kept by the backend\n");
    /* A TCP client that comes gets the replay as ever (nobody took it over TCP), and
     * when it goes the follower's stream stays open. */
    int fd = attach_client(port);
    assert_string_equal(read_until(fd, "\n")->buf, "kept by the backend\n");
    assert_line_passes(hv.guest[0], fd, "both\n");
    assert_sse_gets(&r, "both\n");
    detach_client(fd, port);
    assert_true(streaming(port));
    fake_host_stream_close(&r);
    assert_true(read_eof(hv.guest[0]));
    assert_false(streaming(port));
    fake_reply_free(&r);
}

static bool reply_ended(void *arg)
{
    return ((struct fake_reply *)arg)->streaming == NULL;
}

static void test_a_follower_that_does_not_read_is_dropped_past_the_budget(void **state)
{
    (void)state;
    create_domain(1, NULL);
    int port = base + 1;
    struct fake_reply r;
    follow(port, NULL, &r);
    fake_host_stream_backlog_set(console_plugin.buffer_max + 1);
    write_all(hv.guest[0], "too much\n");
    assert_true(fake_host_loop_until(reply_ended, &r, WAIT_MS));
    assert_true(fake_host_log_contains("console follower dropped"));
    assert_true(fake_host_log_contains("reason=slow"));
    assert_int_equal(console_at(port)->nfollowers, 0);
    fake_reply_free(&r);
}

static void test_input_reaches_the_guest_beside_a_tcp_client(void **state)
{
    (void)state;
    create_domain(1, NULL);
    int port = base + 1;
    int fd = attach_client(port);
    struct fake_reply r;
    assert_int_equal(post_input(port, "from web\n", &r), 0);
    assert_string_equal(r.body, "9");
    fake_reply_free(&r);
    assert_string_equal(read_until(hv.guest[0], "\n")->buf, "from web\n");
    assert_line_passes(fd, hv.guest[0], "from tcp\n");
    close(fd);
}

static void test_on_demand_input_opens_the_stream_and_lets_it_go(void **state)
{
    (void)state;
    create_domain(1, NULL);
    struct fake_reply r;
    assert_int_equal(post_input(base + 1, "ls\n", &r), 0);
    fake_reply_free(&r);
    assert_int_equal(hv.opens, 1);
    struct reader *got = read_until(hv.guest[0], NULL);
    assert_string_equal(got->buf, "ls\n");
    assert_true(got->eof); /* nobody watches: the backend keeps the echo */
}

static void test_input_that_does_not_fit_or_has_no_guest_is_refused(void **state)
{
    (void)state;
    create_domain(1, NULL);
    int port = base + 1;
    char *big = malloc(CONSOLE_IN_MAX + 2);
    memset(big, 'x', CONSOLE_IN_MAX + 1);
    big[CONSOLE_IN_MAX + 1] = '\0';
    struct fake_reply r;
    assert_int_equal(post_input(port, big, &r), -XEND_ELIMIT);
    assert_non_null(strstr(r.error, "does not fit"));
    fake_reply_free(&r);
    free(big);
    console_stream_close(console_at(port)); /* the instance went */
    assert_int_equal(post_input(port, "x", &r), -XEND_EBUSY);
    assert_non_null(strstr(r.error, "is not running"));
    fake_reply_free(&r);
    assert_int_equal(post_input(base + 7, "x", &r), -XEND_ENOENT);
    fake_reply_free(&r);
}

static void test_destroy_ends_every_follower(void **state)
{
    (void)state;
    struct xend_domain *dom = create_domain(1, NULL);
    struct fake_reply r;
    follow(base + 1, NULL, &r);
    struct xend_err err = {0};
    fake_host_run_hooks(XEND_HOOK_DESTROY, dom, XEND_HOOK_NORMAL, -1, &err);
    assert_null(r.streaming);
    fake_reply_free(&r);
}

static void test_web_routes_need_operator_and_assets_viewer(void **state)
{
    (void)state;
    assert_int_equal(fake_host_route("GET", "/xend/console/{id}/stream", NULL)->role,
                     XEND_ROLE_OPERATOR);
    assert_int_equal(fake_host_route("POST", "/xend/console/{id}", "input")->role,
                     XEND_ROLE_OPERATOR);
    assert_int_equal(fake_host_route("GET", "/xend/console/{id}/terminal", NULL)->role,
                     XEND_ROLE_OPERATOR);
    assert_int_equal(fake_host_route("GET", "/xend/console/assets/xterm.js", NULL)->role,
                     XEND_ROLE_VIEWER);
}

static char xterm_dir[64];

static int setup_xterm(void **state)
{
    (void)state;
    snprintf(xterm_dir, sizeof(xterm_dir), "/tmp/xend-xterm.XXXXXX");
    assert_non_null(mkdtemp(xterm_dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/xterm.js", xterm_dir);
    FILE *f = fopen(path, "w");
    fputs("var Terminal;\n", f);
    fclose(f);
    host = NULL;
    memset(&hv, 0, sizeof(hv));
    for (int i = 0; i < 8; i++)
        hv.guest[i] = -1;
    host = fake_host_new("console");
    base = free_port() - 1;
    char b[16];
    snprintf(b, sizeof(b), "%d", base);
    fake_host_config_set("console-port-base", b);
    fake_host_config_set("console-xterm-dir", xterm_dir);
    fake_host_backend_set(&hv_ops, NULL);
    return fake_host_init_plugin(&xend_plugin_desc);
}

static int teardown_xterm(void **state)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/xterm.js", xterm_dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/xterm.css", xterm_dir);
    unlink(path);
    rmdir(xterm_dir);
    return teardown(state);
}

static void get_page(const char *path, const char *capture, struct fake_reply *r)
{
    const char *caps[] = {capture, NULL};
    assert_int_equal(fake_host_request("GET", path, NULL, NULL, caps, NULL, r), 0);
}

static void test_the_page_and_its_assets_and_what_is_missing(void **state)
{
    (void)state;
    create_domain(1, NULL);
    char cap[32];
    snprintf(cap, sizeof(cap), "id=%d", base + 1);
    struct fake_reply r;
    /* xterm.css is missing: its route says what, and so does the page. */
    get_page("/xend/console/assets/xterm.css", NULL, &r);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.body, "xterm.css is not installed"));
    fake_reply_free(&r);
    get_page("/xend/console/{id}/terminal", cap, &r);
    assert_non_null(strstr(r.body, "The console cannot be shown here: xterm.css is not installed"));
    assert_null(strstr(r.body, "data-token"));
    fake_reply_free(&r);
    /* Installed later: no restart needed. */
    char path[128];
    snprintf(path, sizeof(path), "%s/xterm.css", xterm_dir);
    FILE *f = fopen(path, "w");
    fputs(".xterm{}\n", f);
    fclose(f);
    get_page("/xend/console/{id}/terminal", cap, &r);
    assert_non_null(strstr(r.body, "data-field=\"xend_csrf\" data-token=\"faketoken\""));
    assert_non_null(strstr(r.body, "<title>Console of vm - xend</title>"));
    fake_reply_free(&r);
    /* A name from a domain is text, never markup, and a path segment in the link. */
    struct xend_domain *odd = fake_host_domain_add(2, "<b>&x y", "(vm (name odd))");
    struct xend_err err = {0};
    assert_int_equal(fake_host_run_hooks(XEND_HOOK_CREATE, odd, XEND_HOOK_NORMAL, -1, &err), 0);
    snprintf(cap, sizeof(cap), "id=%d", base + 2);
    get_page("/xend/console/{id}/terminal", cap, &r);
    assert_non_null(strstr(r.body, "Console of &lt;b&gt;&amp;x y"));
    assert_null(strstr(r.body, "<b>"));
    assert_non_null(strstr(r.body, "href=\"/xend/domain/%3Cb%3E%26x%20y\""));
    fake_reply_free(&r);
    get_page("/xend/console/assets/xterm.js", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "var Terminal;\n");
    fake_reply_free(&r);
    get_page("/xend/console/assets/terminal.js", NULL, &r);
    assert_non_null(strstr(r.body, "new EventSource"));
    fake_reply_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_matches_the_rfc4648_vectors),
        cmocka_unit_test(test_ring_push_tail_keeps_the_newest_bytes),
        cmocka_unit_test_setup_teardown(test_a_follower_sees_the_replay_then_live_output, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_a_late_follower_sees_the_recent_output_and_since_skips_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_follower_after_a_tcp_client_sees_the_boot_lines_too,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_on_demand_a_follower_holds_the_stream_until_it_leaves,
                                        setup_on_demand, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_follower_that_does_not_read_is_dropped_past_the_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_input_reaches_the_guest_beside_a_tcp_client, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_on_demand_input_opens_the_stream_and_lets_it_go,
                                        setup_on_demand, teardown),
        cmocka_unit_test_setup_teardown(test_input_that_does_not_fit_or_has_no_guest_is_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_ends_every_follower, setup, teardown),
        cmocka_unit_test_setup_teardown(test_web_routes_need_operator_and_assets_viewer, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_the_page_and_its_assets_and_what_is_missing,
                                        setup_xterm, teardown_xterm),
        cmocka_unit_test_setup_teardown(test_create_listens_on_base_plus_id_and_persists_the_port,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_boot_lines_written_before_connect_are_replayed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_replay_keeps_the_first_16k_while_nobody_is_connected,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_console_replay_max_sets_what_a_late_client_is_shown,
                                        setup_replay_100k, teardown),
        cmocka_unit_test_setup_teardown(test_console_replay_max_0_keeps_nothing_for_a_late_client,
                                        setup_no_replay, teardown),
        cmocka_unit_test_setup_teardown(
            test_an_idle_console_holds_no_buffer_and_a_few_lines_hold_little, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_input_the_guest_cannot_take_waits_bounded_and_is_freed_after, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_client_line_reaches_guest_and_guest_line_reaches_client, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_client_the_host_refuses_gets_the_reason_and_is_closed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_client_is_refused_with_the_message, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_takeover_mode_gives_the_console_to_the_new_client,
                                        setup_takeover, teardown),
        cmocka_unit_test_setup_teardown(test_disconnect_route_drops_the_client_and_keeps_listening,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_console_is_404_invalid_console, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_list_and_console_sxp_show_the_connected_peer, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_restart_keeps_the_client_and_the_new_stream_flows,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_eof_keeps_the_listener_until_destroy, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_destroy_closes_client_and_listener, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_change_the_info_shows_is_told_to_the_core, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rollback_closes_listener, setup, teardown),
        cmocka_unit_test_setup_teardown(test_port_in_use_fails_the_create_hook, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_backend_console_failure_fails_create_and_frees_the_port, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reattach_listens_on_the_port_in_the_config, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reattach_never_fails_the_hook, setup, teardown),
        cmocka_unit_test_setup_teardown(test_domain0_gets_no_console, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disconnect_request_event_drops_the_client, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_slow_client_never_makes_the_buffer_exceed_the_cap,
                                        setup_small_buffer, teardown),
        cmocka_unit_test_setup_teardown(test_drop_episode_ends_when_the_client_catches_up,
                                        setup_small_buffer, teardown),
        cmocka_unit_test_setup_teardown(
            test_on_demand_a_stream_is_open_only_while_a_client_is_connected, setup_on_demand,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_on_demand_output_already_sent_stays_for_the_next_client, setup_on_demand,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_on_demand_restart_opens_the_new_instance_when_a_client_comes, setup_on_demand,
            teardown),
        cmocka_unit_test_setup_teardown(test_on_demand_a_dead_instance_is_not_opened_again,
                                        setup_on_demand, teardown),
        cmocka_unit_test_setup_teardown(
            test_on_demand_a_failed_open_keeps_the_create_and_the_client, setup_on_demand,
            teardown),
        cmocka_unit_test_setup_teardown(test_bad_console_port_in_config_fails_create, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
