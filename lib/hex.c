/* Hex digits and random secrets (hex.h). */
#include "hex.h"

#include <errno.h>
#include <sys/random.h>

int xend_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void xend_hex_encode(const unsigned char *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

size_t xend_hex_size(size_t v, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t n = 1;
    for (size_t rest = v >> 4; rest != 0; rest >>= 4)
        n++;
    for (size_t i = n; i-- > 0; v >>= 4)
        out[i] = digits[v & 15];
    return n;
}

int xend_hex_random(size_t n, char *out)
{
    unsigned char raw[256];
    if (n > sizeof(raw)) {
        errno = EINVAL;
        return -1;
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(raw + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = EIO;
            return -1;
        }
        got += (size_t)r;
    }
    xend_hex_encode(raw, n, out);
    return 0;
}
