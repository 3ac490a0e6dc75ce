/*
 * The console client of xm (`xm console`, `xm create -c`): a raw byte stream between the
 * terminal and a domain's console port, with the banners of the 2.0 client; Ctrl-] leaves.
 * On a terminal, stdin is put in raw mode and restored on every way out. With stdin not a
 * terminal (a pipe, a file) the bytes are copied both ways until stdin ends and the console
 * has then been quiet for a second, or until the console closes.
 *
 * Never interprets the bytes (no telnet negotiation) and never talks HTTP.
 */
#ifndef XM_CONSOLE_H
#define XM_CONSOLE_H

#include <xend/abi.h>

#define XM_CONSOLE_BANNER "************ REMOTE CONSOLE: CTRL-] TO QUIT ********\n"
#define XM_CONSOLE_EXITED "\n************ REMOTE CONSOLE EXITED *****************\n"

/* Time the console may stay silent after stdin has ended before xm leaves. */
#define XM_CONSOLE_LINGER_MS 1000

/* Attach to host:port until the user leaves or the console closes. Returns 0, or
 * -XEND_EIO with err set when the port cannot be reached. */
int xm_console_attach(const char *host, const char *port, struct xend_err *err);

#endif
