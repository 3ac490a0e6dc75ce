/*
 * Roles (docs/security.md): which of admin, operator and viewer a caller is, what a route
 * needs, and on whose behalf xend acts right now.
 *
 * The order is the enum's (include/xend/http.h): ADMIN 0 is the most allowed, so a route
 * that declares nothing needs admin. Who gets which role is access.c's (groups) and, for
 * other ways in, whatever fills struct xend_http_who.role; the check of a route reads only
 * that field.
 *
 * Threads: loop thread only (the acting role is a plain global of the loop).
 */
#ifndef XEND_CORE_HTTP_ROLE_H
#define XEND_CORE_HTTP_ROLE_H

#include <stdbool.h>
#include <stddef.h>

#include <xend/http.h>

/* Whether a caller of role `caller` may call what needs role `needed`. An unknown caller
 * role may call nothing; an unknown needed role reads as admin. */
bool xend_role_allows(int caller, int needed);

/* The role named `name` ("admin", "operator", "viewer"), or -XEND_EINVAL. */
int xend_role_parse(const char *name);

/* The 403 message of a caller refused by a route: "Permission denied: role viewer may not
 * destroy on /xend/domain/vm1; needs role operator". `what` is the op, else the method. */
void xend_role_refusal(int caller, int needed, const char *what, const char *path, char *msg,
                       size_t len);

/*
 * The role xend acts for now: set around a request's handler (and by code that carries on
 * for a request later, a restore), read by http->caller_role(NULL). XEND_ROLE_ADMIN when
 * nothing set it: xend acting on its own. xend_role_act_as returns the previous role, for
 * the caller to put back.
 */
int xend_role_acting(void);
int xend_role_act_as(int role);

#endif
