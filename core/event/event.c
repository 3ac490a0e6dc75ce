/*
 * The event bus (event.h): a flat list of subscriptions matched against each event name.
 * A handful of subscribers (plugins, event-port connections, followers of /xend/event)
 * make a list cheaper than any index.
 *
 * Removal during an emit only marks a subscription dead; the list is compacted when the
 * outermost emit returns, so a callback can never pull an entry from under the loop that
 * is calling it.
 */
#include "event/event.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "event/history.h"
#include "log/log.h"
#include "log/trace.h"
#include "sxp.h"

struct sub {
    const void *owner;
    char *pattern;
    xend_event_fn *fn;
    void *arg;
    bool dead;
};

/* Distinct formattings one delivery shares (xend_event_formatted): /xend/event's four line
 * forms and the port's; past that the last one is made again as asked. */
#define FORMATS_MAX 8

/* One event being delivered: on the stack of its emit, so a nested emit has its own. */
struct delivery {
    const char *name;
    const struct xend_sxp *value;
    uint64_t seq;
    size_t n;
    struct {
        xend_event_format_fn *fn;
        int form;
        struct xend_buf out;
    } made[FORMATS_MAX];
};

static struct {
    struct sub **v;
    size_t n, cap;
    size_t live;
    unsigned depth;           /* emits in progress (callbacks may emit) */
    bool dirty;               /* dead entries to sweep */
    struct delivery *current; /* the innermost event being delivered, NULL outside */
} bus;

/* --- patterns ----------------------------------------------------------------------- */

static size_t seg_len(const char *s)
{
    return strcspn(s, ".");
}

bool xend_event_pattern_valid(const char *pattern)
{
    if (pattern == NULL || *pattern == '\0')
        return false;
    for (const char *p = pattern;;) {
        size_t len = seg_len(p);
        if (len == 0)
            return false;
        if (memchr(p, '*', len) != NULL && (len != 1 || p[len] != '\0'))
            return false; /* `*` is a whole segment, and only the last one */
        if (memchr(p, '?', len) != NULL && len != 1)
            return false;
        if (p[len] == '\0')
            return true;
        p += len + 1;
    }
}

bool xend_event_match(const char *pattern, const char *name)
{
    const char *p = pattern, *n = name;
    for (;;) {
        size_t pl = seg_len(p);
        if (pl == 1 && p[0] == '*')
            return true; /* the rest, including nothing */
        if (*n == '\0')
            return false;
        size_t nl = seg_len(n);
        if (!(pl == 1 && p[0] == '?') && (pl != nl || memcmp(p, n, pl) != 0))
            return false;
        p += pl;
        n += nl;
        if (*p == '\0' || *n == '\0') {
            if (*p == '\0')
                return *n == '\0';
            /* name ended, pattern goes on: only a trailing `.*` still matches */
            return strcmp(p, ".*") == 0;
        }
        p++;
        n++;
    }
}

/* --- subscriptions ------------------------------------------------------------------ */

static struct sub *find(const void *owner, const char *pattern, xend_event_fn *fn, void *arg)
{
    for (size_t i = 0; i < bus.n; i++) {
        struct sub *s = bus.v[i];
        if (!s->dead && s->owner == owner && s->fn == fn && s->arg == arg &&
            strcmp(s->pattern, pattern) == 0)
            return s;
    }
    return NULL;
}

static void sweep(void)
{
    size_t j = 0;
    for (size_t i = 0; i < bus.n; i++) {
        struct sub *s = bus.v[i];
        if (s->dead) {
            free(s->pattern);
            free(s);
        } else {
            bus.v[j++] = s;
        }
    }
    bus.n = j;
    bus.dirty = false;
}

static void kill(struct sub *s)
{
    s->dead = true;
    bus.live--;
    bus.dirty = true;
    if (bus.depth == 0)
        sweep();
}

int xend_event_subscribe(const void *owner, const char *pattern, xend_event_fn *fn, void *arg)
{
    if (fn == NULL || !xend_event_pattern_valid(pattern))
        return -XEND_EINVAL;
    if (find(owner, pattern, fn, arg) != NULL)
        return -XEND_EEXIST;
    if (bus.n == bus.cap) {
        bus.cap = bus.cap ? bus.cap * 2 : 16;
        bus.v = xend_xrealloc(bus.v, bus.cap * sizeof(*bus.v));
    }
    struct sub *s = xend_xcalloc(1, sizeof(*s));
    s->owner = owner;
    s->pattern = xend_xstrdup(pattern);
    s->fn = fn;
    s->arg = arg;
    bus.v[bus.n++] = s;
    bus.live++;
    return 0;
}

int xend_event_unsubscribe(const void *owner, const char *pattern, xend_event_fn *fn, void *arg)
{
    struct sub *s = pattern != NULL ? find(owner, pattern, fn, arg) : NULL;
    if (s == NULL)
        return -XEND_ENOENT;
    kill(s);
    return 0;
}

void xend_event_unsubscribe_owner(const void *owner)
{
    bus.depth++; /* sweep once at the end, not per entry */
    for (size_t i = 0; i < bus.n; i++)
        if (!bus.v[i]->dead && bus.v[i]->owner == owner)
            kill(bus.v[i]);
    if (--bus.depth == 0 && bus.dirty)
        sweep();
}

size_t xend_event_emit(const char *name, const struct xend_sxp *value)
{
    if (name == NULL)
        return 0;
    if (xend_trace_enabled()) {
        char *v = value ? xend_sxp_print(value) : NULL;
        xend_trace_write("event", "seq=%llu %s %s",
                         (unsigned long long)xend_event_history_last() + 1, name, v ? v : "-");
        free(v);
    }
    /* Numbered and kept before anyone hears it: a follower that replays the history and
     * then follows must not miss an event a callback emits meanwhile. */
    struct delivery d = {.name = name, .value = value};
    d.seq = xend_event_history_record(name, value);
    struct delivery *outer = bus.current;
    bus.current = &d;
    size_t called = 0;
    bus.depth++;
    /* Subscribers added by a callback first hear the next event. */
    for (size_t i = 0, n = bus.n; i < n; i++) {
        struct sub *s = bus.v[i];
        if (!s->dead && xend_event_match(s->pattern, name)) {
            s->fn(name, value, s->arg);
            called++;
        }
    }
    if (--bus.depth == 0 && bus.dirty)
        sweep();
    bus.current = outer;
    for (size_t i = 0; i < d.n; i++)
        xend_buf_free(&d.made[i].out);
    return called;
}

uint64_t xend_event_seq_current(void)
{
    return bus.current != NULL ? bus.current->seq : 0;
}

const struct xend_buf *xend_event_formatted(xend_event_format_fn *fn, int form)
{
    struct delivery *d = bus.current;
    if (d == NULL)
        return NULL;
    for (size_t i = 0; i < d->n; i++)
        if (d->made[i].fn == fn && d->made[i].form == form)
            return &d->made[i].out;
    size_t i = d->n < FORMATS_MAX ? d->n++ : FORMATS_MAX - 1;
    d->made[i].fn = fn;
    d->made[i].form = form;
    xend_buf_reset(&d->made[i].out);
    fn(form, d->seq, d->name, d->value, &d->made[i].out);
    return &d->made[i].out;
}

size_t xend_event_count(void)
{
    return bus.live;
}

void xend_event_reset(void)
{
    for (size_t i = 0; i < bus.n; i++) {
        free(bus.v[i]->pattern);
        free(bus.v[i]);
    }
    free(bus.v);
    bus.v = NULL;
    bus.n = bus.cap = bus.live = 0;
    bus.dirty = false;
    bus.current = NULL;
    xend_event_history_reset();
}

/* --- host->event -------------------------------------------------------------------- */

static void host_emit(const char *name, const struct xend_sxp *value)
{
    xend_event_emit(name, value);
}

static int host_subscribe(struct xend_plugin *self, const char *pattern, xend_event_fn *fn,
                          void *arg)
{
    return xend_event_subscribe(self, pattern, fn, arg);
}

static int host_unsubscribe(struct xend_plugin *self, const char *pattern, xend_event_fn *fn,
                            void *arg)
{
    return xend_event_unsubscribe(self, pattern, fn, arg);
}

const struct xend_host_event *xend_event_host_table(void)
{
    static const struct xend_host_event table = {
        .size = sizeof(table),
        .emit = host_emit,
        .subscribe = host_subscribe,
        .unsubscribe = host_unsubscribe,
    };
    return &table;
}
