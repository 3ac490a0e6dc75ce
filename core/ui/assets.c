/*
 * GET /ui/assets/{name}: the stylesheet and the script of the pages, from the table
 * compiled into the daemon (assets.h). Cacheable for a day: they change only with xend.
 */
#include <string.h>

#include "ui/assets.h"
#include "ui/ui_internal.h"

static int asset(struct xend_request *req, void *arg)
{
    (void)arg;
    const char *name = xend_ui_http->capture(req, "name");
    for (const struct xend_ui_asset *a = xend_ui_assets; a->name != NULL; a++) {
        if (strcmp(a->name, name) == 0) {
            xend_ui_http->reply_header(req, "Cache-Control", "max-age=86400");
            xend_ui_http->reply_raw(req, 200, a->type, (const char *)a->data, a->len);
            return 0;
        }
    }
    return xend_err_set(xend_ui_http->err(req), XEND_ENOENT, "Not found /ui/assets/%s", name);
}

int xend_ui_assets_register(void)
{
    static const struct xend_route route = {XEND_ROUTE_INIT,
                                            .methods = XEND_HTTP_GET,
                                            .path = "/ui/assets/{name}",
                                            .fn = asset,
                                            .doc = "the pages' stylesheet and script",
                                            .role = XEND_ROLE_VIEWER};
    return xend_ui_http->route_add(NULL, &route);
}
