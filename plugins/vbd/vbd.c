/*
 * vbd: virtual block devices as a device class.
 *
 * A vbd exports something of the driver domain to a guest as a block device named `dev`
 * (sda1, hda1, xvda). `uname` says what: phy:DEV, a block device of the host (checked to
 * exist); file:PATH, bound to a loop device by the block-file script; TYPE:PARAMS, any other
 * kind, bound by the script block-TYPE in script-dir (so a site adds a kind by adding a
 * script; config `block-TYPE` renames the script of file and enbd). A bind script prints
 * the node on its first output line and is called again with `unbind NODE` on detach.
 * Sharing follows Xen's rules: a segment in writable use (another vbd with mode w, or
 * mounted read-write here) cannot be used again, one in read-only use cannot be used
 * writable, unless the mode has `!`; a guest device name is unique within a domain.
 *
 * It must never bind or release a block device itself (the scripts do), run a shell, or
 * block the loop waiting for a script.
 */
#include <ctype.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <xend/host.h>

#include "devscript.h"
#include "vbd_allow.h"

/* What a vbd's config says, checked and with the defaults applied. */
struct vbd_conf {
    char *uname;   /* owned: "phy:sda1" */
    char *type;    /* owned: "phy" */
    char *params;  /* owned: "sda1" */
    char *dev;     /* owned: the guest's name for it, "sda1" */
    char *mode;    /* owned: "r", "w", "r!" or "w!" */
    char *backend; /* owned: the driver domain, "0" by default */
    uint32_t vdev; /* Linux device number of dev */
    bool writable; /* mode w */
    bool force;    /* mode has '!': no sharing checks */
};

/* The step of a script job (struct devscript_job: a vbd needs nothing more in it). */
enum vbd_step {
    VBD_STEP_BIND,   /* attach: the script's bind */
    VBD_STEP_UNBIND, /* detach: the script's unbind */
    VBD_STEP_UNDO,   /* attach failed after bind: unbind, then report job->rc */
};

/* Per device (host->device->priv). */
struct vbd_priv {
    struct devscript_dev d; /* first: device, domain, the job in flight */
    struct vbd_conf conf;
    char *node;    /* owned: what the guest's back end reads, "/dev/loop0"; NULL before bind */
    bool bound;    /* a bind script ran and its unbind did not */
    bool attached; /* the backend has it */
};

static struct {
    struct xend_plugin *self;
    const struct xend_host *host;
    const struct xend_host_sxp *sxp; /* host->sxp, the table most used */
    struct devscript ds;
    struct vbd_allow allow;    /* vbd-allow: which unames may be writable */
    struct vbd_allow allow_op; /* vbd-allow-operator: and for a caller below admin */
} vbd_g;

#define vbd_log(...) devscript_logf(&vbd_g.ds, __VA_ARGS__)

static char *vbd_strdup(const char *s)
{
    char *d = strdup(s);
    if (d == NULL)
        abort();
    return d;
}

static char *vbd_strndup(const char *s, size_t n)
{
    char *d = strndup(s, n);
    if (d == NULL)
        abort();
    return d;
}

static void vbd_conf_free(struct vbd_conf *c)
{
    free(c->uname);
    free(c->type);
    free(c->params);
    free(c->dev);
    free(c->mode);
    free(c->backend);
    memset(c, 0, sizeof(*c));
}

/* ---- device numbers ---- */

/* The kernel's encoding of a device number (new_encode_dev): major*256+minor for the
 * classic numbers, the same value Xen 2.0 reported. */
static uint32_t vbd_encode(unsigned maj, unsigned min)
{
    return (min & 0xffu) | (maj << 8) | ((min & ~0xffu) << 12);
}

/* "sda1" -> disk 0, partition 1 for prefix "sd"; disks a..z, then aa..zz (26...). */
static bool vbd_disk_part(const char *name, const char *prefix, unsigned *disk, unsigned *part)
{
    size_t n = strlen(prefix);
    if (strncmp(name, prefix, n) != 0)
        return false;
    const char *p = name + n;
    size_t letters = 0;
    while (p[letters] >= 'a' && p[letters] <= 'z')
        letters++;
    if (letters == 1)
        *disk = (unsigned)(p[0] - 'a');
    else if (letters == 2)
        *disk = 26 + (unsigned)(p[0] - 'a') * 26 + (unsigned)(p[1] - 'a');
    else
        return false;
    p += letters;
    if (*p == '0')
        return false;
    unsigned pt = 0;
    for (; *p; p++) {
        if (!isdigit((unsigned char)*p) || pt > 1000)
            return false;
        pt = pt * 10 + (unsigned)(*p - '0');
    }
    *part = pt;
    return true;
}

/*
 * The Linux device number of a guest device name, from the names' fixed numbering (never
 * from this host's /dev): hdX (IDE), sdX (SCSI), xvdX (Xen), "/dev/" allowed in front;
 * else hexadecimal ("0x801" or "801"), as Xen 2.0 read it. False when it is none of these.
 */
static bool vbd_vdev(const char *name, uint32_t *out)
{
    static const unsigned ide_major[] = {3, 22, 33, 34, 56, 57, 88, 89, 90, 91};
    unsigned disk, part;
    if (strncmp(name, "/dev/", 5) == 0)
        name += 5;
    if (vbd_disk_part(name, "hd", &disk, &part)) {
        if (disk >= 2 * sizeof(ide_major) / sizeof(ide_major[0]) || part > 63)
            return false;
        *out = vbd_encode(ide_major[disk / 2], (disk % 2) * 64 + part);
        return true;
    }
    if (vbd_disk_part(name, "sd", &disk, &part)) {
        if (disk >= 256 || part > 15)
            return false;
        unsigned maj = disk < 16 ? 8 : disk < 128 ? 64 + disk / 16 : 128 + (disk - 128) / 16;
        *out = vbd_encode(maj, (disk % 16) * 16 + part);
        return true;
    }
    if (vbd_disk_part(name, "xvd", &disk, &part)) {
        if (disk >= 16 || part > 15)
            return false;
        *out = vbd_encode(202, disk * 16 + part);
        return true;
    }
    const char *h = name;
    if (h[0] == '0' && (h[1] == 'x' || h[1] == 'X'))
        h += 2;
    if (*h == '\0' || strlen(h) > 8)
        return false;
    for (const char *c = h; *c; c++)
        if (!isxdigit((unsigned char)*c))
            return false;
    *out = (uint32_t)strtoul(h, NULL, 16);
    return true;
}

/* ---- config ---- */

/* phy:DEV names /dev/DEV unless DEV is a path. Owned. */
static char *vbd_phy_path(const char *params)
{
    char *path;
    if (asprintf(&path, "%s%s", params[0] == '/' ? "" : "/dev/", params) < 0)
        abort();
    return path;
}

static bool vbd_type_ok(const char *t)
{
    if (*t == '\0' || strlen(t) > 32)
        return false;
    for (; *t; t++)
        if (!isalnum((unsigned char)*t) && *t != '_' && *t != '-')
            return false;
    return true;
}

/*
 * The script that binds TYPE: config `block-TYPE`, default "block-TYPE". block-file and
 * block-enbd are looked up at init, so that the config may set them (a key nobody looked
 * up by then is a startup error); other types get their default name.
 */
static char *vbd_script_name(const char *type)
{
    char *key;
    if (asprintf(&key, "block-%s", type) < 0)
        abort();
    const char *name = key;
    struct xend_err err = {0};
    if (vbd_g.host->config->get_str(vbd_g.self, key, key, &name, &err) < 0)
        name = key;
    char *out = vbd_strdup(name);
    free(key);
    return out;
}

/* Read a (vbd ...) config into *c: the checks that need nothing but the config. */
static int vbd_conf_read(const struct xend_sxp *config, struct vbd_conf *c, struct xend_err *err)
{
    memset(c, 0, sizeof(*c));
    const char *head = vbd_g.sxp->name(config);
    if (head == NULL || strcmp(head, "vbd") != 0)
        return xend_err_set(err, XEND_EINVAL, "vbd: config must be (vbd ...)");
    const char *uname = vbd_g.sxp->child_value(config, "uname", NULL);
    if (uname == NULL || uname[0] == '\0')
        return xend_err_set(err, XEND_EINVAL, "vbd: Missing uname");
    const char *dev = vbd_g.sxp->child_value(config, "dev", NULL);
    if (dev == NULL || dev[0] == '\0')
        return xend_err_set(err, XEND_EINVAL, "vbd: Missing dev");
    const char *colon = strchr(uname, ':');
    if (colon == NULL || colon == uname || colon[1] == '\0')
        return xend_err_set(err, XEND_EINVAL, "vbd: Invalid uname: %s (want TYPE:PARAMS)", uname);
    char *type = vbd_strndup(uname, (size_t)(colon - uname));
    if (!vbd_type_ok(type)) {
        free(type);
        return xend_err_set(err, XEND_EINVAL, "vbd: Invalid uname: %s", uname);
    }
    /* A bare w! reads as (mode w !) (the SXP reader ends atoms at '!'): join the atoms. */
    char mode[8] = "r";
    const struct xend_sxp *mc = vbd_g.sxp->child(config, "mode");
    if (mc != NULL) {
        mode[0] = '\0';
        for (size_t i = 1; i < vbd_g.sxp->length(mc); i++) {
            const char *t = vbd_g.sxp->atom_text(vbd_g.sxp->nth(mc, i));
            if (t == NULL || strlen(mode) + strlen(t) >= sizeof(mode)) {
                snprintf(mode, sizeof(mode), "?");
                break;
            }
            size_t used = strlen(mode);
            snprintf(mode + used, sizeof(mode) - used, "%s", t);
        }
    }
    if (strcmp(mode, "r") != 0 && strcmp(mode, "w") != 0 && strcmp(mode, "r!") != 0 &&
        strcmp(mode, "w!") != 0) {
        free(type);
        return xend_err_set(err, XEND_EINVAL, "vbd: Invalid mode: %s (want r, w, r! or w!)", mode);
    }
    uint32_t vdev;
    if (!vbd_vdev(dev, &vdev)) {
        free(type);
        return xend_err_set(err, XEND_EINVAL, "vbd: Invalid dev: %s", dev);
    }
    c->uname = vbd_strdup(uname);
    c->type = type;
    c->params = vbd_strdup(colon + 1);
    c->dev = vbd_strdup(dev);
    c->mode = vbd_strdup(mode);
    c->backend = vbd_strdup(vbd_g.sxp->child_value(config, "backend", "0"));
    c->vdev = vdev;
    c->writable = mode[0] == 'w';
    c->force = mode[1] == '!';
    return 0;
}

/* ---- segments and sharing ---- */

/* What a vbd exports, for the sharing rules: a block device, a file, or (other types,
 * which only their script understands) the uname itself. */
struct vbd_seg {
    enum { VBD_SEG_BLOCK, VBD_SEG_FILE, VBD_SEG_NAME } kind;
    dev_t rdev; /* BLOCK */
    dev_t fdev; /* FILE: st_dev and st_ino */
    ino_t ino;
    const char *name; /* NAME: the uname, borrowed from the conf */
};

/* The segment of c; -XEND_ENOENT with "vbd: Device not found: X" when phy or file names
 * nothing usable. */
static int vbd_seg(const struct vbd_conf *c, struct vbd_seg *seg, struct xend_err *err)
{
    struct stat st;
    memset(seg, 0, sizeof(*seg));
    if (strcmp(c->type, "phy") == 0) {
        char *path = vbd_phy_path(c->params);
        int rc = stat(path, &st);
        free(path);
        if (rc != 0 || !S_ISBLK(st.st_mode))
            return xend_err_set(err, XEND_ENOENT, "vbd: Device not found: %s", c->params);
        seg->kind = VBD_SEG_BLOCK;
        seg->rdev = st.st_rdev;
        return 0;
    }
    if (strcmp(c->type, "file") == 0) {
        if (c->params[0] != '/')
            return xend_err_set(err, XEND_EINVAL,
                                "vbd: Invalid uname: %s (the file must be "
                                "an absolute path)",
                                c->uname);
        if (stat(c->params, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)))
            return xend_err_set(err, XEND_ENOENT, "vbd: Device not found: %s", c->params);
        seg->kind = VBD_SEG_FILE;
        seg->fdev = st.st_dev;
        seg->ino = st.st_ino;
        return 0;
    }
    seg->kind = VBD_SEG_NAME;
    seg->name = c->uname;
    return 0;
}

static bool vbd_seg_same(const struct vbd_seg *a, const struct vbd_seg *b)
{
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case VBD_SEG_BLOCK:
        return a->rdev == b->rdev;
    case VBD_SEG_FILE:
        return a->fdev == b->fdev && a->ino == b->ino;
    case VBD_SEG_NAME:
        return strcmp(a->name, b->name) == 0;
    }
    return false;
}

struct vbd_check {
    const struct vbd_conf *conf;
    const struct vbd_seg *seg;
    const struct xend_device *self;
    struct xend_domain *dom;
    struct xend_err *err;
    int rc;
};

static void vbd_check_fn(struct xend_device *dev, void *arg)
{
    struct vbd_check *k = arg;
    if (k->rc < 0 || dev == k->self)
        return;
    struct vbd_conf o;
    struct xend_err ignore = {0};
    if (vbd_conf_read(vbd_g.host->device->config(dev), &o, &ignore) < 0)
        return;
    struct xend_domain *odom = vbd_g.host->device->domain(dev);
    if (odom == k->dom && o.vdev == k->conf->vdev) {
        if (k->dom != NULL)
            k->rc = xend_err_set(k->err, XEND_EEXIST, "vbd: device %s already in use in domain %u",
                                 k->conf->dev, vbd_g.host->domain->id(k->dom));
        else
            k->rc = xend_err_set(k->err, XEND_EEXIST,
                                 "vbd: device %s already in use in this domain", k->conf->dev);
    }
    struct vbd_seg oseg;
    if (k->rc < 0 || k->conf->force || vbd_seg(&o, &oseg, &ignore) < 0 ||
        !vbd_seg_same(k->seg, &oseg)) {
        vbd_conf_free(&o);
        return;
    }
    const char *holder = odom ? vbd_g.host->domain->name(odom) : "?";
    if (o.writable) {
        k->rc =
            xend_err_set(k->err, XEND_EBUSY, "vbd: Segment %s is in writable use", k->conf->uname);
        vbd_log(XEND_LOG_INFO, "vbd refused", "uname=%s holder=%s holder_mode=%s", k->conf->uname,
                holder, o.mode);
    } else if (k->conf->writable) {
        k->rc =
            xend_err_set(k->err, XEND_EBUSY, "vbd: Segment %s is in read-only use", k->conf->uname);
        vbd_log(XEND_LOG_INFO, "vbd refused", "uname=%s holder=%s holder_mode=%s", k->conf->uname,
                holder, o.mode);
    }
    vbd_conf_free(&o);
}

/* A block device mounted here counts as a user too (Xen 2.0 read `mount` for this). */
static int vbd_check_mounts(const struct vbd_conf *c, const struct vbd_seg *seg,
                            struct xend_err *err)
{
    if (c->force || seg->kind != VBD_SEG_BLOCK)
        return 0;
    FILE *f = setmntent("/proc/self/mounts", "r");
    if (f == NULL)
        return 0;
    int rc = 0;
    struct mntent *m;
    while (rc == 0 && (m = getmntent(f)) != NULL) {
        struct stat st;
        if (m->mnt_fsname[0] != '/' || stat(m->mnt_fsname, &st) != 0 || !S_ISBLK(st.st_mode) ||
            st.st_rdev != seg->rdev)
            continue;
        if (hasmntopt(m, "rw") != NULL)
            rc = xend_err_set(err, XEND_EBUSY, "vbd: Segment %s is in writable use", c->uname);
        else if (c->writable)
            rc = xend_err_set(err, XEND_EBUSY, "vbd: Segment %s is in read-only use", c->uname);
        if (rc < 0)
            vbd_log(XEND_LOG_INFO, "vbd refused", "uname=%s mounted_on=%s", c->uname, m->mnt_dir);
    }
    endmntent(f);
    return rc;
}

static int vbd_parse(void *ctx, struct xend_domain *dom, const struct xend_sxp *config,
                     struct xend_sxp **normalised, struct xend_err *err)
{
    (void)ctx;
    (void)normalised;
    struct vbd_conf c;
    int rc = vbd_conf_read(config, &c, err);
    if (rc < 0)
        return rc;
    struct vbd_seg seg;
    if (vbd_g.host->domain->lookup(c.backend) == NULL)
        rc = xend_err_set(err, XEND_ENOENT, "vbd: unknown backend domain: %s", c.backend);
    if (rc == 0)
        rc = vbd_seg(&c, &seg, err);
    /* A caller below admin (the role xend acts for: the request's) is held to its own
     * patterns for every uname it names: read-only, a host file is still handed to the
     * guest to read (/etc/shadow). */
    int role = devscript_caller_role(&vbd_g.ds);
    if (rc == 0 && (c.writable || role != XEND_ROLE_ADMIN)) {
        char *phy = strcmp(c.type, "phy") == 0 ? vbd_phy_path(c.params) : NULL;
        if (c.writable)
            rc = vbd_allow_check(&vbd_g.allow, c.uname, c.type, c.params, phy, err);
        if (rc == 0 && role != XEND_ROLE_ADMIN) {
            rc = vbd_allow_check(&vbd_g.allow_op, c.uname, c.type, c.params, phy, err);
            if (rc < 0)
                vbd_log(XEND_LOG_INFO, "vbd refused", "uname=%s role=%s reason=vbd-allow-operator",
                        c.uname, xend_role_name(role));
        }
        free(phy);
    }
    if (rc == 0 && strcmp(c.type, "phy") != 0) {
        char *script = vbd_script_name(c.type);
        rc = devscript_check(&vbd_g.ds, script, err);
        free(script);
    }
    if (rc == 0) {
        const struct xend_device *self = devscript_device_of(&vbd_g.ds, "vbd", config);
        struct vbd_check k = {.conf = &c, .seg = &seg, .self = self, .dom = dom, .err = err};
        vbd_g.host->device->foreach ("vbd", vbd_check_fn, &k);
        rc = k.rc;
    }
    if (rc == 0)
        rc = vbd_check_mounts(&c, &seg, err);
    vbd_conf_free(&c);
    return rc;
}

/* ---- back end ---- */

static int vbd_backend_attach(struct vbd_priv *p, struct xend_err *err)
{
    char mode[2] = {p->conf.writable ? 'w' : 'r', '\0'};
    struct xend_sxp *params = vbd_g.sxp->list();
    vbd_g.sxp->append_take(params, vbd_g.sxp->atom("vbd"));
    vbd_g.sxp->add_kv(params, "node", p->node);
    vbd_g.sxp->add_kv(params, "dev", p->conf.dev);
    vbd_g.sxp->add_kv_int(params, "vdev", p->conf.vdev);
    vbd_g.sxp->add_kv(params, "mode", mode);
    char name[128] = "";
    /* The devid is the virtual device number, as Xen names vbds (device/vbd/2049). */
    int rc = devscript_backend_attach(&vbd_g.ds, &p->d, "vbd", p->conf.vdev, params, name,
                                      sizeof(name), err);
    vbd_g.sxp->free(params);
    if (rc < 0)
        return xend_err_set(err, -rc, "vbd: backend %s cannot attach %s as %s",
                            devscript_backend_name(&vbd_g.ds), p->node, p->conf.dev);
    vbd_log(XEND_LOG_DEBUG, "vbd backend", "domain=%s dev=%s node=%s backend_name=%s", p->d.domname,
            p->conf.dev, p->node, name);
    p->attached = true;
    return 0;
}

static void vbd_backend_detach(struct vbd_priv *p)
{
    if (!p->attached)
        return;
    p->attached = false;
    struct xend_err e = {0};
    if (devscript_backend_detach(&vbd_g.ds, &p->d, "vbd", p->conf.vdev, &e) < 0)
        vbd_log(XEND_LOG_WARN, "vbd detach failed", "domain=%s dev=%s error=\"%s\"", p->d.domname,
                p->conf.dev, xend_err_msg(&e));
}

/* ---- scripts ---- */

static void vbd_script_done(const struct xend_spawn_result *res, void *arg);

/* Run the bind script of p's type: `bind PARAMS...` (file: the path as one argument; other
 * types: their params split at ':', as Xen 2.0 did) or `unbind NODE`. */
static int vbd_script(struct vbd_priv *p, struct devscript_job *job, struct xend_err *err)
{
    char *name = vbd_script_name(p->conf.type);
    char *path = devscript_path(&vbd_g.ds, name);
    const char *argv[34];
    size_t n = 0;
    argv[n++] = path;
    char *params = NULL;
    if (job->step == VBD_STEP_BIND) {
        argv[n++] = "bind";
        if (strcmp(p->conf.type, "file") == 0) {
            argv[n++] = p->conf.params;
        } else {
            params = vbd_strdup(p->conf.params);
            char *save = NULL;
            for (char *t = strtok_r(params, ":", &save); t && n < 33;
                 t = strtok_r(NULL, ":", &save))
                argv[n++] = t;
        }
    } else {
        argv[n++] = "unbind";
        argv[n++] = p->node;
    }
    argv[n] = NULL;
    int rc = devscript_run_job(&vbd_g.ds, job, name, argv, vbd_script_done, err);
    free(params);
    free(path);
    free(name);
    return rc;
}

static struct devscript_job *vbd_job_new(struct vbd_priv *p, struct xend_op *op, enum vbd_step step)
{
    return devscript_job_new(&p->d, op, step, sizeof(struct devscript_job));
}

static void vbd_script_done(const struct xend_spawn_result *res, void *arg)
{
    struct devscript_job *job = arg;
    struct vbd_priv *p = (struct vbd_priv *)job->owner;
    const char *action = job->step == VBD_STEP_BIND ? "bind" : "unbind";
    bool ok = devscript_ok(res);
    devscript_log(&vbd_g.ds, job->step == VBD_STEP_BIND ? XEND_LOG_ERROR : XEND_LOG_WARN,
                  job->script, action, res);
    struct xend_op *op = job->op;
    struct xend_err *err = vbd_g.host->loop->op_err(op);
    if (p == NULL) {
        int rc = devscript_job_cancelled(&vbd_g.ds, job, action);
        free(job);
        vbd_g.host->loop->op_complete(op, rc);
        return;
    }
    p->d.job = NULL;
    int rc = 0;

    switch (job->step) {
    case VBD_STEP_BIND: {
        if (!ok) {
            char *path = devscript_path(&vbd_g.ds, job->script);
            rc = devscript_fail(&vbd_g.ds, err, path, action, res);
            free(path);
            break;
        }
        char *node = devscript_first_line(res);
        if (node == NULL || node[0] != '/') {
            rc = xend_err_set(err, XEND_EIO,
                              "vbd: script %s bind %s printed no device node (got '%s')",
                              job->script, p->conf.params, node ? node : "");
            free(node);
            /* It may have bound something all the same: nothing names it to unbind. */
            break;
        }
        free(p->node);
        p->node = node;
        p->bound = true;
        rc = vbd_backend_attach(p, err);
        if (rc == 0) {
            vbd_log(XEND_LOG_INFO, "vbd attached", "domain=%s dev=%s uname=%s node=%s",
                    p->d.domname, p->conf.dev, p->conf.uname, p->node);
            break;
        }
        job->rc = rc;
        job->step = VBD_STEP_UNDO;
        if (vbd_script(p, job, NULL) == 0)
            return;
        break;
    }
    case VBD_STEP_UNBIND:
        /* A failing unbind is logged (above) only: the device goes anyway. */
        p->bound = false;
        vbd_log(XEND_LOG_INFO, "vbd detached", "domain=%s dev=%s node=%s", p->d.domname,
                p->conf.dev, p->node ? p->node : "");
        break;
    case VBD_STEP_UNDO:
        p->bound = false;
        rc = job->rc;
        break;
    }
    free(job);
    vbd_g.host->loop->op_complete(op, rc);
}

/* ---- device ops ---- */

static struct vbd_priv *vbd_priv_get(struct xend_device *dev)
{
    return devscript_dev_get(&vbd_g.ds, dev, sizeof(struct vbd_priv));
}

static void vbd_attach(void *ctx, struct xend_device *dev, struct xend_op *op)
{
    (void)ctx;
    struct xend_err *err = vbd_g.host->loop->op_err(op);
    struct vbd_priv *p = vbd_priv_get(dev);
    devscript_job_orphan(&p->d);
    struct vbd_conf c;
    int rc = vbd_conf_read(vbd_g.host->device->config(dev), &c, err);
    if (rc < 0) {
        vbd_g.host->loop->op_complete(op, rc);
        return;
    }
    vbd_conf_free(&p->conf);
    p->conf = c;
    free(p->node);
    p->node = NULL;

    if (strcmp(p->conf.type, "phy") == 0) {
        p->node = vbd_phy_path(p->conf.params);
        rc = vbd_backend_attach(p, err);
        if (rc == 0)
            vbd_log(XEND_LOG_INFO, "vbd attached", "domain=%s dev=%s uname=%s node=%s",
                    p->d.domname, p->conf.dev, p->conf.uname, p->node);
        vbd_g.host->loop->op_complete(op, rc);
        return;
    }
    struct devscript_job *job = vbd_job_new(p, op, VBD_STEP_BIND);
    rc = vbd_script(p, job, err);
    if (rc < 0) {
        free(job);
        vbd_g.host->loop->op_complete(op, rc);
    }
}

static void vbd_detach(void *ctx, struct xend_device *dev, enum xend_dev_reason reason,
                       struct xend_op *op)
{
    (void)ctx;
    struct vbd_priv *p = vbd_g.host->device->priv(dev);
    if (p == NULL) {
        vbd_g.host->loop->op_complete(op, 0);
        return;
    }
    if (p->d.job) {
        vbd_log(XEND_LOG_WARN, "vbd detach while busy", "domain=%s dev=%s", p->d.domname,
                p->conf.dev);
        devscript_job_orphan(&p->d);
    }
    vbd_log(XEND_LOG_DEBUG, "vbd detach", "domain=%s dev=%s reason=%d", p->d.domname,
            p->conf.dev ? p->conf.dev : "", (int)reason);
    /* The back end lets go of the node before the script releases it. */
    vbd_backend_detach(p);
    if (p->bound && p->node) {
        struct xend_err e = {0};
        struct devscript_job *job = vbd_job_new(p, op, VBD_STEP_UNBIND);
        if (vbd_script(p, job, &e) == 0)
            return;
        free(job);
        vbd_log(XEND_LOG_WARN, "vbd unbind failed", "node=%s error=\"%s\"", p->node,
                xend_err_msg(&e));
    }
    p->bound = false;
    vbd_g.host->loop->op_complete(op, 0);
}

/* The device number of a node for describe: its st_rdev when it is a block device. */
static bool vbd_node_number(const char *node, uint32_t *out)
{
    struct stat st;
    if (node == NULL || stat(node, &st) != 0 || !S_ISBLK(st.st_mode))
        return false;
    *out = vbd_encode(major(st.st_rdev), minor(st.st_rdev));
    return true;
}

static struct xend_sxp *vbd_describe(void *ctx, struct xend_device *dev)
{
    (void)ctx;
    struct vbd_priv *p = vbd_g.host->device->priv(dev);
    uint32_t idx = vbd_g.host->device->index(dev);
    struct vbd_conf tmp = {0};
    const struct vbd_conf *c = p && p->conf.uname ? &p->conf : NULL;
    if (c == NULL) {
        struct xend_err e = {0};
        if (vbd_conf_read(vbd_g.host->device->config(dev), &tmp, &e) < 0) {
            /* Only a config parse refused can be this bad; show what there is. */
            vbd_conf_free(&tmp);
            return vbd_g.sxp->copy(vbd_g.host->device->config(dev));
        }
        c = &tmp;
    }
    char *phy = NULL;
    const char *node = p ? p->node : NULL;
    if (node == NULL && strcmp(c->type, "phy") == 0)
        node = phy = vbd_phy_path(c->params);
    uint32_t device = c->vdev;
    vbd_node_number(node, &device);

    struct xend_sxp *out = vbd_g.sxp->list();
    vbd_g.sxp->append_take(out, vbd_g.sxp->atom("vbd"));
    vbd_g.sxp->add_kv_int(out, "idx", idx);
    vbd_g.sxp->add_kv_int(out, "vdev", c->vdev);
    vbd_g.sxp->add_kv_int(out, "device", device);
    vbd_g.sxp->add_kv(out, "mode", c->mode);
    vbd_g.sxp->add_kv(out, "dev", c->dev);
    vbd_g.sxp->add_kv(out, "uname", c->uname);
    if (node)
        vbd_g.sxp->add_kv(out, "node", node);
    vbd_g.sxp->add_kv_int(out, "index", idx);
    free(phy);
    vbd_conf_free(&tmp);
    return out;
}

static int vbd_reattach(void *ctx, struct xend_device *dev, const struct xend_sxp *state,
                        struct xend_err *err)
{
    (void)ctx;
    struct vbd_priv *p = vbd_priv_get(dev);
    struct vbd_conf c;
    int rc = vbd_conf_read(vbd_g.host->device->config(dev), &c, err);
    if (rc < 0)
        return rc;
    vbd_conf_free(&p->conf);
    p->conf = c;
    free(p->node);
    p->node = NULL;
    const char *node = state ? vbd_g.sxp->child_value(state, "node", NULL) : NULL;
    if (strcmp(c.type, "phy") == 0) {
        p->node = vbd_phy_path(c.params);
    } else if (node != NULL && node[0] == '/') {
        p->node = vbd_strdup(node);
        p->bound = true;
    } else {
        /* Without the node there is nothing to unbind later: say so now. */
        vbd_log(XEND_LOG_WARN, "vbd reattached without node", "domain=%s dev=%s uname=%s",
                p->d.domname, c.dev, c.uname);
    }
    p->attached = true;
    vbd_log(XEND_LOG_INFO, "vbd reattached", "domain=%s dev=%s node=%s", p->d.domname, c.dev,
            p->node ? p->node : "");
    return 0;
}

static void vbd_free(void *ctx, struct xend_device *dev)
{
    (void)ctx;
    struct vbd_priv *p = vbd_g.host->device->priv(dev);
    if (p == NULL)
        return;
    devscript_job_orphan(&p->d);
    vbd_conf_free(&p->conf);
    free(p->node);
    free(p);
    vbd_g.host->device->priv_set(dev, NULL);
}

static const struct xend_device_ops vbd_ops = {
    XEND_DEVICE_OPS_INIT,
    .name = "vbd",
    .flags = XEND_DEVICE_HOTPLUG | XEND_DEVICE_MIGRATABLE,
    .parse = vbd_parse,
    .attach = vbd_attach,
    .detach = vbd_detach,
    .describe = vbd_describe,
    .reattach = vbd_reattach,
    .free = vbd_free,
};

static void vbd_fini(struct xend_plugin *self)
{
    (void)self;
    vbd_allow_free(&vbd_g.allow);
    vbd_allow_free(&vbd_g.allow_op);
}

static int vbd_init(struct xend_plugin *self, const struct xend_host *host)
{
    vbd_allow_free(&vbd_g.allow); /* a test may init twice without fini */
    vbd_allow_free(&vbd_g.allow_op);
    memset(&vbd_g, 0, sizeof(vbd_g));
    vbd_g.self = self;
    vbd_g.host = host;
    vbd_g.sxp = host->sxp;
    struct xend_err err = {0};
    int rc = devscript_setup(&vbd_g.ds, self, host, "vbd", &err);
    /* The block script keys of the 2.0 config; see vbd_script_name. */
    const char *unused;
    if (rc == 0)
        rc = host->config->get_str(self, "block-file", "block-file", &unused, &err);
    if (rc == 0)
        rc = host->config->get_str(self, "block-enbd", "block-enbd", &unused, &err);
    const char *allow = NULL;
    if (rc == 0)
        rc = host->config->get_str(self, "vbd-allow", NULL, &allow, &err);
    if (rc == 0)
        rc = vbd_allow_setup(&vbd_g.allow, "vbd-allow", allow);
    const char *allow_op = NULL;
    if (rc == 0)
        rc = host->config->get_str(self, "vbd-allow-operator", NULL, &allow_op, &err);
    /* Unset: no writable uname for an operator (an empty list, not the deny list). */
    if (rc == 0)
        rc = vbd_allow_setup(&vbd_g.allow_op, "vbd-allow-operator", allow_op ? allow_op : "");
    if (rc == 0)
        rc = host->device->class_add(self, &vbd_ops, NULL);
    if (rc < 0) {
        vbd_allow_free(&vbd_g.allow);
        vbd_allow_free(&vbd_g.allow_op);
        host->plugin_err_set(self, "%s", err.code ? xend_err_msg(&err) : xend_strerror(rc));
    }
    return rc;
}

XEND_PLUGIN(.name = "vbd", .version = "1.0",
            .description = "virtual block devices: phy, file (loop) and site block-TYPE scripts",
            .license = "GPL-2.0", .init = vbd_init, .fini = vbd_fini);
