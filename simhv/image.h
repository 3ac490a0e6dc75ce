/*
 * Save and restore streams: a domain's memory image as bytes, written a piece at a time
 * so the single-threaded server can interleave it with everything else, and read back the
 * same way into a new paused domain.
 *
 * Format (all integers little-endian):
 *   "SIMHVIMG"  u32 version (2)  u32 hlen  hlen bytes of SXP:
 *     (simhv-image (name N) (mem_kb N) (maxmem_kb N) (vcpus N) (npages N) (seed HEX)
 *                  (pages N) (kernel PATH) (cmdline TEXT) (booted 0|1) (run_ms N))
 *   then records, each u32 type, u32 len, len bytes:
 *     1 PAGES  u32 count, count x (u64 pfn, 4096 page bytes)  (255 pages at most)
 *     2 END    u64 checksum (of the image at the end of the save), u64 pages sent
 *     3 ABORT  u32 XEND_E code, message text (the save failed; never in a complete image)
 *     4 ROUND  a live save's round ended (for its reader, who keeps it out of the image):
 *              u32 round, u32 last, u64 pages sent in it, u64 ns it took, u64 pages
 *              dirtied meanwhile, u32 throttle %, u32 0, u64 monotonic ns the guest was
 *              paused at for the last round (0: not paused by the save)
 * A live save sends every present page, then rounds of the pages dirtied meanwhile, and
 * pauses the domain for the last round; a later copy of a page replaces an earlier one.
 * A byte from the save's reader stops it: the guest runs again if the save paused it.
 *
 * Never touches sockets: the server moves the bytes.
 */
#ifndef SIMHV_IMAGE_H
#define SIMHV_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xend/abi.h>

#include "buf.h"
#include "domain.h"

#define SIMHV_IMAGE_MAGIC "SIMHVIMG"
/* 2: a page's bytes are an arithmetic sequence after its stamp (memimg.h), and a PAGES
 * record holds up to 255 pages. A version-1 image's pages would not check: it is refused. */
#define SIMHV_IMAGE_VERSION 2u
#define SIMHV_IMAGE_HEADER_MAX (64u * 1024u)
#define SIMHV_REC_PAGES 1u
#define SIMHV_REC_END 2u
#define SIMHV_REC_ABORT 3u
#define SIMHV_REC_ROUND 4u
#define SIMHV_ROUND_LEN 48u
#define SIMHV_REC_MAX ((size_t)1024 * 1024)
/* As many pages as a record may hold: each record costs its reader (xend's relay) a few
 * system calls, so fewer, larger ones halve its CPU a GB (bench/README.md, bench-migrate). */
#define SIMHV_PAGES_PER_REC ((unsigned)((SIMHV_REC_MAX - 4u) / (8u + SIMHV_PAGE_SIZE)))
/*
 * A live save stops iterating when no more pages are dirty than its last round may send,
 * or after its most rounds (the save request's max_last_pages and max_rounds; these when
 * it gives none, as Xen's own saver bounds it). A guest that dirties its memory faster
 * than a quarter of the rate a round was sent at is slowed (its throttle) to that quarter,
 * so that each round is at most about a quarter of the one before, and the last one fits.
 */
#define SIMHV_LIVE_DIRTY_DONE 50u
#define SIMHV_LIVE_MAX_ROUNDS 30u
#define SIMHV_LIVE_CONVERGE 4u /* a round at most 1/4 of the one before */

struct simhv_saver;
struct simhv_restorer;

/*
 * Start saving d. Domain-0 and unbuilt domains cannot be saved. A non-live save of a
 * running domain pauses it first. A live one's bounds: max_rounds and max_last_pages
 * (0: SIMHV_LIVE_MAX_ROUNDS, SIMHV_LIVE_DIRTY_DONE). Owned: free with simhv_saver_free.
 */
struct simhv_saver *simhv_saver_new(struct simhv_machine *m, struct simhv_domain *d, bool live,
                                    unsigned max_rounds, uint64_t max_last_pages,
                                    struct xend_err *err);
/* Present pages at the start (the size of the first round). */
uint64_t simhv_saver_pages(const struct simhv_saver *s);
/* Pages put into the stream so far (a live save's rounds count each page again). */
uint64_t simhv_saver_sent(const struct simhv_saver *s);
/*
 * Where the image goes to another descriptor than its reader's connection (docs/simhv.md,
 * "Handed descriptors"): ROUND records go to ctl (borrowed; it must outlive the saver)
 * instead of the image, and an ABORT record to both.
 */
void simhv_saver_rounds_to(struct simhv_saver *s, struct xend_buf *ctl);
/*
 * Append about `budget` more bytes of stream to out. Returns true while more remains,
 * false once the stream ended (with END, or ABORT when the domain vanished).
 */
bool simhv_saver_step(struct simhv_saver *s, struct simhv_machine *m, struct xend_buf *out,
                      size_t budget);
/*
 * Its reader stopped the save (xend cancelled it): a guest the save paused runs again, and
 * no more stream is made. True the first time, false once stopped.
 */
bool simhv_saver_stop(struct simhv_saver *s, struct simhv_machine *m);
/* A save freed before its stream ended resumes a guest it paused itself. */
void simhv_saver_free(struct simhv_saver *s, struct simhv_machine *m);

/*
 * Start a restore into a new domain made with args (mem_kb 0: as the image says; the
 * name is copied), owned by `owner` until complete. Owned: free with simhv_restorer_free,
 * which destroys the half-made domain unless the restore completed.
 */
struct simhv_restorer *simhv_restorer_new(const struct simhv_dom_args *args, const void *owner);
/*
 * Feed stream bytes; *used says how many were consumed. Returns 0 (need more), 1 (done:
 * *domid is the new paused domain) or a negative XEND_E code with err set.
 */
int simhv_restorer_feed(struct simhv_restorer *r, struct simhv_machine *m, const uint8_t *data,
                        size_t len, size_t *used, uint32_t *domid, struct xend_err *err);
void simhv_restorer_free(struct simhv_restorer *r, struct simhv_machine *m);
/* Page entries taken so far, and the pages the image's header announced (0 before it). */
void simhv_restorer_progress(const struct simhv_restorer *r, uint64_t *done, uint64_t *total);

#endif
