/*
 * The dry run of a create (core/create_check.c): every problem of a config, SXP or
 * xm-style Python, with the line it is on, the create path's own checks, and nothing left
 * behind. No backend and no device class here: the core's checks alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <xend/http.h>

#include "create_check.h"
#include "domain_table.h"
#include "lifecycle.h"

static char kernel[] = "/tmp/test-create-check-XXXXXX";

static size_t domains(void)
{
    struct xend_domain **all;
    size_t n = xend_domain_all(&all);
    free(all);
    return n;
}

/* The problem on `line` whose text contains `want`, or a failure. */
static void expect_problem(const struct xend_config_problems *p, unsigned line, const char *want)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i].line == line && strstr(p->v[i].text, want) != NULL)
            return;
    char *all = xend_config_problems_text(p);
    fail_msg("no problem \"%s\" on line %u in:\n%s", want, line, all);
    free(all);
}

static int check(const char *text, int role, struct xend_sxp **config,
                 struct xend_config_problems *p)
{
    return xend_create_check(text, strlen(text), role, config, p);
}

static void a_good_sxp_config_passes_and_leaves_no_domain(void **state)
{
    (void)state;
    char text[512];
    snprintf(text, sizeof(text), "(vm (name vm1) (memory 64) (image (linux (kernel %s))))", kernel);
    struct xend_sxp *config = NULL;
    struct xend_config_problems p = {0};
    assert_int_equal(check(text, XEND_ROLE_OPERATOR, &config, &p), 0);
    assert_int_equal(p.n, 0);
    assert_non_null(config);
    assert_string_equal(xend_sxp_child_value(config, "name", ""), "vm1");
    assert_int_equal(domains(), 0);
    xend_sxp_free(config);
    xend_config_problems_free(&p);
}

static void every_problem_of_an_sxp_config_is_listed_with_its_line(void **state)
{
    (void)state;
    const char *text = "# a comment first\n"
                       "(vm\n"
                       "  (name 9vm)\n"
                       "  (memory -5)\n"
                       "  (restart sometimes)\n"
                       "  (image (linux (kernel /nonexistent/vmlinuz)))\n"
                       "  (console 70000)\n"
                       "  (device (vbd (uname file:/x) (dev sda1) (mode w))))\n";
    struct xend_sxp *config = NULL;
    struct xend_config_problems p = {0};
    assert_int_equal(check(text, XEND_ROLE_ADMIN, &config, &p), -XEND_EINVAL);
    assert_null(config);
    expect_problem(&p, 3, "invalid vm name: 9vm");
    expect_problem(&p, 4, "invalid memory: -5");
    expect_problem(&p, 5, "invalid restart mode: sometimes");
    expect_problem(&p, 6, "Kernel image does not exist: /nonexistent/vmlinuz");
    expect_problem(&p, 7, "invalid console port: 70000");
    expect_problem(&p, 8, "invalid device type: vbd");
    assert_int_equal(p.n, 6);
    assert_int_equal(domains(), 0);
    xend_config_problems_free(&p);
}

static void a_python_config_gives_the_lines_of_its_variables(void **state)
{
    (void)state;
    char text[512];
    snprintf(text, sizeof(text),
             "# vm1\n"
             "name = 'vm1'\n"
             "memroy = 64\n"
             "kernel = '%s'\n"
             "memory = 0\n"
             "console = 'x'\n",
             kernel);
    struct xend_sxp *config = NULL;
    struct xend_config_problems p = {0};
    assert_int_equal(check(text, XEND_ROLE_OPERATOR, &config, &p), -XEND_EINVAL);
    expect_problem(&p, 3, "unknown variable 'memroy'; did you mean 'memory'?");
    expect_problem(&p, 6, "console: expected an integer");
    assert_int_equal(p.n, 2); /* console stops the head: memory is not reached */
    xend_config_problems_free(&p);

    /* without the head's problem, memory's is found, on its line */
    snprintf(text, sizeof(text), "name = 'vm1'\nkernel = '%s'\nmemory = 0\nnics = 0\n", kernel);
    assert_int_equal(check(text, XEND_ROLE_OPERATOR, &config, &p), -XEND_EINVAL);
    expect_problem(&p, 3, "invalid memory: 0");
    assert_int_equal(p.n, 1);
    xend_config_problems_free(&p);
}

static void a_python_syntax_error_names_its_line(void **state)
{
    (void)state;
    struct xend_sxp *config = NULL;
    struct xend_config_problems p = {0};
    assert_int_equal(
        check("name = 'vm1'\n\nkernel = open('/etc/passwd')\n", XEND_ROLE_ADMIN, &config, &p),
        -XEND_EINVAL);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.v[0].line, 3);
    assert_null(strstr(p.v[0].text, "config:")); /* the line is apart, not in the text */
    xend_config_problems_free(&p);
}

static void a_relative_kernel_means_nothing_on_the_server(void **state)
{
    (void)state;
    struct xend_sxp *config = NULL;
    struct xend_config_problems p = {0};
    assert_int_equal(check("name = 'vm1'\nkernel = 'vmlinuz'\n", XEND_ROLE_ADMIN, &config, &p),
                     -XEND_EINVAL);
    expect_problem(&p, 2, "kernel: vmlinuz is a relative path");
    xend_config_problems_free(&p);
}

static void a_name_in_use_is_a_problem_and_the_domain_stays(void **state)
{
    (void)state;
    struct xend_domain *dom = xend_domain_new("taken");
    char text[512];
    snprintf(text, sizeof(text), "(vm\n (name taken)\n (memory 64)\n (image (linux (kernel %s))))",
             kernel);
    struct xend_sxp *config = NULL;
    struct xend_config_problems p = {0};
    assert_int_equal(check(text, XEND_ROLE_OPERATOR, &config, &p), -XEND_EINVAL);
    expect_problem(&p, 2, "vm name clash: taken");
    assert_int_equal(p.n, 1);
    assert_int_equal(domains(), 1);
    assert_ptr_equal(xend_domain_by_name("taken"), dom);
    xend_config_problems_free(&p);
    xend_domain_free(dom);
}

static void a_viewer_may_not_even_check(void **state)
{
    (void)state;
    struct xend_sxp *config = NULL;
    struct xend_config_problems p = {0};
    assert_int_equal(check("(vm (name vm1))", XEND_ROLE_VIEWER, &config, &p), -XEND_EPERM);
    assert_int_equal(p.n, 1);
    assert_non_null(strstr(p.v[0].text, "Permission denied: role viewer"));
    xend_config_problems_free(&p);
}

static void an_sxp_syntax_error_names_its_line(void **state)
{
    (void)state;
    struct xend_sxp *config = NULL;
    struct xend_config_problems p = {0};
    assert_int_equal(
        check("(vm\n (name vm1)\n (memory 32))\n(extra)\n", XEND_ROLE_ADMIN, &config, &p),
        -XEND_EINVAL);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.v[0].line, 4);
    assert_string_equal(p.v[0].text, "Too many sxprs");
    xend_config_problems_free(&p);
}

static void reading_only_takes_either_language(void **state)
{
    (void)state;
    assert_true(xend_create_text_is_sxp("  # c\n(vm)", 11));
    assert_false(xend_create_text_is_sxp("# (vm)\nname = 'x'", 18));
    struct xend_sxp *config = NULL;
    struct xend_config_problems p = {0};
    const char *py = "name = 'vm%d' % 3\nmemory = 32\nkernel = '/boot/k'\n";
    assert_int_equal(xend_create_read(py, strlen(py), &config, &p), 0);
    assert_string_equal(xend_sxp_child_value(config, "name", ""), "vm3");
    assert_string_equal(xend_sxp_child_value(config, "memory", ""), "32");
    xend_sxp_free(config);
    xend_config_problems_free(&p);
    /* a typo is refused by a create too: its value would be silently ignored */
    py = "name = 'vm1'\nkernel = '/boot/k'\nmemroy = 32\n";
    assert_int_equal(xend_create_read(py, strlen(py), &config, &p), -XEND_EINVAL);
    assert_null(config);
    expect_problem(&p, 3, "unknown variable 'memroy'");
    xend_config_problems_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_good_sxp_config_passes_and_leaves_no_domain),
        cmocka_unit_test(every_problem_of_an_sxp_config_is_listed_with_its_line),
        cmocka_unit_test(a_python_config_gives_the_lines_of_its_variables),
        cmocka_unit_test(a_python_syntax_error_names_its_line),
        cmocka_unit_test(a_relative_kernel_means_nothing_on_the_server),
        cmocka_unit_test(a_name_in_use_is_a_problem_and_the_domain_stays),
        cmocka_unit_test(a_viewer_may_not_even_check),
        cmocka_unit_test(an_sxp_syntax_error_names_its_line),
        cmocka_unit_test(reading_only_takes_either_language),
    };
    int fd = mkstemp(kernel);
    if (fd < 0 || xend_domain_table_init() != 0)
        return 1;
    close(fd);
    struct xend_lifecycle_options lco = {.max_name = 15};
    struct xend_err err = {0};
    xend_lifecycle_init(NULL, &lco, &err);
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    xend_domain_table_free();
    unlink(kernel);
    return failed;
}
