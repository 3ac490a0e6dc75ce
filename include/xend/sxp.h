/*
 * S-expressions (SXP): the values xend speaks on the wire, stores on disk and hands to
 * plugins. A node is an atom (a string; numbers are atoms too) or a list of nodes.
 *
 * Nodes are opaque and created, read and freed only through `struct xend_host_sxp`
 * (host->sxp). A plugin never frees a node with libc free(). A list owns its children:
 * freeing a list frees them all, and a node appended to a list must not be freed by itself.
 *
 * Threads: these functions touch only the nodes given, so a worker thread may use them on
 * nodes it owns exclusively.
 */
#ifndef XEND_SXP_H
#define XEND_SXP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xend/abi.h>

#ifdef __cplusplus
extern "C" {
#endif

struct xend_sxp;

/* Bounds the parser enforces; 0 in a member means the default of xend_sxp_parse. */
struct xend_sxp_limits {
    size_t max_depth; /* nesting of lists (default 64) */
    size_t max_nodes; /* atoms and lists in one value (default 1,000,000) */
    size_t max_atom;  /* bytes in one atom (default 1 MiB) */
};

struct xend_host_sxp {
    size_t size;

    /* Constructors: each returns an owned node (free with sxp->free), never NULL. */
    struct xend_sxp *(*list)(void);
    struct xend_sxp *(*atom)(const char *text);
    struct xend_sxp *(*atom_len)(const char *text, size_t len);
    struct xend_sxp *(*atom_int)(long long value);
    struct xend_sxp *(*atom_fmt)(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
    struct xend_sxp *(*copy)(const struct xend_sxp *node);
    void (*free)(struct xend_sxp *node); /* NULL is fine */

    /* Append `item` (taken) to `list`; returns `list` so calls chain. */
    struct xend_sxp *(*append_take)(struct xend_sxp *list, struct xend_sxp *item);
    /* Append `(key value)` with value an atom made from `value`; returns `list`. */
    struct xend_sxp *(*add_kv)(struct xend_sxp *list, const char *key, const char *value);
    struct xend_sxp *(*add_kv_int)(struct xend_sxp *list, const char *key, long long value);

    /* Readers. Strings returned are borrowed from the node. */
    bool (*is_list)(const struct xend_sxp *node);
    const char *(*atom_text)(const struct xend_sxp *node);          /* NULL for a list */
    size_t (*length)(const struct xend_sxp *node);                  /* 0 for an atom */
    struct xend_sxp *(*nth)(const struct xend_sxp *list, size_t i); /* borrowed, NULL past end */
    /* The head atom of a list, NULL for an atom, an empty list or a list-headed list. */
    const char *(*name)(const struct xend_sxp *node);
    /* The first child list whose head is `name`, borrowed, or NULL. */
    struct xend_sxp *(*child)(const struct xend_sxp *list, const char *name);
    /* The atom after the head of child `name`, borrowed, or `dflt` when absent. */
    const char *(*child_value)(const struct xend_sxp *list, const char *name, const char *dflt);
    /* Child `name` as an integer: 0, -XEND_ENOENT when absent, -XEND_EINVAL when not one. */
    int (*child_int)(const struct xend_sxp *list, const char *name, long long *out);

    /*
     * Parse exactly one value from text[0..len). Returns 0 and *out (owned), or
     * -XEND_EINVAL / -XEND_ELIMIT with a message in err_msg (at most err_len bytes).
     */
    int (*parse)(const char *text, size_t len, const struct xend_sxp_limits *limits,
                 struct xend_sxp **out, char *err_msg, size_t err_len);
    /* Print compactly as the original xend did; returns an owned NUL-terminated string
     * (free with libc free()). */
    char *(*print)(const struct xend_sxp *node);
};

#ifdef __cplusplus
}
#endif
#endif
