/*
 * The simulated machine and its domains (see domain.h): memory accounting, the domain
 * table, domain operations and the hypervisor's console ring. No sockets, no clock.
 */
#include "domain.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xend/backend.h>

#include "buf.h"

#define NS_PER_MS 1000000ull
#define MAX_DOMID SIMHV_MAX_DOMID
#define DOM0_LOAD 2
#define BUILD_EXTRA_PAGES 64 /* start info, page tables: touched by every build */

static uint64_t pages_of(uint64_t kb)
{
    return (kb + SIMHV_PAGE_SIZE / 1024 - 1) / (SIMHV_PAGE_SIZE / 1024);
}

static uint64_t mb_up(uint64_t kb)
{
    return (kb + 1023) / 1024;
}

void simhv_dmesg(struct simhv_machine *m, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (m->log != NULL)
        m->log(line);
    size_t len = strlen(line) + 7; /* "(XEN) " + '\n' */
    if (m->dmesg_len + len >= SIMHV_DMESG_MAX) {
        /* Drop whole lines from the front until the new one fits and a quarter is free:
         * moving the ring for every line made it most of simhv's cost of a create. */
        size_t cut = 0;
        while (cut < m->dmesg_len &&
               m->dmesg_len - cut + len + SIMHV_DMESG_MAX / 4 >= SIMHV_DMESG_MAX) {
            char *nl = memchr(m->dmesg + cut, '\n', m->dmesg_len - cut);
            cut = nl ? (size_t)(nl - m->dmesg) + 1 : m->dmesg_len;
        }
        memmove(m->dmesg, m->dmesg + cut, m->dmesg_len - cut + 1);
        m->dmesg_len -= cut;
    }
    m->dmesg_len += (size_t)snprintf(m->dmesg + m->dmesg_len, SIMHV_DMESG_MAX - m->dmesg_len,
                                     "(XEN) %s\n", line);
}

char *simhv_dmesg_read(struct simhv_machine *m, bool clear)
{
    char *text = xend_xstrdup(m->dmesg);
    if (clear) {
        m->dmesg[0] = '\0';
        m->dmesg_len = 0;
    }
    return text;
}

/*
 * As Xen raises VIRQ_DOM_EXC: when a domain shuts down, crashes or is destroyed, not when
 * it is created, paused or unpaused (whoever did that knows; a burst of creates must not
 * make xend list every domain again and again).
 */
void simhv_machine_changed(struct simhv_machine *m)
{
    m->change_seq++;
}

bool simhv_dom_alive(const struct simhv_domain *d)
{
    return d->built && !d->paused && !d->shutdown && !d->crashed;
}

static void active_set(struct simhv_machine *m, struct simhv_domain *d, bool alive)
{
    if (alive == d->in_active)
        return;
    if (alive) {
        d->active_prev = NULL;
        d->active_next = m->active;
        if (m->active != NULL)
            m->active->active_prev = d;
        m->active = d;
    } else {
        if (d->active_prev != NULL)
            d->active_prev->active_next = d->active_next;
        else
            m->active = d->active_next;
        if (d->active_next != NULL)
            d->active_next->active_prev = d->active_prev;
        d->active_next = d->active_prev = NULL;
    }
    d->in_active = alive;
}

/* Tell the scheduler (and the list of alive domains) what the domain wants now. */
static void sched_sync(struct simhv_machine *m, struct simhv_domain *d)
{
    active_set(m, d, simhv_dom_alive(d));
    for (uint32_t i = 0; i < d->nvcpus; i++) {
        struct simhv_vcpu *v = &d->vcpus[i];
        v->runnable = simhv_dom_alive(d);
        v->load_pct = d->guest.knobs.load_pct;
        simhv_sched_update(m->sched, v);
    }
}

static size_t uid_slot(const struct simhv_machine *m, uint64_t uid)
{
    return (size_t)(simhv_mix64(uid) & (m->uid_buckets - 1));
}

static void uid_grow(struct simhv_machine *m)
{
    size_t n = m->uid_buckets ? m->uid_buckets * 2 : 64;
    struct simhv_domain **old = m->by_uid;
    size_t old_n = m->uid_buckets;
    m->by_uid = xend_xcalloc(n, sizeof(*m->by_uid));
    m->uid_buckets = n;
    for (size_t i = 0; i < old_n; i++) {
        while (old[i] != NULL) {
            struct simhv_domain *d = old[i];
            old[i] = d->uid_next;
            size_t k = uid_slot(m, d->uid);
            d->uid_next = m->by_uid[k];
            m->by_uid[k] = d;
        }
    }
    free(old);
}

/* Into the list (domid order; fresh ids usually go last) and both indexes. */
static void insert(struct simhv_machine *m, struct simhv_domain *d)
{
    struct simhv_domain *after = m->tail;
    while (after != NULL && after->domid > d->domid)
        after = after->prev;
    d->prev = after;
    d->next = after ? after->next : m->domains;
    if (d->next != NULL)
        d->next->prev = d;
    else
        m->tail = d;
    if (after != NULL)
        after->next = d;
    else
        m->domains = d;
    m->by_id[d->domid] = d;
    if (m->ndomains + 1 > m->uid_buckets)
        uid_grow(m);
    size_t k = uid_slot(m, d->uid);
    d->uid_next = m->by_uid[k];
    m->by_uid[k] = d;
    m->ndomains++;
}

static void unlink_dom(struct simhv_machine *m, struct simhv_domain *d)
{
    if (d->prev != NULL)
        d->prev->next = d->next;
    else
        m->domains = d->next;
    if (d->next != NULL)
        d->next->prev = d->prev;
    else
        m->tail = d->prev;
    m->by_id[d->domid] = NULL;
    for (struct simhv_domain **pp = &m->by_uid[uid_slot(m, d->uid)]; *pp != NULL;
         pp = &(*pp)->uid_next) {
        if (*pp == d) {
            *pp = d->uid_next;
            break;
        }
    }
    m->ndomains--;
}

static struct simhv_domain *dom_new(struct simhv_machine *m, uint32_t domid, const char *name,
                                    uint64_t mem_kb, uint64_t maxmem_kb, uint32_t vcpus,
                                    int32_t cpu)
{
    struct simhv_domain *d = xend_xcalloc(1, sizeof(*d));
    d->domid = domid;
    d->uid = m->next_uid++;
    snprintf(d->name, sizeof(d->name), "%s", name ? name : "");
    d->mem_kb = mem_kb;
    m->used_kb += mem_kb;
    d->maxmem_kb = maxmem_kb;
    d->nvcpus = vcpus;
    d->paused = true;
    simhv_guest_knobs_default(&d->guest.knobs);
    simhv_mem_init(&d->mem, pages_of(mem_kb), simhv_mix64(d->uid ^ (m->now_ns << 16) ^ 0xd0d0));
    simhv_console_init(&d->console);
    d->vcpus = xend_xcalloc(vcpus, sizeof(*d->vcpus));
    for (uint32_t i = 0; i < vcpus; i++) {
        struct simhv_vcpu *v = &d->vcpus[i];
        v->domid = domid;
        v->load_pct = d->guest.knobs.load_pct;
        v->pin = cpu;
        v->last_cpu = cpu >= 0 ? cpu : 0;
        simhv_sched_add(m->sched, v);
    }
    insert(m, d);
    return d;
}

static void dom_free(struct simhv_machine *m, struct simhv_domain *d)
{
    active_set(m, d, false);
    m->used_kb -= d->mem_kb;
    for (uint32_t i = 0; i < d->nvcpus; i++)
        simhv_sched_remove(m->sched, &d->vcpus[i]);
    free(d->vcpus);
    while (d->devs != NULL) {
        struct simhv_dev *n = d->devs->next;
        free(d->devs);
        d->devs = n;
    }
    simhv_mem_free(&d->mem);
    simhv_console_free(&d->console);
    free(d->kernel);
    free(d->cmdline);
    free(d);
}

struct simhv_machine *simhv_machine_new(const struct simhv_machine_cfg *cfg, uint64_t now_ns,
                                        struct xend_err *err)
{
    if (cfg->cpus < 1 || cfg->cpus > 64) {
        xend_err_set(err, XEND_EINVAL, "cpus must be 1..64, not %u", cfg->cpus);
        return NULL;
    }
    if (cfg->memory_mb < 64 || cfg->memory_mb > (uint64_t)1024 * 1024) {
        xend_err_set(err, XEND_EINVAL, "memory must be 64..1048576 MB, not %" PRIu64,
                     cfg->memory_mb);
        return NULL;
    }
    if (cfg->slice_ms < 1 || cfg->slice_ms > 10000) {
        xend_err_set(err, XEND_EINVAL, "slice must be 1..10000 ms, not %" PRIu64, cfg->slice_ms);
        return NULL;
    }
    char msg[256] = "";
    struct simhv_sched *s = simhv_sched_new(cfg->scheduler ? cfg->scheduler : "bvt", cfg->cpus,
                                            cfg->slice_ms * NS_PER_MS, now_ns, msg, sizeof(msg));
    if (s == NULL) {
        xend_err_set(err, XEND_EINVAL, "%s", msg[0] ? msg : "unknown scheduler");
        return NULL;
    }
    struct simhv_machine *m = xend_xcalloc(1, sizeof(*m));
    m->ncpus = cfg->cpus;
    m->total_kb = cfg->memory_mb * 1024;
    m->shutdown_delay_ms = cfg->shutdown_delay_ms;
    m->sched = s;
    m->now_ns = now_ns;
    m->next_domid = 1;
    m->by_id = xend_xcalloc(MAX_DOMID + 1, sizeof(*m->by_id));
    uid_grow(m);
    m->dmesg = xend_xcalloc(1, SIMHV_DMESG_MAX);
    simhv_dmesg(m, "simhv %s: %u cpus at %u MHz, %" PRIu64 " MB, scheduler %s", SIMHV_VERSION,
                m->ncpus, SIMHV_CPU_MHZ, cfg->memory_mb, simhv_sched_name(s));

    uint64_t dom0_kb = (uint64_t)SIMHV_DOM0_MB * 1024;
    if (dom0_kb > m->total_kb / 2)
        dom0_kb = m->total_kb / 2;
    struct simhv_domain *d0 = dom_new(m, 0, "Domain-0", dom0_kb, dom0_kb, 1, -1);
    d0->built = true;
    d0->paused = false;
    d0->guest.booted = true;
    d0->guest.knobs.load_pct = DOM0_LOAD;
    d0->guest.knobs.dirty_rate = 0;
    sched_sync(m, d0);
    simhv_dmesg(m, "Domain-0: %" PRIu64 " MB", mb_up(dom0_kb));
    return m;
}

void simhv_machine_free(struct simhv_machine *m)
{
    if (m == NULL)
        return;
    while (m->domains != NULL) {
        struct simhv_domain *d = m->domains;
        m->domains = d->next;
        dom_free(m, d);
    }
    simhv_sched_free(m->sched);
    free(m->by_id);
    free(m->by_uid);
    free(m->dmesg);
    free(m);
}

void simhv_machine_advance(struct simhv_machine *m, uint64_t now_ns)
{
    if (now_ns < m->now_ns)
        now_ns = m->now_ns;
    uint64_t dt = now_ns - m->now_ns;
    simhv_sched_advance(m->sched, now_ns);
    m->now_ns = now_ns;
    /* A tick may stop its domain, which leaves the list: take the next one first. */
    for (struct simhv_domain *d = m->active, *next; d != NULL; d = next) {
        next = d->active_next;
        simhv_guest_tick(m, d, now_ns, dt);
    }
}

uint64_t simhv_machine_next_event(const struct simhv_machine *m)
{
    uint64_t next = UINT64_MAX;
    for (const struct simhv_domain *d = m->active; d != NULL; d = d->active_next) {
        uint64_t e = simhv_guest_next_event(m, d, m->now_ns);
        next = e < next ? e : next;
    }
    return next;
}

uint64_t simhv_machine_free_kb(const struct simhv_machine *m)
{
    return m->used_kb < m->total_kb ? m->total_kb - m->used_kb : 0;
}

void simhv_machine_owner_gone(struct simhv_machine *m, const void *owner)
{
    struct simhv_domain *d = m->domains;
    while (d != NULL) {
        struct simhv_domain *next = d->next;
        if (owner != NULL && d->owner == owner) {
            simhv_dmesg(m, "domain %u: its creator went away before it was made: destroyed",
                        d->domid);
            simhv_dom_destroy(m, d, NULL);
        }
        d = next;
    }
}

struct simhv_domain *simhv_dom_find(const struct simhv_machine *m, uint32_t domid)
{
    return domid <= MAX_DOMID ? m->by_id[domid] : NULL;
}

void simhv_dom_walk(const struct simhv_machine *m,
                    void (*fn)(const struct simhv_domain *d, void *arg), void *arg)
{
    if (m->tail == NULL)
        return;
    /* The id index is an array: what comes 8 slots on is known without reading a domain.
     * Its first lines (the fields a list reads) then, 4 slots on, its vcpus. */
    uint32_t last = m->tail->domid;
    for (uint32_t id = 0; id <= last; id++) {
        const struct simhv_domain *ahead = id + 8 <= last ? m->by_id[id + 8] : NULL;
        if (ahead != NULL) {
            __builtin_prefetch(ahead);
            __builtin_prefetch((const char *)ahead + 64);
        }
        ahead = id + 4 <= last ? m->by_id[id + 4] : NULL;
        if (ahead != NULL)
            __builtin_prefetch(ahead->vcpus);
        if (m->by_id[id] != NULL)
            fn(m->by_id[id], arg);
    }
}

struct simhv_domain *simhv_dom_find_uid(const struct simhv_machine *m, uint64_t uid)
{
    for (struct simhv_domain *d = m->by_uid[uid_slot(m, uid)]; d != NULL; d = d->uid_next)
        if (d->uid == uid)
            return d;
    return NULL;
}

struct simhv_domain *simhv_dom_get(struct simhv_machine *m, uint32_t domid, struct xend_err *err)
{
    struct simhv_domain *d = simhv_dom_find(m, domid);
    if (d == NULL)
        xend_err_set(err, XEND_ENOENT, "No such domain: %u", domid);
    return d;
}

static uint32_t pick_domid(struct simhv_machine *m, int64_t want)
{
    if (want > 0 && want <= MAX_DOMID && simhv_dom_find(m, (uint32_t)want) == NULL)
        return (uint32_t)want;
    /* Like Xen: ids go up and wrap, so a fresh domain rarely reuses a recent id. */
    for (;;) {
        uint32_t id = m->next_domid;
        m->next_domid = id >= MAX_DOMID ? 1 : id + 1;
        if (simhv_dom_find(m, id) == NULL)
            return id;
    }
}

static int check_fits(struct simhv_machine *m, uint64_t kb, struct xend_err *err)
{
    uint64_t free_kb = simhv_machine_free_kb(m);
    if (kb > free_kb)
        return xend_err_set(err, XEND_ENOMEM,
                            "Out of memory: domain needs %" PRIu64 " MB, %" PRIu64 " MB free",
                            mb_up(kb), free_kb / 1024);
    return 0;
}

int simhv_dom_create(struct simhv_machine *m, const struct simhv_dom_args *args, const void *owner,
                     struct simhv_domain **out, struct xend_err *err)
{
    uint64_t mem_kb = pages_of(args->mem_kb) * (SIMHV_PAGE_SIZE / 1024);
    uint32_t vcpus = args->vcpus ? args->vcpus : 1;
    if (mem_kb == 0)
        return xend_err_set(err, XEND_EINVAL, "domain memory must be more than 0 KiB");
    if (vcpus > SIMHV_MAX_VCPUS)
        return xend_err_set(err, XEND_EINVAL, "vcpus must be 1..%d, not %u", SIMHV_MAX_VCPUS,
                            vcpus);
    if (args->cpu < -1 || args->cpu >= (int32_t)m->ncpus)
        return xend_err_set(err, XEND_EINVAL, "cpu %d does not exist (this machine has %u)",
                            args->cpu, m->ncpus);
    int rc = check_fits(m, mem_kb, err);
    if (rc < 0)
        return rc;
    uint64_t maxmem_kb = args->maxmem_kb > mem_kb ? args->maxmem_kb : mem_kb;
    uint32_t domid = pick_domid(m, args->want_domid);
    struct simhv_domain *d = dom_new(m, domid, args->name, mem_kb, maxmem_kb, vcpus, args->cpu);
    d->owner = owner;
    simhv_dmesg(m, "domain %u created: %" PRIu64 " MB, %u vcpu(s)", domid, mb_up(mem_kb), vcpus);
    *out = d;
    return 0;
}

/* An existing regular file, as 2.0's xend checked (os.path.isfile): one stat, no open, as
 * a build per create must be cheap. */
static int regular_file(const char *path, uint64_t *size)
{
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
        return -1;
    *size = (uint64_t)st.st_size;
    return 0;
}

int simhv_dom_set_guest(struct simhv_machine *m, struct simhv_domain *d, const char *kernel,
                        const char *cmdline, struct xend_err *err)
{
    char msg[256];
    struct simhv_guest_knobs knobs;
    if (simhv_guest_parse(cmdline, &knobs, msg, sizeof(msg)) < 0)
        return xend_err_set(err, XEND_EINVAL, "%s", msg);
    free(d->kernel);
    free(d->cmdline);
    d->kernel = xend_xstrdup(kernel ? kernel : "");
    d->cmdline = xend_xstrdup(cmdline ? cmdline : "");
    d->guest.knobs = knobs;
    d->built = true;
    sched_sync(m, d);
    return 0;
}

int simhv_dom_build(struct simhv_machine *m, struct simhv_domain *d, const char *kernel,
                    const char *ramdisk, const char *cmdline, struct xend_err *err)
{
    uint64_t ksize = 0, rsize = 0;
    if (d->built)
        return xend_err_set(err, XEND_EINVAL, "domain %u is already built", d->domid);
    if (kernel == NULL || kernel[0] == '\0')
        return xend_err_set(err, XEND_EINVAL, "no kernel image given");
    if (regular_file(kernel, &ksize) < 0)
        return xend_err_set(err, XEND_ENOENT, "Kernel image does not exist: %s", kernel);
    if (ramdisk != NULL && ramdisk[0] != '\0' && regular_file(ramdisk, &rsize) < 0)
        return xend_err_set(err, XEND_ENOENT, "Ramdisk image does not exist: %s", ramdisk);
    int rc = simhv_dom_set_guest(m, d, kernel, cmdline, err);
    if (rc < 0)
        return rc;
    uint64_t touched = (ksize + SIMHV_PAGE_SIZE - 1) / SIMHV_PAGE_SIZE +
                       (rsize + SIMHV_PAGE_SIZE - 1) / SIMHV_PAGE_SIZE + BUILD_EXTRA_PAGES;
    for (uint64_t pfn = 0; pfn < touched && pfn < d->mem.npages; pfn++)
        simhv_mem_touch(&d->mem, pfn);
    d->owner = NULL;
    simhv_dmesg(m, "domain %u built: kernel %s", d->domid, kernel);
    return 0;
}

int simhv_dom_pause(struct simhv_machine *m, struct simhv_domain *d, struct xend_err *err)
{
    if (d->domid == 0)
        return xend_err_set(err, XEND_EPERM, "Domain-0 cannot be paused");
    if (!d->paused) {
        d->paused = true;
        sched_sync(m, d);
    }
    return 0;
}

int simhv_dom_unpause(struct simhv_machine *m, struct simhv_domain *d, struct xend_err *err)
{
    if (!d->built)
        return xend_err_set(err, XEND_EINVAL, "domain %u has no kernel yet: build it first",
                            d->domid);
    if (d->paused) {
        d->paused = false;
        sched_sync(m, d);
        simhv_guest_unpaused(m, d);
    }
    return 0;
}

int simhv_dom_shutdown(struct simhv_machine *m, struct simhv_domain *d, uint32_t reason,
                       struct xend_err *err)
{
    if (d->domid == 0)
        return xend_err_set(err, XEND_EPERM, "Domain-0 cannot be shut down through simhv");
    switch (reason) {
    case XEND_SHUTDOWN_HALT:
        reason = XEND_SHUTDOWN_POWEROFF;
        break;
    case XEND_SHUTDOWN_POWEROFF:
    case XEND_SHUTDOWN_REBOOT:
    case XEND_SHUTDOWN_SUSPEND:
        break;
    default:
        return xend_err_set(err, XEND_EINVAL, "invalid shutdown reason %u", reason);
    }
    if (d->shutdown || d->crashed)
        return 0; /* already down: Xen ignores the request too */
    simhv_dmesg(m, "domain %u: shutdown request, reason %u", d->domid, reason);
    simhv_guest_shutdown_request(m, d, reason, m->now_ns);
    return 0;
}

void simhv_dom_stopped(struct simhv_machine *m, struct simhv_domain *d, uint32_t reason)
{
    if (reason == XEND_SHUTDOWN_CRASH) {
        d->crashed = true;
        simhv_dmesg(m, "domain %u crashed", d->domid);
    } else {
        d->shutdown = true;
        simhv_dmesg(m, "domain %u shut down, reason %u", d->domid, reason);
    }
    d->shutdown_reason = reason;
    d->guest.shutdown_pending = false;
    sched_sync(m, d);
    simhv_machine_changed(m);
}

int simhv_dom_destroy(struct simhv_machine *m, struct simhv_domain *d, struct xend_err *err)
{
    if (d->domid == 0)
        return xend_err_set(err, XEND_EPERM, "Domain-0 cannot be destroyed");
    unlink_dom(m, d);
    simhv_dmesg(m, "domain %u destroyed: %" PRIu64 " MB returned", d->domid, mb_up(d->mem_kb));
    dom_free(m, d);
    simhv_machine_changed(m);
    return 0;
}

int simhv_dom_set_maxmem(struct simhv_machine *m, struct simhv_domain *d, uint64_t kb,
                         struct xend_err *err)
{
    (void)m;
    if (kb == 0)
        return xend_err_set(err, XEND_EINVAL, "maxmem must be more than 0 KiB");
    d->maxmem_kb = kb;
    return 0;
}

int simhv_dom_set_target(struct simhv_machine *m, struct simhv_domain *d, uint64_t kb,
                         struct xend_err *err)
{
    kb = pages_of(kb) * (SIMHV_PAGE_SIZE / 1024);
    if (kb == 0)
        return xend_err_set(err, XEND_EINVAL, "balloon target must be more than 0 KiB");
    if (kb > d->maxmem_kb)
        return xend_err_set(err, XEND_EINVAL,
                            "balloon target %" PRIu64 " KiB is above maxmem %" PRIu64 " KiB", kb,
                            d->maxmem_kb);
    if (kb > d->mem_kb) {
        int rc = check_fits(m, kb - d->mem_kb, err);
        if (rc < 0)
            return rc;
    }
    m->used_kb = m->used_kb - d->mem_kb + kb;
    d->mem_kb = kb;
    return 0;
}

int simhv_dom_pin_vcpu(struct simhv_machine *m, struct simhv_domain *d, uint32_t vcpu, int32_t cpu,
                       struct xend_err *err)
{
    if (vcpu >= d->nvcpus)
        return xend_err_set(err, XEND_EINVAL, "domain %u has no vcpu %u", d->domid, vcpu);
    if (cpu < -1 || cpu >= (int32_t)m->ncpus)
        return xend_err_set(err, XEND_EINVAL, "cpu %d does not exist (this machine has %u)", cpu,
                            m->ncpus);
    d->vcpus[vcpu].pin = cpu;
    simhv_sched_update(m->sched, &d->vcpus[vcpu]);
    return 0;
}

uint32_t simhv_dom_flags(const struct simhv_domain *d)
{
    uint32_t f = 0;
    if (d->paused)
        f |= XEND_DOMF_PAUSED;
    if (d->crashed)
        f |= XEND_DOMF_CRASHED;
    else if (d->shutdown)
        f |= XEND_DOMF_SHUTDOWN;
    if (simhv_dom_alive(d)) {
        bool running = false;
        for (uint32_t i = 0; i < d->nvcpus; i++)
            running = running || d->vcpus[i].running;
        f |= running ? XEND_DOMF_RUNNING : XEND_DOMF_BLOCKED;
    }
    return f;
}

uint64_t simhv_dom_cpu_time(const struct simhv_domain *d)
{
    uint64_t t = 0;
    for (uint32_t i = 0; i < d->nvcpus; i++)
        t += d->vcpus[i].cpu_time_ns;
    return t;
}

int simhv_dom_dev_attach(struct simhv_machine *m, struct simhv_domain *d, const char *cls,
                         uint32_t devid, const char *node, char *name, size_t name_len,
                         struct xend_err *err)
{
    if (cls == NULL || cls[0] == '\0' || strlen(cls) >= sizeof(((struct simhv_dev *)0)->cls))
        return xend_err_set(err, XEND_EINVAL, "bad device class");
    for (struct simhv_dev *v = d->devs; v != NULL; v = v->next)
        if (v->devid == devid && strcmp(v->cls, cls) == 0)
            return xend_err_set(err, XEND_EEXIST, "device %s %u is already attached to domain %u",
                                cls, devid, d->domid);
    struct simhv_dev *v = xend_xcalloc(1, sizeof(*v));
    snprintf(v->cls, sizeof(v->cls), "%s", cls);
    v->devid = devid;
    if (strcmp(cls, "vif") == 0)
        snprintf(v->name, sizeof(v->name), "vif%u.%u", d->domid, devid);
    else if (node != NULL && node[0] != '\0')
        snprintf(v->name, sizeof(v->name), "%s", node);
    else
        snprintf(v->name, sizeof(v->name), "%s-%u.%u", cls, d->domid, devid);
    v->next = d->devs;
    d->devs = v;
    snprintf(name, name_len, "%s", v->name);
    simhv_dmesg(m, "domain %u: %s %u attached as %s", d->domid, cls, devid, v->name);
    return 0;
}

int simhv_dom_dev_detach(struct simhv_machine *m, struct simhv_domain *d, const char *cls,
                         uint32_t devid, struct xend_err *err)
{
    for (struct simhv_dev **pp = &d->devs; *pp != NULL; pp = &(*pp)->next) {
        struct simhv_dev *v = *pp;
        if (v->devid == devid && strcmp(v->cls, cls) == 0) {
            *pp = v->next;
            simhv_dmesg(m, "domain %u: %s %u detached", d->domid, cls, devid);
            free(v);
            return 0;
        }
    }
    return xend_err_set(err, XEND_ENOENT, "domain %u has no device %s %u", d->domid,
                        cls ? cls : "?", devid);
}
