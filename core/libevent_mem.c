/*
 * libevent's small allocations from blocks of their own (libevent_mem.h).
 *
 * Why: libevent keeps a small record per descriptor number it has ever watched (its
 * evmap_io, ~40 bytes, freed only with the event base). In a flood of connections each
 * record is allocated between the connection's buffers, and once the connections go each
 * one pins the heap page it sits on: after 10,000 connections ~40 MB stayed resident
 * though glibc held the rest of those pages free, and malloc_trim cannot give back a page
 * with one live byte. Here allocations of at most SMALL_MAX bytes come from 64 KiB blocks
 * that hold nothing else, so the records sit together on a few pages and a flood's
 * buffers, freed, leave whole pages for malloc_trim.
 *
 * Every allocation carries a 16-byte header (keeping malloc's alignment) that says where it
 * came from: a size class of the blocks, or glibc's heap.
 *
 * Not in a sanitizer build: there libevent keeps the sanitizer's own allocator, which checks
 * each of its allocations (the blocks here would hide them), and LeakSanitizer counts a
 * block held only through the pointer past the header as leaked.
 */
#include "libevent_mem.h"

#include <event2/event.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HEADER 16u
#define CLASS_STEP 16u
#define SMALL_MAX 64u /* largest payload served from the blocks */
#define N_CLASSES (SMALL_MAX / CLASS_STEP)
#define BLOCK_SIZE ((size_t)64 * 1024)
#define FROM_HEAP 0u

struct mem_header {
    uint32_t class; /* FROM_HEAP, or 1..N_CLASSES */
    uint32_t pad[3];
};
_Static_assert(sizeof(struct mem_header) == HEADER, "the header keeps 16-byte alignment");

struct free_slot {
    struct free_slot *next;
};

static struct {
    pthread_mutex_t lock; /* libevent may be driven from more than one thread */
    struct free_slot *free[N_CLASSES + 1];
    char *carve;      /* the current block's unused rest */
    size_t carve_len; /* bytes of it */
} M = {.lock = PTHREAD_MUTEX_INITIALIZER};

static size_t class_payload(uint32_t class)
{
    return (size_t) class * CLASS_STEP;
}

/* One slot of the class, or NULL when no block can be had (then the heap serves). Blocks
 * are never unmapped: they hold records that live as long as the event base. */
static void *slot_take(uint32_t class)
{
    size_t slot = HEADER + class_payload(class);
    pthread_mutex_lock(&M.lock);
    struct free_slot *s = M.free[class];
    if (s != NULL) {
        M.free[class] = s->next;
    } else {
        if (M.carve_len < slot) {
            void *b =
                mmap(NULL, BLOCK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (b == MAP_FAILED) {
                pthread_mutex_unlock(&M.lock);
                return NULL;
            }
            M.carve = b;
            M.carve_len = BLOCK_SIZE;
        }
        s = (struct free_slot *)M.carve;
        M.carve += slot;
        M.carve_len -= slot;
    }
    pthread_mutex_unlock(&M.lock);
    return s;
}

static void slot_give(uint32_t class, void *slot)
{
    struct free_slot *s = slot;
    pthread_mutex_lock(&M.lock);
    s->next = M.free[class];
    M.free[class] = s;
    pthread_mutex_unlock(&M.lock);
}

static void *mem_malloc(size_t n)
{
    struct mem_header *h = NULL;
    uint32_t class = FROM_HEAP;
    if (n <= SMALL_MAX) {
        class = (uint32_t)((n + CLASS_STEP - 1) / CLASS_STEP);
        if (class == 0)
            class = 1;
        h = slot_take(class);
        if (h == NULL)
            class = FROM_HEAP;
    }
    if (h == NULL) {
        if (n > SIZE_MAX - HEADER)
            return NULL;
        h = malloc(HEADER + n);
        if (h == NULL)
            return NULL;
    }
    h->class = class;
    return (char *)h + HEADER;
}

static struct mem_header *header_of(void *p)
{
    return (struct mem_header *)((char *)p - HEADER);
}

static void mem_free(void *p)
{
    if (p == NULL)
        return;
    struct mem_header *h = header_of(p);
    if (h->class == FROM_HEAP)
        free(h);
    else
        slot_give(h->class, h);
}

static void *mem_realloc(void *p, size_t n)
{
    if (p == NULL)
        return mem_malloc(n);
    struct mem_header *h = header_of(p);
    if (h->class == FROM_HEAP && n > SMALL_MAX) {
        if (n > SIZE_MAX - HEADER)
            return NULL;
        struct mem_header *g = realloc(h, HEADER + n);
        return g != NULL ? (char *)g + HEADER : NULL;
    }
    size_t old = h->class == FROM_HEAP ? malloc_usable_size(h) - HEADER : class_payload(h->class);
    void *q = mem_malloc(n);
    if (q == NULL)
        return NULL;
    memcpy(q, p, old < n ? old : n);
    mem_free(p);
    return q;
}

void xend_libevent_mem_init(void)
{
#ifdef __SANITIZE_ADDRESS__
    (void)mem_malloc, (void)mem_realloc, (void)mem_free;
#else
    event_set_mem_functions(mem_malloc, mem_realloc, mem_free);
#endif
}
