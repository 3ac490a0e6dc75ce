/*
 * libevent's small allocations (core/libevent_mem.c): ownership decided by address, so a
 * pointer from malloc may come back through these functions; sizes and contents kept
 * across realloc; wholly free pages and pages of all-zero records given back by the trim,
 * their contents unchanged; safe from more than one thread.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "libevent_mem.h"

static bool resident(const void *p)
{
    long page = sysconf(_SC_PAGESIZE);
    unsigned char v = 0;
    void *start = (void *)((uintptr_t)p & ~(uintptr_t)(page - 1));
    assert_int_equal(mincore(start, (size_t)page, &v), 0);
    return (v & 1) != 0;
}

static void test_pointers_from_malloc_go_back_to_malloc(void **state)
{
    (void)state;
    /* The first design read a header in front of each pointer: a small malloc'd pointer
     * passed in was taken for one of its own slots, or freed 16 bytes too early. */
    for (size_t n = 1; n <= 200; n += 7) {
        char *p = malloc(n);
        assert_non_null(p);
        memset(p, 0xab, n);
        xend_libevent_mem_free(p);
    }
    char *q = malloc(24);
    memcpy(q, "abcdefghijklmnopqrstuvw", 24);
    q = xend_libevent_mem_realloc(q, 4000);
    assert_string_equal(q, "abcdefghijklmnopqrstuvw");
    xend_libevent_mem_free(q);
    xend_libevent_mem_free(NULL);
}

static void test_realloc_keeps_contents_across_classes(void **state)
{
    (void)state;
    char *p = xend_libevent_mem_alloc(10);
    memcpy(p, "012345678", 10);
    p = xend_libevent_mem_realloc(p, 14); /* same class: the same slot */
    assert_string_equal(p, "012345678");
    p = xend_libevent_mem_realloc(p, 60);
    assert_string_equal(p, "012345678");
    memset(p + 10, 'x', 50);
    p = xend_libevent_mem_realloc(p, 5000); /* to the heap */
    assert_memory_equal(p, "012345678\0xxxxx", 15);
    p = xend_libevent_mem_realloc(p, 8); /* a heap pointer stays with the heap */
    assert_memory_equal(p, "01234567", 8);
    xend_libevent_mem_free(p);
    void *z = xend_libevent_mem_alloc(0);
    assert_non_null(z);
    xend_libevent_mem_free(z);
}

static void test_free_pages_are_given_back(void **state)
{
    (void)state;
    enum { N = 2000 };
    static char *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = xend_libevent_mem_alloc(40); /* a buffer's callback entry */
        memset(p[i], 0x5a, 40);
    }
    assert_true(resident(p[N / 2]));
    for (int i = 0; i < N; i++)
        xend_libevent_mem_free(p[i]);
    assert_true(xend_libevent_mem_trim() >= (size_t)N * 48 - 2 * 4096);
    assert_false(resident(p[N / 2]));
    /* The pages serve again, for any size. */
    for (int i = 0; i < N; i++) {
        p[i] = xend_libevent_mem_alloc(i % 64 + 1);
        memset(p[i], i & 0xff, (size_t)(i % 64 + 1));
    }
    for (int i = 0; i < N; i++) {
        assert_int_equal((unsigned char)p[i][i % 64], i & 0xff);
        xend_libevent_mem_free(p[i]);
    }
}

static void test_pages_of_zero_records_are_given_back_and_read_zero(void **state)
{
    (void)state;
    enum { N = 1024 };
    static char *r[N];
    xend_libevent_mem_trim(); /* the pages emptied before: zero again, as in a flood's wake */
    for (int i = 0; i < N; i++) {
        r[i] = xend_libevent_mem_alloc(16); /* a descriptor's record, as libevent's calloc */
        memset(r[i], 0, 16);
    }
    r[N - 1][3] = 1; /* one record in use keeps its page */
    xend_libevent_mem_trim();
    assert_false(resident(r[N / 2]));
    assert_true(resident(r[N - 1]));
    for (int i = 0; i < N - 1; i++)
        for (int b = 0; b < 16; b++)
            assert_int_equal(r[i][b], 0);
    r[N / 2][0] = 7; /* written again: an ordinary page */
    assert_int_equal(r[N / 2][0], 7);
    for (int i = 0; i < N; i++)
        xend_libevent_mem_free(r[i]);
}

static void *churn(void *arg)
{
    uintptr_t seed = (uintptr_t)arg;
    char *held[64] = {0};
    for (int i = 0; i < 200000; i++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        int k = (int)((seed >> 33) % 64);
        size_t n = (size_t)((seed >> 20) % 64) + 1;
        if (held[k] != NULL) {
            assert_int_equal((unsigned char)held[k][0], (unsigned char)k);
            xend_libevent_mem_free(held[k]);
            held[k] = NULL;
        } else {
            held[k] = xend_libevent_mem_alloc(n);
            held[k][0] = (char)k;
        }
    }
    for (int k = 0; k < 64; k++)
        xend_libevent_mem_free(held[k]);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    pthread_t t[3];
    for (uintptr_t i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&t[i], NULL, churn, (void *)(i + 1)), 0);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pointers_from_malloc_go_back_to_malloc),
        cmocka_unit_test(test_realloc_keeps_contents_across_classes),
        cmocka_unit_test(test_free_pages_are_given_back),
        cmocka_unit_test(test_pages_of_zero_records_are_given_back_and_read_zero),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
