/*
 * The simulated guest OS of a domain: the knobs read from its kernel command line, and
 * what it does with time: boots (writes boot lines), echoes console input, dirties its
 * memory, honours (or ignores) shutdown requests after a delay, crashes or exits on cue.
 *
 * Knobs (kernel command line words): sim.load=PERCENT, sim.crash=SECONDS,
 * sim.ignore_shutdown=1, sim.dirty_rate=PAGES_PER_S, sim.shutdown_delay_ms=N,
 * sim.exit=reboot|poweroff:SECONDS. Other words are the guest's business and ignored.
 *
 * Guest time is "run time": time spent unpaused and alive since boot, so a paused guest
 * neither crashes nor dirties pages. Never touches sockets or the real clock: callers pass
 * the time.
 */
#ifndef SIMHV_GUEST_H
#define SIMHV_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIMHV_GUEST_DEFAULT_LOAD 10
#define SIMHV_GUEST_DEFAULT_DIRTY_RATE 20

struct simhv_machine;
struct simhv_domain;

struct simhv_guest_knobs {
    unsigned load_pct;         /* sim.load, 0..100 */
    int64_t crash_ms;          /* sim.crash, -1 for never */
    bool ignore_shutdown;      /* sim.ignore_shutdown */
    uint64_t dirty_rate;       /* sim.dirty_rate, pages per second of run time */
    int64_t shutdown_delay_ms; /* sim.shutdown_delay_ms, -1 for the machine's default */
    int exit_reason;           /* sim.exit: -1 none, else enum xend_shutdown_reason */
    int64_t exit_ms;
};

struct simhv_guest {
    struct simhv_guest_knobs knobs;
    bool booted;          /* unpaused once: boot lines written */
    uint64_t run_ns;      /* run time since boot */
    uint64_t dirty_milli; /* fractional pages owed to the dirty rate, in 1/1000 pages */
    /* How much a live save slows the guest's dirtying (0-99 %), so that its last round
     * stays within its bound (image.h); 0 outside a live save. */
    unsigned throttle_pct;
    bool shutdown_pending;
    uint32_t pending_reason;
    uint64_t shutdown_at_ns; /* machine time when the pending shutdown takes effect */
};

/*
 * Parse the knobs out of a kernel command line (borrowed). Returns 0, or -1 with a
 * message in err for a sim.* word it does not know or a bad value.
 */
int simhv_guest_parse(const char *cmdline, struct simhv_guest_knobs *out, char *err,
                      size_t err_len);
/* A knobs struct with every default. */
void simhv_guest_knobs_default(struct simhv_guest_knobs *k);

/* The domain was unpaused: boot the first time. */
void simhv_guest_unpaused(struct simhv_machine *m, struct simhv_domain *d);
/* Let `dt_ns` of machine time pass for a guest (the caller knows whether it ran). */
void simhv_guest_tick(struct simhv_machine *m, struct simhv_domain *d, uint64_t now_ns,
                      uint64_t dt_ns);
/* A shutdown request (reason is enum xend_shutdown_reason, halt already mapped). */
void simhv_guest_shutdown_request(struct simhv_machine *m, struct simhv_domain *d, uint32_t reason,
                                  uint64_t now_ns);
/* Consume buffered console input (echo each complete line) if the guest is up. */
void simhv_guest_console(struct simhv_machine *m, struct simhv_domain *d);
/* Nanoseconds of machine time until the guest's next event, UINT64_MAX for none. */
uint64_t simhv_guest_next_event(const struct simhv_machine *m, const struct simhv_domain *d,
                                uint64_t now_ns);

#endif
