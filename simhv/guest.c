/*
 * The simulated guest OS (see guest.h): knobs from the kernel command line, boot lines,
 * console echo, dirtying, shutdown handling, crash and exit on cue. Only the domain model
 * calls it; it never touches sockets or the real clock.
 */
#include "guest.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xend/backend.h>

#include "domain.h"

#define NS_PER_MS 1000000ull

void simhv_guest_knobs_default(struct simhv_guest_knobs *k)
{
    k->load_pct = SIMHV_GUEST_DEFAULT_LOAD;
    k->crash_ms = -1;
    k->ignore_shutdown = false;
    k->dirty_rate = SIMHV_GUEST_DEFAULT_DIRTY_RATE;
    k->shutdown_delay_ms = -1;
    k->exit_reason = -1;
    k->exit_ms = -1;
}

static int bad(char *err, size_t err_len, const char *word, const char *why)
{
    snprintf(err, err_len, "bad kernel command line option %s: %s", word, why);
    return -1;
}

static bool parse_ll(const char *s, long long min, long long max, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* Seconds, fractions allowed ("0.5"), as milliseconds. */
static bool parse_seconds(const char *s, int64_t *ms)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= 0) || v > 1e7)
        return false;
    *ms = (int64_t)llround(v * 1000.0);
    return true;
}

static int parse_word(const char *word, struct simhv_guest_knobs *k, char *err, size_t err_len)
{
    const char *eq = strchr(word, '=');
    size_t klen = eq ? (size_t)(eq - word) : strlen(word);
    const char *val = eq ? eq + 1 : "1"; /* a bare flag means on */
    long long v;
#define KEY(name) (klen == strlen(name) && strncmp(word, name, klen) == 0)
    if (KEY("sim.load")) {
        if (!parse_ll(val, 0, 100, &v))
            return bad(err, err_len, word, "want a percentage 0..100");
        k->load_pct = (unsigned)v;
    } else if (KEY("sim.crash")) {
        if (!parse_seconds(val, &k->crash_ms))
            return bad(err, err_len, word, "want seconds");
    } else if (KEY("sim.ignore_shutdown")) {
        if (!parse_ll(val, 0, 1, &v))
            return bad(err, err_len, word, "want 0 or 1");
        k->ignore_shutdown = v != 0;
    } else if (KEY("sim.dirty_rate")) {
        if (!parse_ll(val, 0, 10000000, &v))
            return bad(err, err_len, word, "want pages per second 0..10000000");
        k->dirty_rate = (uint64_t)v;
    } else if (KEY("sim.shutdown_delay_ms")) {
        if (!parse_ll(val, 0, 3600000, &v))
            return bad(err, err_len, word, "want milliseconds 0..3600000");
        k->shutdown_delay_ms = v;
    } else if (KEY("sim.exit")) {
        const char *colon = strchr(val, ':');
        if (colon == NULL)
            return bad(err, err_len, word, "want reboot:SECONDS or poweroff:SECONDS");
        size_t rlen = (size_t)(colon - val);
        if (rlen == 6 && strncmp(val, "reboot", 6) == 0)
            k->exit_reason = XEND_SHUTDOWN_REBOOT;
        else if ((rlen == 8 && strncmp(val, "poweroff", 8) == 0) ||
                 (rlen == 4 && strncmp(val, "halt", 4) == 0))
            k->exit_reason = XEND_SHUTDOWN_POWEROFF;
        else
            return bad(err, err_len, word, "want reboot:SECONDS or poweroff:SECONDS");
        if (!parse_seconds(colon + 1, &k->exit_ms))
            return bad(err, err_len, word, "want reboot:SECONDS or poweroff:SECONDS");
    } else {
        snprintf(err, err_len, "unknown simulated guest option: %.*s", (int)klen, word);
        return -1;
    }
#undef KEY
    return 0;
}

int simhv_guest_parse(const char *cmdline, struct simhv_guest_knobs *out, char *err, size_t err_len)
{
    struct simhv_guest_knobs k;
    simhv_guest_knobs_default(&k);
    const char *p = cmdline ? cmdline : "";
    while (*p != '\0') {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *start = p;
        while (*p != '\0' && *p != ' ' && *p != '\t')
            p++;
        size_t len = (size_t)(p - start);
        if (len < 4 || strncmp(start, "sim.", 4) != 0)
            continue;
        char word[256];
        if (len >= sizeof(word))
            return bad(err, err_len, "sim.*", "too long");
        memcpy(word, start, len);
        word[len] = '\0';
        if (parse_word(word, &k, err, err_len) < 0)
            return -1;
    }
    *out = k;
    return 0;
}

void simhv_guest_console(struct simhv_machine *m, struct simhv_domain *d)
{
    (void)m;
    if (!d->guest.booted || !simhv_dom_alive(d))
        return;
    char line[SIMHV_CONSOLE_IN_MAX + 1];
    while (simhv_console_take_line(&d->console, line, sizeof(line)) >= 0)
        simhv_console_printf(&d->console, "echo: %s\r\n", line);
}

void simhv_guest_unpaused(struct simhv_machine *m, struct simhv_domain *d)
{
    if (!d->guest.booted && simhv_dom_alive(d)) {
        d->guest.booted = true;
        struct simhv_console *c = &d->console;
        simhv_console_printf(c, "Linux version 2.6-simhv (simhv@localhost) #1 simhv %s\r\n",
                             SIMHV_VERSION);
        simhv_console_printf(c, "Kernel command line: %s\r\n", d->cmdline ? d->cmdline : "");
        simhv_console_printf(c, "Memory: %" PRIu64 "k/%" PRIu64 "k available\r\n", d->mem_kb,
                             d->maxmem_kb);
        simhv_console_printf(c, "simhv: domain %u booted on %u vcpu(s)\r\n", d->domid, d->nvcpus);
        simhv_console_printf(c, "\r\n%s login: ", d->name[0] ? d->name : "simhv");
    }
    simhv_guest_console(m, d);
}

void simhv_guest_shutdown_request(struct simhv_machine *m, struct simhv_domain *d, uint32_t reason,
                                  uint64_t now_ns)
{
    struct simhv_guest *g = &d->guest;
    if (g->knobs.ignore_shutdown) {
        simhv_console_printf(&d->console, "\r\nshutdown request (%s) ignored\r\n",
                             xend_shutdown_reason_name((int)reason));
        return;
    }
    uint64_t delay = g->knobs.shutdown_delay_ms >= 0 ? (uint64_t)g->knobs.shutdown_delay_ms
                                                     : m->shutdown_delay_ms;
    g->shutdown_pending = true;
    g->pending_reason = reason;
    g->shutdown_at_ns = now_ns + delay * NS_PER_MS;
    simhv_console_printf(&d->console, "\r\nThe system is going down for %s NOW!\r\n",
                         xend_shutdown_reason_name((int)reason));
    if (delay == 0 && simhv_dom_alive(d))
        simhv_guest_tick(m, d, now_ns, 0);
}

static bool due(int64_t at_ms, uint64_t run_ns)
{
    return at_ms >= 0 && run_ns >= (uint64_t)at_ms * NS_PER_MS;
}

void simhv_guest_tick(struct simhv_machine *m, struct simhv_domain *d, uint64_t now_ns,
                      uint64_t dt_ns)
{
    struct simhv_guest *g = &d->guest;
    if (!d->built || !simhv_dom_alive(d))
        return;
    g->run_ns += dt_ns;

    /* Ten seconds at most per step keeps rate * time far from overflow. */
    uint64_t step = dt_ns < 10000 * NS_PER_MS ? dt_ns : 10000 * NS_PER_MS;
    g->dirty_milli += g->knobs.dirty_rate * (100u - g->throttle_pct) / 100u * step / 1000000u;
    uint64_t pages = g->dirty_milli / 1000;
    g->dirty_milli %= 1000;
    if (pages > 0)
        simhv_mem_dirty_random(&d->mem, pages < 4 * d->mem.npages ? pages : 4 * d->mem.npages);

    if (due(g->knobs.crash_ms, g->run_ns)) {
        simhv_console_printf(&d->console, "\r\nKernel panic - not syncing: sim.crash\r\n");
        simhv_dom_stopped(m, d, XEND_SHUTDOWN_CRASH);
    } else if (g->knobs.exit_reason >= 0 && due(g->knobs.exit_ms, g->run_ns)) {
        simhv_console_printf(&d->console, "\r\nThe system is going down for %s NOW!\r\n",
                             xend_shutdown_reason_name(g->knobs.exit_reason));
        simhv_dom_stopped(m, d, (uint32_t)g->knobs.exit_reason);
    } else if (g->shutdown_pending && now_ns >= g->shutdown_at_ns) {
        simhv_dom_stopped(m, d, g->pending_reason);
    } else {
        simhv_guest_console(m, d);
    }
}

static uint64_t until_run(int64_t at_ms, uint64_t run_ns)
{
    if (at_ms < 0)
        return UINT64_MAX;
    uint64_t at = (uint64_t)at_ms * NS_PER_MS;
    return at > run_ns ? at - run_ns : 0;
}

uint64_t simhv_guest_next_event(const struct simhv_machine *m, const struct simhv_domain *d,
                                uint64_t now_ns)
{
    (void)m;
    const struct simhv_guest *g = &d->guest;
    if (!d->built || !simhv_dom_alive(d))
        return UINT64_MAX;
    uint64_t next = until_run(g->knobs.crash_ms, g->run_ns);
    if (g->knobs.exit_reason >= 0) {
        uint64_t e = until_run(g->knobs.exit_ms, g->run_ns);
        next = e < next ? e : next;
    }
    if (g->shutdown_pending) {
        uint64_t s = g->shutdown_at_ns > now_ns ? g->shutdown_at_ns - now_ns : 0;
        next = s < next ? s : next;
    }
    return next;
}
