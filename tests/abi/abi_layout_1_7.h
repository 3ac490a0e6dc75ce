/*
 * What ABI 1.7 added (include/xend/backend.h: the progress callback's verdict and the
 * backend flag that honours it), pinned as tests/abi/gen_abi_layout.py printed them for
 * the 1.7 headers. No member moved or was appended: the callback's return type changed,
 * which a layout cannot pin, so the flag's value and the feature macro are what is kept.
 * Included only where the headers speak 1.7 (XEND_HAVE_TRANSFER_STOPS).
 */
#ifndef XEND_ABI_LAYOUT_1_7_H
#define XEND_ABI_LAYOUT_1_7_H

XEND_PIN_VAL(XEND_BACKEND_TRANSFER_STOPS, 4LL);
XEND_PIN_VAL(XEND_HAVE_TRANSFER_STOPS, 1LL);
_Static_assert(XEND_ABI_MINOR >= 7, "the minor only grows");
/* The verdict: a 1.7 core's callback returns int, whatever an older backend expects. */
_Static_assert(__builtin_types_compatible_p(xend_progress_fn *,
                                            int (*)(void *, uint64_t, uint64_t)),
               "xend_progress_fn returns the verdict");

#endif
