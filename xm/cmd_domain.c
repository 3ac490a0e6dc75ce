/*
 * xm commands on domains (other than create): list, destroy, shutdown, pause, unpause,
 * domid, domname, save, restore, migrate, pincpu, maxmem, balloon.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "fmt.h"
#include "xmconfig.h"
#include "progress.h"

#define DOM0_NAME "Domain-0"
#define DOM0_ID "0"

static int domain_op(struct xm_ctx *ctx, const char *dom, const char *op, const char *k1,
                     const char *v1, struct xend_err *err);

/* ---- list -------------------------------------------------------------------------- */

static const struct xm_opt list_opts_tab[] = {
    {"long", 'l', XM_OPT_FLAG, NULL, "Get more detailed information.", NULL},
};
static const struct xm_optset list_opts = {"[options] [DOM...]", list_opts_tab, 1};

static int by_name(const void *a, const void *b)
{
    const struct xend_sxp *const *x = a, *const *y = b;
    const char *nx = xend_sxp_name(*x) != NULL ? xend_sxp_child_value(*x, "name", "") : "";
    const char *ny = xend_sxp_name(*y) != NULL ? xend_sxp_child_value(*y, "name", "") : "";
    return strcmp(nx, ny);
}

static int by_text(const void *a, const void *b)
{
    const struct xend_sxp *const *x = a, *const *y = b;
    const char *tx = xend_sxp_atom_text(*x), *ty = xend_sxp_atom_text(*y);
    return strcmp(tx != NULL ? tx : "", ty != NULL ? ty : "");
}

/* How `xm list` prints: 2.0's text as each domain comes, or one document at the end. */
struct lister {
    bool use_long;
    enum xm_output_form form;
    struct xm_out doc; /* -o json|sxp */
};

static void list_begin(struct lister *l, struct xm_ctx *ctx, bool use_long)
{
    l->use_long = use_long;
    l->form = ctx->output;
    if (l->form != XM_OUT_TEXT) {
        xm_out_begin(&l->doc, l->form);
    } else if (!use_long) {
        struct xend_buf out = XEND_BUF_INIT;
        xm_fmt_list_header(&out);
        xm_print(&out);
    }
}

/* Print one domain (a row, or the pretty record with -l), or add it to the document. */
static void list_one(struct lister *l, const struct xend_sxp *info)
{
    struct xend_buf out = XEND_BUF_INIT;
    if (l->form != XM_OUT_TEXT && l->use_long) {
        xm_out_record(&l->doc, info);
        return;
    }
    if (l->form != XM_OUT_TEXT) {
        xm_fmt_list_item(info, l->form, xm_out_item(&l->doc));
        return;
    }
    if (l->use_long)
        xm_fmt_pretty(info, &out);
    else
        xm_fmt_list_row(info, &out);
    xm_print(&out);
}

static void list_end(struct lister *l, int rc)
{
    if (l->form == XM_OUT_TEXT)
        return;
    struct xend_buf out = XEND_BUF_INIT;
    xm_out_end(&l->doc, &out);
    if (rc == 0)
        xm_print(&out);
    else
        xend_buf_free(&out);
}

/* Every domain: one request with detail=1 where xend has it (ours), else the 2.0 way of
 * the name list then one request per domain. A domain gone in between is skipped. */
static int list_all(struct xm_ctx *ctx, struct lister *l, struct xend_err *err)
{
    struct xm_param detail = {"detail", "1", NULL};
    struct xm_result r = {0};
    int rc = xm_domain_get(ctx, "", &detail, 1, &r, err);
    if (rc == 0)
        rc = xm_result_list(&r, err);
    if (rc < 0) {
        xm_result_free(&r);
        return rc;
    }
    size_t n = xend_sxp_length(r.sxp);
    struct xend_sxp **items = xend_xcalloc(n ? n : 1, sizeof(*items));
    bool detailed = n > 0;
    for (size_t i = 0; i < n; i++) {
        items[i] = xend_sxp_nth(r.sxp, i);
        const char *head = xend_sxp_name(items[i]);
        detailed &= head != NULL && strcmp(head, "domain") == 0;
    }
    qsort(items, n, sizeof(*items), detailed ? by_name : by_text);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (detailed) {
            list_one(l, items[i]);
            continue;
        }
        const char *name = xend_sxp_atom_text(items[i]);
        if (name == NULL)
            continue;
        struct xm_result d = {0};
        rc = xm_domain_get(ctx, name, NULL, 0, &d, err);
        if (rc < 0 && d.status == 404 && !ctx->client.transport_failed) {
            xend_err_clear(err);
            rc = 0;
            continue;
        }
        if (rc == 0 && d.kind == XM_RESULT_SXP)
            list_one(l, d.sxp);
        if (rc == 0)
            xm_result_free(&d);
    }
    free(items);
    xm_result_free(&r);
    return rc;
}

int xm_cmd_list(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    struct xm_optval v[1];
    char **args;
    int nargs;
    int rc = xm_opt_parse(&list_opts, argc, argv, v, &args, &nargs, err);
    if (rc < 0)
        return rc;
    struct lister l;
    list_begin(&l, ctx, v[0].count > 0);
    if (nargs == 0) {
        rc = list_all(ctx, &l, err);
    } else {
        for (int i = 0; i < nargs && rc == 0; i++) {
            struct xm_result d = {0};
            rc = xm_domain_get(ctx, args[i], NULL, 0, &d, err);
            if (rc == 0 && d.kind == XM_RESULT_SXP)
                list_one(&l, d.sxp);
            if (rc == 0)
                xm_result_free(&d);
        }
    }
    list_end(&l, rc);
    free(args);
    return rc;
}

/* ---- destroy, shutdown ------------------------------------------------------------- */

static const struct xm_opt destroy_opts_tab[] = {
    {"help", 'h', XM_OPT_FLAG, NULL, "Print this help.", NULL},
    {"reboot", 'R', XM_OPT_FLAG, NULL, "Destroy and restart.", NULL},
};
const struct xm_optset xm_destroy_opts = {"[options] [DOM]\n\nDestroy a domain, optionally "
                                          "restarting it.\n",
                                          destroy_opts_tab, 2};

int xm_cmd_destroy(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    struct xm_optval v[2];
    char **args;
    int nargs;
    int rc = xm_opt_parse(&xm_destroy_opts, argc, argv, v, &args, &nargs, err);
    if (rc < 0)
        return rc;
    if (nargs < 1)
        rc = xm_usage_error(err, argv[0], "Missing domain");
    else
        rc = domain_op(ctx, args[0], "destroy", "reason", v[1].count ? "reboot" : "halt", err);
    free(args);
    return rc;
}

static const struct xm_opt shutdown_opts_tab[] = {
    {"help", 'h', XM_OPT_FLAG, NULL, "Print this help.", NULL},
    {"all", 'a', XM_OPT_FLAG, NULL, "Shutdown all domains.", NULL},
    {"wait", 'w', XM_OPT_FLAG, NULL, "Wait for shutdown to complete.", NULL},
    {"halt", 'H', XM_OPT_FLAG, NULL, "Shutdown without reboot.", NULL},
    {"reboot", 'R', XM_OPT_FLAG, NULL, "Shutdown and reboot.", NULL},
};
const struct xm_optset xm_shutdown_opts = {
    "[options] [DOM]\n\nShutdown one or more domains gracefully.\n", shutdown_opts_tab, 5};

/* The names of all domains (GET /xend/domain/), owned strings in *names. */
static int domain_names(struct xm_ctx *ctx, char ***names, size_t *n, struct xend_err *err)
{
    struct xm_result r = {0};
    int rc = xm_domain_get(ctx, "", NULL, 0, &r, err);
    if (rc == 0)
        rc = xm_result_list(&r, err);
    *names = NULL;
    *n = 0;
    if (rc == 0) {
        size_t len = xend_sxp_length(r.sxp);
        *names = xend_xcalloc(len ? len : 1, sizeof(char *));
        for (size_t i = 0; i < len; i++) {
            const struct xend_sxp *item = xend_sxp_nth(r.sxp, i);
            const char *name = xend_sxp_atom_text(item);
            if (name == NULL && xend_sxp_is_list(item)) /* a detail=1 record */
                name = xend_sxp_child_value(item, "name", NULL);
            if (name != NULL)
                (*names)[(*n)++] = xend_xstrdup(name);
        }
    }
    xm_result_free(&r);
    return rc;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static bool names_have(char **names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return true;
    return false;
}

/* The name of domain dom (it may be given by id), for the wait loop. */
static int domain_name_of(struct xm_ctx *ctx, const char *dom, char **name, struct xend_err *err)
{
    struct xm_result r = {0};
    int rc = xm_domain_get(ctx, dom, NULL, 0, &r, err);
    if (rc < 0)
        return rc;
    const char *n = r.kind == XM_RESULT_SXP ? xend_sxp_child_value(r.sxp, "name", dom) : dom;
    *name = xend_xstrdup(n);
    xm_result_free(&r);
    return 0;
}

/* Poll the domain list every second until every domain in doms is gone (as 2.0 did, with
 * no deadline), printing each as it goes. */
static int shutdown_wait(struct xm_ctx *ctx, char **doms, char **names, size_t n,
                         struct xend_err *err)
{
    struct xm_progress prog;
    xm_progress_begin(&prog, NULL, "Waiting for %zu domain%s to terminate", n, n == 1 ? "" : "s");
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    size_t left = n;
    int rc = 0;
    while (left > 0) {
        char **alive;
        size_t nalive;
        rc = domain_names(ctx, &alive, &nalive, err);
        if (rc < 0)
            break;
        struct xend_buf out = XEND_BUF_INIT;
        for (size_t i = 0; i < n; i++) {
            if (names[i] == NULL || names_have(alive, nalive, names[i]))
                continue;
            free(names[i]);
            names[i] = NULL;
            left--;
            xend_buf_printf(&out, "Domain %s terminated\n", doms[i]);
        }
        free_names(alive, nalive);
        if (out.len > 0)
            xm_progress_clear(&prog);
        xm_print(&out);
        if (left == 0)
            break;
        struct timespec one = {1, 0};
        nanosleep(&one, NULL);
        clock_gettime(CLOCK_MONOTONIC, &now);
        xm_progress_tick(&prog, (unsigned)(now.tv_sec - start.tv_sec));
    }
    if (rc == 0) {
        prog.enabled = false; /* the 2.0 lines below say it all */
        struct xend_buf out = XEND_BUF_INIT;
        xend_buf_puts(&out, "All domains terminated\n");
        xm_print(&out);
    }
    xm_progress_end(&prog, NULL, rc == 0);
    return rc;
}

int xm_cmd_shutdown(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    struct xm_optval v[5];
    char **args;
    int nargs;
    int rc = xm_opt_parse(&xm_shutdown_opts, argc, argv, v, &args, &nargs, err);
    if (rc < 0)
        return rc;
    bool all = v[1].count, wait = v[2].count, halt = v[3].count, reboot = v[4].count;
    const char *mode = "poweroff";
    char **doms = NULL;
    size_t n = 0;
    /* the 2.0 rules: waiting implies halt (a rebooting domain never goes away) */
    if (wait && reboot)
        rc = xend_err_set(err, XEND_EINVAL, "Can't specify wait and reboot");
    else if (halt && reboot)
        rc = xend_err_set(err, XEND_EINVAL, "Can't specify halt and reboot");
    else if (wait || halt)
        mode = "halt";
    else if (reboot)
        mode = "reboot";
    if (rc == 0 && all) {
        char **names;
        size_t nn;
        rc = domain_names(ctx, &names, &nn, err);
        if (rc == 0) {
            doms = xend_xcalloc(nn ? nn : 1, sizeof(char *));
            for (size_t i = 0; i < nn; i++)
                if (strcmp(names[i], DOM0_NAME) != 0 && strcmp(names[i], DOM0_ID) != 0)
                    doms[n++] = xend_xstrdup(names[i]);
            free_names(names, nn);
        }
    } else if (rc == 0) {
        if (nargs < 1) {
            /* 2.0's shutdown, unlike its other commands, did not name itself here */
            rc = xend_err_set(err, XEND_EINVAL, "Missing domain");
        } else {
            doms = xend_xcalloc(1, sizeof(char *));
            doms[n++] = xend_xstrdup(args[0]);
        }
    }
    char **names = xend_xcalloc(n ? n : 1, sizeof(char *));
    for (size_t i = 0; rc == 0 && wait && i < n; i++)
        rc = domain_name_of(ctx, doms[i], &names[i], err);
    struct xm_param params[2] = {{"op", "shutdown", NULL}, {"reason", mode, NULL}};
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = xm_domain_post(ctx, doms[i], params, 2, NULL, err);
    if (rc == 0 && wait)
        rc = shutdown_wait(ctx, doms, names, n, err);
    free_names(names, n);
    free_names(doms, n);
    free(args);
    return rc;
}

/* ---- simple domain operations ------------------------------------------------------ */

static int domain_op(struct xm_ctx *ctx, const char *dom, const char *op, const char *k1,
                     const char *v1, struct xend_err *err)
{
    struct xm_param params[2] = {{"op", op, NULL}, {k1, v1, NULL}};
    return xm_domain_post(ctx, dom, params, k1 != NULL ? 2 : 1, NULL, err);
}

int xm_cmd_pause(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    if (argc < 2)
        return xm_usage_error(err, argv[0], "Missing domain");
    return domain_op(ctx, argv[1], "pause", NULL, NULL, err);
}

int xm_cmd_unpause(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    if (argc < 2)
        return xm_usage_error(err, argv[0], "Missing domain");
    return domain_op(ctx, argv[1], "unpause", NULL, NULL, err);
}

static int print_field(struct xm_ctx *ctx, int argc, char **argv, const char *field,
                       struct xend_err *err)
{
    if (argc != 2)
        return xm_usage_error(err, argv[0], "Invalid argument(s)");
    struct xm_result r = {0};
    int rc = xm_domain_get(ctx, argv[1], NULL, 0, &r, err);
    if (rc < 0)
        return rc;
    struct xend_buf out = XEND_BUF_INIT;
    const char *v = r.kind == XM_RESULT_SXP ? xend_sxp_child_value(r.sxp, field, NULL) : NULL;
    if (ctx->output != XM_OUT_TEXT) {
        /* both fields, whichever was asked: {"id": 5, "name": "vm1"} */
        xm_fmt_id_name(r.kind == XM_RESULT_SXP ? r.sxp : NULL, ctx->output, &out);
    } else {
        xend_buf_printf(&out, "%s\n", v != NULL ? v : "None");
    }
    xm_print(&out);
    xm_result_free(&r);
    return 0;
}

int xm_cmd_domid(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    return print_field(ctx, argc, argv, "id", err);
}

int xm_cmd_domname(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    return print_field(ctx, argc, argv, "name", err);
}

/* An integer argument passed on as its text, validated first as the 2.0 int() did. */
static int int_op(struct xm_ctx *ctx, int argc, char **argv, const char *op, const char *key,
                  struct xend_err *err)
{
    long long x;
    if (argc != 3)
        return xm_usage_error(err, argv[0], "Invalid argument(s)");
    int rc = xm_parse_int(argv[2], &x, err);
    if (rc < 0)
        return rc;
    char text[32];
    snprintf(text, sizeof(text), "%lld", x);
    return domain_op(ctx, argv[1], op, key, text, err);
}

int xm_cmd_pincpu(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    return int_op(ctx, argc, argv, "pincpu", "cpu", err);
}

int xm_cmd_maxmem(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    return int_op(ctx, argc, argv, "maxmem_set", "memory", err);
}

int xm_cmd_balloon(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    return int_op(ctx, argc, argv, "mem_target_set", "target", err);
}

/* ---- save, restore, migrate -------------------------------------------------------- */

static const struct xm_opt save_opts_tab[] = {
    {"help", 'h', XM_OPT_FLAG, NULL, "Print this help.", NULL},
    {"resource", 'r', XM_OPT_VALUE, "MBIT", "Write at most MBIT megabits a second.", "0"},
};
const struct xm_optset xm_save_opts = {"[options] DOM FILE\n\nSave domain DOM to FILE.\n",
                                       save_opts_tab, 2};

int xm_cmd_save(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    struct xm_optval v[2];
    char **args;
    int nargs;
    int rc = xm_opt_parse(&xm_save_opts, argc, argv, v, &args, &nargs, err);
    if (rc < 0)
        return rc;
    long long resource = 0;
    if (nargs != 2)
        rc = xm_usage_error(err, argv[0], "Missing arguments");
    else if (v[1].count)
        rc = xm_parse_int(v[1].value, &resource, err);
    if (rc == 0) {
        char *file = xend_abspath(args[1]);
        char res[32];
        snprintf(res, sizeof(res), "%lld", resource);
        /* Without -r the request is the 2.0 client's, byte for byte. */
        struct xm_param params[3] = {
            {"op", "save", NULL}, {"file", file, NULL}, {"resource", res, NULL}};
        struct xm_progress prog;
        xm_progress_begin(&prog, &ctx->client, "Saving domain %s to %s", args[0], file);
        xm_progress_follow(&prog, ctx, args[0], "save");
        rc = xm_domain_post(ctx, args[0], params, v[1].count ? 3 : 2, NULL, err);
        xm_progress_end(&prog, &ctx->client, rc == 0);
        free(file);
    }
    free(args);
    return rc;
}

int xm_cmd_cancel(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    if (argc < 2)
        return xm_usage_error(err, argv[0], "Missing domain");
    return domain_op(ctx, argv[1], "cancel", NULL, NULL, err);
}

static const struct xm_opt restore_opts_tab[] = {
    {"help", 'h', XM_OPT_FLAG, NULL, "Print this help.", NULL},
    {"resource", 'r', XM_OPT_VALUE, "MBIT", "Read at most MBIT megabits a second.", "0"},
};
const struct xm_optset xm_restore_opts = {"[options] FILE\n\nRestore a domain from FILE.\n",
                                          restore_opts_tab, 2};

int xm_cmd_restore(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    struct xm_optval v[2];
    char **args;
    int nargs;
    int rc = xm_opt_parse(&xm_restore_opts, argc, argv, v, &args, &nargs, err);
    if (rc < 0)
        return rc;
    long long resource = 0;
    if (nargs != 1)
        rc = xm_usage_error(err, argv[0], "Missing arguments");
    else if (v[1].count)
        rc = xm_parse_int(v[1].value, &resource, err);
    if (rc == 0)
        rc = xm_need_server(ctx, err);
    if (rc < 0) {
        free(args);
        return rc;
    }
    char *file = xend_abspath(args[0]);
    free(args);
    char res[32];
    snprintf(res, sizeof(res), "%lld", resource);
    /* Without -r the request is the 2.0 client's, byte for byte. */
    struct xm_param params[3] = {
        {"op", "restore", NULL}, {"file", file, NULL}, {"resource", res, NULL}};
    struct xm_result r = {0};
    struct xm_progress prog;
    xm_progress_begin(&prog, &ctx->client, "Restoring domain from %s", file);
    xm_progress_follow(&prog, ctx, NULL, "restore");
    rc = xm_client_post(&ctx->client, "domain/", params, v[1].count ? 3 : 2, &r, err);
    xm_progress_end(&prog, &ctx->client, rc == 0);
    free(file);
    if (rc < 0)
        return rc;
    struct xend_buf out = XEND_BUF_INIT;
    if (r.kind == XM_RESULT_SXP)
        xm_fmt_pretty(r.sxp, &out);
    else if (r.kind == XM_RESULT_TEXT)
        xend_buf_printf(&out, "%s\n", r.text);
    xm_print(&out);
    const char *id = r.kind == XM_RESULT_SXP ? xend_sxp_child_value(r.sxp, "id", NULL) : NULL;
    if (id != NULL)
        rc = domain_op(ctx, id, "unpause", NULL, NULL, err);
    xm_result_free(&r);
    return rc;
}

static const struct xm_opt migrate_opts_tab[] = {
    {"help", 'h', XM_OPT_FLAG, NULL, "Print this help.", NULL},
    {"live", 'l', XM_OPT_FLAG, NULL, "Use live migration.", NULL},
    {"resource", 'r', XM_OPT_VALUE, "MBIT", "Set level of resource usage for migration.", "0"},
};
const struct xm_optset xm_migrate_opts = {"[options] DOM HOST\n\nMigrate domain DOM to host "
                                          "HOST.\nXend must be running on the local host and "
                                          "on HOST.\n",
                                          migrate_opts_tab, 3};

int xm_cmd_migrate(struct xm_ctx *ctx, int argc, char **argv, struct xend_err *err)
{
    struct xm_optval v[3];
    char **args;
    int nargs;
    int rc = xm_opt_parse(&xm_migrate_opts, argc, argv, v, &args, &nargs, err);
    if (rc < 0)
        return rc;
    long long resource = 0;
    if (nargs != 2)
        rc = xm_usage_error(err, argv[0], "Invalid number of arguments");
    else if (strcmp(args[0], DOM0_NAME) == 0 || strcmp(args[0], DOM0_ID) == 0)
        rc = xend_err_set(err, XEND_EINVAL, "Cannot migrate %s", args[0]);
    else if (v[2].count)
        rc = xm_parse_int(v[2].value, &resource, err);
    if (rc == 0) {
        char res[32];
        snprintf(res, sizeof(res), "%lld", resource);
        struct xm_param params[4] = {{"op", "migrate", NULL},
                                     {"destination", args[1], NULL},
                                     {"live", v[1].count ? "1" : "0", NULL},
                                     {"resource", res, NULL}};
        struct xm_progress prog;
        xm_progress_begin(&prog, &ctx->client, "Migrating domain %s to %s", args[0], args[1]);
        xm_progress_follow(&prog, ctx, args[0], "migrate");
        prog.live = v[1].count != 0;
        rc = xm_domain_post(ctx, args[0], params, 4, NULL, err);
        xm_progress_end(&prog, &ctx->client, rc == 0);
    }
    free(args);
    return rc;
}
