/* lend.c - DT_LEND: the ranks of a node share its cores as their load
 * changes (DLB's LeWI, Lend When Idle, through shared memory).
 *
 * Each rank lists the cores of its configured workers in its slot of the
 * node window (transport.c, with the doorbells), one state word per core,
 * changed by compare-and-swap only:
 *   - a worker with no work lends its core (OWNED -> LENT) when it stops
 *     spinning, then yields and sleeps on its futex as before: no thread
 *     spins on a lent core.  Not while tasks placed on its rank wait for
 *     their data or predecessors: work is on its way;
 *   - a rank with more ready tasks than awake threads borrows a lent core
 *     (LENT -> BORROWED(me)) and wakes a guest, a thread of its own parked
 *     on a futex (sched.c), bound to that core; the guest runs the rank's
 *     tasks and after each one looks at the word: asked back, it returns
 *     the core (RECLAIM(me) -> OWNED) and parks; out of tasks, it returns
 *     it to the pool (BORROWED(me) -> LENT) and parks;
 *   - when work comes to the lender (a task becomes ready there, a worker
 *     is about to run one), it takes the core back at once (LENT -> OWNED,
 *     or BORROWED(r) -> RECLAIM(r)) and runs without waiting: until the
 *     guest's task ends, two threads share that core.
 * The node's first slot counts the LENT cores, so that a busy rank looks
 * for one only when there is one (a load of one shared word per task).
 * A dead rank ends the job as before: nothing here waits for another rank. */
#include <sched.h>
#include <stdio.h>
#include "base/env.h"
#include "cluster/internal.h"

static struct {
    atomic_bool on;
    atomic_int users;           /* threads inside the table: close waits for them */
    dt__node_slot *slot[DT__MAX_RANKS];     /* the node's ranks (NULL: elsewhere) */
    dt__node_slot *me;
    atomic_int *nlent;
    atomic_uint mask;           /* this rank's cores that may be lent */
    atomic_uint rr;             /* where the next search for a lent core starts */
    atomic_ullong n_lent, n_borrowed, n_reclaims;
} L;

int dt__cl_lend_configure(void)
{
    int lend = 0, r = dt__env_bool("DT_LEND", &lend);
    dt__cl.lend = lend == 1;
    return r < 0 ? r : DT_OK;
}

/* A thread enters the table only while it is open. */
static bool enter(void)
{
    if (!atomic_load_explicit(&L.on, memory_order_relaxed)) return false;
    atomic_fetch_add(&L.users, 1);
    if (atomic_load(&L.on)) return true;
    atomic_fetch_sub(&L.users, 1);
    return false;
}

static void leave(void) { atomic_fetch_sub(&L.users, 1); }

static void lend(int w)
{
    /* tasks placed here wait for their data: the core is needed soon (in
       Cholesky 2x1, lending in those gaps made the guests' tasks share the
       core with the owner's next one: 1.07-1.09x slower) */
    if (dt__cl.active && dt__cl_work_coming()) return;
    if (!enter()) return;
    if (w < L.me->ncores) {
        atomic_int *st = &L.me->core[w].state;
        int s = atomic_load(st);
        if (s == DT__LEND_OWNED && atomic_compare_exchange_strong(st, &s, DT__LEND_LENT)) {
            atomic_fetch_add(L.nlent, 1);
            atomic_fetch_add_explicit(&L.n_lent, 1, memory_order_relaxed);
        } else if (s >= 2 && (s & 1)) {
            /* idle again before the guest left: it may stay */
            atomic_compare_exchange_strong(st, &s, s - 1);
        }
        atomic_fetch_or(&L.mask, 1u << w);
    }
    leave();
}

static void reclaim(int w)
{
    unsigned m = atomic_load_explicit(&L.mask, memory_order_relaxed);
    if (!m) return;
    if (w < 0) w = __builtin_ctz(m);
    else if (w >= DT__LEND_CORES || !(m & (1u << w))) return;
    if (!enter()) return;
    atomic_fetch_and(&L.mask, ~(1u << w));
    atomic_int *st = &L.me->core[w].state;
    for (int s = atomic_load(st);;) {
        if (s == DT__LEND_LENT) {
            if (!atomic_compare_exchange_weak(st, &s, DT__LEND_OWNED)) continue;
            atomic_fetch_sub(L.nlent, 1);
        } else if (s >= 2 && !(s & 1)) {
            if (!atomic_compare_exchange_weak(st, &s, s + 1)) continue;
            atomic_fetch_add_explicit(&L.n_reclaims, 1, memory_order_relaxed);
        }
        break;
    }
    leave();
}

static atomic_int *entry_state(int entry)
{
    return &L.slot[entry / DT__LEND_CORES]->core[entry % DT__LEND_CORES].state;
}

static bool asked_back(int entry)
{
    return atomic_load_explicit(entry_state(entry), memory_order_relaxed) != DT__LEND_BORROWED(dt__cl.rank) ||
           !atomic_load_explicit(&L.on, memory_order_relaxed);
}

/* The guest leaves: a core asked back is its owner's again, one that was
 * not is lent still (its owner sleeps). */
static void give_back(int entry)
{
    atomic_int *st = entry_state(entry);
    for (int s = atomic_load(st);;) {
        if (s == DT__LEND_BORROWED(dt__cl.rank)) {
            if (!atomic_compare_exchange_weak(st, &s, DT__LEND_LENT)) continue;
            atomic_fetch_add(L.nlent, 1);
        } else if (s == DT__LEND_RECLAIM(dt__cl.rank)) {
            if (!atomic_compare_exchange_weak(st, &s, DT__LEND_OWNED)) continue;
        }
        break;
    }
}

static const dt__guest_ops ops = { asked_back, give_back };

/* With more ranks than cores their workers share cores (DT_BIND wraps):
 * a core that one of this rank's threads runs on already is no gain. */
static bool runs_on(int pu)
{
    if (pu < 0) return false;
    for (int i = 0; i < L.me->ncores; i++)
        if (L.me->core[i].pu == pu) return true;
    for (int r = 0; r < dt__cl.nranks; r++) {
        dt__node_slot *o = L.slot[r];
        for (int i = 0; o && o != L.me && i < o->ncores; i++) {
            int s = atomic_load_explicit(&o->core[i].state, memory_order_relaxed);
            if (o->core[i].pu == pu && (s == DT__LEND_BORROWED(dt__cl.rank) || s == DT__LEND_RECLAIM(dt__cl.rank)))
                return true;
        }
    }
    return false;
}

static bool borrow(void)
{
    unsigned start = atomic_fetch_add_explicit(&L.rr, 1, memory_order_relaxed);
    for (int k = 0; k < dt__cl.nranks; k++) {
        int r = (int)((start + (unsigned)k) % (unsigned)dt__cl.nranks);
        dt__node_slot *o = L.slot[r];
        if (!o || o == L.me) continue;
        for (int i = 0; i < o->ncores; i++) {
            atomic_int *st = &o->core[i].state;
            int s = DT__LEND_LENT;
            if (atomic_load_explicit(st, memory_order_relaxed) != s || runs_on(o->core[i].pu) ||
                !atomic_compare_exchange_strong(st, &s, DT__LEND_BORROWED(dt__cl.rank)))
                continue;
            atomic_fetch_sub(L.nlent, 1);
            int entry = r * DT__LEND_CORES + i;
            if (dt__sched_guest(o->core[i].pu, entry, &ops)) {
                atomic_fetch_add_explicit(&L.n_borrowed, 1, memory_order_relaxed);
                return true;
            }
            give_back(entry);
            return false;
        }
    }
    return false;
}

static void want_core(void)
{
    if (!enter()) return;
    if (atomic_load_explicit(L.nlent, memory_order_relaxed) > 0 && dt__sched_surplus()) borrow();
    leave();
}

void dt__cl_lend_fill_hooks(dt__hooks_t *h)
{
    h->lend = lend;
    h->reclaim = reclaim;
    h->want_core = want_core;
}

void dt__cl_lend_open(void **slot)
{
    for (int r = 0; r < dt__cl.nranks; r++) {
        L.slot[r] = slot[r];
        if (slot[r] && !L.nlent) L.nlent = &L.slot[r]->nlent;      /* the node's first rank */
    }
    L.me = L.slot[dt__cl.rank];
    L.me->ncores = dt__rt.nworkers < DT__LEND_CORES ? dt__rt.nworkers : DT__LEND_CORES;
    for (int i = 0; i < L.me->ncores; i++) L.me->core[i].pu = dt__sched_worker_pu(i);
}

void dt__cl_lend_start(void) { atomic_store(&L.on, true); }

void dt__cl_lend_close(void)
{
    if (!L.me) {
        if (dt__cl.stats)
            fprintf(stderr, "dtask stats: rank %d: cores lent 0, borrowed 0, tasks run by guests 0, reclaims 0\n", dt__cl.rank);
        return;
    }
    atomic_store(&L.on, false);         /* guests see it after their task */
    while (atomic_load(&L.users)) sched_yield();     /* no borrow starts a guest any more */
    dt__sched_guests_close();
    /* this rank's work is done: whoever still has some may use its cores
       until the job ends */
    for (int i = 0; i < L.me->ncores; i++) {
        atomic_int *st = &L.me->core[i].state;
        int s = atomic_load(st);
        if (s == DT__LEND_OWNED && atomic_compare_exchange_strong(st, &s, DT__LEND_LENT)) atomic_fetch_add(L.nlent, 1);
        else if (s >= 2 && (s & 1)) atomic_compare_exchange_strong(st, &s, s - 1);
    }
    if (dt__cl.stats)
        fprintf(stderr, "dtask stats: rank %d: cores lent %llu, borrowed %llu, tasks run by guests %llu, reclaims %llu\n",
                dt__cl.rank, (unsigned long long)L.n_lent, (unsigned long long)L.n_borrowed, dt__sched_guest_tasks(),
                (unsigned long long)L.n_reclaims);
    L.me = NULL;
}
