/*
 * A fake xend for the xm unit tests (see fake_xend.h).
 */
#include "fake_xend.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define FAKE_MAX_REQUESTS 64

struct fake_xend {
    const struct fake_reply *replies;
    size_t nreplies;
    int used[32];
    char dir[64];
    char path[128];
    char url[160];
    int listen_fd;
    int stop_pipe[2];
    pthread_t thread;
    pthread_mutex_t lock;
    size_t nreq;
    char *req[FAKE_MAX_REQUESTS];
    char *body[FAKE_MAX_REQUESTS];
};

static void serve_one(struct fake_xend *fx, int fd)
{
    char buf[65536];
    size_t len = 0;
    char *hdr_end = NULL;
    long clen = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5000) <= 0)
            return;
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n <= 0)
            return;
        len += (size_t)n;
        buf[len] = '\0';
        if (hdr_end == NULL && (hdr_end = strstr(buf, "\r\n\r\n")) != NULL) {
            char *cl = strcasestr(buf, "\r\nContent-Length:");
            if (cl != NULL && cl < hdr_end)
                clen = strtol(cl + 17, NULL, 10);
        }
        if (hdr_end != NULL && len >= (size_t)(hdr_end + 4 - buf) + (size_t)clen)
            break;
    }
    char *sp2 = strchr(strchr(buf, ' ') + 1, ' ');
    char *line = strndup(buf, (size_t)(sp2 - buf));
    char *body = strndup(hdr_end + 4, (size_t)clen);
    const struct fake_reply *r = NULL;
    pthread_mutex_lock(&fx->lock);
    if (fx->nreq < FAKE_MAX_REQUESTS) {
        fx->req[fx->nreq] = line;
        fx->body[fx->nreq] = body;
        fx->nreq++;
    }
    for (size_t i = 0; i < fx->nreplies && r == NULL; i++) {
        if (strcmp(fx->replies[i].match, line) != 0)
            continue;
        if (fx->replies[i].times > 0 && fx->used[i] >= fx->replies[i].times)
            continue;
        fx->used[i]++;
        r = &fx->replies[i];
    }
    pthread_mutex_unlock(&fx->lock);
    char head[512];
    const char *rbody = r != NULL ? r->body : "";
    if (r != NULL && r->ctype != NULL)
        snprintf(head, sizeof(head),
                 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n", r->status,
                 r->reason, r->ctype, strlen(rbody));
    else if (r != NULL)
        snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n\r\n", r->status,
                 r->reason, strlen(rbody));
    else
        snprintf(head, sizeof(head), "HTTP/1.1 404 Not found\r\nContent-Length: 0\r\n\r\n");
    if (write(fd, head, strlen(head)) < 0 || write(fd, rbody, strlen(rbody)) < 0)
        return;
}

static void *fake_main(void *arg)
{
    struct fake_xend *fx = arg;
    for (;;) {
        struct pollfd p[2] = {{.fd = fx->listen_fd, .events = POLLIN},
                              {.fd = fx->stop_pipe[0], .events = POLLIN}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents)
            break;
        if (p[0].revents & POLLIN) {
            int fd = accept(fx->listen_fd, NULL, NULL);
            if (fd >= 0) {
                serve_one(fx, fd);
                close(fd);
            }
        }
    }
    return NULL;
}

struct fake_xend *fake_xend_start(const struct fake_reply *replies, size_t n)
{
    struct fake_xend *fx = calloc(1, sizeof(*fx));
    fx->replies = replies;
    fx->nreplies = n < 32 ? n : 32;
    strcpy(fx->dir, "/tmp/xm-fake-XXXXXX");
    if (mkdtemp(fx->dir) == NULL)
        abort();
    snprintf(fx->path, sizeof(fx->path), "%s/xend.sock", fx->dir);
    snprintf(fx->url, sizeof(fx->url), "unix:%s", fx->path);
    fx->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, fx->path);
    if (bind(fx->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(fx->listen_fd, 16) < 0 || pipe(fx->stop_pipe) < 0)
        abort();
    pthread_mutex_init(&fx->lock, NULL);
    pthread_create(&fx->thread, NULL, fake_main, fx);
    return fx;
}

const char *fake_xend_url(const struct fake_xend *fx)
{
    return fx->url;
}

size_t fake_xend_count(struct fake_xend *fx)
{
    pthread_mutex_lock(&fx->lock);
    size_t n = fx->nreq;
    pthread_mutex_unlock(&fx->lock);
    return n;
}

const char *fake_xend_request(struct fake_xend *fx, size_t i)
{
    return i < fake_xend_count(fx) ? fx->req[i] : "";
}

const char *fake_xend_body(struct fake_xend *fx, size_t i)
{
    return i < fake_xend_count(fx) ? fx->body[i] : "";
}

void fake_xend_stop(struct fake_xend *fx)
{
    if (write(fx->stop_pipe[1], "x", 1) < 0)
        abort();
    pthread_join(fx->thread, NULL);
    close(fx->listen_fd);
    close(fx->stop_pipe[0]);
    close(fx->stop_pipe[1]);
    unlink(fx->path);
    rmdir(fx->dir);
    for (size_t i = 0; i < fx->nreq; i++) {
        free(fx->req[i]);
        free(fx->body[i]);
    }
    pthread_mutex_destroy(&fx->lock);
    free(fx);
}
