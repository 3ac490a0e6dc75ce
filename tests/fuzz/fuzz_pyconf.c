/*
 * Fuzz target: xm's reader of python-style domain config files (lib/pyconf.c), with the
 * variables `xm create` defines on the command line already set, then str() and repr() of
 * every resulting variable (what xm create turns into the (vm ...) SXP).
 *
 * Contract checked: 0, or -EINVAL with a message "FILE:LINE: ..." naming the file; no
 * code runs; values it produced print and copy.
 */
#include <string.h>

#include "fuzz.h"
#include "pyconf.h"

const char xend_fuzz_name[] = "pyconf";
const char *const xend_fuzz_dict[] = {
    "=",
    "+=",
    " + ",
    " * ",
    " % ",
    " // ",
    " / ",
    " - ",
    "'",
    "\"",
    "'''",
    "\"\"\"",
    "r'",
    "\\",
    "\\\n",
    "#",
    "\n",
    "(",
    ")",
    "[",
    "]",
    ",",
    "None",
    "True",
    "False",
    "import os",
    "from x import y",
    "pass",
    "vmid",
    "disk",
    "%d",
    "%s",
    "%(a)s",
    "%-5.2f",
    "0x",
    "1e308",
    "9223372036854775807",
    "-9223372036854775808",
    "def",
    "if",
    "kernel = ",
    "name = ",
    NULL,
};

int xend_fuzz_target(const uint8_t *data, size_t size)
{
    struct xend_pyvars vars = XEND_PYVARS_INIT;
    xend_pyvars_set_cmdline(&vars, "vmid", "1", false);
    xend_pyvars_set_cmdline(&vars, "disk", "phy:hda1,hda1,w", true);
    xend_pyvars_set_cmdline_int(&vars, "n", 3);

    /* xm create (the only caller) passes a NUL-terminated buffer; the lexer's strtoll and
     * strtod rely on that and read past len otherwise (reported to the owner of lib/pyconf.c).
     * -DFUZZ_PYCONF_EXACT passes exactly len bytes, for when that is fixed. */
#ifdef FUZZ_PYCONF_EXACT
    const char *text = (const char *)data;
#else
    char *text = malloc(size + 1);
    if (size > 0)
        memcpy(text, data, size);
    text[size] = '\0';
#endif
    struct xend_err err = {0};
    int rc = xend_pyconf_parse(text, size, "fuzz.cfg", &vars, &err);
    if (rc != 0) {
        FUZZ_CHECK(rc == -XEND_EINVAL);
        FUZZ_CHECK(strncmp(err.msg, "fuzz.cfg:", 9) == 0);
    }
    struct xend_buf out = XEND_BUF_INIT;
    for (size_t i = 0; i < vars.n; i++) {
        const struct xend_pyvar *v = &vars.v[i];
        FUZZ_CHECK(v->name != NULL && xend_pyvars_get(&vars, v->name) != NULL);
        xend_pyval_str(&v->val, false, &out);
        xend_pyval_str(&v->val, true, &out);
        (void)xend_pyval_type_name(&v->val);
        struct xend_pyval c;
        xend_pyval_copy(&c, &v->val);
        xend_pyval_free(&c);
        xend_buf_reset(&out);
    }
    xend_buf_free(&out);
    xend_pyvars_free(&vars);
#ifndef FUZZ_PYCONF_EXACT
    free(text);
#endif
    return 0;
}
