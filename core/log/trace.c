/*
 * The trace file (trace.h). Lines are written whole with one write(2) so that a reader
 * tailing the file never sees half a line; a write that fails (disk full, file gone) stops
 * the trace rather than retrying on every event.
 */
#include "log/trace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log/log.h"

static struct {
    char *path;
    int fd; /* -1 when off */
} trace = {NULL, -1};

void xend_trace_set_path(const char *path)
{
    free(trace.path);
    trace.path = path != NULL ? xend_xstrdup(path) : NULL;
}

const char *xend_trace_path(void)
{
    return trace.path != NULL ? trace.path : "";
}

int xend_trace_on(struct xend_err *err)
{
    if (trace.fd >= 0)
        return 0;
    if (trace.path == NULL || trace.path[0] == '\0')
        return xend_err_set(err, XEND_EINVAL, "no trace-file is set");
    int fd = open(trace.path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (fd < 0)
        return xend_err_set(err, XEND_EIO, "cannot open trace-file %s: %s", trace.path,
                            strerror(errno));
    trace.fd = fd;
    xend_log_emit(NULL, XEND_LOG_NOTICE, "trace on", "file=%s", trace.path);
    return 0;
}

void xend_trace_off(void)
{
    if (trace.fd < 0)
        return;
    close(trace.fd);
    trace.fd = -1;
    xend_log_emit(NULL, XEND_LOG_NOTICE, "trace off", "file=%s", xend_trace_path());
}

bool xend_trace_enabled(void)
{
    return trace.fd >= 0;
}

void xend_trace_write(const char *what, const char *fmt, ...)
{
    if (trace.fd < 0)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    struct xend_buf b = XEND_BUF_INIT;
    xend_buf_printf(&b, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s ", tm.tm_year + 1900,
                    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                    ts.tv_nsec / 1000000, what);
    va_list ap;
    va_start(ap, fmt);
    xend_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    xend_buf_putc(&b, '\n');
    ssize_t n = write(trace.fd, b.data, b.len);
    int e = errno;
    xend_buf_free(&b);
    if (n < 0) {
        xend_log_emit(NULL, XEND_LOG_ERROR, "trace write failed", "file=%s error=\"%s\"",
                      xend_trace_path(), strerror(e));
        xend_trace_off();
    }
}

void xend_trace_reset(void)
{
    xend_trace_off();
    free(trace.path);
    trace.path = NULL;
}
