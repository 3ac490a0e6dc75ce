/*
 * Access control for what a plugin serves itself (a console port, say): the same identity
 * rules as xend's HTTP interface (docs/security.md), so a listener of a plugin is no way
 * around them. Since ABI 1.3 (XEND_HAVE_PEER_ACCESS); check
 * XEND_HAS_MEMBER(host, access) before use.
 *
 * Threads: loop thread only.
 */
#ifndef XEND_ACCESS_H
#define XEND_ACCESS_H

#include <stddef.h>

#include <xend/abi.h>

#ifdef __cplusplus
extern "C" {
#endif

struct xend_plugin;

struct xend_host_access {
    size_t size;
    /*
     * Whether the peer of the connected socket fd may use xend: 0, or -XEND_EPERM with
     * err holding a one-line reason meant for that peer ("Access denied: user nobody (uid
     * 65534, by sock_diag) is not root ..."). A local peer is identified by the kernel
     * (SO_PEERCRED, or sock_diag over loopback TCP); since 1.5 it must have the role
     * operator at least (root, admin-group, operator-group: what a console needs; a
     * viewer is told "has role viewer; this needs role operator"); a peer on another
     * host only where the operator allowed plain remote access. Looks the peer up each
     * call: call it once per accepted connection.
     */
    int (*peer_check)(struct xend_plugin *self, int fd, struct xend_err *err);
};

#ifdef __cplusplus
}
#endif
#endif
