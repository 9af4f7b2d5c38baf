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
/* DT_LEND: the program's thread returns from a dt_taskwait at the top
 * level; with nothing queued here (it may now wait in MPI for the other
 * ranks) its core is lent until a task becomes ready here. */
void dt__sched_lend_idle(void);
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

/* Guest workers (DT_LEND, cluster/lend.c): threads of this rank that run
 * its ready tasks on a core another rank of the node lent. */
typedef struct dt__guest_ops {
    bool (*asked_back)(int entry);  /* after each task: stop (the lender wants it back) */
    void (*give_back)(int entry);   /* the guest stops using the core, before it parks */
} dt__guest_ops;
/* More tasks are queued here than threads are awake to run them. */
bool dt__sched_surplus(void);
/* Wakes (or starts) a parked guest bound to PU `pu` (-1: unbound) that
 * runs ready tasks until ops->asked_back(entry), or none is left, then
 * calls ops->give_back(entry) and parks.  False: no guest could start. */
bool dt__sched_guest(int pu, int entry, const dt__guest_ops *ops);
/* No guest starts any more; returns once every guest has parked. */
void dt__sched_guests_close(void);
unsigned long long dt__sched_guest_tasks(void);
/* The OS index of the PU configured worker i is bound to, or -1. */
int dt__sched_worker_pu(int i);

int dt__worker_id(void);     /* 0..nworkers-1, or -1 outside the runtime's threads */
int dt__num_slots(void);     /* per-worker slots (reduction copies): workers + 1 */

#endif
