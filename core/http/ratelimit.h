/*
 * The per-client rate limit of HTTP requests (setting http-rate-limit, off by default;
 * docs/http.md, "Rate limit"): one token bucket per client, refilled at `rate` tokens a
 * second up to `burst`; a request takes a token, and one that finds none is answered 429
 * with Retry-After. A client is its uid when xend knows it (unix socket, loopback TCP),
 * else its address, so that one caller cannot starve the others, and reconnecting does
 * not help.
 * Threads: loop thread only.
 */
#ifndef XEND_CORE_HTTP_RATELIMIT_H
#define XEND_CORE_HTTP_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Set the limit (rate 0 = off) and forget every bucket. burst 0 = the rate, at least 1. */
void xend_http_ratelimit_configure(unsigned rate, unsigned burst);

/*
 * Take a token for client `key` (a string naming the client, copied when new) at now_ns.
 * True when the request may go on; false with *retry_s, the whole seconds (>= 1) until a
 * token will be there, and *newly true when the client's previous request was not refused
 * (the caller logs the start of a refusal run once). Always true while the limit is off.
 */
bool xend_http_ratelimit_take(const char *key, uint64_t now_ns, unsigned *retry_s, bool *newly);

/* The configured rate (0 = off). */
unsigned xend_http_ratelimit_rate(void);

/* Buckets held (for tests). */
size_t xend_http_ratelimit_clients(void);

/* Free every bucket (stop). */
void xend_http_ratelimit_reset(void);

#endif
