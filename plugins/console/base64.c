/*
 * Base64 (RFC 4648, with padding) for the console's SSE events: a browser decodes it with
 * atob(), and any byte of guest output survives the text-only event stream.
 */
#include <stdint.h>

#include "console.h"

size_t console_base64_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

void console_base64(const void *p, size_t n, char *out)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *s = p;
    for (; n >= 3; n -= 3, s += 3) {
        uint32_t v = (uint32_t)s[0] << 16 | (uint32_t)s[1] << 8 | s[2];
        *out++ = abc[v >> 18];
        *out++ = abc[(v >> 12) & 63];
        *out++ = abc[(v >> 6) & 63];
        *out++ = abc[v & 63];
    }
    if (n == 0)
        return;
    uint32_t v = (uint32_t)s[0] << 16 | (n == 2 ? (uint32_t)s[1] << 8 : 0);
    *out++ = abc[v >> 18];
    *out++ = abc[(v >> 12) & 63];
    *out++ = n == 2 ? abc[(v >> 6) & 63] : '=';
    *out = '=';
}
