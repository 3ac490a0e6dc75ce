/*
 * SXP: parser, printer and accessors for the s-expressions xend speaks, as Xen 2.0's.
 *
 * Linked into xend, xm and xend-simhv (library xend_common); plugins reach the same
 * functions through host->sxp. A parsed or copied tree is one allocation (a block), any
 * other node one each; either way a list owns its children and any node may be freed alone.
 * Allocation failure aborts (the ABI's OOM policy), so constructors never return NULL.
 * Parsing is bounded (depth, nodes, atom size) and never crashes on malformed input.
 */
#ifndef XEND_LIB_SXP_H
#define XEND_LIB_SXP_H

#include <stdbool.h>
#include <stddef.h>

#include <xend/sxp.h>

#include "buf.h"

struct xend_sxp *xend_sxp_list(void);
struct xend_sxp *xend_sxp_atom(const char *text);
struct xend_sxp *xend_sxp_atom_len(const char *text, size_t len);
struct xend_sxp *xend_sxp_atom_int(long long value);
struct xend_sxp *xend_sxp_atom_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A float as the original printed it (Python 2 str(): 12 significant digits). */
struct xend_sxp *xend_sxp_atom_double(double value);
/* The same text, for printers that write no tree. */
struct xend_sxp_double {
    char text[40];
};
struct xend_sxp_double xend_sxp_double_text(double value);
struct xend_sxp *xend_sxp_copy(const struct xend_sxp *node);
void xend_sxp_free(struct xend_sxp *node);
/* On the calling thread, keep freed small nodes for reuse (on), or stop and free what was
 * kept (off). For a long-lived thread that builds many short-lived trees (xend's loop);
 * turn it off before the thread ends. */
void xend_sxp_node_cache(bool on);
/* Free the nodes the calling thread keeps, leaving the cache on or off as it was: kept
 * nodes are scattered through the heap and pin pages a trim would give back. */
void xend_sxp_node_cache_empty(void);

struct xend_sxp *xend_sxp_append_take(struct xend_sxp *list, struct xend_sxp *item);
struct xend_sxp *xend_sxp_add_kv(struct xend_sxp *list, const char *key, const char *value);
struct xend_sxp *xend_sxp_add_kv_int(struct xend_sxp *list, const char *key, long long value);
/* Append (key node) with node taken. */
struct xend_sxp *xend_sxp_add_kv_take(struct xend_sxp *list, const char *key,
                                      struct xend_sxp *value);
/* Remove and free the item at i of list; no-op past the end. */
void xend_sxp_remove(struct xend_sxp *list, size_t i);
/* Remove the item at i of list and return it (owned by the caller); NULL past the end. */
struct xend_sxp *xend_sxp_detach(struct xend_sxp *list, size_t i);
/* The same, as a tree that keeps no memory but its own: the item itself when it does
 * (not part of a larger block: made apart, or a copy), else a copy of it. */
struct xend_sxp *xend_sxp_detach_own(struct xend_sxp *list, size_t i);
/* Replace the item at i (taken); the old one is freed. */
void xend_sxp_replace_take(struct xend_sxp *list, size_t i, struct xend_sxp *item);
/* A list (name item...) built from a name and NULL-terminated atoms. */
struct xend_sxp *xend_sxp_list_of(const char *name, ...) __attribute__((sentinel));

bool xend_sxp_is_list(const struct xend_sxp *node);
const char *xend_sxp_atom_text(const struct xend_sxp *node);
size_t xend_sxp_length(const struct xend_sxp *node);
struct xend_sxp *xend_sxp_nth(const struct xend_sxp *list, size_t i);
const char *xend_sxp_name(const struct xend_sxp *node);
struct xend_sxp *xend_sxp_child(const struct xend_sxp *list, const char *name);
/* The index of child `name` in list, or -1. */
long xend_sxp_child_index(const struct xend_sxp *list, const char *name);
const char *xend_sxp_child_value(const struct xend_sxp *list, const char *name, const char *dflt);
int xend_sxp_child_int(const struct xend_sxp *list, const char *name, long long *out);
/* Parse a whole atom as a decimal integer (leading +/- allowed): true on success. */
bool xend_sxp_text_int(const char *text, long long *out);
bool xend_sxp_equal(const struct xend_sxp *a, const struct xend_sxp *b);
/* Nesting of lists as the parser counts it (an atom 0, "(a)" 1, "(a (b))" 2) and the
 * number of atoms and lists, so a tree can be checked against the limits a reader parses
 * it with. */
void xend_sxp_measure(const struct xend_sxp *node, size_t *depth, size_t *nodes);

int xend_sxp_parse(const char *text, size_t len, const struct xend_sxp_limits *limits,
                   struct xend_sxp **out, char *err_msg, size_t err_len);
/* The same, and on an error the line (1-based) where the parser found it, for messages
 * that point into a file (xend's dry run of a create). */
int xend_sxp_parse_line(const char *text, size_t len, const struct xend_sxp_limits *limits,
                        struct xend_sxp **out, char *err_msg, size_t err_len, unsigned *err_line);
/* Parse every top-level value into one list (owned). */
int xend_sxp_parse_all(const char *text, size_t len, const struct xend_sxp_limits *limits,
                       struct xend_sxp **out, char *err_msg, size_t err_len);

char *xend_sxp_print(const struct xend_sxp *node);
void xend_sxp_print_buf(const struct xend_sxp *node, struct xend_buf *out);
/* Laid out as the 2.0 client's PrettyPrint does at 80 columns (xm list -l, call, the event
 * port, HTML pages): a list that fits stays on one line, a longer one gets an item per line
 * and its ')' on a line of its own. No final newline. */
void xend_sxp_pretty_buf(const struct xend_sxp *node, struct xend_buf *out);
/* Write one atom's text with the quoting rules of the printer. */
void xend_sxp_print_atom(const char *text, size_t len, struct xend_buf *out);
/* Append " (key value)", a list item after others as the printer writes it, for printers
 * that build no tree. */
void xend_sxp_print_kv(struct xend_buf *out, const char *key, const char *value);
void xend_sxp_print_kv_int(struct xend_buf *out, const char *key, long long value);
/* (key 1.5): the float as xend_sxp_double_text prints it. */
void xend_sxp_print_kv_double(struct xend_buf *out, const char *key, double value);

/* The host->sxp table over these functions. */
extern const struct xend_host_sxp xend_sxp_host_table;

#endif
