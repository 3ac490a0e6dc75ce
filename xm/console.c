/*
 * The console client of xm (see console.h).
 */
#include "console.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "net.h"

#define CONSOLE_ESCAPE 0x1d /* Ctrl-] */

static volatile sig_atomic_t console_stop;

static void console_on_signal(int sig)
{
    (void)sig;
    console_stop = 1;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = fd == STDOUT_FILENO ? write(fd, p, len) : send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The raw mode of the later 2.0.x console client: bytes pass untouched both ways. */
static void make_raw(struct termios *t)
{
    t->c_iflag &= ~(tcflag_t)(BRKINT | ICRNL | INPCK | ISTRIP | IXON);
    t->c_oflag &= ~(tcflag_t)OPOST;
    t->c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
    t->c_cflag |= CS8;
    t->c_lflag &= ~(tcflag_t)(ECHO | ICANON | IEXTEN | ISIG);
    t->c_cc[VMIN] = 1;
    t->c_cc[VTIME] = 0;
}

/* Copy until the user leaves, the console closes or a signal asks to stop. */
static void console_pump(int sock)
{
    char buf[4096];
    bool stdin_open = true;
    long long quiet_until = 0;
    while (!console_stop) {
        struct pollfd p[2] = {{.fd = sock, .events = POLLIN},
                              {.fd = STDIN_FILENO, .events = POLLIN}};
        int timeout = -1;
        if (!stdin_open) {
            long long left = quiet_until - now_ms();
            if (left <= 0)
                return;
            timeout = (int)left;
        }
        int n = poll(p, stdin_open ? 2 : 1, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t got = read(sock, buf, sizeof(buf));
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0 || write_all(STDOUT_FILENO, buf, (size_t)got) < 0)
                return;
            quiet_until = now_ms() + XM_CONSOLE_LINGER_MS;
        }
        if (stdin_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t got = read(STDIN_FILENO, buf, sizeof(buf));
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0) {
                /* stdin is done: let the console answer what was sent, then leave. No
                 * half-close: a console server may take it for a disconnect. */
                stdin_open = false;
                quiet_until = now_ms() + XM_CONSOLE_LINGER_MS;
                continue;
            }
            char *esc = memchr(buf, CONSOLE_ESCAPE, (size_t)got);
            size_t len = esc != NULL ? (size_t)(esc - buf) : (size_t)got;
            if (write_all(sock, buf, len) < 0 || esc != NULL)
                return;
        }
    }
}

int xm_console_attach(const char *host, const char *port, struct xend_err *err)
{
    int sock = xm_net_connect(host, port, NULL, 10000, err);
    if (sock < 0)
        return sock;

    struct sigaction sa, old_term, old_hup, old_int;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = console_on_signal;
    sigemptyset(&sa.sa_mask);
    console_stop = 0;
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);
    sigaction(SIGINT, &sa, &old_int);

    fputs(XM_CONSOLE_BANNER, stdout);
    fflush(stdout);
    struct termios saved;
    bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
    if (tty) {
        struct termios raw = saved;
        make_raw(&raw);
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw);
    }
    console_pump(sock);
    if (tty)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    fputs(XM_CONSOLE_EXITED, stdout);
    fflush(stdout);

    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    sigaction(SIGINT, &old_int, NULL);
    close(sock);
    return 0;
}
