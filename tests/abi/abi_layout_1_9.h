/*
 * What ABI 1.9 added (include/xend/domain.h: describe_print_kept_add and describe_changed,
 * appended to the domain host table), pinned by hand like 1.8's so that a later change
 * cannot move them. Included only where the headers speak 1.9 (XEND_HAVE_KEPT_DESCRIBERS).
 */
#ifndef XEND_ABI_LAYOUT_1_9_H
#define XEND_ABI_LAYOUT_1_9_H

#if defined(__x86_64__) && defined(__LP64__)

/* struct xend_host_domain: the two after describe_print_add, where 1.1 ended */
XEND_PIN_OFF(xend_host_domain, describe_print_add, 104, 8);
XEND_PIN_OFF(xend_host_domain, describe_print_kept_add, 112, 8);
XEND_PIN_OFF(xend_host_domain, describe_changed, 120, 8);
XEND_PIN_MIN_SIZE(xend_host_domain, 128);

XEND_PIN_VAL(XEND_HAVE_KEPT_DESCRIBERS, 1);
_Static_assert(XEND_ABI_MINOR >= 9, "the minor only grows");

#endif
#endif
