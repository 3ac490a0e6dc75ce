/*
 * GET /xend/metrics (docs/metrics.md): the counters of metrics.h and the gauges read at
 * scrape time from their owners (domains, HTTP connections, event followers, console
 * clients, host and xend memory), in the Prometheus text format, version 0.0.4. Read-only.
 *
 * Threads: loop thread only.
 */
#ifndef XEND_CORE_METRICS_HTTP_H
#define XEND_CORE_METRICS_HTTP_H

struct xend_event_port;

/* Register the route (owner NULL) and start counting console clients (from the
 * xend.console.connect / disconnect events). 0 or a negative XEND_E code. */
int xend_metrics_http_register(void);
/* The event port whose connections count as followers (NULL: none); borrowed. */
void xend_metrics_http_set_event_port(const struct xend_event_port *port);

#endif
