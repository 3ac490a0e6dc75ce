/*
 * xend's configuration: /etc/xen/xend.conf (libconfig syntax), or a legacy
 * xend-config.sxp given with -c (same keys, SXP syntax), read once at start into a table of
 * settings that remembers each one's file and line.
 *
 * Keys become "known" when the core or a plugin looks them up; xend_config_check_unknown()
 * then reports the first setting nobody asked for, naming file, line and key.
 * Lookups never abort: a wrong type or an out-of-range value returns -XEND_EINVAL with an
 * error naming file, line and key (or, collecting for xend check, is kept and the default
 * given).
 *
 * Threads: loop thread only (read-only after start, so workers may read looked-up values).
 */
#ifndef XEND_CORE_CONFIG_H
#define XEND_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include <xend/abi.h>

struct xend_config; /* opaque */

/* Load `path`; a .sxp suffix, or a file whose first thing after blanks and # comments is
 * '(', is read as legacy SXP (top-level `(key value)` entries).
 * A missing file with must_exist false gives an empty config (all defaults).
 * Returns NULL with err set ("xend.conf:12: syntax error"). Owned: xend_config_free. */
struct xend_config *xend_config_load(const char *path, bool must_exist, struct xend_err *err);
/* An empty config (every key at its default); for tests and for "no file". */
struct xend_config *xend_config_empty(void);
void xend_config_free(struct xend_config *cfg);
const char *xend_config_path(const struct xend_config *cfg); /* borrowed */

/* Set or override a value from the command line or a test ("key", "value" as text, typed
 * at lookup); messages about it say "command line:". Strings handed out earlier for the
 * key stay valid. -XEND_EINVAL when key is not [A-Za-z0-9_.-]+. */
int xend_config_set(struct xend_config *cfg, const char *key, const char *value,
                    struct xend_err *err);

/* Lookups: *out borrowed for the config's life. Mark the key known. */
int xend_config_get_str(struct xend_config *cfg, const char *key, const char *dflt,
                        const char **out, struct xend_err *err);
int xend_config_get_int(struct xend_config *cfg, const char *key, long long dflt, long long min,
                        long long max, long long *out, struct xend_err *err);
/* true/false, or the strings (any case) yes/no, on/off, true/false, 1/0; libconfig 0/1. */
int xend_config_get_bool(struct xend_config *cfg, const char *key, bool dflt, bool *out,
                         struct xend_err *err);
/* A list of strings (libconfig list/array, or an SXP list). *out and its strings borrowed;
 * *n = 0 and *out = NULL when absent; a present but empty list gives a non-NULL *out with
 * *n = 0. One string is a list of one; a value set with xend_config_set is split at commas
 * and blanks ("vif,vbd sim"). */
int xend_config_get_list(struct xend_config *cfg, const char *key, const char *const **out,
                         size_t *n, struct xend_err *err);
/* One of `choices` (NULL-terminated, compared ignoring case): *out is its index; dflt
 * when absent. A text or string setting only. */
int xend_config_get_enum(struct xend_config *cfg, const char *key, const char *const *choices,
                         int dflt, int *out, struct xend_err *err);
bool xend_config_has(const struct xend_config *cfg, const char *key);

/* For checks beyond type and range: set err to "FILE:LINE: setting 'KEY' <fmt...>" at
 * the key's place (or without a place when absent) and return -XEND_EINVAL. */
int xend_config_invalid(struct xend_config *cfg, const char *key, struct xend_err *err,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Call fn with "FILE:LINE: unknown setting 'KEY'; did you mean 'K2'?" (borrowed for the
 * call) for each setting that no lookup asked for; returns how many. */
size_t xend_config_unknown_each(const struct xend_config *cfg,
                                void (*fn)(void *arg, const char *msg), void *arg);
/* 0, or -XEND_EINVAL naming the first setting that no lookup asked for. */
int xend_config_check_unknown(const struct xend_config *cfg, struct xend_err *err);

/*
 * For xend check, which names every problem in one run: from now on a lookup that finds a
 * bad value (and xend_config_invalid) keeps the message and returns 0, the lookup giving
 * its default. xend_config_problems_each then calls fn with each kept message and each
 * unknown setting, ordered by file and line; returns how many.
 */
void xend_config_collect_problems(struct xend_config *cfg);
size_t xend_config_problems_each(struct xend_config *cfg, void (*fn)(void *arg, const char *msg),
                                 void *arg);

#endif
