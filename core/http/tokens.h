/*
 * API tokens for scripts (docs/security.md, "Tokens"): a file (xend-token-file) of lines
 *
 *     NAME ROLE SHA256HEX
 *
 * where SHA256HEX is the SHA-256 of the token, never the token itself; `#` starts a
 * comment. The file must be owned by root (or xend's user) and not writable by group or
 * others: anyone who could write it could make themselves an admin. A request presents
 * `Authorization: Bearer TOKEN` over TLS only; its hash is compared with every entry in
 * constant time. `xend token add NAME ROLE` makes a token, prints it once and appends its
 * hash.
 *
 * Threads: any; a table is owned by whoever parsed it.
 */
#ifndef XEND_CORE_HTTP_TOKENS_H
#define XEND_CORE_HTTP_TOKENS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xend/abi.h>

#define XEND_TOKEN_NAME_MAX 64
#define XEND_TOKEN_HASH_LEN 32
#define XEND_TOKEN_TEXT_LEN 64 /* a made token: 32 random bytes in hex */

struct xend_token {
    char name[XEND_TOKEN_NAME_MAX + 1];
    uint8_t role; /* enum xend_role */
    unsigned char hash[XEND_TOKEN_HASH_LEN];
};

struct xend_tokens {
    struct xend_token *v; /* owned */
    size_t n;
};

/* Parse a token file's text; `file` names it in errors ("FILE:LINE: ..."). 0, or
 * -XEND_EINVAL with err set (bad role, bad hash, bad or repeated name); *out then empty. */
int xend_tokens_parse(const char *text, size_t len, const char *file, struct xend_tokens *out,
                      struct xend_err *err);
void xend_tokens_free(struct xend_tokens *t);

/* Whether a token name is well formed: 1-64 of [A-Za-z0-9._@-]. */
bool xend_token_name_ok(const char *name);

/* The entry whose hash is SHA-256(token[0..len)), or NULL. Every entry is compared, each
 * in constant time, so the time taken says nothing about which entry nearly matched. */
const struct xend_token *xend_tokens_find(const struct xend_tokens *t, const char *token,
                                          size_t len);

/* Refuse a token file that is not a regular file owned by root or xend's user, or that
 * group or others may write. 0 or -XEND_EPERM / -XEND_ENOENT with err set. */
int xend_tokens_file_check(const char *path, struct xend_err *err);
/* Check, read and parse the file. */
int xend_tokens_load(const char *path, struct xend_tokens *out, struct xend_err *err);

/*
 * `xend token add`: make a random token, append "NAME ROLE HASH" to the file (created
 * mode 0600 when missing; an existing one must pass the file check, and must not hold the
 * name already). The token, in hex, goes to out; it is stored nowhere.
 */
int xend_tokens_add(const char *path, const char *name, const char *role,
                    char out[XEND_TOKEN_TEXT_LEN + 1], struct xend_err *err);

/* SHA-256 of data[0..len) in lowercase hex (for the file and the tests). */
void xend_tokens_sha256_hex(const char *data, size_t len, char out[2 * XEND_TOKEN_HASH_LEN + 1]);

#endif
