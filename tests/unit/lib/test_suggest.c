/* "Did you mean" (lib/suggest.h): distances, and which names are suggested or not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "suggest.h"

static void test_distance(void **state)
{
    (void)state;
    assert_int_equal(xend_suggest_distance("memory", "memory", 3), 0);
    assert_int_equal(xend_suggest_distance("memroy", "memory", 3), 1); /* a swap counts 1 */
    assert_int_equal(xend_suggest_distance("memry", "memory", 3), 1);
    assert_int_equal(xend_suggest_distance("mmemory", "memory", 3), 1);
    assert_int_equal(xend_suggest_distance("kernal", "kernel", 3), 1);
    assert_int_equal(xend_suggest_distance("abc", "xyz", 3), 3);
    /* past the limit, the answer is limit + 1 however far */
    assert_int_equal(xend_suggest_distance("a", "abcdefgh", 2), 3);
    assert_int_equal(xend_suggest_distance("abcdef", "uvwxyz", 2), 3);
    assert_int_equal(xend_suggest_distance("", "ab", 3), 2);
}

static void test_suggest(void **state)
{
    (void)state;
    const char *const vars[] = {"kernel", "memory", "name", "vif", "disk", NULL, "cpu", "nics"};
    size_t n = sizeof(vars) / sizeof(vars[0]);
    assert_string_equal(xend_suggest("memroy", vars, n), "memory");
    assert_string_equal(xend_suggest("kernal", vars, n), "kernel");
    assert_string_equal(xend_suggest("disks", vars, n), "disk");
    assert_string_equal(xend_suggest("nmae", vars, n), "name");
    /* short names: only one edit away */
    assert_string_equal(xend_suggest("vfi", vars, n), "vif");
    assert_null(xend_suggest("xyz", vars, n));
    /* nothing close, and a known name is not "suggested" for itself */
    assert_null(xend_suggest("vmid", vars, n));
    assert_null(xend_suggest("bootloader", vars, n));
    assert_null(xend_suggest("anything", NULL, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distance),
        cmocka_unit_test(test_suggest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
