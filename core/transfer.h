/*
 * The relocation port: where another xend (or this one, for a local migration) sends a
 * domain (transfer.c). Save, restore and migrate themselves are lifecycle operations
 * declared in lifecycle.h.
 */
#ifndef XEND_CORE_TRANSFER_H
#define XEND_CORE_TRANSFER_H

#include <xend/abi.h>

#define XEND_RELOCATION_DEFAULT_PORT "8002"

int xend_transfer_listen(const char *address, int port, struct xend_err *err);
void xend_transfer_stop(void);

#endif
