/* runtime.h - process-wide state, configuration, error reporting, type
 * table and tracing (runtime.c). */
#ifndef DT__RUNTIME_H
#define DT__RUNTIME_H

#include <stdarg.h>
#include "core/task.h"

#define DT__MAX_TYPES 4096
#define DT__TYPE_NAME_MAX 64

enum { DT__STATE_NEW, DT__STATE_RUNNING, DT__STATE_FINALIZED };

typedef struct dt__runtime {
    atomic_int state;
    int nworkers;
    int nranks, rank;
    /* what the program sees (dt_rank, dt_num_ranks, node hints): its rank
       among the application ranks, which are all ranks but helpers */
    int app_nranks, app_rank;
    bool verbose;
    bool trace;
    bool bind;
    bool stats;             /* DT_STATS */
    atomic_ullong n_ran;    /* DT_STATS: task bodies run on this rank */
    bool cluster_mode;      /* started by dt_main: rank 0 runs the program, the others serve */
    uint64_t t0;
} dt__runtime;

extern dt__runtime dt__rt;

/* A dt_main job of several ranks: rank 0's tasks may run elsewhere. */
static inline bool dt__offloading(void) { return dt__rt.cluster_mode && dt__rt.nranks > 1; }

typedef struct dt__type {
    char name[DT__TYPE_NAME_MAX];
    dt_task_fn fn;
    long args_size;         /* >= 0: the exact args size its tasks take (ffi types); -1: any */
} dt__type;
extern dt__type dt__types[DT__MAX_TYPES];
extern atomic_int dt__ntypes;
/* dt_type_register with the args size its tasks must give (-1: any); errors
 * are reported as from `call` */
int dt__type_register(const char *call, const char *name, dt_task_fn fn, long args_size,
                      dt_type_t *out);
/* DT_OK, or DT_ESIGNATURE (reported) if args_size is not the one the type takes */
int dt__type_check_args(dt_type_t type, size_t args_size, const char *call, const char *label);

/* dt_init's work, once lib/api/init.c has filled dt__plug. */
int dt__runtime_init(int *argc, char ***argv);

/* Internal allocation failures cannot be unwound halfway through linking a
 * task: they end the process with a message instead of corrupting state. */
void *dt__xmalloc(size_t size);
/* The one fatal path: a message, then the whole job ends (every rank). */
_Noreturn void dt__fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* inline: one call per dependency edge and group member */
static inline void dt__xvec_push(dt__vec *v, void *p)
{
    if (DT__UNLIKELY(!dt__vec_push(v, p))) dt__fatal("out of memory");
}

/* Returns err; with DT_VERBOSE=1 prints one line naming call, task and rank. */
int dt__error(int err, const char *call, const char *label, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* DT_OK if the runtime is running, else DT_ENOTINIT / DT_EFINALIZED (reported). */
int dt__check_running(const char *call);
/* dt_taskwait, leaving the children's results where they are (on rank 0 of
 * a job: the directory says where; a distributed taskiter takes them from
 * there). */
int dt__taskwait_in_place(void);


#endif
