/*
 * Fuzz target: the config loader (core/config) over a temporary file, as xend reads
 * /etc/xen/xend.conf (libconfig) or, built with FUZZ_CONFIG_SXP, a legacy xend-config.sxp
 * (the .sxp suffix forces SXP; without it a file starting with '(' is read as SXP too).
 * Then every kind of lookup the core and the plugins make, on keys that seeds set.
 *
 * Contract checked: a config or an error with a message naming the file, never both;
 * every lookup returns 0 or -EINVAL with a message, and a string it hands out stays
 * readable until the config is freed.
 */
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "fuzz.h"

#ifdef FUZZ_CONFIG_SXP
const char xend_fuzz_name[] = "config_sxp";
#define SUFFIX ".sxp"
#else
const char xend_fuzz_name[] = "config";
#define SUFFIX ".conf"
#endif

const char *const xend_fuzz_dict[] = {
    "(",
    ")",
    "\"",
    "'",
    "#",
    "\n",
    " = ",
    ": ",
    ";",
    ",",
    "{",
    "}",
    "[",
    "]",
    "0x",
    "9223372036854775808",
    "-9223372036854775809",
    "2147483648",
    "true",
    "yes",
    "1.5e309",
    "L",
    "xend-port",
    "sim",
    "plugins",
    "sim.cpus",
    "\\",
    "@include ",
    "/*",
    "*/",
    "//",
    NULL,
};

static char path[256];

static void remove_file(void)
{
    if (path[0])
        unlink(path);
}

/* One file per process (libFuzzer's -jobs run several), created once. */
static const char *temp_path(void)
{
    if (path[0] == '\0') {
        const char *dir = getenv("TMPDIR");
        snprintf(path, sizeof(path), "%s/xend-fuzz-%s-XXXXXX" SUFFIX, dir && dir[0] ? dir : "/tmp",
                 xend_fuzz_name);
        int fd = mkstemps(path, (int)strlen(SUFFIX));
        FUZZ_CHECK(fd >= 0);
        close(fd);
        atexit(remove_file);
    }
    return path;
}

static void lookups(struct xend_config *cfg)
{
    static const char *const keys[] = {
        "xend-port", "xend-address", "log-level", "plugins",     "sim.cpus", "sim",
        "a",         "a.b",          "x",         "enable-dump", "",         NULL,
    };
    static const char *const choices[] = {"error", "warn", "info", NULL};
    for (const char *const *k = keys; *k != NULL; k++) {
        struct xend_err err = {0};
        const char *s = NULL;
        long long i;
        bool b;
        const char *const *list;
        size_t n;
        int e;
        if (xend_config_get_str(cfg, *k, "dflt", &s, &err) == 0)
            FUZZ_CHECK(s != NULL && strlen(s) < (1u << 24));
        else
            FUZZ_CHECK(err.code == XEND_EINVAL && err.msg[0] != '\0');
        err = (struct xend_err){0};
        if (xend_config_get_int(cfg, *k, 5, -10, 1000, &i, &err) == 0)
            FUZZ_CHECK(i >= -10 && i <= 1000);
        else
            FUZZ_CHECK(err.code == XEND_EINVAL && err.msg[0] != '\0');
        err = (struct xend_err){0};
        if (xend_config_get_int(cfg, *k, 0, INT64_MIN, INT64_MAX, &i, &err) != 0)
            FUZZ_CHECK(err.msg[0] != '\0');
        err = (struct xend_err){0};
        if (xend_config_get_bool(cfg, *k, false, &b, &err) != 0)
            FUZZ_CHECK(err.msg[0] != '\0');
        err = (struct xend_err){0};
        if (xend_config_get_list(cfg, *k, &list, &n, &err) == 0) {
            for (size_t j = 0; j < n; j++)
                FUZZ_CHECK(list[j] != NULL);
        } else {
            FUZZ_CHECK(err.msg[0] != '\0');
        }
        err = (struct xend_err){0};
        if (xend_config_get_enum(cfg, *k, choices, 1, &e, &err) == 0)
            FUZZ_CHECK(e >= 0 && e < 3);
        else
            FUZZ_CHECK(err.msg[0] != '\0');
        (void)xend_config_has(cfg, *k);
        /* A value set over one handed out earlier: the old string must stay valid. */
        err = (struct xend_err){0};
        if (s != NULL && xend_config_set(cfg, *k, "1", &err) == 0)
            FUZZ_CHECK(strlen(s) < (1u << 24));
    }
    struct xend_err err = {0};
    if (xend_config_check_unknown(cfg, &err) != 0)
        FUZZ_CHECK(err.msg[0] != '\0');
}

int xend_fuzz_target(const uint8_t *data, size_t size)
{
    const char *p = temp_path();
    FILE *f = fopen(p, "wb");
    FUZZ_CHECK(f != NULL);
    FUZZ_CHECK(fwrite(data, 1, size, f) == size);
    FUZZ_CHECK(fclose(f) == 0);

    struct xend_err err = {0};
    struct xend_config *cfg = xend_config_load(p, true, &err);
    if (cfg == NULL) {
        FUZZ_CHECK(err.code != 0 && err.msg[0] != '\0');
        return 0;
    }
    FUZZ_CHECK(strcmp(xend_config_path(cfg), p) == 0);
    lookups(cfg);
    xend_config_free(cfg);
    return 0;
}
