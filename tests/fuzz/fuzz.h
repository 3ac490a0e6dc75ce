/*
 * One fuzz target of xend's input parsers: a function over bytes that must return for every
 * input (malformed input is an error, never a crash, a hang or a leak: issue 2).
 *
 * Each fuzz_<target>.c defines the three symbols below. The same file links into two
 * programs: with libfuzzer_entry.c into a clang libFuzzer binary (XEND_FUZZ=ON), and with
 * driver.c into a plain program that replays a seed corpus and a deterministic mutator
 * (always built, run by ctest).
 *
 * Must never: read files other than its input, or depend on state left by an earlier input
 * (libFuzzer runs millions of inputs in one process).
 */
#ifndef XEND_TESTS_FUZZ_H
#define XEND_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Run the target over data[0..size) (borrowed). Returns 0; a broken invariant aborts. */
int xend_fuzz_target(const uint8_t *data, size_t size);

/* The target's name (corpus/<name>/) and tokens the plain driver's mutator inserts
 * (NULL-terminated). */
extern const char xend_fuzz_name[];
extern const char *const xend_fuzz_dict[];

/* An invariant of the parser's contract; a failure is a bug as real as a crash. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond);      \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
