/*
 * xm call: any function of the 2.0 XendClient API by name (the leading "xend_" may be left
 * out), mapped to its request; the result is pretty-printed. Arguments that are configs
 * (the 2.0 fileof()) are file names, uploaded as files, or SXP text when they start
 * with '('.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "fmt.h"

#define CALL_MAX_PARAMS 5

struct call_fn {
    const char *name;   /* XendClient method without "xend_" ("" for the root: "xend") */
    const char *method; /* GET or POST */
    const char *base;   /* resource under the root ("domain/", "node/dmesg"...) */
    bool id;            /* the first argument is appended to base */
    const char *op;     /* NULL for none */
    const char *params[CALL_MAX_PARAMS + 1]; /* names of the other arguments */
    int required;                            /* how many of them must be given */
    unsigned configs; /* bit i: params[i] is a config (file name or SXP text) */
};

/* clang-format off */
static const struct call_fn call_fns[] = {
    {"",                         "GET",  "",           false, NULL, {NULL}, 0, 0},
    {"node",                     "GET",  "node/",      false, NULL, {NULL}, 0, 0},
    {"node_shutdown",            "POST", "node/",      false, "shutdown", {NULL}, 0, 0},
    {"node_restart",             "POST", "node/",      false, "reboot", {NULL}, 0, 0},
    {"node_dmesg",               "GET",  "node/dmesg", false, NULL, {NULL}, 0, 0},
    {"node_get_dmesg",           "GET",  "node/dmesg", false, NULL, {NULL}, 0, 0},
    {"node_clear_dmesg",         "POST", "node/dmesg", false, "clear", {NULL}, 0, 0},
    {"node_log",                 "GET",  "node/log",   false, NULL, {NULL}, 0, 0},
    {"node_cpu_rrobin_slice_set", "POST", "node/",     false, "cpu_rrobin_slice_set",
     {"slice", NULL}, 1, 0},
    {"node_cpu_bvt_slice_set",   "POST", "node/",      false, "cpu_bvt_slice_set",
     {"ctx_allow", NULL}, 1, 0},
    {"node_cpu_fbvt_slice_set",  "POST", "node/",      false, "cpu_fbvt_slice_set",
     {"ctx_allow", NULL}, 1, 0},
    {"domains",                  "GET",  "domain/",    false, NULL, {NULL}, 0, 0},
    {"domain_create",            "POST", "domain/",    false, "create", {"config", NULL}, 1, 1},
    {"domain_restore",           "POST", "domain/",    false, "restore", {"file", NULL}, 1, 0},
    {"domain_configure",         "POST", "domain/",    true,  "configure", {"config", NULL}, 1,
     1},
    {"domain",                   "GET",  "domain/",    true,  NULL, {NULL}, 0, 0},
    {"domain_unpause",           "POST", "domain/",    true,  "unpause", {NULL}, 0, 0},
    {"domain_pause",             "POST", "domain/",    true,  "pause", {NULL}, 0, 0},
    {"domain_shutdown",          "POST", "domain/",    true,  "shutdown", {"reason", NULL}, 1,
     0},
    {"domain_destroy",           "POST", "domain/",    true,  "destroy", {"reason", NULL}, 1, 0},
    {"domain_save",              "POST", "domain/",    true,  "save", {"file", NULL}, 1, 0},
    {"domain_migrate",           "POST", "domain/",    true,  "migrate",
     {"destination", "live", "resource", NULL}, 1, 0},
    {"domain_pincpu",            "POST", "domain/",    true,  "pincpu", {"cpu", NULL}, 1, 0},
    {"domain_cpu_bvt_set",       "POST", "domain/",    true,  "cpu_bvt_set",
     {"mcuadv", "warpback", "warpvalue", "warpl", "warpu", NULL}, 5, 0},
    {"domain_cpu_fbvt_set",      "POST", "domain/",    true,  "cpu_fbvt_set",
     {"mcuadv", "warp", "warpl", "warpu", NULL}, 4, 0},
    {"domain_cpu_atropos_set",   "POST", "domain/",    true,  "cpu_atropos_set",
     {"period", "slice", "latency", "xtratime", NULL}, 4, 0},
    {"domain_maxmem_set",        "POST", "domain/",    true,  "maxmem_set", {"memory", NULL}, 1,
     0},
    {"domain_mem_target_set",    "POST", "domain/",    true,  "mem_target_set",
     {"target", NULL}, 1, 0},
    {"domain_vifs",              "GET",  "domain/",    true,  "vifs", {NULL}, 0, 0},
    {"domain_vif",               "GET",  "domain/",    true,  "vif", {"vif", NULL}, 1, 0},
    {"domain_vbds",              "GET",  "domain/",    true,  "vbds", {NULL}, 0, 0},
    {"domain_vbd",               "GET",  "domain/",    true,  "vbd", {"vbd", NULL}, 1, 0},
    {"domain_device_create",     "POST", "domain/",    true,  "device_create",
     {"config", NULL}, 1, 1},
    {"domain_device_destroy",    "POST", "domain/",    true,  "device_destroy",
     {"type", "idx", NULL}, 2, 0},
    {"domain_device_configure",  "POST", "domain/",    true,  "device_configure",
     {"config", "idx", NULL}, 2, 1},
    {"consoles",                 "GET",  "console/",   false, NULL, {NULL}, 0, 0},
    {"console",                  "GET",  "console/",   true,  NULL, {NULL}, 0, 0},
    {"console_disconnect",       "POST", "console/",   true,  "disconnect", {NULL}, 0, 0},
    {"vnets",                    "GET",  "vnet/",      false, NULL, {NULL}, 0, 0},
    {"vnet",                     "GET",  "vnet/",      true,  NULL, {NULL}, 0, 0},
    {"vnet_create",              "POST", "vnet/",      false, "create", {"config", NULL}, 1, 1},
    {"vnet_delete",              "POST", "vnet/",      true,  "delete", {NULL}, 0, 0},
    {"event_inject",             "POST", "event/",     false, "inject", {"event", NULL}, 1, 1},
};
/* clang-format on */

static const struct call_fn *call_find(const char *name)
{
    if (strncmp(name, "xend_", 5) == 0)
        name += 5;
    else if (strcmp(name, "xend") == 0)
        name = "";
    for (size_t i = 0; i < sizeof(call_fns) / sizeof(call_fns[0]); i++)
        if (strcmp(call_fns[i].name, name) == 0)
            return &call_fns[i];
    return NULL;
}

static int call_nparams(const struct call_fn *fn)
{
    int n = 0;
    while (fn->params[n] != NULL)
        n++;
    return n;
}

/* "domain_shutdown ID REASON", optional arguments in brackets. */
static void call_signature(const struct call_fn *fn, struct xend_buf *out)
{
    xend_buf_puts(out, fn->name[0] != '\0' ? fn->name : "xend");
    if (fn->id)
        xend_buf_puts(out, " ID");
    for (int i = 0; fn->params[i] != NULL; i++) {
        xend_buf_puts(out, i >= fn->required ? " [" : " ");
        for (const char *c = fn->params[i]; *c != '\0'; c++)
            xend_buf_putc(out, (char)toupper((unsigned char)*c));
        if ((fn->configs >> i) & 1u)
            xend_buf_puts(out, "_FILE");
        if (i >= fn->required)
            xend_buf_putc(out, ']');
    }
}

void xm_call_help(const struct xm_cmd *cmd, struct xend_buf *out)
{
    xend_buf_printf(out, "%s [-x HOST:PORT] function args...\n\n", cmd->name);
    xend_buf_puts(out, "Call a xend HTTP API function. The leading 'xend_' on the function\n"
                       "can be omitted. -x sends this one call to another xend.\n"
                       "A *_FILE argument is a file uploaded as the value, or SXP text\n"
                       "when it starts with '('. The functions:\n\n");
    for (size_t i = 0; i < sizeof(call_fns) / sizeof(call_fns[0]); i++) {
        xend_buf_puts(out, "  ");
        call_signature(&call_fns[i], out);
        xend_buf_putc(out, '\n');
    }
}

/* The options of XendClient.main: -x/--xend HOST:PORT, -a/--asynch, -d/--debug, before
 * the function name (python getopt stops at the first argument that is not an option). */
static int call_options(int argc, char **argv, const char **server, int *first,
                        struct xend_err *err)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "-a") == 0 || strcmp(a, "--asynch") == 0 || strcmp(a, "-d") == 0 ||
            strcmp(a, "--debug") == 0)
            continue;
        if (strncmp(a, "--xend=", 7) == 0) {
            *server = a + 7;
        } else if (strcmp(a, "-x") == 0 || strcmp(a, "--xend") == 0) {
            if (i + 1 >= argc)
                return xend_err_set(err, XEND_EINVAL, "option %s requires argument", a);
            *server = argv[++i];
        } else if (strncmp(a, "-x", 2) == 0) {
            *server = a + 2;
        } else {
            return xend_err_set(err, XEND_EINVAL, "option %s not recognized", a);
        }
    }
    *first = i;
    return 0;
}

int xm_cmd_call(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    const char *server = NULL;
    int first = argc;
    int rc = call_options(argc, argv, &server, &first, err);
    if (rc < 0)
        return rc;
    struct xm_client client = ctx->client;
    if (server != NULL) {
        rc = xm_endpoint_parse(server, getenv("XEND_ROOT"), &client.ep, err);
    } else {
        rc = xm_need_server(ctx, err);
    }
    if (rc < 0)
        return rc;
    const char *name = first < argc ? argv[first] : "xend";
    const struct call_fn *fn = call_find(name);
    if (fn == NULL)
        return xend_err_set(err, XEND_EINVAL, "call: unknown function: %s", name);
    char **args = argv + first + (first < argc);
    int nargs = argc - first - (first < argc);
    int nparams = call_nparams(fn);
    int need = fn->required + fn->id, most = nparams + fn->id;
    if (nargs < need || nargs > most) {
        struct xend_buf sig = XEND_BUF_INIT;
        call_signature(fn, &sig);
        rc = xend_err_set(err, XEND_EINVAL, "call: usage: %s", xend_buf_str(&sig));
        xend_buf_free(&sig);
        return rc;
    }
    char *rel = fn->id ? xend_xasprintf("%s%s", fn->base, args[0]) : xend_xstrdup(fn->base);
    struct xm_param params[CALL_MAX_PARAMS + 1];
    size_t n = 0;
    if (fn->op != NULL)
        params[n++] = (struct xm_param){"op", fn->op, NULL};
    for (int i = fn->id; i < nargs; i++) {
        int k = i - fn->id;
        const char *a = args[i];
        bool config = (fn->configs >> k) & 1u;
        params[n++] = (struct xm_param){fn->params[k], a, config && a[0] != '(' ? a : NULL};
    }
    struct xm_result r = {0};
    rc = strcmp(fn->method, "GET") == 0 ? xm_client_get(&client, rel, params, n, &r, err)
                                        : xm_client_post(&client, rel, params, n, &r, err);
    ctx->client.transport_failed = client.transport_failed;
    free(rel);
    if (rc < 0)
        return rc;
    struct xend_buf out = XEND_BUF_INIT;
    if (r.kind == XM_RESULT_SXP && ctx->output != XM_OUT_TEXT)
        xm_output_one(ctx->output, r.sxp, false, &out);
    else if (r.kind == XM_RESULT_NONE && ctx->output == XM_OUT_JSON)
        xend_buf_puts(&out, "null\n");
    else if (r.kind == XM_RESULT_SXP)
        xm_fmt_pretty(r.sxp, &out);
    else if (r.kind == XM_RESULT_TEXT)
        xend_buf_printf(&out, "%s\n", r.text);
    xm_print(&out);
    xm_result_free(&r);
    return 0;
}
