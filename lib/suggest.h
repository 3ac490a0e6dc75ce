/*
 * "Did you mean": the known name closest to a misspelt one, for the messages that refuse
 * or warn of an unknown setting (xend's config) or config variable (xm create).
 *
 * Close means an edit distance (insertions, deletions, substitutions, and a swap of two
 * neighbouring letters, each counting 1) of at most 1 for names of up to 4 letters, 2 up
 * to 8, and 3 beyond: far enough for typos, near enough not to suggest nonsense.
 */
#ifndef XEND_LIB_SUGGEST_H
#define XEND_LIB_SUGGEST_H

#include <stddef.h>

/* The edit distance between a and b, or limit + 1 once it is known to exceed limit. */
size_t xend_suggest_distance(const char *a, const char *b, size_t limit);

/* The candidate closest to word (the first of equals), or NULL when none is close. The
 * result is one of the candidates (borrowed). NULL entries are skipped. */
const char *xend_suggest(const char *word, const char *const *candidates, size_t n);

#endif
