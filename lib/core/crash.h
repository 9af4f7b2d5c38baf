/* crash.h - a line naming the rank and the task when the process dies inside
 * a task body, by a fatal signal or exit() (crash.c). */
#ifndef DT__CRASH_H
#define DT__CRASH_H

/* At dt_init: handlers for SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT that
 * chain to the previous ones, and an exit hook (once per process). */
void dt__crash_install(void);
/* At dt_finalize: the previous handlers back, unless replaced since. */
void dt__crash_uninstall(void);

#endif
