/*
 * Save and restore on Xen 4.17: libxenguest's xc_domain_save / xc_domain_restore stream
 * (the "migration v2" format) written to and read from the caller's fd.
 *
 * Both run on a worker thread while the loop thread keeps using c->main, so each opens a
 * connection of its own and touches nothing of c but the immutable settings. A PV guest
 * saves only once it has suspended itself (control/shutdown "suspend"); the core hands over
 * a paused domain, so the suspend callback lets it run until it has. A PVH guest suspends
 * the same way; its stream is an HVM container's, which restore reads to make the right shell.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xc_priv.h"

static const char suspend_token[] = "xend-suspend";

struct suspend {
    struct xcb_conn *h;
    uint32_t domid;
    long long wait_ms;
    bool requested;              /* control/shutdown says suspend: undo on failure */
    bool suspended;              /* Xen says it is: resume it on failure */
    bool unpaused;               /* we let it run: pause it again on failure */
    struct xcb_precopy *precopy; /* a live save's rounds, NULL otherwise */
    struct xend_err err;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool is_suspended(const xc_domaininfo_t *x)
{
    return (x->flags & XEN_DOMINF_shutdown) &&
           ((x->flags >> XEN_DOMINF_shutdownshift) & XEN_DOMINF_shutdownmask) == SHUTDOWN_suspend;
}

/* libxenguest's suspend callback: 1 once the guest has suspended, 0 on failure. */
static int on_suspend(void *data)
{
    struct suspend *s = data;
    struct xcb_conn *h = s->h;
    xc_domaininfo_t x;
    if (xcb_getinfo(h, s->domid, &x, &s->err) < 0)
        return 0;
    if (is_suspended(&x)) {
        s->suspended = true;
        if (s->precopy != NULL)
            xcb_precopy_suspended(s->precopy);
        return 1;
    }
    char *path = xcb_dompath(s->domid, "control/shutdown");
    bool ok = xs_write(h->xsh, XBT_NULL, path, "suspend", 7);
    int e = errno;
    free(path);
    if (!ok) {
        xcb_fail(h, &s->err, e, "cannot ask domain %u to suspend", s->domid);
        return 0;
    }
    s->requested = true;
    /* xenstored fires @releaseDomain when the guest shuts down (suspend included). */
    bool watching = xs_watch(h->xsh, "@releaseDomain", suspend_token);
    if ((x.flags & XEN_DOMINF_paused) && xc_domain_unpause(h->xch, s->domid) == 0)
        s->unpaused = true;
    long long deadline = now_ms() + s->wait_ms;
    int rc = 0;
    for (;;) {
        if (xcb_getinfo(h, s->domid, &x, &s->err) < 0)
            break;
        if (is_suspended(&x)) {
            s->suspended = true;
            if (s->precopy != NULL)
                xcb_precopy_suspended(s->precopy);
            rc = 1;
            break;
        }
        long long left = deadline - now_ms();
        if (left <= 0) {
            xend_err_set(&s->err, XEND_ETIMEDOUT,
                         "domain %u did not suspend within %lld ms (does its kernel support "
                         "Xen PV suspend?)",
                         s->domid, s->wait_ms);
            break;
        }
        int fd = watching ? xs_fileno(h->xsh) : -1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        poll(&p, fd >= 0 ? 1 : 0, (int)(left < 100 ? left : 100));
        char **ev;
        while (watching && (ev = xs_check_watch(h->xsh)) != NULL)
            free(ev);
    }
    if (watching)
        xs_unwatch(h->xsh, "@releaseDomain", suspend_token);
    return rc;
}

static int on_precopy(struct precopy_stats st, void *data)
{
    struct suspend *s = data;
    return xcb_precopy_policy(s->precopy, st);
}

/* libxenguest asks an HVM container's device model to log its dirty pages too; a PVH guest
 * has none (and libxenguest asserts that the callback exists). */
static int no_device_model(uint32_t domid, unsigned enable, void *data)
{
    (void)domid;
    (void)enable;
    (void)data;
    return 0;
}

/* A failed save leaves the guest as it found it: running on (or paused, as it was). */
static void suspend_undo(struct suspend *s)
{
    struct xcb_conn *h = s->h;
    if (s->suspended && xc_domain_resume(h->xch, s->domid, 1) < 0)
        h->c->host->log->emit(h->c->self, XEND_LOG_ERROR, "resume after failed save failed",
                              "domain=%u error=\"%s\"", s->domid, strerror(errno));
    if (s->requested && !s->suspended) {
        char *path = xcb_dompath(s->domid, "control/shutdown");
        xs_write(h->xsh, XBT_NULL, path, "", 0);
        free(path);
    }
    if (s->unpaused)
        xc_domain_pause(h->xch, s->domid);
}

int xcb_save(void *ctx, uint32_t domid, int fd, bool live, xend_progress_fn *progress,
             void *progress_arg, struct xend_err *err)
{
    struct xend_save_args a = {
        .size = sizeof(a), .live = live, .progress = progress, .progress_arg = progress_arg};
    return xcb_save_with(ctx, domid, fd, &a, err);
}

int xcb_save_with(void *ctx, uint32_t domid, int fd, const struct xend_save_args *args,
                  struct xend_err *err)
{
    struct xcb *c = ctx;
    struct xcb_conn h;
    bool live = args->live != 0;
    int rc = xcb_conn_open(c, &h, err);
    if (rc < 0)
        return rc;
    h.progress = args->progress;
    h.progress_arg = args->progress_arg;
    struct suspend s = {.h = &h, .domid = domid, .wait_ms = c->set.suspend_wait_ms};
    xc_domaininfo_t x;
    if ((rc = xcb_getinfo(&h, domid, &x, err)) < 0)
        goto out;
    bool pvh = xcb_is_pvh(&x);
    if ((x.flags & XEN_DOMINF_hvm_guest) && !pvh) {
        rc = xend_err_set(err, XEND_ENOTSUP, "domain %u is HVM: xend saves PV and PVH domains only",
                          domid);
        goto out;
    }
    /* Say so now rather than after the destination has made a domain: log-dirty mode of a
     * PV guest needs shadow paging, which Debian builds Xen without. */
    xc_physinfo_t pi;
    memset(&pi, 0, sizeof(pi));
    if (live && !pvh && xc_physinfo(h.xch, &pi) == 0 &&
        !(pi.capabilities & XEN_SYSCTL_PHYSCAP_shadow)) {
        rc = xend_err_set(err, XEND_ENOTSUP,
                          "domain %u is PV, and this Xen has no shadow paging to track a PV "
                          "guest's dirty pages: it cannot be migrated live (migrate it without "
                          "--live, or run it as a PVH guest: builder pvh)",
                          domid);
        goto out;
    }
    /* Live: the guest runs while its pages are sent, and suspends for the last round. */
    if (live && (x.flags & XEN_DOMINF_paused) && xc_domain_unpause(h.xch, domid) == 0)
        s.unpaused = true;
    struct save_callbacks cb;
    memset(&cb, 0, sizeof(cb));
    cb.suspend = on_suspend;
    cb.switch_qemu_logdirty = no_device_model;
    cb.data = &s;
    struct xcb_precopy pre = {0};
    if (live) {
        xcb_precopy_init(&pre, &h, domid, x.tot_pages, args);
        s.precopy = &pre;
        cb.precopy_policy = on_precopy;
    }
    h.last[0] = '\0';
    if (xc_domain_save(h.xch, fd, domid, live ? XCFLAGS_LIVE : 0, &cb, XC_STREAM_PLAIN, -1) == 0) {
        if (live)
            xcb_precopy_end(&pre);
    } else {
        int e = errno;
        if (s.err.code != 0)
            rc = xend_err_set(err, s.err.code, "cannot save domain %u: %s", domid,
                              xend_err_msg(&s.err));
        else
            rc = xcb_fail(&h, err, e, "cannot save domain %u", domid);
        suspend_undo(&s);
    }
out:
    xcb_conn_close(&h);
    return rc;
}

static int restore_static_done(unsigned int missing, void *data)
{
    (void)missing; /* a 4.17 stream carries its CPUID and MSR policy */
    (void)data;
    return 0;
}

int xcb_restore(void *ctx, int fd, const struct xend_dom_create *args, uint32_t *domid,
                xend_progress_fn *progress, void *progress_arg, struct xend_err *err)
{
    struct xcb *c = ctx;
    struct xcb_conn h;
    int rc = xcb_conn_open(c, &h, err);
    if (rc < 0)
        return rc;
    h.progress = progress;
    h.progress_arg = progress_arg;
    uint32_t id = 0;
    struct xend_err ignore = {0};
    /* The stream says what the domain was: a PVH guest needs an HVM container to land in. */
    bool pvh = false;
    if ((rc = xcb_stream_is_hvm(fd, &pvh, err)) < 0)
        goto out;
    if ((rc = xcb_create(&h, args, pvh, &id, err)) < 0)
        goto out;
    int store_port = xc_evtchn_alloc_unbound(h.xch, id, 0);
    int console_port = store_port < 0 ? -1 : xc_evtchn_alloc_unbound(h.xch, id, 0);
    if (store_port < 0 || console_port < 0) {
        rc = xcb_fail(&h, err, errno, "cannot restore into domain %u: no event channels", id);
        xcb_destroy(&h, id, &ignore);
        goto out;
    }
    unsigned long store_mfn = 0, console_mfn = 0;
    struct restore_callbacks cb;
    memset(&cb, 0, sizeof(cb));
    cb.static_data_done = restore_static_done;
    h.last[0] = '\0';
    /* libxenguest reports nothing while it restores: the socket's counters stand in, the
     * only reporter while they run. */
    struct xcb_inflow inflow;
    xcb_inflow_start(&inflow, fd, progress, progress_arg);
    if (inflow.running)
        h.progress = NULL;
    int restored =
        xc_domain_restore(h.xch, fd, id, (unsigned)store_port, &store_mfn, 0,
                          (unsigned)console_port, &console_mfn, 0, XC_STREAM_PLAIN, &cb, -1);
    int e = errno;
    xcb_inflow_stop(&inflow);
    h.progress = progress;
    errno = e;
    if (restored != 0) {
        rc = xcb_fail(&h, err, errno, "cannot restore domain %s", args->name ? args->name : "");
        xcb_destroy(&h, id, &ignore);
        goto out;
    }
    if ((rc = xcb_introduce(&h, id, store_mfn, (unsigned)store_port, console_mfn,
                            (unsigned)console_port, err)) < 0) {
        xcb_destroy(&h, id, &ignore);
        goto out;
    }
    *domid = id;
out:
    xcb_conn_close(&h);
    return rc;
}
