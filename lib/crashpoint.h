/*
 * Crash points: named steps of a multi-step operation where a test build of xend (or
 * xend-simhv) can be told to die at once, as kill -9 would, so that the crash tests prove
 * what the next start makes of each half-done step (docs/durability.md lists every point,
 * the invariant there, and how a restart resolves it).
 *
 * Compiled in only where CMake's XEND_CRASH_POINTS is ON (tools/dev.sh turns it on for the
 * builds it tests); elsewhere a crash point is nothing. In such a build,
 * XEND_CRASH_AT=NAME[:N] in the process's environment makes the Nth pass (default the
 * first) through NAME write one line to stderr and end the process with _exit(86): no
 * flush, no atexit handler, no store close.
 *
 * Any thread may pass a crash point.
 */
#ifndef XEND_LIB_CRASHPOINT_H
#define XEND_LIB_CRASHPOINT_H

#include <stdbool.h>

#define XEND_CRASH_EXIT_STATUS 86

#ifdef XEND_CRASH_POINTS
void xend_crash_point(const char *name);
#else
static inline void xend_crash_point(const char *name)
{
    (void)name;
}
#endif

/* Called (any thread) with the point's name just before the process ends, so the daemon
 * can log it: its log writes each line at once. NULL for none. */
void xend_crash_point_set_reporter(void (*report)(const char *name));

/* Whether this build has crash points (xend --version says so; the tests check it). */
bool xend_crash_points_built(void);

#endif
