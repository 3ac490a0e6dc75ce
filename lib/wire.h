/*
 * Blocking stream I/O for worker threads: whole writes, whole reads, one line at a time,
 * and a TCP connection with send and receive timeouts. Transfers (core/transfer/), the
 * migration hand-over (core/handover.c) and the store's writer speak through these; never
 * call them on the loop.
 *
 * Each returns 0 or -1 with errno set (0 from a read at end of stream is -1 with errno 0).
 */
#ifndef XEND_LIB_WIRE_H
#define XEND_LIB_WIRE_H

#include <stddef.h>

#include <xend/abi.h>

int xend_wire_write_all(int fd, const void *buf, size_t len);
int xend_wire_write_str(int fd, const char *s);
int xend_wire_read_all(int fd, void *buf, size_t len);
/* One line of up to max-1 bytes, without its newline, read a byte at a time (what follows
 * the line, an image, must stay in the socket). */
int xend_wire_read_line(int fd, char *out, size_t max);
/* Apply send and receive timeouts to a socket. */
void xend_wire_set_timeout(int fd, int seconds);
/* Connect to host:port with timeouts of `seconds`; the descriptor (owned) or a negative
 * code with err set. */
int xend_wire_connect(const char *host, const char *port, int seconds, struct xend_err *err);

#endif
