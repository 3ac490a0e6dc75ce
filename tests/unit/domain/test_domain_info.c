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

static const char *kept_word = "one";

static void kept_describer(struct xend_domain *dom, xend_describe_put_fn *put, void *put_ctx,
                           void *arg)
{
    (void)dom;
    (void)arg;
    char text[64];
    int n = snprintf(text, sizeof(text), " (kept %s)", kept_word);
    put(put_ctx, text, (size_t)n);
}

static void assert_info_has(struct xend_domain *dom, const char *want)
{
    char *info = info_of(dom);
    if (strstr(info, want) == NULL)
        fail_msg("info lacks \"%s\": %s", want, info);
    free(info);
}

static void assert_info_lacks(struct xend_domain *dom, const char *unwanted)
{
    char *info = info_of(dom);
    if (strstr(info, unwanted) != NULL)
        fail_msg("info still has \"%s\": %s", unwanted, info);
    free(info);
}

/* The info is kept between prints (a list of thousands copies it): each change shows in
 * the next print all the same. Builds with assertions also compare every kept text with a
 * fresh print. */
static void every_change_shows_in_the_next_info_though_it_is_kept(void **state)
{
    (void)state;
    const struct xend_host_domain *d = xend_domain_host_table();
    assert_int_equal(d->describe_print_kept_add(PLUGIN_A, kept_describer, NULL), 0);
    struct xend_domain *dom = xend_domain_new("vm2");
    const char *cfg = "(vm (name vm2) (memory 32))";
    char msg[128];
    assert_int_equal(xend_sxp_parse(cfg, strlen(cfg), NULL, &dom->config, msg, sizeof(msg)), 0);
    assert_info_has(dom, "(domain (id -1) (name vm2) (memory 32) (kept one)");

    kept_word = "two"; /* a kept describer's text changes when its plugin says so */
    d->describe_changed(dom);
    assert_info_has(dom, "(kept two)");

    xend_domain_set_id(dom, 7);
    assert_info_has(dom, "(domain (id 7) (name vm2)");

    dom->info_known = true; /* a refresh from the backend */
    dom->info.mem_kb = 64 * 1024;
    dom->info.maxmem_kb = 64 * 1024;
    dom->info.flags = XEND_DOMF_PAUSED;
    assert_info_has(dom, "(memory 64) (maxmem 64) (state --p--) (cpu 0) (cpu_time 0.0)");
    dom->info.flags = XEND_DOMF_RUNNING;
    dom->info.cpu = 1;
    dom->info.cpu_time_ns = 1500000000;
    assert_info_has(dom, "(state r----) (cpu 1) (cpu_time 1.5)");

    dom->start_time = 1000.5;
    dom->start_ns = 5000000000;
    struct xend_buf b = XEND_BUF_INIT;
    xend_domain_info_print_at(dom, 7500000000, &b);
    if (strstr(xend_buf_str(&b), "(up_time 2.5) (start_time 1000.5) (kept two)") == NULL)
        fail_msg("no up_time counted to the time given: %s", xend_buf_str(&b));
    xend_buf_free(&b);

    dom->restart_state = "pending";
    assert_info_has(dom, "(restart_state pending)");
    xend_domain_set_halt_reason(dom, "too soon");
    assert_info_has(dom, "(restart_refused 'too soon')");
    dom->restart_time = 2000.25;
    assert_info_has(dom, "(restart_time 2000.25)");
    dom->record_failed = true;
    assert_info_has(dom, "(store_error ");
    dom->record_failed = false;
    assert_info_lacks(dom, "(store_error ");

    xend_sxp_free(dom->config);
    cfg = "(vm (name vm2) (memory 48))";
    assert_int_equal(xend_sxp_parse(cfg, strlen(cfg), NULL, &dom->config, msg, sizeof(msg)), 0);
    xend_domain_config_changed(dom);
    assert_info_has(dom, "(config (vm (name vm2) (memory 48)))");

    /* Describers that came and went, kept or not. */
    assert_int_equal(d->describe_print_add(PLUGIN_B, text_describer, "live"), 0);
    assert_info_has(dom, "(kept two) (text live)");
    xend_domain_remove_owner(PLUGIN_B);
    assert_info_lacks(dom, "(text live)");
    xend_domain_remove_owner(PLUGIN_A);
    assert_info_lacks(dom, "(kept two)");
    xend_domain_free(dom);
}

/* The table's order, kept on every change rather than sorted per list: by id, then name. */
static void domains_stay_sorted_by_id_then_name(void **state)
{
    (void)state;
    struct xend_domain *c = xend_domain_new("c"), *a = xend_domain_new("a");
    struct xend_domain *b = xend_domain_new("b");
    xend_domain_set_id(c, 3);
    xend_domain_set_id(a, 9);
    size_t n;
    struct xend_domain *const *all = xend_domain_sorted(&n);
    assert_int_equal(n, 3);
    assert_ptr_equal(all[0], c);
    assert_ptr_equal(all[1], a);
    assert_ptr_equal(all[2], b); /* no id yet: last */
    xend_domain_set_id(a, 1);
    xend_domain_set_id(b, 3); /* same id as c: then by name */
    all = xend_domain_sorted(&n);
    assert_ptr_equal(all[0], a);
    assert_ptr_equal(all[1], b);
    assert_ptr_equal(all[2], c);
    xend_domain_free(b);
    all = xend_domain_sorted(&n);
    assert_int_equal(n, 2);
    assert_ptr_equal(all[0], a);
    assert_ptr_equal(all[1], c);
    struct xend_domain **copy;
    assert_int_equal(xend_domain_all(&copy), 2);
    assert_ptr_equal(copy[1], c);
    free(copy);
    xend_domain_free(a);
    xend_domain_free(c);
}

static void assert_sorted(struct xend_domain *const *all, size_t n)
{
    for (size_t i = 1; i < n; i++)
        assert_true(all[i - 1]->id < all[i]->id ||
                    (all[i - 1]->id == all[i]->id && strcmp(all[i - 1]->name, all[i]->name) < 0));
}

/* A start adds thousands of domains in the order of their store keys, each given its id
 * right after: the table is in order whenever it is read, between changes of every kind. */
static void many_domains_added_in_any_order_read_sorted(void **state)
{
    (void)state;
    enum { N = 300 };
    struct xend_domain *d[N];
    char name[16];
    for (unsigned i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "m%u", i);
        d[i] = xend_domain_new(name);
        xend_domain_set_id(d[i], (i * 7919u) % 1000u + 1u); /* a scattered order */
    }
    size_t n;
    struct xend_domain *const *all = xend_domain_sorted(&n);
    assert_int_equal(n, N);
    assert_sorted(all, n);
    xend_domain_set_id(d[5], 2000); /* a few out of order: placed one by one */
    xend_domain_set_id(d[6], 0);
    xend_domain_free(d[7]);
    d[7] = xend_domain_new("m7"); /* no id: last */
    struct xend_domain **copy;
    assert_int_equal(xend_domain_all(&copy), N);
    assert_sorted(copy, N);
    assert_ptr_equal(copy[0], d[6]);
    assert_ptr_equal(copy[N - 2], d[5]);
    assert_ptr_equal(copy[N - 1], d[7]);
    free(copy);
    for (unsigned i = 0; i < N; i += 2) /* removed while others wait to be merged */
        xend_domain_set_id(d[i], (i * 31u) % 500u + 3000u);
    for (unsigned i = 1; i < N; i += 4)
        xend_domain_free(d[i]);
    all = xend_domain_sorted(&n);
    assert_int_equal(n, N - N / 4);
    assert_sorted(all, n);
    for (unsigned i = 0; i < N; i++)
        if (i % 4 != 1)
            xend_domain_free(d[i]);
    assert_int_equal(xend_domain_count(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(describers_print_in_the_order_they_were_added_whatever_their_kind),
        cmocka_unit_test(every_change_shows_in_the_next_info_though_it_is_kept),
        cmocka_unit_test(domains_stay_sorted_by_id_then_name),
        cmocka_unit_test(many_domains_added_in_any_order_read_sorted),
    };
    if (xend_domain_table_init() != 0)
        return 1;
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    xend_domain_table_free();
    return failed;
}
