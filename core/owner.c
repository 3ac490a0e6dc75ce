/* The current owner of running code, per thread (see owner.h). */
#include "owner.h"

#include <stddef.h>

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
