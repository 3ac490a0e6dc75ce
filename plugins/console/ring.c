/*
 * The console byte queue (see ring.h). Index arithmetic on one allocation that grows in
 * small steps up to the caller's limit and is freed by a trim of the empty queue.
 */
#include "ring.h"

#include <stdlib.h>
#include <string.h>

/* Growth granularity: a few boot lines, so that a quiet console holds about what it has
 * queued rather than a page. */
#define RING_STEP 256u

void console_ring_free(struct console_ring *r)
{
    free(r->data);
    *r = (struct console_ring)CONSOLE_RING_INIT;
}

/* Make room for `want` bytes in all (want <= limit); false when memory is short. */
static bool ring_grow(struct console_ring *r, size_t want, size_t limit)
{
    /* At least 1.5x the old size, so a queue filled a line at a time is copied O(1) times
     * per byte; rounded up to the step. */
    size_t cap = r->cap + r->cap / 2;
    if (cap < want)
        cap = want;
    cap = (cap + RING_STEP - 1) / RING_STEP * RING_STEP;
    if (cap > limit)
        cap = limit;
    char *data = malloc(cap);
    if (data == NULL)
        return false;
    /* Linearise: the oldest byte moves to 0. */
    size_t first = r->len;
    if (r->len && r->head + r->len > r->cap)
        first = r->cap - r->head;
    if (r->len) {
        memcpy(data, r->data + r->head, first);
        memcpy(data + first, r->data, r->len - first);
    }
    free(r->data);
    r->data = data;
    r->cap = cap;
    r->head = 0;
    return true;
}

size_t console_ring_push(struct console_ring *r, const void *p, size_t n, size_t limit)
{
    if (r->len >= limit || n == 0)
        return 0;
    if (n > limit - r->len)
        n = limit - r->len;
    if (r->len + n > r->cap && !ring_grow(r, r->len + n, limit))
        n = r->cap - r->len;
    if (n == 0)
        return 0;
    size_t tail = (r->head + r->len) % r->cap;
    size_t first = r->cap - tail < n ? r->cap - tail : n;
    memcpy(r->data + tail, p, first);
    memcpy(r->data, (const char *)p + first, n - first);
    r->len += n;
    return n;
}

size_t console_ring_push_tail(struct console_ring *r, const void *p, size_t n, size_t limit)
{
    if (n > limit) {
        p = (const char *)p + (n - limit);
        n = limit;
    }
    if (r->len + n > limit)
        console_ring_consume(r, r->len + n - limit);
    return console_ring_push(r, p, n, limit);
}

size_t console_ring_peek(const struct console_ring *r, const char **p)
{
    *p = r->data;
    if (r->len == 0)
        return 0;
    return console_ring_run(r, 0, p);
}

size_t console_ring_run(const struct console_ring *r, size_t off, const char **p)
{
    size_t at = (r->head + off) % r->cap;
    *p = r->data + at;
    size_t run = r->cap - at;
    return r->len - off < run ? r->len - off : run;
}

void console_ring_consume(struct console_ring *r, size_t n)
{
    r->len -= n;
    /* An empty ring restarts at 0 so that the next peek is one long contiguous run. */
    r->head = r->len == 0 ? 0 : (r->head + n) % r->cap;
}

void console_ring_trim(struct console_ring *r)
{
    if (r->len == 0)
        console_ring_free(r);
}
