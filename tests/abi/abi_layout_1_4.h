/*
 * What ABI 1.4 appended, pinned by hand like the generated 1.0 layout so that a later
 * change cannot move, resize or renumber it. Included only where the headers speak 1.4.
 */
#ifndef XEND_ABI_LAYOUT_1_4_H
#define XEND_ABI_LAYOUT_1_4_H

/* backend.h: a flag bit, whatever the machine */
XEND_PIN_VAL(XEND_BACKEND_SIMULATED, 2);
XEND_PIN_VAL(XEND_HAVE_BACKEND_SIMULATED, 1);

#endif
