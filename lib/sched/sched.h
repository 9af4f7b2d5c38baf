/* sched.h - worker threads, ready queues and waiting. */
#ifndef DT__SCHED_H
#define DT__SCHED_H

#include <hwloc.h>
#include <pthread.h>
#include "core/task.h"

/* Starts nworkers-1 threads (the caller is worker 0).  cpusets: one per
 * worker to bind to, or NULL for no binding. */
int dt__sched_start(int nworkers, hwloc_topology_t topo, hwloc_cpuset_t *cpusets);
void dt__sched_stop(void);

/* t's dependencies are satisfied: queue it (any thread). */
void dt__sched_ready(dt__task *t);
/* Runs ready tasks until done(arg) is true.  Only tasks that cannot end up
 * waiting for `scope` are run (NULL or the root: anything). */
void dt__sched_wait(bool (*done)(void *), void *arg, dt__task *scope);
/* A creator with too many queued tasks runs one itself. */
void dt__sched_throttle(void);
/* Enough work is queued on this thread that a new task may run at once. */
bool dt__sched_saturated(void);
void dt__sched_wake_all(void);
/* Workers sleeping for want of work (the progress thread's hint). */
int dt__sched_sleepers(void);
/* While a finished body releases its accesses, a task that becomes ready is
 * kept for this thread to run next (immediate successor). */
void dt__sched_collect(bool on);
/* Commutative accesses: release t's hold on its ranges. */
void dt__sched_comm_release(dt__task *t);

/* A queue of tasks by priority (highest first), then creation order; it
 * has its own lock. */
typedef struct dt__heap {
    pthread_mutex_t lock;
    atomic_int n;
    dt__task **v;
    int cap;
} dt__heap;
void dt__heap_init(dt__heap *h);
void dt__heap_free(dt__heap *h);
void dt__heap_push(dt__heap *h, dt__task *t);
dt__task *dt__heap_peek(dt__heap *h);
dt__task *dt__heap_pop(dt__heap *h);

int dt__worker_id(void);     /* 0..nworkers-1, or -1 outside the runtime's threads */
int dt__num_slots(void);     /* per-worker slots (reduction copies): workers + 1 */

#endif
