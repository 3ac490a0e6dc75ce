/*
 * Which unames a vbd may use writable (mode w or w!): a writable disk of the host's own
 * system is the host, given away. With the setting `vbd-allow` (patterns separated by
 * spaces, as "file:/srv/xen/IMG phy:/dev/vg0/LV" with shell wildcards), a writable uname
 * must match one pattern; without it, a deny list applies: files under /etc, /boot, /usr,
 * /bin, /sbin, /lib*, /proc, /sys, and the block device holding / (and its whole disk).
 * Read-only unames are not checked.
 *
 * The same patterns, under `vbd-allow-operator`, say which unames a caller below admin may
 * use writable, on top of the rule above; unset, none (vbd.c reads it as an empty list).
 *
 * Part of the vbd plugin (hidden visibility); no global state; loop thread only.
 */
#ifndef XEND_PLUGIN_VBD_ALLOW_H
#define XEND_PLUGIN_VBD_ALLOW_H

#include <stdbool.h>
#include <stddef.h>

#include <xend/abi.h>

struct vbd_allow {
    const char *key; /* the setting, for messages: "vbd-allow", "vbd-allow-operator" */
    bool set;        /* the setting was given (even empty: then nothing is writable) */
    char **patterns; /* owned, with each string (libc free through vbd_allow_free) */
    size_t n;
};

/* Parse the setting `key` (a static string; its value setting, NULL = absent) into *a.
 * Returns 0 (it cannot fail but for OOM, which aborts). */
int vbd_allow_setup(struct vbd_allow *a, const char *key, const char *setting);
void vbd_allow_free(struct vbd_allow *a);

/*
 * May `uname` (type and params already split, "file" and "/srv/x.img") be used
 * writable? `phy_path` is the /dev path of a phy: uname (NULL for other types). The file
 * or device must exist (vbd's parse checked it). Returns 0, or -XEND_EPERM with err set
 * ("vbd: writable uname U refused: ...", "vbd: uname U refused: ... matches no P pattern").
 */
int vbd_allow_check(const struct vbd_allow *a, const char *uname, const char *type,
                    const char *params, const char *phy_path, struct xend_err *err);

#endif
