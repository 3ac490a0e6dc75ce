/*
 * bench-soak: mixed load and connection floods against xend (bench/README.md, "bench-soak").
 * Measurements, not tests: it never decides pass or fail, and talks only to 127.0.0.1.
 *
 *   soak  -p PORT -k KERNEL [-c CLIENTS] [-n REQUESTS] [-s SLOW]
 *         CLIENTS threads, each on its own keep-alive connection, run REQUESTS requests in
 *         cycles of: create a domain (a fresh name), 3 x info of it, 3 x list, destroy it.
 *         SLOW more threads act as slow clients meanwhile: each sends half a request head
 *         and holds it until xend answers 408 or closes, then starts over. Prints
 *         p50/p99/max latency per request type and the errors. -C BASE: the domains of
 *         client k get console port BASE + k, and each cycle also connects to the console
 *         (TCP connect to the port, timed, then closed) before the destroy. -f N: N event
 *         followers read /xend/event?follow=1 meanwhile (lines counted, drops reported).
 *         -R: reads only (info of
 *         Domain-0 and list, no creates or destroys): the control run that shows what the
 *         creates add to the reads' latency.
 *   flood -p PORT [-m HOLD] [-r REPS] [-t SECONDS]
 *         Open HOLD idle connections (sending nothing), then time REPS fresh requests, one
 *         at a time, each on a new connection: GET /xend/domain and GET
 *         /xend/domain/Domain-0; then hold for SECONDS more (run.sh measures xend's CPU
 *         meanwhile) and close them all.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum kind { K_CREATE, K_INFO, K_LIST, K_CONSOLE, K_DESTROY, K_N };
static const char *kind_name[K_N] = {"create", "info", "list", "console", "destroy"};

static struct {
    int port;
    const char *kernel;
    int clients, slow;
    int console_base; /* -C: client k's domains get console port BASE + k; 0 = no consoles */
    int followers;    /* -f: event followers (GET /xend/event?follow=1) reading meanwhile */
    bool reads_only;  /* -R: no creates or destroys, info of Domain-0 (the control run) */
    long requests;
    int hold, reps;
    double seconds;
    atomic_bool stop;
    atomic_long errors, slow_cycles, follower_lines, follower_drops;
} opt = {.clients = 100, .requests = 1000, .hold = 1000, .reps = 50, .seconds = 1};

struct lat {
    uint64_t *v;
    size_t n, cap;
};

static void lat_add(struct lat *l, uint64_t us)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 1024;
        l->v = realloc(l->v, l->cap * sizeof(*l->v));
        if (l->v == NULL)
            abort();
    }
    l->v[l->n++] = us;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void lat_print(const char *what, struct lat *l)
{
    if (l->n == 0) {
        printf("%s n=0\n", what);
        return;
    }
    qsort(l->v, l->n, sizeof(*l->v), cmp_u64);
    printf("%-8s n=%-7zu p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n", what, l->n,
           l->v[l->n / 2] / 1000.0, l->v[(l->n * 99) / 100] / 1000.0, l->v[l->n - 1] / 1000.0);
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct timeval tv = {30, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* One reply with a Content-Length; its status, and whether the body is an xend.err. */
static int read_reply(int fd, bool *xerr)
{
    static _Thread_local char buf[1 << 20];
    size_t len = 0;
    char *end = NULL;
    while (end == NULL) {
        if (len == sizeof(buf))
            return -1;
        ssize_t r = recv(fd, buf + len, sizeof(buf) - len, 0);
        if (r <= 0)
            return -1;
        len += (size_t)r;
        end = memmem(buf, len, "\r\n\r\n", 4);
    }
    int status = atoi(buf + 9);
    size_t head = (size_t)(end - buf) + 4;
    char *cl = memmem(buf, head, "Content-Length: ", 16);
    size_t body = cl ? strtoul(cl + 16, NULL, 10) : 0;
    size_t have = len - head;
    size_t left = body > have ? body - have : 0;
    static _Thread_local char rest[1 << 16];
    while (left > 0) {
        ssize_t r = recv(fd, rest, left < sizeof(rest) ? left : sizeof(rest), 0);
        if (r <= 0)
            return -1;
        left -= (size_t)r;
    }
    *xerr = have >= 9 && memcmp(buf + head, "(xend.err", 9) == 0;
    if ((status >= 300 || *xerr) && atomic_load(&opt.errors) < 5) /* say what went wrong */
        fprintf(stderr, "error reply: %.*s\n", (int)(len < 300 ? len : 300), buf);
    return status;
}

/* Send a request on *fd (reconnecting once if the server closed it); the latency in us, or
 * 0 on an error (counted). */
static uint64_t request(int *fd, const char *req, size_t len, bool expect_ok)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (*fd < 0 && (*fd = dial()) < 0)
            break;
        uint64_t t0 = now_us();
        bool xerr = false;
        int status = send_all(*fd, req, len) ? read_reply(*fd, &xerr) : -1;
        if (status < 0) {
            if (attempt == 1 && atomic_load(&opt.errors) < 5)
                fprintf(stderr, "error: %s on %.60s\n", strerror(errno), req);
            close(*fd);
            *fd = -1;
            continue; /* an idle keep-alive connection closed by xend: once more */
        }
        uint64_t t = now_us() - t0;
        if (status >= 300 || (expect_ok && xerr)) {
            atomic_fetch_add(&opt.errors, 1);
            return 0;
        }
        return t ? t : 1;
    }
    atomic_fetch_add(&opt.errors, 1);
    return 0;
}

/* A console connect: TCP connect to the port, then close; the latency in us, 0 on error. A
 * refusal ("Cannot connect", another client holds it) would come as a line: none can here,
 * each client has its own port. */
static uint64_t console_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    uint64_t t0 = now_us();
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        if (atomic_load(&opt.errors) < 5)
            fprintf(stderr, "error: console connect %d: %s\n", port, strerror(errno));
        if (fd >= 0)
            close(fd);
        atomic_fetch_add(&opt.errors, 1);
        return 0;
    }
    uint64_t t = now_us() - t0;
    close(fd);
    return t ? t : 1;
}

/* An event follower: reads the stream until stopped, counting lines. */
static void *follower_run(void *arg)
{
    (void)arg;
    int fd = dial();
    static const char req[] = "GET /xend/event?follow=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    if (fd < 0 || !send_all(fd, req, sizeof(req) - 1)) {
        atomic_fetch_add(&opt.errors, 1);
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    struct timeval tv = {0, 200000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char b[65536];
    while (!atomic_load(&opt.stop)) {
        ssize_t r = recv(fd, b, sizeof(b), 0);
        if (r == 0)
            break;
        if (r < 0)
            continue; /* the timeout: look at stop again */
        long lines = 0;
        for (ssize_t i = 0; i < r; i++)
            lines += b[i] == '\n';
        atomic_fetch_add(&opt.follower_lines, lines);
        if (memmem(b, (size_t)r, "xend.event.dropped", 18) != NULL)
            atomic_fetch_add(&opt.follower_drops, 1);
    }
    close(fd);
    return NULL;
}

struct client {
    pthread_t th;
    int id;
    struct lat lat[K_N];
};

static void *client_run(void *arg)
{
    struct client *c = arg;
    int fd = -1;
    char req[2048], body[1024], name[32];
    unsigned cycle = 0;
    long done = 0;
    while (done < opt.requests) {
        uint64_t t;
        int m;
        if (opt.reads_only) {
            snprintf(name, sizeof(name), "Domain-0");
            goto reads;
        }
        snprintf(name, sizeof(name), "k%02d_%05u", c->id % 100, cycle++ % 100000);
        char console[48] = "";
        if (opt.console_base > 0)
            snprintf(console, sizeof(console), "+%%28console+%d%%29", opt.console_base + c->id);
        int n = snprintf(body, sizeof(body),
                         "op=create&config=%%28vm+%%28name+%s%%29+%%28memory+16%%29%s+%%28image+"
                         "%%28linux+%%28kernel+%s%%29%%29%%29%%29",
                         name, console, opt.kernel);
        m = snprintf(req, sizeof(req),
                     "POST /xend/domain HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                     "application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s",
                     n, body);
        t = request(&fd, req, (size_t)m, true);
        done++;
        if (t)
            lat_add(&c->lat[K_CREATE], t);
        else
            continue;
    reads:
        for (int i = 0; i < 3 && done < opt.requests; i++, done++) {
            m = snprintf(req, sizeof(req),
                         "GET /xend/domain/%s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", name);
            if ((t = request(&fd, req, (size_t)m, true)))
                lat_add(&c->lat[K_INFO], t);
        }
        for (int i = 0; i < 3 && done < opt.requests; i++, done++) {
            m = snprintf(req, sizeof(req), "GET /xend/domain HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            if ((t = request(&fd, req, (size_t)m, true)))
                lat_add(&c->lat[K_LIST], t);
        }
        if (opt.reads_only)
            continue;
        if (opt.console_base > 0 && done < opt.requests) {
            if ((t = console_connect(opt.console_base + c->id)))
                lat_add(&c->lat[K_CONSOLE], t);
            done++;
        }
        m = snprintf(
            req, sizeof(req),
            "POST /xend/domain/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
            "application/x-www-form-urlencoded\r\nContent-Length: 22\r\n\r\nop=destroy&reason=halt",
            name);
        if ((t = request(&fd, req, (size_t)m, true)))
            lat_add(&c->lat[K_DESTROY], t);
        done++;
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

/* A slow client: half a head, then wait for xend to give up on it. */
static void *slow_run(void *arg)
{
    (void)arg;
    while (!atomic_load(&opt.stop)) {
        int fd = dial();
        if (fd < 0) {
            usleep(100000);
            continue;
        }
        send_all(fd, "GET /xend/domain HTTP/1.1\r\nHo", 30);
        char b[512];
        while (!atomic_load(&opt.stop) && recv(fd, b, sizeof(b), 0) > 0)
            ;
        close(fd);
        atomic_fetch_add(&opt.slow_cycles, 1);
    }
    return NULL;
}

static int soak(void)
{
    struct client *cs = calloc((size_t)opt.clients, sizeof(*cs));
    pthread_t *slow = calloc((size_t)opt.slow + 1, sizeof(*slow));
    for (int i = 0; i < opt.slow; i++)
        pthread_create(&slow[i], NULL, slow_run, NULL);
    pthread_t *fol = calloc((size_t)opt.followers + 1, sizeof(*fol));
    for (int i = 0; i < opt.followers; i++)
        pthread_create(&fol[i], NULL, follower_run, NULL);
    uint64_t t0 = now_us();
    for (int i = 0; i < opt.clients; i++) {
        cs[i].id = i;
        pthread_create(&cs[i].th, NULL, client_run, &cs[i]);
    }
    struct lat all[K_N] = {{0}};
    for (int i = 0; i < opt.clients; i++) {
        pthread_join(cs[i].th, NULL);
        for (int k = 0; k < K_N; k++) {
            for (size_t j = 0; j < cs[i].lat[k].n; j++)
                lat_add(&all[k], cs[i].lat[k].v[j]);
            free(cs[i].lat[k].v);
        }
    }
    double secs = (now_us() - t0) / 1e6;
    atomic_store(&opt.stop, true);
    for (int i = 0; i < opt.slow; i++)
        pthread_cancel(slow[i]), pthread_join(slow[i], NULL);
    for (int i = 0; i < opt.followers; i++)
        pthread_join(fol[i], NULL);
    free(fol);
    size_t total = 0;
    for (int k = 0; k < K_N; k++)
        total += all[k].n;
    printf("soak clients=%d requests_per_client=%ld slow=%d seconds=%.1f ok=%zu errors=%ld "
           "req_per_s=%.0f slow_cycles=%ld\n",
           opt.clients, opt.requests, opt.slow, secs, total, atomic_load(&opt.errors), total / secs,
           atomic_load(&opt.slow_cycles));
    if (opt.followers > 0)
        printf("followers=%d event_lines=%ld dropped=%ld\n", opt.followers,
               atomic_load(&opt.follower_lines), atomic_load(&opt.follower_drops));
    for (int k = 0; k < K_N; k++) {
        lat_print(kind_name[k], &all[k]);
        free(all[k].v);
    }
    free(cs);
    free(slow);
    return 0;
}

static int flood(void)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    int *fds = calloc((size_t)opt.hold, sizeof(int));
    int held = 0;
    for (; held < opt.hold; held++)
        if ((fds[held] = dial()) < 0)
            break;
    printf("flood held=%d (asked %d, client nofile %llu)\n", held, opt.hold,
           (unsigned long long)rl.rlim_cur);
    static const char *paths[] = {"/xend/domain", "/xend/domain/Domain-0"};
    for (int p = 0; p < 2; p++) {
        struct lat l = {0};
        char req[256];
        int m =
            snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", paths[p]);
        for (int i = 0; i < opt.reps; i++) {
            int fd = -1;
            uint64_t t0 = now_us();
            bool xerr;
            fd = dial();
            int st = fd >= 0 && send_all(fd, req, (size_t)m) ? read_reply(fd, &xerr) : -1;
            if (fd >= 0)
                close(fd);
            if (st == 200)
                lat_add(&l, now_us() - t0);
            else
                atomic_fetch_add(&opt.errors, 1);
        }
        char what[64];
        snprintf(what, sizeof(what), "fresh GET %s", paths[p]);
        lat_print(what, &l);
        free(l.v);
    }
    printf("flood errors=%ld\n", atomic_load(&opt.errors));
    fflush(stdout);
    usleep((useconds_t)(opt.seconds * 1e6));
    for (int i = 0; i < held; i++)
        close(fds[i]);
    free(fds);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench-soak soak|flood -p PORT [options] (see the source)\n");
        return 2;
    }
    const char *mode = argv[1];
    int c;
    optind = 2;
    while ((c = getopt(argc, argv, "p:k:c:n:s:m:r:t:RC:f:")) != -1) {
        switch (c) {
        case 'p':
            opt.port = atoi(optarg);
            break;
        case 'k':
            opt.kernel = optarg;
            break;
        case 'c':
            opt.clients = atoi(optarg);
            break;
        case 'n':
            opt.requests = atol(optarg);
            break;
        case 's':
            opt.slow = atoi(optarg);
            break;
        case 'm':
            opt.hold = atoi(optarg);
            break;
        case 'r':
            opt.reps = atoi(optarg);
            break;
        case 't':
            opt.seconds = atof(optarg);
            break;
        case 'R':
            opt.reads_only = true;
            break;
        case 'C':
            opt.console_base = atoi(optarg);
            break;
        case 'f':
            opt.followers = atoi(optarg);
            break;
        default:
            return 2;
        }
    }
    if (opt.port <= 0)
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(mode, "soak") == 0) {
        if (opt.kernel == NULL)
            return 2;
        return soak();
    }
    if (strcmp(mode, "flood") == 0)
        return flood();
    return 2;
}
