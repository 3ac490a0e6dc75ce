/*
 * The last lines of a crashing xend (crash.h): which signal, and the stack that led to it.
 *
 * Why: an operator whose xend died with glibc's "free(): corrupted ..." or a SIGSEGV has
 * nothing to go on but a core file, and dom0 rarely keeps one. The report goes where the
 * log goes, one log line per frame, each frame named as module+offset so that
 * `addr2line -e MODULE OFFSET` on the same build finds the source line.
 *
 * Everything on the report's path is async-signal-safe in practice, and none of it
 * allocates: the heap may be what is broken. backtrace(3) loads libgcc's unwinder on its
 * first call, which allocates, so install calls it once beforehand. dladdr(3) takes the
 * loader's lock: a crash inside the loader itself would hang here instead of reporting,
 * a risk taken for frames named by symbol.
 *
 * After the report the signal's default action runs (a core dump where enabled), so the
 * exit status says what killed xend, as without the report.
 */
#include "crash.h"

#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define CRASH_FRAMES_MAX 48
#define CRASH_LINE_MAX 512

static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};

/* A stack for the handler, so that a stack overflow is reported too (main thread only). */
static char crash_stack[64 * 1024];

struct crash_line {
    char buf[CRASH_LINE_MAX];
    size_t len;
};

static void crash_put_raw(struct crash_line *l, const char *s)
{
    for (; *s != '\0' && l->len < sizeof(l->buf) - 1; s++)
        l->buf[l->len++] = *s;
}

/* A name from outside (a module, a symbol), to go inside a quoted value. */
static void crash_put_name(struct crash_line *l, const char *s)
{
    for (; *s != '\0' && l->len < sizeof(l->buf) - 1; s++) {
        char c = *s;
        /* One event per line, and no quote that would end the value early. */
        l->buf[l->len++] = (c < 0x20 || c == 0x7f || c == '"') ? '?' : c;
    }
}

static void crash_put_uint(struct crash_line *l, uintmax_t v, unsigned base, unsigned width)
{
    char digits[32];
    size_t n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v != 0 && n < sizeof(digits));
    while (n < width && n < sizeof(digits))
        digits[n++] = '0';
    char out[33];
    for (size_t i = 0; i < n; i++)
        out[i] = digits[n - 1 - i];
    out[n] = '\0';
    crash_put_raw(l, out);
}

/* The log's time format (2026-12-07T02:44:51.123Z), without gmtime_r's time-zone lock. */
static void crash_put_time(struct crash_line *l)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t days = ts.tv_sec / 86400, secs = ts.tv_sec % 86400;
    /* Days since 1970-01-01 to a civil date (Howard Hinnant's days_from_civil inverse). */
    int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);
    crash_put_uint(l, (uintmax_t)y, 10, 4);
    crash_put_raw(l, "-");
    crash_put_uint(l, (uintmax_t)m, 10, 2);
    crash_put_raw(l, "-");
    crash_put_uint(l, (uintmax_t)d, 10, 2);
    crash_put_raw(l, "T");
    crash_put_uint(l, (uintmax_t)(secs / 3600), 10, 2);
    crash_put_raw(l, ":");
    crash_put_uint(l, (uintmax_t)(secs / 60 % 60), 10, 2);
    crash_put_raw(l, ":");
    crash_put_uint(l, (uintmax_t)(secs % 60), 10, 2);
    crash_put_raw(l, ".");
    crash_put_uint(l, (uintmax_t)(ts.tv_nsec / 1000000), 10, 3);
    crash_put_raw(l, "Z ERROR ");
}

static void crash_emit(struct crash_line *l)
{
    l->buf[l->len++] = '\n';
    xend_log_write_raw(l->buf, l->len);
}

static void crash_frame(unsigned i, void *pc)
{
    struct crash_line l = {.len = 0};
    crash_put_time(&l);
    crash_put_raw(&l, "crash frame=");
    crash_put_uint(&l, i, 10, 0);
    Dl_info info;
    if (dladdr(pc, &info) != 0 && info.dli_fname != NULL) {
        const char *slash = strrchr(info.dli_fname, '/');
        crash_put_raw(&l, " at=\"");
        crash_put_name(&l, slash ? slash + 1 : info.dli_fname);
        crash_put_raw(&l, "+0x");
        crash_put_uint(&l, (uintptr_t)pc - (uintptr_t)info.dli_fbase, 16, 0);
        crash_put_raw(&l, "\"");
        if (info.dli_sname != NULL) {
            crash_put_raw(&l, " fn=\"");
            crash_put_name(&l, info.dli_sname);
            crash_put_raw(&l, "+0x");
            crash_put_uint(&l, (uintptr_t)pc - (uintptr_t)info.dli_saddr, 16, 0);
            crash_put_raw(&l, "\"");
        }
    } else {
        crash_put_raw(&l, " pc=0x");
        crash_put_uint(&l, (uintptr_t)pc, 16, 0);
    }
    crash_emit(&l);
}

static void crash_handler(int sig, siginfo_t *si, void *uctx)
{
    (void)uctx;
    int saved = errno;
    struct crash_line l = {.len = 0};
    crash_put_time(&l);
    crash_put_raw(&l, "crashed signal=");
    crash_put_raw(&l, sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
    crash_put_raw(&l, " pid=");
    crash_put_uint(&l, (uintmax_t)getpid(), 10, 0);
    crash_put_raw(&l, " tid=");
    crash_put_uint(&l, (uintmax_t)gettid(), 10, 0);
    if (si->si_code > 0 && sig != SIGABRT) { /* a fault, not a kill(2) */
        crash_put_raw(&l, " addr=0x");
        crash_put_uint(&l, (uintptr_t)si->si_addr, 16, 0);
    }
    crash_emit(&l);
    void *frames[CRASH_FRAMES_MAX];
    int n = backtrace(frames, CRASH_FRAMES_MAX);
    /* Frame 0 is this handler and 1 the kernel's signal return: start at the fault. */
    for (int i = 2; i < n; i++)
        crash_frame((unsigned)(i - 2), frames[i]);
    errno = saved;
    /* SA_RESETHAND put the default action back: raising again ends the process with it. */
    raise(sig);
}

void xend_log_crash_install(void)
{
#ifdef __SANITIZE_ADDRESS__
    /* The sanitizer's own report (its handler) says more than this one would. */
    return;
#endif
    void *warm[2];
    (void)backtrace(warm, 2);
    stack_t ss = {.ss_sp = crash_stack, .ss_size = sizeof(crash_stack), .ss_flags = 0};
    (void)sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = crash_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(crash_signals) / sizeof(crash_signals[0]); i++)
        sigaction(crash_signals[i], &sa, NULL);
}
