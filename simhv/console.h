/*
 * A simulated domain's console: what the guest wrote and nobody has read yet (bounded:
 * the oldest bytes go first, as a ring would lose them), and what a client typed and the
 * guest has not consumed yet (bounded: excess input is dropped).
 *
 * The server moves bytes between a console connection and these buffers; the guest
 * (guest.c) produces output and consumes input. Never touches sockets.
 */
#ifndef SIMHV_CONSOLE_H
#define SIMHV_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIMHV_CONSOLE_OUT_MAX ((size_t)64 * 1024)
#define SIMHV_CONSOLE_IN_MAX ((size_t)4 * 1024)

struct simhv_console {
    uint8_t *out; /* owned */
    size_t out_len;
    uint8_t *in; /* owned */
    size_t in_len;
    uint64_t dropped;    /* output bytes lost to the bound */
    uint64_t attach_gen; /* bumped per client attach: an older client is detached */
    int after_cr;        /* the last line ended in CR: a following LF is its partner */
    /* The reader to wake when output arrives or the console goes (the server's console
     * connection, so that it looks at its consoles only when one has news); may be NULL. */
    void (*wake)(void *arg);
    void *wake_arg;
};

void simhv_console_init(struct simhv_console *c);
void simhv_console_free(struct simhv_console *c);

/* Guest output. */
void simhv_console_write(struct simhv_console *c, const void *data, size_t len);
void simhv_console_printf(struct simhv_console *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Drop the first n output bytes (sent to the client). */
void simhv_console_consume_out(struct simhv_console *c, size_t n);

/* Client input; returns how many bytes were kept. */
size_t simhv_console_input(struct simhv_console *c, const void *data, size_t len);
/* Take one complete input line (without its CR/LF) into line[0..cap), NUL-terminated.
 * Returns its length, or -1 when no complete line is buffered. */
long simhv_console_take_line(struct simhv_console *c, char *line, size_t cap);

#endif
