/*
 * What ABI 1.11 added (include/xend/backend.h: dom_destroy_async, appended to the backend
 * table), pinned by hand like 1.8's so that a later change cannot move it. Included only
 * where the headers speak 1.11 (XEND_HAVE_ASYNC_DESTROY).
 */
#ifndef XEND_ABI_LAYOUT_1_11_H
#define XEND_ABI_LAYOUT_1_11_H

#if defined(__x86_64__) && defined(__LP64__)

/* struct xend_backend_ops: dom_destroy_async after save_with, where 1.8 ended */
XEND_PIN_OFF(xend_backend_ops, save_with, 280, 8);
XEND_PIN_OFF(xend_backend_ops, dom_destroy_async, 288, 8);
XEND_PIN_MIN_SIZE(xend_backend_ops, 296);

XEND_PIN_VAL(XEND_HAVE_ASYNC_DESTROY, 1);
_Static_assert(XEND_ABI_MINOR >= 11, "the minor only grows");

#endif
#endif
