/*
 * The frozen-ABI check: compiles every public header of include/xend/ (or, for the second
 * build of this file, the frozen copy tests/abi/include-1.0/) together with the pinned
 * 1.0 layout. An accidental change of a member's offset or size, of a struct that may not
 * grow, or of a constant's value fails the build; the run only reports what was checked.
 */
#include <stddef.h>
#include <stdio.h>

#include <xend/abi.h>
#include <xend/backend.h>
#include <xend/device.h>
#include <xend/domain.h>
#include <xend/host.h>
#include <xend/http.h>
#include <xend/loop.h>
#include <xend/plugin.h>
#include <xend/sched.h>
#include <xend/sxp.h>

#include "abi_layout_1_0.h"
#ifdef XEND_HAVE_PEER_ACCESS
#include "abi_layout_1_3.h"
#endif
#ifdef XEND_HAVE_BACKEND_SIMULATED
#include "abi_layout_1_4.h"
#endif
#ifdef XEND_HAVE_ROUTE_ROLES
#include "abi_layout_1_5.h"
#endif
#ifdef XEND_HAVE_HTTP_STREAM
#include "abi_layout_1_6.h"
#endif
#ifdef XEND_HAVE_TRANSFER_STOPS
#include "abi_layout_1_7.h"
#endif
#ifdef XEND_HAVE_SAVE_ROUNDS
#include "abi_layout_1_8.h"
#endif
#ifdef XEND_HAVE_KEPT_DESCRIBERS
#include "abi_layout_1_9.h"
#endif
#ifdef XEND_HAVE_SAVE_RATE
#include "abi_layout_1_10.h"
#endif
#ifdef XEND_HAVE_ASYNC_DESTROY
#include "abi_layout_1_11.h"
#endif

int main(void)
{
    printf("ok - include/xend keeps the ABI 1.0 layout (this tree speaks %d.%d)\n", XEND_ABI_MAJOR,
           XEND_ABI_MINOR);
    return 0;
}
