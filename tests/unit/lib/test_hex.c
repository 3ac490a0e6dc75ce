/* lib/hex.c: digits both ways, and a size as an HTTP chunk writes it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hex.h"

static void test_sizes_are_written_as_printf_writes_them(void **state)
{
    (void)state;
    const size_t sizes[] = {0, 1, 9, 10, 15, 16, 255, 256, 4095, 65536, 0xabcdef, SIZE_MAX};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char want[32], got[XEND_HEX_SIZE_MAX + 1];
        snprintf(want, sizeof(want), "%zx", sizes[i]);
        size_t n = xend_hex_size(sizes[i], got);
        assert_int_equal(n, strlen(want));
        got[n] = '\0';
        assert_string_equal(got, want);
    }
}

static void test_bytes_round_trip_through_digits(void **state)
{
    (void)state;
    const unsigned char bytes[] = {0x00, 0x0f, 0xa5, 0xff};
    char text[2 * sizeof(bytes) + 1];
    xend_hex_encode(bytes, sizeof(bytes), text);
    assert_string_equal(text, "000fa5ff");
    for (size_t i = 0; i < sizeof(bytes); i++)
        assert_int_equal(xend_hex_value(text[2 * i]) * 16 + xend_hex_value(text[2 * i + 1]),
                         bytes[i]);
    assert_int_equal(xend_hex_value('F'), 15);
    assert_int_equal(xend_hex_value('g'), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes_are_written_as_printf_writes_them),
        cmocka_unit_test(test_bytes_round_trip_through_digits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
