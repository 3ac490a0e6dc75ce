/*
 * The dry run of a create (issue 20, "xm create --check"), and the reader of the config
 * text a create is given: an SXP (vm ...) config, or an xm-style Python config as `xm
 * create` reads it (lib/pyconf.c, lib/xmconfig.c), so that a browser may upload either.
 *
 * A check runs the create path's own validation (core/lifecycle/validate.c: the config,
 * the name, the host's memory and cpus, the kernel, the console port, each device through
 * its class, the VALIDATE hooks) with every problem listed instead of only the first, and changes
 * nothing: no store write, no script, no backend call that changes anything.
 *
 * Loop thread only.
 */
#ifndef XEND_CORE_CREATE_CHECK_H
#define XEND_CORE_CREATE_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include <xend/abi.h>

#include "sxp.h"

struct xend_config_problem {
    unsigned line; /* 1-based; 0 = not tied to a line */
    char *text;    /* owned */
};

struct xend_config_problems {
    struct xend_config_problem *v; /* owned */
    size_t n;
};

void xend_config_problems_free(struct xend_config_problems *p);

/*
 * Read TEXT (an SXP (vm ...) config, or an xm-style Python config as `xm create` reads it)
 * and check everything a create would, as a caller of role ROLE (enum xend_role), creating
 * nothing. 0 with *config set (owned by the caller) when there is no problem; otherwise
 * -XEND_EINVAL with every problem found listed (not only the first); -XEND_EPERM (and the
 * refusal listed) when ROLE may not create. problems is filled either way (empty on
 * success) and owned by the caller.
 */
int xend_create_check(const char *text, size_t len, int role, struct xend_sxp **config,
                      struct xend_config_problems *problems);

/*
 * Only read TEXT as above, into the (vm ...) a create takes (*config, owned), checking no
 * more than the reader does: 0, or -XEND_EINVAL with each problem the reader found (a
 * syntax error, an unknown variable, a bad value), each with its line.
 */
int xend_create_read(const char *text, size_t len, struct xend_sxp **config,
                     struct xend_config_problems *problems);

/* Whether TEXT is SXP (its first character past blanks and # comments is '('); otherwise
 * it is read as a Python config. */
bool xend_create_text_is_sxp(const char *text, size_t len);

/* The problems as one message, a line "line N: TEXT" each ("TEXT" for line 0), for the
 * (xend.err "...") reply of a client that reads one message. Owned. */
char *xend_config_problems_text(const struct xend_config_problems *p);

#endif
