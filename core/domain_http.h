/*
 * The /xend/domain resource: routes the core registers at start, and the per-class device
 * listings (op=vifs, op=vif) registered for each device class a plugin adds.
 */
#ifndef XEND_CORE_DOMAIN_HTTP_H
#define XEND_CORE_DOMAIN_HTTP_H

struct xend_lane;

int xend_domain_http_register(void);

/*
 * Domain starts (op=create, op=restore) in progress at once (`domain-starts-in-flight`,
 * docs/http.md "Priority"); the others wait, in arrival order, without costing the loop
 * anything, so that a flood of starts leaves room for destroys, lists and infos. 0: no limit.
 */
#define XEND_DOMAIN_STARTS_DEFAULT 64
void xend_domain_http_set_starts_in_flight(unsigned limit);
/* The starts' lane, for the metrics: running, waiting, dropped (lib/lane.h). Borrowed. */
const struct xend_lane *xend_domain_http_starts(void);
/* At stop, before the HTTP server: the starts still waiting are answered "xend is stopping". */
void xend_domain_http_stop(void);
/* From now on, each device class a plugin adds gets GET /xend/domain/D op=CLASSs and
 * op=CLASS (CLASS=N), registered for the class's plugin (device_registry.h's class watcher). */
void xend_domain_http_watch_classes(void);

/* A store completion (arg: a deferred struct xend_request) that sends the reply already set
 * once the domain's record is durable, or an error when the write failed. */
void xend_domain_http_reply_when_durable(void *arg, int rc);

#endif
