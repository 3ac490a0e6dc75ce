/*
 * Crash points (crashpoint.h). The environment is read on every pass rather than cached:
 * passes are rare (a few per operation) and a test may start several processes that
 * inherit different settings.
 */
#include "crashpoint.h"

#include <stddef.h>

static void (*reporter)(const char *name);

void xend_crash_point_set_reporter(void (*report)(const char *name))
{
    reporter = report;
}

#ifdef XEND_CRASH_POINTS
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_uint passes;

void xend_crash_point(const char *name)
{
    const char *want = getenv("XEND_CRASH_AT");
    if (want == NULL)
        return;
    size_t n = strlen(name);
    if (strncmp(want, name, n) != 0 || (want[n] != '\0' && want[n] != ':'))
        return;
    unsigned nth = want[n] == ':' ? (unsigned)strtoul(want + n + 1, NULL, 10) : 1;
    if (atomic_fetch_add(&passes, 1) + 1 < (nth ? nth : 1))
        return;
    if (reporter)
        reporter(name);
    static const char msg[] = "xend: crash point reached: ";
    ssize_t w = write(STDERR_FILENO, msg, sizeof(msg) - 1);
    w += write(STDERR_FILENO, name, n);
    w += write(STDERR_FILENO, "\n", 1);
    (void)w; /* nowhere left to report a failing stderr */
    _exit(XEND_CRASH_EXIT_STATUS);
}

bool xend_crash_points_built(void)
{
    return true;
}
#else
bool xend_crash_points_built(void)
{
    return false;
}
#endif
