/*
 * Reader of the Xen domain config file (see pyconf.h): a lexer for python's tokens and a
 * recursive-descent evaluator that computes each assignment as it reads it.
 */
#include "pyconf.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- values ------------------------------------------------------------------------ */

void xend_pyval_free(struct xend_pyval *v)
{
    free(v->s);
    for (size_t i = 0; i < v->n; i++)
        xend_pyval_free(&v->items[i]);
    free(v->items);
    memset(v, 0, sizeof(*v));
}

void xend_pyval_copy(struct xend_pyval *dst, const struct xend_pyval *src)
{
    *dst = *src;
    dst->s = src->s != NULL ? xend_xstrdup(src->s) : NULL;
    dst->items = NULL;
    if (src->n > 0) {
        dst->items = xend_xcalloc(src->n, sizeof(*dst->items));
        for (size_t i = 0; i < src->n; i++)
            xend_pyval_copy(&dst->items[i], &src->items[i]);
    }
}

const char *xend_pyval_type_name(const struct xend_pyval *v)
{
    switch (v->type) {
    case XEND_PY_NONE:
        return "NoneType";
    case XEND_PY_BOOL:
        return "bool";
    case XEND_PY_INT:
        return "int";
    case XEND_PY_FLOAT:
        return "float";
    case XEND_PY_STR:
        return "str";
    case XEND_PY_LIST:
        return "list";
    case XEND_PY_TUPLE:
        return "tuple";
    }
    return "object";
}

static void str_repr(const char *s, struct xend_buf *out)
{
    char q = strchr(s, '\'') != NULL && strchr(s, '"') == NULL ? '"' : '\'';
    xend_buf_putc(out, q);
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == (unsigned char)q || *p == '\\')
            xend_buf_printf(out, "\\%c", *p);
        else if (*p == '\n')
            xend_buf_puts(out, "\\n");
        else if (*p == '\t')
            xend_buf_puts(out, "\\t");
        else if (*p == '\r')
            xend_buf_puts(out, "\\r");
        else if (*p < 0x20 || *p >= 0x7f)
            xend_buf_printf(out, "\\x%02x", *p);
        else
            xend_buf_putc(out, (char)*p);
    }
    xend_buf_putc(out, q);
}

/* python 2 str(float): 12 significant digits, always looking like a float. */
static void float_str(double f, struct xend_buf *out)
{
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "%.12g", f);
    xend_buf_puts(out, tmp);
    if (strpbrk(tmp, ".eEn") == NULL)
        xend_buf_puts(out, ".0");
}

void xend_pyval_str(const struct xend_pyval *v, bool repr, struct xend_buf *out)
{
    switch (v->type) {
    case XEND_PY_NONE:
        xend_buf_puts(out, "None");
        break;
    case XEND_PY_BOOL:
        xend_buf_puts(out, v->i ? "True" : "False");
        break;
    case XEND_PY_INT:
        xend_buf_printf(out, "%lld", v->i);
        break;
    case XEND_PY_FLOAT:
        float_str(v->f, out);
        break;
    case XEND_PY_STR:
        if (repr)
            str_repr(v->s, out);
        else
            xend_buf_puts(out, v->s);
        break;
    case XEND_PY_LIST:
    case XEND_PY_TUPLE:
        xend_buf_putc(out, v->type == XEND_PY_LIST ? '[' : '(');
        for (size_t i = 0; i < v->n; i++) {
            if (i > 0)
                xend_buf_puts(out, ", ");
            xend_pyval_str(&v->items[i], true, out);
        }
        if (v->type == XEND_PY_TUPLE && v->n == 1)
            xend_buf_putc(out, ',');
        xend_buf_putc(out, v->type == XEND_PY_LIST ? ']' : ')');
        break;
    }
}

static void seq_push(struct xend_pyval *seq, struct xend_pyval *item)
{
    seq->items = xend_xrealloc(seq->items, (seq->n + 1) * sizeof(*seq->items));
    seq->items[seq->n++] = *item;
    memset(item, 0, sizeof(*item));
}

/* ---- variables --------------------------------------------------------------------- */

void xend_pyvars_free(struct xend_pyvars *vars)
{
    for (size_t i = 0; i < vars->n; i++) {
        free(vars->v[i].name);
        xend_pyval_free(&vars->v[i].val);
    }
    free(vars->v);
    memset(vars, 0, sizeof(*vars));
}

static struct xend_pyvar *vars_find(const struct xend_pyvars *vars, const char *name)
{
    for (size_t i = 0; i < vars->n; i++)
        if (strcmp(vars->v[i].name, name) == 0)
            return &vars->v[i];
    return NULL;
}

const struct xend_pyvar *xend_pyvars_get(const struct xend_pyvars *vars, const char *name)
{
    return vars_find(vars, name);
}

static struct xend_pyvar *vars_add(struct xend_pyvars *vars, const char *name)
{
    struct xend_pyvar *v = vars_find(vars, name);
    if (v != NULL)
        return v;
    if (vars->n == vars->cap) {
        vars->cap = vars->cap ? vars->cap * 2 : 16;
        vars->v = xend_xrealloc(vars->v, vars->cap * sizeof(*vars->v));
    }
    v = &vars->v[vars->n++];
    memset(v, 0, sizeof(*v));
    v->name = xend_xstrdup(name);
    return v;
}

void xend_pyvars_set_cmdline(struct xend_pyvars *vars, const char *name, const char *value,
                             bool append)
{
    struct xend_pyvar *v = vars_add(vars, name);
    struct xend_pyval s = {.type = XEND_PY_STR, .s = xend_xstrdup(value)};
    if (append) {
        if (!v->cmdline || v->val.type != XEND_PY_LIST) {
            xend_pyval_free(&v->val);
            v->val.type = XEND_PY_LIST;
        }
        seq_push(&v->val, &s);
    } else {
        xend_pyval_free(&v->val);
        v->val = s;
    }
    v->cmdline = true;
    v->line = 0;
}

void xend_pyvars_set_cmdline_int(struct xend_pyvars *vars, const char *name, long long value)
{
    struct xend_pyvar *v = vars_add(vars, name);
    xend_pyval_free(&v->val);
    v->val.type = XEND_PY_INT;
    v->val.i = value;
    v->cmdline = true;
    v->line = 0;
}

/* ---- lexer ------------------------------------------------------------------------- */

enum tok { T_EOF, T_NEWLINE, T_NAME, T_INT, T_FLOAT, T_STR, T_OP };

struct lexer {
    const char *p, *end;
    const char *file;
    int line;
    int depth; /* open brackets: newlines inside do not end a statement */
    bool line_start;
    struct xend_err *err;
    /* the current token */
    enum tok t;
    int tline;
    int *err_line; /* where the error's line goes (then not in its message); may be NULL */
    char op[3];
    struct xend_buf text; /* NAME and STR */
    long long ival;
    double fval;
};

__attribute__((format(printf, 2, 3))) static int lex_err(struct lexer *lx, const char *fmt, ...)
{
    char msg[XEND_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (lx->err_line != NULL) {
        if (lx->err == NULL || lx->err->code == 0)
            *lx->err_line = lx->tline;
        return xend_err_set(lx->err, XEND_EINVAL, "%s", msg);
    }
    return xend_err_set(lx->err, XEND_EINVAL, "%s:%d: %s", lx->file, lx->tline, msg);
}

static int lex_string(struct lexer *lx, bool raw)
{
    char q = *lx->p;
    bool triple = lx->end - lx->p >= 3 && lx->p[1] == q && lx->p[2] == q;
    lx->p += triple ? 3 : 1;
    xend_buf_reset(&lx->text);
    for (;;) {
        if (lx->p >= lx->end)
            return lex_err(lx, "unterminated string");
        char c = *lx->p;
        if (c == q && (!triple || (lx->end - lx->p >= 3 && lx->p[1] == q && lx->p[2] == q))) {
            lx->p += triple ? 3 : 1;
            break;
        }
        if (c == '\n') {
            if (!triple)
                return lex_err(lx, "unterminated string");
            lx->line++;
        }
        if (c != '\\' || lx->p + 1 >= lx->end) {
            xend_buf_putc(&lx->text, c);
            lx->p++;
            continue;
        }
        char e = lx->p[1];
        if (raw) {
            xend_buf_putc(&lx->text, '\\');
            xend_buf_putc(&lx->text, e);
            if (e == '\n')
                lx->line++;
            lx->p += 2;
            continue;
        }
        lx->p += 2;
        switch (e) {
        case '\n':
            lx->line++;
            break;
        case 'n':
            xend_buf_putc(&lx->text, '\n');
            break;
        case 't':
            xend_buf_putc(&lx->text, '\t');
            break;
        case 'r':
            xend_buf_putc(&lx->text, '\r');
            break;
        case 'a':
            xend_buf_putc(&lx->text, '\a');
            break;
        case 'b':
            xend_buf_putc(&lx->text, '\b');
            break;
        case 'f':
            xend_buf_putc(&lx->text, '\f');
            break;
        case 'v':
            xend_buf_putc(&lx->text, '\v');
            break;
        case '\\':
        case '\'':
        case '"':
            xend_buf_putc(&lx->text, e);
            break;
        case 'x': {
            int v = 0, k = 0;
            for (; k < 2 && lx->p < lx->end && isxdigit((unsigned char)*lx->p); k++, lx->p++)
                v = v * 16 +
                    (isdigit((unsigned char)*lx->p) ? *lx->p - '0' : (tolower(*lx->p) - 'a' + 10));
            if (k != 2)
                return lex_err(lx, "invalid \\x escape");
            xend_buf_putc(&lx->text, (char)v);
            break;
        }
        default:
            if (e >= '0' && e <= '7') {
                int v = e - '0';
                for (int k = 0; k < 2 && lx->p < lx->end && *lx->p >= '0' && *lx->p <= '7';
                     k++, lx->p++)
                    v = v * 8 + (*lx->p - '0');
                xend_buf_putc(&lx->text, (char)v);
            } else {
                /* python keeps an unknown escape as it is */
                xend_buf_putc(&lx->text, '\\');
                xend_buf_putc(&lx->text, e);
            }
        }
    }
    if (memchr(xend_buf_str(&lx->text), '\0', lx->text.len) != NULL)
        return lex_err(lx, "NUL character in string");
    lx->t = T_STR;
    return 0;
}

static int lex_number(struct lexer *lx)
{
    /* strtoll/strtod stop at a NUL, not at lx->end: work on a bounded copy of the token. */
    char tok[64];
    size_t tlen = 0;
    while (lx->p + tlen < lx->end && tlen + 1 < sizeof(tok) &&
           (isalnum((unsigned char)lx->p[tlen]) || lx->p[tlen] == '.' ||
            ((lx->p[tlen] == '+' || lx->p[tlen] == '-') && tlen > 0 &&
             (lx->p[tlen - 1] == 'e' || lx->p[tlen - 1] == 'E'))))
        tlen++;
    memcpy(tok, lx->p, tlen);
    tok[tlen] = '\0';
    const char *s = tok;
    const char *tend = tok + tlen;
    char *e;
    bool is_float = false;
    errno = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        lx->ival = strtoll(s + 2, &e, 16);
        if (e == s + 2)
            return lex_err(lx, "invalid number");
    } else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
        lx->ival = strtoll(s + 2, &e, 8);
        if (e == s + 2)
            return lex_err(lx, "invalid number");
    } else {
        const char *q = s;
        while (q < tend && isdigit((unsigned char)*q))
            q++;
        if (q < tend && (*q == '.' || *q == 'e' || *q == 'E')) {
            is_float = true;
            lx->fval = strtod(s, &e);
        } else if (s[0] == '0' && q - s > 1) {
            lx->ival = strtoll(s, &e, 8); /* python 2: 0755 is octal */
        } else {
            lx->ival = strtoll(s, &e, 10);
        }
    }
    if (errno == ERANGE)
        return lex_err(lx, "number out of range");
    if (!is_float && e < tend && (*e == 'L' || *e == 'l'))
        e++;
    if (e < tend && (isalnum((unsigned char)*e) || *e == '_'))
        return lex_err(lx, "invalid number");
    lx->p += e - tok;
    lx->t = is_float ? T_FLOAT : T_INT;
    return 0;
}

/* Read the next token into lx. */
static int lex_next(struct lexer *lx)
{
    for (;;) {
        if (lx->line_start && lx->depth == 0) {
            const char *q = lx->p;
            while (q < lx->end && (*q == ' ' || *q == '\t'))
                q++;
            if (q < lx->end && *q != '\n' && *q != '#' && *q != '\r' && q != lx->p) {
                lx->tline = lx->line;
                return lex_err(lx, "unexpected indent");
            }
            lx->line_start = false;
        }
        if (lx->p >= lx->end) {
            lx->tline = lx->line;
            lx->t = T_EOF;
            return 0;
        }
        char c = *lx->p;
        if (c == ' ' || c == '\t' || c == '\r' || c == '\f') {
            lx->p++;
        } else if (c == '#') {
            while (lx->p < lx->end && *lx->p != '\n')
                lx->p++;
        } else if (c == '\\' && lx->p + 1 < lx->end &&
                   (lx->p[1] == '\n' ||
                    (lx->p[1] == '\r' && lx->p + 2 < lx->end && lx->p[2] == '\n'))) {
            lx->p += lx->p[1] == '\n' ? 2 : 3;
            lx->line++;
        } else if (c == '\n') {
            lx->tline = lx->line;
            lx->p++;
            lx->line++;
            lx->line_start = true;
            if (lx->depth == 0) {
                lx->t = T_NEWLINE;
                return 0;
            }
        } else {
            break;
        }
    }
    lx->tline = lx->line;
    char c = *lx->p;
    if ((c == 'r' || c == 'R' || c == 'u' || c == 'U' || c == 'b' || c == 'B') &&
        lx->p + 1 < lx->end && (lx->p[1] == '\'' || lx->p[1] == '"')) {
        lx->p++;
        return lex_string(lx, c == 'r' || c == 'R');
    }
    if (c == '\'' || c == '"')
        return lex_string(lx, false);
    if (isdigit((unsigned char)c) ||
        (c == '.' && lx->p + 1 < lx->end && isdigit((unsigned char)lx->p[1])))
        return lex_number(lx);
    if (isalpha((unsigned char)c) || c == '_') {
        xend_buf_reset(&lx->text);
        while (lx->p < lx->end && (isalnum((unsigned char)*lx->p) || *lx->p == '_'))
            xend_buf_putc(&lx->text, *lx->p++);
        lx->t = T_NAME;
        return 0;
    }
    static const char *const two[] = {"+=", "-=", "==", "!=", "**", "//", "<=", ">="};
    for (size_t i = 0; i < sizeof(two) / sizeof(two[0]); i++) {
        if (lx->end - lx->p >= 2 && lx->p[0] == two[i][0] && lx->p[1] == two[i][1]) {
            memcpy(lx->op, two[i], 3);
            lx->p += 2;
            lx->t = T_OP;
            return 0;
        }
    }
    if (strchr("=+-*/%()[]{},;.:<>", c) == NULL || c == '\0')
        return isprint((unsigned char)c)
                   ? lex_err(lx, "invalid character '%c'", c)
                   : lex_err(lx, "invalid character 0x%02x", (unsigned char)c);
    if (c == '(' || c == '[' || c == '{')
        lx->depth++;
    else if ((c == ')' || c == ']' || c == '}') && lx->depth > 0)
        lx->depth--;
    lx->op[0] = c;
    lx->op[1] = '\0';
    lx->p++;
    lx->t = T_OP;
    return 0;
}

static bool is_op(const struct lexer *lx, const char *op)
{
    return lx->t == T_OP && strcmp(lx->op, op) == 0;
}

static bool is_name(const struct lexer *lx, const char *name)
{
    return lx->t == T_NAME && strcmp(xend_buf_str(&lx->text), name) == 0;
}

static int unexpected(struct lexer *lx)
{
    switch (lx->t) {
    case T_EOF:
        return lex_err(lx, "unexpected end of file");
    case T_NEWLINE:
        return lex_err(lx, "unexpected end of line");
    case T_OP:
        return lex_err(lx, "syntax error at '%s'", lx->op);
    case T_NAME:
        return lex_err(lx, "syntax error at '%s'", xend_buf_str(&lx->text));
    default:
        return lex_err(lx, "syntax error");
    }
}

/* ---- evaluation -------------------------------------------------------------------- */

struct eval {
    struct lexer lx;
    struct xend_pyvars *vars;
    int nest; /* expression nesting: brackets and unary signs, bounded */
};

/* Deeper expressions are refused, not recursed into: a config must not exhaust the stack. */
#define PY_MAX_NEST 200
/* The largest string or list a repetition may build. */
#define PY_MAX_REPEAT_BYTES (1 << 20)

static int parse_expr(struct eval *ev, struct xend_pyval *out);

static bool is_number(const struct xend_pyval *v)
{
    return v->type == XEND_PY_INT || v->type == XEND_PY_BOOL || v->type == XEND_PY_FLOAT;
}

static double as_double(const struct xend_pyval *v)
{
    return v->type == XEND_PY_FLOAT ? v->f : (double)v->i;
}

static int type_error(struct eval *ev, const char *op, const struct xend_pyval *a,
                      const struct xend_pyval *b)
{
    return lex_err(&ev->lx, "unsupported operand type(s) for %s: '%s' and '%s'", op,
                   xend_pyval_type_name(a), xend_pyval_type_name(b));
}

/* An integer argument of %d: python wants a number; a numeric string from VAR=VAL is
 * accepted too, since xm passes command-line variables to the script as strings. */
static bool format_int_arg(const struct xend_pyval *v, long long *out)
{
    if (v->type == XEND_PY_INT || v->type == XEND_PY_BOOL) {
        *out = v->i;
        return true;
    }
    if (v->type == XEND_PY_FLOAT) {
        *out = (long long)v->f;
        return true;
    }
    if (v->type == XEND_PY_STR && v->s[0] != '\0') {
        char *e;
        errno = 0;
        long long x = strtoll(v->s, &e, 0);
        if (*e == '\0' && errno == 0) {
            *out = x;
            return true;
        }
    }
    return false;
}

/* python's "fmt" % args for the conversions s r d i u x X o f e g c and %%. */
static int format_string(struct eval *ev, const char *fmt, const struct xend_pyval *args,
                         struct xend_pyval *out)
{
    const struct xend_pyval *argv = args;
    size_t argc = 1, next = 0;
    if (args->type == XEND_PY_TUPLE) {
        argv = args->items;
        argc = args->n;
    }
    struct xend_buf b = XEND_BUF_INIT;
    int rc = 0;
    for (const char *p = fmt; *p != '\0' && rc == 0; p++) {
        if (*p != '%') {
            xend_buf_putc(&b, *p);
            continue;
        }
        const char *spec = p++;
        while (*p != '\0' && strchr("-+ #0", *p) != NULL)
            p++;
        while (isdigit((unsigned char)*p))
            p++;
        if (*p == '.') {
            p++;
            while (isdigit((unsigned char)*p))
                p++;
        }
        char conv = *p;
        if (conv == '%') {
            xend_buf_putc(&b, '%');
            continue;
        }
        if (conv == '\0' || strchr("srdiuxXofeEgGc", conv) == NULL) {
            rc = lex_err(&ev->lx, "unsupported format character '%c'", conv ? conv : '?');
            break;
        }
        if (next >= argc) {
            rc = lex_err(&ev->lx, "not enough arguments for format string");
            break;
        }
        const struct xend_pyval *a = &argv[next++];
        char cfmt[32];
        size_t flen = (size_t)(p - spec);
        if (flen + 4 >= sizeof(cfmt)) {
            rc = lex_err(&ev->lx, "format too long");
            break;
        }
        memcpy(cfmt, spec, flen);
        long long iv;
        if (conv == 's' || conv == 'r') {
            struct xend_buf sv = XEND_BUF_INIT;
            xend_pyval_str(a, conv == 'r', &sv);
            strcpy(cfmt + flen, "s");
            xend_buf_printf(&b, cfmt, xend_buf_str(&sv));
            xend_buf_free(&sv);
        } else if (strchr("feEgG", conv) != NULL) {
            if (!is_number(a)) {
                rc = lex_err(&ev->lx, "a float is required");
                break;
            }
            cfmt[flen] = conv;
            cfmt[flen + 1] = '\0';
            xend_buf_printf(&b, cfmt, as_double(a));
        } else if (conv == 'c') {
            if (!format_int_arg(a, &iv) && !(a->type == XEND_PY_STR && strlen(a->s) == 1)) {
                rc = lex_err(&ev->lx, "%%c requires int or char");
                break;
            }
            xend_buf_putc(&b, a->type == XEND_PY_STR ? a->s[0] : (char)iv);
        } else {
            if (!format_int_arg(a, &iv)) {
                rc = lex_err(&ev->lx, "%%%c format: a number is required, not %s", conv,
                             xend_pyval_type_name(a));
                break;
            }
            strcpy(cfmt + flen, "ll");
            cfmt[flen + 2] = conv == 'i' || conv == 'u' ? 'd' : conv;
            cfmt[flen + 3] = '\0';
            xend_buf_printf(&b, cfmt, iv);
        }
    }
    if (rc == 0 && next < argc)
        rc = lex_err(&ev->lx, "not all arguments converted during string formatting");
    if (rc < 0) {
        xend_buf_free(&b);
        return rc;
    }
    out->type = XEND_PY_STR;
    out->s = b.data != NULL ? xend_buf_steal(&b) : xend_xstrdup("");
    return 0;
}

static bool is_seq(const struct xend_pyval *v)
{
    return v->type == XEND_PY_STR || v->type == XEND_PY_LIST || v->type == XEND_PY_TUPLE;
}

static bool is_intlike(const struct xend_pyval *v)
{
    return v->type == XEND_PY_INT || v->type == XEND_PY_BOOL;
}

static void seq_concat(struct xend_pyval *a, struct xend_pyval *b)
{
    for (size_t i = 0; i < b->n; i++)
        seq_push(a, &b->items[i]);
    xend_pyval_free(b);
}

/* a = a OP b; b is consumed either way. */
static int binop(struct eval *ev, const char *op, struct xend_pyval *a, struct xend_pyval *b)
{
    int rc = 0;
    if (is_number(a) && is_number(b)) {
        bool fl = a->type == XEND_PY_FLOAT || b->type == XEND_PY_FLOAT;
        double x = as_double(a), y = as_double(b);
        long long i = a->i, j = b->i;
        if ((op[0] == '/' || op[0] == '%') && (fl ? y == 0.0 : j == 0))
            rc = lex_err(&ev->lx, "division by zero");
        else if (fl && op[0] == '+')
            a->f = x + y;
        else if (fl && op[0] == '-')
            a->f = x - y;
        else if (fl && op[0] == '*')
            a->f = x * y;
        else if (fl && strcmp(op, "//") == 0)
            a->f = floor(x / y);
        else if (fl && op[0] == '/')
            a->f = x / y;
        else if (fl)
            a->f = x - y * floor(x / y);
        else if ((op[0] == '+' && __builtin_add_overflow(i, j, &a->i)) ||
                 (op[0] == '-' && __builtin_sub_overflow(i, j, &a->i)) ||
                 (op[0] == '*' && __builtin_mul_overflow(i, j, &a->i)))
            /* NOLINTNEXTLINE(bugprone-branch-clone): the same error as LLONG_MIN / -1's below */
            rc = lex_err(&ev->lx, "integer overflow");
        else if (op[0] == '+' || op[0] == '-' || op[0] == '*')
            ; /* computed by the overflow check */
        else if (i == LLONG_MIN && j == -1)
            rc = lex_err(&ev->lx, "integer overflow");
        else if (op[0] == '/') /* python 2: integer division floors */
            a->i = i / j - ((i % j != 0) && ((i < 0) != (j < 0)));
        else
            a->i = ((i % j) + j) % j;
        if (rc == 0)
            a->type = fl ? XEND_PY_FLOAT : XEND_PY_INT;
    } else if (op[0] == '+' && a->type == XEND_PY_STR && b->type == XEND_PY_STR) {
        char *s = xend_xasprintf("%s%s", a->s, b->s);
        free(a->s);
        a->s = s;
    } else if (op[0] == '+' && a->type == b->type &&
               (a->type == XEND_PY_LIST || a->type == XEND_PY_TUPLE)) {
        seq_concat(a, b);
    } else if (op[0] == '%' && op[1] == '\0' && a->type == XEND_PY_STR) {
        struct xend_pyval r = {0};
        rc = format_string(ev, a->s, b, &r);
        if (rc == 0) {
            xend_pyval_free(a);
            *a = r;
        }
    } else if (op[0] == '*' && op[1] == '\0' &&
               ((is_seq(a) && is_intlike(b)) || (is_seq(b) && is_intlike(a)))) {
        if (is_intlike(a)) {
            struct xend_pyval t = *a;
            *a = *b;
            *b = t;
        }
        long long times = b->i < 0 ? 0 : b->i;
        size_t unit = a->type == XEND_PY_STR ? strlen(a->s) : a->n * sizeof(struct xend_pyval);
        if (times > 4096 || (unit && (unsigned long long)times > PY_MAX_REPEAT_BYTES / unit)) {
            xend_pyval_free(b);
            return lex_err(&ev->lx, "repetition too large");
        }
        struct xend_pyval r = {.type = a->type};
        if (a->type == XEND_PY_STR) {
            struct xend_buf sb = XEND_BUF_INIT;
            for (long long k = 0; k < times; k++)
                xend_buf_puts(&sb, a->s);
            r.s = sb.data != NULL ? xend_buf_steal(&sb) : xend_xstrdup("");
        } else {
            for (long long k = 0; k < times; k++) {
                for (size_t m = 0; m < a->n; m++) {
                    struct xend_pyval c;
                    xend_pyval_copy(&c, &a->items[m]);
                    seq_push(&r, &c);
                }
            }
        }
        xend_pyval_free(a);
        *a = r;
    } else {
        rc = type_error(ev, op, a, b);
    }
    xend_pyval_free(b);
    return rc;
}

/* Items up to `close` after an opening bracket; *trailing_comma tells (x) from (x,). */
static int parse_items(struct eval *ev, const char *close, struct xend_pyval *seq, bool *comma)
{
    *comma = false;
    while (!is_op(&ev->lx, close)) {
        struct xend_pyval item = {0};
        int rc = parse_expr(ev, &item);
        if (rc < 0)
            return rc;
        seq_push(seq, &item);
        *comma = false;
        if (is_op(&ev->lx, ",")) {
            *comma = true;
            if ((rc = lex_next(&ev->lx)) < 0)
                return rc;
        } else if (!is_op(&ev->lx, close)) {
            return unexpected(&ev->lx);
        }
    }
    return lex_next(&ev->lx);
}

static int parse_atom(struct eval *ev, struct xend_pyval *out)
{
    struct lexer *lx = &ev->lx;
    int rc;
    memset(out, 0, sizeof(*out));
    switch (lx->t) {
    case T_INT:
        out->type = XEND_PY_INT;
        out->i = lx->ival;
        return lex_next(lx);
    case T_FLOAT:
        out->type = XEND_PY_FLOAT;
        out->f = lx->fval;
        return lex_next(lx);
    case T_STR: {
        /* adjacent literals concatenate, as in python */
        struct xend_buf s = XEND_BUF_INIT;
        xend_buf_puts(&s, "");
        while (lx->t == T_STR) {
            xend_buf_append(&s, lx->text.data, lx->text.len);
            if ((rc = lex_next(lx)) < 0) {
                xend_buf_free(&s);
                return rc;
            }
        }
        out->type = XEND_PY_STR;
        out->s = xend_buf_steal(&s);
        return 0;
    }
    case T_NAME: {
        char *name = xend_xstrdup(xend_buf_str(&lx->text));
        int line = lx->tline;
        if ((rc = lex_next(lx)) < 0) {
            free(name);
            return rc;
        }
        if (is_op(lx, "(") || is_op(lx, ".")) {
            lx->tline = line;
            rc = lex_err(lx, "function calls are not supported (%s)", name);
        } else if (strcmp(name, "None") == 0) {
            out->type = XEND_PY_NONE;
        } else if (strcmp(name, "True") == 0 || strcmp(name, "False") == 0) {
            out->type = XEND_PY_BOOL;
            out->i = name[0] == 'T';
        } else {
            struct xend_pyvar *v = vars_find(ev->vars, name);
            if (v == NULL) {
                lx->tline = line;
                rc = lex_err(lx, "name '%s' is not defined", name);
            } else {
                v->read = true;
                xend_pyval_copy(out, &v->val);
            }
        }
        free(name);
        return rc;
    }
    case T_OP:
        if (is_op(lx, "[")) {
            bool comma;
            out->type = XEND_PY_LIST;
            if ((rc = lex_next(lx)) < 0)
                return rc;
            return parse_items(ev, "]", out, &comma);
        }
        if (is_op(lx, "(")) {
            bool comma;
            struct xend_pyval seq = {.type = XEND_PY_TUPLE};
            if ((rc = lex_next(lx)) < 0 || (rc = parse_items(ev, ")", &seq, &comma)) < 0) {
                xend_pyval_free(&seq);
                return rc;
            }
            if (seq.n == 1 && !comma) {
                *out = seq.items[0];
                free(seq.items);
            } else {
                *out = seq;
            }
            return 0;
        }
        if (is_op(lx, "{"))
            return lex_err(lx, "dictionaries are not supported");
        return unexpected(lx);
    default:
        return unexpected(lx);
    }
}

static int parse_unary_nested(struct eval *ev, struct xend_pyval *out);

static int parse_unary(struct eval *ev, struct xend_pyval *out)
{
    if (ev->nest >= PY_MAX_NEST)
        return lex_err(&ev->lx, "expression nested too deeply");
    ev->nest++;
    int rc = parse_unary_nested(ev, out);
    ev->nest--;
    return rc;
}

static int parse_unary_nested(struct eval *ev, struct xend_pyval *out)
{
    struct lexer *lx = &ev->lx;
    if (is_op(lx, "-") || is_op(lx, "+")) {
        bool neg = lx->op[0] == '-';
        int rc = lex_next(lx);
        if (rc < 0 || (rc = parse_unary(ev, out)) < 0)
            return rc;
        if (!is_number(out)) {
            rc = lex_err(lx, "bad operand type for unary %c: '%s'", neg ? '-' : '+',
                         xend_pyval_type_name(out));
            xend_pyval_free(out);
            return rc;
        }
        if (out->type == XEND_PY_BOOL)
            out->type = XEND_PY_INT;
        if (neg) {
            if (out->type == XEND_PY_INT && out->i == LLONG_MIN) {
                xend_pyval_free(out);
                return lex_err(lx, "integer overflow");
            }
            out->i = -out->i;
            out->f = -out->f;
        }
        return 0;
    }
    int rc = parse_atom(ev, out);
    if (rc == 0 && is_op(lx, "[")) {
        xend_pyval_free(out);
        return lex_err(lx, "indexing is not supported");
    }
    return rc;
}

static int parse_binary(struct eval *ev, struct xend_pyval *out, int level)
{
    static const char *const ops[2][4] = {{"+", "-", NULL}, {"*", "/", "//", "%"}};
    int rc = level == 0 ? parse_binary(ev, out, 1) : parse_unary(ev, out);
    while (rc == 0 && ev->lx.t == T_OP) {
        const char *op = NULL;
        for (int k = 0; k < 4 && ops[level][k] != NULL; k++)
            if (strcmp(ev->lx.op, ops[level][k]) == 0)
                op = ops[level][k];
        if (op == NULL)
            break;
        struct xend_pyval rhs = {0};
        if ((rc = lex_next(&ev->lx)) < 0 ||
            (rc = level == 0 ? parse_binary(ev, &rhs, 1) : parse_unary(ev, &rhs)) < 0) {
            xend_pyval_free(&rhs);
            break;
        }
        rc = binop(ev, op, out, &rhs);
    }
    if (rc < 0)
        xend_pyval_free(out);
    return rc;
}

/* expr, or a bare tuple "a, b" as python allows on the right of '='. */
static int parse_expr(struct eval *ev, struct xend_pyval *out)
{
    return parse_binary(ev, out, 0);
}

static int parse_rhs(struct eval *ev, struct xend_pyval *out)
{
    int rc = parse_expr(ev, out);
    if (rc < 0 || !is_op(&ev->lx, ","))
        return rc;
    struct xend_pyval seq = {.type = XEND_PY_TUPLE};
    seq_push(&seq, out);
    while (rc == 0 && is_op(&ev->lx, ",")) {
        if ((rc = lex_next(&ev->lx)) < 0)
            break;
        if (ev->lx.t == T_NEWLINE || ev->lx.t == T_EOF || is_op(&ev->lx, ";"))
            break;
        struct xend_pyval item = {0};
        if ((rc = parse_expr(ev, &item)) == 0)
            seq_push(&seq, &item);
    }
    if (rc < 0)
        xend_pyval_free(&seq);
    else
        *out = seq;
    return rc;
}

static int skip_statement(struct eval *ev)
{
    int rc = 0;
    while (rc == 0 && ev->lx.t != T_NEWLINE && ev->lx.t != T_EOF && !is_op(&ev->lx, ";"))
        rc = lex_next(&ev->lx);
    return rc;
}

static int parse_simple(struct eval *ev)
{
    struct lexer *lx = &ev->lx;
    if (lx->t != T_NAME)
        return unexpected(lx);
    if (is_name(lx, "import") || is_name(lx, "from")) /* the 2.0 script imported modules */
        return skip_statement(ev);
    if (is_name(lx, "pass"))
        return lex_next(lx);
    static const char *const keywords[] = {"if",   "for",    "while",  "def",  "class",
                                           "try",  "with",   "print",  "del",  "return",
                                           "exec", "global", "lambda", "else", "elif"};
    for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
        if (is_name(lx, keywords[i]))
            return lex_err(lx, "'%s' statements are not supported", keywords[i]);
    char *name = xend_xstrdup(xend_buf_str(&lx->text));
    int line = lx->tline;
    int rc = lex_next(lx);
    bool augmented = is_op(lx, "+=") || is_op(lx, "-=");
    char op[2] = {lx->op[0], '\0'};
    if (rc == 0 && !is_op(lx, "=") && !augmented) {
        if (is_op(lx, "(") || is_op(lx, "."))
            rc = lex_err(lx, "function calls are not supported (%s)", name);
        else
            rc = unexpected(lx);
    }
    struct xend_pyval v = {0};
    if (rc == 0 && (rc = lex_next(lx)) == 0)
        rc = parse_rhs(ev, &v);
    if (rc == 0 && augmented) {
        const struct xend_pyvar *old = vars_find(ev->vars, name);
        if (old == NULL) {
            lx->tline = line;
            rc = lex_err(lx, "name '%s' is not defined", name);
            xend_pyval_free(&v);
        } else {
            struct xend_pyval acc;
            xend_pyval_copy(&acc, &old->val);
            rc = binop(ev, op, &acc, &v);
            v = acc;
            if (rc < 0)
                xend_pyval_free(&v);
        }
    }
    if (rc == 0) {
        struct xend_pyvar *var = vars_add(ev->vars, name);
        /* VAR=VAL on the command line wins over the file, as with the 2.0 xm. */
        if (var->cmdline) {
            xend_pyval_free(&v);
        } else {
            xend_pyval_free(&var->val);
            var->val = v;
            var->line = line;
        }
    }
    free(name);
    return rc;
}

int xend_pyconf_parse(const char *text, size_t len, const char *filename, struct xend_pyvars *vars,
                      struct xend_err *err)
{
    return xend_pyconf_read(text, len, filename, vars, NULL, err);
}

int xend_pyconf_read(const char *text, size_t len, const char *filename, struct xend_pyvars *vars,
                     int *err_line, struct xend_err *err)
{
    struct eval ev;
    memset(&ev, 0, sizeof(ev));
    ev.lx.p = text;
    ev.lx.end = text + len;
    ev.lx.file = filename;
    ev.lx.line = 1;
    ev.lx.line_start = true;
    ev.lx.err = err;
    ev.lx.err_line = err_line;
    ev.vars = vars;
    int rc = lex_next(&ev.lx);
    while (rc == 0 && ev.lx.t != T_EOF) {
        if (ev.lx.t == T_NEWLINE || is_op(&ev.lx, ";")) {
            rc = lex_next(&ev.lx);
            continue;
        }
        rc = parse_simple(&ev);
        if (rc == 0 && ev.lx.t != T_NEWLINE && ev.lx.t != T_EOF && !is_op(&ev.lx, ";"))
            rc = unexpected(&ev.lx);
    }
    xend_buf_free(&ev.lx.text);
    return rc;
}
