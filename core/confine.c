/*
 * Confined save and restore files (see confine.h).
 *
 * With save-dir set, the parent of the path is resolved with realpath (no symlink, `..`
 * or `.` left) and must be save-dir's own realpath or below it; the file is then opened
 * by its resolved parent and its last name, which must be a plain name. A symlinked parent
 * that points elsewhere, or `save-dir/../etc/x`, resolves outside and is refused. The last
 * name is opened with O_NOFOLLOW, so a symlink planted there is refused as well.
 */
#include "confine.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"

static char *save_dir; /* owned; NULL = not confined */

bool xend_confine_has_save_dir(void)
{
    return save_dir != NULL;
}

void xend_confine_set_save_dir(const char *dir)
{
    free(save_dir);
    save_dir = dir && dir[0] ? xend_xstrdup(dir) : NULL;
}

/* Inside means equal to root or below it: "/srv/x" is not inside "/srv/xe". */
static bool path_inside(const char *path, const char *root)
{
    size_t n = strlen(root);
    if (n == 1 && root[0] == '/')
        return true;
    return strncmp(path, root, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/*
 * The path to open for `path`: a copy when not confined, else the realpath of its parent
 * joined with its last name, checked to lie in save-dir. Returns an owned string (libc
 * free) or NULL with err set.
 */
static char *resolve(const char *path, struct xend_err *err)
{
    if (path == NULL || path[0] != '/') {
        xend_err_set(err, XEND_EINVAL, "save file must be an absolute path: %s", path ? path : "");
        return NULL;
    }
    if (save_dir == NULL)
        return xend_xstrdup(path);
    const char *slash = strrchr(path, '/');
    const char *base = slash + 1;
    if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
        xend_err_set(err, XEND_EINVAL, "not a file name: %s", path);
        return NULL;
    }
    char *parent = slash == path ? xend_xstrdup("/") : xend_xstrndup(path, (size_t)(slash - path));
    char real_parent[PATH_MAX], real_root[PATH_MAX];
    char *out = NULL;
    if (realpath(save_dir, real_root) == NULL)
        xend_err_set(err, XEND_EIO, "save-dir %s: %s", save_dir, strerror(errno));
    else if (realpath(parent, real_parent) == NULL)
        xend_err_set(err, XEND_ENOENT, "cannot resolve %s: %s", parent, strerror(errno));
    else if (!path_inside(real_parent, real_root))
        xend_err_set(err, XEND_EPERM, "%s is outside save-dir %s", path, save_dir);
    else
        out = xend_xasprintf("%s%s%s", real_parent, strcmp(real_parent, "/") ? "/" : "", base);
    free(parent);
    return out;
}

int xend_confine_create(const char *path, struct xend_err *err)
{
    char *real = resolve(path, err);
    if (real == NULL)
        return -err->code;
    int fd = open(real, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int e = errno;
    free(real);
    if (fd >= 0)
        return fd;
    if (e == EEXIST)
        return xend_err_set(err, XEND_EEXIST, "file exists: %s", path);
    return xend_err_set(err, XEND_EIO, "cannot create %s: %s", path, strerror(e));
}

int xend_confine_open(const char *path, struct xend_err *err)
{
    char *real = resolve(path, err);
    if (real == NULL)
        return -err->code;
    /* Non-blocking only for the open itself: a FIFO would otherwise wait for a writer. */
    int fd = open(real, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    int e = errno;
    free(real);
    if (fd < 0) {
        if (e == ELOOP)
            return xend_err_set(err, XEND_EINVAL, "not a regular file: %s (a symlink)", path);
        return xend_err_set(err, XEND_ENOENT, "cannot open %s: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return xend_err_set(err, XEND_EINVAL, "not a regular file: %s", path);
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        close(fd);
        return xend_err_set(err, XEND_EIO, "cannot open %s: %s", path, strerror(errno));
    }
    return fd;
}
