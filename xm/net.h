/*
 * Socket connection for xm: a TCP connection to host:port (IPv4 or IPv6, with a connect
 * deadline) or a connection to a unix socket. Used by the HTTP client and the console.
 *
 * Never listens, never keeps a socket past the caller's use, and never retries: one
 * attempt per address, as python's socket.connect did for the 2.0 client.
 */
#ifndef XM_NET_H
#define XM_NET_H

#include <xend/abi.h>

/*
 * Connect to host:port, or to unix_path when it is non-NULL (host and port unused then).
 * Returns a connected blocking socket (owned: close it), or -XEND_EIO with err set to the
 * python-style socket error text ("[Errno 111] Connection refused").
 */
int xm_net_connect(const char *host, const char *port, const char *unix_path, int timeout_ms,
                   struct xend_err *err);

#endif
