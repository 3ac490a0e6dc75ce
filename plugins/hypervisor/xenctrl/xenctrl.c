/*
 * The xenctrl backend: xend on a real Xen 4.17 host. Domain control through libxenctrl,
 * PV building through libxenguest (build.c), xenstore for what modern Xen keeps there
 * (xs.c, devices.c), the domain-exception notification, scheduler parameters mapped to
 * credit (sched.c) and save/restore (save.c). docs/xenctrl.md maps every op to Xen.
 *
 * This file: the plugin, the connection to Xen with a logger that sends libxen's messages
 * to xend's log, errno-to-xend error mapping, and the small domain ops.
 *
 * Ops run on the loop thread on c->main, except save and restore, which open a connection
 * of their own on the worker thread (libxenctrl and libxenstore handles are used by one
 * thread at a time here). Must never exit or abort on a hypervisor error: every failure
 * becomes an xend error with libxen's words in it.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xc_priv.h"

#define XCB_LIST_BATCH 64
#define XCB_DMESG_MAX (256u * 1024u)
static const char xcb_release_token[] = "xend-release";

/* ---- libxen's log into xend's ---- */

static enum xend_log_level xcb_level(xentoollog_level l)
{
    if (l >= XTL_ERROR)
        return XEND_LOG_ERROR;
    if (l == XTL_WARN)
        return XEND_LOG_WARN;
    if (l >= XTL_INFO)
        return XEND_LOG_INFO;
    return XEND_LOG_DEBUG;
}

__attribute__((format(printf, 5, 0))) static void xcb_vmessage(xentoollog_logger *lg,
                                                               xentoollog_level level, int errnoval,
                                                               const char *context,
                                                               const char *format, va_list al)
{
    struct xcb_conn *h = (struct xcb_conn *)lg;
    char msg[384];
    vsnprintf(msg, sizeof(msg), format, al);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    for (char *p = msg; *p; p++)
        if (*p == '"' || *p == '\n')
            *p = '\'';
    if (level >= XTL_ERROR) {
        if (errnoval > 0)
            snprintf(h->last, sizeof(h->last), "%.190s: %.60s", msg, strerror(errnoval));
        else
            snprintf(h->last, sizeof(h->last), "%.255s", msg);
    }
    if (h->c == NULL)
        return;
    if (errnoval > 0)
        h->c->host->log->emit(h->c->self, xcb_level(level), "libxen",
                              "context=%s message=\"%s\" errno=\"%s\"", context ? context : "xen",
                              msg, strerror(errnoval));
    else
        h->c->host->log->emit(h->c->self, xcb_level(level), "libxen", "context=%s message=\"%s\"",
                              context ? context : "xen", msg);
}

static void xcb_progress(xentoollog_logger *lg, const char *context, const char *doing_what,
                         int percent, unsigned long done, unsigned long total)
{
    (void)context;
    (void)doing_what;
    (void)percent;
    struct xcb_conn *h = (struct xcb_conn *)lg;
    if (h->progress != NULL && h->progress(h->progress_arg, done, total) != 0)
        h->stop = true;
}

static void xcb_logger_destroy(xentoollog_logger *lg)
{
    (void)lg; /* embedded in the connection: nothing to free */
}

/* ---- errors ---- */

int xcb_errno_code(int e)
{
    switch (e) {
    case ESRCH:
    case ENOENT:
        return XEND_ENOENT;
    case ENOMEM:
    case ENOSPC:
        return XEND_ENOMEM;
    case EPERM:
    case EACCES:
        return XEND_EPERM;
    case EINVAL:
    case E2BIG:
        return XEND_EINVAL;
    case EEXIST:
        return XEND_EEXIST;
    case EBUSY:
        return XEND_EBUSY;
    case ETIMEDOUT:
        return XEND_ETIMEDOUT;
    case EOPNOTSUPP:
    case ENOSYS:
        return XEND_ENOTSUP;
    default:
        return XEND_EBACKEND;
    }
}

int xcb_fail(struct xcb_conn *h, struct xend_err *err, int e, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    const char *why = h != NULL && h->last[0] ? h->last
                      : e == ESRCH            ? "no such domain"
                      : e > 0                 ? strerror(e)
                                              : "failed without saying why";
    return xend_err_set(err, xcb_errno_code(e), "%s: %s", what, why);
}

/* Start an op on a connection: what libxen said during an earlier one is not its error. */
static struct xcb_conn *xcb_begin(struct xcb *c)
{
    c->main.last[0] = '\0';
    return &c->main;
}

/* ---- connections ---- */

int xcb_conn_open(struct xcb *c, struct xcb_conn *h, struct xend_err *err)
{
    memset(h, 0, sizeof(*h));
    h->logger.vmessage = xcb_vmessage;
    h->logger.progress = xcb_progress;
    h->logger.destroy = xcb_logger_destroy;
    h->c = c;
    h->xch = xc_interface_open(&h->logger, &h->logger, 0);
    if (h->xch == NULL) {
        int e = errno;
        xend_err_set(err, XEND_EBACKEND,
                     "cannot open Xen's control interface: %s (is this a Xen dom0 with the "
                     "xen-privcmd driver loaded?)",
                     h->last[0] ? h->last
                     : e        ? strerror(e)
                                : "xc_interface_open failed");
        return -XEND_EBACKEND;
    }
    h->xsh = xs_open(0);
    if (h->xsh == NULL) {
        int e = errno;
        xc_interface_close(h->xch);
        h->xch = NULL;
        return xend_err_set(err, XEND_EBACKEND, "cannot connect to xenstored: %s (is it running?)",
                            e ? strerror(e) : "xs_open failed");
    }
    return 0;
}

void xcb_conn_close(struct xcb_conn *h)
{
    if (h->xsh != NULL)
        xs_close(h->xsh);
    if (h->xch != NULL)
        xc_interface_close(h->xch);
    h->xsh = NULL;
    h->xch = NULL;
}

/* ---- domain info ---- */

int xcb_getinfo(struct xcb_conn *h, uint32_t domid, xc_domaininfo_t *out, struct xend_err *err)
{
    int n = xc_domain_getinfolist(h->xch, domid, 1, out);
    if (n < 0)
        return xcb_fail(h, err, errno, "cannot get the state of domain %u", domid);
    /* getinfolist returns the next domain at or after domid: another one means "none". */
    if (n == 0 || out->domain != domid)
        return xend_err_set(err, XEND_ENOENT, "no domain %u", domid);
    return 0;
}

void xcb_dominfo_from(struct xcb_conn *h, const xc_domaininfo_t *x, struct xend_dominfo *out)
{
    memset(out, 0, sizeof(*out));
    out->size = sizeof(*out);
    out->domid = x->domain;
    uint32_t f = 0;
    if (x->flags & XEN_DOMINF_running)
        f |= XEND_DOMF_RUNNING;
    if (x->flags & XEN_DOMINF_blocked)
        f |= XEND_DOMF_BLOCKED;
    if (x->flags & XEN_DOMINF_paused)
        f |= XEND_DOMF_PAUSED;
    if (x->flags & XEN_DOMINF_dying)
        f |= XEND_DOMF_DYING;
    if (x->flags & XEN_DOMINF_shutdown) {
        unsigned code = (x->flags >> XEN_DOMINF_shutdownshift) & XEN_DOMINF_shutdownmask;
        switch (code) {
        case SHUTDOWN_poweroff:
        case SHUTDOWN_reboot:
        case SHUTDOWN_suspend:
            f |= XEND_DOMF_SHUTDOWN;
            out->shutdown_reason = code;
            break;
        case SHUTDOWN_soft_reset:
            f |= XEND_DOMF_SHUTDOWN;
            out->shutdown_reason = XEND_SHUTDOWN_REBOOT;
            break;
        default: /* crash, and the watchdog's expiry (Xen's 4 is not xend's halt) */
            f |= XEND_DOMF_CRASHED;
            out->shutdown_reason = XEND_SHUTDOWN_CRASH;
            break;
        }
    }
    out->flags = f;
    out->vcpus = x->max_vcpu_id == XEN_INVALID_MAX_VCPU_ID ? 0 : x->max_vcpu_id + 1;
    out->cpu = -1;
    xc_vcpuinfo_t vi;
    if (out->vcpus > 0 && xc_vcpu_getinfo(h->xch, x->domain, 0, &vi) == 0)
        out->cpu = (int32_t)vi.cpu;
    out->cpu_time_ns = x->cpu_time;
    out->mem_kb = x->tot_pages * (XC_PAGE_SIZE / 1024);
    out->maxmem_kb = x->max_pages > UINT64_MAX / 4 ? UINT64_MAX : x->max_pages * 4;
    char *path = xcb_dompath(x->domain, "name");
    char *name = xcb_xs_read(h->xsh, XBT_NULL, path);
    free(path);
    if (name != NULL)
        snprintf(out->name, sizeof(out->name), "%s", name);
    free(name);
}

/* ---- ops ---- */

static bool xcb_probe(void *ctx)
{
    struct xcb *c = ctx;
    return access(c->set.privcmd, F_OK) == 0;
}

static void xcb_close(void *ctx)
{
    struct xcb *c = ctx;
    if (!c->opened)
        return;
    if (c->xce != NULL) {
        if (c->virq_port >= 0)
            xenevtchn_unbind(c->xce, (evtchn_port_t)c->virq_port);
        xenevtchn_close(c->xce);
    } else if (c->main.xsh != NULL) {
        xs_unwatch(c->main.xsh, "@releaseDomain", xcb_release_token);
    }
    c->xce = NULL;
    c->virq_port = -1;
    if (c->xsw != NULL)
        xs_close(c->xsw);
    c->xsw = NULL;
    xcb_conn_close(&c->main);
    c->opened = false;
}

static int xcb_open(void *ctx, struct xend_err *err)
{
    struct xcb *c = ctx;
    if (c->opened)
        return 0;
    int rc = xcb_conn_open(c, &c->main, err);
    if (rc < 0)
        return rc;
    c->opened = true;
    struct xcb_conn *h = xcb_begin(c);
    if (xc_sched_id(h->xch, &c->sched_id) < 0) {
        rc = xcb_fail(h, err, errno, "cannot ask Xen which scheduler it runs");
        xcb_close(c);
        return rc;
    }
    c->xce = xenevtchn_open(&h->logger, 0);
    if (c->xce == NULL) {
        rc = xcb_fail(h, err, errno, "cannot open Xen's event channel device");
        xcb_close(c);
        return rc;
    }
    int port = xenevtchn_bind_virq(c->xce, VIRQ_DOM_EXC);
    if (port >= 0) {
        c->virq_port = port;
        c->host->log->emit(c->self, XEND_LOG_NOTICE, "domain exceptions",
                           "via=VIRQ_DOM_EXC port=%d", port);
    } else {
        /*
         * Xen binds a global VIRQ to one event channel per domain, and xenstored in dom0
         * holds VIRQ_DOM_EXC: it relays it as the @releaseDomain watch, fired on every
         * shutdown, crash and death of a domain it knows (every domain xend builds).
         */
        int e = errno;
        xenevtchn_close(c->xce);
        c->xce = NULL;
        h->last[0] = '\0';
        if (!xs_watch(h->xsh, "@releaseDomain", xcb_release_token)) {
            rc = xcb_fail(h, err, errno,
                          "cannot bind VIRQ_DOM_EXC (%s) nor watch @releaseDomain in xenstore",
                          strerror(e));
            xcb_close(c);
            return rc;
        }
        c->host->log->emit(c->self, XEND_LOG_NOTICE, "domain exceptions",
                           "via=@releaseDomain reason=\"VIRQ_DOM_EXC: %s (xenstored holds it)\"",
                           strerror(e));
    }
    int ver = xc_version(h->xch, XENVER_version, NULL);
    c->host->log->emit(c->self, XEND_LOG_NOTICE, "xen open", "version=%d.%d scheduler=%s",
                       ver >> 16, ver & 0xffff, xcb_sched_name(c->sched_id));
    return 0;
}

static int xcb_physinfo(void *ctx, struct xend_physinfo *out, struct xend_err *err)
{
    struct xcb *c = ctx;
    struct xcb_conn *h = xcb_begin(c);
    xc_physinfo_t pi;
    memset(&pi, 0, sizeof(pi));
    if (xc_physinfo(h->xch, &pi) < 0)
        return xcb_fail(h, err, errno, "cannot read the host's physical info");
    memset(out, 0, sizeof(*out));
    out->size = sizeof(*out);
    out->nr_cpus = pi.nr_cpus;
    out->cores_per_socket = pi.cores_per_socket;
    out->threads_per_core = pi.threads_per_core;
    out->cpu_mhz = pi.cpu_khz / 1000;
    out->total_kb = pi.total_pages * (XC_PAGE_SIZE / 1024);
    out->free_kb = pi.free_pages * (XC_PAGE_SIZE / 1024);
    int ver = xc_version(h->xch, XENVER_version, NULL);
    xen_extraversion_t extra;
    memset(extra, 0, sizeof(extra));
    if (xc_version(h->xch, XENVER_extraversion, &extra) < 0)
        extra[0] = '\0';
    extra[sizeof(extra) - 1] = '\0';
    if (ver < 0)
        snprintf(out->hypervisor, sizeof(out->hypervisor), "Xen");
    else
        snprintf(out->hypervisor, sizeof(out->hypervisor), "Xen %d.%d%s", ver >> 16, ver & 0xffff,
                 extra);
    snprintf(out->scheduler, sizeof(out->scheduler), "%s", xcb_sched_name(c->sched_id));
    return 0;
}

static char *xcb_dmesg(void *ctx, bool clear, struct xend_err *err)
{
    struct xcb *c = ctx;
    struct xcb_conn *h = xcb_begin(c);
    char *buf = malloc(XCB_DMESG_MAX + 1);
    if (buf == NULL)
        abort();
    unsigned int n = XCB_DMESG_MAX;
    uint32_t index = 0;
    if (xc_readconsolering(h->xch, buf, &n, clear, 0, &index) < 0) {
        xcb_fail(h, err, errno, "cannot read Xen's console ring");
        free(buf);
        return NULL;
    }
    buf[n < XCB_DMESG_MAX ? n : XCB_DMESG_MAX] = '\0';
    return buf;
}

static int xcb_dom_create(void *ctx, const struct xend_dom_create *args, uint32_t *domid,
                          struct xend_err *err)
{
    struct xcb *c = ctx;
    return xcb_create(xcb_begin(c), args, xcb_config_wants_pvh(c, args->name), domid, err);
}

static int xcb_dom_build(void *ctx, uint32_t domid, const struct xend_dom_image *image,
                         struct xend_err *err)
{
    return xcb_build(xcb_begin(ctx), domid, image, err);
}

static int xcb_dom_pause(void *ctx, uint32_t domid, struct xend_err *err)
{
    struct xcb_conn *h = xcb_begin(ctx);
    if (xc_domain_pause(h->xch, domid) < 0)
        return xcb_fail(h, err, errno, "cannot pause domain %u", domid);
    return 0;
}

static int xcb_dom_unpause(void *ctx, uint32_t domid, struct xend_err *err)
{
    struct xcb_conn *h = xcb_begin(ctx);
    if (xc_domain_unpause(h->xch, domid) < 0)
        return xcb_fail(h, err, errno, "cannot unpause domain %u", domid);
    return 0;
}

/* The request a PV guest reads from control/shutdown. */
static const char *xcb_shutdown_word(enum xend_shutdown_reason reason)
{
    switch (reason) {
    case XEND_SHUTDOWN_POWEROFF:
    case XEND_SHUTDOWN_HALT:
        return "poweroff";
    case XEND_SHUTDOWN_REBOOT:
        return "reboot";
    case XEND_SHUTDOWN_SUSPEND:
        return "suspend";
    default:
        return NULL;
    }
}

static int xcb_dom_shutdown(void *ctx, uint32_t domid, enum xend_shutdown_reason reason,
                            struct xend_err *err)
{
    struct xcb_conn *h = xcb_begin(ctx);
    const char *word = xcb_shutdown_word(reason);
    if (word == NULL)
        return xend_err_set(err, XEND_EINVAL,
                            "cannot ask domain %u to shut down with reason %d: a guest can "
                            "be asked to power off, reboot or suspend",
                            domid, (int)reason);
    xc_domaininfo_t x;
    int rc = xcb_getinfo(h, domid, &x, err);
    if (rc < 0)
        return rc;
    if (x.flags & XEN_DOMINF_dying)
        return xend_err_set(err, XEND_ENOENT, "domain %u is dying", domid);
    /* Polite: the guest reads the request and shuts itself down (or ignores it). */
    char *path = xcb_dompath(domid, "control/shutdown");
    bool ok = xs_write(h->xsh, XBT_NULL, path, word, (unsigned)strlen(word));
    int e = errno;
    free(path);
    if (!ok)
        return xcb_fail(h, err, e, "cannot ask domain %u to %s (xenstore control/shutdown)", domid,
                        word);
    return 0;
}

static int xcb_dom_destroy(void *ctx, uint32_t domid, struct xend_err *err)
{
    return xcb_destroy(xcb_begin(ctx), domid, err);
}

static int xcb_dom_info(void *ctx, uint32_t domid, struct xend_dominfo *out, struct xend_err *err)
{
    struct xcb_conn *h = xcb_begin(ctx);
    xc_domaininfo_t x;
    int rc = xcb_getinfo(h, domid, &x, err);
    if (rc == 0)
        xcb_dominfo_from(h, &x, out);
    return rc;
}

static int xcb_dom_list(void *ctx, xend_dominfo_fn *fn, void *arg, struct xend_err *err)
{
    struct xcb_conn *h = xcb_begin(ctx);
    xc_domaininfo_t batch[XCB_LIST_BATCH];
    uint32_t next = 0;
    for (;;) {
        int n = xc_domain_getinfolist(h->xch, next, XCB_LIST_BATCH, batch);
        if (n < 0)
            return xcb_fail(h, err, errno, "cannot list domains");
        for (int i = 0; i < n; i++) {
            struct xend_dominfo info;
            xcb_dominfo_from(h, &batch[i], &info);
            fn(arg, &info);
        }
        if (n < XCB_LIST_BATCH)
            return 0;
        next = (uint32_t)batch[n - 1].domain + 1;
    }
}

static int xcb_dom_set_maxmem(void *ctx, uint32_t domid, uint64_t kb, struct xend_err *err)
{
    struct xcb_conn *h = xcb_begin(ctx);
    if (xc_domain_setmaxmem(h->xch, domid, kb) < 0)
        return xcb_fail(h, err, errno, "cannot set the memory limit of domain %u to %llu KiB",
                        domid, (unsigned long long)kb);
    /* The guest's balloon driver reads its ceiling there. */
    char *path = xcb_dompath(domid, "memory/static-max");
    if (!xcb_xs_printf(h->xsh, XBT_NULL, path, "%llu", (unsigned long long)kb))
        h->c->host->log->emit(h->c->self, XEND_LOG_WARN, "xenstore write failed",
                              "path=%s error=\"%s\"", path, strerror(errno));
    free(path);
    return 0;
}

static int xcb_dom_set_target(void *ctx, uint32_t domid, uint64_t kb, struct xend_err *err)
{
    struct xcb_conn *h = xcb_begin(ctx);
    xc_domaininfo_t x;
    int rc = xcb_getinfo(h, domid, &x, err);
    if (rc < 0)
        return rc;
    /* The guest's balloon driver watches memory/target and gives or takes pages. */
    char *path = xcb_dompath(domid, "memory/target");
    bool ok = xcb_xs_printf(h->xsh, XBT_NULL, path, "%llu", (unsigned long long)kb);
    int e = errno;
    free(path);
    if (!ok)
        return xcb_fail(h, err, e, "cannot set the memory target of domain %u", domid);
    return 0;
}

static int xcb_dom_pin_vcpu(void *ctx, uint32_t domid, uint32_t vcpu, int32_t cpu,
                            struct xend_err *err)
{
    struct xcb_conn *h = xcb_begin(ctx);
    xc_domaininfo_t x;
    int rc = xcb_getinfo(h, domid, &x, err);
    if (rc < 0)
        return rc;
    if (x.max_vcpu_id == XEN_INVALID_MAX_VCPU_ID || vcpu > x.max_vcpu_id)
        return xend_err_set(err, XEND_EINVAL, "domain %u has no vcpu %u", domid, vcpu);
    int ncpus = xc_get_max_cpus(h->xch);
    if (ncpus <= 0)
        return xcb_fail(h, err, errno, "cannot count the host's cpus");
    if (cpu >= ncpus || cpu < -1)
        return xend_err_set(err, XEND_EINVAL, "no cpu %d: the host has cpus 0-%d", cpu, ncpus - 1);
    size_t bytes = ((size_t)ncpus + 7) / 8;
    uint8_t *map = calloc(1, bytes);
    if (map == NULL)
        abort();
    if (cpu < 0)
        memset(map, 0xff, bytes);
    else
        map[cpu / 8] = (uint8_t)(1u << (cpu % 8));
    if (xc_vcpu_setaffinity(h->xch, domid, (int)vcpu, map, NULL, XEN_VCPUAFFINITY_HARD) < 0)
        rc = xcb_fail(h, err, errno, "cannot pin vcpu %u of domain %u to cpu %d", vcpu, domid, cpu);
    free(map);
    return rc;
}

static int xcb_notify_fd(void *ctx)
{
    struct xcb *c = ctx;
    if (!c->opened)
        return -1;
    return c->xce != NULL ? xenevtchn_fd(c->xce) : xs_fileno(c->main.xsh);
}

static void xcb_notify_ack(void *ctx)
{
    struct xcb *c = ctx;
    if (!c->opened)
        return;
    if (c->xce == NULL) {
        char **ev;
        while ((ev = xs_check_watch(c->main.xsh)) != NULL)
            free(ev);
        return;
    }
    /* The evtchn device blocks on read: only ask for what poll says is there. */
    int fd = xenevtchn_fd(c->xce);
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 0) <= 0)
            return;
        xenevtchn_port_or_error_t port = xenevtchn_pending(c->xce);
        if (port < 0)
            return;
        xenevtchn_unmask(c->xce, (evtchn_port_t)port);
    }
}

static const struct xend_backend_ops xcb_ops = {
    XEND_BACKEND_OPS_INIT,
    .name = "xenctrl",
    .flags = 0,
    .priority = 100,
    .probe = xcb_probe,
    .open = xcb_open,
    .close = xcb_close,
    .physinfo = xcb_physinfo,
    .dmesg = xcb_dmesg,
    .dom_create = xcb_dom_create,
    .dom_build = xcb_dom_build,
    .dom_pause = xcb_dom_pause,
    .dom_unpause = xcb_dom_unpause,
    .dom_shutdown = xcb_dom_shutdown,
    .dom_destroy = xcb_dom_destroy,
    .dom_info = xcb_dom_info,
    .dom_list = xcb_dom_list,
    .dom_set_maxmem = xcb_dom_set_maxmem,
    .dom_set_target = xcb_dom_set_target,
    .dom_pin_vcpu = xcb_dom_pin_vcpu,
    .sched_set = xcb_sched_set,
    .sched_get = xcb_sched_get,
    .sched_node_set = xcb_sched_node_set,
    .console_open = xcb_console_open,
    .notify_fd = xcb_notify_fd,
    .notify_ack = xcb_notify_ack,
    .dev_attach = xcb_dev_attach,
    .dev_detach = xcb_dev_detach,
    .save = xcb_save,
    .restore = xcb_restore,
    .save_with = xcb_save_with,
    /* dirty_*: xc_domain_save tracks dirty pages itself; mem_checksum is the sim's. */
};

/* ---- plugin ---- */

static struct xcb *xcb_instance; /* for fini */

static int xcb_init(struct xend_plugin *self, const struct xend_host *host)
{
    struct xcb *c = calloc(1, sizeof(*c));
    if (c == NULL)
        abort();
    c->self = self;
    c->host = host;
    c->virq_port = -1;
    const struct xend_host_config *cfg = host->config;
    struct xend_err err = {0};
    int rc;
    if ((rc = cfg->get_str(self, "xenctrl-privcmd", "/dev/xen/privcmd", &c->set.privcmd, &err)) <
            0 ||
        (rc = cfg->get_int(self, "xenctrl-device-timeout-ms", 10000, 100, 600000,
                           &c->set.device_wait_ms, &err)) < 0 ||
        (rc = cfg->get_int(self, "xenctrl-console-timeout-ms", 10000, 100, 600000,
                           &c->set.console_wait_ms, &err)) < 0 ||
        (rc = cfg->get_int(self, "xenctrl-suspend-timeout-ms", 60000, 100, 3600000,
                           &c->set.suspend_wait_ms, &err)) < 0) {
        host->plugin_err_set(self, "%s", xend_err_msg(&err));
        free(c);
        return rc;
    }
    rc = host->backend->add(self, &xcb_ops, c);
    if (rc < 0) {
        host->plugin_err_set(self, "cannot register the xenctrl backend: %s", xend_strerror(rc));
        free(c);
        return rc;
    }
    xcb_instance = c;
    return 0;
}

static void xcb_fini(struct xend_plugin *self)
{
    (void)self;
    if (xcb_instance != NULL)
        xcb_close(xcb_instance);
    free(xcb_instance);
    xcb_instance = NULL;
}

XEND_PLUGIN(.name = "hv-xenctrl", .version = "1.0",
            .description = "hypervisor backend for Xen 4.17 through libxenctrl, libxenguest, "
                           "libxenstore and libxenevtchn",
            .license = "GPL-2.0", .init = xcb_init, .fini = xcb_fini);
