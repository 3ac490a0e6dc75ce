/*
 * The limits of a domain record (see record_limits.h).
 */
#include "record_limits.h"

#include "sxp.h"

const struct xend_sxp_limits xend_record_limits = {
    .max_depth = XEND_RECORD_MAX_DEPTH,
    .max_nodes = XEND_RECORD_MAX_NODES,
    .max_atom = XEND_CONFIG_MAX_BYTES,
};

int xend_record_check(const struct xend_sxp *v, size_t bytes, bool config, struct xend_err *err)
{
    const char *what = config ? "config" : "domain record";
    size_t max_depth = config ? XEND_CONFIG_MAX_DEPTH : XEND_RECORD_MAX_DEPTH;
    size_t max_bytes = config ? XEND_CONFIG_MAX_BYTES : XEND_RECORD_MAX_BYTES;
    size_t max_nodes = config ? XEND_CONFIG_MAX_NODES : XEND_RECORD_MAX_NODES;
    size_t depth, nodes;
    xend_sxp_measure(v, &depth, &nodes);
    if (depth > max_depth)
        return xend_err_set(err, XEND_ELIMIT, "%s nested %zu deep: at most %zu%s", what, depth,
                            max_depth,
                            config ? ", as its stored record wraps it 2 levels deeper" : "");
    if (bytes > max_bytes)
        return xend_err_set(err, XEND_ELIMIT, "%s of %zu bytes: at most %zu", what, bytes,
                            max_bytes);
    if (nodes > max_nodes)
        return xend_err_set(err, XEND_ELIMIT, "%s of %zu items: at most %zu", what, nodes,
                            max_nodes);
    return 0;
}
