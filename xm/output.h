/*
 * Output for scripts (`-o json`, `-o sxp`; docs/xm.md "Output for scripts"): the option,
 * taken out of a data command's arguments before the command parses its own, and a writer
 * that puts a command's data out as one JSON document or one SXP value. The default, text,
 * is each command's 2.0 output and never goes through here.
 *
 * JSON follows the mapping of docs/http.md (sxp_json.h), so xm and xend's JSON replies
 * agree; records become objects of their fields.
 *
 * Formats into buffers only; the caller prints.
 */
#ifndef XM_OUTPUT_H
#define XM_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>

#include <xend/abi.h>

#include "buf.h"
#include "sxp.h"

enum xm_output_form {
    XM_OUT_TEXT = 0,
    XM_OUT_JSON,
    XM_OUT_SXP,
};

/*
 * Take `-o FORM`, `-oFORM`, `--output FORM` and `--output=FORM` out of argv[1..argc) (up
 * to a "--"); the others keep their order. Returns the new argc, or -XEND_EINVAL with err
 * set for a form other than text, json and sxp, or a missing one.
 */
int xm_output_take(int argc, char **argv, enum xm_output_form *form, struct xend_err *err);

/* A writer of one array of items: [a, b] in JSON, (a b) in SXP. */
struct xm_out {
    enum xm_output_form form;
    size_t n; /* items so far */
    struct xend_buf buf;
};

void xm_out_begin(struct xm_out *o, enum xm_output_form form);
/* The item v: its JSON mapping, or v printed. */
void xm_out_value(struct xm_out *o, const struct xend_sxp *v);
/* The record (head (k v)...): the object of its fields in JSON, the record in SXP. */
void xm_out_record(struct xm_out *o, const struct xend_sxp *rec);
/* Start an item written by the caller: the separator, then the buffer to append it to. */
struct xend_buf *xm_out_item(struct xm_out *o);
/* Close the array, a newline after it, into out (then o is empty again). */
void xm_out_end(struct xm_out *o, struct xend_buf *out);

/* One value alone (not in an array), then a newline: an object of a record's fields in
 * JSON when `fields`, else its mapping; the value printed in SXP. */
void xm_output_one(enum xm_output_form form, const struct xend_sxp *v, bool fields,
                   struct xend_buf *out);

#endif
