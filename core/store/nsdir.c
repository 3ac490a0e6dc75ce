/* The state dir and its namespace directories: made, placed on the disk, opened. */
#include "store/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "log/log.h"

int xend_store_fsync_dir(int fd)
{
    return fsync(fd) == 0 || errno == EINVAL ? 0 : -errno;
}

/* What a namespace directory is called while mkdir_spread makes it (never a namespace:
 * those do not start with '.'). */
#define NS_MAKING_PREFIX ".ns-making-"

/*
 * mkdir of a namespace right under the state dir, placed at random: made under a random
 * name, then renamed into place. ext4's Orlov allocator starts its search for a top
 * directory's group at the hash of its name, and the fewest-directories groups tie, so a
 * fixed name ("domain") got the same group every time, the group whose inodes the last
 * state dir there had just freed, and an inode next to freshly freed ones costs a scan of
 * all of them (docs/store.md, "Where the records' inodes go"). -1 with errno (EEXIST when
 * it is there already).
 */
static int mkdir_spread(int rootfd, const char *name)
{
    uint64_t r = 0;
    if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
        r = xend_clock_ns();
    char tmp[64];
    snprintf(tmp, sizeof(tmp), NS_MAKING_PREFIX "%016" PRIx64, r);
    if (mkdirat(rootfd, tmp, 0700) != 0)
        return mkdirat(rootfd, name, 0700);
    if (renameat2(rootfd, tmp, rootfd, name, RENAME_NOREPLACE) == 0)
        return 0;
    int e = errno;
    (void)unlinkat(rootfd, tmp, AT_REMOVEDIR);
    errno = e;
    if (e == EEXIST)
        return -1;
    /* No RENAME_NOREPLACE here: a plain mkdir, placed as the file system likes. */
    return mkdirat(rootfd, name, 0700);
}

/* Remove what a crash inside mkdir_spread left: empty directories under a making name. */
void xend_store_drop_unfinished(int rootfd)
{
    int fd = dup(rootfd);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (dir == NULL) {
        if (fd >= 0)
            close(fd);
        return;
    }
    for (struct dirent *e; (e = readdir(dir)) != NULL;)
        if (strncmp(e->d_name, NS_MAKING_PREFIX, strlen(NS_MAKING_PREFIX)) == 0 &&
            unlinkat(rootfd, e->d_name, AT_REMOVEDIR) == 0)
            xend_log_info("store unfinished namespace removed", "name=%s", e->d_name);
    closedir(dir);
}

/*
 * The cached fd of ns, creating the directories (and making each creation durable in its
 * parent) when `create`. NULL with errno set when absent or on error.
 */
struct nsdir *xend_store_ns_dir(struct xend_store *s, const char *ns, bool create)
{
    for (struct nsdir *d = s->dirs; d != NULL; d = d->next)
        if (strcmp(d->ns, ns) == 0)
            return d;
    int parent = s->rootfd;
    char *path = xend_xstrdup(ns);
    int fd = -1;
    bool made = false;
    for (char *seg = path;;) {
        char *slash = strchr(seg, '/');
        if (slash)
            *slash = '\0';
        made = false;
        bool top = parent == s->rootfd;
        if (create && (top ? mkdir_spread(s->rootfd, path) : mkdirat(s->rootfd, path, 0700)) == 0) {
            made = true;
            if (xend_store_fsync_dir(parent) != 0)
                goto fail;
        } else if (create && errno != EEXIST) {
            goto fail;
        }
        int dfd = openat(s->rootfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd < 0)
            goto fail;
        if (parent != s->rootfd)
            close(parent);
        parent = dfd;
        if (slash == NULL) {
            fd = dfd;
            break;
        }
        *slash = '/';
        seg = slash + 1;
    }
    free(path);
    struct nsdir *d = xend_xcalloc(1, sizeof(*d));
    d->ns = xend_xstrdup(ns);
    d->fd = fd;
    struct stat st;
    d->other_fs = fstat(fd, &st) != 0 || st.st_dev != s->root_dev;
    if (!made)
        xend_store_spare_adopt(s, d);
    d->next = s->dirs;
    s->dirs = d;
    return d;
fail:;
    int e = errno;
    if (parent != s->rootfd)
        close(parent);
    free(path);
    errno = e;
    return NULL;
}

/* mkdir -p with mode 0700 for the parts that are missing. */
int xend_store_make_dirs(const char *dir)
{
    char *p = xend_xstrdup(dir);
    int rc = 0;
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0700) != 0 && errno != EEXIST) {
                rc = -errno;
                break;
            }
            *s = c;
            if (c == '\0')
                break;
        }
    }
    free(p);
    return rc;
}

/*
 * Mark the state dir as the top of its own tree for ext4's (Orlov) allocator, so that the
 * namespace directories made in it land in a quiet block group instead of next to the
 * state dir's parent, and their records' inodes with them. Creating an inode on ext4
 * without a journal scans every inode of the group freed in the last seconds to minutes
 * (docs/store.md, "Why a spare pool"): next to a busy /tmp or /var that cost 1.2 ms per
 * record here, against 33 us in a group of its own. A hint only: other file systems, or
 * a state dir we may not mark, are left as they are. Only directories made after this
 * are placed by it.
 */
void xend_store_spread_namespaces(int rootfd)
{
    int flags = 0;
    if (ioctl(rootfd, FS_IOC_GETFLAGS, &flags) == 0 && !(flags & FS_TOPDIR_FL)) {
        flags |= FS_TOPDIR_FL;
        (void)ioctl(rootfd, FS_IOC_SETFLAGS, &flags);
    }
}
