/*
 * A crash report in the log: on SIGSEGV, SIGBUS, SIGILL, SIGFPE or SIGABRT (glibc's heap
 * checks abort), xend writes `crashed signal=... pid=... tid=...` and one `crash frame=N
 * at="MODULE+0xOFFSET" fn="SYMBOL+0xOFF"` line per stack frame to its log (and stderr in the
 * foreground), then dies of the signal as before. crash.c says why and what it costs.
 */
#ifndef XEND_CORE_LOG_CRASH_H
#define XEND_CORE_LOG_CRASH_H

/* Once, early in main, on the main thread. Not in a sanitizer build (it reports itself). */
void xend_log_crash_install(void);

#endif
