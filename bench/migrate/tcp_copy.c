/*
 * The anchor of bench-migrate: BYTES copied through plain loopback TCP, from one process
 * writing 256 KiB blocks to another reading them, the way a migration's image crosses
 * loopback with nothing in between. Prints "tcp_copy bytes=N seconds=S mb_s=M".
 *
 *   bench-migrate-tcp BYTES
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BLOCK (256u * 1024u)

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return fprintf(stderr, "usage: bench-migrate-tcp BYTES\n"), 2;
    unsigned long long total = strtoull(argv[1], NULL, 10);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1) < 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &len) < 0)
        die("listen");
    char *buf = calloc(1, BLOCK);
    if (buf == NULL)
        die("calloc");
    double t0 = now_s();
    pid_t writer = fork();
    if (writer < 0)
        die("fork");
    if (writer == 0) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
            die("connect");
        for (unsigned long long sent = 0; sent < total;) {
            size_t n = total - sent < BLOCK ? (size_t)(total - sent) : BLOCK;
            ssize_t w = write(fd, buf, n);
            if (w <= 0)
                die("write");
            sent += (unsigned long long)w;
        }
        _exit(0);
    }
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0)
        die("accept");
    unsigned long long got = 0;
    for (ssize_t r; (r = read(fd, buf, BLOCK)) > 0;)
        got += (unsigned long long)r;
    double secs = now_s() - t0;
    waitpid(writer, NULL, 0);
    if (got != total)
        return fprintf(stderr, "got %llu of %llu bytes\n", got, total), 1;
    printf("tcp_copy bytes=%llu seconds=%.3f mb_s=%.0f\n", got, secs, (double)got / secs / 1e6);
    free(buf);
    return 0;
}
