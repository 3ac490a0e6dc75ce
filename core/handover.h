/*
 * The migration hand-over: how a sending and a receiving xend agree, across a crash of
 * either, which one holds a migrating domain — never both running it, never both dropping
 * it (docs/durability.md, "Migration").
 *
 * The sender decides, as the coordinator of a two-phase commit. Its decision to let go is
 * a durable release record under the domain's store key (namespace "handover"), written
 * only after the receiver answered (received): the receiver durably holds the domain, built,
 * its devices attached, paused. Present, the release record says the domain belongs to the
 * receiver; absent while the sender still holds the domain, it belongs to the sender.
 *
 * A receiver that lost its sender before it heard (released) or (abort) asks the sender's
 * relocation port with the line "(handover KEY)"; the sender answers one of (released),
 * (held), (pending) (still deciding: ask again) or (unknown). Once the receiver has taken
 * the domain over it says "(taken KEY)" so that the sender can drop its release record.
 *
 * The loop-thread functions take and give nothing they do not name; the ask/tell functions
 * block and run on worker threads only.
 */
#ifndef XEND_CORE_HANDOVER_H
#define XEND_CORE_HANDOVER_H

#include <stdbool.h>

#include <xend/abi.h>

struct xend_store;

enum xend_handover_state {
    XEND_HANDOVER_RELEASED,    /* the receiver holds it: take it over */
    XEND_HANDOVER_HELD,        /* the sender kept it: drop the received copy */
    XEND_HANDOVER_PENDING,     /* the sender is still deciding: ask again */
    XEND_HANDOVER_UNKNOWN,     /* the sender knows nothing of it */
    XEND_HANDOVER_UNREACHABLE, /* no answer */
};

/* Loop thread. The store is borrowed for the life of the process. */
void xend_handover_init(struct xend_store *store);

/* Sender, loop thread: write the release record of `key` (the domain's store key) durably;
 * done(arg, rc) runs on the loop once it is durable (rc 0) or has failed. */
void xend_handover_release(const char *key, const char *name, const char *destination,
                           void (*done)(void *arg, int rc), void *arg);
/* Sender, loop thread: whether a release record of key exists (reads the store, or the
 * keys listed by xend_handover_preload while they are held). */
bool xend_handover_released(const char *key);
/*
 * Loop thread, at start: list the release records once and answer xend_handover_released
 * from that list until xend_handover_preload_done, so that a start asks once and not once
 * per stored domain. Nothing writes release records meanwhile (they are written by a
 * migration, which cannot run before the start is over); a forget deletes from the list.
 * Without the list (it could not be read) each call reads the store as before.
 */
void xend_handover_preload(void);
void xend_handover_preload_done(void);
/* Sender, loop thread: drop the release record (the receiver took the domain over). */
void xend_handover_forget(const char *key);
/*
 * Sender, loop thread: the answer to a peer's control line (without its newline), as a
 * line with its newline (static storage). `held(key)` says whether this xend still holds a
 * domain under key: 1 held, 2 held but busy (an operation is running on it), 0 not.
 */
const char *xend_handover_answer(const char *line, int (*held)(const char *key));

/* Receiver, worker thread: ask the sender, over fd (a connection to its relocation port,
 * borrowed), what became of key. */
enum xend_handover_state xend_handover_ask(int fd, const char *key);
/* Receiver, worker thread: tell the sender over fd that key is taken over (best effort). */
void xend_handover_tell_taken(int fd, const char *key);

const char *xend_handover_state_name(enum xend_handover_state s);

#endif
