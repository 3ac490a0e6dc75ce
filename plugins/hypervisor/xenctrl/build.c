/*
 * Making and unmaking Xen domains: the PV domain shell (xc_domain_create) with its
 * xenstore home laid out as libxl lays it out, the PV image built with libxenguest's
 * xc_dom_* calls, the introduction to xenstored with the store and console pages, and
 * destruction with the cleanup of what xend wrote.
 *
 * Must never leave a half-made domain behind: a create or build that fails destroys what
 * it made before returning the error (the core then only forgets the id).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "xc_priv.h"

/* libxl's defaults for a PV guest. */
#define XCB_MAX_EVTCHN_PORT 1023
#define XCB_MAX_GRANT_FRAMES 64
#define XCB_MAX_MAPTRACK_FRAMES 1024
#define XCB_CONSOLE_LIMIT 1048576
#define XCB_MAXMEM_SLACK_KB 1024 /* LIBXL_MAXMEM_CONSTANT */

struct home {
    uint32_t domid;
    const struct xend_dom_create *args;
    char uuid[37];
};

/* The domain's xenstore home: what a PV Linux guest and xenconsoled expect to find. */
static int home_write(struct xcb_conn *h, xs_transaction_t t, void *arg, struct xend_err *err)
{
    struct home *m = arg;
    struct xs_handle *xs = h->xsh;
    uint32_t d = m->domid;
    char *dom = xcb_dompath(d, NULL);
    char *vm = NULL;
    if (asprintf(&vm, "/vm/%s", m->uuid) < 0)
        abort();
    struct {
        const char *rel;
        char value[128];
        int perm; /* 0: read-only for the guest, 1: the guest's own */
    } nodes[] = {
        {"vm", "", 0},
        {"name", "", 0},
        {"domid", "", 0},
        {"control", "", 0},
        {"control/shutdown", "", 1},
        {"control/feature-poweroff", "", 1},
        {"control/feature-reboot", "", 1},
        {"control/feature-suspend", "", 1},
        {"control/sysrq", "", 1},
        {"device", "", 0},
        {"data", "", 1},
        {"drivers", "", 1},
        {"feature", "", 1},
        {"attr", "", 1},
        {"error", "", 1},
        {"memory/static-max", "", 0},
        {"memory/target", "", 0},
    };
    uint64_t maxmem = m->args->maxmem_kb > m->args->mem_kb ? m->args->maxmem_kb : m->args->mem_kb;
    snprintf(nodes[0].value, sizeof(nodes[0].value), "%s", vm);
    snprintf(nodes[1].value, sizeof(nodes[1].value), "%s", m->args->name ? m->args->name : "");
    snprintf(nodes[2].value, sizeof(nodes[2].value), "%u", d);
    snprintf(nodes[15].value, sizeof(nodes[15].value), "%llu", (unsigned long long)maxmem);
    snprintf(nodes[16].value, sizeof(nodes[16].value), "%llu", (unsigned long long)m->args->mem_kb);
    const char *failed = NULL;
    if (!xs_mkdir(xs, t, dom) || !xcb_xs_perm_ro(xs, t, dom, 0, d))
        failed = dom;
    char vmname[300], vmuuid[300];
    snprintf(vmname, sizeof(vmname), "%s/name", vm);
    snprintf(vmuuid, sizeof(vmuuid), "%s/uuid", vm);
    if (!failed && (!xs_mkdir(xs, t, vm) || !xcb_xs_perm_ro(xs, t, vm, 0, d) ||
                    !xcb_xs_printf(xs, t, vmname, "%s", nodes[1].value) ||
                    !xcb_xs_printf(xs, t, vmuuid, "%s", m->uuid)))
        failed = vm;
    char *path = NULL;
    for (size_t i = 0; !failed && i < sizeof(nodes) / sizeof(nodes[0]); i++) {
        free(path);
        path = xcb_dompath(d, nodes[i].rel);
        bool w = xs_write(xs, t, path, nodes[i].value, (unsigned)strlen(nodes[i].value));
        if (w && nodes[i].perm == 1)
            w = xcb_xs_perm_own(xs, t, path, d);
        if (!w)
            failed = path;
    }
    for (uint32_t v = 0; !failed && v < m->args->vcpus; v++) {
        char rel[48];
        snprintf(rel, sizeof(rel), "cpu/%u/availability", v);
        free(path);
        path = xcb_dompath(d, rel);
        if (!xcb_xs_printf(xs, t, path, "online"))
            failed = path;
    }
    int rc = failed ? xcb_fail(h, err, errno, "xenstore: cannot write %s", failed) : 0;
    free(path);
    free(dom);
    free(vm);
    return rc;
}

static void make_uuid(unsigned char raw[16], char text[37])
{
    if (getrandom(raw, 16, 0) != 16) {
        for (int i = 0; i < 16; i++)
            /* NOLINTNEXTLINE(cert-msc30-c): without getrandom; a uuid must differ, not be secret */
            raw[i] = (unsigned char)rand();
    }
    raw[6] = (unsigned char)((raw[6] & 0x0f) | 0x40); /* version 4 */
    raw[8] = (unsigned char)((raw[8] & 0x3f) | 0x80);
    snprintf(text, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7], raw[8], raw[9],
             raw[10], raw[11], raw[12], raw[13], raw[14], raw[15]);
}

/* The newest grant table version Xen offers (a domain must be given one it supports). */
static unsigned grant_version(const xc_physinfo_t *pi)
{
    if (pi->capabilities & XEN_SYSCTL_PHYSCAP_gnttab_v2)
        return 2;
    return 1;
}

int xcb_create(struct xcb_conn *h, const struct xend_dom_create *args, bool pvh, uint32_t *domid,
               struct xend_err *err)
{
    const char *name = args->name ? args->name : "";
    xc_physinfo_t pi;
    memset(&pi, 0, sizeof(pi));
    if (xc_physinfo(h->xch, &pi) < 0)
        return xcb_fail(h, err, errno, "cannot create domain %s: cannot read the host's memory",
                        name);
    uint64_t free_kb = pi.free_pages * (XC_PAGE_SIZE / 1024);
    if (args->mem_kb > free_kb)
        return xend_err_set(err, XEND_ENOMEM, "Out of memory: domain needs %llu MB, %llu MB free",
                            (unsigned long long)(args->mem_kb / 1024),
                            (unsigned long long)(free_kb / 1024));

    struct xen_domctl_createdomain cfg;
    memset(&cfg, 0, sizeof(cfg));
    struct home m = {.args = args};
    make_uuid(cfg.handle, m.uuid);
    cfg.flags = 0; /* PV, unless pvh */
    if (pvh) {
        int rc = xcb_pvh_config(h, &pi, name, &cfg, err);
        if (rc < 0)
            return rc;
    }
    cfg.max_vcpus = args->vcpus ? args->vcpus : 1;
    cfg.max_evtchn_port = XCB_MAX_EVTCHN_PORT;
    cfg.max_grant_frames = XCB_MAX_GRANT_FRAMES;
    cfg.max_maptrack_frames = XCB_MAX_MAPTRACK_FRAMES;
    cfg.grant_opts = XEN_DOMCTL_GRANT_version(grant_version(&pi));

    bool want = args->want_domid > 0 && args->want_domid < DOMID_FIRST_RESERVED;
    uint32_t id = want ? (uint32_t)args->want_domid : 0;
    if (xc_domain_create(h->xch, &id, &cfg) < 0) {
        int e = errno;
        if (!want || e != EEXIST)
            return xcb_fail(h, err, e, "cannot create domain %s", name);
        /* The old instance lingers (a dying domain keeps its id until its pages go). */
        h->c->host->log->emit(h->c->self, XEND_LOG_NOTICE, "domain id taken",
                              "domain=%s wanted=%lld", name, (long long)args->want_domid);
        h->last[0] = '\0';
        id = 0;
        if (xc_domain_create(h->xch, &id, &cfg) < 0)
            return xcb_fail(h, err, errno, "cannot create domain %s", name);
    }
    struct xend_err ignore = {0};
    /* max_vcpus in the config sizes the domain; this makes its vcpus (libxl does both). */
    if (xc_domain_max_vcpus(h->xch, id, cfg.max_vcpus) < 0) {
        int rc = xcb_fail(h, err, errno, "cannot give domain %s %u vcpus", name, cfg.max_vcpus);
        xcb_destroy(h, id, &ignore);
        return rc;
    }
    /* As libxl: the limit has a little room above the memory for what the builder adds. */
    uint64_t maxmem = args->maxmem_kb > args->mem_kb ? args->maxmem_kb : args->mem_kb;
    if (xc_domain_setmaxmem(h->xch, id, maxmem + XCB_MAXMEM_SLACK_KB) < 0) {
        int rc = xcb_fail(h, err, errno, "cannot set the memory limit of domain %s to %llu KiB",
                          name, (unsigned long long)maxmem);
        xcb_destroy(h, id, &ignore);
        return rc;
    }
    if (pvh) {
        int rc = xcb_pvh_prepare(h, id, maxmem, cfg.max_vcpus, err);
        if (rc < 0) {
            xcb_destroy(h, id, &ignore);
            return rc;
        }
    }
    m.domid = id;
    int rc = xcb_xs_txn(h, "write the domain's xenstore home", home_write, &m, err);
    if (rc < 0) {
        xcb_destroy(h, id, &ignore);
        return rc;
    }
    *domid = id;
    return 0;
}

struct intro {
    uint32_t domid;
    unsigned long store_mfn, console_mfn;
    unsigned store_port, console_port;
};

static int intro_write(struct xcb_conn *h, xs_transaction_t t, void *arg, struct xend_err *err)
{
    struct intro *in = arg;
    struct xs_handle *xs = h->xsh;
    struct {
        const char *rel;
        char value[32];
    } nodes[] = {
        {"console/ring-ref", ""}, {"console/port", ""},   {"console/limit", ""},
        {"console/type", ""},     {"console/output", ""}, {"store/ring-ref", ""},
        {"store/port", ""},
    };
    snprintf(nodes[0].value, sizeof(nodes[0].value), "%lu", in->console_mfn);
    snprintf(nodes[1].value, sizeof(nodes[1].value), "%u", in->console_port);
    snprintf(nodes[2].value, sizeof(nodes[2].value), "%d", XCB_CONSOLE_LIMIT);
    snprintf(nodes[3].value, sizeof(nodes[3].value), "xenconsoled");
    snprintf(nodes[4].value, sizeof(nodes[4].value), "pty");
    snprintf(nodes[5].value, sizeof(nodes[5].value), "%lu", in->store_mfn);
    snprintf(nodes[6].value, sizeof(nodes[6].value), "%u", in->store_port);
    for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
        char *path = xcb_dompath(in->domid, nodes[i].rel);
        bool ok = xs_write(xs, t, path, nodes[i].value, (unsigned)strlen(nodes[i].value));
        int rc = ok ? 0 : xcb_fail(h, err, errno, "xenstore: cannot write %s", path);
        free(path);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int xcb_introduce(struct xcb_conn *h, uint32_t domid, unsigned long store_mfn, unsigned store_port,
                  unsigned long console_mfn, unsigned console_port, struct xend_err *err)
{
    struct intro in = {.domid = domid,
                       .store_mfn = store_mfn,
                       .console_mfn = console_mfn,
                       .store_port = store_port,
                       .console_port = console_port};
    int rc = xcb_xs_txn(h, "write the domain's console and store pages", intro_write, &in, err);
    if (rc < 0)
        return rc;
    /* From here xenstored serves the guest, and xenconsoled (watching @introduceDomain)
     * maps its console and names the pty in console/tty. */
    if (!xs_introduce_domain(h->xsh, domid, store_mfn, store_port))
        return xcb_fail(h, err, errno, "cannot introduce domain %u to xenstored", domid);
    return 0;
}

int xcb_destroy(struct xcb_conn *h, uint32_t domid, struct xend_err *err)
{
    if (domid == 0)
        return xend_err_set(err, XEND_EPERM, "domain 0 cannot be destroyed");
    xc_domaininfo_t x;
    int rc = xcb_getinfo(h, domid, &x, err);
    if (rc < 0)
        return rc;
    char *dom = xcb_dompath(domid, NULL);
    char *vmrel = xcb_dompath(domid, "vm");
    char *vm = xcb_xs_read(h->xsh, XBT_NULL, vmrel);
    free(vmrel);
    if (xc_domain_destroy(h->xch, domid) < 0)
        rc = xcb_fail(h, err, errno, "cannot destroy domain %u", domid);
    if (rc == 0) {
        /* What xend wrote for it; xenstored forgets the rest when the domain is gone. */
        const char *cls[] = {"vbd", "vif", "console"};
        for (size_t i = 0; i < sizeof(cls) / sizeof(cls[0]); i++) {
            char be[96];
            snprintf(be, sizeof(be), "/local/domain/0/backend/%s/%u", cls[i], domid);
            xs_rm(h->xsh, XBT_NULL, be);
        }
        xs_rm(h->xsh, XBT_NULL, dom);
        if (vm != NULL && strncmp(vm, "/vm/", 4) == 0)
            xs_rm(h->xsh, XBT_NULL, vm);
    }
    free(vm);
    free(dom);
    return rc;
}

/* ---- building a PV or PVH image ---- */

static int read_target(struct xcb_conn *h, uint32_t domid, uint64_t *kb, struct xend_err *err)
{
    char *path = xcb_dompath(domid, "memory/target");
    char *v = xcb_xs_read(h->xsh, XBT_NULL, path);
    free(path);
    char *end = NULL;
    unsigned long long n = v ? strtoull(v, &end, 10) : 0;
    bool ok = v != NULL && end != v && *end == '\0' && n > 0;
    free(v);
    if (!ok)
        return xend_err_set(err, XEND_EINVAL,
                            "cannot build domain %u: it has no memory/target in xenstore "
                            "(it was not created by xend)",
                            domid);
    *kb = n;
    return 0;
}

int xcb_build(struct xcb_conn *h, uint32_t domid, const struct xend_dom_image *image,
              struct xend_err *err)
{
    bool want_pvh = image->builder != NULL && strcmp(image->builder, "pvh") == 0;
    if (image->builder != NULL && image->builder[0] && strcmp(image->builder, "linux") != 0 &&
        !want_pvh)
        return xend_err_set(err, XEND_ENOTSUP,
                            "builder %s: the xenctrl backend builds PV (linux) and PVH (pvh) "
                            "domains only",
                            image->builder);
    if (image->kernel == NULL || access(image->kernel, R_OK) < 0)
        return xend_err_set(err, image->kernel ? xcb_errno_code(errno) : XEND_EINVAL,
                            "cannot read kernel %s: %s", image->kernel ? image->kernel : "(none)",
                            image->kernel ? strerror(errno) : "no kernel given");
    if (image->ramdisk != NULL && image->ramdisk[0] && access(image->ramdisk, R_OK) < 0)
        return xend_err_set(err, xcb_errno_code(errno), "cannot read ramdisk %s: %s",
                            image->ramdisk, strerror(errno));
    xc_domaininfo_t x;
    int rc = xcb_getinfo(h, domid, &x, err);
    if (rc < 0)
        return rc;
    /* The shell decides: dom_create made it from the same config. */
    bool pvh = xcb_is_pvh(&x);
    if (pvh != want_pvh)
        return xend_err_set(err, XEND_EINVAL,
                            "cannot build domain %u: builder %s, but it was created as a %s domain",
                            domid, want_pvh ? "pvh" : "linux", pvh ? "PVH" : "PV");
    uint64_t mem_kb = 0;
    if ((rc = read_target(h, domid, &mem_kb, err)) < 0)
        return rc;
    unsigned vcpus = x.max_vcpu_id == XEN_INVALID_MAX_VCPU_ID ? 1 : x.max_vcpu_id + 1;

    int store_port = xc_evtchn_alloc_unbound(h->xch, domid, 0);
    if (store_port < 0)
        return xcb_fail(h, err, errno, "cannot build domain %u: no event channel for xenstore",
                        domid);
    int console_port = xc_evtchn_alloc_unbound(h->xch, domid, 0);
    if (console_port < 0)
        return xcb_fail(h, err, errno, "cannot build domain %u: no event channel for the console",
                        domid);

    struct xc_dom_image *dom = xc_dom_allocate(h->xch, image->cmdline ? image->cmdline : "", NULL);
    if (dom == NULL)
        return xcb_fail(h, err, errno, "cannot build domain %u", domid);
    dom->container_type = XC_DOM_PV_CONTAINER;
    if (pvh)
        xcb_pvh_layout(dom, mem_kb);
    const char *step = NULL;
    if (xc_dom_kernel_file(dom, image->kernel) != 0)
        step = "load the kernel";
    else if (image->ramdisk != NULL && image->ramdisk[0] &&
             xc_dom_module_file(dom, image->ramdisk, NULL) != 0)
        step = "load the ramdisk";
    struct xend_err map_err = {0};
    if (step == NULL) {
        dom->flags = 0;
        dom->console_evtchn = (unsigned)console_port;
        dom->console_domid = 0;
        dom->xenstore_evtchn = (unsigned)store_port;
        dom->xenstore_domid = 0;
        dom->max_vcpus = vcpus;
        dom->claim_enabled = 0;
        if (xc_dom_boot_xen_init(dom, h->xch, domid) != 0)
            step = "start the builder";
        else if (xc_dom_parse_image(dom) != 0)
            step = pvh ? "parse the kernel (has it a PVH entry point?)"
                       : "parse the kernel (is it a Xen PV kernel?)";
        else if (xc_dom_mem_init(dom, (unsigned)(mem_kb / 1024)) != 0)
            step = "lay out its memory";
        else if (xc_dom_boot_mem_init(dom) != 0)
            step = "allocate its memory";
        else if (pvh && xcb_pvh_memmap(h, domid, dom, &map_err) < 0)
            step = "give it its memory map";
        else if (xc_dom_build_image(dom) != 0)
            step = "build the image";
        else if (pvh && xcb_pvh_mptable(h, domid, dom, vcpus, &map_err) < 0)
            step = "write its MP table";
        else if (xc_dom_boot_image(dom) != 0)
            step = "boot the image";
        else if (xc_dom_gnttab_init(dom) != 0)
            step = "seed its grant table";
    }
    if (step != NULL) {
        if (map_err.code != 0)
            rc = xend_err_set(err, map_err.code, "%s", xend_err_msg(&map_err));
        else
            rc = xcb_fail(h, err, errno, "cannot build domain %u: cannot %s", domid, step);
        xc_dom_release(dom);
        return rc;
    }
    /* A PVH guest names its pages by guest frame; a PV guest's are machine frames. */
    unsigned long store_mfn =
        pvh ? (unsigned long)dom->xenstore_pfn : (unsigned long)xc_dom_p2m(dom, dom->xenstore_pfn);
    unsigned long console_mfn =
        pvh ? (unsigned long)dom->console_pfn : (unsigned long)xc_dom_p2m(dom, dom->console_pfn);
    xc_dom_release(dom);
    return xcb_introduce(h, domid, store_mfn, (unsigned)store_port, console_mfn,
                         (unsigned)console_port, err);
}
