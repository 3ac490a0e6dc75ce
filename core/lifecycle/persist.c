/*
 * A domain's record in the store: written after every change that must survive xend (and
 * before the change is acknowledged), removed when the domain is gone. The domain learns
 * whether its last write is durable (record_failed, store_error in its info).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain_table.h"
#include "hex.h"
#include "lifecycle/lifecycle_internal.h"
#include "log/log.h"
#include "store/store.h"

void xend_lifecycle_new_key(char out[33])
{
    /* A key from a weaker source could name another domain's record: without random bytes
     * there is no safe way on. (xend_hex_random, not 16 snprintf calls: a create's every
     * instruction counts, and this was 6% of them.) */
    if (xend_hex_random(16, out) < 0) {
        xend_log_error("no random bytes for a store key", "error=\"%s\"", strerror(errno));
        abort();
    }
}

/* A write of a domain's record in flight: on completion, the domain (if it is still the
 * same one) learns whether its record is durable. */
struct persist_wait {
    char name[64];
    char uuid[33];
    void (*done)(void *arg, int rc);
    void *arg;
};

static void persisted(void *arg, int rc)
{
    struct persist_wait *w = arg;
    struct xend_domain *d = xend_domain_by_name(w->name);
    if (d != NULL && strcmp(d->uuid, w->uuid) == 0)
        d->record_failed = rc < 0;
    if (w->done)
        w->done(w->arg, rc);
    free(w);
}

/* first: ahead of the store's queue (xend_store_put_first). */
static void persist(struct xend_domain *dom, struct xend_sxp *mark, bool first,
                    void (*done)(void *arg, int rc), void *arg)
{
    struct xend_err err = {0};
    struct xend_sxp *rec = xend_domain_record_lent(dom); /* encoded by the put, at once */
    if (mark)
        xend_sxp_append_take(rec, mark);
    struct persist_wait *w = xend_xmalloc(sizeof(*w));
    snprintf(w->name, sizeof(w->name), "%s", dom->name);
    snprintf(w->uuid, sizeof(w->uuid), "%s", dom->uuid);
    w->done = done;
    w->arg = arg;
    int rc = (first ? xend_store_put_first : xend_store_put)(
        xend_lifecycle_lc.store, XEND_LIFECYCLE_NS, dom->uuid, rec, persisted, w, &err);
    xend_domain_record_return(dom, rec);
    if (rc < 0) {
        xend_log_error("store put failed", "domain=%s error=\"%s\"", dom->name, xend_err_msg(&err));
        persisted(w, rc);
    }
}

void xend_lifecycle_persist(struct xend_domain *dom, void (*done)(void *arg, int rc), void *arg)
{
    persist(dom, NULL, false, done, arg);
}

void xend_lifecycle_persist_first(struct xend_domain *dom, void (*done)(void *arg, int rc),
                                  void *arg)
{
    persist(dom, NULL, true, done, arg);
}

void xend_lifecycle_persist_marked(struct xend_domain *dom, struct xend_sxp *mark,
                                   void (*done)(void *arg, int rc), void *arg)
{
    persist(dom, mark, false, done, arg);
}

/* first: as persist's. */
static void forget(struct xend_domain *dom, bool first, void (*done)(void *arg, int rc), void *arg)
{
    struct xend_err err = {0};
    int rc = (first ? xend_store_del_first : xend_store_del)(
        xend_lifecycle_lc.store, XEND_LIFECYCLE_NS, dom->uuid, done, arg, &err);
    if (rc < 0) {
        xend_log_error("store delete failed", "domain=%s error=\"%s\"", dom->name,
                       xend_err_msg(&err));
        if (done)
            done(arg, rc);
    }
}

void xend_lifecycle_forget(struct xend_domain *dom, void (*done)(void *arg, int rc), void *arg)
{
    forget(dom, false, done, arg);
}

void xend_lifecycle_forget_first(struct xend_domain *dom, void (*done)(void *arg, int rc),
                                 void *arg)
{
    forget(dom, true, done, arg);
}

int xend_lifecycle_config_set_take(struct xend_domain *dom, const char *key, struct xend_sxp *value,
                                   struct xend_err *err)
{
    (void)err;
    if (dom->config == NULL)
        dom->config = xend_sxp_list_of("vm", NULL);
    long i = xend_sxp_child_index(dom->config, key);
    if (value == NULL) {
        if (i >= 0)
            xend_sxp_remove(dom->config, (size_t)i);
    } else {
        struct xend_sxp *kv = xend_sxp_list_of(key, NULL);
        xend_sxp_append_take(kv, value);
        if (i >= 0)
            xend_sxp_replace_take(dom->config, (size_t)i, kv);
        else
            xend_sxp_append_take(dom->config, kv);
    }
    xend_domain_config_changed(dom);
    /* Durable soon; a domain still being created is persisted before it is acknowledged. */
    if (dom->phase != XEND_DOM_CREATING && dom->uuid[0])
        xend_lifecycle_persist(dom, NULL, NULL);
    return 0;
}
