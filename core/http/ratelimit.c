/*
 * Token buckets per client (ratelimit.h). Buckets live in a hash table; a bucket that
 * would be full again is the same as no bucket, so the table is swept of those whenever it
 * doubles past its last size, which keeps it at about the number of clients that asked in
 * the last burst/rate seconds. Tokens are kept in nanoseconds' worth of credit
 * as the time the bucket is full again (`full_at_ns`; a token is 1e9 / rate ns of it), so
 * refilling needs no timer and no update.
 */
#include "http/ratelimit.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define BUCKETS 1024u

struct bucket {
    struct bucket *next;
    uint64_t full_at_ns; /* when the bucket is full again: the credit, as a time */
    bool limited;        /* its last request was refused */
    char key[];
};

static struct {
    unsigned rate, burst;
    uint64_t token_ns, burst_ns;
    struct bucket *table[BUCKETS];
    size_t n, sweep_at;
} rl = {.sweep_at = 256};

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

void xend_http_ratelimit_reset(void)
{
    for (size_t i = 0; i < BUCKETS; i++)
        while (rl.table[i] != NULL) {
            struct bucket *b = rl.table[i];
            rl.table[i] = b->next;
            free(b);
        }
    rl.n = 0;
    rl.sweep_at = 256;
}

void xend_http_ratelimit_configure(unsigned rate, unsigned burst)
{
    xend_http_ratelimit_reset();
    rl.rate = rate;
    rl.burst = burst ? burst : (rate ? rate : 1);
    rl.token_ns = rate ? 1000000000ull / rate : 0;
    rl.burst_ns = rl.token_ns * rl.burst;
}

unsigned xend_http_ratelimit_rate(void)
{
    return rl.rate;
}

size_t xend_http_ratelimit_clients(void)
{
    return rl.n;
}

static void sweep(uint64_t now_ns)
{
    for (size_t i = 0; i < BUCKETS; i++)
        for (struct bucket **pp = &rl.table[i]; *pp != NULL;) {
            struct bucket *b = *pp;
            if (b->full_at_ns <= now_ns) {
                *pp = b->next;
                free(b);
                rl.n--;
            } else {
                pp = &b->next;
            }
        }
    rl.sweep_at = rl.n * 2 > 256 ? rl.n * 2 : 256;
}

bool xend_http_ratelimit_take(const char *key, uint64_t now_ns, unsigned *retry_s, bool *newly)
{
    *newly = false;
    if (rl.rate == 0)
        return true;
    struct bucket **head = &rl.table[hash(key) % BUCKETS], *b = *head;
    while (b != NULL && strcmp(b->key, key) != 0)
        b = b->next;
    if (b == NULL) {
        if (rl.n >= rl.sweep_at)
            sweep(now_ns);
        size_t len = strlen(key) + 1;
        b = xend_xmalloc(sizeof(*b) + len);
        memcpy(b->key, key, len);
        b->full_at_ns = now_ns;
        b->limited = false;
        b->next = *head;
        *head = b;
        rl.n++;
    }
    /* Credit now = burst_ns - (full_at - now), never above burst. */
    uint64_t full_at = b->full_at_ns > now_ns ? b->full_at_ns : now_ns;
    uint64_t owed = full_at - now_ns; /* credit missing from a full bucket */
    if (owed + rl.token_ns > rl.burst_ns) {
        uint64_t wait_ns = owed + rl.token_ns - rl.burst_ns;
        *retry_s = (unsigned)((wait_ns + 999999999ull) / 1000000000ull);
        if (*retry_s == 0)
            *retry_s = 1;
        *newly = !b->limited;
        b->limited = true;
        return false;
    }
    b->limited = false;
    b->full_at_ns = full_at + rl.token_ns;
    return true;
}
