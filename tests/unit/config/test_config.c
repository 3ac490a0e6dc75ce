/*
 * Unit tests of core/config: libconfig and legacy SXP files, typed lookups with file:line
 * errors, unknown keys, overrides.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "config/settings.h"

static char tmpdir[] = "/tmp/xend-test-config-XXXXXX";

/* Write `text` to a file named `name` in the test dir; returns its path (static). */
static const char *write_file(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static struct xend_config *load_ok(const char *name, const char *text)
{
    struct xend_err err = {0};
    struct xend_config *cfg = xend_config_load(write_file(name, text), true, &err);
    if (cfg == NULL)
        fail_msg("load failed: %s", xend_err_msg(&err));
    return cfg;
}

/* The error of loading `text`, in a static buffer. */
static const char *load_err(const char *name, const char *text)
{
    static struct xend_err err;
    xend_err_clear(&err);
    struct xend_config *cfg = xend_config_load(write_file(name, text), true, &err);
    assert_null(cfg);
    assert_int_equal(err.code, XEND_EINVAL);
    return err.msg;
}

static void assert_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    if (n < m || strcmp(s + n - m, suffix) != 0)
        fail_msg("'%s' does not end with '%s'", s, suffix);
}

static void libconfig_file_gives_every_type(void **state)
{
    (void)state;
    struct xend_config *cfg = load_ok("all.conf", "# comment\n"
                                                  "xend-port = 8001;\n"
                                                  "xend-address = \"\";\n"
                                                  "vif-antispoof = false;\n"
                                                  "plugins = [\"vif\", \"vbd\"];\n"
                                                  "backends = (\"sim\");\n"
                                                  "big = 5000000000L;\n"
                                                  "hex = 0x20;\n"
                                                  "sim = { cpus = 4; };\n");
    struct xend_err err = {0};
    long long port = 0, big = 0, hex = 0, cpus = 0;
    const char *addr = NULL;
    bool spoof = true;
    const char *const *list;
    size_t n;
    assert_int_equal(xend_config_get_int(cfg, "xend-port", 8000, 1, 65535, &port, &err), 0);
    assert_int_equal(port, 8001);
    assert_int_equal(xend_config_get_str(cfg, "xend-address", "127.0.0.1", &addr, &err), 0);
    assert_string_equal(addr, "");
    assert_int_equal(xend_config_get_bool(cfg, "vif-antispoof", true, &spoof, &err), 0);
    assert_false(spoof);
    assert_int_equal(xend_config_get_list(cfg, "plugins", &list, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[0], "vif");
    assert_string_equal(list[1], "vbd");
    assert_int_equal(xend_config_get_list(cfg, "backends", &list, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0], "sim");
    assert_int_equal(xend_config_get_int(cfg, "big", 0, 0, INT64_MAX, &big, &err), 0);
    assert_int_equal(big, 5000000000LL);
    assert_int_equal(xend_config_get_int(cfg, "hex", 0, 0, 100, &hex, &err), 0);
    assert_int_equal(hex, 32);
    assert_int_equal(xend_config_get_int(cfg, "sim.cpus", 1, 1, 64, &cpus, &err), 0);
    assert_int_equal(cpus, 4);
    assert_int_equal(xend_config_check_unknown(cfg, &err), 0);
    xend_config_free(cfg);
}

static void absent_keys_give_defaults(void **state)
{
    (void)state;
    struct xend_config *cfg = load_ok("empty.conf", "");
    struct xend_err err = {0};
    long long port;
    const char *dir;
    bool b;
    const char *const *list = (const char *const *)&err;
    size_t n = 7;
    assert_int_equal(xend_config_get_int(cfg, "xend-port", 8000, 1, 65535, &port, &err), 0);
    assert_int_equal(port, 8000);
    assert_int_equal(xend_config_get_str(cfg, "state-dir", "/var/lib/xend", &dir, &err), 0);
    assert_string_equal(dir, "/var/lib/xend");
    assert_int_equal(xend_config_get_bool(cfg, "vif-antispoof", true, &b, &err), 0);
    assert_true(b);
    assert_int_equal(xend_config_get_list(cfg, "plugins", &list, &n, &err), 0);
    assert_null(list);
    assert_int_equal(n, 0);
    assert_false(xend_config_has(cfg, "xend-port"));
    xend_config_free(cfg);
}

static void missing_file_is_empty_unless_required(void **state)
{
    (void)state;
    struct xend_err err = {0};
    char path[512];
    snprintf(path, sizeof(path), "%s/nonexistent.conf", tmpdir);
    struct xend_config *cfg = xend_config_load(path, false, &err);
    assert_non_null(cfg);
    assert_string_equal(xend_config_path(cfg), path);
    xend_config_free(cfg);
    assert_null(xend_config_load(path, true, &err));
    assert_int_equal(err.code, XEND_ENOENT);
    assert_non_null(strstr(err.msg, "nonexistent.conf"));
}

static void unknown_key_is_named_with_file_and_line(void **state)
{
    (void)state;
    struct xend_config *cfg = load_ok("unknown.conf", "xend-port = 8000;\n"
                                                      "\n"
                                                      "xend-prot = 8001;\n"
                                                      "other = 1;\n");
    struct xend_err err = {0};
    long long port;
    assert_int_equal(xend_config_get_int(cfg, "xend-port", 8000, 1, 65535, &port, &err), 0);
    assert_int_equal(xend_config_check_unknown(cfg, &err), -XEND_EINVAL);
    assert_ends_with(err.msg,
                     "unknown.conf:3: unknown setting 'xend-prot'; did you mean 'xend-port'?");
    xend_config_free(cfg);
}

/* A setting some part asked for but no file sets is offered too; a far name gets no offer. */
static void unknown_key_suggests_what_was_asked_for(void **state)
{
    (void)state;
    struct xend_config *cfg = load_ok("typo.conf", "log-levle = \"info\";\n");
    struct xend_err err = {0};
    const char *level;
    assert_int_equal(xend_config_get_str(cfg, "log-level", "notice", &level, &err), 0);
    assert_int_equal(xend_config_check_unknown(cfg, &err), -XEND_EINVAL);
    assert_ends_with(err.msg,
                     "typo.conf:1: unknown setting 'log-levle'; did you mean 'log-level'?");
    xend_config_free(cfg);

    cfg = load_ok("far.conf", "frobnicate = 1;\n");
    err = (struct xend_err){0};
    assert_int_equal(xend_config_get_str(cfg, "log-level", "notice", &level, &err), 0);
    assert_int_equal(xend_config_check_unknown(cfg, &err), -XEND_EINVAL);
    assert_ends_with(err.msg, "far.conf:1: unknown setting 'frobnicate'");
    xend_config_free(cfg);
}

static void wrong_type_names_file_line_and_key(void **state)
{
    (void)state;
    struct xend_config *cfg = load_ok("type.conf", "xend-port = \"8000\";\n"
                                                   "state-dir = 5;\n"
                                                   "vif-antispoof = 2;\n"
                                                   "plugins = [1, 2];\n");
    struct xend_err err = {0};
    long long port;
    const char *dir;
    bool b;
    const char *const *list;
    size_t n;
    assert_int_equal(xend_config_get_int(cfg, "xend-port", 8000, 1, 65535, &port, &err),
                     -XEND_EINVAL);
    assert_ends_with(err.msg, "type.conf:1: setting 'xend-port' must be an integer between 1 "
                              "and 65535, not a string");
    xend_err_clear(&err);
    assert_int_equal(xend_config_get_str(cfg, "state-dir", "/x", &dir, &err), -XEND_EINVAL);
    assert_ends_with(err.msg, "type.conf:2: setting 'state-dir' must be a string, not an integer");
    xend_err_clear(&err);
    assert_int_equal(xend_config_get_bool(cfg, "vif-antispoof", true, &b, &err), -XEND_EINVAL);
    assert_non_null(strstr(err.msg, "type.conf:3: setting 'vif-antispoof' must be true or false"));
    xend_err_clear(&err);
    assert_int_equal(xend_config_get_list(cfg, "plugins", &list, &n, &err), -XEND_EINVAL);
    assert_non_null(strstr(err.msg, "type.conf:4: setting 'plugins' must be a list of strings"));
    xend_config_free(cfg);
}

static void out_of_range_int_is_refused(void **state)
{
    (void)state;
    struct xend_config *cfg = load_ok("range.conf", "xend-port = 70000;\n");
    struct xend_err err = {0};
    long long port = 42;
    assert_int_equal(xend_config_get_int(cfg, "xend-port", 8000, 1, 65535, &port, &err),
                     -XEND_EINVAL);
    assert_ends_with(err.msg, "range.conf:1: setting 'xend-port' must be an integer between 1 "
                              "and 65535, not 70000");
    assert_int_equal(port, 42);
    xend_config_free(cfg);
}

static void collect(void *arg, const char *msg)
{
    char *all = arg;
    const char *file = strstr(msg, "many.conf"); /* without the test's temporary directory */
    strcat(all, file != NULL ? file : msg);
    strcat(all, "\n");
}

/* xend check: every bad value kept, each lookup going on with its default, then listed
 * with the unknown settings in the file's order, each once. */
static void collected_problems_are_all_named_in_order(void **state)
{
    (void)state;
    struct xend_config *cfg =
        load_ok("many.conf", "xend-prot = 1;\nlog-level = \"loud\";\nxend-port = 70000;\n");
    xend_config_collect_problems(cfg);
    struct xend_err err = {0};
    long long port = 42;
    int level = 7;
    assert_int_equal(xend_config_get_int(cfg, "xend-port", 8000, 1, 65535, &port, &err), 0);
    assert_int_equal(port, 8000);
    assert_int_equal(xend_config_get_int(cfg, "xend-port", 8000, 1, 65535, &port, &err), 0);
    const char *const levels[] = {"info", "debug", NULL};
    assert_int_equal(xend_config_get_enum(cfg, "log-level", levels, 1, &level, &err), 0);
    assert_int_equal(level, 1);
    assert_int_equal(xend_config_invalid(cfg, "state-dir", &err, "must not be empty"), 0);
    char all[2048] = "";
    assert_int_equal(xend_config_problems_each(cfg, collect, all), 4);
    assert_string_equal(all,
                        "setting 'state-dir' must not be empty\n"
                        "many.conf:1: unknown setting 'xend-prot'; did you mean 'xend-port'?\n"
                        "many.conf:2: setting 'log-level' must be one of info, debug, not 'loud'\n"
                        "many.conf:3: setting 'xend-port' must be an integer between 1 and "
                        "65535, not 70000\n");
    assert_int_equal(err.code, 0);
    xend_config_free(cfg);
}

/* libconfig 1.5 stores 99999999999 as the int 1215752191 without complaint. */
static void int_past_32_bits_is_not_truncated(void **state)
{
    (void)state;
    struct xend_config *cfg = load_ok("overflow.conf", "a = 1;\n"
                                                       "xend-port = 99999999999;\n"
                                                       "log-max-size = 4294967297;\n"
                                                       "huge = 99999999999999999999999;\n");
    struct xend_err err = {0};
    long long v;
    assert_int_equal(xend_config_get_int(cfg, "xend-port", 8000, 1, 65535, &v, &err), -XEND_EINVAL);
    assert_ends_with(err.msg, "overflow.conf:2: setting 'xend-port' must be an integer between "
                              "1 and 65535, not 99999999999");
    xend_err_clear(&err);
    assert_int_equal(xend_config_get_int(cfg, "log-max-size", 0, 0, INT64_MAX, &v, &err), 0);
    assert_int_equal(v, 4294967297LL);
    assert_int_equal(xend_config_get_int(cfg, "huge", 0, INT64_MIN, INT64_MAX, &v, &err),
                     -XEND_EINVAL);
    assert_non_null(strstr(err.msg, "overflow.conf:4: setting 'huge'"));
    xend_config_free(cfg);
}

static void yes_no_strings_are_booleans(void **state)
{
    (void)state;
    struct xend_config *cfg = load_ok("yesno.conf", "a = \"yes\";\nb = \"no\";\nc = \"On\";\n"
                                                    "d = true;\ne = 0;\nf = \"maybe\";\n");
    struct xend_err err = {0};
    bool a = false, b = true, c = false, d = false, e = true, f;
    assert_int_equal(xend_config_get_bool(cfg, "a", false, &a, &err), 0);
    assert_int_equal(xend_config_get_bool(cfg, "b", true, &b, &err), 0);
    assert_int_equal(xend_config_get_bool(cfg, "c", false, &c, &err), 0);
    assert_int_equal(xend_config_get_bool(cfg, "d", false, &d, &err), 0);
    assert_int_equal(xend_config_get_bool(cfg, "e", true, &e, &err), 0);
    assert_true(a);
    assert_false(b);
    assert_true(c);
    assert_true(d);
    assert_false(e);
    assert_int_equal(xend_config_get_bool(cfg, "f", true, &f, &err), -XEND_EINVAL);
    assert_ends_with(err.msg,
                     "yesno.conf:6: setting 'f' must be true or false (or \"yes\"/\"no\"), "
                     "not 'maybe'");
    xend_config_free(cfg);
}

static void bare_yes_is_a_syntax_error_with_a_hint(void **state)
{
    (void)state;
    const char *msg = load_err("bare.conf", "xend-port = 8000;\nvif-antispoof = yes;\n");
    assert_non_null(strstr(msg, "bare.conf:2: syntax error"));
    assert_non_null(strstr(msg, "true or false"));
}

static void libconfig_syntax_error_names_line(void **state)
{
    (void)state;
    const char *msg = load_err("syntax.conf", "a = 1;\nb = 2;\nc = \"x\"\nd = ;\n");
    assert_non_null(strstr(msg, "syntax.conf:4: syntax error"));
}

static const char legacy_sxp[] = "# xend-config.sxp as in 2004\n"
                                 "\n"
                                 "(xend-port 8002)\n"
                                 "(xend-address '')   # all addresses\n"
                                 "(vif-bridge xen-br0)\n"
                                 "(vif-antispoof yes)\n"
                                 "(network-script 'network \\'x\\'')\n"
                                 "(plugins vif vbd\n"
                                 "   sim)\n"
                                 "(backends (sim xenctrl))\n"
                                 "(console-port-base 9600)\n";

static void legacy_sxp_file_is_read_with_lines(void **state)
{
    (void)state;
    struct xend_config *cfg = load_ok("xend-config.sxp", legacy_sxp);
    struct xend_err err = {0};
    long long port;
    const char *addr, *bridge, *script;
    bool spoof = false;
    const char *const *list;
    size_t n;
    assert_int_equal(xend_config_get_int(cfg, "xend-port", 8000, 1, 65535, &port, &err), 0);
    assert_int_equal(port, 8002);
    assert_int_equal(xend_config_get_str(cfg, "xend-address", "127.0.0.1", &addr, &err), 0);
    assert_string_equal(addr, "");
    assert_int_equal(xend_config_get_str(cfg, "vif-bridge", NULL, &bridge, &err), 0);
    assert_string_equal(bridge, "xen-br0");
    assert_int_equal(xend_config_get_bool(cfg, "vif-antispoof", false, &spoof, &err), 0);
    assert_true(spoof);
    assert_int_equal(xend_config_get_str(cfg, "network-script", NULL, &script, &err), 0);
    assert_string_equal(script, "network 'x'");
    assert_int_equal(xend_config_get_list(cfg, "plugins", &list, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(list[2], "sim");
    assert_int_equal(xend_config_get_list(cfg, "backends", &list, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[1], "xenctrl");
    /* line counting went through comments, a quoted string and a two-line entry */
    assert_int_equal(xend_config_check_unknown(cfg, &err), -XEND_EINVAL);
    assert_ends_with(err.msg, "xend-config.sxp:11: unknown setting 'console-port-base'");
    xend_config_free(cfg);
}

static void sxp_is_detected_by_content(void **state)
{
    (void)state;
    struct xend_config *cfg = load_ok("legacy.conf", "# old style\n(xend-port 8003)\n");
    struct xend_err err = {0};
    long long port;
    assert_int_equal(xend_config_get_int(cfg, "xend-port", 8000, 1, 65535, &port, &err), 0);
    assert_int_equal(port, 8003);
    xend_config_free(cfg);
}

static void sxp_bad_value_names_its_line(void **state)
{
    (void)state;
    struct xend_config *cfg = load_ok("bad.sxp", "(xend-port 8000)\n\n(vif-antispoof maybe)\n"
                                                 "(xend-port2 abc)\n");
    struct xend_err err = {0};
    bool b;
    long long v;
    assert_int_equal(xend_config_get_bool(cfg, "vif-antispoof", true, &b, &err), -XEND_EINVAL);
    assert_ends_with(err.msg, "bad.sxp:3: setting 'vif-antispoof' must be true or false "
                              "(or \"yes\"/\"no\"), not 'maybe'");
    xend_err_clear(&err);
    assert_int_equal(xend_config_get_int(cfg, "xend-port2", 1, 1, 10, &v, &err), -XEND_EINVAL);
    assert_ends_with(err.msg, "bad.sxp:4: setting 'xend-port2' must be an integer between 1 and "
                              "10, not 'abc'");
    xend_config_free(cfg);
}

static void sxp_syntax_errors_name_their_entry(void **state)
{
    (void)state;
    const char *msg = load_err("broken.sxp", "(xend-port 8000)\n(vif-bridge 'unterminated)\n");
    assert_non_null(strstr(msg, "broken.sxp:2: "));
    msg = load_err("open.sxp", "(xend-port 8000)\n\n(vif-bridge (x)\n");
    assert_non_null(strstr(msg, "open.sxp:3: "));
    msg = load_err("atom.sxp", "(xend-port 8000)\nstray\n");
    assert_ends_with(msg, "atom.sxp:2: a setting must be (key value)");
    msg = load_err("twice.sxp", "(xend-port 8000)\n(xend-port 8001)\n");
    assert_ends_with(msg, "twice.sxp:2: setting 'xend-port' is set twice (first at line 1)");
}

static void set_overrides_file_value_and_is_named_command_line(void **state)
{
    (void)state;
    struct xend_config *cfg = load_ok("over.conf", "xend-port = 8000;\nplugins = [\"a\"];\n");
    struct xend_err err = {0};
    long long port;
    const char *const *list, *const *old_list;
    size_t n;
    assert_int_equal(xend_config_get_list(cfg, "plugins", &old_list, &n, &err), 0);
    assert_int_equal(xend_config_set(cfg, "xend-port", "9000", &err), 0);
    assert_int_equal(xend_config_set(cfg, "plugins", "vif, vbd sim", &err), 0);
    assert_int_equal(xend_config_set(cfg, "bogus", "1", &err), 0);
    assert_int_equal(xend_config_get_int(cfg, "xend-port", 8000, 1, 65535, &port, &err), 0);
    assert_int_equal(port, 9000);
    assert_int_equal(xend_config_get_list(cfg, "plugins", &list, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(list[0], "vif");
    assert_string_equal(list[2], "sim");
    assert_string_equal(old_list[0], "a"); /* still valid: borrowed for the config's life */
    assert_int_equal(xend_config_check_unknown(cfg, &err), -XEND_EINVAL);
    assert_string_equal(err.msg, "command line: unknown setting 'bogus'");
    xend_err_clear(&err);
    assert_int_equal(xend_config_set(cfg, "xend-port", "http", &err), 0);
    assert_int_equal(xend_config_get_int(cfg, "xend-port", 8000, 1, 65535, &port, &err),
                     -XEND_EINVAL);
    assert_string_equal(err.msg, "command line: setting 'xend-port' must be an integer between "
                                 "1 and 65535, not 'http'");
    xend_err_clear(&err);
    assert_int_equal(xend_config_set(cfg, "bad key", "1", &err), -XEND_EINVAL);
    xend_config_free(cfg);
}

static void empty_list_is_present_but_empty(void **state)
{
    (void)state;
    struct xend_config *cfg = xend_config_empty();
    struct xend_err err = {0};
    const char *const *list;
    size_t n = 5;
    assert_int_equal(xend_config_set(cfg, "plugins", "", &err), 0);
    assert_int_equal(xend_config_get_list(cfg, "plugins", &list, &n, &err), 0);
    assert_non_null(list);
    assert_int_equal(n, 0);
    xend_config_free(cfg);
}

static void core_settings_have_documented_defaults(void **state)
{
    (void)state;
    struct xend_config *cfg = xend_config_empty();
    struct xend_settings st;
    struct xend_err err = {0};
    assert_int_equal(xend_settings_read(cfg, &st, &err), 0);
    assert_int_equal(st.port, 8000);
    assert_string_equal(st.address, "127.0.0.1");
    assert_string_equal(st.state_dir, "/var/lib/xend");
    assert_string_equal(st.log_file, "/var/log/xend.log");
    assert_int_equal(st.log_level, XEND_LOG_INFO);
    assert_int_equal(st.log_max_size, 1 << 20);
    assert_int_equal(st.log_max_files, 5);
    assert_string_equal(st.pid_file, "/var/run/xend.pid");
    assert_null(st.plugin_dir);
    assert_null(st.plugins);
    assert_string_equal(st.backend, "auto");
    assert_string_equal(st.script_dir, "/etc/xen");
    xend_config_free(cfg);
}

static void core_settings_read_the_example_file(void **state)
{
    (void)state;
    /* examples/xend.conf sets every core key to its default: nothing may be unknown. */
    struct xend_err err = {0};
    struct xend_config *cfg = xend_config_load(XEND_EXAMPLE_CONF, true, &err);
    if (cfg == NULL)
        fail_msg("%s", err.msg);
    struct xend_settings st;
    assert_int_equal(xend_settings_read(cfg, &st, &err), 0);
    assert_int_equal(st.port, XEND_DEFAULT_PORT);
    assert_string_equal(st.address, XEND_DEFAULT_ADDRESS);
    assert_int_equal(st.log_max_size, XEND_DEFAULT_LOG_MAX_SIZE);
    xend_config_free(cfg);
}

static void bad_log_level_lists_the_choices(void **state)
{
    (void)state;
    struct xend_config *cfg = load_ok("level.conf", "log-level = \"loud\";\n");
    struct xend_settings st;
    struct xend_err err = {0};
    assert_int_equal(xend_settings_read(cfg, &st, &err), -XEND_EINVAL);
    assert_ends_with(err.msg, "level.conf:1: setting 'log-level' must be one of error, warn, "
                              "notice, info, debug, not 'loud'");
    xend_config_free(cfg);
    cfg = load_ok("level2.conf", "log-level = \"DEBUG\";\npid-file = \"\";\n");
    xend_err_clear(&err);
    assert_int_equal(xend_settings_read(cfg, &st, &err), -XEND_EINVAL);
    assert_ends_with(err.msg, "level2.conf:2: setting 'pid-file' must not be empty");
    assert_int_equal(st.log_level, XEND_LOG_DEBUG);
    xend_config_free(cfg);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(libconfig_file_gives_every_type),
        cmocka_unit_test(absent_keys_give_defaults),
        cmocka_unit_test(missing_file_is_empty_unless_required),
        cmocka_unit_test(unknown_key_is_named_with_file_and_line),
        cmocka_unit_test(unknown_key_suggests_what_was_asked_for),
        cmocka_unit_test(wrong_type_names_file_line_and_key),
        cmocka_unit_test(out_of_range_int_is_refused),
        cmocka_unit_test(collected_problems_are_all_named_in_order),
        cmocka_unit_test(int_past_32_bits_is_not_truncated),
        cmocka_unit_test(yes_no_strings_are_booleans),
        cmocka_unit_test(bare_yes_is_a_syntax_error_with_a_hint),
        cmocka_unit_test(libconfig_syntax_error_names_line),
        cmocka_unit_test(legacy_sxp_file_is_read_with_lines),
        cmocka_unit_test(sxp_is_detected_by_content),
        cmocka_unit_test(sxp_bad_value_names_its_line),
        cmocka_unit_test(sxp_syntax_errors_name_their_entry),
        cmocka_unit_test(set_overrides_file_value_and_is_named_command_line),
        cmocka_unit_test(empty_list_is_present_but_empty),
        cmocka_unit_test(core_settings_have_documented_defaults),
        cmocka_unit_test(core_settings_read_the_example_file),
        cmocka_unit_test(bad_log_level_lists_the_choices),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
