/*
 * /xend/event over HTTP (docs/compat.md, docs/http.md):
 *   GET  /xend/event                -> (ls)
 *   POST /xend/event op=inject event=SXP -> delivers the event named by the value's head,
 *                                      with the whole value, and replies 0
 *   GET  /xend/event?follow=1       -> a stream of `(event NAME VALUE)` lines, one per
 *                                      event, until the client goes (2004's form)
 *   GET  /xend/event?since=N[&follow=1] -> the held events numbered above N first (a
 *                                      xend.event.missed notice when N is too old), then
 *                                      new ones when following; numbered lines as SXP,
 *                                      JSON lines or Server-Sent Events (docs/http.md
 *                                      "Events: sequence numbers and replay").
 * It must never buffer events for a follower without bound: the HTTP layer drops a
 * client with more than 8 MiB unread, and the follower with it.
 *
 * Threads: loop thread only.
 */
#ifndef XEND_CORE_EVENT_HTTP_H
#define XEND_CORE_EVENT_HTTP_H

/* Register the routes with the core's router (owner NULL). 0 or a negative XEND_E code. */
int xend_event_http_register(void);
/* End every follow stream (before xend_http_stop, or in tests). */
void xend_event_http_close_followers(void);
/* Open follow streams. */
unsigned xend_event_http_followers(void);

#endif
