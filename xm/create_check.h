/*
 * xm create --check: the dry run of a create (docs/xm.md). The config is read here as a
 * create reads it, each problem of the file listed with its line, then sent to xend with
 * check=1, which checks everything its create would and creates nothing; xend's problems
 * come back tied to the lines of the file too. Prints the problems, or "FILE: ok, nothing
 * created"; -o json|sxp for scripts.
 */
#ifndef XM_CREATE_CHECK_H
#define XM_CREATE_CHECK_H

#include <xend/abi.h>

#include "cmd.h"
#include "pyconf.h"

struct xm_check_input {
    const char *file;         /* the Python config found, or NULL with sxp_file */
    const char *sxp_file;     /* -F FILE, or NULL */
    const char *defconfig;    /* as given (the default name) */
    struct xend_pyvars *vars; /* the command line's variables; the file's are added */
};

/* 0 when xend found nothing wrong; otherwise -XEND_EINVAL with err "FILE: N problems,
 * nothing created" (the problems printed), or the error of a request that failed. */
int xm_create_check(struct xm_ctx *ctx, const struct xm_check_input *in, struct xend_err *err);

#endif
