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

#define ADDED(I, N, MAC)                                                                           \
    "(device (class vif) (index " #I ") (added " #N ") (attached 1) (config (vif (mac " MAC "))))"

#define VBD "(device (class vbd) (index 0) (config (vbd (dev sda1))))"

/* A vif removed and another hot-plugged under the same index (the removal's change
 * superseded by the add's), and two hot-plugged where the first was configured after the
 * second came: each goes to the end, in the order they were added. */
static void test_devices_added_since_the_record_go_to_the_end_in_order(void **state)
{
    (void)state;
    struct xend_sxp *rec = parse("(domain_record (uuid u1) (config (vm (name d) "
                                 "(device (vif (mac m0))) (device (vif (mac m1))) "
                                 "(device (vbd (dev sda1))))) "
                                 "(devices (seq 4) " DEV(0, "m0") " " DEV(1, "m1") " " VBD "))");
    struct xend_sxp *ch[] = {
        parse("(device_change (domain u1) (seq 6) (class vif) (index 1) " ADDED(1, 6, "m9") ")"),
        parse("(device_change (domain u1) (seq 7) (class vif) (index 3) " ADDED(3, 7, "mb") ")"),
        parse("(device_change (domain u1) (seq 8) (class vif) (index 2) " ADDED(2, 5, "ma2") ")"),
        parse("(device_change (domain u1) (seq 9) (class vif) (index 0) " ADDED(0, 3, "m0b") ")"),
    };
    struct xend_sxp *out = xend_device_journal_apply(rec, (const struct xend_sxp *const *)ch, 4);
    expect_text(xend_sxp_child(out, "config"),
                "(config (vm (name d) (device (vif (mac m0b))) (device (vbd (dev sda1))) (device "
                "(vif (mac ma2))) (device (vif (mac m9))) (device (vif (mac mb)))))");
    expect_text(xend_sxp_child(out, "devices"),
                "(devices (seq 9) " ADDED(0, 3, "m0b") " " VBD " " /* in place */
                ADDED(2, 5, "ma2") " " ADDED(1, 6, "m9") " " ADDED(3, 7, "mb") ")");
    xend_sxp_free(out);
    for (size_t i = 0; i < 4; i++)
        xend_sxp_free(ch[i]);
    xend_sxp_free(rec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_newer_changes_apply_in_order_to_both_lists),
        cmocka_unit_test(test_a_record_without_seq_or_devices_takes_changes),
        cmocka_unit_test(test_devices_added_since_the_record_go_to_the_end_in_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
