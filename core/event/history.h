/*
 * The event history: every event the bus emits gets a sequence number (1, 2, ... per xend
 * process), and the last N events (setting `event-history`, default 1024) are kept so that
 * a follower that lost its connection can ask for what it missed (GET
 * /xend/event?since=SEQ, docs/http.md "Events: sequence numbers and replay").
 *
 * Sequence numbers restart at 1 when xend starts; the epoch, a random id drawn at the first
 * event of the process, tells a client that the numbers it holds belong to another run.
 *
 * The history's bytes count against the followers' backlog budget (budget.h): when the
 * total is over the budget and the history holds the most, its oldest events go first.
 *
 * The events are kept packed in one byte ring owned by the history, each as its name and
 * its value printed; replay parses a value back and lends name and value to the callback
 * only.
 * Threads: loop thread only.
 */
#ifndef XEND_CORE_EVENT_HISTORY_H
#define XEND_CORE_EVENT_HISTORY_H

#include <stddef.h>
#include <stdint.h>

struct xend_sxp;

#define XEND_EVENT_HISTORY_DEFAULT 1024u

/* Keep at most n events (0 keeps none: numbers are still given). Drops the oldest now if
 * more are held. */
void xend_event_history_set_max(unsigned n);
unsigned xend_event_history_max(void);

/* Number the event and keep it: its name and its value as printed (both borrowed; the print
 * is the one the bytes below count). Returns its number. */
uint64_t xend_event_history_record(const char *name, const struct xend_sxp *value);

/* The number of the last event given one (0 before the first). */
uint64_t xend_event_history_last(void);
/* The oldest number still held; last + 1 when nothing is held. */
uint64_t xend_event_history_oldest(void);
/* This process's epoch: 16 hex digits. */
const char *xend_event_history_epoch(void);

/* Call fn for each held event numbered above `since`, oldest first, until fn returns
 * non-zero (that value is returned; 0 when every one was given). The value is parsed back
 * from its print for the call (NULL for an event without one); name and value are lent for
 * the call only. fn must not emit. */
typedef int xend_event_replay_fn(uint64_t seq, const char *name, const struct xend_sxp *value,
                                 void *arg);
int xend_event_history_replay(uint64_t since, xend_event_replay_fn *fn, void *arg);

/* Events and bytes held (an estimate: the printed size of each event plus its record). */
size_t xend_event_history_count(void);
size_t xend_event_history_bytes(void);
/* The bytes the ring has allocated (0 while it holds nothing): what the events cost in
 * memory, for tests. */
size_t xend_event_history_ring_size(void);

/* Forget everything, numbers included (tests, shutdown). */
void xend_event_history_reset(void);

#endif
