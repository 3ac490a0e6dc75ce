/*
 * Domain lifecycle (see lifecycle.h): the part's state and settings, shared by the files of
 * core/lifecycle/ (lifecycle_internal.h says which holds what). Every multi-step operation
 * is a small state machine whose steps finish on the loop; a failing step undoes the ones
 * before it. A change is acknowledged only after the store has made it durable. Never
 * blocks the loop: device scripts and store writes finish later, backend calls are quick.
 */
#include "lifecycle/lifecycle_internal.h"

#include "domain_table.h"
#include "event/event.h"

struct xend_lifecycle_state xend_lifecycle_lc;

int xend_lifecycle_init(struct xend_store *store, const struct xend_lifecycle_options *opts,
                        struct xend_err *err)
{
    (void)err;
    xend_lifecycle_lc.store = store;
    xend_lifecycle_lc.opt = *opts;
    if (xend_lifecycle_lc.opt.max_name == 0)
        xend_lifecycle_lc.opt.max_name = 15;
    return 0;
}

void xend_lifecycle_adopt_hold(bool hold)
{
    if (hold)
        xend_lifecycle_lc.adopt_holds++;
    else if (xend_lifecycle_lc.adopt_holds > 0)
        xend_lifecycle_lc.adopt_holds--;
}

void xend_lifecycle_emit(const char *name, struct xend_domain *dom, const char *extra)
{
    struct xend_sxp *v = xend_sxp_list();
    xend_sxp_append_take(v, xend_sxp_atom(dom->name));
    xend_sxp_append_take(v, xend_sxp_atom_int(dom->id == UINT32_MAX ? -1 : (long long)dom->id));
    if (extra)
        xend_sxp_append_take(v, xend_sxp_atom(extra));
    xend_event_emit(name, v);
    xend_sxp_free(v);
}
