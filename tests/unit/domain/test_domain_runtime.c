/*
 * A running instance's settings beyond its config (core/domain_runtime.c): the record says
 * the memory target and the pin in force (pincpu's, else the config's cpu), and a start
 * reading the record back restores the same fields.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "domain_table.h"
#include "domain_runtime.h"
#include "sxp.h"

static struct xend_sxp *parse(const char *text)
{
    struct xend_sxp *v = NULL;
    char msg[128];
    assert_int_equal(xend_sxp_parse(text, strlen(text), NULL, &v, msg, sizeof(msg)), 0);
    return v;
}

static void test_record_says_target_and_pin_and_load_takes_them_back(void **state)
{
    (void)state;
    assert_int_equal(xend_domain_table_init(), 0);
    struct xend_domain *dom = xend_domain_new("rt1");
    dom->config = parse("(vm (name rt1) (memory 64) (cpu 1))");
    struct xend_sxp *rec = xend_sxp_list_of("domain_record", NULL);
    xend_domain_runtime_add(dom, rec);
    long long v;
    assert_int_equal(xend_sxp_child_int(xend_sxp_child(rec, "runtime"), "cpu", &v), 0);
    assert_int_equal(v, 1); /* the config's pin, nothing set */
    assert_null(xend_sxp_child(xend_sxp_child(rec, "runtime"), "mem_target_kb"));
    xend_sxp_free(rec);

    dom->target_kb = 40 * 1024;
    dom->pin_set = true;
    dom->pin_cpu = -1; /* unpinned by pincpu: differs from the config */
    rec = xend_sxp_list_of("domain_record", NULL);
    xend_domain_runtime_add(dom, rec);
    xend_domain_runtime_reset(dom);
    assert_int_equal(dom->target_kb, 0);
    assert_false(dom->pin_set);
    xend_domain_runtime_load(dom, rec);
    assert_int_equal(dom->target_kb, 40 * 1024);
    assert_true(dom->pin_set);
    assert_int_equal(dom->pin_cpu, -1);
    xend_sxp_free(rec);
    xend_domain_free(dom);
    xend_domain_table_free();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_says_target_and_pin_and_load_takes_them_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
