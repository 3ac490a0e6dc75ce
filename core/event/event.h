/*
 * The event bus: named events (docs/compat.md: xend.domain.create, xend.console.*,
 * ...) with SXP values, delivered synchronously to every subscriber whose pattern matches.
 * Plugins reach it through host->event; the core's interfaces to it are the HTTP
 * resource /xend/event (event_http.c) and the event/debug TCP port (event_port.c).
 *
 * Patterns are dot-separated segments: `a.b.c` matches that name only; `?` matches any one
 * segment (`a.b.?` matches a.b.c, not a.b.c.d); a final `*` matches any rest, including
 * none (`a.b.*` matches a.b, a.b.c and a.b.c.d, as in the original EventServer); `*` alone
 * matches everything.
 *
 * The bus must never queue or defer an event: emit returns once every subscriber has run.
 * Each event is numbered and kept in the bounded history (history.h) first. Subscribers may
 * subscribe, unsubscribe (themselves or others) and emit from inside a callback: an unsubscribed
 * subscriber is not called again, even for the event being delivered, and one added during an emit
 * first hears the next event.
 *
 * Threads: loop thread only.
 */
#ifndef XEND_CORE_EVENT_H
#define XEND_CORE_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xend/host.h> /* xend_event_fn, struct xend_host_event */

/*
 * `owner` tags a subscription for bulk removal: a plugin handle, or any unique pointer of
 * a core part (a connection). Borrowed, never dereferenced.
 */

/* True when `pattern` is well formed (non-empty segments, `*` only last). */
bool xend_event_pattern_valid(const char *pattern);
/* True when `name` matches `pattern` (rules above). */
bool xend_event_match(const char *pattern, const char *name);

/*
 * Subscribe fn(name, value, arg) to events matching pattern (copied). Returns 0,
 * -XEND_EINVAL (bad pattern, NULL fn) or -XEND_EEXIST (same owner, pattern, fn and arg
 * already subscribed: delivering twice would help nobody).
 */
int xend_event_subscribe(const void *owner, const char *pattern, xend_event_fn *fn, void *arg);
/* Remove that one subscription: 0 or -XEND_ENOENT. */
int xend_event_unsubscribe(const void *owner, const char *pattern, xend_event_fn *fn, void *arg);
/* Remove every subscription of owner (a plugin being unloaded, a closed connection). */
void xend_event_unsubscribe_owner(const void *owner);

/*
 * Deliver now, in subscription order; name and value borrowed (value may be NULL for an
 * event without one). Returns how many subscribers were called.
 */
size_t xend_event_emit(const char *name, const struct xend_sxp *value);

/* The sequence number (history.h) of the event being delivered, for a callback that
 * writes it out; 0 outside a delivery. */
uint64_t xend_event_seq_current(void);

/*
 * The bytes a follower writes for the event being delivered, made once per delivery and
 * shared by every subscriber asking with the same fn and form: ten followers of one line
 * form cost one formatting of each event, not ten. The first call of a delivery runs
 * fn(form, seq, name, value, out) with the event's number, name and value, appending to
 * the empty out; later calls get the same bytes. Owned by the bus, borrowed until the next
 * call or until the callback returns. NULL outside a delivery.
 */
struct xend_buf;
typedef void xend_event_format_fn(int form, uint64_t seq, const char *name,
                                  const struct xend_sxp *value, struct xend_buf *out);
const struct xend_buf *xend_event_formatted(xend_event_format_fn *fn, int form);

/* While the trace is on (log/trace.h: the debug port's traceon), each emitted event is a
 * trace line. */

/* Live subscriptions, for (info) and tests. */
size_t xend_event_count(void);

/* Drop every subscription (shutdown, tests). Not from inside a callback. */
void xend_event_reset(void);

/* The host->event table for plugins (subscriptions owned by the calling plugin). */
const struct xend_host_event *xend_event_host_table(void);

#endif
