/*
 * Split devices and consoles on Xen 4.17: a vbd or vif is a pair of xenstore directories,
 * the front end under the guest (/local/domain/D/device/CLASS/N) and the back end under
 * dom0 (/local/domain/0/backend/CLASS/D/N), which dom0's blkback or netback driver picks
 * up. A console is the pty xenconsoled names in /local/domain/D/console/tty.
 *
 * The vbd and vif plugins stay hypervisor-neutral: they run their scripts and hand this
 * file the back-end parameters. The waits here have deadlines (config), never forever.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "xc_priv.h"

/* XenbusState values (xen/io/xenbus.h). */
enum {
    XCB_XB_INITIALISING = 1,
    XCB_XB_INITWAIT = 2,
    XCB_XB_CLOSING = 5,
    XCB_XB_CLOSED = 6,
};

struct dev {
    uint32_t domid, devid;
    const char *cls;
    const struct xend_sxp *params;
    const struct xend_host_sxp *sxp;
    char fe[128], be[128];
    char physdev[32];
};

static int dev_paths(struct dev *d, const char *cls, uint32_t domid, uint32_t devid,
                     struct xend_err *err)
{
    if (cls == NULL || (strcmp(cls, "vbd") != 0 && strcmp(cls, "vif") != 0))
        return xend_err_set(err, XEND_ENOTSUP,
                            "the xenctrl backend attaches vbd and vif devices, not %s",
                            cls ? cls : "(none)");
    d->cls = cls;
    d->domid = domid;
    d->devid = devid;
    snprintf(d->fe, sizeof(d->fe), "/local/domain/%u/device/%s/%u", domid, cls, devid);
    snprintf(d->be, sizeof(d->be), "/local/domain/0/backend/%s/%u/%u", cls, domid, devid);
    return 0;
}

static const char *param(const struct dev *d, const char *key, const char *dflt)
{
    return d->params ? d->sxp->child_value(d->params, key, dflt) : dflt;
}

/* Write key=value under dir; false with errno on failure. */
static bool put(struct xs_handle *xs, xs_transaction_t t, const char *dir, const char *key,
                const char *value)
{
    char path[192];
    snprintf(path, sizeof(path), "%s/%s", dir, key);
    return xs_write(xs, t, path, value, (unsigned)strlen(value));
}

static int dev_write(struct xcb_conn *h, xs_transaction_t t, void *arg, struct xend_err *err)
{
    struct dev *d = arg;
    struct xs_handle *xs = h->xsh;
    char domid[16], devid[16];
    snprintf(domid, sizeof(domid), "%u", d->domid);
    snprintf(devid, sizeof(devid), "%u", d->devid);
    bool vbd = strcmp(d->cls, "vbd") == 0;
    /* Back end: dom0's, readable by the guest. */
    bool ok = xs_mkdir(xs, t, d->be) && xcb_xs_perm_ro(xs, t, d->be, 0, d->domid) &&
              put(xs, t, d->be, "frontend", d->fe) && put(xs, t, d->be, "frontend-id", domid) &&
              put(xs, t, d->be, "online", "1") && put(xs, t, d->be, "state", "1");
    if (ok && vbd) {
        const char *mode = param(d, "mode", "r");
        ok = put(xs, t, d->be, "params", param(d, "node", "")) &&
             put(xs, t, d->be, "type", "phy") && put(xs, t, d->be, "physical-device", d->physdev) &&
             put(xs, t, d->be, "physical-device-path", param(d, "node", "")) &&
             put(xs, t, d->be, "mode", mode[0] == 'w' ? "w" : "r") &&
             put(xs, t, d->be, "dev", param(d, "dev", "")) && put(xs, t, d->be, "removable", "0") &&
             put(xs, t, d->be, "bootable", "1") && put(xs, t, d->be, "device-type", "disk");
    } else if (ok) {
        /* xend's vif plugin runs the vif script itself: tell netback it has run. */
        ok = put(xs, t, d->be, "mac", param(d, "mac", "")) &&
             put(xs, t, d->be, "bridge", param(d, "bridge", "")) &&
             put(xs, t, d->be, "handle", devid) && put(xs, t, d->be, "type", "vif") &&
             put(xs, t, d->be, "script", "") && put(xs, t, d->be, "hotplug-status", "connected");
    }
    /* Front end: the guest's, readable by dom0. */
    ok = ok && xs_mkdir(xs, t, d->fe) && xcb_xs_perm_ro(xs, t, d->fe, d->domid, 0) &&
         put(xs, t, d->fe, "backend", d->be) && put(xs, t, d->fe, "backend-id", "0") &&
         put(xs, t, d->fe, "state", "1");
    if (ok && vbd)
        ok = put(xs, t, d->fe, "virtual-device", devid) && put(xs, t, d->fe, "device-type", "disk");
    else if (ok)
        ok = put(xs, t, d->fe, "handle", devid) && put(xs, t, d->fe, "mac", param(d, "mac", ""));
    if (!ok)
        return xcb_fail(h, err, errno, "xenstore: cannot write %s %u of domain %u", d->cls,
                        d->devid, d->domid);
    return 0;
}

static bool state_at_least(const char *value, void *arg)
{
    int want = *(const int *)arg;
    return value != NULL && strtol(value, NULL, 10) >= want;
}

static void dev_remove(struct xcb_conn *h, const struct dev *d)
{
    xs_rm(h->xsh, XBT_NULL, d->be);
    xs_rm(h->xsh, XBT_NULL, d->fe);
}

int xcb_dev_attach(void *ctx, uint32_t domid, const char *cls, uint32_t devid,
                   const struct xend_sxp *params, char *name, size_t name_len, struct xend_err *err)
{
    struct xcb *c = ctx;
    struct xcb_conn *h = &c->main;
    h->last[0] = '\0';
    struct dev d = {.params = params, .sxp = c->host->sxp};
    int rc = dev_paths(&d, cls, domid, devid, err);
    if (rc < 0)
        return rc;
    xc_domaininfo_t x;
    if ((rc = xcb_getinfo(h, domid, &x, err)) < 0)
        return rc;
    if (strcmp(cls, "vbd") == 0) {
        /* blkback opens the device by number: the block script gave us a node. */
        const char *node = param(&d, "node", "");
        struct stat st;
        if (stat(node, &st) < 0)
            return xend_err_set(err, xcb_errno_code(errno), "vbd %u of domain %u: %s: %s", devid,
                                domid, node, strerror(errno));
        if (!S_ISBLK(st.st_mode))
            return xend_err_set(err, XEND_EINVAL, "vbd %u of domain %u: %s is not a block device",
                                devid, domid, node);
        snprintf(d.physdev, sizeof(d.physdev), "%x:%x", major(st.st_rdev), minor(st.st_rdev));
    }
    char what[64];
    snprintf(what, sizeof(what), "attach %s %u", cls, devid);
    if ((rc = xcb_xs_txn(h, what, dev_write, &d, err)) < 0)
        return rc;
    /*
     * The back end leaves Initialising once its driver has taken the device (netback has
     * made vifD.N by then). Connected needs the guest's front end, which runs only after
     * the core unpauses the domain: not waited for here.
     */
    char state_path[160];
    snprintf(state_path, sizeof(state_path), "%s/state", d.be);
    int want = XCB_XB_INITWAIT;
    char *last = NULL;
    int w = xcb_xs_wait(c, state_path, state_at_least, &want, c->set.device_wait_ms, &last);
    if (w < 0) {
        rc = xend_err_set(err, w == -ETIMEDOUT ? XEND_ETIMEDOUT : xcb_errno_code(-w),
                          "%s %u of domain %u: the %s driver in dom0 did not take it within "
                          "%lld ms (back-end state %s%s)",
                          cls, devid, domid, strcmp(cls, "vbd") == 0 ? "blkback" : "netback",
                          c->set.device_wait_ms, last ? last : "missing",
                          w == -ETIMEDOUT ? "; is its module loaded?" : "");
        free(last);
        dev_remove(h, &d);
        return rc;
    }
    free(last);
    if (strcmp(cls, "vif") == 0)
        snprintf(name, name_len, "vif%u.%u", domid, devid);
    else
        snprintf(name, name_len, "%s", param(&d, "node", ""));
    return 0;
}

int xcb_dev_detach(void *ctx, uint32_t domid, const char *cls, uint32_t devid, struct xend_err *err)
{
    struct xcb *c = ctx;
    struct xcb_conn *h = &c->main;
    h->last[0] = '\0';
    struct dev d = {.sxp = c->host->sxp};
    int rc = dev_paths(&d, cls, domid, devid, err);
    if (rc < 0)
        return rc;
    xc_domaininfo_t x;
    struct xend_err ignore = {0};
    bool alive = xcb_getinfo(h, domid, &x, &ignore) == 0 &&
                 !(x.flags & (XEN_DOMINF_dying | XEN_DOMINF_shutdown));
    char state_path[160];
    snprintf(state_path, sizeof(state_path), "%s/state", d.be);
    char *state = xcb_xs_read(h->xsh, XBT_NULL, state_path);
    bool exists = state != NULL;
    free(state);
    if (!exists) {
        dev_remove(h, &d);
        return xend_err_set(err, XEND_ENOENT, "domain %u has no %s %u", domid, cls, devid);
    }
    if (alive) {
        /* A running guest closes its front end when the back end asks; then it is gone. */
        if (!put(h->xsh, XBT_NULL, d.be, "online", "0") ||
            !put(h->xsh, XBT_NULL, d.be, "state", "5"))
            rc = xcb_fail(h, err, errno, "xenstore: cannot close %s %u of domain %u", cls, devid,
                          domid);
        int want = XCB_XB_CLOSED;
        char *last = NULL;
        int w = rc < 0 ? 0
                       : xcb_xs_wait(c, state_path, state_at_least, &want, c->set.device_wait_ms,
                                     &last);
        if (w < 0)
            rc = xend_err_set(err, w == -ETIMEDOUT ? XEND_ETIMEDOUT : xcb_errno_code(-w),
                              "%s %u of domain %u: the guest did not close it within %lld ms "
                              "(back-end state %s); removed anyway",
                              cls, devid, domid, c->set.device_wait_ms, last ? last : "missing");
        free(last);
    }
    /* A dead guest cannot answer: removing the back end makes the driver let go. */
    dev_remove(h, &d);
    return rc;
}

static bool nonempty(const char *value, void *arg)
{
    (void)arg;
    return value != NULL && value[0] != '\0';
}

int xcb_console_open(void *ctx, uint32_t domid, int *fd, struct xend_err *err)
{
    struct xcb *c = ctx;
    struct xcb_conn *h = &c->main;
    h->last[0] = '\0';
    xc_domaininfo_t x;
    int rc = xcb_getinfo(h, domid, &x, err);
    if (rc < 0)
        return rc;
    /* xenconsoled names the pty once it has seen the domain introduced. */
    char *path = xcb_dompath(domid, "console/tty");
    char *tty = NULL;
    int w = xcb_xs_wait(c, path, nonempty, NULL, c->set.console_wait_ms, &tty);
    free(path);
    if (w < 0) {
        free(tty);
        return xend_err_set(err, w == -ETIMEDOUT ? XEND_ETIMEDOUT : xcb_errno_code(-w),
                            "domain %u has no console: xenconsoled did not name a pty in "
                            "console/tty within %lld ms (is xenconsoled running?)",
                            domid, c->set.console_wait_ms);
    }
    int f = open(tty, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (f < 0) {
        rc = xend_err_set(err, xcb_errno_code(errno),
                          "cannot open the console of domain %u (%s): %s", domid, tty,
                          strerror(errno));
        free(tty);
        return rc;
    }
    free(tty);
    /* Bytes as they are: no echo, no line editing, no CR/LF translation. */
    struct termios tio;
    if (tcgetattr(f, &tio) == 0) {
        cfmakeraw(&tio);
        tcsetattr(f, TCSANOW, &tio);
    }
    *fd = f;
    return 0;
}
