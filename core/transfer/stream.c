/*
 * The transfer stream's header, as a save file and a migration carry it: the magic, the
 * record's length, the domain's record (transfer/internal.h). And the start's look at a
 * save file that a crash cut (transfer.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "domain_table.h"
#include "log/log.h"
#include "record_limits.h"
#include "transfer/internal.h"
#include "wire.h"

int xend_transfer_write_header(int fd, const struct xend_sxp *record, const char *magic)
{
    char *text = xend_sxp_print(record);
    char len[32];
    snprintf(len, sizeof(len), "%zu\n", strlen(text));
    int rc = xend_wire_write_str(fd, magic) || xend_wire_write_str(fd, len) ||
             xend_wire_write_str(fd, text) || xend_wire_write_all(fd, "\n", 1);
    free(text);
    return rc ? -1 : 0;
}

/*
 * Read the header; `first` is its first byte when the caller has read it already, else -1.
 * *complete says whether the magic was XEND_IMAGE_MAGIC (else XEND_IMAGE_MAGIC_PARTIAL). Returns
 * the record (owned) or NULL with err set.
 */
struct xend_sxp *xend_transfer_read_header_any(int fd, int first, bool *complete,
                                               struct xend_err *err)
{
    char magic[sizeof(XEND_IMAGE_MAGIC)] = {0};
    size_t have = 0;
    if (first >= 0)
        magic[have++] = (char)first;
    if (xend_wire_read_all(fd, magic + have, strlen(XEND_IMAGE_MAGIC) - have) < 0 ||
        (strcmp(magic, XEND_IMAGE_MAGIC) != 0 && strcmp(magic, XEND_IMAGE_MAGIC_PARTIAL) != 0)) {
        xend_err_set(err, XEND_EINVAL, "not a xend image (bad magic)");
        return NULL;
    }
    *complete = strcmp(magic, XEND_IMAGE_MAGIC) == 0;
    char line[32];
    long long len;
    if (xend_wire_read_line(fd, line, sizeof(line)) < 0 || !xend_sxp_text_int(line, &len) ||
        len <= 0 || len > (long long)XEND_RECORD_MAX_BYTES) {
        xend_err_set(err, XEND_EINVAL, "damaged xend image header");
        return NULL;
    }
    char *text = xend_xmalloc((size_t)len + 1);
    char nl;
    if (xend_wire_read_all(fd, text, (size_t)len) < 0 || xend_wire_read_all(fd, &nl, 1) < 0 ||
        nl != '\n') {
        free(text);
        xend_err_set(err, XEND_EINVAL, "truncated xend image header");
        return NULL;
    }
    struct xend_sxp *rec = NULL;
    char msg[256];
    if (xend_sxp_parse(text, (size_t)len, &xend_record_limits, &rec, msg, sizeof(msg)) < 0)
        xend_err_set(err, XEND_EINVAL, "damaged xend image record: %s", msg);
    free(text);
    return rec;
}

/* A header that restore and migration accept: complete. */
struct xend_sxp *xend_transfer_read_header(int fd, int first, struct xend_err *err)
{
    bool complete = false;
    struct xend_sxp *rec = xend_transfer_read_header_any(fd, first, &complete, err);
    if (rec && !complete) {
        xend_sxp_free(rec);
        rec = NULL;
        xend_err_set(err, XEND_EINVAL, "incomplete xend image: the save did not finish");
    }
    return rec;
}

bool xend_transfer_settle_save(const char *path, const char *token)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct xend_err err = {0};
    bool complete = false;
    struct stat st;
    struct xend_sxp *rec = fstat(fd, &st) == 0 && S_ISREG(st.st_mode)
                               ? xend_transfer_read_header_any(fd, -1, &complete, &err)
                               : NULL;
    close(fd);
    bool ours = rec && strcmp(xend_sxp_child_value(rec, "save_token", ""), token) == 0;
    xend_sxp_free(rec);
    if (ours && complete)
        return true;
    if (ours) {
        unlink(path);
        xend_log_notice("unfinished save file removed", "file=%s", path);
    }
    return false;
}

/* A peer's answer line: `expect`, or (err MSG) turned into "destination: MSG". */
int xend_transfer_read_reply(int fd, const char *expect, long long *value, struct xend_err *err)
{
    char line[1024];
    if (xend_wire_read_line(fd, line, sizeof(line)) < 0)
        return xend_err_set(err, XEND_EIO, "the destination closed the connection");
    struct xend_sxp *v = NULL;
    char msg[128];
    if (xend_sxp_parse(line, strlen(line), NULL, &v, msg, sizeof(msg)) < 0)
        return xend_err_set(err, XEND_EIO, "bad reply from the destination: %s", msg);
    const char *head = xend_sxp_name(v);
    const char *arg = xend_sxp_atom_text(xend_sxp_nth(v, 1));
    int rc = 0;
    if (head && strcmp(head, "err") == 0)
        rc = xend_err_set(err, XEND_EBACKEND, "destination: %s", arg ? arg : "?");
    else if (head == NULL || strcmp(head, expect) != 0)
        rc = xend_err_set(err, XEND_EIO, "unexpected reply from the destination: %s", line);
    else if (value)
        xend_sxp_text_int(arg ? arg : "", value);
    xend_sxp_free(v);
    return rc;
}

/* The domain of this xend whose store key is `key`, or NULL. */
struct xend_domain *xend_transfer_domain_by_key(const char *key)
{
    struct xend_domain **all = NULL;
    size_t n = xend_domain_all(&all);
    struct xend_domain *found = NULL;
    for (size_t i = 0; i < n && !found; i++)
        if (strcmp(all[i]->uuid, key) == 0)
            found = all[i];
    free(all);
    return found;
}
