/* Plugins as the core's parts know them, and the current owner of running code, per
 * thread (see owner.h). */
#include "owner.h"

#include <stdio.h>
#include <stdlib.h>

#include "buf.h"

struct xend_plugin {
    char name[64];
};

struct xend_plugin *xend_owner_new(const char *name)
{
    struct xend_plugin *p = xend_xcalloc(1, sizeof(*p));
    xend_owner_rename(p, name);
    return p;
}

void xend_owner_rename(struct xend_plugin *p, const char *name)
{
    snprintf(p->name, sizeof(p->name), "%s", name);
}

void xend_owner_free(struct xend_plugin *p)
{
    free(p);
}

const char *xend_plugin_name(const struct xend_plugin *p)
{
    return p ? p->name : "core";
}

static _Thread_local struct xend_plugin *current;

struct xend_plugin *xend_owner_current(void)
{
    return current;
}

struct xend_plugin *xend_owner_enter(struct xend_plugin *p)
{
    struct xend_plugin *prev = current;
    current = p;
    return prev;
}

void xend_owner_leave(struct xend_plugin *prev)
{
    current = prev;
}
