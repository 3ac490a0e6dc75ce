/* The lastboot rule (store.h): has the host rebooted since the store was written? */
#include "store/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "log/log.h"
#include "sxp.h"

static bool read_small(const char *path, char *out, size_t len)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return false;
    size_t n = fread(out, 1, len - 1, f);
    fclose(f);
    out[n] = '\0';
    return n > 0;
}

/* The running system's boot: (lastboot (boot_id UUID) (btime SECONDS)), or NULL. Owned. */
static struct xend_sxp *current_boot(void)
{
    char id[64], stat[8192];
    struct xend_sxp *v = xend_sxp_list_of("lastboot", NULL);
    bool any = false;
    if (xend_clock_boot_id(id, sizeof(id))) {
        xend_sxp_add_kv(v, "boot_id", id);
        any = true;
    }
    if (read_small("/proc/stat", stat, sizeof(stat))) {
        const char *b = strstr(stat, "\nbtime ");
        long long btime;
        /* NOLINTNEXTLINE(cert-err34-c): the kernel's own number */
        if (b != NULL && sscanf(b + 7, "%lld", &btime) == 1) {
            xend_sxp_add_kv_int(v, "btime", btime);
            any = true;
        }
    }
    if (!any) {
        xend_sxp_free(v);
        return NULL;
    }
    return v;
}

bool xend_store_boot_id_changed(struct xend_store *s)
{
    struct xend_sxp *now = current_boot();
    if (now == NULL) {
        xend_log_emit(NULL, XEND_LOG_WARN, "boot id unknown",
                      "reason=\"neither /proc/sys/kernel/random/boot_id nor /proc/stat btime\"");
        return false;
    }
    struct xend_err err = {0};
    struct xend_sxp *was = NULL;
    int rc = xend_store_get(s, "xend", "lastboot", &was, &err);
    bool changed = false;
    if (rc == 0) {
        const char *id0 = xend_sxp_child_value(was, "boot_id", NULL);
        const char *id1 = xend_sxp_child_value(now, "boot_id", NULL);
        long long t0, t1;
        if (id0 != NULL && id1 != NULL)
            changed = strcmp(id0, id1) != 0;
        else if (xend_sxp_child_int(was, "btime", &t0) == 0 &&
                 xend_sxp_child_int(now, "btime", &t1) == 0)
            changed = llabs(t0 - t1) > 2; /* btime is computed, and wobbles by a second */
        if (changed)
            xend_log_emit(NULL, XEND_LOG_NOTICE, "host rebooted since last run",
                          "dir=%s was_boot_id=%s boot_id=%s", s->dir, id0 ? id0 : "-",
                          id1 ? id1 : "-");
    } else if (rc != -XEND_ENOENT) {
        xend_log_emit(NULL, XEND_LOG_WARN, "lastboot unreadable", "dir=%s error=\"%s\"", s->dir,
                      xend_err_msg(&err));
    }
    if (rc != 0 || !xend_sxp_equal(was, now)) {
        xend_err_clear(&err);
        if (xend_store_put_sync(s, "xend", "lastboot", now, &err) != 0)
            xend_log_emit(NULL, XEND_LOG_ERROR, "lastboot not recorded", "dir=%s error=\"%s\"",
                          s->dir, xend_err_msg(&err));
    }
    xend_sxp_free(was);
    xend_sxp_free(now);
    return changed;
}
