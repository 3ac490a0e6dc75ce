/*
 * The role table (role.h). Three roles in a line, admin above operator above viewer: the
 * comparison is the enum's order, and everything here is about keeping an unknown value
 * on the refusing side.
 */
#include "http/role.h"

#include <stdio.h>
#include <string.h>

bool xend_role_allows(int caller, int needed)
{
    if (caller < 0 || caller >= XEND_ROLE_COUNT)
        return false;
    if (needed < 0 || needed >= XEND_ROLE_COUNT)
        needed = XEND_ROLE_ADMIN;
    return caller <= needed;
}

int xend_role_parse(const char *name)
{
    for (int r = 0; name != NULL && r < XEND_ROLE_COUNT; r++)
        if (strcmp(name, xend_role_name(r)) == 0)
            return r;
    return -XEND_EINVAL;
}

void xend_role_refusal(int caller, int needed, const char *what, const char *path, char *msg,
                       size_t len)
{
    if (needed < 0 || needed >= XEND_ROLE_COUNT)
        needed = XEND_ROLE_ADMIN;
    snprintf(msg, len, "Permission denied: role %s may not %s on %s; needs role %s",
             xend_role_name(caller), what ? what : "?", path ? path : "/", xend_role_name(needed));
}

static int acting = XEND_ROLE_ADMIN;

int xend_role_acting(void)
{
    return acting;
}

int xend_role_act_as(int role)
{
    int prev = acting;
    acting = role;
    return prev;
}
