/*
 * Progress of long operations (save, restore, migrate, shutdown -w): a status line on
 * stderr, redrawn every second, when stderr is a terminal.
 *
 * Never writes anything when stderr is not a terminal, so scripts and tests see only the
 * output of the 2.0 client; nor does it ask xend anything then, so the requests on the wire
 * are the 2.0 client's.
 */
#ifndef XM_PROGRESS_H
#define XM_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct xm_client;
struct xm_ctx;

struct xm_progress {
    char label[256];
    bool enabled;
    unsigned elapsed;
    /* A transfer followed through xend's xend.domain.progress events (xm_progress_follow) */
    const struct xm_ctx *ctx; /* borrowed; NULL when nothing is followed */
    char name[64];            /* the domain; "" for any (a restore's is not known yet) */
    const char *op;           /* "save", "restore", "migrate": a literal */
    long long since;          /* the last event seen */
    bool have;                /* a progress event came */
    uint64_t done, total, bytes, bytes_per_s;
    /* A live transfer's last round ended (0: none yet), from the progress events */
    uint64_t round, round_bytes, dirty_bytes_per_s;
    bool last_round;       /* that round was the stop-and-copy one */
    bool live;             /* a live migration: its end line says the downtime */
    long long downtime_ms; /* from the migration's end event; -1 until known */
};

/* Start a status line "LABEL..." (when on a terminal) and hook it to c's requests (c may
 * be NULL when the caller ticks it itself). */
void xm_progress_begin(struct xm_progress *p, struct xm_client *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Show the transfer `op` of domain `name` (NULL: any) on the line: percent, bytes done of
 * the estimated total, rate; a live migration's end (set p->live) adds its downtime. Only
 * on a terminal:
 * it asks xend for its events once a second.
 */
void xm_progress_follow(struct xm_progress *p, const struct xm_ctx *ctx, const char *name,
                        const char *op);

/* Redraw with the elapsed seconds; an xm_http_tick_fn (arg is the xm_progress). */
void xm_progress_tick(void *arg, unsigned elapsed_s);

/* Erase the status line (before other output to the same terminal); the next tick
 * redraws it. */
void xm_progress_clear(struct xm_progress *p);

/* Finish the line with "done" or "failed" and unhook it from c. */
void xm_progress_end(struct xm_progress *p, struct xm_client *c, bool ok);

/* The transfer part of the line, "45% 7.5/16.6 MB at 64.0 Mbit/s" ("" before any event),
 * and for a live transfer its last round: ", round 3: 1.2 MB, dirtied at 40.0 MB/s" (the
 * stop-and-copy one: ", last round 4: 0.2 MB"). Exposed for the unit tests. */
void xm_progress_describe(const struct xm_progress *p, char *out, size_t len);

#endif
