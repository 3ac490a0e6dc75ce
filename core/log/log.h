/*
 * xend's log: one line per event, `TIME LEVEL event key=value...`, to a size-rotated file
 * (xend.log, xend.log.1 ...) and, in the foreground, to stderr. Served at /xend/node/log.
 *
 * Any thread may log: lines are written whole with one write(2) under a mutex.
 * Must never call into other parts of xend (it is used by all of them).
 */
#ifndef XEND_CORE_LOG_H
#define XEND_CORE_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <xend/abi.h>

struct xend_log_options {
    const char *path;          /* NULL or "" = no file */
    enum xend_log_level level; /* lines above this level are dropped */
    size_t max_size;           /* rotate when the file would pass this (bytes) */
    unsigned max_files;        /* keep path.1 .. path.N */
    bool to_stderr;            /* also copy every line to stderr */
};

/* Open (or re-open with new options). Returns 0 or -XEND_EIO with err set. */
int xend_log_open(const struct xend_log_options *opts, struct xend_err *err);
/* Re-open the file (SIGHUP, after an outside rotation). Safe to call from the loop only. */
int xend_log_reopen(void);
void xend_log_close(void);
/* The current file path, borrowed ("" when logging to stderr only). */
const char *xend_log_path(void);
void xend_log_set_level(enum xend_log_level level);
bool xend_log_enabled(enum xend_log_level level);

/*
 * Log one event. `source` names the part or plugin (NULL for the core itself) and is
 * written as plugin=NAME. `event` is a short fixed phrase; fmt yields key=value pairs.
 */
void xend_log_emit(const char *source, enum xend_log_level level, const char *event,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void xend_log_vemit(const char *source, enum xend_log_level level, const char *event,
                    const char *fmt, va_list ap);

#define xend_log_error(ev, ...) xend_log_emit(NULL, XEND_LOG_ERROR, ev, __VA_ARGS__)
#define xend_log_warn(ev, ...) xend_log_emit(NULL, XEND_LOG_WARN, ev, __VA_ARGS__)
#define xend_log_notice(ev, ...) xend_log_emit(NULL, XEND_LOG_NOTICE, ev, __VA_ARGS__)
#define xend_log_info(ev, ...) xend_log_emit(NULL, XEND_LOG_INFO, ev, __VA_ARGS__)
#define xend_log_debug(ev, ...) xend_log_emit(NULL, XEND_LOG_DEBUG, ev, __VA_ARGS__)

/*
 * Write one finished line (newline included) to the file and stderr as they are now,
 * without the lock, the format or a rotation: for the crash report (crash.h) only, which
 * runs in a signal handler.
 */
void xend_log_write_raw(const char *line, size_t len);

/* Parse "error", "warn", "notice", "info", "debug" (any case; "warning" too). */
int xend_log_level_parse(const char *text, enum xend_log_level *out);

#endif
