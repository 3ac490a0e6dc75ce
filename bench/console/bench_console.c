/*
 * Console throughput: MB/s of guest output delivered through a console port, against a
 * plain loopback TCP copy of the same bytes, and their ratio (target >= 50%).
 *
 * The console run drives the real plugin code on the fake host's loop (this process), with
 * a fake hypervisor whose console stream is a socketpair: a "guest" process writes as fast
 * as it can into its end, a "client" process reads the console port over loopback TCP. Bytes
 * the plugin had to drop (its queue is capped by console-buffer-max) are reported, not
 * counted as delivered. The plain run is one process writing the same bytes into a
 * loopback TCP connection and another reading them.
 *
 *   bench-console [-m MB] [-b console-buffer-max] [-r runs]
 *
 * Measures; never asserts (tests do that). Output is one line per run and a summary.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "console.h"
#include "fake_host.h"

extern const struct xend_plugin_desc xend_plugin_desc;

#define CHUNK (64 * 1024)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    perror(what);
    exit(2);
}

/* ---- the two ends, as child processes (no threads: nothing shared but fds) ---- */

/* A child keeps only the fds it uses: a copy of any other socket would hide an EOF. */
static void close_inherited(int keep1, int keep2)
{
    for (int fd = 3; fd < 1024; fd++)
        if (fd != keep1 && fd != keep2)
            close(fd);
}

/* Write total bytes to fd once a byte arrives on go; exits. */
static pid_t spawn_writer(int fd, size_t total, int go)
{
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid > 0)
        return pid;
    close_inherited(fd, go);
    static char chunk[CHUNK];
    for (size_t i = 0; i < sizeof(chunk); i++)
        chunk[i] = (char)(' ' + i % 95);
    char b;
    if (read(go, &b, 1) != 1)
        _exit(1);
    size_t left = total;
    while (left > 0) {
        ssize_t n = write(fd, chunk, left < sizeof(chunk) ? left : sizeof(chunk));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            _exit(1);
        }
        left -= (size_t)n;
    }
    _exit(0);
}

struct result {
    size_t got;
    double last; /* time of the last byte */
};

/* Read fd to EOF, then write a struct result to the pipe `out`; exits. */
static pid_t spawn_reader(int fd, int out)
{
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid > 0)
        return pid;
    close_inherited(fd, out);
    static char buf[256 * 1024];
    struct result r = {0};
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        r.got += (size_t)n;
        r.last = now_s();
    }
    _exit(write(out, &r, sizeof(r)) == sizeof(r) ? 0 : 1);
}

static struct result collect(int pipe_rd, pid_t reader)
{
    struct result r = {0};
    if (read(pipe_rd, &r, sizeof(r)) != sizeof(r))
        die("reader result");
    waitpid(reader, NULL, 0);
    return r;
}

static int listen_any(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)
        die("listen");
    *port = ntohs(sa.sin_port);
    return fd;
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        die("connect");
    return fd;
}

/* ---- plain loopback TCP ---- */

static double run_plain(size_t total)
{
    int port, go[2], res[2];
    int lfd = listen_any(&port);
    int wfd = connect_to(port);
    int rfd = accept(lfd, NULL, NULL);
    if (rfd < 0 || pipe(go) < 0 || pipe(res) < 0)
        die("plain setup");
    close(lfd);
    pid_t writer = spawn_writer(wfd, total, go[0]);
    pid_t reader = spawn_reader(rfd, res[1]);
    close(wfd);
    close(rfd);
    double t0 = now_s();
    if (write(go[1], "g", 1) != 1)
        die("go");
    waitpid(writer, NULL, 0);
    struct result r = collect(res[0], reader);
    close(go[0]);
    close(go[1]);
    close(res[0]);
    close(res[1]);
    if (r.got != total) {
        fprintf(stderr, "plain: got %zu of %zu bytes\n", r.got, total);
        exit(2);
    }
    return (double)total / (r.last - t0) / 1e6;
}

/* ---- through the console plugin ---- */

static int guest_fd = -1;

static int hv_console_open(void *ctx, uint32_t domid, int *fd, struct xend_err *err)
{
    (void)ctx;
    (void)domid;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return xend_err_set(err, XEND_EIO, "socketpair: %s", strerror(errno));
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    guest_fd = sv[1]; /* blocking: the guest process writes as fast as the plugin reads */
    *fd = sv[0];
    return 0;
}

static const struct xend_backend_ops hv_ops = {
    XEND_BACKEND_OPS_INIT,
    .name = "benchhv",
    .console_open = hv_console_open,
};

static bool console_connected(void *arg)
{
    return ((struct console *)arg)->cfd >= 0;
}

static double run_console(size_t total, const char *buffer_max, uint64_t *dropped,
                          size_t *delivered)
{
    const struct xend_host *host = fake_host_new("console");
    int port;
    close(listen_any(&port)); /* a free port for domain 1 */
    char base[16];
    snprintf(base, sizeof(base), "%d", port - 1);
    fake_host_config_set("console-port-base", base);
    if (buffer_max)
        fake_host_config_set("console-buffer-max", buffer_max);
    fake_host_backend_set(&hv_ops, NULL);
    if (fake_host_init_plugin(&xend_plugin_desc) < 0) {
        fprintf(stderr, "init: %s\n", fake_host_plugin_err());
        exit(2);
    }
    struct xend_domain *dom = fake_host_domain_add(1, "bench", "(vm (name bench))");
    struct xend_err err = {0};
    if (fake_host_run_hooks(XEND_HOOK_CREATE, dom, XEND_HOOK_NORMAL, -1, &err) < 0) {
        fprintf(stderr, "create: %s\n", xend_err_msg(&err));
        exit(2);
    }
    struct console *c = console_find_port(port);

    int cfd = connect_to(port);
    if (!fake_host_loop_until(console_connected, c, 5000)) {
        fprintf(stderr, "console: client not accepted\n");
        exit(2);
    }
    int go[2], res[2];
    if (pipe(go) < 0 || pipe(res) < 0)
        die("pipe");
    pid_t writer = spawn_writer(guest_fd, total, go[0]);
    pid_t reader = spawn_reader(cfd, res[1]);
    /* Only the children hold the guest end and the client now: their exit is the EOF. */
    close(guest_fd);
    close(cfd);
    double t0 = now_s();
    if (write(go[1], "g", 1) != 1)
        die("go");

    /* Pump until the guest is done and the plugin has seen its EOF and flushed its queue. */
    double deadline = t0 + 120;
    bool writer_done = false;
    struct console_stats st;
    for (;;) {
        fake_host_loop_once(10);
        if (!writer_done && waitpid(writer, NULL, WNOHANG) == writer)
            writer_done = true;
        console_stats_get(c, &st);
        if (writer_done && !st.streaming && st.buffered == 0)
            break;
        if (now_s() > deadline) {
            fprintf(stderr, "console: timed out\n");
            exit(2);
        }
    }
    *dropped = st.dropped;
    /* Destroying the domain closes the client: the reader sees EOF. */
    fake_host_run_hooks(XEND_HOOK_DESTROY, dom, XEND_HOOK_NORMAL, -1, &err);
    struct result r = collect(res[0], reader);
    close(go[0]);
    close(go[1]);
    close(res[0]);
    close(res[1]);
    (void)host;
    fake_host_fini_plugin(&xend_plugin_desc);
    fake_host_free();
    *delivered = r.got;
    return (double)r.got / (r.last - t0) / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
    double s[64];
    memcpy(s, v, (size_t)n * sizeof(*s));
    qsort(s, (size_t)n, sizeof(*s), cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    size_t mb = 128;
    int runs = 5;
    const char *buffer_max = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "m:b:r:")) != -1) {
        if (opt == 'm')
            mb = (size_t)atol(optarg);
        else if (opt == 'b')
            buffer_max = optarg;
        else if (opt == 'r')
            runs = atoi(optarg);
        else {
            fprintf(stderr, "usage: %s [-m MB] [-b console-buffer-max] [-r runs]\n", argv[0]);
            return 2;
        }
    }
    size_t total = mb * 1024 * 1024;
    double ratio[64], plain[64], cons[64];
    if (runs < 1 || runs > 64)
        runs = 5;
    uint64_t dropped_total = 0;
    /* Alternate the two kinds so that a noisy neighbour hurts both alike; report medians. */
    for (int i = 0; i < runs; i++) {
        plain[i] = run_plain(total);
        uint64_t dropped;
        size_t delivered;
        cons[i] = run_console(total, buffer_max, &dropped, &delivered);
        ratio[i] = cons[i] / plain[i];
        printf("run %d: plain %.0f MB/s, console %.0f MB/s (%.0f%%), delivered %zu of %zu bytes "
               "(dropped %llu)\n",
               i + 1, plain[i], cons[i], 100.0 * ratio[i], delivered, total,
               (unsigned long long)dropped);
        dropped_total += dropped;
    }
    printf("console throughput: %.0f MB/s; plain loopback TCP: %.0f MB/s; ratio %.0f%% "
           "(median of %d runs of %zu MB; target >= 50%%); dropped %llu bytes in all\n",
           median(cons, runs), median(plain, runs), 100.0 * median(ratio, runs), runs, mb,
           (unsigned long long)dropped_total);
    return 0;
}
