/* Store names (store.h, "Names"): namespaces and keys. */
#include "store/internal.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

static bool segment_valid(const char *s, size_t len)
{
    if (len == 0 || s[0] == '.' || len > NAME_MAX - 32)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        if (!ok)
            return false;
    }
    return memmem(s, len, STORE_CORRUPT_MARK, strlen(STORE_CORRUPT_MARK)) == NULL;
}

bool xend_store_key_valid(const char *key)
{
    return key != NULL && segment_valid(key, strlen(key));
}

bool xend_store_ns_valid(const char *ns)
{
    if (ns == NULL || *ns == '\0' || strlen(ns) > 200)
        return false;
    for (const char *p = ns;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (!segment_valid(p, len))
            return false;
        if (slash == NULL)
            return true;
        p = slash + 1;
    }
}

int xend_store_check_names(const char *ns, const char *key, struct xend_err *err)
{
    if (!xend_store_ns_valid(ns))
        return xend_err_set(err, XEND_EINVAL, "invalid store namespace: %s", ns ? ns : "(null)");
    if (!xend_store_key_valid(key))
        return xend_err_set(err, XEND_EINVAL, "invalid store key: %s", key ? key : "(null)");
    return 0;
}
