/*
 * The dry run of a create and the reader of a create's config text (see create_check.h).
 * Problems found by the validation of core/lifecycle/ name an element of the (vm ...); here
 * each is given the line of the text that element came from: for SXP the line where the
 * element starts, for a Python config the line of the variable it was built from.
 */
#include "create_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xend/http.h>

#include "buf.h"
#include "http/role.h"
#include "lifecycle/lifecycle_internal.h"
#include "pyconf.h"
#include "record_limits.h"
#include "xmconfig.h"

void xend_config_problems_free(struct xend_config_problems *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i].text);
    free(p->v);
    p->v = NULL;
    p->n = 0;
}

static void add_problem(struct xend_config_problems *p, unsigned line, const char *text)
{
    p->v = xend_xrealloc(p->v, (p->n + 1) * sizeof(*p->v));
    p->v[p->n++] = (struct xend_config_problem){line, xend_xstrdup(text)};
}

char *xend_config_problems_text(const struct xend_config_problems *p)
{
    struct xend_buf b = XEND_BUF_INIT;
    for (size_t i = 0; i < p->n; i++) {
        if (i > 0)
            xend_buf_putc(&b, '\n');
        if (p->v[i].line > 0)
            xend_buf_printf(&b, "line %u: ", p->v[i].line);
        xend_buf_puts(&b, p->v[i].text);
    }
    return b.data != NULL ? xend_buf_steal(&b) : xend_xstrdup("");
}

/* Past blanks and # comments (both languages have them): where the config starts. */
static size_t skip_blank(const char *t, size_t len, size_t i, unsigned *line)
{
    while (i < len) {
        if (t[i] == '#') {
            while (i < len && t[i] != '\n')
                i++;
        } else if (t[i] == ' ' || t[i] == '\t' || t[i] == '\r' || t[i] == '\f' || t[i] == '\v') {
            i++;
        } else if (t[i] == '\n') {
            (*line)++;
            i++;
        } else {
            break;
        }
    }
    return i;
}

bool xend_create_text_is_sxp(const char *text, size_t len)
{
    unsigned line = 1;
    size_t i = skip_blank(text, len, 0, &line);
    return i < len && text[i] == '(';
}

/*
 * The line where each element of the first top-level list starts (the head atom is element
 * 0), as lib/sxp.c tokenises: strings in '..' or ".." with backslash escapes, # comments,
 * atoms ended by blanks and parens. *out is owned; returns how many.
 */
static size_t sxp_element_lines(const char *t, size_t len, unsigned **out)
{
    unsigned line = 1, *lines = NULL;
    size_t n = 0, depth = 0;
    bool in_atom = false;
    for (size_t i = 0; i < len; i++) {
        char c = t[i];
        bool starts = false;
        if (c == '\n') {
            line++;
            in_atom = false;
        } else if (c == '#' && !in_atom) {
            while (i + 1 < len && t[i + 1] != '\n')
                i++;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            in_atom = false;
        } else if (c == '(') {
            starts = depth == 1;
            depth++;
            in_atom = false;
        } else if (c == ')') {
            in_atom = false;
            if (depth > 0 && --depth == 0)
                break;
        } else if ((c == '"' || c == '\'') && !in_atom) {
            starts = depth == 1;
            unsigned at = line;
            for (i++; i < len && t[i] != c; i++) {
                if (t[i] == '\\' && i + 1 < len)
                    i++;
                if (t[i] == '\n')
                    line++;
            }
            if (starts) {
                lines = xend_xrealloc(lines, (n + 1) * sizeof(*lines));
                lines[n++] = at;
            }
            continue;
        } else if (!in_atom) {
            starts = depth == 1;
            in_atom = true;
        }
        if (starts) {
            lines = xend_xrealloc(lines, (n + 1) * sizeof(*lines));
            lines[n++] = line;
        }
    }
    *out = lines;
    return n;
}

/* What was read: the config and, for each of its elements, its line (0 unknown). */
struct reading {
    struct xend_sxp *config;
    bool refused; /* config is only for checking: the text has a problem already */
    unsigned *lines;
    size_t nlines;
};

static void pyconf_problem(void *arg, int line, const char *msg)
{
    add_problem(arg, line > 0 ? (unsigned)line : 0, msg);
}

static int read_python(const char *text, size_t len, struct reading *r,
                       struct xend_config_problems *problems)
{
    /* The lexer relies on a NUL after the text (strtoll, strtod). */
    char *copy = xend_xstrndup(text, len);
    struct xend_pyvars vars = XEND_PYVARS_INIT;
    struct xend_err err = {0};
    int line = 0;
    int rc = xend_pyconf_read(copy, len, "config", &vars, &line, &err);
    if (rc < 0) {
        add_problem(problems, line > 0 ? (unsigned)line : 0, xend_err_msg(&err));
    } else {
        size_t unknown = xend_xmconfig_unknown_vars(&vars, pyconf_problem, problems);
        struct xend_xmconfig_ctx ctx = {
            .absolute_only = true,
            .problem = pyconf_problem,
            .problem_arg = problems,
        };
        rc = xend_xmconfig_build(&vars, &ctx, &r->config, &err);
        /* a typo whose value would be silently ignored: refused, but what was built is
         * still checked, so that one dry run lists everything */
        r->refused = rc == 0 && unknown > 0;
    }
    if (rc == 0) {
        r->nlines = xend_sxp_length(r->config);
        r->lines = xend_xcalloc(r->nlines ? r->nlines : 1, sizeof(*r->lines));
        for (size_t i = 0; i < r->nlines; i++) {
            const char *name = xend_xmconfig_element_var(xend_sxp_nth(r->config, i), &vars);
            const struct xend_pyvar *v = name != NULL ? xend_pyvars_get(&vars, name) : NULL;
            r->lines[i] = v != NULL && v->line > 0 ? (unsigned)v->line : 0;
        }
    }
    xend_pyvars_free(&vars);
    free(copy);
    return rc;
}

static int read_sxp(const char *text, size_t len, struct reading *r,
                    struct xend_config_problems *problems)
{
    char msg[256];
    unsigned line = 0;
    int rc =
        xend_sxp_parse_line(text, len, &xend_record_limits, &r->config, msg, sizeof(msg), &line);
    if (rc < 0) {
        add_problem(problems, line, msg);
        return rc;
    }
    r->nlines = sxp_element_lines(text, len, &r->lines);
    return 0;
}

static int read_config(const char *text, size_t len, struct reading *r,
                       struct xend_config_problems *problems)
{
    memset(r, 0, sizeof(*r));
    problems->v = NULL;
    problems->n = 0;
    int rc = xend_create_text_is_sxp(text, len) ? read_sxp(text, len, r, problems)
                                                : read_python(text, len, r, problems);
    return rc < 0 ? -XEND_EINVAL : 0;
}

int xend_create_read(const char *text, size_t len, struct xend_sxp **config,
                     struct xend_config_problems *problems)
{
    struct reading r;
    int rc = read_config(text, len, &r, problems);
    free(r.lines);
    if (rc == 0 && r.refused) {
        xend_sxp_free(r.config);
        rc = -XEND_EINVAL;
    }
    *config = rc == 0 ? r.config : NULL;
    return rc;
}

struct sink_ctx {
    const struct reading *r;
    struct xend_config_problems *problems;
};

static void sink_add(void *arg, long at, const char *msg)
{
    struct sink_ctx *s = arg;
    unsigned line = at >= 0 && (size_t)at < s->r->nlines ? s->r->lines[at] : 0;
    add_problem(s->problems, line, msg);
}

int xend_create_check(const char *text, size_t len, int role, struct xend_sxp **config,
                      struct xend_config_problems *problems)
{
    *config = NULL;
    if (!xend_role_allows(role, XEND_ROLE_OPERATOR)) {
        problems->v = NULL;
        problems->n = 0;
        char msg[256];
        xend_role_refusal(role, XEND_ROLE_OPERATOR, "create", "/xend/domain", msg, sizeof(msg));
        add_problem(problems, 0, msg);
        return -XEND_EPERM;
    }
    struct reading r;
    int rc = read_config(text, len, &r, problems);
    if (rc == 0) {
        /* as the caller: a class may allow an admin what it refuses an operator */
        int prev = xend_role_act_as(role);
        struct sink_ctx s = {&r, problems};
        struct xend_check_sink sink = {sink_add, &s};
        struct xend_err err = {0};
        rc = xend_lifecycle_check_create(r.config, &sink, &err) < 0 || r.refused ? -XEND_EINVAL : 0;
        xend_role_act_as(prev);
    }
    free(r.lines);
    if (rc < 0) {
        xend_sxp_free(r.config);
        return rc;
    }
    *config = r.config;
    return 0;
}
