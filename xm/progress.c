/*
 * Progress of long operations (see progress.h).
 */
#include "progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "client.h"

void xm_progress_begin(struct xm_progress *p, struct xm_client *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->label, sizeof(p->label), fmt, ap);
    va_end(ap);
    p->enabled = isatty(STDERR_FILENO) == 1;
    p->elapsed = 0;
    if (c != NULL) {
        c->tick = xm_progress_tick;
        c->tick_arg = p;
    }
    if (p->enabled) {
        fprintf(stderr, "%s...", p->label);
        fflush(stderr);
    }
}

void xm_progress_tick(void *arg, unsigned elapsed_s)
{
    struct xm_progress *p = arg;
    p->elapsed = elapsed_s;
    if (!p->enabled)
        return;
    /* \r and clear-to-end-of-line: the line is rewritten in place */
    fprintf(stderr, "\r%s... %us\033[K", p->label, elapsed_s);
    fflush(stderr);
}

void xm_progress_clear(struct xm_progress *p)
{
    if (!p->enabled)
        return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
}

void xm_progress_end(struct xm_progress *p, struct xm_client *c, bool ok)
{
    if (c != NULL) {
        c->tick = NULL;
        c->tick_arg = NULL;
    }
    if (!p->enabled)
        return;
    fprintf(stderr, "\r%s... %s (%us)\033[K\n", p->label, ok ? "done" : "failed", p->elapsed);
    fflush(stderr);
}
