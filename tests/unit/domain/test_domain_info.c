/*
 * A domain's info as plugins describe it (core/domain.c): tree describers (ABI 1.0) and
 * text describers (ABI 1.1) print where the ABI says, in the order they were added, and go
 * with the plugin that added them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "domain_table.h"
#include "sxp.h"

/* Describers are told apart by owner only; these stand in for two plugins. */
static int plugin_a, plugin_b;
#define PLUGIN_A ((struct xend_plugin *)&plugin_a)
#define PLUGIN_B ((struct xend_plugin *)&plugin_b)

static void tree_describer(struct xend_domain *dom, struct xend_sxp *info, void *arg)
{
    (void)dom;
    xend_sxp_add_kv(info, "tree", arg);
}

static void text_describer(struct xend_domain *dom, xend_describe_put_fn *put, void *put_ctx,
                           void *arg)
{
    (void)dom;
    char text[64];
    int n = snprintf(text, sizeof(text), " (text %s) (quoted 'a b')", (const char *)arg);
    put(put_ctx, text, (size_t)n);
}

static char *info_of(struct xend_domain *dom)
{
    struct xend_buf b = XEND_BUF_INIT;
    xend_domain_info_print(dom, &b);
    return xend_buf_steal(&b);
}

static void describers_print_in_the_order_they_were_added_whatever_their_kind(void **state)
{
    (void)state;
    const struct xend_host_domain *d = xend_domain_host_table();
    assert_int_equal(d->describe_add(PLUGIN_A, tree_describer, "one"), 0);
    assert_int_equal(d->describe_print_add(PLUGIN_B, text_describer, "two"), 0);
    assert_int_equal(d->describe_add(PLUGIN_B, tree_describer, "three"), 0);
    assert_int_equal(d->describe_print_add(PLUGIN_B, NULL, NULL), -XEND_EINVAL);
    struct xend_domain *dom = xend_domain_new("vm1");
    char *info = info_of(dom);
    const char *want = "(tree one) (text two) (quoted 'a b') (tree three)";
    if (strstr(info, want) == NULL)
        fail_msg("info lacks \"%s\": %s", want, info);
    /* and the whole is one SXP value, with the items inside (domain ...) */
    struct xend_sxp *v = NULL;
    char msg[128];
    assert_int_equal(xend_sxp_parse(info, strlen(info), NULL, &v, msg, sizeof(msg)), 0);
    assert_string_equal(xend_sxp_name(v), "domain");
    assert_string_equal(xend_sxp_child_value(v, "quoted", NULL), "a b");
    xend_sxp_free(v);
    free(info);

    /* A plugin's describers of both kinds go with it; the others stay. */
    xend_domain_remove_owner(PLUGIN_B);
    info = info_of(dom);
    assert_non_null(strstr(info, "(tree one)"));
    assert_null(strstr(info, "(text two)"));
    assert_null(strstr(info, "(tree three)"));
    free(info);
    xend_domain_free(dom);
    xend_domain_remove_owner(PLUGIN_A);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(describers_print_in_the_order_they_were_added_whatever_their_kind),
    };
    if (xend_domain_table_init() != 0)
        return 1;
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    xend_domain_table_free();
    return failed;
}
