/*
 * The event history (history.h): the last `max` events packed in one byte ring, each
 * record its number, its name and its value as printed. Records used to be a strdup'd name
 * and a copy of the value each, made one by one all through a busy hour between the
 * requests' own short-lived blocks: ~1,000 small blocks scattered over the heap, each
 * pinning a page that malloc_trim could not give back (issue 17: RSS 4 MB at start, 6 MB
 * after a soak). One ring is one block. The value is printed once, which also gives the
 * bytes the budget counts, and parsed back only for a replay (a follower resuming with
 * since=N: rare).
 *
 * Layout: each record lies whole at an 8-byte boundary; the held ones run from `head` to
 * `wrap` and then from 0 to `tail` when wrapped, else from `head` to `tail`. A record that
 * does not fit at the tail goes to 0 when the oldest have left room there; else the ring
 * is compacted in place when that makes room, or laid out afresh, oldest first, in a block
 * sized for what it holds (grown). A full history drops one and appends one per emit,
 * usually without moving anything. It shrinks the same way once it holds under a quarter
 * of its size.
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

/* What an event counts beyond its printed size (history.h's estimate, which the budget and
 * xend_event_history_bytes report: unchanged when the records became packed). */
#define RECORD_OVERHEAD 96u
#define RING_MIN 4096u
#define NO_VALUE SIZE_MAX

/* A record's head; the name and its NUL follow, then the printed value and its NUL. */
struct rec {
    uint64_t seq;
    size_t name_len;
    size_t value_len; /* NO_VALUE: an event without one */
};

static struct {
    char *ring; /* size bytes; NULL while nothing is held */
    size_t size;
    size_t head, tail; /* the oldest record; where the next one goes */
    size_t wrap;       /* when wrapped: where the records at the end stop; else 0 */
    size_t used;       /* bytes of the records held, padding included */
    size_t n;
    unsigned max;
    bool max_set;
    uint64_t last;
    size_t bytes;
    unsigned long moves; /* records moved or dropped: replay's cue to find its place again */
    char epoch[17];
    struct xend_event_sink sink; /* the history's share of the budget */
    bool sink_added;
    unsigned long trimmed; /* events dropped for the budget */
} h;

static unsigned cur_max(void)
{
    return h.max_set ? h.max : XEND_EVENT_HISTORY_DEFAULT;
}

static size_t rec_len(size_t name_len, size_t value_len)
{
    size_t len = sizeof(struct rec) + name_len + 1 + (value_len == NO_VALUE ? 0 : value_len + 1);
    return (len + 7) & ~(size_t)7;
}

static struct rec rec_at(size_t off)
{
    struct rec r;
    memcpy(&r, h.ring + off, sizeof(r));
    return r;
}

/* The budget's count of a record (history.h). */
static size_t rec_bytes(const struct rec *r)
{
    return RECORD_OVERHEAD + r->name_len + (r->value_len == NO_VALUE ? 0 : r->value_len);
}

static size_t next_off(size_t off)
{
    struct rec r = rec_at(off);
    off += rec_len(r.name_len, r.value_len);
    return h.wrap != 0 && off == h.wrap ? 0 : off;
}

/* Room for what is held plus half as much again: a full history that keeps its size
 * wraps around without moving a record. */
static size_t size_for(size_t need)
{
    size_t size = need + need / 2;
    size = (size + RING_MIN - 1) / RING_MIN * RING_MIN;
    return size < RING_MIN ? RING_MIN : size;
}

/* The held records, oldest first, at the start of a new block of `size` (0: none). */
static void relayout(size_t size)
{
    char *ring = size != 0 ? xend_xmalloc(size) : NULL;
    if (h.n > 0) {
        size_t end = h.wrap != 0 ? h.wrap : h.tail;
        memcpy(ring, h.ring + h.head, end - h.head);
        if (h.wrap != 0)
            memcpy(ring + (end - h.head), h.ring, h.tail);
    }
    free(h.ring);
    h.ring = ring;
    h.size = size;
    h.head = 0;
    h.tail = h.used;
    h.wrap = 0;
    h.moves++;
}

static void shrink_if_sparse(void)
{
    if (h.n == 0 && h.ring != NULL)
        relayout(0);
    else if (h.size > RING_MIN && h.used < h.size / 4)
        relayout(size_for(h.used));
}

static void drop_oldest(void)
{
    struct rec r = rec_at(h.head);
    size_t len = rec_len(r.name_len, r.value_len);
    h.bytes -= rec_bytes(&r);
    h.used -= len;
    h.n--;
    h.moves++;
    if (h.n == 0) {
        h.head = h.tail = h.wrap = 0;
        return;
    }
    h.head += len;
    if (h.wrap != 0 && h.head == h.wrap)
        h.head = h.wrap = 0;
}

/* Where a record of len bytes goes: made room for, never splitting it. */
static size_t room(size_t len)
{
    if (h.wrap == 0) {
        if (h.tail + len <= h.size)
            return h.tail;
        if (len <= h.head) {
            h.wrap = h.tail;
            h.tail = 0;
            return 0;
        }
        if (h.used + len <= h.size) {
            memmove(h.ring, h.ring + h.head, h.used);
            h.head = 0;
            h.tail = h.used;
            h.moves++;
            return h.tail;
        }
    } else if (h.tail + len <= h.head) {
        return h.tail;
    }
    relayout(size_for(h.used + len));
    return h.tail;
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
        struct rec r = rec_at(h.head);
        freed += rec_bytes(&r);
        drop_oldest();
        dropped++;
    }
    shrink_if_sparse();
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

void xend_event_history_set_max(unsigned n)
{
    h.max = n;
    h.max_set = true;
    while (h.n > n)
        drop_oldest();
    shrink_if_sparse();
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
    while (h.n >= max)
        drop_oldest();
    /* Printed apart first: its length decides where the record goes. A block freed at once
     * pins nothing. */
    struct xend_buf printed = XEND_BUF_INIT;
    if (value != NULL)
        xend_sxp_print_buf(value, &printed);
    struct rec r = {seq, strlen(name), value != NULL ? printed.len : NO_VALUE};
    size_t len = rec_len(r.name_len, r.value_len);
    size_t off = room(len);
    char *p = h.ring + off;
    memcpy(p, &r, sizeof(r));
    p += sizeof(r);
    memcpy(p, name, r.name_len + 1);
    if (value != NULL)
        memcpy(p + r.name_len + 1, xend_buf_str(&printed), printed.len + 1);
    xend_buf_free(&printed);
    h.tail = off + len;
    h.used += len;
    h.n++;
    h.bytes += rec_bytes(&r);
    shrink_if_sparse(); /* the big events it held may have given way to small ones */
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
    return h.n > 0 ? rec_at(h.head).seq : h.last + 1;
}

/* Give fn the record at off, its value parsed back. */
static int replay_one(size_t off, const struct rec *r, xend_event_replay_fn *fn, void *arg)
{
    /* Unlimited: the value was a tree in memory already, whatever its size. */
    static const struct xend_sxp_limits unlimited = {SIZE_MAX, SIZE_MAX, SIZE_MAX};
    const char *name = h.ring + off + sizeof(*r);
    struct xend_sxp *value = NULL;
    char msg[128];
    if (r->value_len != NO_VALUE && xend_sxp_parse(name + r->name_len + 1, r->value_len, &unlimited,
                                                   &value, msg, sizeof(msg)) != 0) {
        /* The printer's own output cannot fail to parse; were it to, no wrong value. */
        xend_log_emit(NULL, XEND_LOG_WARN, "event history replay skipped",
                      "seq=%llu name=%s reason=\"%s\"", (unsigned long long)r->seq, name, msg);
        return 0;
    }
    int rc = fn(r->seq, name, value, arg);
    xend_sxp_free(value);
    return rc;
}

int xend_event_history_replay(uint64_t since, xend_event_replay_fn *fn, void *arg)
{
    size_t off = h.head, left = h.n;
    while (left > 0) {
        struct rec r = rec_at(off);
        unsigned long moves = h.moves;
        if (r.seq > since) {
            int rc = replay_one(off, &r, fn, arg);
            if (rc != 0)
                return rc;
            since = r.seq;
        }
        if (h.moves != moves) { /* the callback made records move or go: start again */
            off = h.head;
            left = h.n;
            continue;
        }
        off = next_off(off);
        left--;
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

size_t xend_event_history_ring_size(void)
{
    return h.size;
}

void xend_event_history_reset(void)
{
    free(h.ring);
    if (h.sink_added)
        xend_event_sink_remove(&h.sink);
    memset(&h, 0, sizeof(h));
}
