/* spread.c - DT_NESTED=spread: a scheduling policy for nested tasks (tasks
 * created inside other tasks, on any rank).  Without it a nested task with
 * no node hint runs where its parent runs, so a parent that makes many
 * children keeps one rank busy while the others idle.
 *
 * The signal: each rank of a node has a word in a shared MPI window (one
 * cache line each), the number of tasks it has queued or running that the
 * cluster layer sees (tasks offloaded or pushed to it, rank 0's tasks
 * placed on itself, nested tasks this policy kept).  The owner adds a task
 * when it queues it and takes it off when it has run; a sender adds a task
 * to the target's word when it sends it, so a burst of sends cannot
 * overcommit a rank before its messages arrive (the target then knows,
 * from the sender being on its node, that the task is counted already).
 * Reading another rank's load is a load from shared memory: no message,
 * no polling thread.
 *
 * The policy: a ready nested task that may leave (dt__cl_offloadable,
 * only strong accesses: its bytes are all here when it is ready) and whose
 * type's tasks ran for DT_NESTED_MIN_US on average here (sending a task
 * costs a push of its bytes, their way back and a completion, tens of us
 * on one node, and delays its successors by as much; a type not timed yet
 * does not leave until one of its tasks has run here; 0: any task) runs here
 * while this rank has fewer than DT__SPREAD_DEPTH tasks per worker, else
 * goes to the least loaded rank of the node below that depth (pushed with
 * its bytes, its writes coming back before its release, as a task with a
 * node hint is), else waits in this rank's pool.  The pool is drained when
 * a counted task ends here (this rank or another may have room now) and by
 * any worker here that finds nothing to do, which takes one pooled task
 * whatever the counts say: a pooled task never waits for a rank that is
 * only blocked (parents in dt_taskwait count as running).  Other nested
 * tasks (hinted, weak, short, ...) run where they are created, uncounted.
 * With helper ranks (helpers.c) the same policy sends an application rank's
 * root tasks, and only to helpers. */
#include <limits.h>
#include <string.h>
#include "cluster/internal.h"

/* tasks per worker a rank keeps queued or running: one running and one
   whose data travels meanwhile */
#define DT__SPREAD_DEPTH 2

/* per type: mean body time of its tasks that ran here with cluster data,
   in ns (0: none yet); an average of the last few, races only blur it */
static atomic_uint mean_ns[DT__MAX_TYPES];

typedef struct load_word {
    atomic_int n;
    char pad[DT__CACHELINE - sizeof(atomic_int)];
} load_word;

void dt__cl_open_loads(void)
{
    void *slot[DT__MAX_RANKS] = { 0 };
    MPI_Comm node = dt__cl_node_slots(sizeof(load_word), &dt__cl.load_win, slot);
    for (int r = 0; r < dt__cl.nranks; r++)
        if (slot[r]) dt__cl.loadw[r] = &((load_word *)slot[r])->n;
    /* on before the barrier: a task may arrive from another rank right
       after it, and its sender counted it.  No one counts a task in a word
       before its owner has cleared it. */
    atomic_store_explicit(&dt__cl.spread, true, memory_order_release);
    dt__cl_node_barrier(node);
}

/* After the last barrier of the job: no rank sends a task any more. */
void dt__cl_close_loads(void)
{
    atomic_store(&dt__cl.spread, false);
    if (dt__cl.load_win != MPI_WIN_NULL) MPI_Win_free(&dt__cl.load_win);
    memset(dt__cl.loadw, 0, sizeof dt__cl.loadw);
}

int dt__cl_load_left(void)
{
    return atomic_load(&dt__cl.spread) ? atomic_load(dt__cl.loadw[dt__cl.rank]) : 0;
}

void dt__cl_count(dt__cltask *x)
{
    if (x->counted) return;
    x->counted = true;
    atomic_fetch_add_explicit(dt__cl.loadw[dt__cl.rank], 1, memory_order_relaxed);
}

void dt__cl_ran(dt__task *t)
{
    if (t->type < 0) return;
    uint64_t d = dt__now_ns() - t->t_start;
    unsigned v = d >= UINT_MAX ? UINT_MAX - 1 : (unsigned)d + 1;
    unsigned m = atomic_load_explicit(&mean_ns[t->type], memory_order_relaxed);
    atomic_store_explicit(&mean_ns[t->type], m ? m - m / 4 + v / 4 : v, memory_order_relaxed);
}

void dt__cl_uncount(dt__cltask *x)
{
    if (!x->counted) return;
    x->counted = false;
    atomic_fetch_sub_explicit(dt__cl.loadw[dt__cl.rank], 1, memory_order_relaxed);
}

void dt__cl_count_sent(int r)
{
    if (atomic_load_explicit(&dt__cl.spread, memory_order_acquire) && dt__cl.loadw[r])
        atomic_fetch_add_explicit(dt__cl.loadw[r], 1, memory_order_relaxed);
}

static int cap(int r) { return DT__SPREAD_DEPTH * dt__cl.workers[r]; }

static int load_of(int r) { return atomic_load_explicit(dt__cl.loadw[r], memory_order_relaxed); }

static bool room_here(void) { return load_of(dt__cl.rank) < cap(dt__cl.rank); }

/* Counts a task in rank r's word if r is below its depth. */
static bool claim(int r)
{
    atomic_int *w = dt__cl.loadw[r];
    int v = atomic_load_explicit(w, memory_order_relaxed);
    while (v < cap(r))
        if (atomic_compare_exchange_weak_explicit(w, &v, v + 1, memory_order_relaxed, memory_order_relaxed))
            return true;
    return false;
}

/* Helpers (helpers.c) off this node: no shared word to read, so this rank
 * counts only the tasks it sent there itself (dt__cl.far), and sends a
 * helper no more than its depth.  The least loaded one, or -1. */
static int claim_far_helper(void)
{
    int best = -1;
    long best_l = 0, best_w = 1;
    for (int r = 0; r < dt__cl.nranks; r++) {
        if (r == dt__cl.rank || !dt__cl_serves(r) || dt__cl.loadw[r]) continue;
        long l = atomic_load_explicit(&dt__cl.far[r], memory_order_relaxed), w = dt__cl.workers[r];
        if (l >= cap(r)) continue;
        if (best < 0 || l * best_w < best_l * w) best = r, best_l = l, best_w = w;
    }
    /* two threads may pass the test together: one task over the depth at worst */
    if (best >= 0) atomic_fetch_add_explicit(&dt__cl.far[best], 1, memory_order_relaxed);
    return best;
}

void dt__cl_far_back(int r)
{
    if (dt__cl.helpers && !dt__cl.loadw[r]) atomic_fetch_sub_explicit(&dt__cl.far[r], 1, memory_order_relaxed);
}

/* The least loaded other rank of this node with room (counted), or -1;
 * with helpers, else a helper off the node. */
static int claim_elsewhere(void)
{
    for (int tries = 0; tries < dt__cl.nranks; tries++) {
        int best = -1;
        long best_l = 0, best_w = 1;
        for (int r = 0; r < dt__cl.nranks; r++) {
            if (r == dt__cl.rank || !dt__cl.loadw[r] || (dt__cl.helpers && !dt__cl_serves(r))) continue;
            long l = load_of(r), w = dt__cl.workers[r];
            if (l >= cap(r)) continue;
            if (best < 0 || l * best_w < best_l * w) best = r, best_l = l, best_w = w;   /* l/w < best_l/best_w */
        }
        if (best < 0) break;
        if (claim(best)) return best;
    }
    return dt__cl.helpers ? claim_far_helper() : -1;
}

unsigned dt__cl_type_mean_ns(int type)
{
    return type < 0 ? 0 : atomic_load_explicit(&mean_ns[type], memory_order_relaxed);
}

/* 0: no task of t's type ran here yet */
static unsigned mean_of(const dt__task *t) { return atomic_load_explicit(&mean_ns[t->type], memory_order_relaxed); }

/* Are tasks of mean body time m (0: not timed yet) long enough to leave? */
static bool long_enough(unsigned m) { return !dt__cl.spread_min_ns || (m && m >= dt__cl.spread_min_ns); }

static void send(dt__task *t, int r)
{
    dt__cl_push(t, r, true);
    atomic_fetch_add_explicit(&dt__cl.n_spread, 1, memory_order_relaxed);
}

/* A nested task may leave if its bytes are all in the common address space
 * and here once it is ready (no weak access), and nothing pins it: a node
 * hint, an undeferred or final task (its creator waits for it here), a
 * task replayed by taskiter. */
bool dt__cl_movable(const dt__task *t)
{
    if (t->node >= 0 || t->iter || (t->flags & (DT__TF_IF0 | DT__TF_FINAL)) || !dt__cl_offloadable(t)) return false;
    for (uint32_t i = 0; i < t->nacc; i++)
        if (t->acc[i].weak) return false;
    return true;
}

int dt__cl_spread_ready(dt__task *t)
{
    /* with helpers (helpers.c) the words are open for the root's tasks;
       a helper keeps its nested tasks (its idle workers do not drain a pool) */
    if (t->parent != &dt__root && (!dt__cl.spread_nested || dt__cl.helper)) return DT__READY_QUEUE;
    if (!dt__cl_movable(t)) return DT__READY_QUEUE;
    unsigned m = mean_of(t);
    if (m && m < dt__cl.spread_min_ns) return DT__READY_QUEUE;
    dt__cltask *x = dt__cl_ext_new(t, 0);
    x->spread = true;
    if (room_here()) {
        dt__cl_count(x);
        return DT__READY_QUEUE;
    }
    /* a type not timed yet waits here until one of its tasks has run */
    int r = long_enough(m) ? claim_elsewhere() : -1;
    if (r >= 0) send(t, r);
    else dt__heap_push(&dt__cl.spread_pool, t);
    return DT__READY_TAKEN;
}

bool dt__cl_spread_drain(bool idle)
{
    bool handed = false;
    dt__task *t;
    while ((t = dt__heap_pop(&dt__cl.spread_pool))) {
        if (idle || room_here()) {
            /* the idle worker's pick runs now: with DT_STEAL it would
               otherwise join the steal queue, and that worker, back here,
               moved the whole pool there, none of it to other ranks */
            dt__cl_of(t)->run_now = idle;
            idle = false;
            dt__cl_count(dt__cl_of(t));
            dt__sched_ready(t);
        } else {
            int r = long_enough(mean_of(t)) ? claim_elsewhere() : -1;
            if (r < 0) {
                dt__heap_push(&dt__cl.spread_pool, t);
                break;
            }
            send(t, r);
        }
        handed = true;
    }
    return handed;
}
