/*
 * Socket connection for xm (see net.h).
 */
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* The 2.0 client printed python's socket.error, "[Errno N] text"; keep that form. */
static int net_errno(struct xend_err *err, int e)
{
    return xend_err_set(err, XEND_EIO, "[Errno %d] %s", e, strerror(e));
}

static int net_connect_unix(const char *path, struct xend_err *err)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa.sun_path))
        return net_errno(err, ENAMETOOLONG);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return net_errno(err, errno);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        return net_errno(err, e);
    }
    return fd;
}

/* A connect that gives up after timeout_ms, so an unreachable host does not hang xm. */
static int net_connect_addr(const struct addrinfo *ai, int timeout_ms, int *err_no)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        *err_no = errno;
        return -1;
    }
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        if (errno != EINPROGRESS) {
            *err_no = errno;
            close(fd);
            return -1;
        }
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int n;
        do {
            n = poll(&p, 1, timeout_ms);
        } while (n < 0 && errno == EINTR);
        if (n <= 0) {
            *err_no = n == 0 ? ETIMEDOUT : errno;
            close(fd);
            return -1;
        }
        int soerr = 0;
        socklen_t len = sizeof(soerr);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
        if (soerr != 0) {
            *err_no = soerr;
            close(fd);
            return -1;
        }
    }
    fcntl(fd, F_SETFL, flags);
    return fd;
}

int xm_net_connect(const char *host, const char *port, const char *unix_path, int timeout_ms,
                   struct xend_err *err)
{
    if (unix_path != NULL)
        return net_connect_unix(unix_path, err);

    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        if (rc == EAI_SYSTEM)
            return net_errno(err, errno);
        return xend_err_set(err, XEND_EIO, "[Errno %d] %s", rc, gai_strerror(rc));
    }
    int last = ECONNREFUSED;
    int fd = -1;
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
        fd = net_connect_addr(ai, timeout_ms, &last);
    freeaddrinfo(res);
    if (fd < 0)
        return net_errno(err, last);
    return fd;
}
