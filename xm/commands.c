/*
 * The table of xm commands, their help, the dispatcher and the helpers the handlers share
 * (see cmd.h).
 */
#include "cmd.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"

/* clang-format off */
const struct xm_cmd xm_commands[] = {
    {"call", "all", "Call xend api functions.", "function args...",
     NULL, NULL, xm_call_help, xm_cmd_call},
    {"help", "all", "Print help.", NULL, NULL, NULL, NULL, xm_cmd_help},

    {"console", "console", "Open a console to a domain.", "DOM",
     "Open a console to domain DOM.", NULL, NULL, xm_cmd_console},
    {"consoles", "console", "Get information about domain consoles.", NULL, NULL, NULL, NULL,
     xm_cmd_consoles},

    {"balloon", "domain", "Set the domain's memory footprint using the balloon driver.",
     "DOM MEMORY_TARGET",
     "Request domain DOM to adjust its memory footprint to\nMEMORY_TARGET megabytes",
     NULL, NULL, xm_cmd_balloon},
    {"create", "domain", "Create a domain.", NULL, NULL, &xm_create_opts, xm_create_help,
     xm_cmd_create},
    {"cancel", "domain", "Cancel a running save, migration or restore.", "DOM",
     "Stop the save, migration or restore of domain DOM that is running; DOM stays as it "
     "was\n(a restore leaves no domain, and its file as it was).",
     NULL, NULL, xm_cmd_cancel},
    {"destroy", "domain", "Terminate a domain immediately.", NULL, NULL, &xm_destroy_opts,
     NULL, xm_cmd_destroy},
    {"domid", "domain", "Convert a domain name to a domain id.", "DOM",
     "Get the domain id for the domain with name DOM.", NULL, NULL, xm_cmd_domid},
    {"domname", "domain", "Convert a domain id to a domain name.", "DOM",
     "Get the name for the domain with id DOM.", NULL, NULL, xm_cmd_domname},
    {"list", "domain", "List information about domains.", "[options] [DOM...]",
     "Get information about domains.\n"
     "Either all domains or the domains given.\n"
     "\n"
     "-l, --long   Get more detailed information.",
     NULL, NULL, xm_cmd_list},
    {"maxmem", "domain", "Set domain memory limit.", "DOM MEMORY",
     "Set the memory limit for domain DOM to MEMORY megabytes.", NULL, NULL, xm_cmd_maxmem},
    {"migrate", "domain", "Migrate a domain to another machine.", NULL, NULL, &xm_migrate_opts,
     NULL, xm_cmd_migrate},
    {"pause", "domain", "Pause execution of a domain.", "DOM",
     "Pause execution of domain DOM.", NULL, NULL, xm_cmd_pause},
    {"pincpu", "domain", "Pin a domain to a cpu.", "DOM CPU",
     "Pin domain DOM to cpu CPU (-1 for any cpu).", NULL, NULL, xm_cmd_pincpu},
    {"restore", "domain", "Create a domain from a saved state.", NULL, NULL, &xm_restore_opts,
     NULL, xm_cmd_restore},
    {"save", "domain", "Save domain state (and config) to file.", NULL, NULL, &xm_save_opts,
     NULL, xm_cmd_save},
    {"shutdown", "domain", "Shutdown a domain.", NULL, NULL, &xm_shutdown_opts, NULL,
     xm_cmd_shutdown},
    {"unpause", "domain", "Unpause a paused domain.", "DOM",
     "Unpause execution of domain DOM.", NULL, NULL, xm_cmd_unpause},

    {"dmesg", "host", "Read or clear Xen's message buffer.", NULL, NULL, &xm_dmesg_opts, NULL,
     xm_cmd_dmesg},
    {"info", "host", "Get information about the xen host.", NULL, NULL, NULL, NULL,
     xm_cmd_info},
    {"log", "host", "Print the xend log.", NULL, NULL, NULL, NULL, xm_cmd_log},

    {"atropos", "scheduler", "Set atropos parameters.", "DOM PERIOD SLICE LATENCY XTRATIME",
     "Set atropos parameters.", NULL, NULL, xm_cmd_atropos},
    {"bvt", "scheduler", "Set BVT scheduler parameters.",
     "DOM MCUADV WARPBACK WARPVALUE WARPL WARPU",
     "Set Borrowed Virtual Time scheduler parameters.", NULL, NULL, xm_cmd_bvt},
    {"bvt_ctxallow", "scheduler", "Set the BVT scheduler context switch allowance.",
     "CTX_ALLOW", "Set Borrowed Virtual Time scheduler context switch allowance.", NULL, NULL,
     xm_cmd_bvt_ctxallow},
    {"fbvt", "scheduler", "Set FBVT scheduler parameters.", "DOM MCUADV WARP WARPL WARPU",
     "Set Fair Borrowed Virtual Time scheduler parameters (the host must run fbvt).", NULL,
     NULL, xm_cmd_fbvt},
    {"fbvt_ctxallow", "scheduler", "Set the FBVT scheduler context switch allowance.",
     "CTX_ALLOW", "Set Fair Borrowed Virtual Time scheduler context switch allowance.", NULL,
     NULL, xm_cmd_fbvt_ctxallow},
    {"rrobin", "scheduler", "Set round robin slice.", "SLICE",
     "Set round robin scheduler slice.", NULL, NULL, xm_cmd_rrobin},

    {"vbd-create", "vbd", "Create a new virtual block device for a domain",
     "DOM UNAME DEV MODE [BACKEND]",
     "Create a virtual block device for a domain.\n"
     "\n"
     "  UNAME   - device to export, e.g. phy:hda2\n"
     "  DEV     - device name in the domain, e.g. sda1\n"
     "  MODE    - access mode: r for read, w for read-write\n"
     "  BACKEND - backend driver domain",
     NULL, NULL, xm_cmd_vbd_create},
    {"vbd-destroy", "vbd", "Destroy a domain's virtual block device", "DOM DEV",
     "Destroy vbd DEV attached to domain DOM. Detaches the device\n"
     "from the domain, but does not destroy the device contents.\n"
     "The device identifier DEV is the idx field in the device\n"
     "information. This is visible in 'xm vbd-list'.",
     NULL, NULL, xm_cmd_vbd_destroy},
    {"vbd-list", "vbd", "List virtual block devices for a domain.", "DOM",
     "List virtual block devices for domain DOM", NULL, NULL, xm_cmd_vbd_list},

    {"vif-list", "vif", "List virtual network interfaces for a domain.", "DOM",
     "List virtual network interfaces for domain DOM", NULL, NULL, xm_cmd_vif_list},

    {"vnet-create", "vnet", "Create a vnet from a configuration file.", "CONFIG",
     "Create a vnet from a configuration file (an SXP (vnet (id ID) ...)).", NULL, NULL,
     xm_cmd_vnet_create},
    {"vnet-delete", "vnet", "Delete a vnet.", "VNET", "Delete vnet VNET.", NULL, NULL,
     xm_cmd_vnet_delete},
    {"vnet-list", "vnet", "List vnets.", NULL, NULL, NULL, NULL, xm_cmd_vnet_list},

    {"events", "host", "Print xend's events, and follow them.", NULL, NULL, &xm_events_opts,
     NULL, xm_cmd_events},
};
/* clang-format on */

const size_t xm_ncommands = sizeof(xm_commands) / sizeof(xm_commands[0]);

static const struct {
    const char *name;
    const char *info;
} xm_groups[] = {
    {"all", ""},
    {"console", "Commands related to consoles:"},
    {"domain", "Commands on domains:"},
    {"host", "Commands related to the xen host (node):"},
    {"scheduler", "Commands controlling scheduling:"},
    {"vbd", "Commands related to virtual block devices:"},
    {"vif", "Commands related to virtual network interfaces:"},
    {"vnet", "Commands related to vnets:"},
};

const struct xm_cmd *xm_cmd_find(const char *name)
{
    const struct xm_cmd *match = NULL;
    size_t len = strlen(name);
    if (len == 0)
        return NULL;
    for (size_t i = 0; i < xm_ncommands; i++) {
        if (strcmp(xm_commands[i].name, name) == 0)
            return &xm_commands[i];
        if (strncmp(xm_commands[i].name, name, len) == 0) {
            if (match != NULL)
                return NULL; /* ambiguous */
            match = &xm_commands[i];
        }
    }
    return match;
}

static int cmd_by_name(const void *a, const void *b)
{
    const struct xm_cmd *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

void xm_help_all(const char *prog, struct xend_buf *out)
{
    const struct xm_cmd *sorted[64];
    for (size_t g = 0; g < sizeof(xm_groups) / sizeof(xm_groups[0]); g++) {
        size_t n = 0;
        for (size_t i = 0; i < xm_ncommands && n < 64; i++)
            if (strcmp(xm_commands[i].group, xm_groups[g].name) == 0)
                sorted[n++] = &xm_commands[i];
        qsort(sorted, n, sizeof(sorted[0]), cmd_by_name);
        if (xm_groups[g].info[0] != '\0')
            xend_buf_printf(out, "\n%s\n\n", xm_groups[g].info);
        else
            xend_buf_putc(out, '\n');
        for (size_t i = 0; i < n; i++)
            xend_buf_printf(out, "%-14s %s\n", sorted[i]->name, sorted[i]->info);
    }
    xend_buf_printf(out, "\nTry '%s help CMD' for help on CMD\n", prog);
}

void xm_help_cmd(const struct xm_cmd *cmd, struct xend_buf *out)
{
    if (cmd->help_fn != NULL) {
        cmd->help_fn(cmd, out);
    } else if (cmd->opts != NULL) {
        xm_opt_usage(cmd->opts, cmd->name, out);
    } else if (cmd->args != NULL) {
        xend_buf_printf(out, "%s %s\n", cmd->name, cmd->args);
        if (cmd->help != NULL)
            xend_buf_printf(out, "\n%s\n", cmd->help);
    } else {
        xend_buf_printf(out, "%-14s %s\n", cmd->name, cmd->info);
    }
}

int xm_cmd_help(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    (void)err;
    struct xend_buf out = XEND_BUF_INIT;
    if (argc == 2) {
        const struct xm_cmd *cmd = xm_cmd_find(argv[1]);
        if (cmd != NULL)
            xm_help_cmd(cmd, &out);
        else
            xend_buf_printf(&out, "help: Unknown command: %s\n", argv[1]);
    } else {
        xm_help_all(ctx->prog, &out);
    }
    xm_print(&out);
    return 0;
}

/* The commands that print data take -o json|sxp (docs/xm.md "Output for scripts"). */
bool xm_cmd_prints_data(const struct xm_cmd *cmd)
{
    static const char *const data[] = {"call",    "consoles", "dmesg",    "domid",
                                       "domname", "events",   "info",     "list",
                                       "log",     "vbd-list", "vif-list", "vnet-list"};
    for (size_t i = 0; i < sizeof(data) / sizeof(data[0]); i++)
        if (strcmp(cmd->name, data[i]) == 0)
            return true;
    return false;
}

int xm_run(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    if (argc < 1) {
        char *help[] = {"help", NULL};
        return xm_cmd_help(ctx, 1, help, err);
    }
    const struct xm_cmd *cmd = xm_cmd_find(argv[0]);
    if (cmd == NULL)
        return xend_err_set(err, XEND_EINVAL,
                            "Unknown command: %s\nTry '%s help' for more information.", argv[0],
                            ctx->prog);
    /* -h or --help anywhere asks for the command's help, as in 2.0 */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            struct xend_buf out = XEND_BUF_INIT;
            xm_help_cmd(cmd, &out);
            xm_print(&out);
            return 0;
        }
    }
    if (xm_cmd_prints_data(cmd)) {
        int n = xm_output_take(argc, argv, &ctx->output, err);
        if (n < 0)
            return n;
        argc = n;
    }
    char *name = argv[0];
    argv[0] = (char *)cmd->name;
    int rc = cmd->run(ctx, argc, argv, err);
    argv[0] = name;
    return rc;
}

/* ---- helpers ----------------------------------------------------------------------- */

void xm_print(struct xend_buf *out)
{
    if (out->len > 0)
        fwrite(out->data, 1, out->len, stdout);
    fflush(stdout);
    xend_buf_free(out);
}

int xm_usage_error(struct xend_err *err, const char *cmd, const char *what)
{
    return xend_err_set(err, XEND_EINVAL, "%s: %s", cmd, what);
}

int xm_parse_int(const char *s, long long *out, struct xend_err *err)
{
    if (!xend_sxp_text_int(s, out))
        return xend_err_set(err, XEND_EINVAL, "invalid literal for int() with base 10: '%s'", s);
    return 0;
}

int xm_need_server(struct xm_ctx *ctx, struct xend_err *err)
{
    if (ctx->server_ok)
        return 0;
    return xend_err_set(err, XEND_EINVAL, "%s", xend_err_msg(&ctx->server_err));
}

static int domain_request(struct xm_ctx *ctx, bool post, const char *dom,
                          const struct xm_param *params, size_t n, struct xm_result *out,
                          struct xend_err *err)
{
    int rc = xm_need_server(ctx, err);
    if (rc < 0)
        return rc;
    struct xm_result tmp;
    char *rel = xend_xasprintf("domain/%s", dom);
    rc = post ? xm_client_post(&ctx->client, rel, params, n, out != NULL ? out : &tmp, err)
              : xm_client_get(&ctx->client, rel, params, n, out != NULL ? out : &tmp, err);
    free(rel);
    if (out == NULL && rc == 0)
        xm_result_free(&tmp);
    return rc;
}

int xm_domain_get(struct xm_ctx *ctx, const char *dom, const struct xm_param *params, size_t n,
                  struct xm_result *out, struct xend_err *err)
{
    return domain_request(ctx, false, dom, params, n, out, err);
}

int xm_domain_post(struct xm_ctx *ctx, const char *dom, const struct xm_param *params, size_t n,
                   struct xm_result *out, struct xend_err *err)
{
    return domain_request(ctx, true, dom, params, n, out, err);
}

int xm_post_op(struct xm_ctx *ctx, const char *rel, const char *op, struct xend_err *err, ...)
{
    int rc = xm_need_server(ctx, err);
    if (rc < 0)
        return rc;
    struct xm_param params[8] = {{"op", op, NULL}};
    size_t n = 1;
    va_list ap;
    va_start(ap, err);
    for (const char *k; n < 8 && (k = va_arg(ap, const char *)) != NULL; n++) {
        params[n].name = k;
        params[n].value = va_arg(ap, const char *);
    }
    va_end(ap);
    struct xm_result r;
    rc = xm_client_post(&ctx->client, rel, params, n, &r, err);
    if (rc == 0)
        xm_result_free(&r);
    return rc;
}

int xm_result_list(const struct xm_result *r, struct xend_err *err)
{
    if (r->kind == XM_RESULT_SXP && xend_sxp_is_list(r->sxp))
        return 0;
    return xend_err_set(err, XEND_EINVAL, "invalid reply from xend: a list was expected");
}
