/*
 * xm create: find and read the config file, build the (vm ...) config (or take a ready one
 * with -F), print it (-n) or create the domain, unpause it (unless -p), report its console
 * port and attach to it (-c), as the 2.0 xm did (docs/compat.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "console.h"
#include "create_check.h"
#include "fmt.h"
#include "xmconfig.h"
#include "pyconf.h"

enum {
    OPT_HELP,
    OPT_HELP_CONFIG,
    OPT_QUIET,
    OPT_PATH,
    OPT_DEFCONFIG,
    OPT_CONFIG,
    OPT_DRYRUN,
    OPT_PAUSED,
    OPT_CONSOLE,
    OPT_STRICT,
    OPT_CHECK,
    OPT_COUNT
};

static const struct xm_opt create_opts_tab[OPT_COUNT] = {
    [OPT_HELP] = {"help", 'h', XM_OPT_FLAG, NULL, "Print this help.", NULL},
    [OPT_HELP_CONFIG] = {"help_config", 0, XM_OPT_FLAG, NULL,
                         "Print help for the configuration script.", NULL},
    [OPT_QUIET] = {"quiet", 'q', XM_OPT_FLAG, NULL, "Quiet.", NULL},
    [OPT_PATH] = {"path", 0, XM_OPT_VALUE, "PATH",
                  "Search path for configuration scripts.\n"
                  "The value of PATH is a colon-separated directory list.",
                  ".:/etc/xen"},
    [OPT_DEFCONFIG] = {"defconfig", 'f', XM_OPT_VALUE, "FILE",
                       "Use the given Python configuration script.\n"
                       "The configuration script is loaded after arguments have been "
                       "processed.\n"
                       "Variables can be set using VAR=VAL on the command line; they win\n"
                       "over the values the script sets.",
                       "xmdefconfig"},
    [OPT_CONFIG] = {"config", 'F', XM_OPT_VALUE, "FILE",
                    "Domain configuration to use (SXP).\n"
                    "SXP is the underlying configuration format used by Xen.\n"
                    "SXP configurations can be hand-written or generated from Python "
                    "configuration\n"
                    "scripts, using the -n (dryrun) option to print the configuration.",
                    NULL},
    [OPT_DRYRUN] = {"dryrun", 'n', XM_OPT_FLAG, NULL,
                    "Dry run - print the configuration but don't create the domain.\n"
                    "Loads the configuration script, creates the SXP configuration and "
                    "prints it.",
                    NULL},
    [OPT_PAUSED] = {"paused", 'p', XM_OPT_FLAG, NULL,
                    "Leave the domain paused after it is created.", NULL},
    [OPT_CONSOLE] = {"console_autoconnect", 'c', XM_OPT_FLAG, NULL,
                     "Connect to the console after the domain is created.", NULL},
    [OPT_STRICT] = {"strict", 0, XM_OPT_FLAG, NULL,
                    "Refuse a configuration script that sets a variable xm create does not\n"
                    "know and the script never uses (a typo, such as memroy = 64); without\n"
                    "it such a variable is a warning.",
                    NULL},
    [OPT_CHECK] = {"check", 0, XM_OPT_FLAG, NULL,
                   "Check the configuration and create nothing: xend checks everything a\n"
                   "create would (name, memory, kernel, devices, console port, cpu) and\n"
                   "each problem is printed with its line; exit status 1 when there is one.\n"
                   "Takes -o json|sxp.",
                   NULL},
};

#define CREATE_USE                                                                                 \
    "[options] [vars]\n\nCreate a domain.\n\n"                                                     \
    "Domain creation parameters can be set by command-line switches, from\n"                       \
    "a python configuration script or an SXP config file. See documentation\n"                     \
    "for --defconfig, --config. Configuration variables can be set using\n"                        \
    "VAR=VAL on the command line. For example vmid=3 sets vmid to 3.\n"

const struct xm_optset xm_create_opts = {CREATE_USE, create_opts_tab, OPT_COUNT};

/* A config variable as a help entry of the option table. */
static struct xm_opt var_opt(const struct xend_xmvar_spec *spec)
{
    return (struct xm_opt){spec->name, 0, XM_OPT_VAR, spec->val, spec->use, spec->dflt};
}

/* The options, then the variables, in one usage text. */
void xm_create_help(const struct xm_cmd *cmd, struct xend_buf *out)
{
    size_t n = OPT_COUNT + xend_xmconfig_nvars;
    struct xm_opt *all = xend_xcalloc(n, sizeof(*all));
    memcpy(all, create_opts_tab, sizeof(create_opts_tab));
    for (size_t i = 0; i < xend_xmconfig_nvars; i++)
        all[OPT_COUNT + i] = var_opt(&xend_xmconfig_vars[i]);
    struct xm_optset set = {CREATE_USE, all, n};
    xm_opt_usage(&set, cmd->name, out);
    free(all);
}

static void help_config(struct xend_buf *out)
{
    struct xm_opt *vars = xend_xcalloc(xend_xmconfig_nvars, sizeof(*vars));
    for (size_t i = 0; i < xend_xmconfig_nvars; i++)
        vars[i] = var_opt(&xend_xmconfig_vars[i]);
    xend_buf_puts(out, "The config file defines the following variables:\n\n");
    struct xend_buf body = XEND_BUF_INIT;
    struct xm_optset set = {"", vars, xend_xmconfig_nvars};
    xm_opt_usage(&set, "", &body);
    /* drop the "Usage:" line of the option form: only the variables are wanted */
    const char *s = xend_buf_str(&body);
    const char *start = strstr(s, "\n\n");
    xend_buf_puts(out, start != NULL ? start + 2 : s);
    xend_buf_free(&body);
    free(vars);
}

/* The config file: as given, else in each directory of the search path (2.0 rules). */
static char *find_config(const char *defconfig, const char *path)
{
    if (access(defconfig, F_OK) == 0)
        return xend_xstrdup(defconfig);
    char *dirs = xend_xstrdup(path), *save = NULL;
    char *found = NULL;
    for (char *d = strtok_r(dirs, ":", &save); d != NULL && found == NULL;
         d = strtok_r(NULL, ":", &save)) {
        char *p =
            defconfig[0] == '/' ? xend_xstrdup(defconfig) : xend_xasprintf("%s/%s", d, defconfig);
        if (access(p, F_OK) == 0)
            found = p;
        else
            free(p);
    }
    free(dirs);
    return found;
}

/* Read and run the python config, then build the (vm ...) from it and the command line. */
static int config_from_script(struct xend_pyvars *vars, const char *defconfig, const char *path,
                              bool quiet, bool strict, struct xend_sxp **config,
                              struct xend_err *err)
{
    char *file = find_config(defconfig, path);
    if (file == NULL)
        return xend_err_set(err, XEND_ENOENT, "Cannot open config file \"%s\"", defconfig);
    if (!quiet) {
        struct xend_buf out = XEND_BUF_INIT;
        xend_buf_printf(&out, "Using config file \"%s\".\n", file);
        xm_print(&out);
    }
    struct xend_buf text = XEND_BUF_INIT;
    int rc = xm_read_file(file, &text, err);
    if (rc == 0)
        rc = xend_pyconf_parse(xend_buf_str(&text), text.len, file, vars, err);
    if (rc == 0) {
        struct xend_buf warnings = XEND_BUF_INIT;
        rc = xend_xmconfig_check_vars(vars, file, strict, &warnings, err);
        if (warnings.len > 0)
            fputs(xend_buf_str(&warnings), stderr);
        xend_buf_free(&warnings);
    }
    if (rc == 0) {
        char *dir = xend_xstrdup(file);
        char *slash = strrchr(dir, '/');
        if (slash != NULL)
            *slash = '\0';
        struct xend_xmconfig_ctx bctx = {
            .file = file,
            .config_dir = slash != NULL ? dir : ".",
            .defconfig = defconfig,
        };
        rc = xend_xmconfig_build(vars, &bctx, config, err);
        free(dir);
    }
    xend_buf_free(&text);
    free(file);
    return rc;
}

/* -F FILE: a ready SXP config, read here for -n and to report a bad file by name. */
static int config_from_sxp(const char *file, struct xend_sxp **config, struct xend_err *err)
{
    struct xend_buf text = XEND_BUF_INIT;
    int rc = xm_read_file(file, &text, err);
    if (rc == 0) {
        char msg[256];
        if (xend_sxp_parse(xend_buf_str(&text), text.len, NULL, config, msg, sizeof(msg)) < 0)
            rc = xend_err_set(err, XEND_EINVAL, "%s: %s", file, msg);
    }
    xend_buf_free(&text);
    return rc;
}

/* --check: find the file as a create would, then the dry run. */
static int check_config(struct xm_ctx *ctx, struct xend_pyvars *vars, const char *defconfig,
                        const char *path, const char *sxp_file, const struct xm_optval *v,
                        struct xend_err *err)
{
    char *file = NULL;
    if (sxp_file == NULL) {
        file = find_config(defconfig, path);
        if (file == NULL)
            return xend_err_set(err, XEND_ENOENT, "Cannot open config file \"%s\"", defconfig);
        if (!v[OPT_QUIET].count && ctx->output == XM_OUT_TEXT) {
            struct xend_buf out = XEND_BUF_INIT;
            xend_buf_printf(&out, "Using config file \"%s\".\n", file);
            xm_print(&out);
        }
    }
    struct xm_check_input in = {file, sxp_file, defconfig, vars};
    int rc = xm_create_check(ctx, &in, err);
    free(file);
    return rc;
}

/* POST the config, unpause, report; then the console with -c. */
static int make_domain(struct xm_ctx *ctx, const struct xend_sxp *config, const char *sxp_file,
                       const struct xm_optval *v, struct xend_err *err)
{
    int rc = xm_need_server(ctx, err);
    if (rc < 0)
        return rc;
    char *text = xend_sxp_print(config);
    struct xm_param params[2] = {{"op", "create", NULL}, {"config", text, sxp_file}};
    struct xm_result r = {0};
    rc = xm_client_post(&ctx->client, "domain/", params, 2, &r, err);
    free(text);
    if (rc < 0)
        return rc;
    if (r.kind != XM_RESULT_SXP) {
        xm_result_free(&r);
        return xend_err_set(err, XEND_EINVAL, "invalid reply from xend to create");
    }
    char *name = xend_xstrdup(xend_sxp_child_value(r.sxp, "name", ""));
    const struct xend_sxp *console = xend_sxp_child(r.sxp, "console");
    const char *p = console != NULL ? xend_sxp_child_value(console, "console_port", NULL) : NULL;
    char *port = p != NULL ? xend_xstrdup(p) : NULL;
    xm_result_free(&r);

    if (!v[OPT_PAUSED].count) {
        struct xm_param unpause = {"op", "unpause", NULL};
        rc = xm_domain_post(ctx, name, &unpause, 1, NULL, err);
        if (rc < 0 && !ctx->client.transport_failed) {
            /* as 2.0: a domain that cannot run is not left behind */
            struct xend_err ignored = {0};
            struct xm_param destroy[2] = {{"op", "destroy", NULL}, {"reason", "halt", NULL}};
            xm_domain_post(ctx, name, destroy, 2, NULL, &ignored);
            char *msg = xend_xasprintf("Failed to unpause domain %s: %s", name, err->msg);
            xend_err_clear(err);
            rc = xend_err_set(err, XEND_EIO, "%s", msg);
            free(msg);
        }
    }
    if (rc == 0 && !v[OPT_QUIET].count) {
        struct xend_buf out = XEND_BUF_INIT;
        if (port != NULL)
            xend_buf_printf(&out, "Started domain %s, console on port %s\n", name, port);
        else
            xend_buf_printf(&out, "Started domain %s\n", name);
        xm_print(&out);
    }
    if (rc == 0 && v[OPT_CONSOLE].count) {
        if (port == NULL)
            rc = xend_err_set(err, XEND_ENOENT, "No console information");
        else
            rc = xm_console_attach(ctx->client.ep.is_unix ? "localhost" : ctx->client.ep.host, port,
                                   err);
    }
    free(name);
    free(port);
    return rc;
}

int xm_cmd_create(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    struct xm_optval v[OPT_COUNT];
    char **args;
    int nargs;
    /* -o is --check's (the only create that prints data) */
    int rc = xm_output_take(argc, argv, &ctx->output, err);
    if (rc < 0)
        return rc;
    argc = rc;
    rc = xm_opt_parse(&xm_create_opts, argc, argv, v, &args, &nargs, err);
    if (rc < 0)
        return rc;
    if (ctx->output != XM_OUT_TEXT && !v[OPT_CHECK].count) {
        free(args);
        return xend_err_set(err, XEND_EINVAL, "create takes -o only with --check");
    }
    if (v[OPT_HELP_CONFIG].count) {
        struct xend_buf out = XEND_BUF_INIT;
        help_config(&out);
        xm_print(&out);
        free(args);
        return 0;
    }
    const char *defconfig = v[OPT_DEFCONFIG].value != NULL ? v[OPT_DEFCONFIG].value : "xmdefconfig";
    const char *path = v[OPT_PATH].value != NULL ? v[OPT_PATH].value : ".:/etc/xen";
    struct xend_pyvars vars = XEND_PYVARS_INIT;
    for (int i = 0; i < nargs; i++) {
        char *eq = strchr(args[i], '=');
        if (eq == NULL) {
            defconfig = args[i]; /* a bare word names the config file, as in 2.0 */
            continue;
        }
        char *name = xend_xstrndup(args[i], (size_t)(eq - args[i]));
        const struct xend_xmvar_spec *spec = xend_xmconfig_var(name);
        long long n;
        /* vmid=3 is a number to the file (2.0's xm_vars.var(check=int)); the variables
         * xm create knows keep their text and are checked by the builder */
        if (spec == NULL && xend_sxp_text_int(eq + 1, &n))
            xend_pyvars_set_cmdline_int(&vars, name, n);
        else
            xend_pyvars_set_cmdline(&vars, name, eq + 1,
                                    spec != NULL && spec->type == XEND_XMVAR_LIST);
        free(name);
    }
    struct xend_sxp *config = NULL;
    const char *sxp_file = v[OPT_CONFIG].value;
    if (v[OPT_CHECK].count) {
        rc = check_config(ctx, &vars, defconfig, path, sxp_file, v, err);
        xend_pyvars_free(&vars);
        free(args);
        return rc;
    }
    if (sxp_file != NULL)
        rc = config_from_sxp(sxp_file, &config, err);
    else
        rc = config_from_script(&vars, defconfig, path, v[OPT_QUIET].count > 0,
                                v[OPT_STRICT].count > 0, &config, err);
    if (rc == 0 && v[OPT_DRYRUN].count) {
        struct xend_buf out = XEND_BUF_INIT;
        xm_fmt_pretty(config, &out);
        xm_print(&out);
    } else if (rc == 0) {
        rc = make_domain(ctx, config, sxp_file, v, err);
    }
    xend_sxp_free(config);
    xend_pyvars_free(&vars);
    free(args);
    return rc;
}
