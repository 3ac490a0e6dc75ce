/*
 * What ABI 1.3 appended (include/xend/access.h): pinned by hand like the generated 1.0
 * layout, so that a later change cannot move or resize it. Included only where the headers
 * speak 1.3 (XEND_HAVE_PEER_ACCESS); the frozen 1.0 copy does not.
 */
#ifndef XEND_ABI_LAYOUT_1_3_H
#define XEND_ABI_LAYOUT_1_3_H

#if defined(__x86_64__) && defined(__LP64__)

/* struct xend_host: access after plugin_err_set, where 1.0 ended */
XEND_PIN_OFF(xend_host, access, 120, 8);
XEND_PIN_MIN_SIZE(xend_host, 128);

/* struct xend_host_access */
XEND_PIN_OFF(xend_host_access, size, 0, 8);
XEND_PIN_OFF(xend_host_access, peer_check, 8, 8);
XEND_PIN_MIN_SIZE(xend_host_access, 16);

XEND_PIN_VAL(XEND_HAVE_PEER_ACCESS, 1);
_Static_assert(XEND_ABI_MINOR >= 3, "the minor only grows");

#endif
#endif
