/*
 * xend_log_* that write nothing, for the event tests that do not look at the log (the core's
 * log needs a configured sink).
 */
#include <stdarg.h>

#include "log/log.h"

void xend_log_vemit(const char *source, enum xend_log_level level, const char *event,
                    const char *fmt, va_list ap)
{
    (void)source;
    (void)level;
    (void)event;
    (void)fmt;
    (void)ap;
}

void xend_log_emit(const char *source, enum xend_log_level level, const char *event,
                   const char *fmt, ...)
{
    (void)source;
    (void)level;
    (void)event;
    (void)fmt;
}
