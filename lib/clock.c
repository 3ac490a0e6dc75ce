/*
 * The monotonic clock (see clock.h).
 */
#include "clock.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

uint64_t xend_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t xend_clock_boot_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool xend_clock_boot_id(char *out, size_t len)
{
    FILE *f = len > 0 ? fopen("/proc/sys/kernel/random/boot_id", "re") : NULL;
    if (f == NULL)
        return false;
    size_t n = fread(out, 1, len - 1, f);
    fclose(f);
    out[n] = '\0';
    out[strcspn(out, " \n")] = '\0';
    return out[0] != '\0';
}
