/*
 * The JSON mapping of SXP values (docs/http.md "JSON mapping"): one function for xend's
 * JSON replies and event lines and for xm's -o json, so both say the same thing the same
 * way. Pure: appends to a buffer, no state.
 */
#ifndef XEND_LIB_SXP_JSON_H
#define XEND_LIB_SXP_JSON_H

#include "buf.h"
#include "sxp.h"

/* Append the JSON form of node. */
void xend_sxp_json(const struct xend_sxp *node, struct xend_buf *out);
/* Append s as a JSON string literal. */
void xend_sxp_json_string(const char *s, struct xend_buf *out);
/* Append an atom's text as a number when it is a plain JSON number, else as a string. */
void xend_sxp_json_atom(const char *text, struct xend_buf *out);
/*
 * Append the fields of a record (head (k v...) ...): the object {"k": VALUE, ...} of its
 * items after the head, as inside the {"head": ...} of xend_sxp_json; when the items are
 * not all distinct (key ...) lists, the array of them. `(head)` alone is {}.
 */
void xend_sxp_json_fields(const struct xend_sxp *record, struct xend_buf *out);

#endif
