/*
 * Progress of long operations (save, restore, migrate, shutdown -w): a status line on
 * stderr, redrawn every second, when stderr is a terminal.
 *
 * Never writes anything when stderr is not a terminal, so scripts and tests see only the
 * output of the 2.0 client.
 */
#ifndef XM_PROGRESS_H
#define XM_PROGRESS_H

#include <stdbool.h>

struct xm_client;

struct xm_progress {
    char label[256];
    bool enabled;
    unsigned elapsed;
};

/* Start a status line "LABEL..." (when on a terminal) and hook it to c's requests (c may
 * be NULL when the caller ticks it itself). */
void xm_progress_begin(struct xm_progress *p, struct xm_client *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Redraw with the elapsed seconds; an xm_http_tick_fn (arg is the xm_progress). */
void xm_progress_tick(void *arg, unsigned elapsed_s);

/* Erase the status line (before other output to the same terminal); the next tick
 * redraws it. */
void xm_progress_clear(struct xm_progress *p);

/* Finish the line with "done" or "failed" and unhook it from c. */
void xm_progress_end(struct xm_progress *p, struct xm_client *c, bool ok);

#endif
