/*
 * bench-create-floor: how many small records one writer can make durable per second on
 * this disk, the floor a durable create is measured against (bench/creates/run.sh).
 *
 * Each record is what a create's is at the least: a new file with ~600 bytes written,
 * fdatasync'd, renamed into place, and the directory fsync'd so that the name is durable
 * too; one writer, one record at a time, for SECONDS.
 *
 *   bench-create-floor DIR SECONDS
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench-create-floor: %s: %s\n", what, strerror(errno));
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bench-create-floor DIR SECONDS\n");
        return 2;
    }
    const char *dir = argv[1];
    double secs = atof(argv[2]);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd < 0)
        die(dir);
    char record[600];
    memset(record, 'r', sizeof(record));
    long n = 0;
    double t0 = now(), t = t0;
    while (t - t0 < secs) {
        char tmp[64], name[64];
        snprintf(tmp, sizeof(tmp), ".tmp-%ld", n);
        snprintf(name, sizeof(name), "rec-%ld", n);
        int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
            die("open");
        if (write(fd, record, sizeof(record)) != (ssize_t)sizeof(record))
            die("write");
        if (fdatasync(fd) < 0)
            die("fdatasync");
        close(fd);
        if (renameat(dfd, tmp, dfd, name) < 0)
            die("rename");
        if (fsync(dfd) < 0)
            die("fsync dir");
        n++;
        t = now();
    }
    printf("floor records=%ld seconds=%.2f rate=%.0f/s\n", n, t - t0, (double)n / (t - t0));
    return 0;
}
