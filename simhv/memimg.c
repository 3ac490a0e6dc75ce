/*
 * The memory image of a simulated guest (see memimg.h): generations, page bytes, checksum
 * and dirty tracking. Pure computation: no I/O, no clock.
 */
#include "memimg.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"

void simhv_mem_init(struct simhv_mem *m, uint64_t npages, uint64_t seed)
{
    memset(m, 0, sizeof(*m));
    m->seed = seed;
    m->npages = npages;
    m->gen = xend_xcalloc(npages ? npages : 1, sizeof(uint32_t));
    m->rng = simhv_mix64(seed ^ 0x5eed);
}

void simhv_mem_free(struct simhv_mem *m)
{
    free(m->gen);
    for (int t = 0; t < SIMHV_MEM_TRACKERS; t++)
        free(m->track[t]);
    memset(m, 0, sizeof(*m));
}

static void mark(struct simhv_mem *m, uint64_t pfn)
{
    for (int t = 0; t < SIMHV_MEM_TRACKERS; t++)
        if (m->track[t] != NULL)
            m->track[t][pfn / 8] |= (uint8_t)(1u << (pfn % 8));
}

void simhv_mem_touch(struct simhv_mem *m, uint64_t pfn)
{
    if (pfn >= m->npages)
        return;
    if (m->gen[pfn] == 0)
        m->present++;
    m->gen[pfn]++;
    if (m->gen[pfn] == 0) /* wrapped: generation 0 means absent, skip it */
        m->gen[pfn] = 1;
    mark(m, pfn);
}

void simhv_mem_dirty_random(struct simhv_mem *m, uint64_t count)
{
    if (m->npages == 0)
        return;
    for (uint64_t i = 0; i < count; i++) {
        m->rng = simhv_mix64(m->rng);
        simhv_mem_touch(m, m->rng % m->npages);
    }
}

void simhv_mem_set(struct simhv_mem *m, uint64_t pfn, uint32_t gen)
{
    if (pfn >= m->npages)
        return;
    if (m->gen[pfn] == 0 && gen != 0)
        m->present++;
    else if (m->gen[pfn] != 0 && gen == 0)
        m->present--;
    m->gen[pfn] = gen;
}

static uint64_t page_key(uint64_t seed, uint64_t pfn, uint32_t gen)
{
    return simhv_mix64(seed ^ simhv_mix64(pfn ^ simhv_mix64(gen)));
}

uint64_t simhv_mem_checksum(const struct simhv_mem *m)
{
    uint64_t sum = 0;
    for (uint64_t pfn = 0; pfn < m->npages; pfn++)
        if (m->gen[pfn] != 0)
            sum += page_key(m->seed, pfn, m->gen[pfn]);
    return sum;
}

void simhv_mem_page_bytes(uint64_t seed, uint64_t pfn, uint32_t gen, uint8_t *out)
{
    simhv_put_le64(out, seed);
    simhv_put_le64(out + 8, pfn);
    simhv_put_le64(out + 16, gen);
    uint64_t x = page_key(seed, pfn, gen);
    for (size_t off = 24; off < SIMHV_PAGE_SIZE; off += 8) {
        x = simhv_mix64(x);
        simhv_put_le64(out + off, x);
    }
}

int simhv_mem_page_check(uint64_t seed, uint64_t pfn, const uint8_t *bytes, uint32_t *gen)
{
    uint64_t g = simhv_get_le64(bytes + 16);
    if (simhv_get_le64(bytes) != seed || simhv_get_le64(bytes + 8) != pfn || g == 0 ||
        g > UINT32_MAX)
        return -1;
    uint8_t want[SIMHV_PAGE_SIZE];
    simhv_mem_page_bytes(seed, pfn, (uint32_t)g, want);
    if (memcmp(want, bytes, SIMHV_PAGE_SIZE) != 0)
        return -1;
    *gen = (uint32_t)g;
    return 0;
}

void simhv_mem_track_begin(struct simhv_mem *m, enum simhv_mem_tracker t)
{
    size_t n = (size_t)(m->npages + 7) / 8;
    if (m->track[t] == NULL)
        m->track[t] = xend_xcalloc(n ? n : 1, 1);
    else
        memset(m->track[t], 0, n);
}

void simhv_mem_track_end(struct simhv_mem *m, enum simhv_mem_tracker t)
{
    free(m->track[t]);
    m->track[t] = NULL;
}

bool simhv_mem_tracking(const struct simhv_mem *m, enum simhv_mem_tracker t)
{
    return m->track[t] != NULL;
}

uint64_t simhv_mem_track_take(struct simhv_mem *m, enum simhv_mem_tracker t, uint8_t *out,
                              uint64_t nbits)
{
    if (out != NULL)
        memset(out, 0, (size_t)(nbits + 7) / 8);
    if (m->track[t] == NULL)
        return 0;
    uint64_t count = 0;
    for (uint64_t pfn = 0; pfn < m->npages; pfn++) {
        if (!(m->track[t][pfn / 8] & (1u << (pfn % 8))))
            continue;
        count++;
        if (out != NULL && pfn < nbits)
            out[pfn / 8] |= (uint8_t)(1u << (pfn % 8));
    }
    memset(m->track[t], 0, (size_t)(m->npages + 7) / 8);
    return count;
}
