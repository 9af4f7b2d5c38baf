/* task.c - task objects and the counter events that move them through their
 * lifecycle (see task.h).  Events are processed from a per-thread work list
 * rather than by recursion: a release can cascade through long chains of
 * weak accesses and completed parents. */
#include <stdio.h>
#include <string.h>
#include "base/pool.h"
#include "core/hooks.h"
#include "core/runtime.h"
#include "core/stack.h"
#include "deps/deps.h"
#include "instr/trace.h"
#include "sched/sched.h"

dt__task dt__root;
static DT__TLS dt__task *tls_current;

dt__task *dt__current(void) { return tls_current ? tls_current : &dt__root; }
void dt__set_current(dt__task *t) { tls_current = t; }

/* ---- allocation ----------------------------------------------------------
 * A task, its accesses and its arguments are one block from the size-class
 * pools (base/pool.h): tasks are created by one thread and freed by another,
 * and a task with many accesses or large arguments must not fall back to
 * malloc on every creation. */

void dt__task_pool_drain(void) { dt__pool_thread_exit(); }

/* the access's layout (task.h) */
_Static_assert(sizeof(dt__access) == 128 && sizeof(dt__task) % 64 == 0, "dt__access layout");

dt__task *dt__task_try_alloc(uint32_t nacc, size_t args_size)
{
    size_t head = sizeof(dt__task) + sizeof(dt__access) * nacc;
    /* arguments inline while the block stays in a pool class */
    size_t inline_args = head + args_size <= DT__POOL_MAX ? args_size : 0;
    size_t size = head + inline_args;
    dt__task *t = dt__pool_alloc(size);
    if (!t) return NULL;
    void *args = inline_args || !args_size ? (char *)t + head : malloc(args_size);
    if (!args) {
        dt__pool_free(t, size);
        return NULL;
    }
    memset(t, 0, head);
    t->alloc_size = size;
    atomic_init(&t->refs, 1);
    atomic_init(&t->pending, 1);
    t->nacc = nacc;
    t->node = DT_NODE_ANY;
    t->args_size = args_size;
    t->acc = (dt__access *)(t + 1);
    t->args = args;
    for (uint32_t i = 0; i < nacc; i++) {
        dt__access *a = &t->acc[i];
        a->task = t;
        atomic_init(&a->npreds, 1);
        /* body + satisfaction; accesses past 62 are not tracked per child,
           so they also wait for the task's completion */
        atomic_init(&a->blockers, i >= 63 ? 3 : 2);
        dt__succ_init(&a->succ);
    }
    return t;
}

dt__task *dt__task_alloc(uint32_t nacc, size_t args_size)
{
    dt__task *t = dt__task_try_alloc(nacc, args_size);
    if (!t) dt__fatal("out of memory for a task (%u accesses, %zu bytes of args)", nacc, args_size);
    return t;
}

void dt__task_unref(dt__task *t)
{
    if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1) return;
    for (uint32_t i = 0; i < t->nacc; i++) {
        dt__access *a = &t->acc[i];
        dt__succ_free(&a->succ);
        if (a->gate_waiters) {
            dt__vec_free(a->gate_waiters);
            free(a->gate_waiters);
        }
        if (a->red && atomic_fetch_sub(&a->red->refs, 1) == 1) free(a->red);
    }
    dt__deps_domain_free(t->dom);
    if (DT__UNLIKELY(t->ext)) dt__hooks.task_free(t);
    if (t->args != (char *)(t->acc + t->nacc)) free(t->args);
    dt__pool_free(t, t->alloc_size);
}

/* ---- counter events ------------------------------------------------------ */

/* EV_NPREDS_HELD comes from an entry of a predecessor's list that holds a
 * reference on the waiting task (task.h: DT__SUCC_HELD), dropped once the
 * event is handled.  Otherwise a predecessor's event must not touch the
 * access after its decrement unless that made it satisfied: another
 * predecessor may satisfy it meanwhile, and its task run and go. */
/* EV_BLOCKERS2: a body's end that also takes the satisfaction's blocker
 * (access.sat_in_body). */
enum { EV_NPREDS, EV_NPREDS_HELD, EV_BLOCKERS, EV_BLOCKERS2 };
typedef struct ev { dt__access *a; int kind; } ev;
static DT__TLS ev *evs;
static DT__TLS size_t evs_n, evs_cap;
static DT__TLS bool evs_draining;

static void ev_grow(void)
{
    evs_cap = evs_cap ? evs_cap * 2 : 64;
    evs = realloc(evs, evs_cap * sizeof *evs);
    if (!evs) dt__fatal("out of memory in the dependency release path");
}

/* inline: several per task (submission, body end, each successor) */
static inline void ev_push(dt__access *a, int kind)
{
    if (DT__UNLIKELY(evs_n == evs_cap)) ev_grow();
    evs[evs_n].a = a;
    evs[evs_n].kind = kind;
    evs_n++;
}

static void dec_pending(dt__task *t)
{
    if (atomic_fetch_sub_explicit(&t->pending, 1, memory_order_acq_rel) == 1) dt__sched_ready(t);
}

void dt__task_dec_pending(dt__task *t) { dec_pending(t); }

/* Takes the list out under the lock, marking the access, then wakes each
 * (gates: the gate waiters, else the successors). */
static void wake(void **v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        uintptr_t e = (uintptr_t)v[i];
        ev_push((dt__access *)(e & ~DT__SUCC_HELD), e & DT__SUCC_HELD ? EV_NPREDS_HELD : EV_NPREDS);
    }
}

static void fire(dt__access *a, atomic_bool *flag, bool gates)
{
    dt__spin_lock(&a->lock);
    atomic_store_explicit(flag, true, memory_order_release);
    if (DT__UNLIKELY(gates)) {
        dt__vec out;
        if (a->gate_waiters) dt__vec_take(&out, a->gate_waiters);
        else dt__vec_init(&out);
        dt__spin_unlock(&a->lock);
        wake(out.v, out.n);
        dt__vec_free(&out);
        return;
    }
    dt__succ out = a->succ;
    dt__succ_init(&a->succ);
    dt__spin_unlock(&a->lock);
    wake(dt__succ_items(&out), out.n);
    dt__succ_free(&out);
}

static void drain(void)
{
    if (evs_draining) return;
    evs_draining = true;
    while (evs_n) {
        ev e = evs[--evs_n];
        dt__access *a = e.a;
        if (e.kind < EV_BLOCKERS) {         /* EV_NPREDS, EV_NPREDS_HELD */
            dt__task *t = a->task;
            if (atomic_fetch_sub_explicit(&a->npreds, 1, memory_order_acq_rel) == 1) {
                /* satisfied: every predecessor has released these bytes.  The
                 * blocker goes first: once the task is ready it may finish
                 * and be freed by another thread. */
                if (a->weak) fire(a, &a->satisfied, true);
                else    /* only a weak access is a gate its children's accesses wait on */
                    atomic_store_explicit(&a->satisfied, true, memory_order_relaxed);
                if (!a->sat_in_body && atomic_fetch_sub_explicit(&a->blockers, 1, memory_order_acq_rel) == 1) {
                    if (DT__UNLIKELY(t->ext)) dt__hooks.released(a);
                    fire(a, &a->released, false);
                }
                if (!a->weak) dec_pending(t);
            }
            if (e.kind == EV_NPREDS_HELD) dt__task_unref(t);
        } else {
            int n = e.kind == EV_BLOCKERS2 ? 2 : 1;
            if (atomic_fetch_sub_explicit(&a->blockers, n, memory_order_acq_rel) != n) continue;
            if (DT__UNLIKELY(a->task->ext)) dt__hooks.released(a);
            fire(a, &a->released, false);
        }
    }
    evs_draining = false;
}


void dt__task_events_free(void)
{
    free(evs);
    evs = NULL;
    evs_n = evs_cap = 0;
}

void dt__task_submit(dt__task *t)
{
    int strong = 0;
    for (uint32_t i = 0; i < t->nacc; i++) strong += !t->acc[i].weak;
    atomic_fetch_add_explicit(&t->pending, strong, memory_order_relaxed);
    for (uint32_t i = 0; i < t->nacc; i++) ev_push(&t->acc[i], EV_NPREDS);
    drain();
    dec_pending(t);
}

static void complete(dt__task *t)
{
    dt__task *p = t->parent;
    for (uint32_t i = 63; i < t->nacc; i++) ev_push(&t->acc[i], EV_BLOCKERS);
    for (uint64_t bits = t->parent_mask; bits; bits &= bits - 1)
        ev_push(&p->acc[__builtin_ctzll(bits)], EV_BLOCKERS);
    drain();
    /* its children are gone: their fragments can go too */
    dt__deps_domain_free(t->dom);
    t->dom = NULL;
    if (DT__UNLIKELY(t->ext)) dt__hooks.completed(t);
    atomic_store_explicit(&t->done, 1, memory_order_release);
    if (t->flags & DT__TF_IF0) dt__sched_wake_all();
}

void dt__task_child_created(dt__task *p)
{
    /* only the thread running p's body creates its children */
    atomic_store_explicit(&p->nchildren, atomic_load_explicit(&p->nchildren, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

bool dt__task_children_done(dt__task *t)
{
    return atomic_load_explicit(&t->nfinished, memory_order_seq_cst) ==
           atomic_load_explicit(&t->nchildren, memory_order_relaxed);
}

/* Completes t, counts it as finished in its parent and drops the owner's
 * reference (and the caller's, if held).  Returns the parent. */
static dt__task *finish(dt__task *t, bool held)
{
    dt__task *p = t->parent;
    complete(t);
    if (p) {
        if (!(p->flags & DT__TF_ROOT)) dt__task_ref(p);   /* the root is never freed */
        unsigned long long f = atomic_fetch_add_explicit(&p->nfinished, 1, memory_order_seq_cst) + 1;
        if (atomic_load_explicit(&p->waiting, memory_order_seq_cst) &&
            f == atomic_load_explicit(&p->nchildren, memory_order_relaxed))
            dt__sched_wake_all();
    }
    if (held) dt__task_unref(t);
    dt__task_unref(t);                   /* the owner's reference */
    return p;
}

/* Both the body's end and each child's completion end here; the last one
 * (body returned and every child done) completes the task, exactly once. */
static void maybe_complete(dt__task *t, bool held)
{
    /* Once its last child is counted, a parent may complete and be freed by
     * another thread: a finishing child holds a reference on it meanwhile
     * (and so does the thread whose body just returned: `held`). */
    while (t) {
        if (!atomic_load_explicit(&t->body_done, memory_order_seq_cst) || !dt__task_children_done(t) ||
            atomic_exchange_explicit(&t->completing, 1, memory_order_acq_rel))
            break;
        if (DT__UNLIKELY(t->iter)) {          /* taskiter hook: the cyclic graph takes over */
            dt__hooks.replayed(t);           /* and the held reference with it */
            return;
        }
        dt__task *p = finish(t, held);
        t = p;
        held = p && !(p->flags & DT__TF_ROOT);
    }
    if (held) dt__task_unref(t);
}

void dt__task_body_end(dt__task *t)
{
    if (t->dom) dt__deps_close_reductions(t);
    if (t->flags & DT__TF_COMM) dt__sched_comm_release(t);
    /* taskiter hook: a replayed task's successors are its graph's, not its
     * accesses'.  Pushed last first: drain() pops them in order, so where the
     * task's accesses overlap, a successor linked to a later one (a read of
     * bytes an earlier one writes) starts only after the earlier one's
     * release, where the cluster layer records the write. */
    if (DT__LIKELY(!t->iter))
        for (uint32_t i = t->nacc; i-- > 0;)
            ev_push(&t->acc[i], t->acc[i].sat_in_body ? EV_BLOCKERS2 : EV_BLOCKERS);
    drain();
    /* No child (this thread alone creates them, and the body is over): no
     * other thread can complete t, so it completes here without the
     * reference, the seq_cst flag and the exchange that settle that race. */
    if (DT__LIKELY(!t->iter) && !atomic_load_explicit(&t->nchildren, memory_order_relaxed)) {
        atomic_store_explicit(&t->body_done, 1, memory_order_relaxed);
        atomic_store_explicit(&t->completing, 1, memory_order_relaxed);
        dt__task *p = finish(t, false);
        maybe_complete(p, p && !(p->flags & DT__TF_ROOT));
        return;
    }
    dt__task_ref(t);
    atomic_store_explicit(&t->body_done, 1, memory_order_seq_cst);
    maybe_complete(t, true);
}

void dt__task_run(dt__task *t)
{
    dt__task *prev = tls_current;
    tls_current = t;
    /* read before the body: the task may be freed once it is released */
    bool ext = DT__UNLIKELY(t->ext != NULL);
    if (DT__UNLIKELY(dt__rt.stats)) atomic_fetch_add_explicit(&dt__rt.n_ran, 1, memory_order_relaxed);
    /* tasks with plug-in data: the cluster layer learns how long each type runs */
    if (DT__UNLIKELY(dt__rt.trace || ext)) t->t_start = dt__now_ns();
    dt__stack_call(t->fn, t->args);
    if (DT__UNLIKELY(dt__rt.trace)) t->t_end = dt__now_ns();
    if (DT__UNLIKELY(dt__rt.trace)) dt__trace_record(t);
    tls_current = prev;
    if (ext) dt__hooks.ran(t);
    dt__sched_collect(true);
    dt__task_body_end(t);
    dt__sched_collect(false);
    if (ext) dt__hooks.ran_released();
}

void dt__task_thread_exit(void)
{
    dt__deps_thread_exit();
    dt__trace_flush();
    dt__task_pool_drain();
    dt__task_events_free();
    dt__stack_thread_exit();
}
