/* SXP parser, printer and accessors: the quoting rules of the original and malformed input. */
#include <math.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "record_limits.h"
#include "sxp.h"

static struct xend_sxp *parse_ok(const char *text)
{
    struct xend_sxp *v = NULL;
    char err[128];
    int rc = xend_sxp_parse(text, strlen(text), NULL, &v, err, sizeof(err));
    assert_int_equal(rc, 0);
    assert_non_null(v);
    return v;
}

static int parse_err(const char *text, char *err, size_t err_len)
{
    struct xend_sxp *v = NULL;
    int rc = xend_sxp_parse(text, strlen(text), NULL, &v, err, err_len);
    assert_null(v);
    return rc;
}

static void roundtrip(const char *in, const char *expect)
{
    struct xend_sxp *v = parse_ok(in);
    char *s = xend_sxp_print(v);
    assert_string_equal(s, expect);
    free(s);
    xend_sxp_free(v);
}

static void test_bare_atoms_print_bare(void **state)
{
    (void)state;
    roundtrip("(domain (id 5) (state -b---) (uname phy:hda1) (mac aa:00:00:00:00:11))",
              "(domain (id 5) (state -b---) (uname phy:hda1) (mac aa:00:00:00:00:11))");
    roundtrip("(url http://h:8002/xend/domain/7 foo@bar ~x)",
              "(url http://h:8002/xend/domain/7 foo@bar ~x)");
}

static void test_strings_are_quoted_like_python_repr(void **state)
{
    (void)state;
    roundtrip("(root \"/dev/hda1 ro\")", "(root '/dev/hda1 ro')");
    roundtrip("(xend.err \"(22, 'Invalid argument')\")", "(xend.err \"(22, 'Invalid argument')\")");
    roundtrip("(x 'a\\nb\\tc')", "(x 'a\\nb\\tc')");
    roundtrip("(x 'w!')", "(x 'w!')");
    roundtrip("(x \"both ' and \\\"\")", "(x 'both \\' and \"')");
    roundtrip("(x '')", "(x '')");
}

/* Every byte value in the middle of an atom: printed bare exactly for letters, digits and
 * .-_:/~@, and otherwise quoted with the byte as it was, escaped, or as \xNN. */
static void test_each_byte_prints_bare_only_when_allowed(void **state)
{
    (void)state;
    static const char bare_punct[] = ".-_:/~@";
    for (int c = 1; c < 256; c++) {
        bool bare = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    memchr(bare_punct, c, sizeof(bare_punct) - 1) != NULL;
        char atom[4] = {'a', (char)c, 'b', '\0'};
        struct xend_buf out = XEND_BUF_INIT;
        xend_sxp_print_atom(atom, 3, &out);
        char want[16];
        if (bare)
            snprintf(want, sizeof(want), "a%cb", c);
        else if (c == '\n' || c == '\t' || c == '\r' || c == '\\')
            snprintf(want, sizeof(want), "'a\\%cb'",
                     c == '\n'   ? 'n'
                     : c == '\t' ? 't'
                     : c == '\r' ? 'r'
                                 : '\\');
        else if (c == '\'')
            snprintf(want, sizeof(want), "\"a'b\"");
        else if (c < 0x20 || c == 0x7f)
            snprintf(want, sizeof(want), "'a\\x%02xb'", c);
        else
            snprintf(want, sizeof(want), "'a%cb'", c);
        if (strcmp(xend_buf_str(&out), want) != 0)
            fail_msg("byte 0x%02x printed as [%s], not [%s]", c, xend_buf_str(&out), want);
        xend_buf_free(&out);
    }
}

/* Lists built item by item take their first items array from the loop's node cache: with
 * the cache on, lists of every size kept alive together, freed in turns and built again
 * print what was put in them. */
static void test_lists_built_through_the_node_cache_keep_their_items(void **state)
{
    (void)state;
    xend_sxp_node_cache(true);
    enum { LISTS = 24 };
    struct xend_sxp *l[LISTS] = {0};
    for (int round = 0; round < 40; round++) {
        for (int k = 0; k < LISTS; k++) {
            if (l[k] != NULL && (k + round) % 3 != 0)
                continue; /* a third are freed and built again each round */
            xend_sxp_free(l[k]);
            l[k] = xend_sxp_list();
            for (int i = 0; i < k % 13; i++) /* 0 to 12 items: small, grown, grown again */
                xend_sxp_append_take(l[k], xend_sxp_atom_int(1000 * k + i));
        }
        for (int k = 0; k < LISTS; k++) {
            struct xend_buf want = XEND_BUF_INIT;
            xend_buf_putc(&want, '(');
            for (int i = 0; i < k % 13; i++)
                xend_buf_printf(&want, "%s%d", i ? " " : "", 1000 * k + i);
            xend_buf_putc(&want, ')');
            char *got = xend_sxp_print(l[k]);
            assert_string_equal(got, xend_buf_str(&want));
            free(got);
            xend_buf_free(&want);
        }
    }
    for (int k = 0; k < LISTS; k++)
        xend_sxp_free(l[k]);
    xend_sxp_node_cache(false);
}

static void test_escapes_decode(void **state)
{
    (void)state;
    struct xend_sxp *v = parse_ok("('\\x41\\101\\\\\\'')");
    assert_string_equal(xend_sxp_atom_text(xend_sxp_nth(v, 0)), "AA\\'");
    xend_sxp_free(v);
}

static void test_comments_and_whitespace(void **state)
{
    (void)state;
    roundtrip("# comment\n(vm # inline\n  (name x)\r\n\t(memory 64))\n",
              "(vm (name x) (memory 64))");
}

static void test_specials_split_atoms(void **state)
{
    (void)state;
    struct xend_sxp *v = parse_ok("(mode w!)");
    assert_int_equal(xend_sxp_length(v), 3);
    assert_string_equal(xend_sxp_atom_text(xend_sxp_nth(v, 1)), "w");
    assert_string_equal(xend_sxp_atom_text(xend_sxp_nth(v, 2)), "!");
    xend_sxp_free(v);
}

static void test_accessors(void **state)
{
    (void)state;
    struct xend_sxp *v =
        parse_ok("(vm (name vm1) (memory 128) (image (linux (kernel /k))) (memory 1))");
    assert_string_equal(xend_sxp_name(v), "vm");
    assert_string_equal(xend_sxp_child_value(v, "name", NULL), "vm1");
    assert_null(xend_sxp_child_value(v, "nothere", NULL));
    assert_string_equal(xend_sxp_child_value(v, "nothere", "d"), "d");
    long long m = 0;
    assert_int_equal(xend_sxp_child_int(v, "memory", &m), 0);
    assert_int_equal(m, 128); /* the first child wins */
    assert_int_equal(xend_sxp_child_int(v, "name", &m), -XEND_EINVAL);
    assert_int_equal(xend_sxp_child_int(v, "absent", &m), -XEND_ENOENT);
    struct xend_sxp *img = xend_sxp_child(v, "image");
    assert_string_equal(xend_sxp_child_value(xend_sxp_child(img, "linux"), "kernel", NULL), "/k");
    assert_null(xend_sxp_nth(v, 99));
    struct xend_sxp *c = xend_sxp_copy(v);
    assert_true(xend_sxp_equal(c, v));
    xend_sxp_remove(c, 1);
    assert_false(xend_sxp_equal(c, v));
    /* detach hands the item over instead of freeing it */
    struct xend_sxp *kept = xend_sxp_detach(xend_sxp_child(c, "image"), 1);
    assert_string_equal(xend_sxp_name(kept), "linux");
    assert_int_equal(xend_sxp_length(xend_sxp_child(c, "image")), 1);
    assert_null(xend_sxp_detach(xend_sxp_child(c, "image"), 1));
    xend_sxp_free(kept);
    xend_sxp_free(c);
    xend_sxp_free(v);
}

static void test_malformed_input_is_an_error(void **state)
{
    (void)state;
    char err[128];
    assert_int_equal(parse_err(")", err, sizeof(err)), -XEND_EINVAL);
    assert_string_equal(err, "syntax error: )");
    assert_int_equal(parse_err("(a (b)", err, sizeof(err)), -XEND_EINVAL);
    assert_int_equal(parse_err("(a 'unterminated)", err, sizeof(err)), -XEND_EINVAL);
    assert_int_equal(parse_err("", err, sizeof(err)), -XEND_EINVAL);
    assert_int_equal(parse_err("(a) (b)", err, sizeof(err)), -XEND_EINVAL);
    assert_string_equal(err, "Too many sxprs");
    assert_int_equal(parse_err("('\\x4')", err, sizeof(err)), -XEND_EINVAL);
    assert_int_equal(parse_err("(a \x01)", err, sizeof(err)), -XEND_EINVAL);
}

static void test_depth_and_size_limits(void **state)
{
    (void)state;
    size_t n = 100000;
    char *deep = malloc(2 * n + 1);
    memset(deep, '(', n);
    memset(deep + n, ')', n);
    deep[2 * n] = '\0';
    struct xend_sxp *v = NULL;
    char err[128];
    assert_int_equal(xend_sxp_parse(deep, 2 * n, NULL, &v, err, sizeof(err)), -XEND_ELIMIT);
    assert_null(v);
    free(deep);

    struct xend_sxp_limits lim = {.max_nodes = 3, .max_atom = 4};
    assert_int_equal(xend_sxp_parse("(a b c d)", 9, &lim, &v, err, sizeof(err)), -XEND_ELIMIT);
    assert_int_equal(xend_sxp_parse("(abcdef)", 8, &lim, &v, err, sizeof(err)), -XEND_ELIMIT);
    assert_int_equal(xend_sxp_parse("('abcdef')", 10, &lim, &v, err, sizeof(err)), -XEND_ELIMIT);
}

static void test_parse_all_reads_every_value(void **state)
{
    (void)state;
    struct xend_sxp *all = NULL;
    char err[64];
    const char *t = "(xend-port 8000)\n# c\n(xend-address '')\n";
    assert_int_equal(xend_sxp_parse_all(t, strlen(t), NULL, &all, err, sizeof(err)), 0);
    assert_int_equal(xend_sxp_length(all), 2);
    assert_string_equal(xend_sxp_child_value(all, "xend-address", "x"), "");
    xend_sxp_free(all);
}

static void test_builders_and_floats(void **state)
{
    (void)state;
    struct xend_sxp *d = xend_sxp_list_of("domain", NULL);
    xend_sxp_add_kv_int(d, "id", 7);
    xend_sxp_add_kv(d, "name", "my vm");
    xend_sxp_add_kv_take(d, "cpu_time", xend_sxp_atom_double(12.5));
    xend_sxp_add_kv_take(d, "up", xend_sxp_atom_double(3));
    char *s = xend_sxp_print(d);
    assert_string_equal(s, "(domain (id 7) (name 'my vm') (cpu_time 12.5) (up 3.0))");
    free(s);
    xend_sxp_free(d);
}

static char *pretty_of(const char *text)
{
    struct xend_sxp *v = NULL;
    char msg[128];
    assert_int_equal(xend_sxp_parse(text, strlen(text), NULL, &v, msg, sizeof(msg)), 0);
    struct xend_buf b = XEND_BUF_INIT;
    xend_sxp_pretty_buf(v, &b);
    xend_sxp_free(v);
    return xend_buf_steal(&b);
}

/* The 2.0 client's layout at 80 columns (checked against a port of its PrettyPrint on
 * random trees): what fits stays on a line, a broken list puts each item after the head on
 * its own line four columns in from its '(', and its ')' under the '('. */
static void test_pretty_lays_out_as_the_2_0_client(void **state)
{
    (void)state;
    char *s = pretty_of("(domain (id 7) (name 'my vm') (cpu_time 12.5))");
    assert_string_equal(s, "(domain (id 7) (name 'my vm') (cpu_time 12.5))");
    free(s);
    s = pretty_of("(domain (id 0) (name Domain-0) (memory 512) (state -b---) "
                  "(sched (name bvt) (mcuadv 10) (warpback 0) (warpvalue 0) (warpl 2000) "
                  "(warpu 1000)) (devices))");
    assert_string_equal(s, "(domain\n"
                           "    (id 0)\n"
                           "    (name Domain-0)\n"
                           "    (memory 512)\n"
                           "    (state -b---)\n"
                           "    (sched\n"
                           "        (name bvt)\n"
                           "        (mcuadv 10)\n"
                           "        (warpback 0)\n"
                           "        (warpvalue 0)\n"
                           "        (warpl 2000)\n"
                           "        (warpu 1000)\n"
                           "    )\n"
                           "    (devices)\n"
                           ")");
    free(s);
    /* a list inside a list starts where its '(' is, not at a multiple of four */
    s = pretty_of("((vif (idx 0) (vif 0) (vifname vif1.0) (mac aa:00:00:00:10:01) "
                  "(bridge xen-br0) (script vif-bridge) (index 0)))");
    assert_string_equal(s, "((vif\n"
                           "     (idx 0)\n"
                           "     (vif 0)\n"
                           "     (vifname vif1.0)\n"
                           "     (mac aa:00:00:00:10:01)\n"
                           "     (bridge xen-br0)\n"
                           "     (script vif-bridge)\n"
                           "     (index 0)\n"
                           " )\n"
                           ")");
    free(s);
    s = pretty_of("atom");
    assert_string_equal(s, "atom");
    free(s);
}

/* The info printer formats floats without printf: it must print what %.12g (plus Python's
 * ".0") prints, for the values it meets (times) and around every boundary. */
static void expect_as_printf(double v)
{
    char want[64];
    snprintf(want, sizeof(want) - 2, "%.12g", v);
    if (strpbrk(want, ".eEn") == NULL)
        strcat(want, ".0");
    struct xend_sxp_double got = xend_sxp_double_text(v);
    if (strcmp(got.text, want) != 0)
        fail_msg("%.17g: printed %s, printf %s", v, got.text, want);
}

static void test_floats_print_as_printf_does(void **state)
{
    (void)state;
    static const double fixed[] = {0,
                                   -0.0,
                                   1,
                                   -1,
                                   0.5,
                                   12.5,
                                   3,
                                   1e-4,
                                   9.99999999999e-5,
                                   0.000123456789012345,
                                   1e11,
                                   99999999999.95,
                                   999999999999.4,
                                   999999999999.5,
                                   1e12,
                                   9.9999999999995,
                                   9.99999999999949,
                                   12345678901.25,
                                   12345678901.35,
                                   1795764738.99123456,
                                   0.1,
                                   0.3,
                                   2.675,
                                   1e15,
                                   1e-300,
                                   1e300,
                                   INFINITY,
                                   -INFINITY,
                                   NAN,
                                   123.000000000049,
                                   100,
                                   1e-3,
                                   0.001,
                                   1e10,
                                   1e-5};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        expect_as_printf(fixed[i]);
    uint64_t seed = 88172645463325252ull; /* xorshift: the same values every run */
    for (int i = 0; i < 200000; i++) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        int e = (int)(seed % 20) - 6; /* 1e-6 .. 1e13 */
        double mant = (double)(seed >> 11) / 9007199254740992.0;
        double v = mant * pow(10, e);
        expect_as_printf(v);
        expect_as_printf(-v);
        expect_as_printf((double)(seed % 2000000000) / 1000.0);       /* ms as seconds */
        expect_as_printf(1.7e9 + (double)(seed % 100000000) / 100.0); /* wall times */
    }
}

/* Child lookup compares a prefix kept in each list node first: names sharing it, longer
 * than it, and heads changed after the fact must still be told apart. */
static void test_child_lookup_by_name_with_shared_prefixes(void **state)
{
    (void)state;
    struct xend_sxp *vm = NULL;
    const char *text = "(vm (console 1) (consoles 2) (cons 3) (schedulers 4) (sched 5) ('' 6) "
                       "((x) 7) (scheduler_params 8))";
    assert_int_equal(xend_sxp_parse(text, strlen(text), NULL, &vm, NULL, 0), 0);
    long long v = 0;
    static const struct {
        const char *name;
        long long want;
    } cases[] = {{"console", 1},         {"consoles", 2}, {"cons", 3},
                 {"schedulers", 4},      {"sched", 5},    {"", 6},
                 {"scheduler_params", 8}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(xend_sxp_child_int(vm, cases[i].name, &v), 0);
        assert_int_equal(v, cases[i].want);
    }
    assert_null(xend_sxp_child(vm, "consol"));
    assert_null(xend_sxp_child(vm, "scheduler"));
    assert_null(xend_sxp_child(vm, "scheduler_param"));
    /* The head changes: replaced, removed, or first added to an empty list. */
    struct xend_sxp *c = xend_sxp_child(vm, "cons");
    xend_sxp_replace_take(c, 0, xend_sxp_atom("memory"));
    assert_null(xend_sxp_child(vm, "cons"));
    assert_ptr_equal(xend_sxp_child(vm, "memory"), c);
    xend_sxp_remove(c, 0); /* (3): the head is now the atom 3 */
    assert_null(xend_sxp_child(vm, "memory"));
    assert_ptr_equal(xend_sxp_child(vm, "3"), c);
    struct xend_sxp *e = xend_sxp_list();
    xend_sxp_append_take(vm, e);
    xend_sxp_append_take(e, xend_sxp_atom("late"));
    assert_ptr_equal(xend_sxp_child(vm, "late"), e);
    struct xend_sxp *copy = xend_sxp_copy(vm);
    assert_non_null(xend_sxp_child(copy, "late"));
    assert_int_equal(xend_sxp_child_int(copy, "scheduler_params", &v), 0);
    assert_int_equal(v, 8);
    xend_sxp_free(copy);
    xend_sxp_free(vm);
}

/* What the parser would count is what measure counts, and the record limits say what
 * every reader of a domain record accepts: a config 62 deep is fine, 63 is not, because
 * its record wraps it 2 deeper, and the wrapped 62 parses with the readers' limits. */
/* A parsed or copied tree is one allocation (a block), yet each node stays a node of its
 * own: kept after its tree is freed, changed, freed in any order. */
/* A part kept from a parsed tree keeps the whole block, unless it is taken with
 * detach_own: a part that is a block of its own (a copy, or what is left of a block whose
 * other nodes are gone) stays itself, any other is copied out. */
static void test_a_part_detached_own_keeps_only_itself(void **state)
{
    (void)state;
    struct xend_sxp *rec = parse_ok("(r (config (vm (name a) (memory 64))) (id 3))");
    struct xend_sxp *cfg = xend_sxp_child(rec, "config");
    struct xend_sxp *vm = xend_sxp_nth(cfg, 1);
    struct xend_sxp *own = xend_sxp_detach_own(cfg, 1); /* in the record's block: copied */
    assert_ptr_not_equal(own, vm);
    assert_int_equal(xend_sxp_length(cfg), 1);
    char *s = xend_sxp_print(own);
    assert_string_equal(s, "(vm (name a) (memory 64))");
    free(s);
    struct xend_sxp *apart = xend_sxp_copy(own); /* a block of its own: kept as it is */
    xend_sxp_append_take(cfg, apart);
    assert_ptr_equal(xend_sxp_detach_own(cfg, 1), apart);
    xend_sxp_free(apart);
    struct xend_sxp *built = xend_sxp_list_of("vm", "x", NULL); /* nodes made one by one */
    xend_sxp_append_take(cfg, built);
    assert_ptr_equal(xend_sxp_detach_own(cfg, 1), built);
    xend_sxp_free(built);
    struct xend_sxp *id = xend_sxp_detach(rec, 2);
    xend_sxp_free(rec); /* id is all that is left of its block */
    struct xend_sxp *holder = xend_sxp_list();
    xend_sxp_append_take(holder, id);
    assert_ptr_equal(xend_sxp_detach_own(holder, 0), id);
    assert_null(xend_sxp_detach_own(holder, 0));
    xend_sxp_free(holder);
    xend_sxp_free(id);
    xend_sxp_free(own);
}

static void test_nodes_of_a_packed_tree_live_alone(void **state)
{
    (void)state;
    struct xend_sxp *v = parse_ok("(domain (config (vm (name \"a b\") (memory 64))) (id 3) ())");
    struct xend_sxp *cfg = xend_sxp_detach(xend_sxp_child(v, "config"), 1);
    struct xend_sxp *empty = xend_sxp_detach(v, 3);
    xend_sxp_free(v);                     /* the block stays: cfg and empty are still in it */
    xend_sxp_add_kv_int(cfg, "vcpus", 2); /* its items move out of the block */
    xend_sxp_replace_take(cfg, 0, xend_sxp_atom("vm2")); /* and its head */
    assert_string_equal(xend_sxp_name(cfg), "vm2");
    xend_sxp_append_take(empty, xend_sxp_atom("x"));
    char *s = xend_sxp_print(cfg);
    assert_string_equal(s, "(vm2 (name 'a b') (memory 64) (vcpus 2))");
    free(s);
    struct xend_sxp *copy = xend_sxp_copy(cfg);
    xend_sxp_remove(cfg, 1);
    xend_sxp_free(cfg);
    s = xend_sxp_print(copy);
    assert_string_equal(s, "(vm2 (name 'a b') (memory 64) (vcpus 2))");
    free(s);
    assert_string_equal(xend_sxp_child_value(copy, "memory", ""), "64");
    struct xend_sxp *name = xend_sxp_detach(copy, 1);
    xend_sxp_free(copy);
    s = xend_sxp_print(name);
    assert_string_equal(s, "(name 'a b')");
    free(s);
    xend_sxp_free(name);
    s = xend_sxp_print(empty);
    assert_string_equal(s, "(x)");
    free(s);
    xend_sxp_free(empty);
}

/* A value larger than the parser's stack scratch, and longer lists than its stack of
 * items, come out whole. */
static void test_large_values_parse_whole(void **state)
{
    (void)state;
    struct xend_buf b = XEND_BUF_INIT;
    xend_buf_puts(&b, "(big");
    for (int i = 0; i < 3000; i++)
        xend_buf_printf(&b, " (item%d \"v %d\" (x))", i, i);
    xend_buf_puts(&b, ")");
    struct xend_sxp *v = parse_ok(xend_buf_str(&b));
    assert_int_equal(xend_sxp_length(v), 3001);
    assert_string_equal(xend_sxp_child_value(v, "item2999", ""), "v 2999");
    char *s = xend_sxp_print(v);
    struct xend_sxp *again = parse_ok(s);
    assert_true(xend_sxp_equal(v, again));
    free(s);
    xend_sxp_free(again);
    xend_sxp_free(v);
    xend_buf_free(&b);
}

static void test_measure_and_record_limits(void **state)
{
    (void)state;
    size_t depth, nodes;
    struct xend_sxp *v = parse_ok("(a (b (c)) d)");
    xend_sxp_measure(v, &depth, &nodes);
    assert_int_equal(depth, 3);
    assert_int_equal(nodes, 7);
    xend_sxp_free(v);
    v = xend_sxp_atom("x");
    xend_sxp_measure(v, &depth, &nodes);
    assert_int_equal(depth, 0);
    assert_int_equal(nodes, 1);
    xend_sxp_free(v);

    for (size_t d = 61; d <= 64; d++) {
        struct xend_buf b = XEND_BUF_INIT;
        xend_buf_puts(&b, "(domain_record (config ");
        for (size_t i = 0; i < d; i++)
            xend_buf_puts(&b, "(vm ");
        for (size_t i = 0; i < d; i++)
            xend_buf_putc(&b, ')');
        xend_buf_puts(&b, "))");
        struct xend_sxp *rec = NULL;
        char msg[128];
        int prc = xend_sxp_parse(b.data, b.len, &xend_record_limits, &rec, msg, sizeof(msg));
        const struct xend_sxp *cfg = NULL;
        struct xend_sxp *cfg_own = NULL;
        if (prc == 0) {
            cfg = xend_sxp_nth(xend_sxp_child(rec, "config"), 1);
        } else {
            /* The reader refuses it: the config alone must be refused at create too. */
            assert_int_equal(
                xend_sxp_parse(b.data + 23, b.len - 25, NULL, &cfg_own, msg, sizeof(msg)), 0);
            cfg = cfg_own;
        }
        struct xend_err err = {0};
        int crc = xend_record_check(cfg, 4 * d, true, &err);
        assert_int_equal(prc == 0, d <= XEND_CONFIG_MAX_DEPTH);
        assert_int_equal(crc == 0, d <= XEND_CONFIG_MAX_DEPTH);
        if (crc < 0)
            assert_non_null(strstr(xend_err_msg(&err), "wraps it 2 levels deeper"));
        xend_sxp_free(rec);
        xend_sxp_free(cfg_own);
        xend_buf_free(&b);
    }
    struct xend_err err = {0};
    v = parse_ok("(vm (name x))");
    assert_int_equal(xend_record_check(v, XEND_CONFIG_MAX_BYTES, true, &err), 0);
    assert_int_equal(xend_record_check(v, XEND_CONFIG_MAX_BYTES + 1, true, &err), -XEND_ELIMIT);
    assert_int_equal(xend_record_check(v, XEND_RECORD_MAX_BYTES, false, &err), 0);
    assert_int_equal(xend_record_check(v, XEND_RECORD_MAX_BYTES + 1, false, &err), -XEND_ELIMIT);
    xend_sxp_free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bare_atoms_print_bare),
        cmocka_unit_test(test_strings_are_quoted_like_python_repr),
        cmocka_unit_test(test_each_byte_prints_bare_only_when_allowed),
        cmocka_unit_test(test_lists_built_through_the_node_cache_keep_their_items),
        cmocka_unit_test(test_escapes_decode),
        cmocka_unit_test(test_comments_and_whitespace),
        cmocka_unit_test(test_specials_split_atoms),
        cmocka_unit_test(test_accessors),
        cmocka_unit_test(test_malformed_input_is_an_error),
        cmocka_unit_test(test_depth_and_size_limits),
        cmocka_unit_test(test_parse_all_reads_every_value),
        cmocka_unit_test(test_builders_and_floats),
        cmocka_unit_test(test_pretty_lays_out_as_the_2_0_client),
        cmocka_unit_test(test_floats_print_as_printf_does),
        cmocka_unit_test(test_child_lookup_by_name_with_shared_prefixes),
        cmocka_unit_test(test_measure_and_record_limits),
        cmocka_unit_test(test_nodes_of_a_packed_tree_live_alone),
        cmocka_unit_test(test_a_part_detached_own_keeps_only_itself),
        cmocka_unit_test(test_large_values_parse_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
