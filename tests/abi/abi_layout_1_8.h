/*
 * What ABI 1.8 added (include/xend/backend.h: save_with, appended to the backend table,
 * and the structs of a live save's rounds), pinned by hand like 1.6's so that a later
 * change cannot move them. The two new structs begin with size and may grow. Included only
 * where the headers speak 1.8 (XEND_HAVE_SAVE_ROUNDS).
 */
#ifndef XEND_ABI_LAYOUT_1_8_H
#define XEND_ABI_LAYOUT_1_8_H

#if defined(__x86_64__) && defined(__LP64__)

/* struct xend_backend_ops: save_with after dom_confirm, where 1.1 ended */
XEND_PIN_OFF(xend_backend_ops, dom_confirm, 272, 8);
XEND_PIN_OFF(xend_backend_ops, save_with, 280, 8);
XEND_PIN_MIN_SIZE(xend_backend_ops, 288);

XEND_PIN_OFF(xend_save_round, size, 0, 8);
XEND_PIN_OFF(xend_save_round, round, 8, 4);
XEND_PIN_OFF(xend_save_round, last, 12, 4);
XEND_PIN_OFF(xend_save_round, pages, 16, 8);
XEND_PIN_OFF(xend_save_round, ns, 24, 8);
XEND_PIN_OFF(xend_save_round, dirty_pages, 32, 8);
XEND_PIN_OFF(xend_save_round, throttle_pct, 40, 4);
XEND_PIN_OFF(xend_save_round, paused_at_ns, 48, 8);
XEND_PIN_MIN_SIZE(xend_save_round, 56);

XEND_PIN_OFF(xend_save_args, size, 0, 8);
XEND_PIN_OFF(xend_save_args, live, 8, 4);
XEND_PIN_OFF(xend_save_args, max_rounds, 12, 4);
XEND_PIN_OFF(xend_save_args, max_last_kb, 16, 8);
XEND_PIN_OFF(xend_save_args, progress, 24, 8);
XEND_PIN_OFF(xend_save_args, progress_arg, 32, 8);
XEND_PIN_OFF(xend_save_args, round, 40, 8);
XEND_PIN_MIN_SIZE(xend_save_args, 48);

XEND_PIN_VAL(XEND_HAVE_SAVE_ROUNDS, 1);
_Static_assert(XEND_ABI_MINOR >= 8, "the minor only grows");

#endif
#endif
