/*
 * A bounded byte queue for console output and input: what one side wrote and the other has
 * not taken yet (or, with no client, what a late client will be shown first).
 *
 * Memory is allocated on the first push and grown in small steps (the size needed rounded
 * up to 256 bytes, at least half as much again, so growth stays amortised) up to the limit
 * the caller passes. console_ring_trim gives it back once the queue is empty; the caller
 * chooses when (the console: when the client that drained it leaves, so that a client
 * streaming output does not free and re-allocate on every burst). A push takes what fits
 * under the limit and reports how much that was: the caller decides what to do with the
 * rest (the console drops it and logs). It never blocks and never touches a file descriptor.
 */
#ifndef XEND_CONSOLE_RING_H
#define XEND_CONSOLE_RING_H

#include <stdbool.h>
#include <stddef.h>

struct console_ring {
    char *data; /* owned, cap bytes; NULL until the first push and after a trim */
    size_t cap;
    size_t head; /* index of the oldest byte */
    size_t len;  /* bytes queued */
};

#define CONSOLE_RING_INIT                                                                          \
    {                                                                                              \
        NULL, 0, 0, 0                                                                              \
    }

void console_ring_free(struct console_ring *r);

/*
 * Queue up to n bytes of p while len stays <= limit; returns the bytes taken (fewer than
 * n when the limit is reached, or when memory for growing cannot be had).
 */
size_t console_ring_push(struct console_ring *r, const void *p, size_t n, size_t limit);
/* The oldest contiguous run of queued bytes: *p borrowed until the next push/consume. */
size_t console_ring_peek(const struct console_ring *r, const char **p);
/* The contiguous run of queued bytes that starts `off` bytes after the oldest (off < len),
 * for reading the queue without consuming it: *p borrowed like peek's. */
size_t console_ring_run(const struct console_ring *r, size_t off, const char **p);
/* Forget the n oldest bytes (n <= len). */
void console_ring_consume(struct console_ring *r, size_t n);
/*
 * Keep the newest bytes instead: queue all of p (or its last `limit` bytes), forgetting the
 * oldest queued bytes to make room, so that len stays <= limit. For a history of recent
 * output, where the newest matter most. Returns the bytes of p now queued.
 */
size_t console_ring_push_tail(struct console_ring *r, const void *p, size_t n, size_t limit);
/* Free the memory of an empty ring (a non-empty one is left alone). */
void console_ring_trim(struct console_ring *r);

#endif
