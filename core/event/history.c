/*
 * The event history (history.h): a ring of the last `max` events, each a copy of its name
 * and value. A ring, not a list: the common case (a full history) drops one event and
 * keeps one per emit without allocating a record.
 */
#include "event/history.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>

#include "buf.h"
#include "event/budget.h"
#include "log/log.h"
#include "sxp.h"

/* What a record costs beyond its printed size: the record, the name, the tree's nodes. */
#define RECORD_OVERHEAD 96u

struct record {
    uint64_t seq;
    char *name;
    struct xend_sxp *value; /* NULL for an event without one */
    size_t bytes;
};

static struct {
    struct record *ring; /* cap slots; the held ones are [head, head + n) mod cap */
    size_t cap, head, n;
    unsigned max;
    bool max_set;
    uint64_t last;
    size_t bytes;
    char epoch[17];
    struct xend_event_sink sink; /* the history's share of the budget */
    bool sink_added;
    unsigned long trimmed; /* events dropped for the budget */
} h;

static unsigned cur_max(void)
{
    return h.max_set ? h.max : XEND_EVENT_HISTORY_DEFAULT;
}

static void drop_oldest(void)
{
    struct record *r = &h.ring[h.head];
    h.bytes -= r->bytes;
    free(r->name);
    xend_sxp_free(r->value);
    memset(r, 0, sizeof(*r));
    h.head = (h.head + 1) % h.cap;
    h.n--;
}

static size_t sink_backlog(struct xend_event_sink *s)
{
    (void)s;
    return h.bytes;
}

/* The budget says the history holds the most: give back at least `excess` bytes. */
static void sink_trim(struct xend_event_sink *s, size_t excess)
{
    (void)s;
    size_t freed = 0, dropped = 0;
    while (h.n > 0 && freed < excess) {
        freed += h.ring[h.head].bytes;
        drop_oldest();
        dropped++;
    }
    h.trimmed += dropped;
    xend_log_emit(NULL, XEND_LOG_INFO, "event history trimmed",
                  "dropped=%zu freed=%zu held=%zu oldest=%llu", dropped, freed, h.n,
                  (unsigned long long)xend_event_history_oldest());
}

static void sink_drop(struct xend_event_sink *s, const char *why)
{
    (void)why;
    sink_trim(s, h.bytes); /* never called while trim is set; all of it if it were */
}

static void resize(size_t cap)
{
    while (h.n > cap)
        drop_oldest();
    struct record *ring = cap ? xend_xcalloc(cap, sizeof(*ring)) : NULL;
    for (size_t i = 0; i < h.n; i++)
        ring[i] = h.ring[(h.head + i) % h.cap];
    free(h.ring);
    h.ring = ring;
    h.cap = cap;
    h.head = 0;
}

void xend_event_history_set_max(unsigned n)
{
    h.max = n;
    h.max_set = true;
    resize(n);
}

unsigned xend_event_history_max(void)
{
    return cur_max();
}

const char *xend_event_history_epoch(void)
{
    if (h.epoch[0] == '\0') {
        uint64_t r = 0;
        if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
            r = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid() ^ (uint64_t)(uintptr_t)&r;
        snprintf(h.epoch, sizeof(h.epoch), "%016llx", (unsigned long long)r);
    }
    return h.epoch;
}

uint64_t xend_event_history_record(const char *name, const struct xend_sxp *value)
{
    uint64_t seq = ++h.last;
    (void)xend_event_history_epoch();
    unsigned max = cur_max();
    if (max == 0)
        return seq;
    if (h.cap != max)
        resize(max);
    if (h.n == h.cap)
        drop_oldest();
    struct record *r = &h.ring[(h.head + h.n) % h.cap];
    r->seq = seq;
    r->name = xend_xstrdup(name);
    r->value = value != NULL ? xend_sxp_copy(value) : NULL;
    size_t printed = 0;
    if (value != NULL) {
        struct xend_buf b = XEND_BUF_INIT;
        xend_sxp_print_buf(value, &b);
        printed = b.len;
        xend_buf_free(&b);
    }
    r->bytes = RECORD_OVERHEAD + strlen(name) + printed;
    h.bytes += r->bytes;
    h.n++;
    if (!h.sink_added) {
        h.sink.backlog = sink_backlog;
        h.sink.drop = sink_drop;
        h.sink.trim = sink_trim;
        h.sink.kind = "history";
        xend_event_sink_add(&h.sink);
        h.sink_added = true;
    }
    xend_event_budget_check();
    return seq;
}

uint64_t xend_event_history_last(void)
{
    return h.last;
}

uint64_t xend_event_history_oldest(void)
{
    return h.n > 0 ? h.ring[h.head].seq : h.last + 1;
}

int xend_event_history_replay(uint64_t since, xend_event_replay_fn *fn, void *arg)
{
    for (size_t i = 0; i < h.n; i++) {
        const struct record *r = &h.ring[(h.head + i) % h.cap];
        if (r->seq <= since)
            continue;
        int rc = fn(r->seq, r->name, r->value, arg);
        if (rc != 0)
            return rc;
    }
    return 0;
}

size_t xend_event_history_count(void)
{
    return h.n;
}

size_t xend_event_history_bytes(void)
{
    return h.bytes;
}

void xend_event_history_reset(void)
{
    while (h.n > 0)
        drop_oldest();
    free(h.ring);
    if (h.sink_added)
        xend_event_sink_remove(&h.sink);
    memset(&h, 0, sizeof(h));
}
