/*
 * xm: the command-line client of xend, compatible in commands and output with the Xen 2.0
 * xm. Finds xend through --server URL, or XEND=host:port (or unix:/path) and XEND_ROOT as
 * the 2.0 client did, runs one command and exits 0, or 1 with "Error: MSG" on stderr.
 * For https:// URLs: --cert/--key/--ca (XM_CERT, XM_KEY, XM_CA) and XM_TOKEN.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

/* The value of a global option given as "NAME VALUE" or "NAME=VALUE", or NULL. */
static const char *global_opt(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    /* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): argv[i] below argc is set */
    if (strcmp(argv[*i], name) == 0 && *i + 1 < argc)
        return argv[++*i];
    if (strncmp(argv[*i], name, n) == 0 && argv[*i][n] == '=')
        return argv[*i] + n + 1;
    return NULL;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    struct xm_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.prog = argc > 0 ? base_name(argv[0]) : "xm";

    const char *server = getenv("XEND");
    struct xm_tls_options tls = {getenv("XM_CERT"), getenv("XM_KEY"), getenv("XM_CA")};
    int i = 1;
    for (; i < argc; i++) {
        const char *v;
        if ((v = global_opt(argc, argv, &i, "--server")) != NULL) {
            server = v;
        } else if ((v = global_opt(argc, argv, &i, "--cert")) != NULL) {
            tls.cert = v;
        } else if ((v = global_opt(argc, argv, &i, "--key")) != NULL) {
            tls.key = v;
        } else if ((v = global_opt(argc, argv, &i, "--ca")) != NULL) {
            tls.ca = v;
            /* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): argv[i] below argc is set */
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            argc = i; /* "xm -h": the general help */
            break;
        } else {
            break;
        }
    }
    /* A bad address only matters to commands that talk to xend (not help, not create -n). */
    ctx.server_ok =
        xm_endpoint_parse(server, getenv("XEND_ROOT"), &ctx.client.ep, &ctx.server_err) == 0;
    ctx.client.ep.tls_opt = tls;
    ctx.client.ep.token = getenv("XM_TOKEN");

    struct xend_err err = {0};
    int rc = xm_run(&ctx, argc - i, argv + i, &err);
    if (rc == 0)
        return 0;
    fflush(stdout);
    if (ctx.client.transport_failed) {
        /* as 2.0: the socket error, then the advice */
        fprintf(stderr, "%s\n", xend_err_msg(&err));
        fprintf(stderr, "Error: Error connecting to xend, is xend running?\n");
    } else {
        fprintf(stderr, "Error: %s\n", xend_err_msg(&err));
    }
    return 1;
}
