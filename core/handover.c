/*
 * The migration hand-over (handover.h): the sender's release records and the control lines
 * of the relocation port that let a receiver in doubt ask what became of a domain.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handover.h"
#include "log/log.h"
#include "store/store.h"
#include "sxp.h"
#include "wire.h"

#define NS_HANDOVER "handover"

static struct xend_store *store;

/* The release records' keys listed at start (xend_handover_preload), sorted; owned. */
static struct {
    char **keys;
    size_t n;
    bool held;
} preloaded;

void xend_handover_init(struct xend_store *s)
{
    store = s;
}

void xend_handover_release(const char *key, const char *name, const char *destination,
                           void (*done)(void *arg, int rc), void *arg)
{
    struct xend_sxp *rec = xend_sxp_list_of("released", NULL);
    xend_sxp_add_kv(rec, "name", name);
    xend_sxp_add_kv(rec, "to", destination);
    struct xend_err err = {0};
    int rc = xend_store_put(store, NS_HANDOVER, key, rec, done, arg, &err);
    xend_sxp_free(rec);
    if (rc < 0) {
        xend_log_error("release record not written", "domain=%s error=\"%s\"", name,
                       xend_err_msg(&err));
        done(arg, rc);
    }
}

void xend_handover_preload(void)
{
    struct xend_err err = {0};
    xend_handover_preload_done();
    preloaded.held = xend_store_keys(store, NS_HANDOVER, &preloaded.keys, &preloaded.n, &err) == 0;
    if (!preloaded.held)
        xend_log_warn("release records not listed", "error=\"%s\"", xend_err_msg(&err));
}

void xend_handover_preload_done(void)
{
    for (size_t i = 0; i < preloaded.n; i++)
        free(preloaded.keys[i]);
    free(preloaded.keys);
    preloaded.keys = NULL;
    preloaded.n = 0;
    preloaded.held = false;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The preloaded list's slot of key, or NULL. */
static char **preloaded_find(const char *key)
{
    return preloaded.n
               ? bsearch(&key, preloaded.keys, preloaded.n, sizeof(*preloaded.keys), cmp_key)
               : NULL;
}

bool xend_handover_released(const char *key)
{
    struct xend_sxp *rec = NULL;
    struct xend_err err = {0};
    if (!xend_store_key_valid(key))
        return false;
    if (preloaded.held)
        return preloaded_find(key) != NULL;
    int rc = xend_store_get(store, NS_HANDOVER, key, &rec, &err);
    xend_sxp_free(rec);
    return rc == 0;
}

void xend_handover_forget(const char *key)
{
    struct xend_err err = {0};
    char **slot = preloaded.held && xend_store_key_valid(key) ? preloaded_find(key) : NULL;
    if (slot != NULL) {
        free(*slot);
        size_t i = (size_t)(slot - preloaded.keys);
        memmove(slot, slot + 1, (preloaded.n - i - 1) * sizeof(*slot));
        preloaded.n--;
    }
    if (xend_store_key_valid(key) && xend_store_del(store, NS_HANDOVER, key, NULL, NULL, &err) < 0)
        xend_log_warn("release record not removed", "key=%s error=\"%s\"", key, xend_err_msg(&err));
}

/* "(VERB KEY)" -> KEY in out (a store key), or false. */
static bool parse_control(const char *line, const char *verb, char *out, size_t max)
{
    struct xend_sxp *v = NULL;
    char msg[64];
    bool ok = false;
    if (xend_sxp_parse(line, strlen(line), NULL, &v, msg, sizeof(msg)) == 0) {
        const char *head = xend_sxp_name(v);
        const char *key = xend_sxp_atom_text(xend_sxp_nth(v, 1));
        ok = head && strcmp(head, verb) == 0 && key && strlen(key) < max &&
             xend_store_key_valid(key);
        if (ok)
            snprintf(out, max, "%s", key);
    }
    xend_sxp_free(v);
    return ok;
}

const char *xend_handover_answer(const char *line, int (*held)(const char *key))
{
    char key[64];
    if (parse_control(line, "handover", key, sizeof(key))) {
        if (xend_handover_released(key))
            return "(released)\n";
        switch (held(key)) {
        case 1:
            return "(held)\n";
        case 2:
            return "(pending)\n";
        default:
            return "(unknown)\n";
        }
    }
    if (parse_control(line, "taken", key, sizeof(key))) {
        xend_log_info("migrated domain taken over by the destination", "key=%s", key);
        xend_handover_forget(key);
        return "(ok)\n";
    }
    return "(err \"unknown relocation request\")\n";
}

/* Worker: one control line out, one line back. */
static bool ask_line(int fd, const char *verb, const char *key, char *reply, size_t max)
{
    char line[128];
    snprintf(line, sizeof(line), "(%s %s)\n", verb, key);
    return xend_wire_write_str(fd, line) == 0 && xend_wire_read_line(fd, reply, max) == 0;
}

enum xend_handover_state xend_handover_ask(int fd, const char *key)
{
    char reply[128];
    if (!ask_line(fd, "handover", key, reply, sizeof(reply)))
        return XEND_HANDOVER_UNREACHABLE;
    if (strcmp(reply, "(released)") == 0)
        return XEND_HANDOVER_RELEASED;
    if (strcmp(reply, "(held)") == 0)
        return XEND_HANDOVER_HELD;
    if (strcmp(reply, "(pending)") == 0)
        return XEND_HANDOVER_PENDING;
    return XEND_HANDOVER_UNKNOWN;
}

void xend_handover_tell_taken(int fd, const char *key)
{
    char reply[64];
    ask_line(fd, "taken", key, reply, sizeof(reply));
}

const char *xend_handover_state_name(enum xend_handover_state s)
{
    static const char *const names[] = {"released", "held", "pending", "unknown", "unreachable"};
    return s <= XEND_HANDOVER_UNREACHABLE ? names[s] : "?";
}
