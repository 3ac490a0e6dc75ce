/*
 * The monotonic clock, in nanoseconds: what every part of the core measures time spans
 * and deadlines with (never the wall clock, which an operator or NTP may step).
 */
#ifndef XEND_CORE_CLOCK_H
#define XEND_CORE_CLOCK_H

#include <stdint.h>

uint64_t xend_clock_ns(void);

#endif
