/*
 * The commands of xm: the context they run in, the table that names them (name, group,
 * usage, help, handler) and the helpers they share. Each handler lives in a cmd_*.c file
 * with the commands of its group.
 *
 * A handler returns 0 or a negative code with err set; it never exits and never prints an
 * error itself: main() prints "Error: MSG" and exits 1, as the 2.0 client did.
 */
#ifndef XM_CMD_H
#define XM_CMD_H

#include <stdbool.h>
#include <stdio.h>

#include <xend/abi.h>

#include "buf.h"
#include "client.h"
#include "opt.h"
#include "output.h"

struct xm_ctx {
    struct xm_client client;
    const char *prog;           /* how xm was called (basename of argv[0]) */
    bool server_ok;             /* the server address parsed */
    struct xend_err server_err; /* why it did not */
    enum xm_output_form output; /* -o of a data command (xm_run takes it out) */
};

/* argv[0] is the command's name; argv[1..argc) its arguments. */
typedef int (*xm_cmd_fn)(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err);

struct xm_cmd {
    const char *name;
    const char *group; /* help section: all, console, domain, host, scheduler, vbd, vif, vnet */
    const char *info;  /* one line for `xm help` */
    const char *args;  /* usage after the name ("DOM FILE"); NULL when help is the info line */
    const char *help;  /* text after the usage line */
    const struct xm_optset *opts; /* help is the options' usage when set */
    void (*help_fn)(const struct xm_cmd *cmd, struct xend_buf *out); /* overrides the above */
    xm_cmd_fn run;
};

extern const struct xm_cmd xm_commands[];
extern const size_t xm_ncommands;

/* The command called `name`, or the only one it is a prefix of; NULL when none or
 * ambiguous (as the 2.0 getprog). */
const struct xm_cmd *xm_cmd_find(const char *name);

/* `xm help`: the groups with one line per command, then "Try 'PROG help CMD'...". */
void xm_help_all(const char *prog, struct xend_buf *out);

/* `xm help CMD` and `xm CMD -h`. */
void xm_help_cmd(const struct xm_cmd *cmd, struct xend_buf *out);

/* Whether the command prints data, and so takes -o json|sxp. */
bool xm_cmd_prints_data(const struct xm_cmd *cmd);

/* Run argv[0] (a command name or prefix) with its arguments. */
int xm_run(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err);

/* ---- helpers for the handlers ------------------------------------------------------ */

/* Write the buffer to stdout and empty it. */
void xm_print(struct xend_buf *out);

/* "CMD: what" as the 2.0 usage errors ("pause: Missing domain"). */
int xm_usage_error(struct xend_err *err, const char *cmd, const char *what);

/* A decimal integer argument; python's message when it is not one. */
int xm_parse_int(const char *s, long long *out, struct xend_err *err);

/* Require xend's address to be usable before a request. */
int xm_need_server(struct xm_ctx *ctx, struct xend_err *err);

/* GET/POST "domain/DOM" with parameters; *out may be NULL when the result is not wanted. */
int xm_domain_get(struct xm_ctx *ctx, const char *dom, const struct xm_param *params, size_t n,
                  struct xm_result *out, struct xend_err *err);
int xm_domain_post(struct xm_ctx *ctx, const char *dom, const struct xm_param *params, size_t n,
                   struct xm_result *out, struct xend_err *err);

/* POST op=OP to "rel" with NULL-terminated name, value pairs after it; result dropped. */
int xm_post_op(struct xm_ctx *ctx, const char *rel, const char *op, struct xend_err *err, ...)
    __attribute__((sentinel));

/* The result as an SXP list (error "invalid reply from xend" otherwise). */
int xm_result_list(const struct xm_result *r, struct xend_err *err);

/* The handlers, by file. */
int xm_cmd_create(struct xm_ctx *, int, char **, struct xend_err *);
void xm_create_help(const struct xm_cmd *cmd, struct xend_buf *out);
extern const struct xm_optset xm_create_opts;

int xm_cmd_list(struct xm_ctx *, int, char **, struct xend_err *);
int xm_cmd_destroy(struct xm_ctx *, int, char **, struct xend_err *);
int xm_cmd_shutdown(struct xm_ctx *, int, char **, struct xend_err *);
int xm_cmd_pause(struct xm_ctx *, int, char **, struct xend_err *);
int xm_cmd_unpause(struct xm_ctx *, int, char **, struct xend_err *);
int xm_cmd_domid(struct xm_ctx *, int, char **, struct xend_err *);
int xm_cmd_domname(struct xm_ctx *, int, char **, struct xend_err *);
int xm_cmd_save(struct xm_ctx *, int, char **, struct xend_err *);
int xm_cmd_cancel(struct xm_ctx *, int, char **, struct xend_err *);
int xm_cmd_restore(struct xm_ctx *, int, char **, struct xend_err *);
int xm_cmd_migrate(struct xm_ctx *, int, char **, struct xend_err *);
int xm_cmd_pincpu(struct xm_ctx *, int, char **, struct xend_err *);
int xm_cmd_maxmem(struct xm_ctx *, int, char **, struct xend_err *);
int xm_cmd_balloon(struct xm_ctx *, int, char **, struct xend_err *);
extern const struct xm_optset xm_destroy_opts, xm_shutdown_opts, xm_migrate_opts, xm_save_opts,
    xm_restore_opts;

int xm_cmd_bvt(struct xm_ctx *, int, char **, struct xend_err *);
int xm_cmd_bvt_ctxallow(struct xm_ctx *, int, char **, struct xend_err *);
int xm_cmd_fbvt(struct xm_ctx *, int, char **, struct xend_err *);
int xm_cmd_fbvt_ctxallow(struct xm_ctx *, int, char **, struct xend_err *);
int xm_cmd_atropos(struct xm_ctx *, int, char **, struct xend_err *);
int xm_cmd_rrobin(struct xm_ctx *, int, char **, struct xend_err *);

int xm_cmd_info(struct xm_ctx *, int, char **, struct xend_err *);
int xm_cmd_dmesg(struct xm_ctx *, int, char **, struct xend_err *);
int xm_cmd_log(struct xm_ctx *, int, char **, struct xend_err *);
extern const struct xm_optset xm_dmesg_opts;

int xm_cmd_console(struct xm_ctx *, int, char **, struct xend_err *);
int xm_cmd_consoles(struct xm_ctx *, int, char **, struct xend_err *);

int xm_cmd_vbd_create(struct xm_ctx *, int, char **, struct xend_err *);
int xm_cmd_vbd_destroy(struct xm_ctx *, int, char **, struct xend_err *);
int xm_cmd_vbd_list(struct xm_ctx *, int, char **, struct xend_err *);
int xm_cmd_vif_list(struct xm_ctx *, int, char **, struct xend_err *);
int xm_cmd_vnet_list(struct xm_ctx *, int, char **, struct xend_err *);
int xm_cmd_vnet_create(struct xm_ctx *, int, char **, struct xend_err *);
int xm_cmd_vnet_delete(struct xm_ctx *, int, char **, struct xend_err *);

int xm_cmd_call(struct xm_ctx *, int, char **, struct xend_err *);
void xm_call_help(const struct xm_cmd *cmd, struct xend_buf *out);

int xm_cmd_help(struct xm_ctx *, int, char **, struct xend_err *);

int xm_cmd_events(struct xm_ctx *, int, char **, struct xend_err *);
extern const struct xm_optset xm_events_opts;

#endif
