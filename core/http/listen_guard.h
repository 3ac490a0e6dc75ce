/*
 * What a listener does when accept() fails for want of descriptors (EMFILE, ENFILE,
 * ENOBUFS, ENOMEM). libevent's evconnlistener retries on the next loop turn and the
 * pending connection keeps the socket readable, so without this the loop spins a core in
 * failed accept4 calls (issue 17 counted 27,514 in 3 s). The guard:
 *  - keeps one reserve descriptor open for the process (/dev/null); on a shortage it
 *    closes it, accepts the oldest pending connection, writes the listener's refusal
 *    (if any: the HTTP server's 503) and closes it, then reopens the reserve, so a client
 *    gets an answer instead of waiting in the backlog;
 *  - disables the listener for a back-off (50 ms, doubling to 1 s while accepts fail right
 *    after each resume), so a shortage costs at most a few failed accepts a second; connections
 * keep queueing in the kernel backlog and are accepted once descriptors are free again. One log
 * line per shortage (and a count of refused connections every 10 s while it lasts).
 *
 * Threads: loop thread only.
 */
#ifndef XEND_CORE_HTTP_LISTEN_GUARD_H
#define XEND_CORE_HTTP_LISTEN_GUARD_H

struct evconnlistener;

/* Guard l (borrowed until detach). `what` names it in log lines; `refusal` (may be NULL)
 * is written to a connection accepted with the reserve descriptor. Both borrowed: static
 * strings. At most 8 listeners are guarded; more are left unguarded (logged). */
void xend_listen_guard_attach(struct evconnlistener *l, const char *what, const char *refusal);
/* Count one accepted connection of l: past a burst in one loop turn, accepting waits for
 * the next turn (libevent's listener would otherwise empty the whole backlog at once,
 * ahead of every request, and descriptors closed meanwhile only come back a turn later). */
void xend_listen_guard_accepted(struct evconnlistener *l);
/* Before freeing l. Unknown listeners are ignored. */
void xend_listen_guard_detach(struct evconnlistener *l);
/* Shortages seen so far, for tests: failed accepts answered by the guard. */
unsigned long xend_listen_guard_shortages(void);

#endif
