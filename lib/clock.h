/*
 * The monotonic clock, in nanoseconds: what every part of the core measures time spans
 * and deadlines with (never the wall clock, which an operator or NTP may step).
 */
#ifndef XEND_LIB_CLOCK_H
#define XEND_LIB_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

uint64_t xend_clock_ns(void);

/*
 * The boot clock, in nanoseconds since the host booted (CLOCK_BOOTTIME: monotonic, counts
 * time suspended). Unlike xend_clock_ns its values mean the same in every process of one
 * boot, so they can be stored and compared after an xend restart, provided the boot is the
 * same (xend_clock_boot_id).
 */
uint64_t xend_clock_boot_ns(void);
/* The running boot's id (/proc/sys/kernel/random/boot_id) into out; false when unknown. */
bool xend_clock_boot_id(char *out, size_t len);

#endif
