/*
 * xm create --check (see create_check.h). The config sent for a Python file is the one a
 * create would send, printed one element a line, so that a line xend names maps back to the
 * element and from it to the variable of the file it was built from.
 */
#include "create_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sxp_json.h"
#include "xmconfig.h"

struct problem {
    unsigned line; /* of the file; 0 for none */
    char *text;
};

struct problems {
    struct problem *v;
    size_t n;
};

static void add(struct problems *p, unsigned line, const char *text)
{
    p->v = xend_xrealloc(p->v, (p->n + 1) * sizeof(*p->v));
    p->v[p->n++] = (struct problem){line, xend_xstrdup(text)};
}

static void add_cb(void *arg, int line, const char *msg)
{
    add(arg, line > 0 ? (unsigned)line : 0, msg);
}

static void problems_free(struct problems *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i].text);
    free(p->v);
}

/* What was sent and how its lines map back to the file's. */
struct sent {
    struct xend_sxp *vm;            /* the built config (Python), or NULL (SXP sent as is) */
    const struct xend_pyvars *vars; /* the variables it was built from */
};

static unsigned file_line(const struct sent *s, unsigned line)
{
    if (s->vm == NULL || line == 0)
        return line; /* SXP: xend read the file itself */
    const char *name = xend_xmconfig_element_var(xend_sxp_nth(s->vm, line - 1), s->vars);
    const struct xend_pyvar *v = name != NULL ? xend_pyvars_get(s->vars, name) : NULL;
    return v != NULL && v->line > 0 ? (unsigned)v->line : 0;
}

/* xend's message: a line "line N: TEXT" or "TEXT" per problem. */
static void add_from_xend(struct problems *p, const struct sent *s, const char *msg)
{
    char *copy = xend_xstrdup(msg), *save = NULL;
    for (char *l = strtok_r(copy, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
        unsigned line = 0;
        int used = 0;
        /* NOLINTNEXTLINE(cert-err34-c): xend's own "line N:"; a wrong N only misplaces a mark */
        if (sscanf(l, "line %u: %n", &line, &used) == 1 && used > 0)
            add(p, file_line(s, line), l + used);
        else
            add(p, 0, l);
    }
    free(copy);
}

/* POST op=create check=1; problems found by xend are added. */
static int ask_xend(struct xm_ctx *ctx, const struct xm_check_input *in, const struct sent *s,
                    struct problems *p, struct xend_err *err)
{
    int rc = xm_need_server(ctx, err);
    if (rc < 0)
        return rc;
    char *text = NULL;
    if (s->vm != NULL) {
        struct xend_buf b = XEND_BUF_INIT;
        xend_xmconfig_print_lines(s->vm, &b);
        text = xend_buf_steal(&b);
    }
    struct xm_param params[3] = {
        {"op", "create", NULL}, {"check", "1", NULL}, {"config", text, in->sxp_file}};
    struct xm_result r = {0};
    struct xend_err e = {0};
    rc = xm_client_post(&ctx->client, "domain/", params, 3, &r, &e);
    free(text);
    if (rc < 0 && !ctx->client.transport_failed && r.status == 200) {
        add_from_xend(p, s, xend_err_msg(&e)); /* (xend.err "...") */
        return 0;
    }
    if (rc < 0) {
        *err = e; /* refused (403...), or xend not reached */
        return rc;
    }
    const char *head = r.kind == XM_RESULT_SXP ? xend_sxp_name(r.sxp) : NULL;
    if (head != NULL && strcmp(head, "domain") == 0) {
        /* an xend that does not know check=1 created the domain (paused): undo it */
        const char *name = xend_sxp_child_value(r.sxp, "name", "");
        struct xend_err ignored = {0};
        struct xm_param destroy[2] = {{"op", "destroy", NULL}, {"reason", "halt", NULL}};
        xm_domain_post(ctx, name, destroy, 2, NULL, &ignored);
        rc = xend_err_set(err, XEND_ENOTSUP,
                          "xend does not know --check: it created domain %s, which was destroyed",
                          name);
    } else if (head == NULL || strcmp(head, "check") != 0) {
        rc = xend_err_set(err, XEND_EINVAL, "invalid reply from xend to create --check");
    }
    xm_result_free(&r);
    return rc;
}

static void print_text(const char *file, const struct problems *p, struct xend_buf *out)
{
    for (size_t i = 0; i < p->n; i++) {
        if (p->v[i].line > 0)
            xend_buf_printf(out, "%s:%u: %s\n", file, p->v[i].line, p->v[i].text);
        else
            xend_buf_printf(out, "%s: %s\n", file, p->v[i].text);
    }
    if (p->n == 0)
        xend_buf_printf(out, "%s: ok, nothing created\n", file);
}

/* {"file": F, "ok": B, "problems": [{"line": N, "text": T}...]}; (check (file F) (ok B)
 * (problems ((line N) (text T))...)) in SXP. */
static void print_data(enum xm_output_form form, const char *file, const struct problems *p,
                       struct xend_buf *out)
{
    if (form == XM_OUT_JSON) {
        xend_buf_puts(out, "{\"file\": ");
        xend_sxp_json_string(file, out);
        xend_buf_printf(out, ", \"ok\": %s, \"problems\": [", p->n == 0 ? "true" : "false");
        for (size_t i = 0; i < p->n; i++) {
            xend_buf_printf(out, "%s{\"line\": %u, \"text\": ", i > 0 ? ", " : "", p->v[i].line);
            xend_sxp_json_string(p->v[i].text, out);
            xend_buf_putc(out, '}');
        }
        xend_buf_puts(out, "]}\n");
        return;
    }
    struct xend_sxp *c = xend_sxp_list_of("check", NULL);
    xend_sxp_add_kv(c, "file", file);
    xend_sxp_add_kv(c, "ok", p->n == 0 ? "true" : "false");
    struct xend_sxp *list = xend_sxp_list_of("problems", NULL);
    for (size_t i = 0; i < p->n; i++) {
        struct xend_sxp *one = xend_sxp_list();
        xend_sxp_add_kv_int(one, "line", p->v[i].line);
        xend_sxp_add_kv(one, "text", p->v[i].text);
        xend_sxp_append_take(list, one);
    }
    xend_sxp_append_take(c, list);
    xend_sxp_print_buf(c, out);
    xend_buf_putc(out, '\n');
    xend_sxp_free(c);
}

/* The Python file read and built as a create would, each problem with its line. */
static int read_script(const struct xm_check_input *in, struct sent *s, struct problems *p,
                       struct xend_err *err)
{
    struct xend_buf text = XEND_BUF_INIT;
    int rc = xm_read_file(in->file, &text, err);
    if (rc < 0)
        return rc;
    struct xend_err e = {0};
    int line = 0;
    if (xend_pyconf_read(xend_buf_str(&text), text.len, in->file, in->vars, &line, &e) < 0) {
        add(p, line > 0 ? (unsigned)line : 0, xend_err_msg(&e));
    } else {
        xend_xmconfig_unknown_vars(in->vars, add_cb, p);
        char *dir = xend_xstrdup(in->file);
        char *slash = strrchr(dir, '/');
        if (slash != NULL)
            *slash = '\0';
        struct xend_xmconfig_ctx bctx = {
            .file = in->file,
            .config_dir = slash != NULL ? dir : ".",
            .defconfig = in->defconfig,
            .problem = add_cb,
            .problem_arg = p,
        };
        if (xend_xmconfig_build(in->vars, &bctx, &s->vm, &e) < 0)
            s->vm = NULL;
        free(dir);
    }
    s->vars = in->vars;
    xend_buf_free(&text);
    return 0;
}

int xm_create_check(struct xm_ctx *ctx, const struct xm_check_input *in, struct xend_err *err)
{
    const char *file = in->sxp_file != NULL ? in->sxp_file : in->file;
    struct problems p = {0};
    struct sent s = {0};
    int rc = in->sxp_file != NULL ? 0 : read_script(in, &s, &p, err);
    /* xend checks what was built; a file that could not be built has its problems already */
    if (rc == 0 && (in->sxp_file != NULL || s.vm != NULL))
        rc = ask_xend(ctx, in, &s, &p, err);
    if (rc == 0) {
        struct xend_buf out = XEND_BUF_INIT;
        if (ctx->output == XM_OUT_TEXT)
            print_text(file, &p, &out);
        else
            print_data(ctx->output, file, &p, &out);
        xm_print(&out);
        if (p.n > 0)
            rc = xend_err_set(err, XEND_EINVAL, "%s: %zu problem%s, nothing created", file, p.n,
                              p.n == 1 ? "" : "s");
    }
    xend_sxp_free(s.vm);
    problems_free(&p);
    return rc;
}
