/*
 * Save and restore streams (see image.h). The saver produces stream bytes on demand; the
 * restorer consumes them incrementally. Neither touches sockets or blocks.
 */
#include "image.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xend/backend.h>

#include "clock.h"
#include "sxp.h"

#define REC_HDR 8u
#define PAGE_ENTRY (8u + SIMHV_PAGE_SIZE)

enum saver_phase { SAVE_HEADER, SAVE_ROUND, SAVE_LAST, SAVE_END, SAVE_DONE };

struct simhv_saver {
    uint32_t domid;
    uint64_t uid;
    bool live;
    enum saver_phase phase;
    uint64_t cursor;
    uint8_t *round; /* owned: pages to send this round; NULL means every present page */
    unsigned rounds;
    uint64_t total; /* present pages at the start */
    uint64_t sent;
    bool paused_it; /* the save paused a running guest: an unfinished one resumes it */
    bool stopped;
    uint64_t paused_ns;  /* when the last round paused the guest (0: it did not) */
    uint64_t last_round; /* pages the last round found dirty */
    unsigned max_rounds;
    uint64_t max_last;                   /* pages */
    uint64_t round_start_ns, round_sent; /* the running round's start, and `sent` then */
    /* The PAGES record being written: its pages chosen (and their generations taken) when
     * its header was, their bytes made a budget at a time, so that the buffer they go
     * through stays small and in the cache. */
    uint64_t seed;
    uint32_t rec_n, rec_next;
    uint64_t rec_pfn[SIMHV_PAGES_PER_REC];
    uint32_t rec_gen[SIMHV_PAGES_PER_REC];
    struct xend_buf *ctl; /* borrowed: where ROUND records go; NULL: into the image */
};

/* The guest runs at its own pace again. */
static void unthrottle(struct simhv_domain *d)
{
    d->guest.throttle_pct = 0;
}

struct simhv_saver *simhv_saver_new(struct simhv_machine *m, struct simhv_domain *d, bool live,
                                    unsigned max_rounds, uint64_t max_last_pages,
                                    struct xend_err *err)
{
    if (d->domid == 0) {
        xend_err_set(err, XEND_EPERM, "Domain-0 cannot be saved");
        return NULL;
    }
    if (!d->built) {
        xend_err_set(err, XEND_EINVAL, "domain %u has no image yet: build it first", d->domid);
        return NULL;
    }
    bool paused_it = !live && simhv_dom_alive(d);
    if (paused_it)
        simhv_dom_pause(m, d, NULL);
    struct simhv_saver *s = xend_xcalloc(1, sizeof(*s));
    s->paused_it = paused_it;
    /* The first round and the last one at least. */
    s->max_rounds = max_rounds == 0 ? SIMHV_LIVE_MAX_ROUNDS : max_rounds < 2 ? 2 : max_rounds;
    s->max_last = max_last_pages ? max_last_pages : SIMHV_LIVE_DIRTY_DONE;
    s->round_start_ns = xend_clock_ns();
    s->domid = d->domid;
    s->uid = d->uid;
    s->live = live;
    s->total = d->mem.present;
    s->seed = d->mem.seed;
    if (live)
        simhv_mem_track_begin(&d->mem, SIMHV_MEM_TRACK_SAVE);
    simhv_dmesg(m, "domain %u: %s save started, %" PRIu64 " pages", d->domid,
                live ? "live" : "plain", s->total);
    return s;
}

uint64_t simhv_saver_pages(const struct simhv_saver *s)
{
    return s->total;
}

uint64_t simhv_saver_sent(const struct simhv_saver *s)
{
    return s->sent;
}

void simhv_saver_rounds_to(struct simhv_saver *s, struct xend_buf *ctl)
{
    s->ctl = ctl;
}

static void put_rec_hdr(struct xend_buf *out, uint32_t type, uint32_t len)
{
    uint8_t h[REC_HDR];
    simhv_put_le32(h, type);
    simhv_put_le32(h + 4, len);
    xend_buf_append(out, h, sizeof(h));
}

static void put_header(const struct simhv_domain *d, uint64_t pages, struct xend_buf *out)
{
    struct xend_sxp *h = xend_sxp_list();
    xend_sxp_append_take(h, xend_sxp_atom("simhv-image"));
    xend_sxp_add_kv(h, "name", d->name);
    xend_sxp_add_kv_int(h, "mem_kb", (long long)d->mem_kb);
    xend_sxp_add_kv_int(h, "maxmem_kb", (long long)d->maxmem_kb);
    xend_sxp_add_kv_int(h, "vcpus", d->nvcpus);
    xend_sxp_add_kv_int(h, "npages", (long long)d->mem.npages);
    xend_sxp_add_kv_take(h, "seed", xend_sxp_atom_fmt("%016" PRIx64, d->mem.seed));
    xend_sxp_add_kv_int(h, "pages", (long long)pages);
    xend_sxp_add_kv(h, "kernel", d->kernel ? d->kernel : "");
    xend_sxp_add_kv(h, "cmdline", d->cmdline ? d->cmdline : "");
    xend_sxp_add_kv_int(h, "booted", d->guest.booted);
    xend_sxp_add_kv_int(h, "run_ms", (long long)(d->guest.run_ns / 1000000u));
    char *text = xend_sxp_print(h);
    xend_sxp_free(h);
    uint8_t pre[16];
    memcpy(pre, SIMHV_IMAGE_MAGIC, 8);
    simhv_put_le32(pre + 8, SIMHV_IMAGE_VERSION);
    simhv_put_le32(pre + 12, (uint32_t)strlen(text));
    xend_buf_append(out, pre, sizeof(pre));
    xend_buf_puts(out, text);
    free(text);
}

static void put_abort(struct xend_buf *out, int code, const char *msg)
{
    put_rec_hdr(out, SIMHV_REC_ABORT, (uint32_t)(4 + strlen(msg)));
    uint8_t c[4];
    simhv_put_le32(c, (uint32_t)code);
    xend_buf_append(out, c, 4);
    xend_buf_puts(out, msg);
}

static bool wanted(const struct simhv_saver *s, const struct simhv_domain *d, uint64_t pfn)
{
    if (s->round != NULL)
        return (s->round[pfn / 8] >> (pfn % 8)) & 1u;
    return d->mem.gen[pfn] != 0;
}

/* Start a PAGES record of up to SIMHV_PAGES_PER_REC pages from the cursor on (none: the
 * round's end was reached). */
static void start_pages(struct simhv_saver *s, const struct simhv_domain *d, struct xend_buf *out)
{
    uint32_t n = 0;
    while (s->cursor < d->mem.npages && n < SIMHV_PAGES_PER_REC) {
        if (wanted(s, d, s->cursor)) {
            s->rec_pfn[n] = s->cursor;
            s->rec_gen[n++] = d->mem.gen[s->cursor];
        }
        s->cursor++;
    }
    if (n == 0)
        return;
    put_rec_hdr(out, SIMHV_REC_PAGES, 4 + n * PAGE_ENTRY);
    uint8_t c[4];
    simhv_put_le32(c, n);
    xend_buf_append(out, c, 4);
    s->rec_n = n;
    s->rec_next = 0;
    s->sent += n;
}

/* The next page of the record being written. */
static void put_page(struct simhv_saver *s, struct xend_buf *out)
{
    uint32_t i = s->rec_next++;
    uint8_t *p = (uint8_t *)xend_buf_reserve(out, PAGE_ENTRY);
    simhv_put_le64(p, s->rec_pfn[i]);
    simhv_mem_page_bytes(s->seed, s->rec_pfn[i], s->rec_gen[i], p + 8);
    xend_buf_commit(out, PAGE_ENTRY);
}

/* The ROUND record of the round that just ended (image.h). */
static void put_round(struct simhv_saver *s, const struct simhv_domain *d, uint64_t now,
                      uint64_t dirty, struct xend_buf *out)
{
    uint8_t r[SIMHV_ROUND_LEN] = {0};
    simhv_put_le32(r, s->rounds);
    simhv_put_le32(r + 4, s->phase == SAVE_LAST);
    simhv_put_le64(r + 8, s->sent - s->round_sent);
    simhv_put_le64(r + 16, now - s->round_start_ns);
    simhv_put_le64(r + 24, dirty);
    simhv_put_le32(r + 32, d->guest.throttle_pct);
    simhv_put_le64(r + 40, s->phase == SAVE_LAST ? s->paused_ns : 0);
    if (s->ctl != NULL)
        out = s->ctl;
    put_rec_hdr(out, SIMHV_REC_ROUND, sizeof(r));
    xend_buf_append(out, r, sizeof(r));
    s->round_start_ns = now;
    s->round_sent = s->sent;
}

/*
 * A guest that dirtied pages faster than a quarter of the rate this round was sent at is
 * slowed to that quarter (auto-converge): the next round then sends at most about a quarter
 * of what this one found dirty, so the last one comes within its bound in a few rounds.
 */
static void throttle(struct simhv_domain *d, uint64_t sent, uint64_t dirty)
{
    if (dirty * SIMHV_LIVE_CONVERGE <= sent)
        return;
    unsigned keep = 100u - d->guest.throttle_pct;
    uint64_t want = (uint64_t)keep * sent / (dirty * SIMHV_LIVE_CONVERGE);
    d->guest.throttle_pct = 100u - (unsigned)(want < 1 ? 1 : want);
}

static void next_round(struct simhv_saver *s, struct simhv_machine *m, struct simhv_domain *d,
                       struct xend_buf *out)
{
    s->rounds++;
    s->cursor = 0;
    if (!s->live) {
        s->phase = SAVE_END;
        return;
    }
    uint64_t now = xend_clock_ns();
    if (s->phase == SAVE_LAST) {
        put_round(s, d, now, 0, out);
        s->phase = SAVE_END;
        return;
    }
    if (s->round == NULL)
        s->round = xend_xcalloc((size_t)(d->mem.npages + 8) / 8, 1);
    /* Peek at the dirty count first: the last round must start after the pause. */
    uint64_t dirty = 0;
    size_t nbytes = (size_t)(d->mem.npages + 7) / 8;
    for (size_t i = 0; i < nbytes; i++)
        dirty += (uint64_t)__builtin_popcount(d->mem.track[SIMHV_MEM_TRACK_SAVE][i]);
    uint64_t sent = s->sent - s->round_sent;
    put_round(s, d, now, dirty, out);
    if (dirty <= s->max_last || s->rounds + 1 >= s->max_rounds) {
        if (simhv_dom_alive(d)) {
            simhv_dom_pause(m, d, NULL);
            s->paused_it = true;
            s->paused_ns = xend_clock_ns();
        }
        unthrottle(d);
        s->last_round = dirty;
        s->phase = SAVE_LAST;
    } else {
        throttle(d, sent, dirty);
    }
    /* The next round's clock starts now, as its pages are taken. */
    s->round_start_ns = xend_clock_ns();
    simhv_mem_track_take(&d->mem, SIMHV_MEM_TRACK_SAVE, s->round, d->mem.npages);
}

bool simhv_saver_step(struct simhv_saver *s, struct simhv_machine *m, struct xend_buf *out,
                      size_t budget)
{
    if (s->phase == SAVE_DONE)
        return false;
    struct simhv_domain *d = simhv_dom_find_uid(m, s->uid);
    if (d == NULL) {
        while (s->rec_next < s->rec_n) /* the record begun is whole: its reader's framing */
            put_page(s, out);
        char msg[128];
        snprintf(msg, sizeof(msg), "domain %u went away during the save", s->domid);
        put_abort(out, XEND_ENOENT, msg);
        if (s->ctl != NULL)
            put_abort(s->ctl, XEND_ENOENT, msg);
        s->phase = SAVE_DONE;
        return false;
    }
    size_t start = out->len;
    while (out->len - start < budget && s->phase != SAVE_DONE) {
        switch (s->phase) {
        case SAVE_HEADER:
            put_header(d, s->total, out);
            s->phase = SAVE_ROUND;
            break;
        case SAVE_ROUND:
        case SAVE_LAST:
            if (s->rec_next < s->rec_n)
                put_page(s, out);
            else if (s->cursor >= d->mem.npages)
                next_round(s, m, d, out);
            else
                start_pages(s, d, out);
            break;
        case SAVE_END: {
            uint8_t e[16];
            simhv_put_le64(e, simhv_mem_checksum(&d->mem));
            simhv_put_le64(e + 8, s->sent);
            put_rec_hdr(out, SIMHV_REC_END, sizeof(e));
            xend_buf_append(out, e, sizeof(e));
            simhv_mem_track_end(&d->mem, SIMHV_MEM_TRACK_SAVE);
            /* The sender's part of a live save's downtime: the guest paused for the last
             * round until its end was written (the rest is the receiver's). */
            simhv_dmesg(m,
                        "domain %u: save done, %" PRIu64
                        " pages in %u round(s), last round %" PRIu64 " pages, paused %" PRIu64
                        " ms",
                        d->domid, s->sent, s->rounds, s->live ? s->last_round : s->sent,
                        s->paused_ns ? (xend_clock_ns() - s->paused_ns) / 1000000u : 0);
            s->phase = SAVE_DONE;
            break;
        }
        case SAVE_DONE:
            break;
        }
    }
    return s->phase != SAVE_DONE;
}

bool simhv_saver_stop(struct simhv_saver *s, struct simhv_machine *m)
{
    if (s->stopped)
        return false;
    s->stopped = true;
    s->phase = SAVE_DONE;
    struct simhv_domain *d = simhv_dom_find_uid(m, s->uid);
    if (d == NULL)
        return true;
    simhv_mem_track_end(&d->mem, SIMHV_MEM_TRACK_SAVE);
    unthrottle(d);
    if (s->paused_it && !simhv_dom_alive(d))
        simhv_dom_unpause(m, d, NULL);
    simhv_dmesg(m, "domain %u: save stopped%s", d->domid, s->paused_it ? ", resumed" : "");
    return true;
}

void simhv_saver_free(struct simhv_saver *s, struct simhv_machine *m)
{
    if (s == NULL)
        return;
    struct simhv_domain *d = simhv_dom_find_uid(m, s->uid);
    if (d != NULL) {
        simhv_mem_track_end(&d->mem, SIMHV_MEM_TRACK_SAVE);
        unthrottle(d);
    }
    /* Its reader went before the end (xend died): the guest was not saved, so it runs on
     * as it did before. */
    if (s->phase != SAVE_DONE)
        simhv_saver_stop(s, m);
    free(s->round);
    free(s);
}

/* ---- restore ---- */

/* A PAGES record is taken a page at a time (REST_PAGE), from the caller's bytes where a whole
 * page is there: copying each page into acc first was a second pass over every byte. */
enum restorer_phase {
    REST_PRE,
    REST_HEADER,
    REST_REC_HDR,
    REST_PAYLOAD,
    REST_PAGE_COUNT,
    REST_PAGE,
    REST_DONE
};

struct simhv_restorer {
    struct simhv_dom_args args;
    char name[64];
    const void *owner;
    enum restorer_phase phase;
    uint8_t *acc; /* owned: the unit being collected */
    size_t acc_len, need;
    uint32_t rtype, rlen;
    uint32_t pages_left; /* of the PAGES record being read */
    uint64_t uid;
    uint32_t domid;
    bool have_domain;
    uint64_t seed;
    uint64_t pages;
    uint64_t taken; /* page entries checked and taken */
};

struct simhv_restorer *simhv_restorer_new(const struct simhv_dom_args *args, const void *owner)
{
    struct simhv_restorer *r = xend_xcalloc(1, sizeof(*r));
    r->args = *args;
    snprintf(r->name, sizeof(r->name), "%s", args->name ? args->name : "");
    r->args.name = r->name;
    r->owner = owner;
    r->phase = REST_PRE;
    r->need = 16;
    r->acc = xend_xmalloc(SIMHV_REC_MAX);
    return r;
}

static int header_u64(const struct xend_sxp *h, const char *key, uint64_t *out,
                      struct xend_err *err)
{
    long long v;
    if (xend_sxp_child_int(h, key, &v) < 0 || v < 0)
        return xend_err_set(err, XEND_EINVAL, "image header has no valid %s", key);
    *out = (uint64_t)v;
    return 0;
}

static int take_header(struct simhv_restorer *r, struct simhv_machine *m, struct xend_err *err)
{
    struct xend_sxp *h = NULL;
    char msg[128];
    if (xend_sxp_parse((const char *)r->acc, r->acc_len, NULL, &h, msg, sizeof(msg)) < 0)
        return xend_err_set(err, XEND_EINVAL, "bad image header: %s", msg);
    int rc = 0;
    uint64_t mem_kb = 0, maxmem_kb = 0, vcpus = 0, npages = 0, booted = 0, run_ms = 0;
    const char *seed = xend_sxp_child_value(h, "seed", NULL);
    if (xend_sxp_name(h) == NULL || strcmp(xend_sxp_name(h), "simhv-image") != 0) {
        rc = xend_err_set(err, XEND_EINVAL, "bad image header: not a simhv-image");
        goto out;
    }
    if ((rc = header_u64(h, "mem_kb", &mem_kb, err)) < 0 ||
        (rc = header_u64(h, "maxmem_kb", &maxmem_kb, err)) < 0 ||
        (rc = header_u64(h, "vcpus", &vcpus, err)) < 0 ||
        (rc = header_u64(h, "npages", &npages, err)) < 0 ||
        (rc = header_u64(h, "pages", &r->pages, err)) < 0 ||
        (rc = header_u64(h, "booted", &booted, err)) < 0 ||
        (rc = header_u64(h, "run_ms", &run_ms, err)) < 0)
        goto out;
    if (seed == NULL) {
        rc = xend_err_set(err, XEND_EINVAL, "image header has no seed");
        goto out;
    }
    r->seed = strtoull(seed, NULL, 16);
    struct simhv_dom_args a = r->args;
    if (a.mem_kb == 0)
        a.mem_kb = mem_kb;
    if (a.maxmem_kb == 0)
        a.maxmem_kb = maxmem_kb;
    if (a.vcpus == 0)
        a.vcpus = (uint32_t)vcpus;
    if (a.name == NULL || a.name[0] == '\0')
        a.name = xend_sxp_child_value(h, "name", "");
    if (npages * (SIMHV_PAGE_SIZE / 1024) > a.mem_kb || npages > (1ull << 28)) {
        rc = xend_err_set(err, XEND_EINVAL,
                          "image holds %" PRIu64 " KiB, more than the %" PRIu64
                          " KiB given to the domain",
                          npages * (SIMHV_PAGE_SIZE / 1024), a.mem_kb);
        goto out;
    }
    struct simhv_domain *d;
    rc = simhv_dom_create(m, &a, r->owner, &d, err);
    if (rc < 0)
        goto out;
    r->have_domain = true;
    r->uid = d->uid;
    r->domid = d->domid;
    simhv_mem_free(&d->mem);
    simhv_mem_init(&d->mem, npages, r->seed);
    rc = simhv_dom_set_guest(m, d, xend_sxp_child_value(h, "kernel", ""),
                             xend_sxp_child_value(h, "cmdline", ""), err);
    if (rc < 0)
        goto out;
    d->guest.booted = booted != 0;
    d->guest.run_ns = run_ms * 1000000u;
out:
    xend_sxp_free(h);
    return rc;
}

/* The page count of a PAGES record: it must say the record's length. */
static int take_page_count(struct simhv_restorer *r)
{
    r->pages_left = simhv_get_le32(r->acc);
    if ((uint64_t)r->pages_left * PAGE_ENTRY + 4 != r->rlen)
        return -1;
    r->phase = r->pages_left ? REST_PAGE : REST_REC_HDR;
    r->need = r->pages_left ? PAGE_ENTRY : REC_HDR;
    return 0;
}

/* One page entry (u64 pfn, the page's bytes), checked and taken into the domain's image. */
static int take_page(struct simhv_restorer *r, struct simhv_machine *m, const uint8_t *e,
                     struct xend_err *err)
{
    struct simhv_domain *d = simhv_dom_find_uid(m, r->uid);
    if (d == NULL)
        return xend_err_set(err, XEND_ENOENT, "domain %u went away during the restore", r->domid);
    uint64_t pfn = simhv_get_le64(e);
    uint32_t gen;
    if (pfn >= d->mem.npages)
        return xend_err_set(err, XEND_EINVAL, "page %" PRIu64 " is outside the image", pfn);
    if (simhv_mem_page_check(r->seed, pfn, e + 8, &gen) < 0)
        return xend_err_set(err, XEND_EIO, "corrupt page %" PRIu64 " in the image", pfn);
    simhv_mem_set(&d->mem, pfn, gen);
    r->taken++;
    if (--r->pages_left == 0) {
        r->phase = REST_REC_HDR;
        r->need = REC_HDR;
    }
    return 0;
}

/* A whole unit (header, record header or record) is in acc: act on it. */
static int take_unit(struct simhv_restorer *r, struct simhv_machine *m, struct xend_err *err)
{
    switch (r->phase) {
    case REST_PRE: {
        if (memcmp(r->acc, SIMHV_IMAGE_MAGIC, 8) != 0)
            return xend_err_set(err, XEND_EINVAL, "not a simhv image (bad magic)");
        uint32_t version = simhv_get_le32(r->acc + 8), hlen = simhv_get_le32(r->acc + 12);
        if (version != SIMHV_IMAGE_VERSION)
            return xend_err_set(err, XEND_EINVAL, "simhv image version %u, this simhv reads %u",
                                version, SIMHV_IMAGE_VERSION);
        if (hlen == 0 || hlen > SIMHV_IMAGE_HEADER_MAX)
            return xend_err_set(err, XEND_EINVAL, "bad image header length %u", hlen);
        r->phase = REST_HEADER;
        r->need = hlen;
        return 0;
    }
    case REST_HEADER: {
        int rc = take_header(r, m, err);
        if (rc < 0)
            return rc;
        r->phase = REST_REC_HDR;
        r->need = REC_HDR;
        return 0;
    }
    case REST_REC_HDR:
        r->rtype = simhv_get_le32(r->acc);
        r->rlen = simhv_get_le32(r->acc + 4);
        if (r->rlen > SIMHV_REC_MAX)
            return xend_err_set(err, XEND_EINVAL, "image record of %u bytes is too large", r->rlen);
        if (r->rtype == SIMHV_REC_PAGES && r->rlen < 4)
            return xend_err_set(err, XEND_EINVAL, "truncated page record");
        r->phase = r->rtype == SIMHV_REC_PAGES ? REST_PAGE_COUNT : REST_PAYLOAD;
        r->need = r->rtype == SIMHV_REC_PAGES ? 4 : r->rlen;
        return 0;
    case REST_PAGE_COUNT:
        if (take_page_count(r) < 0)
            return xend_err_set(err, XEND_EINVAL, "page record of %u bytes cannot hold %u pages",
                                r->rlen, r->pages_left);
        return 0;
    case REST_PAGE:
        return take_page(r, m, r->acc, err);
    default:
        break;
    }

    struct simhv_domain *d = simhv_dom_find_uid(m, r->uid);
    if (d == NULL)
        return xend_err_set(err, XEND_ENOENT, "domain %u went away during the restore", r->domid);
    switch (r->rtype) {
    case SIMHV_REC_END: {
        if (r->acc_len != 16)
            return xend_err_set(err, XEND_EINVAL, "bad end record");
        uint64_t want = simhv_get_le64(r->acc), have = simhv_mem_checksum(&d->mem);
        if (want != have)
            return xend_err_set(err, XEND_EIO,
                                "image checksum mismatch: image says %016" PRIx64
                                ", pages give %016" PRIx64,
                                want, have);
        d->owner = NULL;
        if (d->guest.booted)
            simhv_console_printf(&d->console, "\r\nsimhv: domain restored\r\n");
        simhv_dmesg(m, "domain %u restored: %" PRIu64 " pages", d->domid, d->mem.present);
        r->phase = REST_DONE;
        return 1;
    }
    case SIMHV_REC_ROUND: /* its reader's news; an image may carry it, it changes nothing */
        break;
    case SIMHV_REC_ABORT: {
        int n = r->acc_len > 4 ? (int)(r->acc_len - 4) : 0;
        return xend_err_set(err, XEND_EIO, "the image is incomplete: its save failed: %.*s", n,
                            (const char *)r->acc + 4);
    }
    default:
        return xend_err_set(err, XEND_EINVAL, "unknown image record type %u", r->rtype);
    }
    r->phase = REST_REC_HDR;
    r->need = REC_HDR;
    return 0;
}

int simhv_restorer_feed(struct simhv_restorer *r, struct simhv_machine *m, const uint8_t *data,
                        size_t len, size_t *used, uint32_t *domid, struct xend_err *err)
{
    size_t off = 0;
    int rc = 0;
    while (r->phase != REST_DONE) {
        if (r->phase == REST_PAGE && r->acc_len == 0 && len - off >= PAGE_ENTRY) {
            rc = take_page(r, m, data + off, err);
            if (rc != 0)
                break;
            off += PAGE_ENTRY;
            continue;
        }
        size_t want = r->need - r->acc_len;
        size_t n = len - off < want ? len - off : want;
        memcpy(r->acc + r->acc_len, data + off, n);
        r->acc_len += n;
        off += n;
        if (r->acc_len < r->need)
            break;
        rc = take_unit(r, m, err);
        r->acc_len = 0;
        if (rc != 0)
            break;
    }
    *used = off;
    if (rc == 1)
        *domid = r->domid;
    return rc;
}

void simhv_restorer_free(struct simhv_restorer *r, struct simhv_machine *m)
{
    if (r == NULL)
        return;
    if (r->have_domain && r->phase != REST_DONE) {
        struct simhv_domain *d = simhv_dom_find_uid(m, r->uid);
        if (d != NULL)
            simhv_dom_destroy(m, d, NULL);
    }
    free(r->acc);
    free(r);
}

void simhv_restorer_progress(const struct simhv_restorer *r, uint64_t *done, uint64_t *total)
{
    *done = r->taken;
    *total = r->pages;
}
