/*
 * Command options in the style of the 2.0 xm (its opts.py over python getopt): short and
 * long options anywhere among the arguments, unique prefixes of long names, and the same
 * usage text, built from the same table that drives the parsing.
 *
 * Never exits and never prints: errors come back in a struct xend_err.
 */
#ifndef XM_OPT_H
#define XM_OPT_H

#include <stddef.h>

#include <xend/abi.h>

#include "buf.h"

enum xm_opt_kind {
    XM_OPT_FLAG,  /* -q, --quiet */
    XM_OPT_VALUE, /* -f FILE, --defconfig=FILE */
    XM_OPT_VAR,   /* NAME=VALUE among the arguments (xm create's variables); help only */
};

struct xm_opt {
    const char *name; /* long option, or the variable name */
    char short_name;  /* 0 for none */
    enum xm_opt_kind kind;
    const char *val;  /* placeholder shown in help (FILE, NAME...), VALUE and VAR only */
    const char *use;  /* help text; lines separated by '\n' */
    const char *dflt; /* default shown in help, NULL shows None */
};

struct xm_optset {
    const char *use; /* the text after "Usage:  CMD " */
    const struct xm_opt *opts;
    size_t n;
};

/* What the command line said about one option. */
struct xm_optval {
    int count;         /* how many times it was given */
    const char *value; /* the last value given (borrowed from argv), VALUE only */
};

/*
 * Parse argv[1..argc) (argv[0] is the command). vals has set->n slots, zeroed here.
 * The other arguments come back in order in *args (an owned array of borrowed strings,
 * free() it), *nargs of them. "--" ends the options. Returns 0 or -XEND_EINVAL with
 * getopt's message ("option -x not recognized").
 */
int xm_opt_parse(const struct xm_optset *set, int argc, char **argv, struct xm_optval *vals,
                 char ***args, int *nargs, struct xend_err *err);

/* The slot of option `name` in the set, or -1. */
int xm_opt_index(const struct xm_optset *set, const char *name);

/* The usage text of the 2.0 Opts.usage() for command `cmd`. */
void xm_opt_usage(const struct xm_optset *set, const char *cmd, struct xend_buf *out);

#endif
