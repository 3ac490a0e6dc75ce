/*
 * Blocking socket I/O with deadlines, for the loop's calls and the workers' streams (sim.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"

uint64_t sim_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int sim_ms_left(uint64_t deadline)
{
    uint64_t now = sim_now_ms();
    return now >= deadline ? 0 : (int)(deadline - now);
}

int sim_wait_fd(int fd, short events, uint64_t deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, sim_ms_left(deadline));
        if (r > 0)
            return 0;
        if (r == 0)
            return -ETIMEDOUT;
        if (errno != EINTR)
            return -errno;
    }
}

/* One sendmsg of data with the descriptor pass along (SCM_RIGHTS): as send() returns. */
static ssize_t send_with_fd(int fd, const void *data, size_t len, int pass)
{
    union {
        struct cmsghdr h;
        char b[CMSG_SPACE(sizeof(int))];
    } u;
    memset(&u, 0, sizeof(u));
    struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof(u.b)};
    struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_RIGHTS;
    h->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(h), &pass, sizeof(pass));
    return sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* All of data, waiting for room up to the deadline: through send() on our own sockets
 * (no SIGPIPE, never blocking; with the descriptor pass along the first bytes unless it is
 * -1), through write() on a caller's fd of any kind. */
static int put_all(int fd, const void *data, size_t len, uint64_t deadline, bool is_socket,
                   int pass)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = pass >= 0   ? send_with_fd(fd, p, len, pass)
                    : is_socket ? send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT)
                                : write(fd, p, len);
        if (n > 0)
            pass = -1; /* it went with those bytes */
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                return -errno;
            int rc = sim_wait_fd(fd, POLLOUT, deadline);
            if (rc < 0)
                return rc;
            continue;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int sim_send_all(int fd, const void *data, size_t len, uint64_t deadline)
{
    return put_all(fd, data, len, deadline, true, -1);
}

int sim_send_fd(int fd, const void *data, size_t len, int pass, uint64_t deadline)
{
    return put_all(fd, data, len, deadline, true, pass);
}

int sim_recv_exact(int fd, void *data, size_t len, uint64_t deadline)
{
    char *p = data;
    while (len > 0) {
        int rc = sim_wait_fd(fd, POLLIN, deadline);
        if (rc < 0)
            return rc;
        ssize_t n = read(fd, p, len);
        if (n == 0)
            return -EPIPE;
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int sim_write_all(int fd, const void *data, size_t len, uint64_t deadline)
{
    return put_all(fd, data, len, deadline, false, -1);
}

/*
 * One reply line, read with MSG_PEEK so nothing after the newline is consumed: on stream
 * connections the bytes that follow belong to the caller. *line owned (free).
 */
int sim_read_line(int fd, char **line, uint64_t deadline)
{
    char *buf = NULL;
    size_t len = 0;
    char peek[16384];
    for (;;) {
        int rc = sim_wait_fd(fd, POLLIN, deadline);
        if (rc < 0) {
            free(buf);
            return rc;
        }
        ssize_t n = recv(fd, peek, sizeof(peek), MSG_PEEK | MSG_DONTWAIT);
        if (n == 0) {
            free(buf);
            return -EPIPE;
        }
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            free(buf);
            return -errno;
        }
        char *nl = memchr(peek, '\n', (size_t)n);
        size_t take = nl ? (size_t)(nl - peek) + 1 : (size_t)n;
        if (len + take > SIM_LINE_MAX) {
            free(buf);
            return -EMSGSIZE;
        }
        char *nb = realloc(buf, len + take + 1);
        if (nb == NULL)
            abort(); /* the ABI's OOM policy */
        buf = nb;
        if (recv(fd, buf + len, take, MSG_DONTWAIT) != (ssize_t)take) {
            free(buf);
            return -EIO;
        }
        len += take;
        if (nl != NULL) {
            buf[len - 1] = '\0';
            *line = buf;
            return 0;
        }
    }
}

int sim_dial(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}
