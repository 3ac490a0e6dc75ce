/*
 * The plugin trust check (see plugin_trust.h): ownership and write bits of the file and
 * of every directory up to /, before dlopen.
 */
#include "plugin_trust.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Owned by root or by xend's own user, and writable by nobody else. */
static int trusted(const char *path, const struct stat *st, const char *what, char *reason,
                   size_t len)
{
    if (st->st_uid != 0 && st->st_uid != geteuid()) {
        snprintf(reason, len, "%s %s is owned by uid %u, not by root or the user xend runs as",
                 what, path, (unsigned)st->st_uid);
        return -1;
    }
    if (st->st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(reason, len, "%s %s is writable by %s", what, path,
                 (st->st_mode & S_IWOTH) ? "others" : "its group");
        return -1;
    }
    return 0;
}

/*
 * An ancestor of the plugin's directory may be a root-owned sticky one such as /tmp: anyone
 * may add entries there, but none may rename or remove the entry below it, which must be
 * trusted in turn. The plugin's own directory never: a file added there would be loaded.
 */
static bool sticky_ancestor(const struct stat *st)
{
    return (st->st_mode & S_ISVTX) && st->st_uid == 0;
}

/* dir and each directory above it, as written (stat follows a symlinked one, whose target
 * the real-path walk judges as well; the walk here covers where the symlink itself lives). */
static int trusted_chain(const char *dir, char *reason, size_t len)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path)) {
        snprintf(reason, len, "path too long: %s", dir);
        return -1;
    }
    for (;;) {
        struct stat st;
        if (stat(path[0] ? path : "/", &st) != 0) {
            snprintf(reason, len, "cannot stat directory %s: %s", path[0] ? path : "/",
                     strerror(errno));
            return -1;
        }
        if (!S_ISDIR(st.st_mode)) {
            snprintf(reason, len, "%s is not a directory", path);
            return -1;
        }
        bool ancestor = strcmp(path, dir) != 0;
        if (!(ancestor && sticky_ancestor(&st)) &&
            trusted(path[0] ? path : "/", &st, "directory", reason, len) < 0)
            return -1;
        if (path[0] == '\0' || strcmp(path, "/") == 0)
            return 0;
        char *slash = strrchr(path, '/');
        if (slash == NULL)
            return 0;  /* a relative path: main.c makes the plugin dir absolute */
        *slash = '\0'; /* "/a" becomes "", which stands for "/" */
    }
}

/* The directory part of path (owned, libc free): "." when there is none. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

int xend_plugin_trust_dir(const char *dir, char *reason, size_t len)
{
    char real[PATH_MAX];
    if (realpath(dir, real) == NULL) {
        snprintf(reason, len, "cannot resolve directory %s: %s", dir, strerror(errno));
        return -1;
    }
    if (trusted_chain(dir, reason, len) < 0)
        return -1;
    return strcmp(real, dir) == 0 ? 0 : trusted_chain(real, reason, len);
}

int xend_plugin_trust_file(const char *path, char *reason, size_t len)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(reason, len, "cannot stat %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(reason, len, "%s is not a regular file", path);
        return -1;
    }
    char real[PATH_MAX];
    if (realpath(path, real) == NULL) {
        snprintf(reason, len, "cannot resolve %s: %s", path, strerror(errno));
        return -1;
    }
    if (trusted(real, &st, "file", reason, len) < 0)
        return -1;
    char *dir = dir_of(path);
    char *real_dir = dir_of(real);
    if (dir == NULL || real_dir == NULL)
        abort(); /* the OOM policy */
    int rc = trusted_chain(dir, reason, len);
    if (rc == 0 && strcmp(dir, real_dir) != 0)
        rc = trusted_chain(real_dir, reason, len);
    free(dir);
    free(real_dir);
    return rc;
}
