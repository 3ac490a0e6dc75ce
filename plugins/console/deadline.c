/*
 * A connected console client's two deadlines (docs/console.md, "Deadlines"): a client
 * that leaves guest output unread for console-send-timeout (the queue up to
 * console-buffer-max stays pinned meanwhile), or moves no byte either way for
 * console-idle-timeout (it holds the console's one slot), is disconnected. One one-shot
 * timer per connected client, armed for the nearer deadline and re-armed when it finds
 * that progress moved it; conn.c notes the progress (active_ms, sent_ms).
 */
#include <stdint.h>
#include <stdio.h>

#include "console.h"

#define P (&console_plugin)
#define H (console_plugin.host)

static void console_deadline_fire(void *arg);

/* The nearer deadline from now, in ms from now; 0 when none applies. */
static uint64_t console_deadline_next(const struct console *c, uint64_t now)
{
    uint64_t at = UINT64_MAX;
    if (P->idle_ms > 0)
        at = c->active_ms + P->idle_ms;
    if (P->send_ms > 0) {
        /* With nothing queued, output that starts waiting now is the earliest case. */
        uint64_t s = (c->out.len > 0 ? c->sent_ms : now) + P->send_ms;
        if (s < at)
            at = s;
    }
    if (at == UINT64_MAX)
        return 0;
    return at > now ? at - now : 1;
}

static void console_deadline_arm(struct console *c, uint64_t now)
{
    uint64_t ms = console_deadline_next(c, now);
    c->ct = ms ? H->loop->timer_add(P->self, ms, false, console_deadline_fire, c) : NULL;
}

static void console_deadline_fire(void *arg)
{
    struct console *c = arg;
    c->ct = NULL; /* fired: the core frees it */
    if (c->cfd < 0)
        return;
    uint64_t now = H->loop->now_ms();
    char why[64];
    if (P->send_ms > 0 && c->out.len > 0 && now - c->sent_ms >= P->send_ms) {
        snprintf(why, sizeof(why), "\"client did not read for %llu ms\"",
                 (unsigned long long)P->send_ms);
        console_client_drop(c, why);
        return;
    }
    if (P->idle_ms > 0 && now - c->active_ms >= P->idle_ms) {
        snprintf(why, sizeof(why), "\"idle for %llu ms\"", (unsigned long long)P->idle_ms);
        console_client_drop(c, why);
        return;
    }
    console_deadline_arm(c, now);
}

void console_deadline_start(struct console *c)
{
    uint64_t now = H->loop->now_ms();
    c->active_ms = c->sent_ms = now;
    console_deadline_arm(c, now);
}

void console_deadline_stop(struct console *c)
{
    H->loop->timer_remove(c->ct);
    c->ct = NULL;
}
