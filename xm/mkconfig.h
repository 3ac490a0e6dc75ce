/*
 * The domain config builder of `xm create`: turns the variables of a config file and of the
 * command line into the (vm ...) SXP that xend's create takes, exactly as the 2.0 xm built
 * it (PROTOCOL-2.0.md §7.2): same variables and defaults, same element order, kernel and
 * ramdisk made absolute here on the client, vifs without a mac given a random aa:00:00 one,
 * disks as TYPE:DEV,VDEV,MODE[,DOM].
 *
 * Never talks to xend and never checks what only the server can know (that a kernel exists
 * on its host, that a device is free).
 */
#ifndef XM_MKCONFIG_H
#define XM_MKCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xend/abi.h>

#include "buf.h"
#include "opt.h"
#include "pyconf.h"
#include "sxp.h"

enum xm_var_type { XM_VAR_STR, XM_VAR_INT, XM_VAR_FLOAT, XM_VAR_BOOL, XM_VAR_LIST };

/* A variable xm create understands: its help entry and its type. */
struct xm_var_spec {
    struct xm_opt opt; /* kind XM_OPT_VAR: name, placeholder, help, default */
    enum xm_var_type type;
};

extern const struct xm_var_spec xm_mkconfig_vars[];
extern const size_t xm_mkconfig_nvars;

/* The spec of variable `name`, or NULL when xm create does not know it. */
const struct xm_var_spec *xm_mkconfig_var(const char *name);

struct xm_build_ctx {
    const char *file;              /* the config file, for messages; NULL when none */
    const char *config_dir;        /* its directory: a relative kernel not found from the current
                                      directory is looked up there; NULL for none */
    const char *defconfig;         /* the default name is its basename; may be NULL */
    uint32_t (*random)(void *arg); /* random source for macs; NULL = getrandom() */
    void *random_arg;
};

/*
 * Build the (vm ...) config. Returns 0 and *out (owned), or -XEND_EINVAL with err set:
 * a problem with a variable of the file reads "FILE:LINE: NAME: expected a string"; the
 * 2.0 messages are kept otherwise ("No kernel specified", "Invalid disk specifier: X").
 */
int xm_mkconfig_build(const struct xm_pyvars *vars, const struct xm_build_ctx *ctx,
                      struct xend_sxp **out, struct xend_err *err);

/*
 * Variables the file `file` set that xm create does not know and no expression of the file
 * read (a helper such as vmid is read): a typo, whose value would be silently ignored. Each
 * is a line "Warning: FILE:LINE: unknown variable 'memroy'; did you mean 'memory'?" added to
 * warnings, or, with strict, the first is the error (-XEND_EINVAL). Returns 0 otherwise.
 */
int xm_mkconfig_check_vars(const struct xm_pyvars *vars, const char *file, bool strict,
                           struct xend_buf *warnings, struct xend_err *err);

/* "aa:00:00:XX:XX:XX" from 23 random bits (the 4th byte below 0x80, as in 2.0). */
void xm_random_mac(uint32_t r, char out[18]);

/* python's os.path.abspath: relative to the current directory, normalised. Owned. */
char *xm_abspath(const char *path);

#endif
