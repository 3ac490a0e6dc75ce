/*
 * vnet: virtual networks (docs/compat.md), the /xend/vnet resource.
 *
 * A vnet is a stored config `(vnet (id ID) (bridge B) (vnetif IF) (security S))` (the
 * defaults bridge vnetID, vnetif vnetifID, security none filled in, other children kept
 * as given) and its kernel side, which the vnet script sets up: `vnet add id=ID bridge=B
 * vnetif=IF security=S` and `vnet del id=ID bridge=B vnetif=IF`. Create persists the
 * record first (so that a crash in between is repaired at the next start), then runs the
 * script; a failing script removes the record again and the create replies the error
 * (2.0.0 kept such a vnet: docs/compat.md). Delete runs the script first and forgets
 * the vnet only when it succeeded, so that a failed delete can be retried. At xend start
 * every stored vnet is loaded and configured again; at xend stop nothing is undone: domains
 * outlive xend and their vifs stay on the vnet bridges.
 *
 * It must never touch the network itself (the script does, so that sites can swap it), run
 * a shell, or block the loop waiting for a script.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xend/host.h>

#include "devscript.h"

/* What the script is doing for a vnet; one job at a time per vnet. */
enum vnet_state {
    VNET_READY,    /* configured (or its start-time configure failed: logged) */
    VNET_CREATING, /* create: stored, add script running; not listed yet */
    VNET_LOADING,  /* xend start: add script running again */
    VNET_DELETING, /* delete: del script running */
};

struct vnet_job;

struct vnet {
    struct vnet *next;
    char id[16]; /* decimal, canonical */
    char bridge[16];
    char vnetif[16];
    char security[8];
    struct xend_sxp *config; /* owned: the stored config, defaults filled */
    enum vnet_state state;
    struct vnet_job *job; /* the script run in flight, NULL when READY */
};

/* One script run; outlives its vnet when fini drops the vnets first (v is NULL then). */
struct vnet_job {
    struct vnet *v;
    struct xend_request *req; /* borrowed until completed; NULL for a start-time configure */
    const char *action;       /* "add" or "del" */
};

static struct {
    struct xend_plugin *self;
    const struct xend_host *host;
    const struct xend_host_sxp *sxp; /* host->sxp, the table most used */
    struct devscript ds;
    const char *script; /* vnet-script */
    struct vnet *list;
} vnet_g;

/* Interface names (bridge, vnetif): what Linux accepts and a script can pass on safely. */
#define VNET_IFNAME_MAX 15

#define vnet_log(...) devscript_logf(&vnet_g.ds, __VA_ARGS__)

/* ---- config ---- */

/* A decimal id from 1 to 2^32-1, without sign or leading zeros, so that one vnet has one
 * spelling (the store key, the default names, the URL). */
static bool vnet_id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 10 || s[0] == '0')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    errno = 0;
    unsigned long long v = strtoull(s, NULL, 10);
    return errno == 0 && v <= 0xffffffffULL;
}

static bool vnet_ifname_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > VNET_IFNAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
            return false;
    return true;
}

/* The single atom value of a known key's child (key value), or an error. */
static int vnet_item_value(const struct xend_sxp *item, const char *key, const char **out,
                           struct xend_err *err)
{
    const char *v =
        vnet_g.sxp->length(item) == 2 ? vnet_g.sxp->atom_text(vnet_g.sxp->nth(item, 1)) : NULL;
    if (v == NULL) {
        char *text = vnet_g.sxp->print(item);
        int rc = xend_err_set(err, XEND_EINVAL, "vnet: invalid %s: %s (want (%s VALUE))", key,
                              text ? text : "?", key);
        free(text);
        return rc;
    }
    *out = v;
    return 0;
}

static const char *const vnet_keys[] = {"id", "bridge", "vnetif", "security"};
#define VNET_NKEYS (sizeof(vnet_keys) / sizeof(vnet_keys[0]))

/*
 * Read and validate a (vnet ...) config into *v (id, names, security, and v->config: the
 * config to store, owned). Returns 0 or -XEND_EINVAL with err set; *v is untouched then.
 */
static int vnet_conf_read(const struct xend_sxp *config, struct vnet *v, struct xend_err *err)
{
    const char *head = vnet_g.sxp->name(config);
    if (head == NULL || strcmp(head, "vnet") != 0)
        return xend_err_set(err, XEND_EINVAL, "vnet: config must be (vnet (id ID) ...)");

    const char *val[VNET_NKEYS] = {NULL};
    size_t n = vnet_g.sxp->length(config);
    for (size_t i = 1; i < n; i++) {
        const struct xend_sxp *item = vnet_g.sxp->nth(config, i);
        const char *name = vnet_g.sxp->name(item);
        if (name == NULL) {
            char *text = vnet_g.sxp->print(item);
            int rc = xend_err_set(err, XEND_EINVAL,
                                  "vnet: invalid config item: %s (want (KEY VALUE...))",
                                  text ? text : "?");
            free(text);
            return rc;
        }
        for (size_t k = 0; k < VNET_NKEYS; k++) {
            if (strcmp(name, vnet_keys[k]) != 0)
                continue;
            if (val[k] != NULL)
                return xend_err_set(err, XEND_EINVAL, "vnet: (%s ...) given twice", name);
            int rc = vnet_item_value(item, name, &val[k], err);
            if (rc < 0)
                return rc;
        }
    }

    const char *id = val[0];
    if (id == NULL)
        return xend_err_set(err, XEND_EINVAL, "vnet: missing id");
    if (!vnet_id_ok(id))
        return xend_err_set(err, XEND_EINVAL,
                            "vnet: invalid id: %s (want a number from 1 to 4294967295)", id);
    /* Copies longer than an interface name stay invalid: the buffers only bound them. */
    char bridge[64], vnetif[64];
    if (val[1] != NULL)
        snprintf(bridge, sizeof(bridge), "%s", val[1]);
    else
        snprintf(bridge, sizeof(bridge), "vnet%s", id);
    if (val[2] != NULL)
        snprintf(vnetif, sizeof(vnetif), "%s", val[2]);
    else
        snprintf(vnetif, sizeof(vnetif), "vnetif%s", id);
    if (!vnet_ifname_ok(bridge))
        return xend_err_set(err, XEND_EINVAL,
                            "vnet: invalid bridge: %s (an interface name: 1 to 15 of "
                            "A-Z a-z 0-9 _ . -)",
                            bridge);
    if (!vnet_ifname_ok(vnetif))
        return xend_err_set(err, XEND_EINVAL,
                            "vnet: invalid vnetif: %s (an interface name: 1 to 15 of "
                            "A-Z a-z 0-9 _ . -)",
                            vnetif);
    if (strcmp(bridge, vnetif) == 0)
        return xend_err_set(err, XEND_EINVAL, "vnet: bridge and vnetif are both %s", bridge);
    const char *security = val[3] ? val[3] : "none";
    if (strcmp(security, "none") != 0 && strcmp(security, "auth") != 0 &&
        strcmp(security, "conf") != 0)
        return xend_err_set(err, XEND_EINVAL,
                            "vnet: invalid security: %s (want none, auth or conf)", security);

    snprintf(v->id, sizeof(v->id), "%s", id);
    memcpy(v->bridge, bridge, strlen(bridge) + 1); /* validated: at most 15 */
    memcpy(v->vnetif, vnetif, strlen(vnetif) + 1);
    snprintf(v->security, sizeof(v->security), "%s", security);

    /* The known keys first, in one order, then whatever else was given, as given: 2.0 passed
     * unknown children through to the vnet module. */
    struct xend_sxp *out = vnet_g.sxp->list();
    vnet_g.sxp->append_take(out, vnet_g.sxp->atom("vnet"));
    vnet_g.sxp->add_kv(out, "id", v->id);
    vnet_g.sxp->add_kv(out, "bridge", v->bridge);
    vnet_g.sxp->add_kv(out, "vnetif", v->vnetif);
    vnet_g.sxp->add_kv(out, "security", v->security);
    for (size_t i = 1; i < n; i++) {
        const struct xend_sxp *item = vnet_g.sxp->nth(config, i);
        const char *name = vnet_g.sxp->name(item);
        bool known = false;
        for (size_t k = 0; k < VNET_NKEYS; k++)
            known = known || strcmp(name, vnet_keys[k]) == 0;
        if (!known)
            vnet_g.sxp->append_take(out, vnet_g.sxp->copy(item));
    }
    v->config = out;
    return 0;
}

/* ---- the table ---- */

static struct vnet *vnet_find(const char *id)
{
    for (struct vnet *v = vnet_g.list; v; v = v->next)
        if (strcmp(v->id, id) == 0)
            return v;
    return NULL;
}

/* A vnet other than `self` already using interface `name`, or NULL. */
static struct vnet *vnet_find_ifname(const char *name, const struct vnet *self)
{
    for (struct vnet *v = vnet_g.list; v; v = v->next)
        if (v != self && (strcmp(v->bridge, name) == 0 || strcmp(v->vnetif, name) == 0))
            return v;
    return NULL;
}

/* Refuse a new vnet whose id or interfaces another one has. */
static int vnet_check_unique(const struct vnet *v, struct xend_err *err)
{
    if (vnet_find(v->id) != NULL)
        return xend_err_set(err, XEND_EEXIST, "vnet: vnet %s already exists", v->id);
    const struct vnet *o = vnet_find_ifname(v->bridge, NULL);
    if (o != NULL)
        return xend_err_set(err, XEND_EEXIST, "vnet: bridge %s is in use by vnet %s", v->bridge,
                            o->id);
    o = vnet_find_ifname(v->vnetif, NULL);
    if (o != NULL)
        return xend_err_set(err, XEND_EEXIST, "vnet: vnetif %s is in use by vnet %s", v->vnetif,
                            o->id);
    return 0;
}

static void vnet_link(struct vnet *v)
{
    v->next = vnet_g.list;
    vnet_g.list = v;
}

static void vnet_unlink(struct vnet *v)
{
    for (struct vnet **pp = &vnet_g.list; *pp; pp = &(*pp)->next)
        if (*pp == v) {
            *pp = v->next;
            return;
        }
}

static void vnet_free(struct vnet *v)
{
    if (v == NULL)
        return;
    if (v->job != NULL)
        v->job->v = NULL;
    vnet_g.sxp->free(v->config);
    free(v);
}

/* Listed and addressable: everything but a create whose script has not answered yet. */
static bool vnet_visible(const struct vnet *v)
{
    return v->state != VNET_CREATING;
}

/* ---- the script ---- */

static void vnet_script_done(const struct xend_spawn_result *res, void *arg);

/*
 * Run `vnet ACTION ...` for v; the job records who waits (req, or NULL). Returns 0, or an
 * error with err set (nothing runs; the caller undoes).
 */
static int vnet_script(struct vnet *v, const char *action, struct xend_request *req,
                       struct xend_err *err)
{
    char id[32], bridge[32], vnetif[32], security[32];
    snprintf(id, sizeof(id), "id=%s", v->id);
    snprintf(bridge, sizeof(bridge), "bridge=%s", v->bridge);
    snprintf(vnetif, sizeof(vnetif), "vnetif=%s", v->vnetif);
    snprintf(security, sizeof(security), "security=%s", v->security);
    char *path = devscript_path(&vnet_g.ds, vnet_g.script);
    bool add = strcmp(action, "add") == 0;
    const char *argv[] = {path, action, id, bridge, vnetif, add ? security : NULL, NULL};

    struct vnet_job *job = calloc(1, sizeof(*job));
    if (job == NULL)
        abort(); /* the ABI's OOM policy */
    job->v = v;
    job->req = req;
    job->action = add ? "add" : "del";
    int rc = devscript_run(&vnet_g.ds, argv, vnet_script_done, job, err);
    free(path);
    if (rc < 0) {
        free(job);
        return rc;
    }
    v->job = job;
    return 0;
}

static struct xend_sxp *vnet_event_value(const struct vnet *v)
{
    return vnet_g.sxp->copy(v->config);
}

static void vnet_created(struct vnet *v, struct xend_request *req)
{
    v->state = VNET_READY;
    vnet_log(XEND_LOG_NOTICE, "vnet created", "vnet=%s bridge=%s vnetif=%s security=%s", v->id,
             v->bridge, v->vnetif, v->security);
    struct xend_sxp *ev = vnet_event_value(v);
    vnet_g.host->event->emit("xend.vnet.create", ev);
    vnet_g.sxp->free(ev);
    if (req != NULL) {
        char location[64];
        snprintf(location, sizeof(location), "/xend/vnet/%s", v->id);
        vnet_g.host->http->reply_header(req, "Location", location);
        vnet_g.host->http->reply_take(req, 201, vnet_g.sxp->copy(v->config));
        vnet_g.host->http->complete(req, 0);
    }
}

/* The add script of a create failed: forget the vnet, stored record included. */
static void vnet_create_failed(struct vnet *v, struct xend_request *req, int rc)
{
    struct xend_err e = {0};
    if (vnet_g.host->store->del(vnet_g.self, v->id, &e) < 0)
        vnet_log(XEND_LOG_ERROR, "vnet record not removed", "vnet=%s error=\"%s\"", v->id,
                 xend_err_msg(&e));
    vnet_unlink(v);
    vnet_free(v);
    if (req != NULL)
        vnet_g.host->http->complete(req, rc);
}

static void vnet_deleted(struct vnet *v, struct xend_request *req)
{
    struct xend_err *err = req ? vnet_g.host->http->err(req) : NULL;
    struct xend_err local = {0};
    int rc = vnet_g.host->store->del(vnet_g.self, v->id, err ? err : &local);
    if (rc < 0) {
        /* The kernel side is gone but the record is not: a retried delete runs the (idempotent)
         * script again and retries the record. */
        v->state = VNET_READY;
        vnet_log(XEND_LOG_ERROR, "vnet record not removed", "vnet=%s error=\"%s\"", v->id,
                 xend_err_msg(err ? err : &local));
        if (req != NULL)
            vnet_g.host->http->complete(req, rc);
        return;
    }
    vnet_log(XEND_LOG_NOTICE, "vnet deleted", "vnet=%s bridge=%s", v->id, v->bridge);
    struct xend_sxp *ev = vnet_event_value(v);
    vnet_g.host->event->emit("xend.vnet.delete", ev);
    vnet_g.sxp->free(ev);
    vnet_unlink(v);
    vnet_free(v);
    if (req != NULL) {
        vnet_g.host->http->reply_take(req, 0, vnet_g.sxp->atom_int(0));
        vnet_g.host->http->complete(req, 0);
    }
}

static void vnet_script_done(const struct xend_spawn_result *res, void *arg)
{
    struct vnet_job *job = arg;
    struct vnet *v = job->v;
    struct xend_request *req = job->req;
    const char *action = job->action;
    free(job);
    devscript_log(&vnet_g.ds, XEND_LOG_ERROR, vnet_g.script, action, res);
    if (v == NULL)
        return; /* xend is stopping: fini already answered the request */
    v->job = NULL;

    bool ok = devscript_ok(res);
    int rc = 0;
    if (!ok && req != NULL)
        rc = devscript_fail(&vnet_g.ds, vnet_g.host->http->err(req), vnet_g.script, action, res);
    else if (!ok)
        rc = -XEND_EIO;

    switch (v->state) {
    case VNET_CREATING:
        if (ok)
            vnet_created(v, req);
        else
            vnet_create_failed(v, req, rc);
        break;
    case VNET_LOADING:
        /* The stored config stays the truth: the vnet is listed, the failure logged (above),
         * and a delete or the next start tries again. */
        v->state = VNET_READY;
        if (!ok)
            vnet_log(XEND_LOG_ERROR, "vnet not configured", "vnet=%s bridge=%s", v->id, v->bridge);
        break;
    case VNET_DELETING:
        if (ok) {
            vnet_deleted(v, req);
        } else {
            v->state = VNET_READY;
            if (req != NULL)
                vnet_g.host->http->complete(req, rc);
        }
        break;
    case VNET_READY:
        break;
    }
}

/* ---- routes ---- */

/* The vnet named by the {id} capture, or -XEND_ENOENT "invalid vnet:ID". */
static int vnet_from_req(struct xend_request *req, struct vnet **out)
{
    const char *id = vnet_g.host->http->capture(req, "id");
    struct vnet *v = id ? vnet_find(id) : NULL;
    if (v == NULL || !vnet_visible(v))
        return xend_err_set(vnet_g.host->http->err(req), XEND_ENOENT, "invalid vnet:%s",
                            id ? id : "");
    *out = v;
    return 0;
}

static int vnet_id_cmp(const void *a, const void *b)
{
    const struct vnet *x = *(const struct vnet *const *)a, *y = *(const struct vnet *const *)b;
    size_t lx = strlen(x->id), ly = strlen(y->id);
    if (lx != ly) /* canonical decimals: the shorter is the smaller */
        return lx < ly ? -1 : 1;
    return strcmp(x->id, y->id);
}

static int vnet_route_list(struct xend_request *req, void *arg)
{
    (void)arg;
    size_t n = 0;
    for (struct vnet *v = vnet_g.list; v; v = v->next)
        n++;
    struct vnet **all = calloc(n ? n : 1, sizeof(*all));
    if (all == NULL)
        abort();
    n = 0;
    for (struct vnet *v = vnet_g.list; v; v = v->next)
        if (vnet_visible(v))
            all[n++] = v;
    qsort(all, n, sizeof(*all), vnet_id_cmp);
    struct xend_sxp *list = vnet_g.sxp->list();
    for (size_t i = 0; i < n; i++)
        vnet_g.sxp->append_take(list, vnet_g.sxp->atom(all[i]->id));
    free(all);
    vnet_g.host->http->reply_take(req, 0, list);
    return 0;
}

static int vnet_route_get(struct xend_request *req, void *arg)
{
    (void)arg;
    struct vnet *v;
    int rc = vnet_from_req(req, &v);
    if (rc < 0)
        return rc;
    vnet_g.host->http->reply_take(req, 0, vnet_g.sxp->copy(v->config));
    return 0;
}

static int vnet_route_create(struct xend_request *req, void *arg)
{
    (void)arg;
    struct xend_err *err = vnet_g.host->http->err(req);
    const struct xend_sxp *config;
    int rc = vnet_g.host->http->arg_sxp(req, "config", &config);
    if (rc < 0)
        return rc;
    struct vnet *v = calloc(1, sizeof(*v));
    if (v == NULL)
        abort();
    rc = vnet_conf_read(config, v, err);
    if (rc == 0)
        rc = vnet_check_unique(v, err);
    if (rc == 0)
        rc = devscript_check(&vnet_g.ds, vnet_g.script, err);
    /* Stored before anything is configured: a crash from here on leaves a record that the
     * next start configures, never a bridge nobody knows about. */
    if (rc == 0)
        rc = vnet_g.host->store->put(vnet_g.self, v->id, v->config, err);
    if (rc < 0) {
        vnet_free(v);
        return rc;
    }
    v->state = VNET_CREATING;
    vnet_link(v);
    vnet_g.host->http->defer(req);
    rc = vnet_script(v, "add", req, err);
    if (rc < 0)
        vnet_create_failed(v, req, rc);
    return 0;
}

static int vnet_route_delete(struct xend_request *req, void *arg)
{
    (void)arg;
    struct xend_err *err = vnet_g.host->http->err(req);
    struct vnet *v;
    int rc = vnet_from_req(req, &v);
    if (rc < 0)
        return rc;
    if (v->state != VNET_READY)
        return xend_err_set(err, XEND_EBUSY, "vnet: vnet %s is busy: its script is running", v->id);
    rc = devscript_check(&vnet_g.ds, vnet_g.script, err);
    if (rc < 0)
        return rc;
    v->state = VNET_DELETING;
    vnet_g.host->http->defer(req);
    rc = vnet_script(v, "del", req, err);
    if (rc < 0) {
        v->state = VNET_READY;
        vnet_g.host->http->complete(req, rc);
    }
    return 0;
}

static const struct xend_route vnet_routes[] = {
    {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET, .path = "/xend/vnet", .op = NULL,
     .fn = vnet_route_list, .doc = "virtual networks", .role = XEND_ROLE_VIEWER},
    {XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/xend/vnet", .op = "create",
     .fn = vnet_route_create,
     .doc = "create a vnet from (vnet (id ID) [(bridge B)] [(vnetif IF)] "
            "[(security none|auth|conf)]). params: config:file",
     .role = XEND_ROLE_ADMIN /* the host's network, and a script run */},
    {XEND_ROUTE_INIT, .methods = XEND_HTTP_GET, .path = "/xend/vnet/{id}", .op = NULL,
     .fn = vnet_route_get, .doc = "a vnet's config", .role = XEND_ROLE_VIEWER},
    {XEND_ROUTE_INIT, .methods = XEND_HTTP_POST, .path = "/xend/vnet/{id}", .op = "delete",
     .fn = vnet_route_delete, .doc = "delete this vnet", .role = XEND_ROLE_ADMIN},
};

/* ---- xend start: the stored vnets ---- */

static void vnet_load_one(const char *key, const struct xend_sxp *value, void *arg)
{
    (void)arg;
    struct xend_err err = {0};
    struct vnet *v = calloc(1, sizeof(*v));
    if (v == NULL)
        abort();
    int rc = vnet_conf_read(value, v, &err);
    if (rc == 0 && strcmp(v->id, key) != 0)
        rc = xend_err_set(&err, XEND_EINVAL, "vnet: the record of %s holds vnet %s", key, v->id);
    if (rc == 0)
        rc = vnet_check_unique(v, &err);
    if (rc < 0) {
        /* Kept on disk for the operator to look at; never half-loaded. */
        vnet_log(XEND_LOG_ERROR, "vnet record ignored", "key=%s error=\"%s\"", key,
                 xend_err_msg(&err));
        vnet_free(v);
        return;
    }
    v->state = VNET_LOADING;
    vnet_link(v);
    if (vnet_script(v, "add", NULL, &err) < 0) {
        v->state = VNET_READY;
        vnet_log(XEND_LOG_ERROR, "vnet not configured", "vnet=%s error=\"%s\"", v->id,
                 xend_err_msg(&err));
    }
}

static int vnet_start_hook(const struct xend_hook_event *ev, void *arg)
{
    (void)ev;
    (void)arg;
    int rc = vnet_g.host->store->foreach (vnet_g.self, vnet_load_one, NULL);
    if (rc < 0)
        vnet_log(XEND_LOG_ERROR, "vnet records not read", "error=\"%s\"", xend_strerror(rc));
    size_t n = 0;
    for (struct vnet *v = vnet_g.list; v; v = v->next)
        n++;
    vnet_log(XEND_LOG_INFO, "vnets loaded", "count=%zu", n);
    return 0;
}

/* ---- plugin ---- */

static int vnet_init(struct xend_plugin *self, const struct xend_host *host)
{
    memset(&vnet_g, 0, sizeof(vnet_g));
    vnet_g.self = self;
    vnet_g.host = host;
    vnet_g.sxp = host->sxp;
    struct xend_err err = {0};
    int rc = devscript_setup(&vnet_g.ds, self, host, "vnet", &err);
    if (rc == 0)
        rc = host->config->get_str(self, "vnet-script", "vnet", &vnet_g.script, &err);
    if (rc == 0 && (vnet_g.script[0] == '\0' || strstr(vnet_g.script, "..") != NULL))
        rc =
            xend_err_set(&err, XEND_EINVAL, "vnet-script: invalid script name '%s'", vnet_g.script);
    for (size_t i = 0; rc == 0 && i < sizeof(vnet_routes) / sizeof(vnet_routes[0]); i++) {
        rc = host->http->route_add(self, &vnet_routes[i]);
        if (rc < 0)
            xend_err_set(&err, -rc, "cannot add route %s %s", vnet_routes[i].path,
                         vnet_routes[i].op ? vnet_routes[i].op : "");
    }
    if (rc == 0)
        rc = host->domain->hook_add(self, XEND_HOOK_XEND_START, vnet_start_hook, NULL);
    if (rc < 0)
        host->plugin_err_set(self, "%s", err.code ? xend_err_msg(&err) : xend_strerror(rc));
    return rc;
}

static void vnet_fini(struct xend_plugin *self)
{
    (void)self;
    while (vnet_g.list != NULL) {
        struct vnet *v = vnet_g.list;
        vnet_g.list = v->next;
        if (v->job != NULL && v->job->req != NULL) {
            /* The script goes on alone; its result is only logged. The record decides what
             * the next start finds: a create's is there, a delete's was not removed yet. */
            struct xend_request *req = v->job->req;
            v->job->req = NULL;
            xend_err_set(vnet_g.host->http->err(req), XEND_ECANCELED,
                         "vnet: xend stopped before the vnet script finished: vnet %s stays "
                         "stored and is set up again at the next start",
                         v->id);
            vnet_g.host->http->complete(req, -XEND_ECANCELED);
        }
        vnet_free(v);
    }
}

XEND_PLUGIN(.name = "vnet", .version = "1.0",
            .description = "virtual networks (/xend/vnet) configured by the vnet script",
            .license = "GPL-2.0", .init = vnet_init, .fini = vnet_fini);
