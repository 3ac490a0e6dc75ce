/*
 * What ABI 1.10 added (include/xend/backend.h: rate_bytes_s, appended to struct
 * xend_save_args), pinned by hand like 1.8's so that a later change cannot move it.
 * Included only where the headers speak 1.10 (XEND_HAVE_SAVE_RATE).
 */
#ifndef XEND_ABI_LAYOUT_1_10_H
#define XEND_ABI_LAYOUT_1_10_H

#if defined(__x86_64__) && defined(__LP64__)

/* struct xend_save_args: rate_bytes_s after round, where 1.8 ended */
XEND_PIN_OFF(xend_save_args, round, 40, 8);
XEND_PIN_OFF(xend_save_args, rate_bytes_s, 48, 8);
XEND_PIN_MIN_SIZE(xend_save_args, 56);

XEND_PIN_VAL(XEND_HAVE_SAVE_RATE, 1);
_Static_assert(XEND_ABI_MINOR >= 10, "the minor only grows");

#endif
#endif
