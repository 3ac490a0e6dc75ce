/*
 * /xend/console: the list of console ports, one console's SXP, and op=disconnect
 * (docs/compat.md). Consoles are addressed by TCP port, never by console id. An
 * unknown port is a 404 "invalid console:PORT", never the original's 500 traceback.
 * Handlers only read and drop clients: they never block.
 */
#include <stdlib.h>

#include "console.h"

#define H (console_plugin.host)

static int console_port_cmp(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int console_route_list(struct xend_request *req, void *arg)
{
    (void)arg;
    size_t n = 0;
    for (struct console *c = console_plugin.list; c; c = c->next)
        n++;
    int *ports = malloc((n ? n : 1) * sizeof(*ports));
    if (ports == NULL)
        return xend_err_set(H->http->err(req), XEND_ENOMEM, "out of memory");
    n = 0;
    for (struct console *c = console_plugin.list; c; c = c->next)
        ports[n++] = c->port;
    qsort(ports, n, sizeof(*ports), console_port_cmp);
    struct xend_sxp *v = H->sxp->list();
    for (size_t i = 0; i < n; i++)
        H->sxp->append_take(v, H->sxp->atom_int(ports[i]));
    free(ports);
    H->http->reply_take(req, 0, v);
    return 0;
}

int console_from_req(struct xend_request *req, struct console **out)
{
    const char *text = H->http->capture(req, "id");
    char *end = NULL;
    long long port = text ? strtoll(text, &end, 10) : 0;
    struct console *c = NULL;
    if (text && *text && *end == '\0')
        c = console_find_port(port);
    if (c == NULL)
        return xend_err_set(H->http->err(req), XEND_ENOENT, "invalid console:%s", text ? text : "");
    *out = c;
    return 0;
}

static int console_route_get(struct xend_request *req, void *arg)
{
    (void)arg;
    struct console *c;
    int rc = console_from_req(req, &c);
    if (rc < 0)
        return rc;
    H->http->reply_take(req, 0, console_sxp(c));
    return 0;
}

static int console_route_disconnect(struct xend_request *req, void *arg)
{
    (void)arg;
    struct console *c;
    int rc = console_from_req(req, &c);
    if (rc < 0)
        return rc;
    console_client_drop(c, "request");
    H->http->reply_take(req, 0, H->sxp->atom_int(0));
    return 0;
}

static const struct xend_route console_routes[] = {
    {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET, .path = "/xend/console", .op = NULL,
     .fn = console_route_list, .doc = "list of console TCP ports", .role = XEND_ROLE_VIEWER},
    {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET, .path = "/xend/console/{id}", .op = NULL,
     .fn = console_route_get, .doc = "a console (by TCP port)", .role = XEND_ROLE_VIEWER},
    /* POST only (the 2.0 client POSTs it; the manual's GET is refused, 405): a GET never
     * changes state. */
    {XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/xend/console/{id}", .op = "disconnect",
     .fn = console_route_disconnect, .doc = "drop the TCP client of a console",
     .role = XEND_ROLE_OPERATOR},
};

int console_http_init(void)
{
    for (size_t i = 0; i < sizeof(console_routes) / sizeof(console_routes[0]); i++) {
        int rc = H->http->route_add(console_plugin.self, &console_routes[i]);
        if (rc < 0) {
            H->plugin_err_set(console_plugin.self, "cannot add route %s %s: %s",
                              console_routes[i].path,
                              console_routes[i].op ? console_routes[i].op : "", xend_strerror(rc));
            return rc;
        }
    }
    return 0;
}
