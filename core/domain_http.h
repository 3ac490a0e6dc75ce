/*
 * The /xend/domain resource: routes the core registers at start, and the per-class device
 * listings (op=vifs, op=vif) registered for each device class a plugin adds.
 */
#ifndef XEND_CORE_DOMAIN_HTTP_H
#define XEND_CORE_DOMAIN_HTTP_H

struct xend_plugin;

int xend_domain_http_register(void);
struct class_route;
/* GET /xend/domain/D op=CLASSs and op=CLASS (CLASS=N), registered for the class's plugin.
 * Returns the registration (owned: xend_domain_http_class_routes_free), NULL on failure. */
struct class_route *xend_domain_http_class_routes(struct xend_plugin *owner, const char *cls);
/* Remove the routes (if still there) and free. NULL is fine. */
void xend_domain_http_class_routes_free(struct class_route *cr);

/* A store completion (arg: a deferred struct xend_request) that sends the reply already set
 * once the domain's record is durable, or an error when the write failed. */
void xend_domain_http_reply_when_durable(void *arg, int rc);

#endif
