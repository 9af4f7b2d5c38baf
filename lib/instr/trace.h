/* trace.h - the DT_TRACE timeline (instr/trace.c).  A leaf module: the core
 * calls it when dt__rt.trace is set; it calls nothing back. */
#ifndef DT__TRACE_H
#define DT__TRACE_H

#include "core/task.h"

/* dt_init, once the rank is known: with several ranks each writes PATH.RANK.
   DT_ECONFIG if the file cannot be written. */
int dt__trace_open(void);
/* A task ran (t_start, t_end set). */
void dt__trace_record(const dt__task *t);
/* A thread that ran tasks leaves: its records join the others. */
void dt__trace_flush(void);
/* dt_finalize: writes the file; dt__trace_close drops the setting. */
void dt__trace_write(void);
void dt__trace_close(void);

#endif
