/*
 * The counters and histograms of xend (GET /xend/metrics, docs/metrics.md): one module
 * owns them, callers bump them with one call each, and the route (metrics_http.c) adds
 * the gauges it reads from their owners at scrape time and renders the whole in the
 * Prometheus text exposition format (version 0.0.4).
 *
 * Labels that come from requests (an op name) are bounded: at most XEND_METRICS_MAX_OPS
 * distinct ops are kept, later ones count under op="other".
 *
 * Threads: any. The store's writer thread bumps its figures; a mutex guards them all
 * (a handful of bumps per request or batch: never contended enough to matter).
 */
#ifndef XEND_CORE_METRICS_METRICS_H
#define XEND_CORE_METRICS_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define XEND_METRICS_MAX_OPS 64u

/* An operation (a state-changing request, op=NAME) answered: ok or not, and how long it
 * took from its arrival to its reply (deferred work included). */
void xend_metrics_op_done(const char *op, bool ok, uint64_t ns);
/* An HTTP request answered with this status (method GET, POST or anything else). */
void xend_metrics_http_request(const char *method, int status);
/* The store made a batch of `records` records durable in `ns`. */
void xend_metrics_store_commit(uint64_t ns, size_t records);

/* Append the families this module owns, HELP and TYPE lines included. */
void xend_metrics_render(struct xend_buf *out);

/* Helpers for the route's gauges, in the same format. */
void xend_metrics_family(struct xend_buf *out, const char *name, const char *type,
                         const char *help);
/* NAME{LABELS} VALUE; labels NULL or "" for none, else `k="v",k2="v2"` already escaped. */
void xend_metrics_sample(struct xend_buf *out, const char *name, const char *labels, double value);
/* Append text escaped as a label value (backslash, double quote, newline). */
void xend_metrics_label_escape(const char *text, struct xend_buf *out);

/* Forget every figure (tests). */
void xend_metrics_reset(void);

#endif
