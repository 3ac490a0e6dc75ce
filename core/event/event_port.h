/*
 * The event and debug TCP port (docs/http.md "The debug port", docs/compat.md; config key
 * `xend-event-port`, default 8001): a client writes SXP requests and reads replies and
 * events, each pretty-printed and followed by an empty line. Every connection is
 * subscribed to `*` when it connects.
 *
 * Requests: (help), (info), (sys.subscribe PATTERN...) (replaces the connection's
 * patterns), (sys.inject EVENT), (console.disconnect (id N)) (forwarded as the event
 * xend.console.disconnect.request with the request as value: the console is a plugin),
 * (trace on|off) (trace every event to the trace file, log/trace.h), (quit). A malformed
 * or unknown SXP request drops the connection without a reply, as the original did.
 *
 * The manual's plain commands, one per line, answered in plain text for a person at a
 * terminal: help, info (connections, the trace, and what the info callback writes: device
 * controllers and consoles), traceon, traceoff, quit. An unknown word gets a hint.
 *
 * It must never bind anything but the address it is given (the caller passes 127.0.0.1
 * or ::1) and never let a slow reader grow xend's memory without bound: a connection with
 * more than 4 MiB unread is dropped, and all followers share one backlog budget
 * (event/budget.h, which also caps the connections: event-port-max-connections).
 *
 * Threads: loop thread only.
 */
#ifndef XEND_CORE_EVENT_PORT_H
#define XEND_CORE_EVENT_PORT_H

#include <xend/abi.h>

struct event_base;
struct xend_event_port; /* opaque */

/* The default of xend-event-port. */
#define XEND_EVENT_PORT_DEFAULT 8001

/*
 * Listen on address:port (address NULL = 127.0.0.1; port 0 = a free one) on base
 * (borrowed; must outlive the port). Returns an owned port (xend_event_port_stop), or NULL
 * with err set ("cannot listen on 127.0.0.1:8001: Address already in use").
 */
struct xend_event_port *xend_event_port_start(struct event_base *base, const char *address,
                                              int port, struct xend_err *err);
/*
 * Who may connect: check(fd, err) runs for every accepted connection before it is
 * subscribed to anything; a negative return refuses it, with err's message sent as
 * (xend.err "...") before the close. NULL (the default) admits everyone: xend sets the
 * access rule of its HTTP API (http/access_control.h) right after start, before the loop runs.
 */
typedef int xend_event_port_check_fn(int fd, struct xend_err *err);
void xend_event_port_set_check(struct xend_event_port *port, xend_event_port_check_fn *check);
/* What the plain `info` adds after the port's own facts (text lines, each ending in a
 * newline): xend sets one that lists device controllers and consoles. NULL: nothing. */
struct xend_buf;
typedef void xend_event_port_info_fn(struct xend_buf *out);
void xend_event_port_set_info(struct xend_event_port *port, xend_event_port_info_fn *info);
/* Close the listener and every connection (their subscriptions go too). NULL is fine. */
void xend_event_port_stop(struct xend_event_port *port);
/* The TCP port bound. */
int xend_event_port_number(const struct xend_event_port *port);
/* Open connections. */
unsigned xend_event_port_connections(const struct xend_event_port *port);

#endif
