/*
 * What ABI 1.5 appended (include/xend/http.h: roles): pinned by hand like 1.3's, so that a
 * later change cannot move or resize it, nor renumber the roles (admin must stay 0: an
 * unset role, and a shorter route of an older plugin, needs admin). Included only where
 * the headers speak 1.5 (XEND_HAVE_ROUTE_ROLES).
 */
#ifndef XEND_ABI_LAYOUT_1_5_H
#define XEND_ABI_LAYOUT_1_5_H

#if defined(__x86_64__) && defined(__LP64__)

/* struct xend_route: role after doc, where 1.0 ended */
XEND_PIN_OFF(xend_route, role, 64, 4);
XEND_PIN_MIN_SIZE(xend_route, 68);

/* struct xend_host_http: caller_role after complete, where 1.0 ended */
XEND_PIN_OFF(xend_host_http, caller_role, 136, 8);
XEND_PIN_MIN_SIZE(xend_host_http, 144);

XEND_PIN_VAL(XEND_ROLE_ADMIN, 0);
XEND_PIN_VAL(XEND_ROLE_OPERATOR, 1);
XEND_PIN_VAL(XEND_ROLE_VIEWER, 2);
XEND_PIN_VAL(XEND_HAVE_ROUTE_ROLES, 1);
_Static_assert(XEND_ABI_MINOR >= 5, "the minor only grows");

#endif
#endif
