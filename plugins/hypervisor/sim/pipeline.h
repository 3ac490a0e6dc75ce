/*
 * A pipelined request connection to xend-simhv, driven by xend's loop: requests are written
 * without waiting, and their reply lines, which simhv sends in order, are handed back one
 * by one. Many requests in flight then share simhv's wake-ups and xend's, where a
 * synchronous call costs two of each. Loop thread only.
 *
 * It knows lines, not their meaning: the caller prints requests and checks replies.
 */
#ifndef XEND_SIM_PIPELINE_H
#define XEND_SIM_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include <xend/host.h>

struct sim_pipeline; /* owned by its creator: sim_pipeline_free */

/*
 * The end of one request, on the loop thread: its reply line (without the newline,
 * borrowed for the call) and rc 0, or line NULL and rc < 0 when the connection broke
 * before the reply came (why says how; every request then in flight ends so, in order).
 */
typedef void sim_pipeline_fn(void *arg, int rc, const char *line, size_t len, const char *why);

/* Open a connection: 0 and *fd (a blocking or non-blocking socket), or a negative errno. */
typedef int sim_pipeline_dial_fn(void *ctx, int *fd);

/* The pipeline connects lazily, with dial, at the first send after a break. */
struct sim_pipeline *sim_pipeline_new(struct xend_plugin *self, const struct xend_host *host,
                                      sim_pipeline_dial_fn *dial, void *dial_ctx,
                                      uint64_t reply_timeout_ms);

/*
 * Queue the request line text[0..len) (newline included; copied). It is written when the
 * loop next finds the socket writable, with the other requests of the same loop iteration.
 * fn(arg, ...) runs exactly once, later, on the loop thread. Returns 0, or a negative errno when no
 * connection can be made (fn is then never called).
 */
int sim_pipeline_send(struct sim_pipeline *p, const char *text, size_t len, sim_pipeline_fn *fn,
                      void *arg);

/*
 * Write everything queued now, waiting up to timeout_ms for the socket to take it: for a
 * request whose effect must not depend on the loop running again (a confirm: xend may
 * crash right after). 0, or a negative errno (the requests still end through their fn).
 */
int sim_pipeline_flush(struct sim_pipeline *p, int timeout_ms);

/*
 * From inside a callback: its line made no sense, so the answers are out of step. The
 * connection is dropped once the callback returns; the requests still in flight end with
 * -EPROTO.
 */
void sim_pipeline_fail(struct sim_pipeline *p);

/* Requests sent and not yet answered. */
size_t sim_pipeline_in_flight(const struct sim_pipeline *p);

/* Close; requests in flight end with rc -ECANCELED. NULL is fine. */
void sim_pipeline_free(struct sim_pipeline *p);

#endif
