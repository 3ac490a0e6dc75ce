/*
 * Command options in the style of the 2.0 xm (see opt.h).
 */
#include "opt.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int xm_opt_index(const struct xm_optset *set, const char *name)
{
    for (size_t i = 0; i < set->n; i++)
        if (set->opts[i].kind != XM_OPT_VAR && strcmp(set->opts[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* A long option by exact name or unique prefix, as python's getopt resolves them. */
static int find_long(const struct xm_optset *set, const char *name, size_t len,
                     struct xend_err *err)
{
    int found = -1;
    for (size_t i = 0; i < set->n; i++) {
        const struct xm_opt *o = &set->opts[i];
        if (o->kind == XM_OPT_VAR || strncmp(o->name, name, len) != 0)
            continue;
        if (o->name[len] == '\0')
            return (int)i;
        if (found >= 0)
            return xend_err_set(err, XEND_EINVAL, "option --%.*s not a unique prefix", (int)len,
                                name);
        found = (int)i;
    }
    if (found < 0)
        return xend_err_set(err, XEND_EINVAL, "option --%.*s not recognized", (int)len, name);
    return found;
}

static int find_short(const struct xm_optset *set, char c, struct xend_err *err)
{
    for (size_t i = 0; i < set->n; i++)
        if (set->opts[i].kind != XM_OPT_VAR && set->opts[i].short_name == c)
            return (int)i;
    return xend_err_set(err, XEND_EINVAL, "option -%c not recognized", c);
}

int xm_opt_parse(const struct xm_optset *set, int argc, char **argv, struct xm_optval *vals,
                 char ***args, int *nargs, struct xend_err *err)
{
    memset(vals, 0, set->n * sizeof(*vals));
    char **rest = xend_xcalloc((size_t)(argc > 0 ? argc : 1), sizeof(char *));
    int nrest = 0;
    bool opts_done = false;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (opts_done || a[0] != '-' || a[1] == '\0') {
            rest[nrest++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            opts_done = true;
            continue;
        }
        if (a[1] == '-') {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
            int k = find_long(set, name, len, err);
            if (k < 0)
                goto fail;
            const struct xm_opt *o = &set->opts[k];
            vals[k].count++;
            if (o->kind == XM_OPT_FLAG) {
                if (eq != NULL) {
                    xend_err_set(err, XEND_EINVAL, "option --%s must not have an argument",
                                 o->name);
                    goto fail;
                }
            } else if (eq != NULL) {
                vals[k].value = eq + 1;
            } else if (i + 1 < argc) {
                vals[k].value = argv[++i];
            } else {
                xend_err_set(err, XEND_EINVAL, "option --%s requires argument", o->name);
                goto fail;
            }
            continue;
        }
        for (const char *c = a + 1; *c != '\0'; c++) {
            int k = find_short(set, *c, err);
            if (k < 0)
                goto fail;
            vals[k].count++;
            if (set->opts[k].kind != XM_OPT_VALUE)
                continue;
            if (c[1] != '\0') {
                vals[k].value = c + 1;
            } else if (i + 1 < argc) {
                vals[k].value = argv[++i];
            } else {
                xend_err_set(err, XEND_EINVAL, "option -%c requires argument", *c);
                goto fail;
            }
            break;
        }
    }
    *args = rest;
    *nargs = nrest;
    return 0;
fail:
    free(rest);
    *args = NULL;
    *nargs = 0;
    return -XEND_EINVAL;
}

/* Each line of a help text stripped and indented by four spaces (opts.py format()). */
static void put_use(const char *use, struct xend_buf *out)
{
    while (use != NULL) {
        const char *nl = strchr(use, '\n');
        size_t len = nl != NULL ? (size_t)(nl - use) : strlen(use);
        while (len > 0 && (*use == ' ' || *use == '\t')) {
            use++;
            len--;
        }
        while (len > 0 && (use[len - 1] == ' ' || use[len - 1] == '\t'))
            len--;
        xend_buf_printf(out, "    %.*s\n", (int)len, use);
        use = nl != NULL ? nl + 1 : NULL;
    }
}

void xm_opt_usage(const struct xm_optset *set, const char *cmd, struct xend_buf *out)
{
    xend_buf_printf(out, "Usage:  %s %s\n\n", cmd, set->use != NULL ? set->use : "OPTIONS");
    for (size_t i = 0; i < set->n; i++) {
        const struct xm_opt *o = &set->opts[i];
        if (o->kind == XM_OPT_VAR) {
            xend_buf_printf(out, " %s=%s\n", o->name, o->val);
        } else {
            const char *sep = " ";
            if (o->short_name != 0) {
                xend_buf_printf(out, " -%c", o->short_name);
                sep = ", ";
            }
            xend_buf_printf(out, "%s--%s", sep, o->name);
            if (o->kind == XM_OPT_VALUE)
                xend_buf_printf(out, " %s", o->val);
            xend_buf_putc(out, '\n');
        }
        if (o->use != NULL)
            put_use(o->use, out);
        if (o->kind != XM_OPT_FLAG)
            xend_buf_printf(out, "    Default %s\n", o->dflt != NULL ? o->dflt : "None");
        xend_buf_putc(out, '\n');
    }
    if (set->n > 0)
        xend_buf_putc(out, '\n');
}
