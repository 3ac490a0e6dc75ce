/*
 * Console buffers of a simulated domain (see console.h). No sockets, no clock.
 */
#include "console.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void simhv_console_init(struct simhv_console *c)
{
    memset(c, 0, sizeof(*c));
    c->out = xend_xmalloc(SIMHV_CONSOLE_OUT_MAX);
    c->in = xend_xmalloc(SIMHV_CONSOLE_IN_MAX);
}

void simhv_console_free(struct simhv_console *c)
{
    if (c->wake != NULL)
        c->wake(c->wake_arg);
    free(c->out);
    free(c->in);
    memset(c, 0, sizeof(*c));
}

void simhv_console_write(struct simhv_console *c, const void *data, size_t len)
{
    const uint8_t *p = data;
    if (len >= SIMHV_CONSOLE_OUT_MAX) {
        c->dropped += c->out_len + (len - SIMHV_CONSOLE_OUT_MAX);
        p += len - SIMHV_CONSOLE_OUT_MAX;
        len = SIMHV_CONSOLE_OUT_MAX;
        c->out_len = 0;
    }
    if (c->out_len + len > SIMHV_CONSOLE_OUT_MAX)
        simhv_console_consume_out(c, c->out_len + len - SIMHV_CONSOLE_OUT_MAX);
    memcpy(c->out + c->out_len, p, len);
    c->out_len += len;
    if (c->wake != NULL)
        c->wake(c->wake_arg);
}

void simhv_console_printf(struct simhv_console *c, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    simhv_console_write(c, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

void simhv_console_consume_out(struct simhv_console *c, size_t n)
{
    if (n >= c->out_len) {
        c->out_len = 0;
        return;
    }
    memmove(c->out, c->out + n, c->out_len - n);
    c->out_len -= n;
}

size_t simhv_console_input(struct simhv_console *c, const void *data, size_t len)
{
    size_t room = SIMHV_CONSOLE_IN_MAX - c->in_len;
    if (len > room)
        len = room;
    memcpy(c->in + c->in_len, data, len);
    c->in_len += len;
    return len;
}

long simhv_console_take_line(struct simhv_console *c, char *line, size_t cap)
{
    if (c->after_cr && c->in_len > 0) {
        c->after_cr = 0;
        if (c->in[0] == '\n') {
            memmove(c->in, c->in + 1, c->in_len - 1);
            c->in_len--;
        }
    }
    size_t i = 0;
    while (i < c->in_len && c->in[i] != '\r' && c->in[i] != '\n')
        i++;
    if (i == c->in_len) {
        /* A full buffer without an end of line would block input forever: cut it here. */
        if (c->in_len < SIMHV_CONSOLE_IN_MAX)
            return -1;
    }
    size_t n = i < cap - 1 ? i : cap - 1;
    memcpy(line, c->in, n);
    line[n] = '\0';
    size_t used = i;
    if (used < c->in_len && c->in[used] == '\r') {
        used++;
        if (used < c->in_len && c->in[used] == '\n')
            used++;
        else
            c->after_cr = used == c->in_len;
    } else if (used < c->in_len) {
        used++;
    }
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
    return (long)n;
}
