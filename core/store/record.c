/*
 * The record file format: the value printed as SXP on one line, then a trailer comment
 * with its length and CRC-32, so that load tells a complete file from a damaged one.
 */
#include "store/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "hex.h"
#include "record_limits.h"
#include "sxp.h"

#define STORE_TRAILER "# xend-store "
#define STORE_MAX_FILE (64u << 20) /* a record larger than this is damage, not data */
#define RECORD_READ_CHUNK 16384

static uint32_t crc_table[256];

static void crc_table_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

/* CRC-32 (the zlib polynomial), so that `crc32` tools can check a file by hand. */
static uint32_t crc32_of(const void *data, size_t len)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, crc_table_init);
    uint32_t c = 0xFFFFFFFFu;
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

/* The bytes of a record file: the value on one line, then the trailer. Owned. */
static char *encode_record(const struct xend_sxp *value, size_t *len_out)
{
    struct xend_buf b = XEND_BUF_INIT;
    /* A domain's record is 600-900 bytes: room for it at once, not grown from 16 (each
     * create writes two). */
    xend_buf_reserve(&b, 1008);
    xend_sxp_print_buf(value, &b);
    size_t body = b.len;
    uint32_t crc = crc32_of(xend_buf_str(&b), body);
    xend_buf_put_lit(&b, "\n" STORE_TRAILER "len=");
    xend_buf_put_uint(&b, body);
    xend_buf_put_lit(&b, " crc32=");
    const unsigned char be[4] = {(unsigned char)(crc >> 24), (unsigned char)(crc >> 16),
                                 (unsigned char)(crc >> 8), (unsigned char)crc};
    char hex[9];
    xend_hex_encode(be, sizeof(be), hex); /* %08x */
    xend_buf_append(&b, hex, 8);
    xend_buf_putc(&b, '\n');
    *len_out = b.len;
    return xend_buf_steal(&b);
}

/* Check and parse a record file's bytes. 0 and *out owned, or -XEND_EIO with why set. */
static int decode_record(const char *data, size_t len, struct xend_sxp **out, char *why,
                         size_t why_len)
{
    size_t body = len;
    const char *mark = NULL;
    for (const char *p = data; p < data + len;) {
        const char *m = memmem(p, (size_t)(data + len - p), STORE_TRAILER, strlen(STORE_TRAILER));
        if (m == NULL)
            break;
        if (m == data || m[-1] == '\n') {
            mark = m;
            break;
        }
        p = m + 1;
    }
    if (mark != NULL) {
        size_t want_len = 0;
        unsigned want_crc = 0;
        int used = 0;
        const char *tail = mark + strlen(STORE_TRAILER);
        if (data[len - 1] != '\n' ||
            /* NOLINTNEXTLINE(cert-err34-c): a wrong len or crc is caught against the body */
            sscanf(tail, "len=%zu crc32=%8x%n", &want_len, &want_crc, &used) != 2 ||
            tail + used != data + len - 1) {
            snprintf(why, why_len, "damaged trailer");
            return -XEND_EIO;
        }
        body = mark == data ? 0 : (size_t)(mark - 1 - data);
        if (body != want_len) {
            snprintf(why, why_len, "truncated: %zu of %zu bytes", body, want_len);
            return -XEND_EIO;
        }
        if (crc32_of(data, body) != want_crc) {
            snprintf(why, why_len, "checksum mismatch");
            return -XEND_EIO;
        }
    }
    char msg[128] = "";
    if (xend_sxp_parse(data, body, &xend_record_limits, out, msg, sizeof(msg)) != 0) {
        snprintf(why, why_len, "parse error: %s", msg[0] ? msg : "malformed");
        return -XEND_EIO;
    }
    return 0;
}

/*
 * Whether the bytes read so far end with a trailer line that counts them all: then a
 * short read was the end of the file, and the read that would return 0 is not made (a
 * start reads every record: one system call in three, and system calls are what reading
 * costs on a VM). Anything else reads on to the end, so a damaged file is judged whole.
 */
static bool complete_record(const char *data, size_t len)
{
    if (len < 2 || data[len - 1] != '\n')
        return false;
    const char *line = memrchr(data, '\n', len - 1);
    line = line ? line + 1 : data;
    const char *end = data + len;
    size_t tlen = strlen(STORE_TRAILER);
    if (line == data || (size_t)(end - line) < tlen + 5 || memcmp(line, STORE_TRAILER, tlen) != 0 ||
        memcmp(line + tlen, "len=", 4) != 0)
        return false;
    size_t body = 0, want = (size_t)(line - 1 - data);
    const char *p = line + tlen + 4;
    for (; p < end && *p >= '0' && *p <= '9' && body <= want; p++)
        body = body * 10 + (size_t)(*p - '0');
    return p > line + tlen + 4 && p < end && *p == ' ' && body == want;
}

int xend_store_record_read_buf(int dirfd, const char *name, struct xend_buf *b,
                               struct xend_sxp **out, char *why, size_t why_len)
{
    /* No fstat: a start reads every record, and read() refuses a directory itself;
     * O_NONBLOCK keeps a FIFO put there by hand from blocking the read. */
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT)
            return -XEND_ENOENT;
        snprintf(why, why_len, "open: %s", strerror(errno));
        return -XEND_EIO;
    }
    xend_buf_reset(b);
    for (;;) {
        char *p = xend_buf_reserve(b, RECORD_READ_CHUNK);
        ssize_t n = read(fd, p, RECORD_READ_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(why, why_len, "read: %s", strerror(errno));
            close(fd);
            return -XEND_EIO;
        }
        if (n == 0)
            break;
        xend_buf_commit(b, (size_t)n);
        if (b->len > STORE_MAX_FILE) {
            snprintf(why, why_len, "more than %u bytes", STORE_MAX_FILE);
            close(fd);
            return -XEND_EIO;
        }
        if ((size_t)n < RECORD_READ_CHUNK && complete_record(xend_buf_str(b), b->len))
            break;
    }
    close(fd);
    return decode_record(xend_buf_str(b), b->len, out, why, why_len);
}

int xend_store_record_read(int dirfd, const char *name, struct xend_sxp **out, char *why,
                           size_t why_len)
{
    struct xend_buf b = XEND_BUF_INIT;
    int rc = xend_store_record_read_buf(dirfd, name, &b, out, why, why_len);
    xend_buf_free(&b);
    return rc;
}

int xend_store_record_encode(const struct xend_sxp *value, char **data, size_t *len,
                             struct xend_err *err)
{
    if (value == NULL)
        return xend_err_set(err, XEND_EINVAL, "no value to store");
    *data = encode_record(value, len);
    if ((*data)[0] == '\n') { /* an empty atom prints as nothing and could not be read */
        free(*data);
        return xend_err_set(err, XEND_EINVAL, "cannot store an empty value");
    }
    /* Never write what load would set aside as damaged. */
    int rc = xend_record_check(value, (size_t)(strchr(*data, '\n') - *data), false, err);
    if (rc < 0)
        free(*data);
    return rc;
}
