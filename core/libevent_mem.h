/*
 * libevent's small allocations (its per-descriptor records above all) from pages of their
 * own, so that a flood of connections, once gone, leaves heap pages that malloc_trim can
 * give back, and pages of its own that xend_libevent_mem_trim gives back (libevent_mem.c
 * says why). Thread-safe.
 */
#ifndef XEND_CORE_LIBEVENT_MEM_H
#define XEND_CORE_LIBEVENT_MEM_H

#include <stddef.h>

/* Before anything of libevent is allocated (the loop, the HTTP server); once a process.
 * Installs the three functions below as libevent's (not in a sanitizer build). */
void xend_libevent_mem_init(void);

/* malloc, realloc and free as libevent calls them: what alloc or realloc returns is the
 * caller's, freed only with xend_libevent_mem_free (or realloc'd); a pointer from malloc
 * may be passed to either of the other two as well. */
void *xend_libevent_mem_alloc(size_t n);
void *xend_libevent_mem_realloc(void *p, size_t n);
void xend_libevent_mem_free(void *p);

/* Give back to the system the memory of wholly free pages, and of pages whose live slots
 * are all zero (they read as zeros again). Only on the thread that drives libevent: no
 * other may write to a live slot meanwhile. The bytes given. */
size_t xend_libevent_mem_trim(void);

#endif
