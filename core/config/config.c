/*
 * xend's configuration: reads xend.conf (libconfig) or a legacy xend-config.sxp into one
 * flat table of settings, each remembering its file and line, and answers typed lookups.
 *
 * The file is read once and copied into our own table, so lookups do not depend on which
 * parser read it, and every error message has the same `FILE:LINE: setting 'KEY' ...` form.
 * libconfig groups are flattened to dotted keys ("sim.cpus").
 *
 * Must never: abort or exit on a bad file (errors go back in struct xend_err), accept a
 * value it had to truncate (libconfig 1.5 silently truncates integers past 32 bits, so
 * integers are re-read from the source text), or invalidate a string it handed out while
 * the config lives.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <inttypes.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "suggest.h"
#include "sxp.h"

/* Larger files are not configuration. */
#define CONFIG_FILE_MAX (4u << 20)
#define CONFIG_CMDLINE "command line"

enum cfg_kind {
    CFG_TEXT,  /* untyped text: an SXP atom or a command-line value */
    CFG_STR,   /* libconfig string */
    CFG_INT,   /* libconfig integer */
    CFG_FLOAT, /* libconfig float */
    CFG_BOOL,  /* libconfig true/false */
    CFG_LIST,  /* a list of strings (libconfig array/list, or SXP list) */
    CFG_OTHER, /* something no lookup accepts (a list of numbers ...); `what` says what */
};

struct cfg_setting {
    char *key;
    const char *file; /* borrowed from cfg->files */
    unsigned line;    /* 0: no line (command line) */
    enum cfg_kind kind;
    char *text;        /* CFG_TEXT, CFG_STR, and the source text of CFG_INT/CFG_FLOAT */
    long long ival;    /* CFG_INT */
    bool int_overflow; /* CFG_INT past 64 bits */
    bool bval;         /* CFG_BOOL */
    char **items;      /* CFG_LIST; built lazily from a command-line CFG_TEXT */
    size_t n_items;
    bool split_text;  /* CFG_TEXT from the command line: a list is comma/space separated */
    const char *what; /* CFG_OTHER */
    bool known;
};

struct xend_config {
    char *path;
    struct cfg_setting *set;
    size_t n, cap;
    char **files; /* file names settings point into (includes add more) */
    size_t n_files;
    void **retired; /* values replaced by xend_config_set, freed with the config */
    size_t n_retired;
    char **absent; /* keys asked for that no file set: the names "did you mean" offers */
    size_t n_absent;
    /* xend check: bad values are kept here, each lookup going on with its default, so that
     * one run names every problem (xend_config_collect_problems). */
    bool collect;
    struct cfg_problem *problems;
    size_t n_problems;
};

struct cfg_problem {
    const char *file; /* borrowed from cfg->files, or a literal */
    unsigned line;    /* 0: no line */
    char *msg;
};

static const char *const empty_list[1] = {NULL};

/* ---- table ------------------------------------------------------------------------ */

static const char *intern_file(struct xend_config *cfg, const char *file)
{
    for (size_t i = 0; i < cfg->n_files; i++)
        if (strcmp(cfg->files[i], file) == 0)
            return cfg->files[i];
    cfg->files = xend_xrealloc(cfg->files, (cfg->n_files + 1) * sizeof(*cfg->files));
    cfg->files[cfg->n_files] = xend_xstrdup(file);
    return cfg->files[cfg->n_files++];
}

static struct cfg_setting *find(const struct xend_config *cfg, const char *key)
{
    for (size_t i = 0; i < cfg->n; i++)
        if (strcmp(cfg->set[i].key, key) == 0)
            return &cfg->set[i];
    return NULL;
}

static struct cfg_setting *add(struct xend_config *cfg, const char *key, const char *file,
                               unsigned line)
{
    if (cfg->n == cfg->cap) {
        cfg->cap = cfg->cap ? cfg->cap * 2 : 32;
        cfg->set = xend_xrealloc(cfg->set, cfg->cap * sizeof(*cfg->set));
    }
    struct cfg_setting *s = &cfg->set[cfg->n++];
    memset(s, 0, sizeof(*s));
    s->key = xend_xstrdup(key);
    s->file = intern_file(cfg, file);
    s->line = line;
    return s;
}

static void free_items(char **items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(items[i]);
    free(items);
}

static void retire(struct xend_config *cfg, void *p)
{
    if (p == NULL)
        return;
    cfg->retired = xend_xrealloc(cfg->retired, (cfg->n_retired + 1) * sizeof(void *));
    cfg->retired[cfg->n_retired++] = p;
}

struct xend_config *xend_config_empty(void)
{
    struct xend_config *cfg = xend_xcalloc(1, sizeof(*cfg));
    cfg->path = xend_xstrdup("");
    return cfg;
}

void xend_config_free(struct xend_config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < cfg->n; i++) {
        free(cfg->set[i].key);
        free(cfg->set[i].text);
        free_items(cfg->set[i].items, cfg->set[i].n_items);
    }
    for (size_t i = 0; i < cfg->n_files; i++)
        free(cfg->files[i]);
    for (size_t i = 0; i < cfg->n_retired; i++)
        free(cfg->retired[i]);
    free(cfg->retired);
    for (size_t i = 0; i < cfg->n_absent; i++)
        free(cfg->absent[i]);
    free(cfg->absent);
    for (size_t i = 0; i < cfg->n_problems; i++)
        free(cfg->problems[i].msg);
    free(cfg->problems);
    free(cfg->files);
    free(cfg->set);
    free(cfg->path);
    free(cfg);
}

const char *xend_config_path(const struct xend_config *cfg)
{
    return cfg->path;
}

bool xend_config_has(const struct xend_config *cfg, const char *key)
{
    return find(cfg, key) != NULL;
}

/* ---- errors ----------------------------------------------------------------------- */

/* A key looked up twice (by the core and a plugin) is one problem. */
static void add_problem(struct xend_config *cfg, const char *file, unsigned line, const char *msg)
{
    for (size_t i = 0; i < cfg->n_problems; i++)
        if (strcmp(cfg->problems[i].msg, msg) == 0)
            return;
    cfg->problems = xend_xrealloc(cfg->problems, (cfg->n_problems + 1) * sizeof(*cfg->problems));
    cfg->problems[cfg->n_problems++] =
        (struct cfg_problem){.file = file, .line = line, .msg = xend_xstrdup(msg)};
}

/* Every message about a setting starts with where it was set. Collecting, the problem is
 * kept and 0 returned: the lookup then goes on with its default. */
static int vsetting_err(struct xend_config *cfg, struct xend_err *err, const struct cfg_setting *s,
                        const char *fmt, va_list ap)
{
    char what[XEND_ERR_MSG_MAX], msg[XEND_ERR_MSG_MAX + 256];
    vsnprintf(what, sizeof(what), fmt, ap);
    if (s->line > 0)
        snprintf(msg, sizeof(msg), "%s:%u: setting '%s' %s", s->file, s->line, s->key, what);
    else
        snprintf(msg, sizeof(msg), "%s: setting '%s' %s", s->file, s->key, what);
    if (cfg->collect) {
        add_problem(cfg, s->file, s->line, msg);
        return 0;
    }
    return xend_err_set(err, XEND_EINVAL, "%s", msg);
}

__attribute__((format(printf, 4, 5))) static int setting_err(struct xend_config *cfg,
                                                             struct xend_err *err,
                                                             const struct cfg_setting *s,
                                                             const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vsetting_err(cfg, err, s, fmt, ap);
    va_end(ap);
    return rc;
}

static const char *kind_name(const struct cfg_setting *s)
{
    switch (s->kind) {
    case CFG_TEXT:
        return "text";
    case CFG_STR:
        return "a string";
    case CFG_INT:
        return "an integer";
    case CFG_FLOAT:
        return "a float";
    case CFG_BOOL:
        return "a boolean";
    case CFG_LIST:
        return "a list";
    case CFG_OTHER:
        return s->what;
    }
    return "?";
}

/* ---- libconfig -------------------------------------------------------------------- */

/*
 * libconfig 1.5 stores a decimal integer that does not fit 32 bits truncated, and
 * reports it as a plain int. Find the setting's value in its source line and parse it
 * again with overflow checks. Returns false when the text cannot be found (then the
 * libconfig value stands).
 */
static bool reread_int(const char *file, unsigned line, const char *name, long long *out,
                       bool *overflow)
{
    FILE *f = fopen(file, "r");
    if (f == NULL)
        return false;
    char *buf = NULL;
    size_t cap = 0;
    ssize_t len = 0;
    for (unsigned i = 0; i < line && (len = getline(&buf, &cap, f)) >= 0; i++)
        ;
    fclose(f);
    bool found = false;
    size_t nl = strlen(name);
    for (char *p = buf; len > 0 && p != NULL && (p = strstr(p, name)) != NULL; p += nl) {
        bool start = p == buf || !(isalnum((unsigned char)p[-1]) || strchr("_-*.", p[-1]));
        char *q = p + nl;
        if (!start || isalnum((unsigned char)*q) || (*q != '\0' && strchr("_-*", *q)))
            continue;
        q += strspn(q, " \t");
        if (*q != '=' && *q != ':')
            continue;
        q++;
        q += strspn(q, " \t");
        char *digits = q + (*q == '-' || *q == '+');
        int base = (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) ? 16 : 10;
        char *end;
        errno = 0;
        long long v = strtoll(q, &end, base);
        if (end == q)
            continue;
        *overflow = errno == ERANGE;
        *out = v;
        found = true;
        break;
    }
    free(buf);
    return found;
}

static void copy_lc_setting(struct xend_config *cfg, config_setting_t *cs, const char *prefix);

static void copy_lc_group(struct xend_config *cfg, config_setting_t *group, const char *prefix)
{
    for (int i = 0; i < config_setting_length(group); i++)
        copy_lc_setting(cfg, config_setting_get_elem(group, (unsigned)i), prefix);
}

static void copy_lc_setting(struct xend_config *cfg, config_setting_t *cs, const char *prefix)
{
    const char *name = config_setting_name(cs);
    char *key = prefix[0] ? xend_xasprintf("%s.%s", prefix, name) : xend_xstrdup(name);
    if (config_setting_type(cs) == CONFIG_TYPE_GROUP) {
        copy_lc_group(cfg, cs, key);
        free(key);
        return;
    }
    const char *file = config_setting_source_file(cs);
    if (file == NULL)
        file = cfg->path;
    struct cfg_setting *s = add(cfg, key, file, config_setting_source_line(cs));
    free(key);
    switch (config_setting_type(cs)) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        s->kind = CFG_INT;
        s->ival = config_setting_get_int64(cs);
        if (config_setting_type(cs) == CONFIG_TYPE_INT) {
            long long v;
            bool over = false;
            if (reread_int(s->file, s->line, name, &v, &over)) {
                s->ival = v;
                s->int_overflow = over;
            }
        }
        break;
    case CONFIG_TYPE_FLOAT:
        s->kind = CFG_FLOAT;
        s->text = xend_xasprintf("%g", config_setting_get_float(cs));
        break;
    case CONFIG_TYPE_STRING:
        s->kind = CFG_STR;
        s->text = xend_xstrdup(config_setting_get_string(cs));
        break;
    case CONFIG_TYPE_BOOL:
        s->kind = CFG_BOOL;
        s->bval = config_setting_get_bool(cs) != 0;
        break;
    case CONFIG_TYPE_ARRAY:
    case CONFIG_TYPE_LIST: {
        int n = config_setting_length(cs);
        s->kind = CFG_LIST;
        s->items = xend_xcalloc((size_t)n + 1, sizeof(char *));
        for (int i = 0; i < n; i++) {
            const char *v = config_setting_get_string_elem(cs, i);
            if (v == NULL) {
                s->kind = CFG_OTHER;
                s->what = "a list with items that are not strings";
                break;
            }
            s->items[s->n_items++] = xend_xstrdup(v);
        }
        break;
    }
    default:
        s->kind = CFG_OTHER;
        s->what = "of an unknown type";
        break;
    }
}

/* A hint for the commonest mistakes on the line of a syntax error: `key = yes;` (not
 * libconfig) and unquoted strings. */
static const char *syntax_hint(const char *file, int line)
{
    FILE *f = line > 0 ? fopen(file, "r") : NULL;
    if (f == NULL)
        return "";
    char *buf = NULL;
    size_t cap = 0;
    ssize_t len = 0;
    for (int i = 0; i < line && (len = getline(&buf, &cap, f)) >= 0; i++)
        ;
    fclose(f);
    static const char *const bools[] = {"yes", "no", "on", "off"};
    const char *hint = "";
    for (char *p = buf; len > 0 && hint[0] == '\0' && (p = strpbrk(p, "=:")) != NULL; p++) {
        char *v = p + 1 + strspn(p + 1, " \t");
        size_t w = 0;
        while (isalpha((unsigned char)v[w]))
            w++;
        if (w == 0 || strchr(" \t;,", v[w]) == NULL)
            continue;
        if ((w == 4 && strncasecmp(v, "true", 4) == 0) ||
            (w == 5 && strncasecmp(v, "false", 5) == 0))
            continue;
        hint = " (strings must be quoted: \"...\")";
        for (size_t b = 0; b < 4; b++)
            if (w == strlen(bools[b]) && strncasecmp(v, bools[b], w) == 0)
                hint = " (write true or false, or quote it: \"yes\")";
    }
    free(buf);
    return hint;
}

/* From the text already read, never by reading the path again: a config on a pipe or
 * /dev/stdin can be read only once (the second read found nothing, and xend ran on its
 * defaults without a word). text is NUL-terminated. */
static int load_libconfig(struct xend_config *cfg, const char *text, struct xend_err *err)
{
    config_t lc;
    config_init(&lc);
    if (config_read_string(&lc, text) != CONFIG_TRUE) {
        const char *file = config_error_file(&lc) ? config_error_file(&lc) : cfg->path;
        int rc = xend_err_set(err, XEND_EINVAL, "%s:%d: %s%s", file, config_error_line(&lc),
                              config_error_text(&lc), syntax_hint(file, config_error_line(&lc)));
        config_destroy(&lc);
        return rc;
    }
    copy_lc_group(cfg, config_root_setting(&lc), "");
    config_destroy(&lc);
    return 0;
}

/* ---- legacy SXP ------------------------------------------------------------------- */

/* Skip whitespace and # comments from p, counting lines. */
static const char *sxp_skip(const char *p, const char *end, unsigned *line)
{
    while (p < end) {
        if (*p == '\n') {
            (*line)++;
            p++;
        } else if (isspace((unsigned char)*p)) {
            p++;
        } else if (*p == '#') {
            while (p < end && *p != '\n')
                p++;
        } else {
            break;
        }
    }
    return p;
}

/* The end of the top-level list starting at p ('('), or end when it is not closed. The
 * lexical rules match the SXP parser's: strings in '' or "" with backslash escapes, #
 * comments; the parser itself reports what is wrong inside. */
static const char *sxp_list_end(const char *p, const char *end, unsigned *line)
{
    int depth = 0;
    while (p < end) {
        char c = *p++;
        if (c == '\n') {
            (*line)++;
        } else if (c == '#') {
            while (p < end && *p != '\n')
                p++;
        } else if (c == '"' || c == '\'') {
            while (p < end && *p != c) {
                if (*p == '\\' && p + 1 < end)
                    p++;
                if (*p == '\n')
                    (*line)++;
                p++;
            }
            if (p < end)
                p++;
        } else if (c == '(') {
            depth++;
        } else if (c == ')') {
            if (--depth == 0)
                return p;
        }
    }
    return end;
}

static int sxp_entry(struct xend_config *cfg, const struct xend_sxp *e, unsigned line,
                     struct xend_err *err)
{
    const char *key = xend_sxp_name(e);
    if (key == NULL || key[0] == '\0')
        return xend_err_set(err, XEND_EINVAL, "%s:%u: a setting must be (key value)", cfg->path,
                            line);
    struct cfg_setting *dup = find(cfg, key);
    if (dup != NULL)
        return xend_err_set(err, XEND_EINVAL, "%s:%u: setting '%s' is set twice (first at line %u)",
                            cfg->path, line, key, dup->line);
    struct cfg_setting *s = add(cfg, key, cfg->path, line);
    size_t n = xend_sxp_length(e);
    /* (key), (key v) and (key v1 v2 ...) or (key (v1 v2 ...)) */
    const struct xend_sxp *vals = e;
    size_t first = 1;
    if (n == 2 && xend_sxp_is_list(xend_sxp_nth(e, 1))) {
        vals = xend_sxp_nth(e, 1);
        first = 0;
        n = xend_sxp_length(vals);
    } else if (n <= 2) {
        s->kind = CFG_TEXT;
        s->text = xend_xstrdup(n == 2 ? xend_sxp_atom_text(xend_sxp_nth(e, 1)) : "");
        return 0;
    }
    s->kind = CFG_LIST;
    s->items = xend_xcalloc(n + 1, sizeof(char *));
    for (size_t i = first; i < n; i++) {
        const char *t = xend_sxp_atom_text(xend_sxp_nth(vals, i));
        if (t == NULL) {
            s->kind = CFG_OTHER;
            s->what = "a nested list";
            break;
        }
        s->items[s->n_items++] = xend_xstrdup(t);
    }
    return 0;
}

static int load_sxp(struct xend_config *cfg, const char *text, size_t len, struct xend_err *err)
{
    const char *p = text, *end = text + len;
    unsigned line = 1;
    for (;;) {
        p = sxp_skip(p, end, &line);
        if (p >= end)
            return 0;
        unsigned start_line = line;
        if (*p != '(')
            return xend_err_set(err, XEND_EINVAL, "%s:%u: a setting must be (key value)", cfg->path,
                                line);
        const char *q = sxp_list_end(p, end, &line);
        struct xend_sxp *e = NULL;
        char msg[256];
        if (xend_sxp_parse(p, (size_t)(q - p), NULL, &e, msg, sizeof(msg)) != 0)
            return xend_err_set(err, XEND_EINVAL, "%s:%u: %s", cfg->path, start_line, msg);
        int rc = sxp_entry(cfg, e, start_line, err);
        xend_sxp_free(e);
        if (rc != 0)
            return rc;
        p = q;
    }
}

/* A legacy file: named *.sxp, or its first thing that is not a # comment is a '('. */
static bool looks_like_sxp(const char *path, const char *text, size_t len)
{
    size_t pl = strlen(path);
    if (pl >= 4 && strcmp(path + pl - 4, ".sxp") == 0)
        return true;
    unsigned line = 0;
    const char *p = sxp_skip(text, text + len, &line);
    return p < text + len && *p == '(';
}

static int read_file(const char *path, char **out, size_t *len, struct xend_err *err)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return errno == ENOENT ? -XEND_ENOENT
                               : xend_err_set(err, XEND_EIO, "%s: %s", path, strerror(errno));
    struct xend_buf b = XEND_BUF_INIT;
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (b.len + n > CONFIG_FILE_MAX) {
            fclose(f);
            xend_buf_free(&b);
            return xend_err_set(err, XEND_EINVAL, "%s: larger than %u bytes", path,
                                CONFIG_FILE_MAX);
        }
        xend_buf_append(&b, chunk, n);
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        xend_buf_free(&b);
        return xend_err_set(err, XEND_EIO, "%s: read error", path);
    }
    *len = b.len;
    *out = b.data ? xend_buf_steal(&b) : xend_xstrdup("");
    return 0;
}

struct xend_config *xend_config_load(const char *path, bool must_exist, struct xend_err *err)
{
    char *text = NULL;
    size_t len = 0;
    int rc = read_file(path, &text, &len, err);
    if (rc == -XEND_ENOENT && !must_exist) {
        struct xend_config *cfg = xend_config_empty();
        free(cfg->path);
        cfg->path = xend_xstrdup(path);
        return cfg;
    }
    if (rc == -XEND_ENOENT)
        xend_err_set(err, XEND_ENOENT, "%s: %s", path, strerror(ENOENT));
    if (rc != 0)
        return NULL;
    struct xend_config *cfg = xend_config_empty();
    free(cfg->path);
    cfg->path = xend_xstrdup(path);
    if (looks_like_sxp(path, text, len))
        rc = load_sxp(cfg, text, len, err);
    else
        rc = load_libconfig(cfg, text, err);
    free(text);
    if (rc != 0) {
        xend_config_free(cfg);
        return NULL;
    }
    return cfg;
}

/* ---- overrides -------------------------------------------------------------------- */

static bool valid_key(const char *key)
{
    if (key == NULL || key[0] == '\0')
        return false;
    for (const char *p = key; *p; p++)
        if (!isalnum((unsigned char)*p) && strchr("-_.", *p) == NULL)
            return false;
    return true;
}

int xend_config_set(struct xend_config *cfg, const char *key, const char *value,
                    struct xend_err *err)
{
    if (!valid_key(key))
        return xend_err_set(err, XEND_EINVAL, "invalid setting name '%s'", key ? key : "");
    struct cfg_setting *s = find(cfg, key);
    if (s == NULL) {
        s = add(cfg, key, CONFIG_CMDLINE, 0);
    } else {
        /* Earlier lookups may still hold these: keep them until the config is freed. */
        retire(cfg, s->text);
        for (size_t i = 0; i < s->n_items; i++)
            retire(cfg, s->items[i]);
        retire(cfg, s->items);
        bool known = s->known;
        char *k = s->key;
        memset(s, 0, sizeof(*s));
        s->key = k;
        s->known = known;
        s->file = intern_file(cfg, CONFIG_CMDLINE);
    }
    s->kind = CFG_TEXT;
    s->split_text = true;
    s->text = xend_xstrdup(value ? value : "");
    return 0;
}

/* ---- lookups ---------------------------------------------------------------------- */

static void note_absent(struct xend_config *cfg, const char *key)
{
    for (size_t i = 0; i < cfg->n_absent; i++)
        if (strcmp(cfg->absent[i], key) == 0)
            return;
    cfg->absent = xend_xrealloc(cfg->absent, (cfg->n_absent + 1) * sizeof(*cfg->absent));
    cfg->absent[cfg->n_absent++] = xend_xstrdup(key);
}

static struct cfg_setting *lookup(struct xend_config *cfg, const char *key)
{
    struct cfg_setting *s = find(cfg, key);
    if (s != NULL)
        s->known = true;
    else
        note_absent(cfg, key);
    return s;
}

int xend_config_get_str(struct xend_config *cfg, const char *key, const char *dflt,
                        const char **out, struct xend_err *err)
{
    if (cfg->collect) /* a kept problem goes on with the default; else *out is untouched */
        *out = dflt;
    struct cfg_setting *s = lookup(cfg, key);
    if (s == NULL) {
        *out = dflt;
        return 0;
    }
    if (s->kind != CFG_TEXT && s->kind != CFG_STR)
        return setting_err(cfg, err, s, "must be a string, not %s", kind_name(s));
    *out = s->text;
    return 0;
}

int xend_config_get_int(struct xend_config *cfg, const char *key, long long dflt, long long min,
                        long long max, long long *out, struct xend_err *err)
{
    if (cfg->collect)
        *out = dflt;
    struct cfg_setting *s = lookup(cfg, key);
    if (s == NULL) {
        *out = dflt;
        return 0;
    }
    long long v = 0;
    bool ok;
    if (s->kind == CFG_INT) {
        ok = !s->int_overflow;
        v = s->ival;
    } else if (s->kind == CFG_TEXT) {
        ok = xend_sxp_text_int(s->text, &v);
    } else
        return setting_err(cfg, err, s, "must be an integer between %lld and %lld, not %s", min,
                           max, kind_name(s));
    if (!ok || v < min || v > max) {
        if (s->kind == CFG_TEXT)
            return setting_err(cfg, err, s, "must be an integer between %lld and %lld, not '%s'",
                               min, max, s->text);
        if (s->int_overflow)
            return setting_err(cfg, err, s,
                               "must be an integer between %lld and %lld (value too large)", min,
                               max);
        return setting_err(cfg, err, s, "must be an integer between %lld and %lld, not %lld", min,
                           max, v);
    }
    *out = v;
    return 0;
}

static bool parse_bool(const char *t, bool *out)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(t, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(t, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

int xend_config_get_bool(struct xend_config *cfg, const char *key, bool dflt, bool *out,
                         struct xend_err *err)
{
    if (cfg->collect)
        *out = dflt;
    struct cfg_setting *s = lookup(cfg, key);
    if (s == NULL) {
        *out = dflt;
        return 0;
    }
    switch (s->kind) {
    case CFG_BOOL:
        *out = s->bval;
        return 0;
    case CFG_INT:
        if (!s->int_overflow && (s->ival == 0 || s->ival == 1)) {
            *out = s->ival == 1;
            return 0;
        }
        break;
    case CFG_TEXT:
    case CFG_STR:
        if (parse_bool(s->text, out))
            return 0;
        return setting_err(cfg, err, s, "must be true or false (or \"yes\"/\"no\"), not '%s'",
                           s->text);
    default:
        break;
    }
    return setting_err(cfg, err, s, "must be true or false (or \"yes\"/\"no\"), not %s",
                       kind_name(s));
}

/* A command-line list: "a,b c" -> {a, b, c}. */
static void split_items(struct cfg_setting *s)
{
    size_t cap = 4;
    s->items = xend_xcalloc(cap, sizeof(char *));
    for (const char *p = s->text; *p;) {
        p += strspn(p, ", \t");
        size_t w = strcspn(p, ", \t");
        if (w == 0)
            break;
        if (s->n_items + 2 > cap) {
            cap *= 2;
            s->items = xend_xrealloc(s->items, cap * sizeof(char *));
        }
        s->items[s->n_items++] = xend_xstrndup(p, w);
        s->items[s->n_items] = NULL;
        p += w;
    }
}

int xend_config_get_list(struct xend_config *cfg, const char *key, const char *const **out,
                         size_t *n, struct xend_err *err)
{
    struct cfg_setting *s = lookup(cfg, key);
    *out = NULL;
    *n = 0;
    if (s == NULL)
        return 0;
    switch (s->kind) {
    case CFG_TEXT:
    case CFG_STR:
        /* One string is a list of one; a command-line value is split. */
        if (s->items == NULL) {
            if (s->split_text) {
                split_items(s);
            } else if (s->text[0] != '\0') {
                s->items = xend_xcalloc(2, sizeof(char *));
                s->items[s->n_items++] = xend_xstrdup(s->text);
            }
        }
        break;
    case CFG_LIST:
        break;
    default:
        return setting_err(cfg, err, s, "must be a list of strings, not %s", kind_name(s));
    }
    *out = s->items != NULL ? (const char *const *)s->items : empty_list;
    *n = s->n_items;
    return 0;
}

int xend_config_get_enum(struct xend_config *cfg, const char *key, const char *const *choices,
                         int dflt, int *out, struct xend_err *err)
{
    if (cfg->collect)
        *out = dflt;
    struct cfg_setting *s = lookup(cfg, key);
    if (s == NULL) {
        *out = dflt;
        return 0;
    }
    struct xend_buf all = XEND_BUF_INIT;
    for (int i = 0; choices[i] != NULL; i++) {
        if ((s->kind == CFG_TEXT || s->kind == CFG_STR) && strcasecmp(s->text, choices[i]) == 0) {
            xend_buf_free(&all);
            *out = i;
            return 0;
        }
        xend_buf_printf(&all, "%s%s", i ? ", " : "", choices[i]);
    }
    int rc =
        (s->kind == CFG_TEXT || s->kind == CFG_STR)
            ? setting_err(cfg, err, s, "must be one of %s, not '%s'", xend_buf_str(&all), s->text)
            : setting_err(cfg, err, s, "must be one of %s, not %s", xend_buf_str(&all),
                          kind_name(s));
    xend_buf_free(&all);
    return rc;
}

int xend_config_invalid(struct xend_config *cfg, const char *key, struct xend_err *err,
                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const struct cfg_setting *s = find(cfg, key);
    int rc;
    if (s != NULL) {
        rc = vsetting_err(cfg, err, s, fmt, ap);
    } else {
        char what[XEND_ERR_MSG_MAX], msg[XEND_ERR_MSG_MAX + 128];
        vsnprintf(what, sizeof(what), fmt, ap);
        snprintf(msg, sizeof(msg), "setting '%s' %s", key, what);
        if (cfg->collect) {
            add_problem(cfg, "", 0, msg);
            rc = 0;
        } else {
            rc = xend_err_set(err, XEND_EINVAL, "%s", msg);
        }
    }
    va_end(ap);
    return rc;
}

/* The known setting closest to an unknown one, as "; did you mean 'KEY'?", or "". */
static void did_you_mean(const struct xend_config *cfg, const char *key, char *out, size_t len)
{
    const char **names = xend_xcalloc(cfg->n + cfg->n_absent + 1, sizeof(*names));
    size_t n = 0;
    for (size_t i = 0; i < cfg->n; i++)
        if (cfg->set[i].known)
            names[n++] = cfg->set[i].key;
    for (size_t i = 0; i < cfg->n_absent; i++)
        names[n++] = cfg->absent[i];
    const char *best = xend_suggest(key, names, n);
    if (best != NULL)
        snprintf(out, len, "; did you mean '%s'?", best);
    else
        out[0] = '\0';
    free(names);
}

static void unknown_msg(const struct cfg_setting *s, const char *hint, char *msg, size_t len)
{
    if (s->line > 0)
        snprintf(msg, len, "%s:%u: unknown setting '%s'%s", s->file, s->line, s->key, hint);
    else
        snprintf(msg, len, "%s: unknown setting '%s'%s", s->file, s->key, hint);
}

/* fn with each setting no lookup asked for and its message; returns how many. */
static size_t each_unknown(const struct xend_config *cfg,
                           void (*fn)(void *arg, const struct cfg_setting *s, const char *msg),
                           void *arg)
{
    size_t n = 0;
    for (size_t i = 0; i < cfg->n; i++) {
        const struct cfg_setting *s = &cfg->set[i];
        if (s->known)
            continue;
        char hint[128], msg[XEND_ERR_MSG_MAX];
        did_you_mean(cfg, s->key, hint, sizeof(hint));
        unknown_msg(s, hint, msg, sizeof(msg));
        fn(arg, s, msg);
        n++;
    }
    return n;
}

struct msg_sink {
    void (*fn)(void *arg, const char *msg);
    void *arg;
};

static void to_sink(void *arg, const struct cfg_setting *s, const char *msg)
{
    (void)s;
    const struct msg_sink *k = arg;
    k->fn(k->arg, msg);
}

size_t xend_config_unknown_each(const struct xend_config *cfg,
                                void (*fn)(void *arg, const char *msg), void *arg)
{
    struct msg_sink k = {fn, arg};
    return each_unknown(cfg, to_sink, &k);
}

static void first_unknown(void *arg, const char *msg)
{
    xend_err_set(arg, XEND_EINVAL, "%s", msg);
}

int xend_config_check_unknown(const struct xend_config *cfg, struct xend_err *err)
{
    struct xend_err e = {0};
    if (xend_config_unknown_each(cfg, first_unknown, &e) == 0)
        return 0;
    return xend_err_set(err, XEND_EINVAL, "%s", e.msg);
}

void xend_config_collect_problems(struct xend_config *cfg)
{
    cfg->collect = true;
}

static int problem_cmp(const void *a, const void *b)
{
    const struct cfg_problem *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    if (c != 0)
        return c;
    return (x->line > y->line) - (x->line < y->line);
}

static void keep_unknown(void *arg, const struct cfg_setting *s, const char *msg)
{
    add_problem(arg, s->file, s->line, msg);
}

size_t xend_config_problems_each(struct xend_config *cfg, void (*fn)(void *arg, const char *msg),
                                 void *arg)
{
    each_unknown(cfg, keep_unknown, cfg);
    if (cfg->n_problems > 1)
        qsort(cfg->problems, cfg->n_problems, sizeof(*cfg->problems), problem_cmp);
    for (size_t i = 0; i < cfg->n_problems; i++)
        fn(arg, cfg->problems[i].msg);
    return cfg->n_problems;
}
