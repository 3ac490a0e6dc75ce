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

/*
 * Image version 2's page: words 0-3 the stamp (seed, pfn, generation, key), the other 508 an
 * arithmetic sequence from the key. The sequence costs what a memset costs (it vectorises),
 * where version 1's pseudo-random stream cost a hash per word and was simhv's whole CPU in a
 * migration; every byte still depends on the key, so a check of every word still finds any
 * changed byte, and the stamp a page put in another's place.
 */
#define STAMP_WORDS 4u
#define PAGE_WORDS (SIMHV_PAGE_SIZE / 8u)
#define SEQ_STEP 0x9e3779b97f4a7c15ull
_Static_assert((PAGE_WORDS - STAMP_WORDS) % 4 == 0, "the sequence goes four words at a time");

static inline void put_word(uint8_t *p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(p, &v, 8);
#else
    simhv_put_le64(p, v);
#endif
}

static inline uint64_t get_word(const uint8_t *p)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
#else
    return simhv_get_le64(p);
#endif
}

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* Four words at a time: the compiler does not vectorise the byte-addressed loop itself. */
typedef uint64_t seq_quad __attribute__((vector_size(32)));
#define SEQ_VECTOR 1
#endif
/* Making and checking pages is half of a migrating simhv's own CPU: where the cpu has AVX2
 * (chosen when the program loads), a quad is one instruction instead of two. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang_analyzer__)
#define SEQ_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SEQ_CLONES
#endif

SEQ_CLONES void simhv_mem_page_bytes(uint64_t seed, uint64_t pfn, uint32_t gen, uint8_t *out)
{
    uint64_t key = page_key(seed, pfn, gen);
    put_word(out, seed);
    put_word(out + 8, pfn);
    put_word(out + 16, gen);
    put_word(out + 24, key);
#ifdef SEQ_VECTOR
    seq_quad v = {key + SEQ_STEP, key + 2 * SEQ_STEP, key + 3 * SEQ_STEP, key + 4 * SEQ_STEP};
    const seq_quad step = {4 * SEQ_STEP, 4 * SEQ_STEP, 4 * SEQ_STEP, 4 * SEQ_STEP};
    for (size_t i = STAMP_WORDS; i < PAGE_WORDS; i += 4) {
        memcpy(out + 8 * i, &v, sizeof(v));
        v += step;
    }
#else
    uint64_t x = key;
    for (size_t i = STAMP_WORDS; i < PAGE_WORDS; i++) {
        x += SEQ_STEP;
        put_word(out + 8 * i, x);
    }
#endif
}

SEQ_CLONES int simhv_mem_page_check(uint64_t seed, uint64_t pfn, const uint8_t *bytes,
                                    uint32_t *gen)
{
    uint64_t g = get_word(bytes + 16);
    if (get_word(bytes) != seed || get_word(bytes + 8) != pfn || g == 0 || g > UINT32_MAX)
        return -1;
    uint64_t key = page_key(seed, pfn, (uint32_t)g);
    uint64_t diff = get_word(bytes + 24) ^ key;
#ifdef SEQ_VECTOR
    seq_quad v = {key + SEQ_STEP, key + 2 * SEQ_STEP, key + 3 * SEQ_STEP, key + 4 * SEQ_STEP};
    seq_quad d = {0, 0, 0, 0};
    const seq_quad step = {4 * SEQ_STEP, 4 * SEQ_STEP, 4 * SEQ_STEP, 4 * SEQ_STEP};
    for (size_t i = STAMP_WORDS; i < PAGE_WORDS; i += 4) {
        seq_quad w;
        memcpy(&w, bytes + 8 * i, sizeof(w));
        d |= w ^ v;
        v += step;
    }
    diff |= d[0] | d[1] | d[2] | d[3];
#else
    uint64_t x = key;
    for (size_t i = STAMP_WORDS; i < PAGE_WORDS; i++) {
        x += SEQ_STEP;
        diff |= get_word(bytes + 8 * i) ^ x;
    }
#endif
    if (diff != 0)
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
