/*
 * xend's log: formats one event per line and writes it whole, to a size-rotated file and
 * optionally to stderr.
 *
 * Any thread may log, so all state sits behind one mutex and every line is one write(2)
 * (O_APPEND): lines from different threads never interleave. The level is an atomic so
 * that a filtered-out event costs no lock.
 *
 * Must never: call into other parts of xend (they all log), allocate on the emit path (a
 * log line must still come out when memory is short), or write a line that spans several
 * lines (control characters are escaped) or that carries a secret (values of keys named
 * like passwords or tokens are replaced by ***).
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Longest line written; longer events are cut and marked. */
#define LOG_LINE_MAX 8192
#define LOG_TRUNC_MARK " [truncated]"

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = -1;
static char *log_path;  /* owned; NULL when there is no file */
static size_t log_size; /* bytes in the current file, as far as we know */
static size_t log_max_size;
static unsigned log_max_files;
/* Before xend_log_open, events go to stderr: early startup errors must be seen. */
static bool log_to_stderr = true;
static atomic_int log_level = XEND_LOG_INFO;

static const char *const level_names[] = {
    [XEND_LOG_ERROR] = "ERROR", [XEND_LOG_WARN] = "WARN",   [XEND_LOG_NOTICE] = "NOTICE",
    [XEND_LOG_INFO] = "INFO",   [XEND_LOG_DEBUG] = "DEBUG",
};

int xend_log_level_parse(const char *text, enum xend_log_level *out)
{
    if (text == NULL)
        return -XEND_EINVAL;
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcasecmp(text, level_names[i]) == 0) {
            *out = (enum xend_log_level)i;
            return 0;
        }
    }
    if (strcasecmp(text, "warning") == 0) {
        *out = XEND_LOG_WARN;
        return 0;
    }
    return -XEND_EINVAL;
}

/* Open path for appending and learn its size; the lock is held or not needed yet. */
static int open_file_locked(void)
{
    int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
    if (fd < 0)
        return -errno;
    struct stat st;
    log_size = fstat(fd, &st) == 0 ? (size_t)st.st_size : 0;
    log_fd = fd;
    return 0;
}

static void close_file_locked(void)
{
    if (log_fd >= 0)
        close(log_fd);
    log_fd = -1;
}

int xend_log_open(const struct xend_log_options *opts, struct xend_err *err)
{
    pthread_mutex_lock(&log_mu);
    close_file_locked();
    free(log_path);
    log_path = NULL;
    log_size = 0;
    log_max_size = opts->max_size;
    log_max_files = opts->max_files;
    log_to_stderr = opts->to_stderr;
    atomic_store(&log_level, (int)opts->level);
    int rc = 0;
    if (opts->path != NULL && opts->path[0] != '\0') {
        log_path = strdup(opts->path);
        rc = log_path != NULL ? open_file_locked() : -ENOMEM;
        if (rc < 0) {
            free(log_path);
            log_path = NULL;
            /* Whatever went wrong must be visible somewhere. */
            log_to_stderr = true;
        }
    }
    pthread_mutex_unlock(&log_mu);
    if (rc < 0)
        return xend_err_set(err, XEND_EIO, "cannot open log file %s: %s", opts->path,
                            strerror(-rc));
    return 0;
}

int xend_log_reopen(void)
{
    pthread_mutex_lock(&log_mu);
    int rc = 0;
    if (log_path != NULL) {
        close_file_locked();
        rc = open_file_locked();
    }
    pthread_mutex_unlock(&log_mu);
    return rc < 0 ? -XEND_EIO : 0;
}

void xend_log_close(void)
{
    pthread_mutex_lock(&log_mu);
    close_file_locked();
    free(log_path);
    log_path = NULL;
    log_size = 0;
    log_to_stderr = true;
    pthread_mutex_unlock(&log_mu);
}

const char *xend_log_path(void)
{
    return log_path != NULL ? log_path : "";
}

void xend_log_set_level(enum xend_log_level level)
{
    atomic_store(&log_level, (int)level);
}

bool xend_log_enabled(enum xend_log_level level)
{
    return (int)level <= atomic_load(&log_level);
}

/*
 * path -> path.1 -> ... -> path.N; the rename onto path.N drops the oldest. With N = 0 the
 * file is simply started afresh. A failure leaves the current file in use: losing
 * rotation is better than losing lines.
 */
static void rotate_locked(void)
{
    size_t n = strlen(log_path) + 16;
    char from[n], to[n];
    if (log_max_files == 0) {
        if (unlink(log_path) != 0 && errno != ENOENT)
            goto failed;
    } else {
        for (unsigned i = log_max_files; i >= 1; i--) {
            if (i == 1)
                snprintf(from, n, "%s", log_path);
            else
                snprintf(from, n, "%s.%u", log_path, i - 1);
            snprintf(to, n, "%s.%u", log_path, i);
            if (rename(from, to) != 0 && errno != ENOENT)
                goto failed;
        }
    }
    close_file_locked();
    /* When the new file cannot be created, nothing is written until a reopen. */
    (void)open_file_locked();
    return;
failed:
    /* Try again only after another max_size bytes, not on every line. */
    log_size = 0;
}

/* Key names whose values are never written. */
static bool is_secret_key(const char *key, size_t len)
{
    static const char *const words[] = {"password", "passwd", "secret", "token"};
    for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
        size_t wl = strlen(words[w]);
        /* (the first letter first: an audit line has ten keys, none of them secret) */
        for (size_t i = 0; i + wl <= len; i++)
            if ((key[i] | 0x20) == words[w][0] && strncasecmp(key + i, words[w], wl) == 0)
                return true;
    }
    return false;
}

struct line {
    char *p;
    size_t len;
    size_t cap; /* room for text, not counting the mark and the newline */
    bool truncated;
};

static void put_raw(struct line *l, const char *s, size_t n)
{
    if (l->len + n > l->cap) {
        n = l->cap - l->len;
        l->truncated = true;
    }
    memcpy(l->p + l->len, s, n);
    l->len += n;
}

static bool needs_escape(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

/* Append text with control characters escaped, so an event is always exactly one line.
 * The plain runs between them are copied whole: a copy per byte was a quarter of an audit
 * line's cost, and every create writes one. */
static void put_escaped(struct line *l, const char *s, size_t n)
{
    for (size_t i = 0; i < n && !l->truncated; i++) {
        size_t run = i;
        while (run < n && !needs_escape((unsigned char)s[run]))
            run++;
        if (run > i) {
            put_raw(l, s + i, run - i);
            i = run - 1;
            continue;
        }
        unsigned char c = (unsigned char)s[i];
        char esc[5];
        if (c == '\n')
            put_raw(l, "\\n", 2);
        else if (c == '\r')
            put_raw(l, "\\r", 2);
        else if (c == '\t')
            put_raw(l, "\\t", 2);
        else {
            snprintf(esc, sizeof(esc), "\\x%02x", c);
            put_raw(l, esc, 4);
        }
    }
}

/* The key=value part: escaped, with secret values masked. A value may be "quoted". */
static void put_fields(struct line *l, const char *s)
{
    while (*s != '\0' && !l->truncated) {
        size_t sp = strspn(s, " ");
        put_raw(l, s, sp);
        s += sp;
        const char *tok = s;
        bool quoted = false;
        while (*s != '\0' && (quoted || *s != ' ')) {
            if (*s == '"')
                quoted = !quoted;
            else if (*s == '\\' && quoted && s[1] != '\0')
                s++;
            s++;
        }
        const char *eq = memchr(tok, '=', (size_t)(s - tok));
        if (eq != NULL && is_secret_key(tok, (size_t)(eq - tok))) {
            put_escaped(l, tok, (size_t)(eq - tok) + 1);
            put_raw(l, "***", 3);
        } else {
            put_escaped(l, tok, (size_t)(s - tok));
        }
    }
}

/* "2026-12-07T21:30:00.123Z ": the date and time of the second are kept per thread, so
 * that the lines of one second (a busy second writes thousands) format only their
 * milliseconds. */
static void format_time(struct line *l)
{
    static __thread time_t kept_sec = -1;
    static __thread char kept[32];
    static __thread size_t kept_len;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != kept_sec) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        kept_len = strftime(kept, sizeof(kept), "%Y-%m-%dT%H:%M:%S", &tm);
        kept_sec = ts.tv_sec;
    }
    put_raw(l, kept, kept_len);
    long ms = ts.tv_nsec / 1000000;
    char t[6] = {
        '.', (char)('0' + ms / 100), (char)('0' + ms / 10 % 10), (char)('0' + ms % 10), 'Z', ' '};
    put_raw(l, t, sizeof(t));
}

void xend_log_vemit(const char *source, enum xend_log_level level, const char *event,
                    const char *fmt, va_list ap)
{
    if (!xend_log_enabled(level))
        return;
    if ((unsigned)level >= sizeof(level_names) / sizeof(level_names[0]))
        level = XEND_LOG_DEBUG;

    char fields[LOG_LINE_MAX];
    fields[0] = '\0';
    bool cut = false;
    if (fmt != NULL)
        cut = vsnprintf(fields, sizeof(fields), fmt, ap) >= (int)sizeof(fields);

    char buf[LOG_LINE_MAX + sizeof(LOG_TRUNC_MARK) + 1];
    struct line l = {buf, 0, LOG_LINE_MAX, false};
    format_time(&l);
    put_raw(&l, level_names[level], strlen(level_names[level]));
    put_raw(&l, " ", 1);
    put_escaped(&l, event ? event : "-", strlen(event ? event : "-"));
    if (source != NULL) {
        put_raw(&l, " plugin=", 8);
        put_escaped(&l, source, strlen(source));
    }
    if (fields[0] != '\0') {
        put_raw(&l, " ", 1);
        put_fields(&l, fields);
    }
    if (l.truncated || cut) {
        memcpy(buf + l.len, LOG_TRUNC_MARK, strlen(LOG_TRUNC_MARK));
        l.len += strlen(LOG_TRUNC_MARK);
    }
    buf[l.len++] = '\n';

    pthread_mutex_lock(&log_mu);
    if (log_fd >= 0) {
        if (log_max_size > 0 && log_size > 0 && log_size + l.len > log_max_size)
            rotate_locked();
        if (log_fd >= 0) {
            ssize_t w = write(log_fd, buf, l.len);
            if (w > 0)
                log_size += (size_t)w;
        }
    }
    if (log_to_stderr) {
        ssize_t w = write(STDERR_FILENO, buf, l.len);
        (void)w; /* nowhere left to report a failing stderr */
    }
    pthread_mutex_unlock(&log_mu);
}

void xend_log_write_raw(const char *line, size_t len)
{
    /* No lock: the caller may be a signal handler that interrupted a holder of it. */
    int fd = __atomic_load_n(&log_fd, __ATOMIC_RELAXED);
    if (fd >= 0) {
        ssize_t w = write(fd, line, len);
        (void)w; /* nowhere left to report a failing log */
    }
    if (__atomic_load_n(&log_to_stderr, __ATOMIC_RELAXED)) {
        ssize_t w = write(STDERR_FILENO, line, len);
        (void)w;
    }
}

void xend_log_emit(const char *source, enum xend_log_level level, const char *event,
                   const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    xend_log_vemit(source, level, event, fmt, ap);
    va_end(ap);
}
