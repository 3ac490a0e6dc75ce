/*
 * Unit tests of the config file reader (xm/pyconf.c): the python subset of the Xen config
 * files, and errors that name the file and the line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "pyconf.h"

static int run(const char *text, struct xend_pyvars *vars, struct xend_err *err)
{
    xend_err_clear(err);
    return xend_pyconf_parse(text, strlen(text), "cfg", vars, err);
}

static const struct xend_pyval *get(const struct xend_pyvars *vars, const char *name)
{
    const struct xend_pyvar *v = xend_pyvars_get(vars, name);
    assert_non_null(v);
    return &v->val;
}

static void test_strings_ints_and_lists_are_read(void **state)
{
    (void)state;
    struct xend_pyvars vars = XEND_PYVARS_INIT;
    struct xend_err err;
    const char *text = "# comment\n"
                       "kernel = \"/boot/vmlinuz\"  # trailing comment\n"
                       "memory = 64\n"
                       "name='vm1'\n"
                       "disk = [ 'phy:hda1,hda1,w',\n"
                       "         'phy:hda2,hda2,r', ]\n"
                       "weight = 1.5\n"
                       "nothing = None\n";
    assert_int_equal(run(text, &vars, &err), 0);
    assert_int_equal(get(&vars, "kernel")->type, XEND_PY_STR);
    assert_string_equal(get(&vars, "kernel")->s, "/boot/vmlinuz");
    assert_int_equal(get(&vars, "memory")->type, XEND_PY_INT);
    assert_int_equal(get(&vars, "memory")->i, 64);
    assert_string_equal(get(&vars, "name")->s, "vm1");
    const struct xend_pyval *disk = get(&vars, "disk");
    assert_int_equal(disk->type, XEND_PY_LIST);
    assert_int_equal(disk->n, 2);
    assert_string_equal(disk->items[1].s, "phy:hda2,hda2,r");
    assert_int_equal(get(&vars, "weight")->type, XEND_PY_FLOAT);
    assert_int_equal(get(&vars, "nothing")->type, XEND_PY_NONE);
    assert_int_equal(xend_pyvars_get(&vars, "disk")->line, 5);
    xend_pyvars_free(&vars);
}

static void test_expressions_follow_python(void **state)
{
    (void)state;
    struct xend_pyvars vars = XEND_PYVARS_INIT;
    struct xend_err err;
    const char *text = "vmid = 3\n"
                       "name = \"VM%d\" % vmid\n"
                       "ip = '10.0.0.%d' % (vmid + 10)\n"
                       "extra = 'a' 'b' + \"c\"\n"
                       "mem = 64 * 2 - 7 // 2\n"
                       "neg = -7 / 2\n"
                       "mod = -7 % 3\n"
                       "both = '%s-%03d' % ('x', 5)\n"
                       "vif = [ 'mac=aa:00:00:00:00:%02x' % vmid ] + ['bridge=br0']\n"
                       "esc = 'tab\\there\\x41\\\\'\n"
                       "raw = r'a\\nb'\n"
                       "long = \"\"\"multi\nline\"\"\"\n"
                       "cont = 1 + \\\n  2\n"
                       "acc = 'a'\nacc += 'b'\n";
    assert_int_equal(run(text, &vars, &err), 0);
    assert_string_equal(get(&vars, "name")->s, "VM3");
    assert_string_equal(get(&vars, "ip")->s, "10.0.0.13");
    assert_string_equal(get(&vars, "extra")->s, "abc");
    assert_int_equal(get(&vars, "mem")->i, 125);
    assert_int_equal(get(&vars, "neg")->i, -4); /* python 2 floors */
    assert_int_equal(get(&vars, "mod")->i, 2);
    assert_string_equal(get(&vars, "both")->s, "x-005");
    assert_int_equal(get(&vars, "vif")->n, 2);
    assert_string_equal(get(&vars, "vif")->items[0].s, "mac=aa:00:00:00:00:03");
    assert_string_equal(get(&vars, "esc")->s, "tab\thereA\\");
    assert_string_equal(get(&vars, "raw")->s, "a\\nb");
    assert_string_equal(get(&vars, "long")->s, "multi\nline");
    assert_int_equal(get(&vars, "cont")->i, 3);
    assert_string_equal(get(&vars, "acc")->s, "ab");
    xend_pyvars_free(&vars);
}

static void test_command_line_variables_win_over_the_file(void **state)
{
    (void)state;
    struct xend_pyvars vars = XEND_PYVARS_INIT;
    struct xend_err err;
    xend_pyvars_set_cmdline(&vars, "memory", "32", false);
    xend_pyvars_set_cmdline(&vars, "vmid", "7", false);
    xend_pyvars_set_cmdline(&vars, "disk", "phy:a,a,r", true);
    xend_pyvars_set_cmdline(&vars, "disk", "phy:b,b,r", true);
    const char *text = "memory = 64\nname = 'vm%d' % vmid\ndisk = ['phy:c,c,w']\n";
    assert_int_equal(run(text, &vars, &err), 0);
    assert_string_equal(get(&vars, "memory")->s, "32");
    assert_true(xend_pyvars_get(&vars, "memory")->cmdline);
    assert_string_equal(get(&vars, "name")->s, "vm7");
    assert_int_equal(get(&vars, "disk")->n, 2);
    assert_string_equal(get(&vars, "disk")->items[1].s, "phy:b,b,r");
    xend_pyvars_free(&vars);
}

static void test_imports_and_pass_are_ignored(void **state)
{
    (void)state;
    struct xend_pyvars vars = XEND_PYVARS_INIT;
    struct xend_err err;
    assert_int_equal(run("import os\nfrom xen.util.ip import *\npass\nx = 1; y = 2\n", &vars, &err),
                     0);
    assert_int_equal(get(&vars, "y")->i, 2);
    xend_pyvars_free(&vars);
}

static void expect_error(const char *text, const char *msg)
{
    struct xend_pyvars vars = XEND_PYVARS_INIT;
    struct xend_err err;
    assert_int_equal(run(text, &vars, &err), -XEND_EINVAL);
    assert_string_equal(err.msg, msg);
    xend_pyvars_free(&vars);
}

static void test_errors_name_file_and_line(void **state)
{
    (void)state;
    expect_error("a = 1\nkernel = \"/boot/x\n", "cfg:2: unterminated string");
    expect_error("a = 1\n\nb = undefined\n", "cfg:3: name 'undefined' is not defined");
    expect_error("x = os.path.join('a')\n", "cfg:1: function calls are not supported (os)");
    expect_error("a = 1\n  b = 2\n", "cfg:2: unexpected indent");
    expect_error("disk = [ 'a',\n  'b'\n", "cfg:3: unexpected end of file");
    expect_error("memory = \n", "cfg:1: unexpected end of line");
    expect_error("if x:\n  y = 1\n", "cfg:1: 'if' statements are not supported");
    expect_error("a = 'x' + 1\n", "cfg:1: unsupported operand type(s) for +: 'str' and 'int'");
    expect_error("a = '%d %d' % 1\n", "cfg:1: not enough arguments for format string");
    expect_error("a = 1 $ 2\n", "cfg:1: invalid character '$'");
    expect_error("a = 1 2\n", "cfg:1: syntax error");
    expect_error("a = {}\n", "cfg:1: dictionaries are not supported");
    expect_error("a = 1 / 0\n", "cfg:1: division by zero");
}

/* xend lists problems by line: the line apart, the message without "FILE:LINE: ". */
static void test_read_gives_the_line_apart(void **state)
{
    (void)state;
    const char *text = "name = 'vm1'\n# a comment\n\nmemory = [1,\n  2\n";
    struct xend_pyvars vars = XEND_PYVARS_INIT;
    struct xend_err err = {0};
    int line = 0;
    assert_int_equal(xend_pyconf_read(text, strlen(text), "cfg", &vars, &line, &err), -XEND_EINVAL);
    assert_int_equal(line, 6);
    assert_null(strstr(err.msg, "cfg:"));
    xend_pyvars_free(&vars);

    text = "a = 1\nb = c\n";
    line = 0;
    xend_err_clear(&err);
    assert_int_equal(xend_pyconf_read(text, strlen(text), "cfg", &vars, &line, &err), -XEND_EINVAL);
    assert_int_equal(line, 2);
    assert_non_null(strstr(err.msg, "c"));
    xend_pyvars_free(&vars);
}

static void test_values_print_as_python_str(void **state)
{
    (void)state;
    struct xend_pyvars vars = XEND_PYVARS_INIT;
    struct xend_err err;
    assert_int_equal(run("a = ['x', \"it's\", 3, 2.0, None, (1,)]\n", &vars, &err), 0);
    struct xend_buf b = XEND_BUF_INIT;
    xend_pyval_str(get(&vars, "a"), false, &b);
    assert_string_equal(xend_buf_str(&b), "['x', \"it's\", 3, 2.0, None, (1,)]");
    xend_buf_free(&b);
    xend_pyvars_free(&vars);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings_ints_and_lists_are_read),
        cmocka_unit_test(test_expressions_follow_python),
        cmocka_unit_test(test_command_line_variables_win_over_the_file),
        cmocka_unit_test(test_imports_and_pass_are_ignored),
        cmocka_unit_test(test_errors_name_file_and_line),
        cmocka_unit_test(test_read_gives_the_line_apart),
        cmocka_unit_test(test_values_print_as_python_str),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
