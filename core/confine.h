/*
 * Files xend opens on a caller's behalf (save and restore images): never through a
 * symlink, never over an existing file, and, when `save-dir` is set, only inside it.
 *
 * The directory is set once at start (loop thread, before any worker runs); the open
 * functions are then safe on any thread: they block on the file system and are meant for
 * the workers that move images.
 */
#ifndef XEND_CORE_CONFINE_H
#define XEND_CORE_CONFINE_H

#include <stdbool.h>

#include <xend/abi.h>

/* Confine save and restore paths to dir (copied); NULL or "" = any absolute path. */
void xend_confine_set_save_dir(const char *dir);
/* Whether save-dir is set (loop thread): without it only an admin may name a file. */
bool xend_confine_has_save_dir(void);

/*
 * Create the save file `path` (absolute) for writing, mode 0600: O_EXCL|O_NOFOLLOW, so an
 * existing path of any kind is refused with -XEND_EEXIST "file exists: PATH" and left
 * untouched. Returns the fd (owned by the caller), or a negative code with err set.
 */
int xend_confine_create(const char *path, struct xend_err *err);

/*
 * Open the restore file `path` (absolute) for reading: a regular file, not a symlink (a
 * FIFO or a device would block a worker or read forever). Returns the fd (owned by the
 * caller, blocking mode), or a negative code with err set.
 */
int xend_confine_open(const char *path, struct xend_err *err);

#endif
