/*
 * The /xend/node resource: host facts with the backend's physical info, dmesg, the xend
 * log, the loaded plugins, and the guarded node ops.
 */
#ifndef XEND_CORE_NODE_HTTP_H
#define XEND_CORE_NODE_HTTP_H

#include <stdbool.h>

struct xend_node_options {
    bool allow_shutdown; /* config enable-node-shutdown: POST op=shutdown/reboot act */
};

int xend_node_http_register(const struct xend_node_options *opts);

#endif
