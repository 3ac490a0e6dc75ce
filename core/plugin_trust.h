/*
 * Whether a plugin file may be opened at all: xend runs as root, and dlopen runs a
 * library's constructors before xend can look at its descriptor, so a file that anyone but
 * root (or xend's own user) could have written must never reach dlopen.
 *
 * Checked, in this order (the first failure is the reason):
 *   1. the path names a regular file (a symlink is followed, and its target judged);
 *   2. the file is owned by root or xend's effective uid, and not writable by group or
 *      others;
 *   3. every directory of the path as given, and of its real path, up to /, likewise
 *      (owned by root or xend's uid, not writable by group or others: a sticky /tmp is
 *      refused too, since anyone may add a file there).
 * Loop thread, start-up only (it blocks on the file system).
 */
#ifndef XEND_CORE_PLUGIN_TRUST_H
#define XEND_CORE_PLUGIN_TRUST_H

#include <stddef.h>

/* 0 when path may be opened; else -1 with reason[0..len) saying why. */
int xend_plugin_trust_file(const char *path, char *reason, size_t len);
/* 0 when the directory dir (and each one above it) may hold plugins; else -1 with reason. */
int xend_plugin_trust_dir(const char *dir, char *reason, size_t len);

#endif
