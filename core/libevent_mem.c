/*
 * libevent's small allocations from pages of their own (libevent_mem.h).
 *
 * Why: libevent keeps a small record per descriptor number it has ever watched (its
 * evmap_io, 16 bytes with epoll), freed only with the event base. In a flood of
 * connections each record is allocated between the connections' buffers, and once the
 * connections go each one pins the heap page it sits on: after 10,000 connections ~40 MB
 * stayed resident though glibc held the rest of those pages free, and malloc_trim cannot
 * give back a page with one live byte.
 *
 * So allocations of at most SMALL_MAX bytes come from 4 KiB pages that hold one size class
 * each, inside one reserved region: the per-descriptor records sit together on their own
 * pages, and the per-connection ones (a buffer's callback entry, 40 bytes) on others, which
 * are wholly free once the connections go. A wholly free page goes onto a stack of empty
 * pages for any class; xend_libevent_mem_trim gives their memory back to the system, and
 * that of pages of records that are all zero, as those of closed descriptors are.
 * (Before, free slots stayed on per-class free lists inside 64 KiB blocks that were never
 * given back: 10,000 connections left ~0.6 MB of them resident.)
 *
 * Which pointer is whose is decided by its address (inside the region or not), never by a
 * header in front of it: a pointer from glibc handed to these functions goes back to
 * glibc, and one of these handed to glibc's free() fails glibc's own checks at once instead
 * of silently corrupting a heap (the 16-byte header of the first design read whatever lay
 * in front of a foreign pointer as its owner).
 *
 * Under valgrind the slots are announced as heap blocks (client requests, no-ops
 * otherwise), so memcheck checks libevent's use of them as it checks malloc's.
 *
 * Not installed in a sanitizer build: there libevent keeps the sanitizer's allocator, which
 * checks each of its allocations (the pages here would hide them).
 */
#include "libevent_mem.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
/* Debian's valgrind package has the header; without it the client requests are no-ops. */
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#else
#define VALGRIND_MAKE_MEM_DEFINED(addr, len) ((void)(addr), (void)(len))
#define VALGRIND_MALLOCLIKE_BLOCK(addr, size, redzone, zeroed) ((void)(addr), (void)(size))
#define VALGRIND_FREELIKE_BLOCK(addr, redzone) ((void)(addr))
#define RUNNING_ON_VALGRIND 0
#endif

#define PAGE 4096u
#define CLASS_STEP 16u
#define SMALL_MAX 64u /* the largest size served from the pages */
#define N_CLASSES (SMALL_MAX / CLASS_STEP)
/* Address space only: committed (made writable) a CHUNK at a time as pages are first used.
 * 64 MiB is 4 million descriptor records; past it the heap serves. */
#define REGION_SIZE (64u << 20)
#define CHUNK ((size_t)64 * 1024)
#define N_PAGES (REGION_SIZE / PAGE)
#define NONE 0u /* a page list's end; pages are numbered from 1 in the lists */

struct page {
    uint32_t prev, next; /* the class's pages with room, or the empty stack (next only) */
    uint16_t live;       /* slots handed out */
    uint16_t carved;     /* slots ever taken from the page since it was last empty */
    uint16_t free_head;  /* the first freed slot's number + 1, or 0; each holds the next */
    uint8_t class;       /* 1..N_CLASSES, or 0 while empty */
    uint8_t released;    /* empty and given back to the system */
};

static struct {
    pthread_mutex_t lock;         /* libevent may be driven from more than one thread */
    char *base;                   /* the region, NULL until the first allocation (or if refused) */
    bool refused;                 /* the region could not be had: the heap serves everything */
    uint32_t top;                 /* pages ever used */
    uint32_t committed;           /* pages made writable */
    uint32_t room[N_CLASSES + 1]; /* per class, the first page with a free slot */
    uint32_t empty;               /* the stack of empty pages */
    struct page pages[N_PAGES];   /* touched only as far as pages are used */
} M = {.lock = PTHREAD_MUTEX_INITIALIZER};

static size_t slot_size(uint32_t class)
{
    return (size_t) class * CLASS_STEP;
}

static uint16_t slots_per_page(uint32_t class)
{
    return (uint16_t)(PAGE / slot_size(class));
}

static char *page_addr(uint32_t n)
{
    return M.base + (size_t)(n - 1) * PAGE;
}

static void room_unlink(uint32_t n)
{
    struct page *pg = &M.pages[n - 1];
    if (pg->prev != NONE)
        M.pages[pg->prev - 1].next = pg->next;
    else
        M.room[pg->class] = pg->next;
    if (pg->next != NONE)
        M.pages[pg->next - 1].prev = pg->prev;
    pg->prev = pg->next = NONE;
}

static void room_push(uint32_t n)
{
    struct page *pg = &M.pages[n - 1];
    pg->prev = NONE;
    pg->next = M.room[pg->class];
    if (pg->next != NONE)
        M.pages[pg->next - 1].prev = n;
    M.room[pg->class] = n;
}

/* A page for the class: an empty one, else a new one past the top. NONE when the region
 * is full or cannot be had. */
static uint32_t page_get(uint32_t class)
{
    uint32_t n = M.empty;
    if (n != NONE) {
        M.empty = M.pages[n - 1].next;
    } else {
        if (M.base == NULL && !M.refused) {
            void *r = mmap(NULL, REGION_SIZE, PROT_NONE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (r == MAP_FAILED)
                M.refused = true;
            else
                M.base = r;
        }
        if (M.base == NULL || M.top == N_PAGES)
            return NONE;
        if (M.top == M.committed) {
            if (mprotect(M.base + (size_t)M.committed * PAGE, CHUNK, PROT_READ | PROT_WRITE) < 0)
                return NONE;
            M.committed += (uint32_t)(CHUNK / PAGE);
        }
        n = ++M.top;
    }
    M.pages[n - 1] = (struct page){.class = (uint8_t) class};
    room_push(n);
    return n;
}

static void *slot_take(uint32_t class)
{
    pthread_mutex_lock(&M.lock);
    uint32_t n = M.room[class];
    if (n == NONE)
        n = page_get(class);
    if (n == NONE) {
        pthread_mutex_unlock(&M.lock);
        return NULL;
    }
    struct page *pg = &M.pages[n - 1];
    char *slot;
    if (pg->free_head != 0) {
        slot = page_addr(n) + (size_t)(pg->free_head - 1) * slot_size(class);
        uint16_t next;
        VALGRIND_MAKE_MEM_DEFINED(slot, sizeof(next));
        memcpy(&next, slot, sizeof(next));
        pg->free_head = next;
    } else {
        slot = page_addr(n) + (size_t)pg->carved++ * slot_size(class);
    }
    if (++pg->live == slots_per_page(class))
        room_unlink(n);
    /* Inside the lock: another thread may take the slot as soon as it is given back. */
    VALGRIND_MALLOCLIKE_BLOCK(slot, slot_size(class), 0, 0);
    pthread_mutex_unlock(&M.lock);
    return slot;
}

static bool owned(const void *p)
{
    return M.base != NULL && (uintptr_t)p - (uintptr_t)M.base < REGION_SIZE;
}

static uint32_t page_of(const void *p)
{
    return (uint32_t)(((uintptr_t)p - (uintptr_t)M.base) / PAGE) + 1;
}

static void slot_give(void *p)
{
    pthread_mutex_lock(&M.lock);
    uint32_t n = page_of(p);
    struct page *pg = &M.pages[n - 1];
    size_t off = (size_t)((char *)p - page_addr(n));
    /* A pointer that is no slot handed out here: the heap is already corrupt, stop as
     * glibc's free() would. */
    if (n > M.top || pg->class == 0 || off % slot_size(pg->class) != 0 || pg->live == 0)
        abort();
    uint16_t next = pg->free_head;
    memcpy(p, &next, sizeof(next));
    pg->free_head = (uint16_t)(off / slot_size(pg->class) + 1);
    if (pg->live-- == slots_per_page(pg->class))
        room_push(n);
    if (pg->live == 0) {
        room_unlink(n);
        pg->class = 0;
        pg->next = M.empty;
        M.empty = n;
    }
    VALGRIND_FREELIKE_BLOCK(p, 0);
    pthread_mutex_unlock(&M.lock);
}

void *xend_libevent_mem_alloc(size_t n)
{
    if (n <= SMALL_MAX) {
        void *p = slot_take(n == 0 ? 1 : (uint32_t)((n + CLASS_STEP - 1) / CLASS_STEP));
        if (p != NULL)
            return p;
    }
    return malloc(n != 0 ? n : 1); /* libevent takes NULL for failure */
}

void xend_libevent_mem_free(void *p)
{
    if (owned(p))
        slot_give(p);
    else
        free(p);
}

void *xend_libevent_mem_realloc(void *p, size_t n)
{
    if (p == NULL)
        return xend_libevent_mem_alloc(n);
    if (!owned(p))
        return realloc(p, n);
    size_t old = slot_size(M.pages[page_of(p) - 1].class);
    if (n <= old && n > old - CLASS_STEP)
        return p;
    void *q = xend_libevent_mem_alloc(n);
    if (q == NULL)
        return NULL;
    memcpy(q, p, old < n ? old : n);
    slot_give(p);
    return q;
}

static bool all_zero(const char *p)
{
    const uint64_t *w = (const uint64_t *)(const void *)p;
    for (size_t i = 0; i < PAGE / sizeof(*w); i++)
        if (w[i] != 0)
            return false;
    return true;
}

/* Give back [from, to) pages if the run is not empty; the bytes given. */
static size_t give_run(uint32_t from, uint32_t to)
{
    if (from == to || madvise(page_addr(from), (size_t)(to - from) * PAGE, MADV_DONTNEED) < 0)
        return 0;
    return (size_t)(to - from) * PAGE;
}

size_t xend_libevent_mem_trim(void)
{
    size_t given = 0;
    pthread_mutex_lock(&M.lock);
    for (uint32_t n = M.empty; n != NONE; n = M.pages[n - 1].next) {
        struct page *pg = &M.pages[n - 1];
        if (!pg->released && madvise(page_addr(n), PAGE, MADV_DONTNEED) == 0) {
            pg->released = 1;
            given += PAGE;
        }
    }
    /* Pages whose every byte is zero, live slots or not: the records of descriptors that
     * are closed again are all zero (no events, no counts), 10,000 of them 160 kB after a
     * flood, and a page given back reads as zeros again. A page with a freed slot holds a
     * link, so is not zero; under valgrind a live slot may hold bytes never written. */
    if (!RUNNING_ON_VALGRIND) {
        uint32_t run = 1;
        for (uint32_t n = 1; n <= M.top; n++) {
            const struct page *pg = &M.pages[n - 1];
            if (pg->class == 0 || pg->free_head != 0 || !all_zero(page_addr(n))) {
                given += give_run(run, n);
                run = n + 1;
            }
        }
        given += give_run(run, M.top + 1);
    }
    pthread_mutex_unlock(&M.lock);
    return given;
}

void xend_libevent_mem_init(void)
{
#ifndef __SANITIZE_ADDRESS__
    event_set_mem_functions(xend_libevent_mem_alloc, xend_libevent_mem_realloc,
                            xend_libevent_mem_free);
#endif
}
