/*
 * The console plugin: a TCP console for every domain (xend manual: "When a domain is
 * created, xend ... creates a TCP listening port for the domain console").
 *
 * This file ties a console (conn.c) to a domain's life: CREATE, RESTORE and REATTACH open
 * it, a restart re-connects it to the new instance while the listener and the client stay,
 * death closes it. It also adds the console to the domain info and serves the
 * console.disconnect request of the event port. It must never veto the re-attach of a
 * running domain (a failure there is logged, never fatal) and never choose a port other
 * than the configured one.
 */
#include <stdlib.h>
#include <string.h>

#include <xend/host.h>
#include <xend/plugin.h>

#include "console.h"

struct console_plugin console_plugin;

static struct console *console_of(struct xend_domain *dom)
{
    struct console *c = console_plugin.host->domain->priv_get(console_plugin.self, dom);
    return c && !c->closed ? c : NULL;
}

/*
 * The port of a domain's console: (console PORT) from its config, else base + domain id,
 * which is then written back to the config so that it stays the same across xend restarts
 * and domain restarts (a restarted domain may get another id).
 */
static int console_port_of(struct xend_domain *dom, uint32_t domid, int *port, struct xend_err *err)
{
    const struct xend_sxp *cfg = console_plugin.host->domain->config(dom);
    long long p;
    int rc = console_plugin.host->sxp->child_int(cfg, "console", &p);
    if (rc == -XEND_EINVAL || (rc == 0 && (p < 1 || p > 65535)))
        return xend_err_set(err, XEND_EINVAL, "invalid console port: %s",
                            console_plugin.host->sxp->child_value(cfg, "console", "?"));
    if (rc == 0) {
        *port = (int)p;
        return 0;
    }
    p = console_plugin.port_base + domid;
    if (p > 65535)
        return xend_err_set(err, XEND_EINVAL,
                            "no console port for domain %u: console-port-base %lld + id > 65535",
                            domid, console_plugin.port_base);
    rc = console_plugin.host->domain->config_set_take(dom, "console",
                                                      console_plugin.host->sxp->atom_int(p), err);
    if (rc < 0)
        return rc;
    *port = (int)p;
    return 0;
}

/* Open dom's console; `strict` (a new domain) makes every failure an error for the hook. */
static int console_setup(struct xend_domain *dom, bool strict, struct xend_err *err)
{
    uint32_t domid = console_plugin.host->domain->id(dom);
    /* A closed console of this handle is opened again in place, so the priv pointer never
     * changes (a host may free a replaced priv at once). */
    struct console *old = console_plugin.host->domain->priv_get(console_plugin.self, dom);
    int port = 0;
    struct console *c;
    int rc = console_port_of(dom, domid, &port, err);
    if (rc == 0)
        rc = console_open(dom, port, old, &c, err);
    if (rc < 0)
        return rc;

    struct xend_err serr = {0};
    rc = console_stream_open(c, domid, &serr);
    if (rc == -XEND_ENOTSUP || (rc < 0 && !strict)) {
        /* A backend without console streams still gets its domains; the port listens. */
        console_plugin.host->log->emit(
            console_plugin.self, XEND_LOG_WARN, "console stream unavailable",
            "console=%lld domain=%u error=\"%s\"", c->id, domid, xend_err_msg(&serr));
    } else if (rc < 0) {
        xend_err_set(err, serr.code, "%s", xend_err_msg(&serr));
        console_close(c, true);
        if (c != old)
            free(c);
        return rc;
    }
    console_plugin.host->domain->priv_set(console_plugin.self, dom, c, console_free);

    console_plugin.host->log->emit(console_plugin.self, XEND_LOG_INFO, "console listening",
                                   "console=%lld domain=%u port=%d address=%s", c->id, domid, port,
                                   console_plugin.address[0] ? console_plugin.address : "*");
    struct xend_sxp *v = console_plugin.host->sxp->list();
    console_plugin.host->sxp->append_take(v, console_plugin.host->sxp->atom_int(c->id));
    console_plugin.host->sxp->append_take(v, console_plugin.host->sxp->atom_int(domid));
    console_plugin.host->sxp->append_take(v, console_plugin.host->sxp->atom_int(port));
    console_plugin.host->event->emit("xend.console.create", v);
    console_plugin.host->sxp->free(v);
    return 0;
}

/* CREATE (also REATTACH after an xend restart) and RESTORE. */
static int console_hook_create(const struct xend_hook_event *ev, void *arg)
{
    (void)arg;
    struct xend_domain *dom = ev->dom;
    /* Domain-0 and domains xend did not create have no xend console (as the original). */
    if (console_plugin.host->domain->id(dom) == 0 ||
        console_plugin.host->domain->config(dom) == NULL)
        return 0;
    struct console *c = console_of(dom);
    if (c != NULL) {
        /* Already open (a restore after a create): only the stream may need connecting. */
        if (c->gfd < 0)
            console_stream_open(c, console_plugin.host->domain->id(dom), NULL);
        return 0;
    }
    if (ev->reason != XEND_HOOK_REATTACH)
        return console_setup(dom, true, ev->err);
    /* A running domain must not be lost because its console cannot listen. */
    struct xend_err err = {0};
    if (console_setup(dom, false, &err) < 0)
        console_plugin.host->log->emit(console_plugin.self, XEND_LOG_ERROR,
                                       "console reattach failed", "domain=%u error=\"%s\"",
                                       console_plugin.host->domain->id(dom), xend_err_msg(&err));
    return 0;
}

/*
 * A save or a migration: a port chosen by this host's rule (base + id) is this host's, not
 * the domain's; it goes from the config, so that wherever the domain lands it gets that
 * host's base + its new id, as 2.0 did (and a migration between two hosts on one machine
 * does not find its own port taken). A port the config pins otherwise travels with it.
 */
static int console_hook_save(const struct xend_hook_event *ev, void *arg)
{
    (void)arg;
    struct xend_domain *dom = ev->dom;
    long long p;
    if (console_plugin.host->sxp->child_int(console_plugin.host->domain->config(dom), "console",
                                            &p) == 0 &&
        p == console_plugin.port_base + console_plugin.host->domain->id(dom)) {
        struct xend_err err = {0};
        console_plugin.host->domain->config_set_take(dom, "console", NULL, &err);
    }
    return 0;
}

static int console_hook_destroy(const struct xend_hook_event *ev, void *arg)
{
    (void)arg;
    struct console *c = console_of(ev->dom);
    if (c == NULL)
        return 0;
    if (ev->reason == XEND_HOOK_FOR_RESTART) {
        /* The old instance goes; the listener and the client wait for the new one. */
        console_stream_close(c);
        return 0;
    }
    console_close(c, false);
    return 0;
}

static int console_hook_restart(const struct xend_hook_event *ev, void *arg)
{
    (void)arg;
    struct xend_domain *dom = ev->dom;
    uint32_t domid = console_plugin.host->domain->id(dom);
    struct console *c = console_of(dom);
    struct xend_err err = {0};
    if (c == NULL) {
        if (domid != 0 && console_plugin.host->domain->config(dom) != NULL &&
            console_setup(dom, false, &err) < 0)
            console_plugin.host->log->emit(console_plugin.self, XEND_LOG_ERROR,
                                           "console restart failed", "domain=%u error=\"%s\"",
                                           domid, xend_err_msg(&err));
        return 0;
    }
    if (console_stream_open(c, domid, &err) < 0)
        console_plugin.host->log->emit(
            console_plugin.self, XEND_LOG_WARN, "console stream unavailable",
            "console=%lld domain=%u error=\"%s\"", c->id, domid, xend_err_msg(&err));
    else
        console_plugin.host->log->emit(console_plugin.self, XEND_LOG_INFO, "console reattached",
                                       "console=%lld domain=%u port=%d client=%s", c->id, domid,
                                       c->port, c->cfd >= 0 ? "kept" : "none");
    return 0;
}

static void console_describe(struct xend_domain *dom, xend_describe_put_fn *put, void *put_ctx,
                             void *arg)
{
    (void)arg;
    struct console *c = console_of(dom);
    if (c != NULL)
        console_print(c, put, put_ctx);
}

/* The event port's (console.disconnect (id N)), which the core re-emits as a request. */
static void console_disconnect_request(const char *name, const struct xend_sxp *value, void *arg)
{
    (void)name;
    (void)arg;
    long long id;
    if (value == NULL || console_plugin.host->sxp->child_int(value, "id", &id) < 0) {
        console_plugin.host->log->emit(console_plugin.self, XEND_LOG_WARN,
                                       "console disconnect request invalid",
                                       "reason=\"no (id N)\"");
        return;
    }
    struct console *c = console_find_id(id);
    if (c == NULL) {
        console_plugin.host->log->emit(console_plugin.self, XEND_LOG_WARN,
                                       "console disconnect request invalid",
                                       "console=%lld reason=\"no such console\"", id);
        return;
    }
    console_client_drop(c, "request");
}

static int console_settings(struct xend_err *err)
{
    const struct xend_host_config *cfg = console_plugin.host->config;
    const char *xend_address;
    long long buffer_max, replay_max, idle_s, send_s;
    int rc;
    if ((rc = cfg->get_int(console_plugin.self, "console-port-base", 9600, 1, 65535,
                           &console_plugin.port_base, err)) < 0 ||
        (rc = cfg->get_str(console_plugin.self, "xend-address", "127.0.0.1", &xend_address, err)) <
            0 ||
        (rc = cfg->get_str(console_plugin.self, "console-address", xend_address,
                           &console_plugin.address, err)) < 0 ||
        (rc = cfg->get_bool(console_plugin.self, "console-takeover", false,
                            &console_plugin.takeover, err)) < 0 ||
        (rc = cfg->get_int(console_plugin.self, "console-buffer-max",
                           (long long)CONSOLE_BUFFER_MAX_DEFAULT, 4096, 64LL * 1024 * 1024,
                           &buffer_max, err)) < 0 ||
        (rc = cfg->get_int(console_plugin.self, "console-replay-max",
                           (long long)CONSOLE_REPLAY_MAX_DEFAULT, 0, 64LL * 1024 * 1024,
                           &replay_max, err)) < 0 ||
        (rc = cfg->get_int(console_plugin.self, "console-idle-timeout",
                           CONSOLE_IDLE_TIMEOUT_DEFAULT, 0, 30LL * 86400, &idle_s, err)) < 0 ||
        (rc = cfg->get_int(console_plugin.self, "console-send-timeout",
                           CONSOLE_SEND_TIMEOUT_DEFAULT, 0, 86400, &send_s, err)) < 0 ||
        (rc = cfg->get_str(console_plugin.self, "console-xterm-dir", XEND_CONSOLE_XTERM_DIR,
                           &console_plugin.xterm_dir, err)) < 0)
        return rc;
    console_plugin.idle_ms = (uint64_t)idle_s * 1000;
    console_plugin.send_ms = (uint64_t)send_s * 1000;
    if (console_plugin.address == NULL)
        console_plugin.address = "";
    console_plugin.buffer_max = (size_t)buffer_max;
    console_plugin.replay_max = (size_t)replay_max;
    return 0;
}

static int console_init(struct xend_plugin *self, const struct xend_host *host)
{
    memset(&console_plugin, 0, sizeof(console_plugin));
    console_plugin.self = self;
    console_plugin.host = host;
    struct xend_err err = {0};
    int rc = console_settings(&err);
    if (rc < 0) {
        host->plugin_err_set(self, "%s", xend_err_msg(&err));
        return rc;
    }
    const struct xend_host_domain *d = host->domain;
    if ((rc = d->hook_add(self, XEND_HOOK_CREATE, console_hook_create, NULL)) < 0 ||
        (rc = d->hook_add(self, XEND_HOOK_RESTORE, console_hook_create, NULL)) < 0 ||
        (rc = d->hook_add(self, XEND_HOOK_SAVE, console_hook_save, NULL)) < 0 ||
        (rc = d->hook_add(self, XEND_HOOK_DESTROY, console_hook_destroy, NULL)) < 0 ||
        (rc = d->hook_add(self, XEND_HOOK_RESTART, console_hook_restart, NULL)) < 0 ||
        (rc = XEND_HAS_MEMBER(d, describe_print_kept_add)
                  ? d->describe_print_kept_add(self, console_describe, NULL)
                  : d->describe_print_add(self, console_describe, NULL)) < 0) {
        host->plugin_err_set(self, "cannot register hooks: %s", xend_strerror(rc));
        return rc;
    }
    rc = host->event->subscribe(self, "xend.console.disconnect.request", console_disconnect_request,
                                NULL);
    if (rc < 0) {
        host->plugin_err_set(self, "cannot subscribe to console requests: %s", xend_strerror(rc));
        return rc;
    }
    if ((rc = console_http_init()) < 0 || (rc = console_web_init()) < 0)
        return rc;
    return console_page_init();
}

static void console_fini(struct xend_plugin *self)
{
    (void)self;
    /* xend is stopping: domains keep running and a new xend re-attaches them. Close every
     * socket now (the host tables go after fini); the memory goes with each domain handle. */
    while (console_plugin.list)
        console_close(console_plugin.list, true);
    console_page_fini();
}

XEND_PLUGIN(.name = "console", .version = "1.0",
            .description = "a TCP console port for every domain", .license = "GPL-2.0",
            .init = console_init, .fini = console_fini);
