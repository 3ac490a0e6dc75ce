/*
 * xend-simhv: the simulated hypervisor process. Parses options, builds the machine,
 * listens, daemonises (returning once the socket listens), and serves until told to stop;
 * `--stop` asks a running simhv to exit and waits for it.
 *
 * It must never depend on xend: xend starts it, but it outlives xend as Xen does.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "domain.h"
#include "server.h"

#define DEFAULT_SOCKET "/var/run/xend/simhv.sock"
#define STOP_WAIT_MS 10000

static FILE *log_file;
static int log_pid; /* once simhv is the daemon it stays: getpid is a system call per line */
static volatile sig_atomic_t stop_flag;

void simhv_log(const char *fmt, ...)
{
    if (log_file == NULL)
        return;
    char stamp[32];
    time_t t = time(NULL);
    struct tm tm;
    strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
    va_list ap;
    va_start(ap, fmt);
    fprintf(log_file, "%s simhv[%d]: ", stamp, log_pid ? log_pid : (int)getpid());
    vfprintf(log_file, fmt, ap);
    fputc('\n', log_file);
    /* The server flushes before it waits (simhv_log_flush): a burst of creates writes its
     * lines together instead of one write each. Before serving, every line goes out now. */
    if (log_pid == 0)
        fflush(log_file);
    va_end(ap);
}

void simhv_log_flush(void)
{
    if (log_file != NULL)
        fflush(log_file);
}

static void log_dmesg(const char *line)
{
    simhv_log("%s", line);
}

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: xend-simhv [options]        start the simulated hypervisor\n"
               "       xend-simhv --stop [--socket PATH] [--pidfile FILE]\n"
               "  --socket PATH            unix socket to listen on (" DEFAULT_SOCKET ")\n"
               "  --cpus N                 physical cpus (2)\n"
               "  --memory MB              physical memory (4096)\n"
               "  --scheduler NAME         rrobin, bvt, fbvt or atropos (bvt)\n"
               "  --slice-ms N             scheduling slice (10)\n"
               "  --shutdown-delay-ms N    how long a guest takes to shut down (200)\n"
               "  --foreground             do not daemonise\n"
               "  --pidfile FILE           write the daemon's pid there\n"
               "  --log FILE               append a log there\n"
               "  --stop                   stop the simhv on that socket and wait for it\n"
               "  --help, --version\n");
}

static bool parse_num(const char *opt, const char *s, long long min, long long max, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        fprintf(stderr, "xend-simhv: %s wants a number %lld..%lld, not '%s'\n", opt, min, max, s);
        return false;
    }
    *out = v;
    return true;
}

static int connect_to(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return -1;
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static pid_t read_pidfile(const char *path)
{
    FILE *f = path ? fopen(path, "r") : NULL;
    long pid = 0;
    if (f != NULL) {
        char line[32];
        if (fgets(line, sizeof(line), f) != NULL)
            pid = strtol(line, NULL, 10);
        fclose(f);
    }
    return (pid_t)pid;
}

/* Ask the simhv on path to exit; wait until its socket closes (and its pid is gone). */
static int do_stop(const char *path, const char *pidfile)
{
    pid_t pid = read_pidfile(pidfile);
    int fd = connect_to(path);
    if (fd < 0) {
        fprintf(stderr, "xend-simhv: no simhv is running on %s\n", path);
        return 1;
    }
    static const char req[] = "(stop 1)\n";
    if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) < 0) {
        fprintf(stderr, "xend-simhv: cannot talk to %s: %s\n", path, strerror(errno));
        close(fd);
        return 1;
    }
    /* The server closes every connection as it leaves: EOF means it has gone. */
    char buf[256];
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int waited = 0;
    for (;;) {
        int r = poll(&p, 1, 100);
        if (r > 0) {
            ssize_t n = recv(fd, buf, sizeof(buf), 0);
            if (n <= 0)
                break;
        } else if ((waited += 100) >= STOP_WAIT_MS) {
            fprintf(stderr, "xend-simhv: simhv on %s did not stop\n", path);
            close(fd);
            return 1;
        }
    }
    close(fd);
    for (int i = 0; pid > 0 && kill(pid, 0) == 0 && i < STOP_WAIT_MS / 10; i++)
        usleep(10000);
    return 0;
}

/*
 * Fork twice so the daemon is nobody's child and has no terminal; the first process waits
 * for the daemon's word on `ready` and exits with it, so the caller returns only once the
 * socket listens. Returns in the daemon with the write end of the pipe.
 */
static int daemonise(void)
{
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) < 0) {
        perror("xend-simhv: pipe");
        exit(1);
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("xend-simhv: fork");
        exit(1);
    }
    if (pid > 0) {
        close(ready[1]);
        char msg[512];
        size_t len = 0;
        ssize_t n;
        while (len < sizeof(msg) - 1 &&
               ((n = read(ready[0], msg + len, sizeof(msg) - 1 - len)) > 0 ||
                (n < 0 && errno == EINTR)))
            if (n > 0)
                len += (size_t)n;
        msg[len] = '\0';
        waitpid(pid, NULL, 0);
        /* _exit: the machine built before the fork belongs to the daemon now. */
        if (strncmp(msg, "ok", 2) == 0)
            _exit(0);
        fprintf(stderr, "xend-simhv: %s\n", len ? msg : "the daemon died while starting");
        fflush(stderr);
        _exit(1);
    }
    close(ready[0]);
    setsid();
    pid = fork();
    if (pid < 0)
        _exit(1);
    if (pid > 0)
        _exit(0);
    return ready[1];
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"socket", required_argument, NULL, 's'},
        {"cpus", required_argument, NULL, 'c'},
        {"memory", required_argument, NULL, 'm'},
        {"scheduler", required_argument, NULL, 'S'},
        {"slice-ms", required_argument, NULL, 'l'},
        {"shutdown-delay-ms", required_argument, NULL, 'd'},
        {"foreground", no_argument, NULL, 'f'},
        {"pidfile", required_argument, NULL, 'p'},
        {"log", required_argument, NULL, 'L'},
        {"stop", no_argument, NULL, 'x'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *sock = DEFAULT_SOCKET, *pidfile = NULL, *logpath = NULL, *sched = "bvt";
    long long cpus = 2, memory = 4096, slice = 10, delay = 200;
    bool foreground = false, stop = false;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 's':
            sock = optarg;
            break;
        case 'c':
            if (!parse_num("--cpus", optarg, 1, 64, &cpus))
                return 2;
            break;
        case 'm':
            if (!parse_num("--memory", optarg, 64, 1024LL * 1024, &memory))
                return 2;
            break;
        case 'S':
            sched = optarg;
            break;
        case 'l':
            if (!parse_num("--slice-ms", optarg, 1, 10000, &slice))
                return 2;
            break;
        case 'd':
            if (!parse_num("--shutdown-delay-ms", optarg, 0, 3600000, &delay))
                return 2;
            break;
        case 'f':
            foreground = true;
            break;
        case 'p':
            pidfile = optarg;
            break;
        case 'L':
            logpath = optarg;
            break;
        case 'x':
            stop = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("xend-simhv %s\n", SIMHV_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return 2;
    }
    if (stop)
        return do_stop(sock, pidfile);
    /* Whatever the starter left open (xend's listening sockets, a test's pipe) must not be
     * held for the life of the machine. */
    closefrom(3);

    if (logpath != NULL) {
        log_file = fopen(logpath, "ae");
        if (log_file == NULL) {
            fprintf(stderr, "xend-simhv: cannot open log %s: %s\n", logpath, strerror(errno));
            return 1;
        }
    } else if (foreground) {
        log_file = stderr;
    }

    struct xend_err err = {0};
    struct simhv_machine_cfg cfg = {.cpus = (unsigned)cpus,
                                    .memory_mb = (uint64_t)memory,
                                    .scheduler = sched,
                                    .slice_ms = (uint64_t)slice,
                                    .shutdown_delay_ms = (uint64_t)delay};
    struct simhv_machine *m = simhv_machine_new(&cfg, simhv_clock_ns(), &err);
    if (m == NULL) {
        fprintf(stderr, "xend-simhv: %s\n", xend_err_msg(&err));
        return 1;
    }
    m->log = log_dmesg;
    int lfd = simhv_listen(sock, &err);
    if (lfd < 0) {
        fprintf(stderr, "xend-simhv: %s\n", xend_err_msg(&err));
        simhv_machine_free(m);
        return 1;
    }

    int ready = -1;
    if (!foreground)
        ready = daemonise();
    if (pidfile != NULL) {
        FILE *f = fopen(pidfile, "we");
        if (f == NULL || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0) {
            char msg[512];
            int n =
                snprintf(msg, sizeof(msg), "cannot write pidfile %s: %s", pidfile, strerror(errno));
            if (ready >= 0 && write(ready, msg, (size_t)n) < 0)
                _exit(1);
            fprintf(stderr, "xend-simhv: %s\n", msg);
            unlink(sock);
            _exit(1);
        }
    }

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);

    if (ready >= 0) {
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(log_file != NULL ? fileno(log_file) : null, 2);
            close(null);
        }
        if (chdir("/") < 0)
            simhv_log("chdir /: %s", strerror(errno));
        if (write(ready, "ok", 2) < 0)
            simhv_log("could not tell the starter we are ready");
        close(ready);
    }
    simhv_log("listening on %s: %lld cpus, %lld MB, scheduler %s", sock, cpus, memory,
              simhv_sched_name(m->sched));
    log_pid = (int)getpid();

    simhv_serve(m, lfd, sock, &stop_flag);

    simhv_log("stopped");
    simhv_log_flush();
    simhv_machine_free(m);
    if (pidfile != NULL)
        unlink(pidfile);
    if (log_file != NULL && log_file != stderr)
        fclose(log_file);
    return 0;
}
