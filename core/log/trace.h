/*
 * The trace file: what the debug port's `traceon` switches on (2004's /var/log/xend.trace).
 * While on, every event xend emits and every request the debug port takes is one line
 * `TIME what text` in the file named by `trace-file`. Off by default and at every start.
 *
 * Loop thread only. Must never call into other parts of xend but the log.
 */
#ifndef XEND_CORE_TRACE_H
#define XEND_CORE_TRACE_H

#include <stdbool.h>

#include <xend/abi.h>

/* The file traceon opens (copied); "" = tracing refused. Call before traceon. */
void xend_trace_set_path(const char *path);
/* The configured path, borrowed ("" when none). */
const char *xend_trace_path(void);
/*
 * Open the trace file for appending (created 0640, never through a symlink) and start
 * tracing. 0, or -XEND_EINVAL (no trace-file) / -XEND_EIO with err set. Already on: 0.
 */
int xend_trace_on(struct xend_err *err);
/* Stop tracing and close the file. */
void xend_trace_off(void);
bool xend_trace_enabled(void);
/* One line, when tracing: `TIME what text`. A failed write turns tracing off (logged). */
void xend_trace_write(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Close the file and forget the path (xend stopping, tests). */
void xend_trace_reset(void);

#endif
