/*
 * Giving freed heap memory back to the system once xend goes quiet (see trim.c).
 */
#ifndef XEND_CORE_TRIM_H
#define XEND_CORE_TRIM_H

/* Start watching for quiet (after the loop and the HTTP server are up). */
void xend_trim_start(void);
/* Stop watching; before the loop is freed. */
void xend_trim_stop(void);

#endif
