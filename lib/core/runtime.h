/* runtime.h - process-wide state, configuration, error reporting, type
 * table and tracing (runtime.c). */
#ifndef DT_RUNTIME_H
#define DT_RUNTIME_H

#include <stdarg.h>
#include "core/task.h"

#define DT_MAX_TYPES 4096
#define DT_TYPE_NAME_MAX 64

enum { DT_STATE_NEW, DT_STATE_RUNNING, DT_STATE_FINALIZED };

typedef struct dt__runtime {
    atomic_int state;
    int nworkers;
    int nranks, rank;
    bool verbose;
    bool trace;
    bool bind;
    int policy;             /* DT_SCHEDULE: locality, balance, round-robin, local */
    bool aggregate;         /* DT_AGGREGATE */
    bool name_space;        /* DT_NAMESPACE */
    bool eager;             /* DT_EAGER */
    bool doorbell;          /* DT_DOORBELL */
    bool progress_thread;   /* DT_PROGRESS=thread (else workers) */
    bool stats;             /* DT_STATS */
    bool cluster_mode;      /* started by dt_main: rank 0 runs the program, the others serve */
    size_t dmem_size, lmem_size;
    uint64_t t0;
} dt__runtime;

extern dt__runtime dt__rt;

typedef struct dt__type {
    char name[DT_TYPE_NAME_MAX];
    dt_task_fn fn;
} dt__type;
extern dt__type dt__types[DT_MAX_TYPES];
extern atomic_int dt__ntypes;

/* Internal allocation failures cannot be unwound halfway through linking a
 * task: they end the process with a message instead of corrupting state. */
void *dt__xmalloc(size_t size);
_Noreturn void dt__fatal(const char *fmt, ...);
/* inline: one call per dependency edge and group member */
static inline void dt__xvec_push(dt__vec *v, void *p)
{
    if (DT_UNLIKELY(!dt__vec_push(v, p))) dt__fatal("out of memory");
}

/* Returns err; with DT_VERBOSE=1 prints one line naming call, task and rank. */
int dt__error(int err, const char *call, const char *label, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* DT_OK if the runtime is running, else DT_ENOTINIT / DT_EFINALIZED (reported). */
int dt__check_running(const char *call);

void dt__trace_record(const dt__task *t);
void dt__trace_flush(void);

#endif
