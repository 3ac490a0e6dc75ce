/*
 * The /xend/domain resource: routes the core registers at start, and the per-class device
 * listings (op=vifs, op=vif) registered for each device class a plugin adds.
 */
#ifndef XEND_CORE_DOMAIN_HTTP_H
#define XEND_CORE_DOMAIN_HTTP_H

struct xend_plugin;

int xend_domain_http_register(void);
/* GET /xend/domain/D op=CLASSs and op=CLASS (CLASS=N), owned by the class's plugin. */
int xend_domain_http_class_routes(struct xend_plugin *owner, const char *cls);

#endif
