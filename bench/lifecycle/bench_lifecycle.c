/*
 * bench-lifecycle: an HTTP load generator for xend's domain API (bench/README.md). It opens
 * N keep-alive connections to 127.0.0.1:PORT and keeps one request in flight on each, from
 * one epoll thread, and prints one `key=value` line per measurement:
 *
 *   create   POST /xend/domain op=create with a fresh name per request until COUNT domains
 *            were acknowledged (201: durable in xend's store); creates per second.
 *   get      GET PATH for SECONDS on every connection; requests per second and latency
 *            percentiles. Works against any HTTP/1.1 server (the bare libevhtp one too).
 *   latency  GET PATH one at a time on one connection, REPS times; latency percentiles.
 *
 * -q sets TCP_QUICKACK after every read, so the client acknowledges at once: a server
 * without TCP_NODELAY then no longer waits for the client's delayed ACK (~40 ms) between
 * the segments of a reply, and what remains is the server's own time.
 *
 * A measurement, not a test: it never decides pass or fail. It must never talk to anything
 * but 127.0.0.1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
    int fd;
    char *req; /* the request being sent, owned */
    size_t req_len, req_off;
    char in[1 << 16]; /* response bytes received so far (the body is counted, not kept) */
    size_t in_len;
    size_t body_left; /* once the head is parsed */
    bool head_done;
    int status;
    uint64_t start_ns;
    bool busy;
};

static struct {
    int port;
    const char *path;
    const char *kernel;
    const char *prefix;
    long memory;
    int conns;
    double seconds;
    long count, reps;
    long next_name; /* create: the next name's number */
    long ok, failed, sent;
    uint64_t *lat; /* per-request latencies in ns */
    size_t nlat, cap_lat;
    char fail_sample[512];
    bool quickack;
} B = {.port = 8000,
       .path = "/xend/domain/Domain-0",
       .prefix = "b",
       .memory = 1,
       .conns = 64,
       .seconds = 5,
       .count = 1000,
       .reps = 200};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "bench-lifecycle: %s: %s\n", what, strerror(errno));
    exit(2);
}

static int connect_one(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)B.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        die("connect to 127.0.0.1");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* %-encode for a form value. */
static size_t urlencode(const char *s, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.') {
            out[n++] = (char)c;
        } else {
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    out[n] = '\0';
    return n;
}

static char *request_get(size_t *len)
{
    char *r;
    int n = asprintf(&r,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench-lifecycle\r\n"
                     "\r\n",
                     B.path);
    if (n < 0)
        die("asprintf");
    *len = (size_t)n;
    return r;
}

static char *request_create(size_t *len)
{
    char config[1024], enc[3072], *r;
    snprintf(config, sizeof(config), "(vm (name %s%06ld) (memory %ld) (image (linux (kernel %s))))",
             B.prefix, B.next_name++, B.memory, B.kernel);
    size_t elen = urlencode(config, enc);
    int n = asprintf(&r,
                     "POST /xend/domain HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "User-Agent: bench-lifecycle\r\n"
                     "Content-Type: application/x-www-form-urlencoded\r\n"
                     "Content-Length: %zu\r\n\r\nop=create&config=%s",
                     elen + strlen("op=create&config="), enc);
    if (n < 0)
        die("asprintf");
    *len = (size_t)n;
    return r;
}

enum mode { MODE_CREATE, MODE_GET, MODE_LATENCY };
static enum mode mode;

static bool want_more(uint64_t deadline)
{
    if (mode == MODE_CREATE) /* replace failures so COUNT get made, unless all would fail
                              * (a kernel path xend cannot read): then stop and say why */
        return B.sent < B.count + B.failed && B.failed <= B.count;
    if (mode == MODE_LATENCY)
        return B.sent < B.reps;
    return now_ns() < deadline;
}

static void start_request(struct conn *c)
{
    free(c->req);
    c->req = mode == MODE_CREATE ? request_create(&c->req_len) : request_get(&c->req_len);
    c->req_off = 0;
    c->in_len = 0;
    c->head_done = false;
    c->body_left = 0;
    c->status = 0;
    c->start_ns = now_ns();
    c->busy = true;
    B.sent++;
}

static void record(struct conn *c)
{
    uint64_t d = now_ns() - c->start_ns;
    if (B.nlat == B.cap_lat) {
        B.cap_lat = B.cap_lat ? B.cap_lat * 2 : 4096;
        B.lat = realloc(B.lat, B.cap_lat * sizeof(*B.lat));
        if (B.lat == NULL)
            die("realloc");
    }
    B.lat[B.nlat++] = d;
    bool good = mode == MODE_CREATE ? c->status == 201 : c->status == 200;
    if (good) {
        B.ok++;
    } else {
        B.failed++;
        if (B.fail_sample[0] == '\0')
            snprintf(B.fail_sample, sizeof(B.fail_sample), "status=%d body=%.200s", c->status,
                     c->in);
    }
    c->busy = false;
}

/* Parse what arrived; true when a whole response is in. */
static bool parse(struct conn *c)
{
    if (!c->head_done) {
        c->in[c->in_len < sizeof(c->in) ? c->in_len : sizeof(c->in) - 1] = '\0';
        char *end = strstr(c->in, "\r\n\r\n");
        if (end == NULL)
            return false;
        c->head_done = true;
        c->status = atoi(c->in + 9);
        size_t clen = 0;
        for (char *h = strstr(c->in, "\r\n"); h && h < end; h = strstr(h + 2, "\r\n"))
            if (strncasecmp(h + 2, "Content-Length:", 15) == 0)
                clen = strtoul(h + 17, NULL, 10);
        size_t have = c->in_len - (size_t)(end + 4 - c->in);
        c->body_left = clen > have ? clen - have : 0;
        return c->body_left == 0;
    }
    return c->body_left == 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void run(void)
{
    int ep = epoll_create1(0);
    if (ep < 0)
        die("epoll_create1");
    int n = mode == MODE_LATENCY ? 1 : B.conns;
    struct conn *cs = calloc((size_t)n, sizeof(*cs));
    uint64_t t0 = now_ns(), deadline = t0 + (uint64_t)(B.seconds * 1e9);
    int active = 0;
    for (int i = 0; i < n; i++) {
        cs[i].fd = connect_one();
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = &cs[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
        if (want_more(deadline)) {
            start_request(&cs[i]);
            active++;
        }
    }
    struct epoll_event evs[256];
    while (active > 0) {
        int k = epoll_wait(ep, evs, 256, 1000);
        if (k < 0 && errno != EINTR)
            die("epoll_wait");
        for (int e = 0; e < k; e++) {
            struct conn *c = evs[e].data.ptr;
            if (!c->busy)
                continue;
            while (c->req_off < c->req_len) {
                ssize_t w = write(c->fd, c->req + c->req_off, c->req_len - c->req_off);
                if (w < 0) {
                    if (errno == EAGAIN)
                        break;
                    die("write");
                }
                c->req_off += (size_t)w;
            }
            for (;;) {
                char tmp[1 << 16];
                char *dst = tmp;
                size_t room = sizeof(tmp);
                if (!c->head_done && c->in_len < sizeof(c->in) - 1) {
                    dst = c->in + c->in_len;
                    room = sizeof(c->in) - 1 - c->in_len;
                }
                ssize_t r = read(c->fd, dst, room);
                if (B.quickack) {
                    int one = 1; /* not sticky: the kernel drops it again, so after every read */
                    setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
                }
                if (r < 0) {
                    if (errno == EAGAIN)
                        break;
                    die("read");
                }
                if (r == 0) {
                    fprintf(stderr,
                            "bench-lifecycle: server closed a connection (after %ld "
                            "replies)\n",
                            B.ok + B.failed);
                    exit(2);
                }
                if (dst != tmp || !c->head_done) {
                    if (dst == tmp) /* head longer than the buffer: keep its tail only */
                        continue;
                    c->in_len += (size_t)r;
                    if (!parse(c))
                        continue;
                } else {
                    c->body_left = (size_t)r >= c->body_left ? 0 : c->body_left - (size_t)r;
                    if (c->body_left > 0)
                        continue;
                }
                record(c);
                if (want_more(deadline)) {
                    start_request(c);
                    /* Send now: edge-triggered EPOLLOUT will not fire again by itself. */
                    ssize_t w = write(c->fd, c->req, c->req_len);
                    if (w > 0)
                        c->req_off = (size_t)w;
                } else {
                    active--;
                    break;
                }
            }
        }
    }
    double secs = (double)(now_ns() - t0) / 1e9;

    qsort(B.lat, B.nlat, sizeof(*B.lat), cmp_u64);
#define PCT(p) (B.nlat ? (double)B.lat[(size_t)((double)(B.nlat - 1) * (p))] / 1e6 : 0.0)
    const char *name = mode == MODE_CREATE ? "create" : mode == MODE_GET ? "get" : "latency";
    printf("%s conns=%d ok=%ld failed=%ld seconds=%.2f rate=%.0f/s p50_ms=%.3f p90_ms=%.3f "
           "p99_ms=%.3f max_ms=%.3f",
           name, n, B.ok, B.failed, secs, (double)B.ok / secs, PCT(0.5), PCT(0.9), PCT(0.99),
           PCT(1.0));
    if (mode != MODE_CREATE)
        printf(" path=%s", B.path);
    if (B.quickack)
        printf(" quickack=1");
    printf("\n");
    if (B.fail_sample[0])
        printf("first_failure %s\n", B.fail_sample);
    for (int i = 0; i < n; i++) {
        close(cs[i].fd);
        free(cs[i].req);
    }
    free(cs);
    close(ep);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench-lifecycle create -p PORT -k KERNEL [-n COUNT] [-c CONNS] [-x PREFIX]\n"
            "                              [-s FIRST-NUMBER] [-m MEMORY-MB]\n"
            "       bench-lifecycle get -p PORT [-u PATH] [-c CONNS] [-t SECONDS] [-q]\n"
            "       bench-lifecycle latency -p PORT [-u PATH] [-r REPS] [-q]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    if (strcmp(argv[1], "create") == 0)
        mode = MODE_CREATE;
    else if (strcmp(argv[1], "get") == 0)
        mode = MODE_GET;
    else if (strcmp(argv[1], "latency") == 0)
        mode = MODE_LATENCY;
    else
        usage();
    int o;
    optind = 2;
    while ((o = getopt(argc, argv, "p:k:n:c:x:s:m:u:t:r:q")) != -1) {
        switch (o) {
        case 'p':
            B.port = atoi(optarg);
            break;
        case 'k':
            B.kernel = optarg;
            break;
        case 'n':
            B.count = atol(optarg);
            break;
        case 'c':
            B.conns = atoi(optarg);
            break;
        case 'x':
            B.prefix = optarg;
            break;
        case 's':
            B.next_name = atol(optarg);
            break;
        case 'm':
            B.memory = atol(optarg);
            break;
        case 'u':
            B.path = optarg;
            break;
        case 't':
            B.seconds = atof(optarg);
            break;
        case 'r':
            B.reps = atol(optarg);
            break;
        case 'q':
            B.quickack = true;
            break;
        default:
            usage();
        }
    }
    if (mode == MODE_CREATE && B.kernel == NULL)
        usage();
    if (mode == MODE_CREATE && B.conns > B.count)
        B.conns = (int)B.count;
    run();
    return B.failed > 0 && B.ok == 0;
}
