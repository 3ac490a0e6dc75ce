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
#ifndef XEND_PYCONF_H
#define XEND_PYCONF_H

#include <stdbool.h>
#include <stddef.h>

#include <xend/abi.h>

#include "buf.h"

enum xend_pytype {
    XEND_PY_NONE,
    XEND_PY_BOOL,
    XEND_PY_INT,
    XEND_PY_FLOAT,
    XEND_PY_STR,
    XEND_PY_LIST,
    XEND_PY_TUPLE,
};

struct xend_pyval {
    enum xend_pytype type;
    long long i;              /* INT, BOOL */
    double f;                 /* FLOAT */
    char *s;                  /* STR: owned, NUL-terminated */
    struct xend_pyval *items; /* LIST, TUPLE: owned array of n */
    size_t n;
};

struct xend_pyvar {
    char *name; /* owned */
    struct xend_pyval val;
    int line;     /* line of the last assignment in the file; 0 when set on the command line */
    bool cmdline; /* set by VAR=VAL: assignments in the file do not change it */
    bool read;    /* an expression of the file used its value (a helper, as vmid often is) */
};

struct xend_pyvars {
    struct xend_pyvar *v; /* owned */
    size_t n, cap;
};

#define XEND_PYVARS_INIT                                                                           \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void xend_pyvars_free(struct xend_pyvars *vars);

/* The variable `name`, borrowed, or NULL. */
const struct xend_pyvar *xend_pyvars_get(const struct xend_pyvars *vars, const char *name);

/*
 * Define `name` from the command line with a string value. With `append` the value is
 * appended to a list (creating it), as repeated list options (disk=..., vif=...) do.
 */
void xend_pyvars_set_cmdline(struct xend_pyvars *vars, const char *name, const char *value,
                             bool append);

/* Define `name` from the command line as an integer (a variable xm create does not know,
 * such as vmid=3, whose text is a number: the file can compute with it). */
void xend_pyvars_set_cmdline_int(struct xend_pyvars *vars, const char *name, long long value);

/*
 * Run the config text of `filename` (used in messages) with vars as its environment;
 * assignments update vars. Returns 0 or -XEND_EINVAL with err = "FILE:LINE: problem".
 */
int xend_pyconf_parse(const char *text, size_t len, const char *filename, struct xend_pyvars *vars,
                      struct xend_err *err);

/* The same, the line of an error in *err_line and its message without "FILE:LINE: " (for
 * a caller that lists problems by line: xend reading an uploaded config). */
int xend_pyconf_read(const char *text, size_t len, const char *filename, struct xend_pyvars *vars,
                     int *err_line, struct xend_err *err);

/* python's str() of a value (repr() with `repr` set), appended to out. */
void xend_pyval_str(const struct xend_pyval *v, bool repr, struct xend_buf *out);

/* python's type name of a value ("str", "int", "list"...). */
const char *xend_pyval_type_name(const struct xend_pyval *v);

void xend_pyval_free(struct xend_pyval *v);
void xend_pyval_copy(struct xend_pyval *dst, const struct xend_pyval *src);

#endif
