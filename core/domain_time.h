/*
 * A domain's times on the boot clock (clock.h): how long it has been up and when it last
 * restarted, which the restart throttle (minimum-restart-time) compares. A step of the
 * wall clock changes neither. The record keeps them with the boot's id, so that an xend
 * restart within the same boot carries them on; after a reboot (or with the boot unknown)
 * the start is rebuilt from the wall-clock start_time and the last restart is forgotten
 * (docs/durability.md). The wall-clock start_time and restart_time stay, for display.
 */
#ifndef XEND_CORE_DOMAIN_TIME_H
#define XEND_CORE_DOMAIN_TIME_H

#include <stdbool.h>
#include <stdint.h>

#include "domain_table.h"

/* An instance of dom started now; a restart also counts for the throttle. */
void xend_domain_time_started(struct xend_domain *dom, bool restart);
/* Seconds up, never negative. */
double xend_domain_up_time(const struct xend_domain *dom);
/* Whether a restart now comes sooner than min_s after the last one; *since_s the gap. */
bool xend_domain_restart_too_soon(const struct xend_domain *dom, double min_s, double *since_s);
/* Add (boot_id ID) (start_ns N) (restart_ns N) to a record. */
void xend_domain_time_record(const struct xend_domain *dom, struct xend_sxp *rec);
/* Take the times from a stored record (start_time, restart_time and the above). */
void xend_domain_time_load(struct xend_domain *dom, const struct xend_sxp *rec);
/* Forget the last restart (xend was not there to restart it: no crash loop to stop). */
void xend_domain_time_restart_forget(struct xend_domain *dom);

/* ---- the pure rules, for the tests ---- */

/* Seconds from then_ns to now_ns on the boot clock; 0 when then is later (never < 0). */
double xend_time_since(uint64_t now_ns, uint64_t then_ns);
/* A restart at now_ns after one at last_ns (0: never) is too soon under min_s. */
bool xend_time_restart_too_soon(uint64_t now_ns, uint64_t last_ns, double min_s, double *since_s);
struct xend_time_stamps {
    uint64_t start_ns, restart_ns; /* boot clock; 0 = unknown / never */
};
/*
 * The stamps to use for a record read back: the stored boot-clock stamps when the record
 * was written in this boot (same_boot); otherwise a start rebuilt as "up since the stored
 * wall-clock start", clamped to the boot (a wall clock stepped back cannot make it start
 * in the future, one stepped forward cannot put it before the boot), and no last restart.
 */
struct xend_time_stamps xend_time_reload(bool same_boot, struct xend_time_stamps stored,
                                         double stored_start_wall, double now_wall,
                                         uint64_t now_ns);

#endif
