/*
 * Reader of the Xen domain config file (the python script read by `xm create`): a subset of
 * python large enough for every config the 2.0 examples show. Statements are assignments
 * (`name = value`, `name += value`), `import`/`from` lines (ignored), `pass` and comments;
 * values are strings ('..', "..", triple-quoted, raw), integers, floats, None/True/False,
 * lists and tuples, names of earlier variables, and the operators + - * / // % with
 * python's meaning (including "fmt" % args). Brackets continue a line, as does a final
 * backslash.
 *
 * Never runs code: a function call, an `if` or a `def` is an error that names the file and
 * line, as is every other problem ("xmexample1:12: unterminated string").
 */
#ifndef XM_PYCONF_H
#define XM_PYCONF_H

#include <stdbool.h>
#include <stddef.h>

#include <xend/abi.h>

#include "buf.h"

enum xm_pytype {
    XM_PY_NONE,
    XM_PY_BOOL,
    XM_PY_INT,
    XM_PY_FLOAT,
    XM_PY_STR,
    XM_PY_LIST,
    XM_PY_TUPLE,
};

struct xm_pyval {
    enum xm_pytype type;
    long long i;            /* INT, BOOL */
    double f;               /* FLOAT */
    char *s;                /* STR: owned, NUL-terminated */
    struct xm_pyval *items; /* LIST, TUPLE: owned array of n */
    size_t n;
};

struct xm_pyvar {
    char *name; /* owned */
    struct xm_pyval val;
    int line;     /* line of the last assignment in the file; 0 when set on the command line */
    bool cmdline; /* set by VAR=VAL: assignments in the file do not change it */
    bool read;    /* an expression of the file used its value (a helper, as vmid often is) */
};

struct xm_pyvars {
    struct xm_pyvar *v; /* owned */
    size_t n, cap;
};

#define XM_PYVARS_INIT                                                                             \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void xm_pyvars_free(struct xm_pyvars *vars);

/* The variable `name`, borrowed, or NULL. */
const struct xm_pyvar *xm_pyvars_get(const struct xm_pyvars *vars, const char *name);

/*
 * Define `name` from the command line with a string value. With `append` the value is
 * appended to a list (creating it), as repeated list options (disk=..., vif=...) do.
 */
void xm_pyvars_set_cmdline(struct xm_pyvars *vars, const char *name, const char *value,
                           bool append);

/* Define `name` from the command line as an integer (a variable xm create does not know,
 * such as vmid=3, whose text is a number: the file can compute with it). */
void xm_pyvars_set_cmdline_int(struct xm_pyvars *vars, const char *name, long long value);

/*
 * Run the config text of `filename` (used in messages) with vars as its environment;
 * assignments update vars. Returns 0 or -XEND_EINVAL with err = "FILE:LINE: problem".
 */
int xm_pyconf_parse(const char *text, size_t len, const char *filename, struct xm_pyvars *vars,
                    struct xend_err *err);

/* python's str() of a value (repr() with `repr` set), appended to out. */
void xm_pyval_str(const struct xm_pyval *v, bool repr, struct xend_buf *out);

/* python's type name of a value ("str", "int", "list"...). */
const char *xm_pyval_type_name(const struct xm_pyval *v);

void xm_pyval_free(struct xm_pyval *v);
void xm_pyval_copy(struct xm_pyval *dst, const struct xm_pyval *src);

#endif
