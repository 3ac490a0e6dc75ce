/*
 * Device change records applied to a domain record at load (core/device_journal.c): only
 * the changes newer than the record's (devices (seq N)) count, in order; a device present
 * replaces its entry in both the config and the devices list (or is appended to both), a
 * removal takes it out of both.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "device_journal.h"
#include "sxp.h"

static struct xend_sxp *parse(const char *text)
{
    struct xend_sxp *v = NULL;
    char msg[128];
    assert_int_equal(xend_sxp_parse(text, strlen(text), NULL, &v, msg, sizeof(msg)), 0);
    return v;
}

#define DEV(I, MAC) "(device (class vif) (index " #I ") (attached 1) (config (vif (mac " MAC "))))"

static void expect_text(const struct xend_sxp *v, const char *want)
{
    char *got = xend_sxp_print(v);
    assert_string_equal(got, want);
    free(got);
}

static void test_newer_changes_apply_in_order_to_both_lists(void **state)
{
    (void)state;
    struct xend_sxp *rec = parse("(domain_record (uuid u1) (config (vm (name d) (device (vif "
                                 "(mac m0))) (memory 16) (device (vif (mac m1))))) (devices "
                                 "(seq 2) " DEV(0, "m0") " " DEV(1, "m1") "))");
    struct xend_sxp *ch[] = {
        parse("(device_change (domain u1) (seq 1) (class vif) (index 5) " DEV(5, "old") ")"),
        parse("(device_change (domain u1) (seq 3) (class vif) (index 0))"),
        parse("(device_change (domain u1) (seq 4) (class vif) (index 2) " DEV(2, "m2") ")"),
        parse("(device_change (domain u1) (seq 5) (class vif) (index 1) " DEV(1, "m1b") ")"),
    };
    struct xend_sxp *out = xend_device_journal_apply(rec, (const struct xend_sxp *const *)ch, 4);
    expect_text(xend_sxp_child(out, "config"),
                "(config (vm (name d) (memory 16) (device (vif (mac m1b))) (device (vif (mac "
                "m2)))))");
    expect_text(xend_sxp_child(out, "devices"),
                "(devices (seq 5) " DEV(1, "m1b") " " DEV(2, "m2") ")");
    xend_sxp_free(out);
    /* All folded in already: nothing changes but what was there. */
    struct xend_sxp *again = xend_device_journal_apply(rec, (const struct xend_sxp *const *)ch, 1);
    assert_true(xend_sxp_equal(again, rec));
    xend_sxp_free(again);
    for (size_t i = 0; i < 4; i++)
        xend_sxp_free(ch[i]);
    xend_sxp_free(rec);
}

static void test_a_record_without_seq_or_devices_takes_changes(void **state)
{
    (void)state;
    struct xend_sxp *rec = parse("(domain_record (uuid u1) (config (vm (name d))))");
    struct xend_sxp *ch =
        parse("(device_change (domain u1) (seq 1) (class vif) (index 0) " DEV(0, "m0") ")");
    struct xend_sxp *out = xend_device_journal_apply(rec, (const struct xend_sxp *const *)&ch, 1);
    expect_text(out, "(domain_record (uuid u1) (config (vm (name d) (device (vif (mac m0))))) "
                     "(devices " DEV(0, "m0") " (seq 1)))");
    xend_sxp_free(out);
    xend_sxp_free(ch);
    xend_sxp_free(rec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_newer_changes_apply_in_order_to_both_lists),
        cmocka_unit_test(test_a_record_without_seq_or_devices_takes_changes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
