/*
 * Hex digits, and secrets written in them: the one place that turns a byte into two
 * digits and back, and draws the random bytes of a secret (CSRF token, session id, API
 * token).
 */
#ifndef XEND_LIB_HEX_H
#define XEND_LIB_HEX_H

#include <stddef.h>

/* The value of one hex digit (either case), or -1. */
int xend_hex_value(char c);

/* bytes[0..n) as 2n lower-case digits and a NUL into out (2n + 1 bytes). */
void xend_hex_encode(const unsigned char *bytes, size_t n, char *out);

/* v as lower-case digits without leading zeros ("0" for 0), no NUL, into out (at least
 * XEND_HEX_SIZE_MAX bytes); returns how many: an HTTP chunk's size line, without printf. */
#define XEND_HEX_SIZE_MAX (2 * sizeof(size_t))
size_t xend_hex_size(size_t v, char *out);

/* A secret: n random bytes from the kernel (getrandom, waiting for the pool, retrying
 * interrupted calls) as 2n digits and a NUL into out. 0, or -1 with errno set: the caller
 * must not go on with a guessable secret. */
int xend_hex_random(size_t n, char *out);

#endif
