/*
 * The hypervisor the core talks to: the registry of backend plugins, the choice of one by
 * the `backend` setting, and thin wrappers that turn a missing op into a clear
 * -XEND_ENOTSUP naming the backend and the operation. The core never names a backend.
 */
#ifndef XEND_CORE_HV_H
#define XEND_CORE_HV_H

#include <stdbool.h>

#include <xend/backend.h>

struct xend_plugin;

int xend_hv_add(struct xend_plugin *owner, const struct xend_backend_ops *ops, void *ctx);
void xend_hv_remove_owner(struct xend_plugin *owner);
const struct xend_host_backend *xend_hv_host_table(void);
/* True when `owner` registered backends and none of them is the open one. */
bool xend_hv_owns_only_closed(const struct xend_plugin *owner);

/* Choose and open the backend `name` ("auto" = highest priority whose probe says yes). */
int xend_hv_open(const char *name, struct xend_err *err);
void xend_hv_close(void);
/* The open backend's ops and ctx; NULL before xend_hv_open succeeded. */
const struct xend_backend_ops *xend_hv(void **ctx);
const char *xend_hv_name(void);

/* "sim backend does not support dom_pin_vcpu" */
int xend_hv_enotsup(const char *op, struct xend_err *err);

/* Call op `fn` of the open backend with its ctx, or fail with ENOTSUP naming it. */
#define XEND_HV_CALL(fn, err, ...)                                                                 \
    ({                                                                                             \
        void *hv_ctx_;                                                                             \
        const struct xend_backend_ops *hv_ops_ = xend_hv(&hv_ctx_);                                \
        (hv_ops_ == NULL || hv_ops_->fn == NULL) ? xend_hv_enotsup(#fn, (err))                     \
                                                 : hv_ops_->fn(hv_ctx_, __VA_ARGS__, (err));       \
    })

#endif
