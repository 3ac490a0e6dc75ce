/*
 * xend plugin ABI: version, error codes, log levels and the error object.
 *
 * This header is part of the public plugin ABI (include/xend/). It must never include a
 * core header, and a plugin built against it needs nothing from core/.
 *
 * Ownership words used in every doc comment of include/xend/:
 *   borrowed - valid until the callback returns (or the op completes, where stated);
 *              the receiver neither frees nor keeps it.
 *   owned    - the receiver frees it with the function named.
 *   taken    - ownership passes to the callee, on success only; such functions end in _take.
 *
 * Threads: every callback runs on the event-loop thread and every host function is
 * loop-thread-only, except where a doc comment says otherwise (loop->post, log->emit).
 *
 * ABI changelog (append a line per minor; never remove or reorder a member):
 *   1.0  2026-11-27  first stable ABI: host table with log, config, sxp, http, domain,
 *                    device, sched, backend, loop, store and event services.
 *   1.1  2026-11-27  backend.h: dom_create_async and dom_confirm ops at the end of
 *                    xend_backend_ops, and xend_dom_create.flags (XEND_DOM_CREATE_HOLD).
 *                    A 1.0 backend's shorter table reads as having neither.
 *                    domain.h: describe_print_add, text describers.
 *   1.2  2026-11-27  backend.h: flag XEND_BACKEND_CONSOLE_KEEPS_OUTPUT.
 *   1.3  2026-12-06  access.h: host->access (appended to struct xend_host) with
 *                    peer_check, the identity check of xend's HTTP for a plugin's own
 *                    listeners (console ports). A 1.2 core's shorter table has none.
 *   1.4  2026-12-06  backend.h: flag XEND_BACKEND_SIMULATED (device scripts dry-run by
 *                    default, where a plugin decided that by the backend's name before).
 *   1.5  2026-12-06  http.h: roles (enum xend_role), xend_route.role (appended: the least
 *                    role that may call the route; a shorter 1.0-1.4 route reads as
 *                    XEND_ROLE_ADMIN) and xend_host_http.caller_role (appended). A 1.4
 *                    core's shorter table has no caller_role: every caller was an admin.
 *   1.6  2026-12-06  http.h: streaming replies for plugins (xend_host_http.stream_begin,
 *                    stream_write, stream_end, stream_backlog, stream_on_close) and
 *                    form_token (a page's fetch() POSTs), appended. A 1.5 core's shorter
 *                    table has none of them: a plugin checks XEND_HAS_MEMBER.
 *   1.7  2026-12-07  backend.h: xend_progress_fn returns a verdict (0 go on, a negative
 *                    code: stop) and may sleep to pace the stream; backend flag
 *                    XEND_BACKEND_TRANSFER_STOPS says save and restore honour it. A 1.6
 *                    backend calls it as returning void: it ignores the verdict and is
 *                    still paced (the core stops it by other means, docs/plugins.md).
 *   1.8  2026-12-07  backend.h: xend_backend_ops.save_with (appended), a save whose live
 *                    rounds are reported (struct xend_save_round, xend_save_round_fn) and
 *                    bounded (struct xend_save_args: max_rounds, max_last_kb). A 1.7
 *                    backend's shorter table has none: the core calls its save.
 *   1.9  2026-12-07  domain.h: describe_print_kept_add and describe_changed (appended): a
 *                    text describer whose text the core keeps until the plugin says it
 *                    changed. A 1.8 core's shorter table has neither: a plugin checks
 *                    XEND_HAS_MEMBER and adds its describer with describe_print_add.
 *   1.10 2026-12-07  backend.h: xend_save_args.rate_bytes_s (appended), the rate the core
 *                    paces a save to, so that a backend keeps no more than ~100 ms of it
 *                    queued ahead of the pace. A 1.9 backend reads the shorter struct and
 *                    never sees it; a 1.9 core's shorter args read as no rate.
 *   1.11 2026-12-07  backend.h: xend_backend_ops.dom_destroy_async (appended) and
 *                    xend_dom_done_fn: a destroy that finishes later, so that the loop
 *                    does not wait for a remote hypervisor's round trip. A 1.10 backend's
 *                    shorter table has none: the core calls its dom_destroy.
 */
#ifndef XEND_ABI_H
#define XEND_ABI_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define XEND_ABI_MAJOR 1
#define XEND_ABI_MINOR 11

/* Feature macros: one per addition, so plugins can #ifdef (as libxl's LIBXL_HAVE_*). */
#define XEND_HAVE_DEVICE_CLASSES 1
#define XEND_HAVE_SCHEDULERS 1
#define XEND_HAVE_BACKENDS 1
#define XEND_HAVE_ASYNC_CREATE 1 /* 1.1: dom_create_async, dom_confirm, XEND_DOM_CREATE_HOLD */
#define XEND_HAVE_CONSOLE_KEEPS_OUTPUT 1 /* 1.2: backend flag XEND_BACKEND_CONSOLE_KEEPS_OUTPUT */
#define XEND_HAVE_PEER_ACCESS 1          /* 1.3: host->access->peer_check */
#define XEND_HAVE_BACKEND_SIMULATED 1    /* 1.4: backend flag XEND_BACKEND_SIMULATED */
#define XEND_HAVE_ROUTE_ROLES 1          /* 1.5: xend_route.role, http->caller_role */
#define XEND_HAVE_HTTP_STREAM 1          /* 1.6: http->stream_*, http->form_token */
#define XEND_HAVE_TRANSFER_STOPS 1       /* 1.7: progress verdict, XEND_BACKEND_TRANSFER_STOPS */
#define XEND_HAVE_SAVE_ROUNDS 1          /* 1.8: save_with, struct xend_save_round */
#define XEND_HAVE_KEPT_DESCRIBERS 1      /* 1.9: describe_print_kept_add, describe_changed */
#define XEND_HAVE_SAVE_RATE 1            /* 1.10: xend_save_args.rate_bytes_s */
#define XEND_HAVE_ASYNC_DESTROY 1        /* 1.11: dom_destroy_async */

/* True when a size-prefixed table or struct `t` (pointer) is large enough to hold `member`. */
#define XEND_HAS_MEMBER(t, member)                                                                 \
    ((t) != NULL && (t)->size >= offsetof(__typeof__(*(t)), member) + sizeof((t)->member))

/*
 * Error codes. Functions return 0 or a negative code; never a positive status.
 * The HTTP layer maps each code to a status and an (xend.err "...") reply.
 */
enum xend_error {
    XEND_OK = 0,
    XEND_EINVAL = 1,    /* bad argument or config */
    XEND_ENOENT = 2,    /* no such domain, device, file */
    XEND_EEXIST = 3,    /* already exists (name clash, port in use) */
    XEND_EBUSY = 4,     /* in use (device shared writable) */
    XEND_ENOTSUP = 5,   /* operation not supported by this backend or scheduler */
    XEND_ENOMEM = 6,    /* out of memory (hypervisor memory, or plugin-side limits) */
    XEND_ETIMEDOUT = 7, /* a deferred operation passed its deadline */
    XEND_EPERM = 8,     /* not allowed (guarded operation) */
    XEND_EIO = 9,       /* I/O or script failure */
    XEND_ELIMIT = 10,   /* a request limit was exceeded */
    XEND_EABI = 11,     /* ABI version mismatch */
    XEND_EBACKEND = 12, /* the hypervisor refused or failed */
    XEND_ECANCELED = 13,
    XEND_ERROR_COUNT
};

/* Log levels, most severe first. */
enum xend_log_level {
    XEND_LOG_ERROR = 0,
    XEND_LOG_WARN = 1,
    XEND_LOG_NOTICE = 2,
    XEND_LOG_INFO = 3,
    XEND_LOG_DEBUG = 4,
};

/*
 * The error object: the message for the client is set once, where the error is known, and
 * travels up unchanged (libvirt's virReportError). Callers own the struct (usually on the
 * stack); callees fill it with xend_err_set. An empty msg with a non-zero code means "use
 * the code's string".
 */
#define XEND_ERR_MSG_MAX 512
struct xend_err {
    int code; /* a positive enum xend_error value, 0 when no error */
    char msg[XEND_ERR_MSG_MAX];
};

/*
 * Set *err (if non-NULL) unless it already holds an error, and return -code, so that
 * `return xend_err_set(err, XEND_EINVAL, "invalid mac: %s", mac);` reads naturally.
 * The first message set wins: an upper layer never rewrites the text of a lower one.
 */
static inline int xend_err_vset(struct xend_err *err, int code, const char *fmt, va_list ap)
{
    if (err != NULL && err->code == 0) {
        err->code = code;
        if (fmt != NULL)
            vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        else
            err->msg[0] = '\0';
    }
    return -code;
}

__attribute__((format(printf, 3, 4))) static inline int xend_err_set(struct xend_err *err, int code,
                                                                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = xend_err_vset(err, code, fmt, ap);
    va_end(ap);
    return rc;
}

#ifdef __clang_analyzer__
/* The static analyzer does not follow a variadic call, so it would not know that
 * xend_err_set returns a negative code and would walk paths where it does not. */
static inline int xend_err_negative(int rc)
{
    return rc < 0 ? rc : -XEND_EINVAL;
}
#define xend_err_set(...) xend_err_negative((xend_err_set)(__VA_ARGS__))
#endif

/* The fixed string of an error code (positive or negative); never NULL. */
static inline const char *xend_strerror(int code)
{
    static const char *const names[XEND_ERROR_COUNT] = {
        [XEND_OK] = "ok",
        [XEND_EINVAL] = "invalid argument",
        [XEND_ENOENT] = "not found",
        [XEND_EEXIST] = "already exists",
        [XEND_EBUSY] = "busy",
        [XEND_ENOTSUP] = "not supported",
        [XEND_ENOMEM] = "out of memory",
        [XEND_ETIMEDOUT] = "timed out",
        [XEND_EPERM] = "not permitted",
        [XEND_EIO] = "i/o error",
        [XEND_ELIMIT] = "limit exceeded",
        [XEND_EABI] = "abi mismatch",
        [XEND_EBACKEND] = "hypervisor error",
        [XEND_ECANCELED] = "canceled",
    };
    if (code < 0)
        code = -code;
    return code < XEND_ERROR_COUNT ? names[code] : "unknown error";
}

/* The message of an error object: its text, or the code's string when no text was set. */
static inline const char *xend_err_msg(const struct xend_err *err)
{
    return err->msg[0] != '\0' ? err->msg : xend_strerror(err->code);
}

static inline void xend_err_clear(struct xend_err *err)
{
    err->code = 0;
    err->msg[0] = '\0';
}

#ifdef __cplusplus
}
#endif
#endif
