/*
 * The token file (tokens.h).
 */
#include "http/tokens.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "buf.h"
#include "http/role.h"
#include "hex.h"

#define TOKEN_FILE_MAX (1 << 20)

static void sha256(const char *data, size_t len, unsigned char out[XEND_TOKEN_HASH_LEN])
{
    unsigned int n = 0;
    EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

void xend_tokens_sha256_hex(const char *data, size_t len, char out[2 * XEND_TOKEN_HASH_LEN + 1])
{
    unsigned char h[XEND_TOKEN_HASH_LEN];
    sha256(data, len, h);
    for (size_t i = 0; i < sizeof(h); i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
}

bool xend_token_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > XEND_TOKEN_NAME_MAX)
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-' || *p == '@'))
            return false;
    return true;
}

static bool parse_hash(const char *s, unsigned char out[XEND_TOKEN_HASH_LEN])
{
    if (strlen(s) != 2 * (size_t)XEND_TOKEN_HASH_LEN)
        return false;
    for (size_t i = 0; i < XEND_TOKEN_HASH_LEN; i++) {
        int hi = xend_hex_value(s[2 * i]), lo = xend_hex_value(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return true;
}

void xend_tokens_free(struct xend_tokens *t)
{
    free(t->v);
    t->v = NULL;
    t->n = 0;
}

/* One line's fields, split on blanks; false when not exactly three. */
static bool fields(char *line, char *f[3])
{
    size_t n = 0;
    char *save = NULL;
    for (char *p = strtok_r(line, " \t\r", &save); p; p = strtok_r(NULL, " \t\r", &save)) {
        if (n == 3)
            return false;
        f[n++] = p;
    }
    return n == 3;
}

int xend_tokens_parse(const char *text, size_t len, const char *file, struct xend_tokens *out,
                      struct xend_err *err)
{
    out->v = NULL;
    out->n = 0;
    char *copy = xend_xstrndup(text, len);
    int rc = 0, lineno = 0;
    char *save = NULL;
    /* strtok_r would skip empty lines and so miscount: split by hand. */
    for (char *line = copy; line != NULL && rc == 0; line = save) {
        char *nl = strchr(line, '\n');
        save = nl ? nl + 1 : NULL;
        if (nl)
            *nl = '\0';
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        if (line[strspn(line, " \t\r")] == '\0')
            continue;
        char *f[3];
        unsigned char h[XEND_TOKEN_HASH_LEN];
        int role = 0;
        if (!fields(line, f))
            rc = xend_err_set(err, XEND_EINVAL, "%s:%d: a line is NAME ROLE SHA256HEX", file,
                              lineno);
        else if (!xend_token_name_ok(f[0]))
            rc =
                xend_err_set(err, XEND_EINVAL, "%s:%d: bad token name '%.64s'", file, lineno, f[0]);
        else if ((role = xend_role_parse(f[1])) < 0)
            rc = xend_err_set(err, XEND_EINVAL,
                              "%s:%d: role must be admin, operator or viewer, not '%.32s'", file,
                              lineno, f[1]);
        else if (!parse_hash(f[2], h))
            rc = xend_err_set(err, XEND_EINVAL,
                              "%s:%d: not a SHA-256 in hex (64 digits): the file holds the "
                              "token's hash, never the token",
                              file, lineno);
        for (size_t i = 0; rc == 0 && i < out->n; i++)
            if (strcmp(out->v[i].name, f[0]) == 0)
                rc = xend_err_set(err, XEND_EINVAL, "%s:%d: token name '%s' given twice", file,
                                  lineno, f[0]);
        if (rc == 0) {
            out->v = xend_xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
            struct xend_token *t = &out->v[out->n++];
            snprintf(t->name, sizeof(t->name), "%s", f[0]);
            t->role = (uint8_t)role;
            memcpy(t->hash, h, sizeof(h));
        }
    }
    free(copy);
    if (rc < 0)
        xend_tokens_free(out);
    return rc;
}

const struct xend_token *xend_tokens_find(const struct xend_tokens *t, const char *token,
                                          size_t len)
{
    if (token == NULL || len == 0)
        return NULL;
    unsigned char h[XEND_TOKEN_HASH_LEN];
    sha256(token, len, h);
    const struct xend_token *found = NULL;
    for (size_t i = 0; i < t->n; i++)
        if (CRYPTO_memcmp(h, t->v[i].hash, sizeof(h)) == 0 && found == NULL)
            found = &t->v[i];
    return found;
}

static int check_stat(const char *path, const struct stat *st, struct xend_err *err)
{
    if (!S_ISREG(st->st_mode))
        return xend_err_set(err, XEND_EPERM, "token file %s is not a regular file", path);
    if (st->st_uid != 0 && st->st_uid != geteuid())
        return xend_err_set(err, XEND_EPERM,
                            "token file %s is owned by uid %u: it must be root's (chown root %s)",
                            path, (unsigned)st->st_uid, path);
    if (st->st_mode & (S_IWGRP | S_IWOTH))
        return xend_err_set(err, XEND_EPERM,
                            "token file %s is writable by group or others: anyone who can "
                            "write it can make an admin token (chmod 600 %s)",
                            path, path);
    return 0;
}

int xend_tokens_file_check(const char *path, struct xend_err *err)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return xend_err_set(err, XEND_ENOENT, "token file %s: %s", path, strerror(errno));
    return check_stat(path, &st, err);
}

int xend_tokens_load(const char *path, struct xend_tokens *out, struct xend_err *err)
{
    out->v = NULL;
    out->n = 0;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return xend_err_set(err, errno == ENOENT ? XEND_ENOENT : XEND_EIO, "token file %s: %s",
                            path, strerror(errno));
    /* The checks on the descriptor read: the file cannot change between check and read. */
    struct stat st;
    int rc = fstat(fd, &st) == 0
                 ? check_stat(path, &st, err)
                 : xend_err_set(err, XEND_EIO, "token file %s: %s", path, strerror(errno));
    struct xend_buf b = XEND_BUF_INIT;
    while (rc == 0) {
        char *dst = xend_buf_reserve(&b, 4096);
        ssize_t n = read(fd, dst, 4096);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = xend_err_set(err, XEND_EIO, "token file %s: %s", path, strerror(errno));
        if (n <= 0)
            break;
        xend_buf_commit(&b, (size_t)n);
        if (b.len > TOKEN_FILE_MAX)
            rc = xend_err_set(err, XEND_ELIMIT, "token file %s is larger than 1 MiB", path);
    }
    close(fd);
    if (rc == 0)
        rc = xend_tokens_parse(b.data ? b.data : "", b.len, path, out, err);
    xend_buf_free(&b);
    return rc;
}

int xend_tokens_add(const char *path, const char *name, const char *role,
                    char out[XEND_TOKEN_TEXT_LEN + 1], struct xend_err *err)
{
    out[0] = '\0';
    if (!xend_token_name_ok(name))
        return xend_err_set(err, XEND_EINVAL,
                            "bad token name '%s': 1 to 64 letters, digits, '.', '_', '-', '@'",
                            name);
    int r = xend_role_parse(role);
    if (r < 0)
        return xend_err_set(err, XEND_EINVAL, "role must be admin, operator or viewer, not '%s'",
                            role);
    struct xend_tokens have;
    int rc = xend_tokens_load(path, &have, err);
    if (rc == -XEND_ENOENT)
        rc = 0;
    else if (rc < 0)
        return rc;
    for (size_t i = 0; i < have.n && rc == 0; i++)
        if (strcmp(have.v[i].name, name) == 0)
            rc = xend_err_set(err, XEND_EEXIST, "%s has a token named '%s' already", path, name);
    xend_tokens_free(&have);
    if (rc < 0)
        return rc;

    if (xend_hex_random(XEND_TOKEN_TEXT_LEN / 2, out) < 0)
        return xend_err_set(err, XEND_EIO, "no randomness for a token: %s", strerror(errno));
    char hex[2 * XEND_TOKEN_HASH_LEN + 1];
    xend_tokens_sha256_hex(out, strlen(out), hex);

    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    struct stat st;
    if (fd < 0) {
        rc = xend_err_set(err, XEND_EIO, "cannot write %s: %s", path, strerror(errno));
    } else if (fstat(fd, &st) != 0 || (rc = check_stat(path, &st, err)) < 0) {
        if (rc == 0)
            rc = xend_err_set(err, XEND_EIO, "cannot write %s: %s", path, strerror(errno));
    } else {
        char line[XEND_TOKEN_NAME_MAX + 64 + 2 * XEND_TOKEN_HASH_LEN];
        int n = snprintf(line, sizeof(line), "%s %s %s\n", name, xend_role_name(r), hex);
        if (write(fd, line, (size_t)n) != n || fsync(fd) != 0)
            rc = xend_err_set(err, XEND_EIO, "cannot write %s: %s", path, strerror(errno));
    }
    if (fd >= 0)
        close(fd);
    if (rc < 0)
        memset(out, 0, XEND_TOKEN_TEXT_LEN + 1);
    return rc;
}
