/*
 * A bounded byte queue for console output: what the guest wrote and the client has not
 * read yet (or, with no client, what a late client will be shown first).
 *
 * Memory is allocated on the first push and grows (doubling) only up to the limit the
 * caller passes; it never shrinks while in use and never exceeds the largest limit ever
 * passed. A push takes what fits under the limit and reports how much that was: the caller
 * decides what to do with the rest (the console drops it and logs). It never blocks and
 * never touches a file descriptor.
 */
#ifndef XEND_CONSOLE_RING_H
#define XEND_CONSOLE_RING_H

#include <stdbool.h>
#include <stddef.h>

struct console_ring {
    char *data; /* owned, cap bytes; NULL until the first push */
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
/* Forget the n oldest bytes (n <= len). */
void console_ring_consume(struct console_ring *r, size_t n);

#endif
