/*
 * Writable unames (see vbd_allow.h). A file is judged by its realpath, so a symlink in an
 * allowed directory that leads to /etc/shadow is judged as /etc/shadow; a phy: device by
 * its device number (the root device) and, for the patterns, by its /dev path as named,
 * which must hold no `..` component (LVM names like /dev/vg0/x are symlinks whose target
 * says nothing about the volume group).
 */
#include "vbd_allow.h"

#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static void *vbd_allow_xalloc(void *p)
{
    if (p == NULL)
        abort(); /* the ABI's OOM policy */
    return p;
}

int vbd_allow_setup(struct vbd_allow *a, const char *key, const char *setting)
{
    memset(a, 0, sizeof(*a));
    a->key = key;
    if (setting == NULL)
        return 0;
    a->set = true;
    char *copy = vbd_allow_xalloc(strdup(setting));
    char *save = NULL;
    for (char *tok = strtok_r(copy, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
        a->patterns = vbd_allow_xalloc(realloc(a->patterns, (a->n + 1) * sizeof(char *)));
        a->patterns[a->n++] = vbd_allow_xalloc(strdup(tok));
    }
    free(copy);
    return 0;
}

void vbd_allow_free(struct vbd_allow *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->patterns[i]);
    free(a->patterns);
    memset(a, 0, sizeof(*a));
}

/* The host's own system: never a guest's writable disk unless vbd-allow says so. */
static const char *vbd_allow_system_dir(const char *real)
{
    static const char *const dirs[] = {"/etc", "/boot", "/usr", "/bin", "/sbin", "/proc", "/sys"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        size_t n = strlen(dirs[i]);
        if (strncmp(real, dirs[i], n) == 0 && (real[n] == '/' || real[n] == '\0'))
            return dirs[i];
    }
    if (strncmp(real, "/lib", 4) == 0)
        return "/lib*"; /* /lib, /lib64, /lib32, /libx32 */
    return NULL;
}

/* True when rdev is the device holding / or the whole disk that partition is on. */
static bool vbd_allow_is_root_dev(dev_t rdev)
{
    struct stat root;
    if (stat("/", &root) != 0)
        return false;
    if (rdev == root.st_dev)
        return true;
    char path[96];
    snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/../dev", major(root.st_dev),
             minor(root.st_dev));
    char part[96];
    snprintf(part, sizeof(part), "/sys/dev/block/%u:%u/partition", major(root.st_dev),
             minor(root.st_dev));
    if (access(part, F_OK) != 0)
        return false;
    FILE *f = fopen(path, "r");
    unsigned maj, min;
    /* NOLINTNEXTLINE(cert-err34-c): the kernel's own "MAJ:MIN" (sysfs), compared whole */
    bool disk = f != NULL && fscanf(f, "%u:%u", &maj, &min) == 2 && rdev == makedev(maj, min);
    if (f)
        fclose(f);
    return disk;
}

static bool vbd_allow_has_dotdot(const char *path)
{
    for (const char *p = path; (p = strstr(p, "..")) != NULL; p += 2)
        if ((p == path || p[-1] == '/') && (p[2] == '/' || p[2] == '\0'))
            return true;
    return false;
}

int vbd_allow_check(const struct vbd_allow *a, const char *uname, const char *type,
                    const char *params, const char *phy_path, struct xend_err *err)
{
    char real[PATH_MAX];
    struct stat st;
    /* What a pattern is matched against: file by its realpath, phy by its /dev path. */
    char *subject = NULL;
    bool is_file = strcmp(type, "file") == 0;
    const char *dev_path = is_file ? params : phy_path;
    if (dev_path != NULL) {
        if (realpath(dev_path, real) == NULL || stat(real, &st) != 0)
            return xend_err_set(err, XEND_ENOENT, "vbd: Device not found: %s", params);
        if (is_file && vbd_allow_system_dir(real) != NULL && !a->set)
            return xend_err_set(err, XEND_EPERM,
                                "vbd: writable uname %s refused: %s is in %s, part of the host's "
                                "system (vbd-allow can allow it)",
                                uname, real, vbd_allow_system_dir(real));
        if (S_ISBLK(st.st_mode) && !a->set && vbd_allow_is_root_dev(st.st_rdev))
            return xend_err_set(err, XEND_EPERM,
                                "vbd: writable uname %s refused: it is the disk holding / "
                                "(vbd-allow can allow it)",
                                uname);
        if (!is_file && vbd_allow_has_dotdot(phy_path))
            return xend_err_set(err, XEND_EPERM, "vbd: uname %s refused: '..' in it", uname);
        if (asprintf(&subject, "%s:%s", type, is_file ? real : phy_path) < 0)
            abort();
    } else {
        subject = vbd_allow_xalloc(strdup(uname));
    }
    int rc = 0;
    if (a->set) {
        bool ok = false;
        for (size_t i = 0; i < a->n && !ok; i++)
            ok = fnmatch(a->patterns[i], subject, FNM_PATHNAME) == 0;
        if (!ok)
            rc = xend_err_set(err, XEND_EPERM, "vbd: uname %s refused: %s matches no %s pattern",
                              uname, subject, a->key ? a->key : "vbd-allow");
    }
    free(subject);
    return rc;
}
