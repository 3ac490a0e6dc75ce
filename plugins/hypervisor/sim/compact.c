/*
 * The compact domain form of simhv's replies, read in place: no tree, no allocation but
 * the array of domains (sim.h).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static bool scan_ull(const char **p, const char *end, unsigned long long *out)
{
    const char *q = *p;
    unsigned long long v = 0;
    if (q >= end || *q < '0' || *q > '9')
        return false;
    for (; q < end && *q >= '0' && *q <= '9'; q++) {
        if (v > (ULLONG_MAX - (unsigned)(*q - '0')) / 10)
            return false;
        v = v * 10 + (unsigned)(*q - '0');
    }
    if (q >= end || *q != ' ')
        return false;
    *p = q + 1;
    *out = v;
    return true;
}

/* An atom as simhv's SXP printer writes it (bare, or quoted with escapes) into name. */
static bool scan_name(const char **p, const char *end, char *name, size_t cap)
{
    const char *q = *p;
    size_t n = 0;
    if (q < end && (*q == '\'' || *q == '"')) {
        char quote = *q++;
        while (q < end && *q != quote) {
            char ch = *q++;
            if (ch == '\\') {
                if (q >= end)
                    return false;
                ch = *q++;
                switch (ch) {
                case 'a':
                    ch = '\a';
                    break;
                case 'b':
                    ch = '\b';
                    break;
                case 't':
                    ch = '\t';
                    break;
                case 'n':
                    ch = '\n';
                    break;
                case 'v':
                    ch = '\v';
                    break;
                case 'f':
                    ch = '\f';
                    break;
                case 'r':
                    ch = '\r';
                    break;
                case 'x': {
                    int h1 = q < end ? sim_hexdig(q[0]) : -1,
                        h2 = q + 1 < end ? sim_hexdig(q[1]) : -1;
                    if (h1 < 0 || h2 < 0)
                        return false;
                    ch = (char)(h1 * 16 + h2);
                    q += 2;
                    break;
                }
                default:
                    if (ch >= '0' && ch <= '7') {
                        int v = ch - '0';
                        for (int k = 0; k < 2 && q < end && *q >= '0' && *q <= '7'; k++)
                            v = v * 8 + (*q++ - '0');
                        ch = (char)v;
                    }
                    break;
                }
            }
            if (n + 1 < cap)
                name[n++] = ch;
        }
        if (q >= end)
            return false;
        q++;
    } else {
        while (q < end && *q != ')' && *q != ' ' && *q != '(') {
            if (n + 1 < cap)
                name[n++] = *q;
            q++;
        }
    }
    name[n] = '\0';
    *p = q;
    return true;
}

/* One compact domain at *p (after its "(d "), up to and past its ")". */
static bool scan_dom(const char **p, const char *end, struct xend_dominfo *out)
{
    unsigned long long domid, flags, reason, vcpus, cpu_time, mem, maxmem, ucpu;
    memset(out, 0, sizeof(*out));
    if (!scan_ull(p, end, &domid) || !scan_ull(p, end, &flags) || !scan_ull(p, end, &reason) ||
        !scan_ull(p, end, &vcpus))
        return false;
    const char *q = *p;
    bool neg = q < end && *q == '-';
    if (neg)
        q++;
    if (!scan_ull(&q, end, &ucpu) || !scan_ull(&q, end, &cpu_time) || !scan_ull(&q, end, &mem) ||
        !scan_ull(&q, end, &maxmem) || !scan_name(&q, end, out->name, sizeof(out->name)) ||
        q >= end || *q != ')')
        return false;
    if (domid > UINT32_MAX || flags > UINT32_MAX || reason > UINT32_MAX || vcpus > UINT32_MAX ||
        ucpu > INT32_MAX)
        return false;
    *p = q + 1;
    out->size = sizeof(*out);
    out->domid = (uint32_t)domid;
    out->flags = (uint32_t)flags;
    out->shutdown_reason = (uint32_t)reason;
    out->vcpus = (uint32_t)vcpus;
    out->cpu = neg ? -(int32_t)ucpu : (int32_t)ucpu;
    out->cpu_time_ns = cpu_time;
    out->mem_kb = mem;
    out->maxmem_kb = maxmem;
    return true;
}

/*
 * A (compact 1) reply, "(ok ID (d ...) (d ...))", read in place: no tree, no allocation.
 * A reply that is not in this form is a protocol error (the connection is dropped).
 */
int sim_doms_fn(struct sim_ctx *c, const char *line, size_t len, const char *opname, void *arg,
                bool *broken, struct xend_err *err)
{
    (void)c;
    struct sim_dom_scan *ds = arg;
    const char *end = line + len;
    const char *p = memchr(line + 4, ' ', len - 4); /* after "(ok ID" */
    if (p == NULL)
        p = end - 1;
    for (;;) {
        while (p < end && *p == ' ')
            p++;
        if (p < end && *p == ')' && p + 1 == end)
            return 0;
        if (end - p < 3 || memcmp(p, "(d ", 3) != 0)
            break;
        p += 3;
        if (ds->count == ds->cap) {
            ds->cap = ds->cap ? ds->cap * 2 : 16;
            ds->v = realloc(ds->v, ds->cap * sizeof(*ds->v));
            if (ds->v == NULL)
                abort(); /* the ABI's OOM policy */
        }
        if (!scan_dom(&p, end, &ds->v[ds->count]))
            break;
        ds->count++;
    }
    *broken = true;
    return xend_err_set(err, XEND_EBACKEND, "xend-simhv sent a bad reply to %s: %.60s", opname,
                        line);
}

int sim_hexdig(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}
