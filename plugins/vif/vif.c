/*
 * vif: virtual network interfaces as a device class.
 *
 * A vif of domain D, index N has a back end in the driver domain named vifD.N (or its
 * configured vifname). Attach asks the hypervisor backend to create it, then runs the vif
 * script (`SCRIPT up domain=NAME vif=vifD.N mac=MAC bridge=B [ip="A B"]`) which puts it on
 * its bridge; detach runs `SCRIPT down ...` and detaches. The network script runs at xend
 * start and stop (`SCRIPT start|stop bridge=B antispoof=yes|no`). A vif without a mac gets
 * a random one of OUI aa:00:00, unique on the host.
 *
 * It must never touch the network itself (the scripts do, so that sites can swap them),
 * run a shell, or block the loop waiting for a script.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <xend/host.h>

#include "devscript.h"

/* What a vif's config says with the defaults applied: the values its scripts see. */
struct vif_conf {
    char mac[18];  /* "aa:00:00:12:34:56", "" when the config has none */
    char *bridge;  /* owned */
    char *script;  /* owned: the name as configured (resolved in script-dir when run) */
    char *ip;      /* owned: the addresses joined by one space, "" for none */
    char *vifname; /* owned, NULL when not configured */
    char *backend; /* owned: the driver domain, "0" by default */
};

/* The step of a script job. */
enum vif_step {
    VIF_STEP_UP,        /* attach: the script's up */
    VIF_STEP_DOWN,      /* detach: the script's down */
    VIF_STEP_CONF_DOWN, /* configure: down with the old settings */
    VIF_STEP_CONF_UP,   /* configure: up with the new ones */
    VIF_STEP_CONF_UNDO, /* configure failed: up with the old ones again */
};

/* One script run in flight, with the op it will complete. */
struct vif_job {
    struct devscript_job j; /* first: owner (a struct vif_priv), op, step, rc, script */
    struct vif_conf next;   /* configure: the settings being applied */
};

/* Per device (host->device->priv). */
struct vif_priv {
    struct devscript_dev d; /* first: device, domain, the job in flight */
    struct vif_conf conf;   /* what the device runs with now */
    char name[64];          /* the back-end interface, vifD.N */
    bool backend_attached;
    bool up; /* the up script ran and the down script did not */
};

static struct {
    struct xend_plugin *self;
    const struct xend_host *host;
    const struct xend_host_sxp *sxp; /* host->sxp, the table most used */
    struct devscript ds;
    const char *bridge;         /* vif-bridge */
    const char *script;         /* vif-script */
    const char *network_script; /* network-script, "" for none */
    bool antispoof;             /* vif-antispoof */
} vif_g;

#define vif_log(...) devscript_logf(&vif_g.ds, __VA_ARGS__)

static char *vif_strdup(const char *s)
{
    char *d = strdup(s);
    if (d == NULL)
        abort();
    return d;
}

static void vif_conf_free(struct vif_conf *c)
{
    free(c->bridge);
    free(c->script);
    free(c->ip);
    free(c->vifname);
    free(c->backend);
    memset(c, 0, sizeof(*c));
}

/* ---- validation ---- */

/* Normalise a mac to lower-case xx:xx:xx:xx:xx:xx; false when it is not six hex fields. */
static bool vif_mac_norm(const char *in, char out[18])
{
    unsigned v[6];
    const char *p = in;
    for (int i = 0; i < 6; i++) {
        int digits = 0;
        v[i] = 0;
        while (isxdigit((unsigned char)*p) && digits < 3) {
            int c = tolower((unsigned char)*p++);
            v[i] = v[i] * 16 + (unsigned)(isdigit(c) ? c - '0' : c - 'a' + 10);
            digits++;
        }
        if (digits == 0 || digits > 2)
            return false;
        if (i < 5 && *p++ != ':')
            return false;
    }
    if (*p != '\0')
        return false;
    snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", v[0], v[1], v[2], v[3], v[4], v[5]);
    return true;
}

/* A Linux interface name: 1..15 of [A-Za-z0-9_.-]. */
static bool vif_ifname_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 15)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
            return false;
    return true;
}

/* An IPv4 or IPv6 address with an optional /prefix. */
static bool vif_ip_ok(const char *s)
{
    char addr[64];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (n == 0 || n >= sizeof(addr))
        return false;
    memcpy(addr, s, n);
    addr[n] = '\0';
    unsigned char bin[16];
    int max;
    if (inet_pton(AF_INET, addr, bin) == 1)
        max = 32;
    else if (inet_pton(AF_INET6, addr, bin) == 1)
        max = 128;
    else
        return false;
    if (slash == NULL)
        return true;
    const char *q = slash + 1;
    if (*q == '\0' || strlen(q) > 3)
        return false;
    for (const char *c = q; *c; c++)
        if (!isdigit((unsigned char)*c))
            return false;
    return strtol(q, NULL, 10) <= max;
}

/* Every address of every (ip ...) child, each atom split at spaces, joined by one space. */
static int vif_ips(const struct xend_sxp *config, char **out, struct xend_err *err)
{
    size_t len = 0;
    char *buf = malloc(1);
    if (buf == NULL)
        abort();
    buf[0] = '\0';
    size_t n = vif_g.sxp->length(config);
    for (size_t i = 1; i < n; i++) {
        const struct xend_sxp *c = vif_g.sxp->nth(config, i);
        const char *name = vif_g.sxp->name(c);
        if (name == NULL || strcmp(name, "ip") != 0)
            continue;
        for (size_t j = 1; j < vif_g.sxp->length(c); j++) {
            const char *text = vif_g.sxp->atom_text(vif_g.sxp->nth(c, j));
            if (text == NULL) {
                free(buf);
                return xend_err_set(err, XEND_EINVAL, "vif: invalid ip: not an address");
            }
            char *copy = vif_strdup(text), *save = NULL;
            for (char *tok = strtok_r(copy, " \t", &save); tok;
                 tok = strtok_r(NULL, " \t", &save)) {
                if (!vif_ip_ok(tok)) {
                    int rc = xend_err_set(err, XEND_EINVAL, "vif: invalid ip: %s", tok);
                    free(copy);
                    free(buf);
                    return rc;
                }
                size_t t = strlen(tok);
                buf = realloc(buf, len + t + 2);
                if (buf == NULL)
                    abort();
                if (len)
                    buf[len++] = ' ';
                memcpy(buf + len, tok, t + 1);
                len += t;
            }
            free(copy);
        }
    }
    *out = buf;
    return 0;
}

/*
 * Read a (vif ...) config into *c with the defaults applied. *mac_missing tells whether it
 * has no mac (absent, or the 2.0.0 client's (mac None)); c->mac is "" then.
 */
static int vif_conf_read(const struct xend_sxp *config, struct vif_conf *c, bool *mac_missing,
                         struct xend_err *err)
{
    memset(c, 0, sizeof(*c));
    const char *head = vif_g.sxp->name(config);
    if (head == NULL || strcmp(head, "vif") != 0)
        return xend_err_set(err, XEND_EINVAL, "vif: config must be (vif ...)");

    const char *mac = vif_g.sxp->child_value(config, "mac", NULL);
    *mac_missing = mac == NULL || strcmp(mac, "None") == 0;
    if (!*mac_missing && !vif_mac_norm(mac, c->mac))
        return xend_err_set(err, XEND_EINVAL, "vif: invalid mac: %s", mac);
    if (c->mac[0] && (strtoul(c->mac, NULL, 16) & 1))
        return xend_err_set(err, XEND_EINVAL, "vif: invalid mac: %s (a multicast address)", mac);

    const char *bridge = vif_g.sxp->child_value(config, "bridge", vif_g.bridge);
    if (!vif_ifname_ok(bridge))
        return xend_err_set(err, XEND_EINVAL, "vif: invalid bridge: %s", bridge);
    const char *script = vif_g.sxp->child_value(config, "script", vif_g.script);
    if (script[0] == '\0' || strstr(script, "..") != NULL)
        return xend_err_set(err, XEND_EINVAL, "vif: invalid script: '%s'", script);
    /* xend's own vif-script is trusted; one a device names must be in script-dir. */
    if (strcmp(script, vif_g.script) != 0) {
        int rc = devscript_confine(&vif_g.ds, script, err);
        if (rc < 0)
            return rc;
    }
    const char *vifname = vif_g.sxp->child_value(config, "vifname", NULL);
    if (vifname != NULL && !vif_ifname_ok(vifname))
        return xend_err_set(err, XEND_EINVAL, "vif: invalid vifname: %s", vifname);
    const char *backend = vif_g.sxp->child_value(config, "backend", "0");

    int rc = vif_ips(config, &c->ip, err);
    if (rc < 0)
        return rc;
    c->bridge = vif_strdup(bridge);
    c->script = vif_strdup(script);
    c->vifname = vifname ? vif_strdup(vifname) : NULL;
    c->backend = vif_strdup(backend);
    return 0;
}

/* The mac of a device's stored config, normalised; false when it has none. */
static bool vif_device_mac(const struct xend_device *dev, char out[18])
{
    const char *mac = vif_g.sxp->child_value(vif_g.host->device->config(dev), "mac", NULL);
    return mac != NULL && vif_mac_norm(mac, out);
}

struct vif_dup {
    const char *mac;
    const struct xend_device *self; /* skip this one */
    struct xend_domain *skip_dom;   /* skip devices of this domain (NULL: skip none) */
    const struct xend_device *found;
};

static void vif_dup_fn(struct xend_device *dev, void *arg)
{
    struct vif_dup *d = arg;
    char mac[18];
    if (d->found || dev == d->self)
        return;
    if (d->skip_dom != NULL && vif_g.host->device->domain(dev) == d->skip_dom)
        return;
    if (vif_device_mac(dev, mac) && strcmp(mac, d->mac) == 0)
        d->found = dev;
}

/* The device other than `self` that uses `mac`, or NULL. */
static const struct xend_device *vif_mac_user(const char *mac, const struct xend_device *self,
                                              struct xend_domain *skip_dom)
{
    struct vif_dup d = {.mac = mac, .self = self, .skip_dom = skip_dom};
    vif_g.host->device->foreach ("vif", vif_dup_fn, &d);
    return d.found;
}

static int vif_dup_err(struct xend_err *err, const char *mac, const struct xend_device *other)
{
    struct xend_domain *dom = vif_g.host->device->domain(other);
    if (dom != NULL)
        return xend_err_set(err, XEND_EEXIST, "vif: duplicate mac %s: domain %s (%u) uses it", mac,
                            vif_g.host->domain->name(dom), vif_g.host->domain->id(dom));
    return xend_err_set(err, XEND_EEXIST, "vif: duplicate mac %s", mac);
}

static void vif_random(uint8_t *b, size_t n)
{
    if (getrandom(b, n, GRND_NONBLOCK) == (ssize_t)n)
        return;
    /* No entropy yet (early boot): uniqueness, not secrecy, is what a mac needs. */
    static unsigned seed;
    if (seed == 0)
        seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(rand_r(&seed) >> 7);
}

/* A random mac of OUI aa:00:00 (4th byte < 0x80, as xm made them) unused on the host. */
static int vif_mac_generate(char out[18], struct xend_err *err)
{
    for (int tries = 0; tries < 100; tries++) {
        uint8_t b[3];
        vif_random(b, sizeof(b));
        snprintf(out, 18, "aa:00:00:%02x:%02x:%02x", b[0] & 0x7f, b[1], b[2]);
        if (vif_mac_user(out, NULL, NULL) == NULL)
            return 0;
    }
    return xend_err_set(err, XEND_ELIMIT, "vif: cannot find an unused mac");
}

/* config with its (mac ...) set to mac (in place of a (mac None), else first): owned. */
static struct xend_sxp *vif_config_with_mac(const struct xend_sxp *config, const char *mac)
{
    struct xend_sxp *out = vif_g.sxp->list();
    vif_g.sxp->append_take(out, vif_g.sxp->atom("vif"));
    bool done = false;
    size_t n = vif_g.sxp->length(config);
    if (vif_g.sxp->child(config, "mac") == NULL) {
        vif_g.sxp->add_kv(out, "mac", mac);
        done = true;
    }
    for (size_t i = 1; i < n; i++) {
        const struct xend_sxp *c = vif_g.sxp->nth(config, i);
        const char *name = vif_g.sxp->name(c);
        if (name && strcmp(name, "mac") == 0) {
            if (!done)
                vif_g.sxp->add_kv(out, "mac", mac);
            done = true;
            continue;
        }
        vif_g.sxp->append_take(out, vif_g.sxp->copy(c));
    }
    return out;
}

static int vif_parse(void *ctx, struct xend_domain *dom, const struct xend_sxp *config,
                     struct xend_sxp **normalised, struct xend_err *err)
{
    (void)ctx;
    struct vif_conf c;
    bool mac_missing;
    int rc = vif_conf_read(config, &c, &mac_missing, err);
    if (rc < 0)
        goto out;
    if (vif_g.host->domain->lookup(c.backend) == NULL) {
        rc = xend_err_set(err, XEND_ENOENT, "vif: unknown backend domain: %s", c.backend);
        goto out;
    }
    rc = devscript_check(&vif_g.ds, c.script, err);
    if (rc < 0)
        goto out;
    if (mac_missing) {
        rc = vif_mac_generate(c.mac, err);
        if (rc < 0)
            goto out;
    } else {
        /*
         * A config that is some record's own is a new device: every other vif counts.
         * Otherwise (device_configure's new config) the vifs of `dom` are left out: parse
         * cannot tell a clash from the configured vif's own mac; configure (mac unchanged)
         * and attach (which know the device) decide those.
         */
        const struct xend_device *self = devscript_device_of(&vif_g.ds, "vif", config);
        const struct xend_device *other = vif_mac_user(c.mac, self, self ? NULL : dom);
        if (other != NULL) {
            rc = vif_dup_err(err, c.mac, other);
            goto out;
        }
    }
    const char *given = vif_g.sxp->child_value(config, "mac", NULL);
    if (given == NULL || strcmp(given, c.mac) != 0)
        *normalised = vif_config_with_mac(config, c.mac);
out:
    vif_conf_free(&c);
    return rc;
}

/* ---- back end ---- */

static int vif_backend_attach(struct vif_priv *p, struct xend_err *err)
{
    uint32_t idx = vif_g.host->device->index(p->d.dev);
    snprintf(p->name, sizeof(p->name), "vif%u.%u", p->d.domid, idx);

    struct xend_sxp *params = vif_g.sxp->list();
    vif_g.sxp->append_take(params, vif_g.sxp->atom("vif"));
    vif_g.sxp->add_kv(params, "mac", p->conf.mac);
    vif_g.sxp->add_kv(params, "bridge", p->conf.bridge);
    if (p->conf.vifname)
        vif_g.sxp->add_kv(params, "vifname", p->conf.vifname);
    char name[64] = "";
    int rc =
        devscript_backend_attach(&vif_g.ds, &p->d, "vif", idx, params, name, sizeof(name), err);
    vif_g.sxp->free(params);
    if (rc < 0)
        return xend_err_set(err, -rc, "vif: backend %s cannot attach %s",
                            devscript_backend_name(&vif_g.ds), p->name);
    if (name[0] != '\0')
        snprintf(p->name, sizeof(p->name), "%s", name);
    if (p->conf.vifname)
        snprintf(p->name, sizeof(p->name), "%s", p->conf.vifname);
    p->backend_attached = true;
    return 0;
}

static void vif_backend_detach(struct vif_priv *p)
{
    if (!p->backend_attached)
        return;
    p->backend_attached = false;
    struct xend_err e = {0};
    if (devscript_backend_detach(&vif_g.ds, &p->d, "vif", vif_g.host->device->index(p->d.dev), &e) <
        0)
        vif_log(XEND_LOG_WARN, "vif detach failed", "vif=%s domain=%s error=\"%s\"", p->name,
                p->d.domname, xend_err_msg(&e));
}

/* ---- scripts ---- */

static void vif_script_done(const struct xend_spawn_result *res, void *arg);

/* Run the vif script of `c` with action up/down for p, as job's step. */
static int vif_script(struct vif_priv *p, const struct vif_conf *c, const char *action,
                      struct vif_job *job, struct xend_err *err)
{
    char domain[96], vif[80], mac[32], bridge[48];
    snprintf(domain, sizeof(domain), "domain=%s", p->d.domname);
    snprintf(vif, sizeof(vif), "vif=%s", p->name);
    snprintf(mac, sizeof(mac), "mac=%s", c->mac);
    snprintf(bridge, sizeof(bridge), "bridge=%s", c->bridge);
    char *path = devscript_path(&vif_g.ds, c->script);
    char *ip = NULL;
    /* No shell runs it, so the value goes as one argument without the quotes of the
     * documented form ip="A B": exactly what a script saw after the 2.0 shell split. */
    if (c->ip[0] != '\0' && asprintf(&ip, "ip=%s", c->ip) < 0)
        abort();
    const char *argv[] = {path, action, domain, vif, mac, bridge, ip, NULL};
    int rc = devscript_run_job(&vif_g.ds, &job->j, c->script, argv, vif_script_done, err);
    free(ip);
    free(path);
    return rc;
}

static struct vif_job *vif_job_new(struct vif_priv *p, struct xend_op *op, enum vif_step step)
{
    return devscript_job_new(&p->d, op, step, sizeof(struct vif_job));
}

static void vif_job_free(struct vif_job *job)
{
    vif_conf_free(&job->next);
    free(job);
}

static const char *vif_step_action(enum vif_step step)
{
    return step == VIF_STEP_DOWN || step == VIF_STEP_CONF_DOWN ? "down" : "up";
}

static void vif_conf_move(struct vif_conf *dst, struct vif_conf *src)
{
    vif_conf_free(dst);
    *dst = *src;
    memset(src, 0, sizeof(*src));
}

static void vif_script_done(const struct xend_spawn_result *res, void *arg)
{
    struct vif_job *job = arg;
    struct vif_priv *p = (struct vif_priv *)job->j.owner;
    const char *action = vif_step_action(job->j.step);
    bool ok = devscript_ok(res);
    devscript_log(&vif_g.ds,
                  job->j.step == VIF_STEP_UP || job->j.step == VIF_STEP_CONF_UP ? XEND_LOG_ERROR
                                                                                : XEND_LOG_WARN,
                  job->j.script, action, res);
    if (p == NULL) {
        /* The device was detached or released while its script ran: nothing to update. */
        struct xend_op *op = job->j.op;
        int rc = devscript_job_cancelled(&vif_g.ds, &job->j, action);
        vif_job_free(job);
        vif_g.host->loop->op_complete(op, rc);
        return;
    }
    p->d.job = NULL;
    struct xend_err *err = vif_g.host->loop->op_err(job->j.op);
    char *path = devscript_path(&vif_g.ds, job->j.script);
    int rc = 0;

    switch (job->j.step) {
    case VIF_STEP_UP:
        if (ok) {
            p->up = true;
            vif_log(XEND_LOG_INFO, "vif up", "domain=%s vif=%s mac=%s bridge=%s", p->d.domname,
                    p->name, p->conf.mac, p->conf.bridge);
        } else {
            /* Undo the back end; the core rolls back the devices attached before it. */
            rc = devscript_fail(&vif_g.ds, err, path, action, res);
            vif_backend_detach(p);
        }
        break;
    case VIF_STEP_DOWN:
        /* A failing down is logged (above) only: the device goes anyway. */
        p->up = false;
        vif_backend_detach(p);
        vif_log(XEND_LOG_INFO, "vif down", "domain=%s vif=%s", p->d.domname, p->name);
        break;
    case VIF_STEP_CONF_DOWN:
        p->up = false;
        job->j.step = VIF_STEP_CONF_UP;
        if (vif_script(p, &job->next, "up", job, err) == 0) {
            free(path);
            return;
        }
        rc = -err->code;
        job->j.rc = rc;
        job->j.step = VIF_STEP_CONF_UNDO;
        if (vif_script(p, &p->conf, "up", job, NULL) == 0) {
            free(path);
            return;
        }
        break;
    case VIF_STEP_CONF_UP:
        if (ok) {
            p->up = true;
            vif_conf_move(&p->conf, &job->next);
            vif_log(XEND_LOG_INFO, "vif configured", "domain=%s vif=%s bridge=%s", p->d.domname,
                    p->name, p->conf.bridge);
            break;
        }
        job->j.rc = devscript_fail(&vif_g.ds, err, path, action, res);
        job->j.step = VIF_STEP_CONF_UNDO;
        if (vif_script(p, &p->conf, "up", job, NULL) == 0) {
            free(path);
            return;
        }
        rc = job->j.rc;
        break;
    case VIF_STEP_CONF_UNDO:
        /* Back on the old settings (or not: logged above); report why configure failed. */
        p->up = ok;
        rc = job->j.rc;
        break;
    }
    free(path);
    struct xend_op *op = job->j.op;
    vif_job_free(job);
    vif_g.host->loop->op_complete(op, rc);
}

/* ---- device ops ---- */

static struct vif_priv *vif_priv_get(struct xend_device *dev)
{
    return devscript_dev_get(&vif_g.ds, dev, sizeof(struct vif_priv));
}

static void vif_attach(void *ctx, struct xend_device *dev, struct xend_op *op)
{
    (void)ctx;
    struct xend_err *err = vif_g.host->loop->op_err(op);
    struct vif_priv *p = vif_priv_get(dev);
    devscript_job_orphan(&p->d);

    /* The stored config is the truth: a restart attaches what configure left there. */
    struct vif_conf c;
    bool mac_missing;
    int rc = vif_conf_read(vif_g.host->device->config(dev), &c, &mac_missing, err);
    if (rc == 0 && mac_missing)
        rc = xend_err_set(err, XEND_EINVAL, "vif: missing mac");
    const struct xend_device *other = rc == 0 ? vif_mac_user(c.mac, dev, NULL) : NULL;
    if (other != NULL)
        rc = vif_dup_err(err, c.mac, other);
    if (rc < 0) {
        vif_conf_free(&c);
        vif_g.host->loop->op_complete(op, rc);
        return;
    }
    vif_conf_move(&p->conf, &c);

    rc = vif_backend_attach(p, err);
    if (rc == 0) {
        struct vif_job *job = vif_job_new(p, op, VIF_STEP_UP);
        rc = vif_script(p, &p->conf, "up", job, err);
        if (rc < 0) {
            vif_job_free(job);
            vif_backend_detach(p);
        }
    }
    if (rc < 0)
        vif_g.host->loop->op_complete(op, rc);
}

static void vif_detach(void *ctx, struct xend_device *dev, enum xend_dev_reason reason,
                       struct xend_op *op)
{
    (void)ctx;
    struct vif_priv *p = vif_g.host->device->priv(dev);
    if (p == NULL) {
        vif_g.host->loop->op_complete(op, 0);
        return;
    }
    if (p->d.job) {
        vif_log(XEND_LOG_WARN, "vif detach while busy", "vif=%s domain=%s", p->name, p->d.domname);
        devscript_job_orphan(&p->d);
    }
    vif_log(XEND_LOG_DEBUG, "vif detach", "vif=%s domain=%s reason=%d", p->name, p->d.domname,
            (int)reason);
    if (p->up) {
        struct xend_err e = {0};
        struct vif_job *job = vif_job_new(p, op, VIF_STEP_DOWN);
        if (vif_script(p, &p->conf, "down", job, &e) == 0)
            return;
        vif_job_free(job);
        vif_log(XEND_LOG_WARN, "vif down failed", "vif=%s error=\"%s\"", p->name, xend_err_msg(&e));
        p->up = false;
    }
    vif_backend_detach(p);
    vif_g.host->loop->op_complete(op, 0);
}

static bool vif_str_eq(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void vif_configure(void *ctx, struct xend_device *dev, const struct xend_sxp *new_config,
                          struct xend_op *op)
{
    (void)ctx;
    struct xend_err *err = vif_g.host->loop->op_err(op);
    struct vif_priv *p = vif_priv_get(dev);
    if (p->conf.bridge == NULL) {
        /* Never attached by us (a domain that is not running): nothing to change yet. */
        vif_g.host->loop->op_complete(op, 0);
        return;
    }
    if (p->d.job) {
        vif_g.host->loop->op_complete(op,
                                      xend_err_set(err, XEND_EBUSY, "vif: %s is busy", p->name));
        return;
    }
    struct vif_conf c;
    bool mac_missing;
    int rc = vif_conf_read(new_config, &c, &mac_missing, err);
    if (rc == 0 && mac_missing)
        snprintf(c.mac, sizeof(c.mac), "%s", p->conf.mac);
    if (rc == 0 && strcmp(c.mac, p->conf.mac) != 0)
        rc = xend_err_set(err, XEND_EINVAL, "vif: cannot change mac");
    if (rc == 0 && strcmp(c.backend, p->conf.backend) != 0)
        rc = xend_err_set(err, XEND_EINVAL, "vif: cannot change backend");
    if (rc == 0 && !vif_str_eq(c.vifname, p->conf.vifname))
        rc = xend_err_set(err, XEND_EINVAL, "vif: cannot change vifname");
    if (rc == 0)
        rc = devscript_check(&vif_g.ds, c.script, err);
    if (rc < 0) {
        vif_conf_free(&c);
        vif_g.host->loop->op_complete(op, rc);
        return;
    }
    if (!p->up || (strcmp(c.bridge, p->conf.bridge) == 0 && strcmp(c.script, p->conf.script) == 0 &&
                   strcmp(c.ip, p->conf.ip) == 0)) {
        /* Nothing runs: the next up uses the new settings. */
        vif_conf_move(&p->conf, &c);
        vif_g.host->loop->op_complete(op, 0);
        return;
    }
    struct vif_job *job = vif_job_new(p, op, VIF_STEP_CONF_DOWN);
    vif_conf_move(&job->next, &c);
    struct xend_err e = {0};
    if (vif_script(p, &p->conf, "down", job, &e) == 0)
        return;
    /* The old down cannot even start: go on with the new up, as a failed down would. */
    vif_log(XEND_LOG_WARN, "vif down failed", "vif=%s error=\"%s\"", p->name, xend_err_msg(&e));
    job->j.step = VIF_STEP_CONF_UP;
    rc = vif_script(p, &job->next, "up", job, err);
    if (rc < 0) {
        vif_job_free(job);
        vif_g.host->loop->op_complete(op, rc);
    }
}

static struct xend_sxp *vif_describe(void *ctx, struct xend_device *dev)
{
    (void)ctx;
    struct vif_priv *p = vif_g.host->device->priv(dev);
    uint32_t idx = vif_g.host->device->index(dev);
    struct vif_conf tmp = {0};
    const struct vif_conf *c = p && p->conf.bridge ? &p->conf : NULL;
    char name[64];
    if (p && p->name[0]) {
        snprintf(name, sizeof(name), "%s", p->name);
    } else {
        struct xend_domain *dom = vif_g.host->device->domain(dev);
        snprintf(name, sizeof(name), "vif%u.%u", dom ? vif_g.host->domain->id(dom) : 0, idx);
    }
    if (c == NULL) {
        bool missing;
        struct xend_err e = {0};
        vif_conf_read(vif_g.host->device->config(dev), &tmp, &missing, &e);
        if (tmp.vifname)
            snprintf(name, sizeof(name), "%s", tmp.vifname);
        c = &tmp;
    }
    struct xend_sxp *out = vif_g.sxp->list();
    vif_g.sxp->append_take(out, vif_g.sxp->atom("vif"));
    vif_g.sxp->add_kv_int(out, "idx", idx);
    /* 2.0's record: (vif N) is the number scripts read with int(); the back end's name, which
     * a vifname may choose, is (vifname ...). */
    vif_g.sxp->add_kv_int(out, "vif", idx);
    vif_g.sxp->add_kv(out, "vifname", name);
    if (c->mac[0])
        vif_g.sxp->add_kv(out, "mac", c->mac);
    if (c->bridge)
        vif_g.sxp->add_kv(out, "bridge", c->bridge);
    if (c->script)
        vif_g.sxp->add_kv(out, "script", c->script);
    if (c->ip) {
        char *copy = vif_strdup(c->ip), *save = NULL;
        for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save))
            vif_g.sxp->add_kv(out, "ip", t);
        free(copy);
    }
    vif_g.sxp->add_kv_int(out, "index", idx);
    vif_conf_free(&tmp);
    return out;
}

static int vif_reattach(void *ctx, struct xend_device *dev, const struct xend_sxp *state,
                        struct xend_err *err)
{
    (void)ctx;
    struct vif_priv *p = vif_priv_get(dev);
    struct vif_conf c;
    bool mac_missing;
    int rc = vif_conf_read(vif_g.host->device->config(dev), &c, &mac_missing, err);
    if (rc < 0)
        return rc;
    if (mac_missing) {
        vif_conf_free(&c);
        return xend_err_set(err, XEND_EINVAL, "vif: missing mac");
    }
    /* What the scripts ran with last time is what a down must undo. */
    const char *name = state ? vif_g.sxp->child_value(state, "vifname", NULL) : NULL;
    if (name == NULL && state) { /* a record written before (vifname) held the name in (vif) */
        name = vif_g.sxp->child_value(state, "vif", NULL);
        if (name && name[0] >= '0' && name[0] <= '9')
            name = NULL; /* 2.0's number, not a name */
    }
    const char *bridge = state ? vif_g.sxp->child_value(state, "bridge", NULL) : NULL;
    const char *script = state ? vif_g.sxp->child_value(state, "script", NULL) : NULL;
    if (bridge && vif_ifname_ok(bridge)) {
        free(c.bridge);
        c.bridge = vif_strdup(bridge);
    }
    if (script && script[0] && strstr(script, "..") == NULL) {
        free(c.script);
        c.script = vif_strdup(script);
    }
    vif_conf_move(&p->conf, &c);
    if (name && vif_ifname_ok(name))
        snprintf(p->name, sizeof(p->name), "%s", name);
    else if (p->conf.vifname)
        snprintf(p->name, sizeof(p->name), "%s", p->conf.vifname);
    else
        snprintf(p->name, sizeof(p->name), "vif%u.%u", p->d.domid, vif_g.host->device->index(dev));
    p->backend_attached = true;
    p->up = true;
    vif_log(XEND_LOG_INFO, "vif reattached", "domain=%s vif=%s mac=%s", p->d.domname, p->name,
            p->conf.mac);
    return 0;
}

static void vif_free(void *ctx, struct xend_device *dev)
{
    (void)ctx;
    struct vif_priv *p = vif_g.host->device->priv(dev);
    if (p == NULL)
        return;
    devscript_job_orphan(&p->d);
    vif_conf_free(&p->conf);
    free(p);
    vif_g.host->device->priv_set(dev, NULL);
}

static const struct xend_device_ops vif_ops = {
    XEND_DEVICE_OPS_INIT,
    .name = "vif",
    .flags = XEND_DEVICE_HOTPLUG | XEND_DEVICE_MIGRATABLE,
    .parse = vif_parse,
    .attach = vif_attach,
    .detach = vif_detach,
    .describe = vif_describe,
    .reattach = vif_reattach,
    .configure = vif_configure,
    .free = vif_free,
};

/* ---- the network script ---- */

static void vif_network_done(const struct xend_spawn_result *res, void *arg)
{
    const char *action = arg;
    devscript_log(&vif_g.ds, XEND_LOG_ERROR, vif_g.network_script, action, res);
}

static int vif_network_hook(const struct xend_hook_event *ev, void *arg)
{
    (void)arg;
    if (vif_g.network_script[0] == '\0')
        return 0;
    const char *action = ev->point == XEND_HOOK_XEND_START ? "start" : "stop";
    char bridge[48];
    snprintf(bridge, sizeof(bridge), "bridge=%s", vif_g.bridge);
    char *path = devscript_path(&vif_g.ds, vif_g.network_script);
    const char *argv[] = {path, action, bridge, vif_g.antispoof ? "antispoof=yes" : "antispoof=no",
                          NULL};
    struct xend_err e = {0};
    if (ev->point == XEND_HOOK_XEND_STOP)
        /* xend is stopping: the loop no longer runs, and a child left behind is killed. */
        devscript_run_sync(&vif_g.ds, argv, vif_g.network_script, action);
    else if (devscript_run(&vif_g.ds, argv, vif_network_done, (void *)action, &e) < 0)
        vif_log(XEND_LOG_ERROR, "network script failed", "error=\"%s\"", xend_err_msg(&e));
    free(path);
    return 0;
}

/* ---- plugin ---- */

static int vif_init(struct xend_plugin *self, const struct xend_host *host)
{
    memset(&vif_g, 0, sizeof(vif_g));
    vif_g.self = self;
    vif_g.host = host;
    vif_g.sxp = host->sxp;
    struct xend_err err = {0};
    int rc = devscript_setup(&vif_g.ds, self, host, "vif", &err);
    if (rc == 0)
        rc = host->config->get_str(self, "vif-bridge", "xen-br0", &vif_g.bridge, &err);
    if (rc == 0)
        rc = host->config->get_str(self, "vif-script", "vif-bridge", &vif_g.script, &err);
    if (rc == 0)
        rc = host->config->get_str(self, "network-script", "network", &vif_g.network_script, &err);
    if (rc == 0)
        rc = host->config->get_bool(self, "vif-antispoof", true, &vif_g.antispoof, &err);
    if (rc == 0 && !vif_ifname_ok(vif_g.bridge))
        rc = xend_err_set(&err, XEND_EINVAL, "vif-bridge: invalid bridge name '%s'", vif_g.bridge);
    if (rc == 0)
        rc = host->device->class_add(self, &vif_ops, NULL);
    if (rc == 0)
        rc = host->domain->hook_add(self, XEND_HOOK_XEND_START, vif_network_hook, NULL);
    if (rc == 0)
        rc = host->domain->hook_add(self, XEND_HOOK_XEND_STOP, vif_network_hook, NULL);
    if (rc < 0)
        host->plugin_err_set(self, "%s", err.code ? xend_err_msg(&err) : xend_strerror(rc));
    return rc;
}

XEND_PLUGIN(.name = "vif", .version = "1.0",
            .description = "virtual network interfaces (vifD.N), vif and network scripts",
            .license = "GPL-2.0", .init = vif_init);
