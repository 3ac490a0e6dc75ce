/* Blocking stream I/O for worker threads (wire.h). */
#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "wire.h"

int xend_wire_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            errno = EIO; /* a write that takes nothing will not take it on a retry */
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int xend_wire_write_str(int fd, const char *s)
{
    return xend_wire_write_all(fd, s, strlen(s));
}

int xend_wire_read_all(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = 0;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int xend_wire_read_line(int fd, char *out, size_t max)
{
    size_t n = 0;
    for (;;) {
        char c;
        if (xend_wire_read_all(fd, &c, 1) < 0)
            return -1;
        if (c == '\n')
            break;
        if (n + 1 >= max) {
            errno = EMSGSIZE;
            return -1;
        }
        out[n++] = c;
    }
    out[n] = '\0';
    return 0;
}

void xend_wire_set_timeout(int fd, int seconds)
{
    struct timeval tv = {.tv_sec = seconds};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int xend_wire_connect(const char *host, const char *port, int seconds, struct xend_err *err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res;
    int r = getaddrinfo(host, port, &hints, &res);
    if (r != 0)
        return xend_err_set(err, XEND_EINVAL, "cannot resolve %s: %s", host, gai_strerror(r));
    int fd = -1, e = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            e = errno;
            continue;
        }
        xend_wire_set_timeout(fd, seconds);
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            break;
        e = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return xend_err_set(err, XEND_EIO, "cannot connect to %s:%s: %s", host, port, strerror(e));
    return fd;
}
