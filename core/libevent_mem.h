/*
 * libevent's small allocations (its per-descriptor records above all) from blocks of
 * their own, so that a flood of connections, once gone, leaves heap pages that
 * malloc_trim can give back (libevent_mem.c says why).
 */
#ifndef XEND_CORE_LIBEVENT_MEM_H
#define XEND_CORE_LIBEVENT_MEM_H

/* Before anything of libevent is allocated (the loop, the HTTP server); once a process. */
void xend_libevent_mem_init(void);

#endif
