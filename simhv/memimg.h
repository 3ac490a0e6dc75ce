/*
 * A simulated guest's memory image: sparse pages with deterministic contents.
 *
 * A page is described by its generation: 0 means never touched (not present, not saved),
 * and every write makes it one higher. The 4 KiB of a page are a pure function of
 * (seed, pfn, generation): the first 24 bytes spell those three out, the next 8 are a hash
 * of them (the page's key) and the rest an arithmetic sequence from the key, cheap to make
 * and to check (image version 2; version 1 had a pseudo-random stream, a hash a word). So
 * the image costs 4 bytes per page, a save stream carries real bytes, and a restore can
 * prove every page it receives is intact.
 * The seed belongs to the image, not the domain id, so a restored copy checks the same.
 *
 * Never touches sockets, files or the clock.
 */
#ifndef SIMHV_MEMIMG_H
#define SIMHV_MEMIMG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIMHV_PAGE_SIZE 4096u

/* Who watches dirty pages: the dirty_* protocol ops, or a save in progress. */
enum simhv_mem_tracker { SIMHV_MEM_TRACK_API = 0, SIMHV_MEM_TRACK_SAVE = 1, SIMHV_MEM_TRACKERS };

struct simhv_mem {
    uint64_t seed;
    uint64_t npages;
    uint32_t *gen;                      /* owned: one generation per page */
    uint64_t present;                   /* pages with gen > 0 */
    uint8_t *track[SIMHV_MEM_TRACKERS]; /* owned dirty bitmaps, NULL while not tracking */
    uint64_t rng;                       /* chooses the pages a running guest dirties */
};

void simhv_mem_init(struct simhv_mem *m, uint64_t npages, uint64_t seed);
void simhv_mem_free(struct simhv_mem *m);

/* Write to a page: its generation goes up and every tracker sees it dirty. */
void simhv_mem_touch(struct simhv_mem *m, uint64_t pfn);
/* Touch `count` pages chosen by the image's own pseudo-random sequence. */
void simhv_mem_dirty_random(struct simhv_mem *m, uint64_t count);
/* Set a page's generation as a restore received it (no tracking). */
void simhv_mem_set(struct simhv_mem *m, uint64_t pfn, uint32_t gen);

/* Order-independent checksum of (seed, pfn, generation) over the present pages. */
uint64_t simhv_mem_checksum(const struct simhv_mem *m);

/* The bytes of page pfn at generation gen, into out[SIMHV_PAGE_SIZE]. */
void simhv_mem_page_bytes(uint64_t seed, uint64_t pfn, uint32_t gen, uint8_t *out);
/* Check bytes[SIMHV_PAGE_SIZE] are page pfn of an image with this seed; 0 and *gen, or -1. */
int simhv_mem_page_check(uint64_t seed, uint64_t pfn, const uint8_t *bytes, uint32_t *gen);

/* Dirty tracking: begin clears the set; end drops it. */
void simhv_mem_track_begin(struct simhv_mem *m, enum simhv_mem_tracker t);
void simhv_mem_track_end(struct simhv_mem *m, enum simhv_mem_tracker t);
bool simhv_mem_tracking(const struct simhv_mem *m, enum simhv_mem_tracker t);
/*
 * Move the tracker's dirty set into out (bits for pages [0, nbits), out zeroed first; out
 * may be NULL to just clear) and clear it; returns how many of the image's pages were dirty.
 */
uint64_t simhv_mem_track_take(struct simhv_mem *m, enum simhv_mem_tracker t, uint8_t *out,
                              uint64_t nbits);

/* A 64-bit mixing function (splitmix64's finaliser); shared by the image and its users. */
static inline uint64_t simhv_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Little-endian encoding, so an image means the same on every host. */
static inline void simhv_put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint64_t simhv_get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}
static inline void simhv_put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t simhv_get_le32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

#endif
