/* sched.c - per-worker Chase-Lev deques with random stealing, two central
 * priority heaps (tasks with priority > 0 run before the deques, < 0 after),
 * an injection queue for threads without a deque, and idle threads that spin
 * briefly, yield, then sleep on a futex so an idle process uses no core. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "core/hooks.h"
#include "core/runtime.h"
#include "sched/sched.h"

/* ---- Chase-Lev deque (Le, Pop, Cohen, Zappa Nardelli, PPoPP'13) ---------- */

typedef struct ring {
    int64_t mask;
    struct ring *prev;          /* older rings stay until shutdown: thieves may read them */
    _Atomic(dt__task *) buf[];
} ring;

typedef struct deque {
    _Alignas(DT__CACHELINE) atomic_llong top;
    _Alignas(DT__CACHELINE) atomic_llong bottom;
    _Atomic(ring *) r;
    long long top_seen;         /* owner's stale copy of top: reread only when full */
    unsigned peeks;
} deque;

static ring *ring_new(int64_t cap, ring *prev)
{
    ring *r = dt__xmalloc(sizeof *r + sizeof(r->buf[0]) * (size_t)cap);
    r->mask = cap - 1;
    r->prev = prev;
    return r;
}

static void dq_init(deque *d)
{
    atomic_init(&d->top, 0);
    atomic_init(&d->bottom, 0);
    atomic_init(&d->r, ring_new(1024, NULL));
}

static void dq_free(deque *d)
{
    ring *r = atomic_load(&d->r);
    while (r) { ring *p = r->prev; free(r); r = p; }
}

static void dq_push(deque *d, dt__task *t)
{
    long long b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    ring *r = atomic_load_explicit(&d->r, memory_order_relaxed);
    long long tp = d->top_seen;
    if (b - tp > r->mask) tp = d->top_seen = atomic_load_explicit(&d->top, memory_order_acquire);
    if (b - tp > r->mask) {
        ring *nr = ring_new((r->mask + 1) * 2, r);
        for (long long i = tp; i < b; i++)
            atomic_store_explicit(&nr->buf[i & nr->mask],
                                  atomic_load_explicit(&r->buf[i & r->mask], memory_order_relaxed),
                                  memory_order_relaxed);
        atomic_store_explicit(&d->r, nr, memory_order_release);
        r = nr;
    }
    atomic_store_explicit(&r->buf[b & r->mask], t, memory_order_relaxed);
    atomic_store_explicit(&d->bottom, b + 1, memory_order_release);
}

static dt__task *dq_pop(deque *d)
{
    if (atomic_load_explicit(&d->top, memory_order_relaxed) >=
        atomic_load_explicit(&d->bottom, memory_order_relaxed))
        return NULL;                    /* empty: skip the fenced protocol */
    long long b = atomic_load_explicit(&d->bottom, memory_order_relaxed) - 1;
    ring *r = atomic_load_explicit(&d->r, memory_order_relaxed);
    atomic_store_explicit(&d->bottom, b, memory_order_seq_cst);
    long long tp = atomic_load_explicit(&d->top, memory_order_seq_cst);
    if (tp > b) {
        atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
        return NULL;
    }
    dt__task *t = atomic_load_explicit(&r->buf[b & r->mask], memory_order_relaxed);
    if (tp == b) {
        if (!atomic_compare_exchange_strong_explicit(&d->top, &tp, tp + 1, memory_order_seq_cst,
                                                     memory_order_relaxed))
            t = NULL;
        atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
    }
    return t;
}

/* *seen: how many tasks the queue held when it was read */
static dt__task *dq_steal(deque *d, long long *seen)
{
    long long tp = atomic_load_explicit(&d->top, memory_order_seq_cst);
    long long b = atomic_load_explicit(&d->bottom, memory_order_seq_cst);
    *seen = b - tp;
    if (tp >= b) return NULL;
    ring *r = atomic_load_explicit(&d->r, memory_order_acquire);
    dt__task *t = atomic_load_explicit(&r->buf[tp & r->mask], memory_order_relaxed);
    if (!atomic_compare_exchange_strong_explicit(&d->top, &tp, tp + 1, memory_order_seq_cst,
                                                 memory_order_relaxed))
        return NULL;
    return t;
}

static long long dq_size(deque *d)
{
    long long n = atomic_load_explicit(&d->bottom, memory_order_relaxed) -
                  atomic_load_explicit(&d->top, memory_order_relaxed);
    return n > 0 ? n : 0;
}

/* ---- central queues ------------------------------------------------------ */

/* Highest priority first, then creation order. */
static bool heap_before(const dt__task *a, const dt__task *b)
{
    return a->priority > b->priority || (a->priority == b->priority && a->seq < b->seq);
}

void dt__heap_init(dt__heap *h)
{
    pthread_mutex_init(&h->lock, NULL);
    atomic_init(&h->n, 0);
    h->v = NULL;
    h->cap = 0;
}

void dt__heap_free(dt__heap *h)
{
    free(h->v);
    h->v = NULL;
    h->cap = 0;
    atomic_store(&h->n, 0);
}

void dt__heap_push(dt__heap *h, dt__task *t)
{
    pthread_mutex_lock(&h->lock);
    int n = atomic_load_explicit(&h->n, memory_order_relaxed);
    if (n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 64;
        h->v = realloc(h->v, sizeof(*h->v) * (size_t)h->cap);
        if (!h->v) dt__fatal("out of memory in the ready queue");
    }
    int i = n;
    while (i > 0 && heap_before(t, h->v[(i - 1) / 2])) {
        h->v[i] = h->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->v[i] = t;
    atomic_store(&h->n, n + 1);
    pthread_mutex_unlock(&h->lock);
}

dt__task *dt__heap_peek(dt__heap *h)
{
    if (!atomic_load_explicit(&h->n, memory_order_relaxed)) return NULL;
    pthread_mutex_lock(&h->lock);
    dt__task *top = atomic_load_explicit(&h->n, memory_order_relaxed) ? h->v[0] : NULL;
    pthread_mutex_unlock(&h->lock);
    return top;
}

dt__task *dt__heap_pop(dt__heap *h)
{
    if (!atomic_load_explicit(&h->n, memory_order_relaxed)) return NULL;
    pthread_mutex_lock(&h->lock);
    int n = atomic_load_explicit(&h->n, memory_order_relaxed);
    if (!n) { pthread_mutex_unlock(&h->lock); return NULL; }
    dt__task *top = h->v[0], *last = h->v[--n];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && heap_before(h->v[c + 1], h->v[c])) c++;
        if (!heap_before(h->v[c], last)) break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (n) h->v[i] = last;
    atomic_store(&h->n, n);
    pthread_mutex_unlock(&h->lock);
    return top;
}

typedef struct fifo {
    pthread_mutex_t lock;
    atomic_int n;
    dt__task *head, *tail;
} fifo;

static void fifo_push(fifo *q, dt__task *t)
{
    pthread_mutex_lock(&q->lock);
    t->qnext = NULL;
    if (q->tail) q->tail->qnext = t; else q->head = t;
    q->tail = t;
    atomic_fetch_add(&q->n, 1);
    pthread_mutex_unlock(&q->lock);
}

static dt__task *fifo_pop(fifo *q)
{
    if (!atomic_load_explicit(&q->n, memory_order_relaxed)) return NULL;
    pthread_mutex_lock(&q->lock);
    dt__task *t = q->head;
    if (t) {
        q->head = t->qnext;
        if (!q->head) q->tail = NULL;
        atomic_fetch_sub(&q->n, 1);
    }
    pthread_mutex_unlock(&q->lock);
    return t;
}

/* ---- state --------------------------------------------------------------- */

typedef struct worker {
    deque dq;
    pthread_t thread;
    int id;
    bool started;
    atomic_int parked;          /* a spare with nothing to do: 1 while asleep */
    bool guest;                 /* runs guest_main: borrows another rank's core */
    int pu, entry;              /* guest: the core it borrows (-1: unbound), its lender's entry */
    hwloc_cpuset_t cpuset;
    uint64_t rng;
} worker;

/* Threads beyond the configured workers: a thread that blocks in a nested
 * wait with nothing it may run hands its core to a spare, which runs what the
 * blocked thread had to refuse.  Spares go back to sleep when the blocked
 * threads resume. */
#define MAX_SPARES 256

static struct {
    int n;                      /* configured workers (slots 0..n-1) */
    atomic_int nslots;          /* slots in use, spares included */
    atomic_int running;         /* threads able to run tasks (not blocked in a wait) */
    pthread_mutex_t spare_lock;
    worker *w;
    dt__heap hi, lo;
    fifo inject;
    hwloc_topology_t topo;
    atomic_int stop;
    _Alignas(DT__CACHELINE) atomic_int epoch;
    _Alignas(DT__CACHELINE) atomic_int sleepers;
    /* commutative accesses being held, and tasks parked until they are free */
    pthread_mutex_t comm_lock;
    dt__vec comm_busy;              /* dt__access * (their tasks are running) */
    dt__task *comm_parked;
} S;

static DT__TLS int tls_id = -1;
static DT__TLS bool tls_collect;
static DT__TLS dt__task *tls_next;
/* tasks holding commutative bytes that are running on this thread's stack */
#define MAX_HELD 32
static DT__TLS dt__task *tls_held[MAX_HELD];
static DT__TLS int tls_nheld;
/* a guest worker (core lending): the lender's entry of the core it runs on */
static DT__TLS int tls_guest_entry = -1;
static _Atomic(const dt__guest_ops *) guest_ops;
static atomic_int guests_active;
static atomic_bool guests_closed;
static atomic_ullong guest_tasks;

int dt__worker_id(void) { return tls_id; }
int dt__num_slots(void) { return S.n + MAX_SPARES + 1; }

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13; *s ^= *s >> 7; *s ^= *s << 17;
    return *s;
}

/* ---- sleeping and waking ------------------------------------------------- */

static void notify_one(void)
{
    if (atomic_load_explicit(&S.sleepers, memory_order_seq_cst) > 0) {
        atomic_fetch_add(&S.epoch, 1);
        dt__futex_wake(&S.epoch, 1);
    }
}

void dt__sched_wake_all(void)
{
    atomic_fetch_add(&S.epoch, 1);
    if (atomic_load_explicit(&S.sleepers, memory_order_seq_cst) > 0) dt__futex_wake(&S.epoch, INT_MAX);
}

static bool work_visible(void)
{
    if (atomic_load(&S.hi.n) || atomic_load(&S.lo.n) || atomic_load(&S.inject.n)) return true;
    int n = atomic_load(&S.nslots);
    for (int i = 0; i < n; i++)
        if (dq_size(&S.w[i].dq)) return true;
    return false;
}

static void *worker_main(void *arg);

/* A thread is about to sleep in a nested wait while work is queued that it
 * may not run: wake (or make) a spare so that the cores stay busy. */
static void hand_over(void)
{
    if (atomic_load(&S.running) >= S.n || !work_visible()) return;
    pthread_mutex_lock(&S.spare_lock);
    int n = atomic_load(&S.nslots);
    for (int i = S.n; i < n; i++) {
        if (!S.w[i].guest && atomic_load(&S.w[i].parked) == 1) {
            atomic_store(&S.w[i].parked, 0);
            atomic_fetch_add(&S.running, 1);
            dt__futex_wake(&S.w[i].parked, 1);
            pthread_mutex_unlock(&S.spare_lock);
            return;
        }
    }
    if (n < S.n + MAX_SPARES) {
        worker *w = &S.w[n];
        w->id = n;
        w->rng = 0x9E3779B97F4A7C15ull * (uint64_t)(n + 1);
        atomic_fetch_add(&S.running, 1);
        if (pthread_create(&w->thread, NULL, worker_main, w) == 0) {
            w->started = true;
            atomic_store_explicit(&S.nslots, n + 1, memory_order_release);
        } else {
            atomic_fetch_sub(&S.running, 1);
        }
    }
    pthread_mutex_unlock(&S.spare_lock);
}

/* Spin a little, then yield, then sleep until something is pushed or the
 * waited-for condition may have changed (woken by wake_all).  `blocked`: the
 * thread waits inside a task and cannot run what is queued. */
static void idle_wait(unsigned *spins, bool (*done)(void *), void *arg, bool blocked)
{
    ++*spins;
    /* a message came: more may follow soon, keep answering quickly */
    if (DT__UNLIKELY(dt__hooks.poll) && dt__hooks.poll()) *spins = 0;
    if (*spins < 32) {
        for (int i = 0; i < 64; i++) dt__cpu_relax();
        return;
    }
    /* In a cluster, waiting threads poll MPI: about a millisecond between
       yields (an answer from another rank usually comes within that), then
       naps of 50 us. */
    unsigned yields = DT__UNLIKELY(dt__hooks.poll != NULL) ? 1024 : 8;
    if (*spins < 32 + yields) {
        /* DT_LEND: a yielding thread leaves its core to whoever runs there
           (a thread that waits for answers keeps yielding while they come) */
        if (*spins == 32 && DT__UNLIKELY(dt__hooks.lend != NULL) && !blocked && tls_id >= 0 && tls_id < S.n)
            dt__hooks.lend(tls_id);
        sched_yield();
        return;
    }
    long nap = DT__UNLIKELY(dt__hooks.poll != NULL) ? 50 * 1000L : 50 * 1000 * 1000L;
    int e = atomic_load_explicit(&S.epoch, memory_order_seq_cst);
    atomic_fetch_add_explicit(&S.sleepers, 1, memory_order_seq_cst);
    if (blocked) {
        atomic_fetch_sub(&S.running, 1);
        hand_over();
        if (!(done && done(arg))) dt__futex_wait(&S.epoch, e, nap);
        atomic_fetch_add(&S.running, 1);
    } else if (!work_visible() && !(done && done(arg)) && !atomic_load(&S.stop)) {
        /* DT_LEND: another rank of the node may use this core meanwhile */
        if (DT__UNLIKELY(dt__hooks.lend != NULL) && tls_id >= 0 && tls_id < S.n) dt__hooks.lend(tls_id);
        dt__futex_wait(&S.epoch, e, nap);
    }
    atomic_fetch_sub_explicit(&S.sleepers, 1, memory_order_seq_cst);
    *spins = DT__UNLIKELY(dt__hooks.poll != NULL) ? 32 + yields : 24;
}

static void idle(unsigned *spins, bool (*done)(void *), void *arg) { idle_wait(spins, done, arg, false); }

int dt__sched_sleepers(void) { return atomic_load_explicit(&S.sleepers, memory_order_relaxed); }

/* ---- queues -------------------------------------------------------------- */

void dt__sched_collect(bool on) { tls_collect = on; }

void dt__sched_ready(dt__task *t)
{
    if (t->flags & DT__TF_WAITON) {          /* dt_taskwait_on's marker: wake its waiter */
        dt__sched_wake_all();
        return;
    }
    bool in_order = false;
    if (DT__UNLIKELY(dt__hooks.ready != NULL)) {
        int how = dt__hooks.ready(t);
        if (how == DT__READY_TAKEN) return;
        /* placed here by the cluster layer: run in the order placed (not
           LIFO, which would let later tasks overtake a queued one) */
        in_order = how == DT__READY_IN_ORDER;
    }
    if (t->priority > 0) dt__heap_push(&S.hi, t);
    else if (t->priority < 0) dt__heap_push(&S.lo, t);
    else if (tls_collect && !tls_next) { tls_next = t; return; }
    else if (tls_id >= 0 && !in_order) dq_push(&S.w[tls_id].dq, t);
    else fifo_push(&S.inject, t);
    notify_one();
    /* DT_LEND: work came here, take a lent core back; or, with every
       thread here awake, borrow one that another rank lent */
    if (DT__UNLIKELY(dt__hooks.reclaim != NULL)) {
        dt__hooks.reclaim(-1);
        if (!atomic_load_explicit(&S.sleepers, memory_order_relaxed)) dt__hooks.want_core();
    }
}

/* A thief whose task, stolen from a full queue, ran shorter than a steal
 * costs skips stealing for a while (doubling, up to 256 tries): taking
 * empty tasks one at a time from a creator that runs them inline as fast
 * passes the creator's queue, task and parent lines between the CPUs for
 * each, and slowed 10^6 empty tasks 3-6x on 2 CPUs. */
static DT__TLS bool tls_stole;
static DT__TLS unsigned tls_steal_skip, tls_steal_pause;

static dt__task *get_task(int id)
{
    tls_stole = false;
    dt__task *t = dt__heap_pop(&S.hi);
    if (t) return t;
    if (id >= 0 && (t = dq_pop(&S.w[id].dq))) return t;
    if ((t = fifo_pop(&S.inject))) return t;
    int n = atomic_load_explicit(&S.nslots, memory_order_acquire);
    if (tls_steal_skip) {
        tls_steal_skip--;
        n = 0;
    }
    if (n > 1) {
        uint64_t r = id >= 0 ? next_rand(&S.w[id].rng) : (uint64_t)dt__now_ns();
        int start = (int)(r % (uint64_t)n);
        for (int i = 0; i < n; i++) {
            int v = (start + i) % n;
            long long seen;
            if (v != id && (t = dq_steal(&S.w[v].dq, &seen))) {
                /* only a queue the owner keeps full by running tasks inline
                   (dt__sched_saturated) is left alone: a chain's single
                   ready task must still be taken at once */
                tls_stole = seen >= 8 * (long long)S.n;
                return t;
            }
        }
    }
    return dt__heap_pop(&S.lo);
}

static bool descends(const dt__task *t, const dt__task *scope)
{
    for (; t; t = t->parent)
        if (t == scope) return true;
    return false;
}

static bool rows_overlap(const dt__access *a, const dt__access *b);

/* Would t (or its subtree, whose accesses lie inside t's) need bytes that a
 * commutative holder below on this thread's stack keeps until it resumes? */
static bool needs_held(const dt__task *t)
{
    for (int h = 0; h < tls_nheld; h++) {
        const dt__task *holder = tls_held[h];
        if (descends(t, holder)) continue;
        for (uint32_t i = 0; i < holder->nacc; i++) {
            const dt__access *held = &holder->acc[i];
            if (held->kind != DT__K_COMM || held->weak) continue;
            for (uint32_t j = 0; j < t->nacc; j++)
                if (t->acc[j].size && rows_overlap(&t->acc[j], held)) return true;
        }
    }
    return false;
}

/* May a thread waiting inside `scope` run t?  Descendants, yes.  Others only
 * if no weak access of theirs is still waiting (their children then depend
 * only on each other, so they cannot come to wait for `scope`, which sits
 * below them on this thread's stack), and if they have no weak commutative
 * access: their children would need bytes that another task of the same
 * commutative group may hold while it waits for a frame below this one. */
static bool may_run(const dt__task *t, const dt__task *scope)
{
    if (tls_nheld && needs_held(t)) return false;
    if (!scope || (scope->flags & DT__TF_ROOT) || descends(t, scope)) return true;
    for (uint32_t i = 0; i < t->nacc; i++)
        if (t->acc[i].weak && (t->acc[i].kind == DT__K_COMM || !atomic_load(&t->acc[i].satisfied)))
            return false;
    return true;
}

/* ---- commutative --------------------------------------------------------- */

static bool rows_overlap(const dt__access *a, const dt__access *b)
{
    for (size_t i = 0; i < a->rows; i++) {
        uintptr_t s = a->addr + i * a->stride, e = s + a->size;
        for (size_t j = 0; j < b->rows; j++) {
            uintptr_t s2 = b->addr + j * b->stride;
            if (s < s2 + b->size && s2 < e) return true;
        }
    }
    return false;
}

/* A task holding commutative bytes may create children that use them too:
 * the hold of an ancestor does not exclude its descendants. */
static bool comm_acquire(dt__task *t)
{
    pthread_mutex_lock(&S.comm_lock);
    for (uint32_t i = 0; i < t->nacc; i++) {
        if (t->acc[i].kind != DT__K_COMM || t->acc[i].weak) continue;
        for (uint32_t j = 0; j < S.comm_busy.n; j++) {
            const dt__access *held = S.comm_busy.v[j];
            if (rows_overlap(&t->acc[i], held) && !descends(t, held->task)) {
                t->qnext = S.comm_parked;
                S.comm_parked = t;
                pthread_mutex_unlock(&S.comm_lock);
                return false;
            }
        }
    }
    for (uint32_t i = 0; i < t->nacc; i++)
        if (t->acc[i].kind == DT__K_COMM && !t->acc[i].weak) dt__xvec_push(&S.comm_busy, &t->acc[i]);
    pthread_mutex_unlock(&S.comm_lock);
    return true;
}

void dt__sched_comm_release(dt__task *t)
{
    pthread_mutex_lock(&S.comm_lock);
    for (uint32_t j = 0; j < S.comm_busy.n;) {
        if (((dt__access *)S.comm_busy.v[j])->task == t)
            S.comm_busy.v[j] = S.comm_busy.v[--S.comm_busy.n];
        else
            j++;
    }
    dt__task *parked = S.comm_parked;
    S.comm_parked = NULL;
    pthread_mutex_unlock(&S.comm_lock);
    while (parked) {
        dt__task *next = parked->qnext;
        dt__sched_ready(parked);
        parked = next;
    }
}

/* ---- running ------------------------------------------------------------- */

/* Runs t, then the successors it made ready, as long as `scope` allows. */
static void run_chain(dt__task *t, const dt__task *scope)
{
    while (t) {
        bool held = false;
        if (t->flags & DT__TF_COMM) {
            if (!comm_acquire(t)) return;
            if (tls_nheld == MAX_HELD) dt__fatal("more than %d nested commutative tasks on one thread", MAX_HELD);
            tls_held[tls_nheld++] = t;
            held = true;
        }
        t->worker = tls_id;
        dt__task_run(t);
        /* its completion or the placement of its successors may be waiting in
           the outbox, and requests may have come while it ran */
        if (DT__UNLIKELY(dt__hooks.task_end != NULL)) dt__hooks.task_end();
        if (held) tls_nheld--;
        t = tls_next;
        tls_next = NULL;
        if (DT__UNLIKELY(dt__hooks.want_core != NULL)) {
            dt__hooks.want_core();
            /* a guest whose lender wants its core back stops after each task */
            if (tls_guest_entry >= 0) atomic_fetch_add_explicit(&guest_tasks, 1, memory_order_relaxed);
            if (tls_guest_entry >= 0 && guest_ops->asked_back(tls_guest_entry)) {
                if (t) {
                    fifo_push(&S.inject, t);
                    notify_one();
                }
                return;
            }
        }
        /* the successor it released waits in the queue if it may not run
           here, or if a task with a priority above 0 is ready: that one
           goes first */
        if (t && (!may_run(t, scope) || atomic_load_explicit(&S.hi.n, memory_order_relaxed))) {
            fifo_push(&S.inject, t);
            notify_one();
            return;
        }
    }
}

void dt__sched_wait(bool (*done)(void *), void *arg, dt__task *scope)
{
    unsigned spins = 0;
    bool nested = scope && !(scope->flags & DT__TF_ROOT);
    while (!done(arg)) {
        /* look through everything queued before giving the refused back */
        dt__task *t, *refused = NULL;
        while ((t = get_task(tls_id)) && !may_run(t, scope)) {
            t->qnext = refused;
            refused = t;
        }
        while (refused) {
            dt__task *next = refused->qnext;
            fifo_push(&S.inject, refused);
            refused = next;
        }
        if (t) {
            if (DT__UNLIKELY(dt__hooks.reclaim != NULL)) dt__hooks.reclaim(tls_id);
            run_chain(t, scope);
            spins = 0;
        } else {
            idle_wait(&spins, done, arg, nested);
        }
    }
}

void dt__sched_lend_idle(void)
{
    if (DT__UNLIKELY(dt__hooks.lend != NULL) && tls_id == 0 && !work_visible()) dt__hooks.lend(0);
}

bool dt__sched_saturated(void)
{
    if (tls_id < 0) return false;
    deque *d = &S.w[tls_id].dq;
    long long limit = 16 * (long long)S.n, b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    if (b - d->top_seen < limit) return false;
    /* top is the thieves' cache line: reread it only now and then (the stale
       value can only overstate the queue, which errs towards running here) */
    if ((++d->peeks & 15) == 0) d->top_seen = atomic_load_explicit(&d->top, memory_order_relaxed);
    return b - d->top_seen >= limit;
}

void dt__sched_throttle(void)
{
    if (tls_id < 0) return;
    /* the stale copy of top can only overstate the queue: reread the
       thieves' cache line only when it says the queue is long */
    deque *d = &S.w[tls_id].dq;
    long long limit = 256 + 64 * (long long)S.n, b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    if (b - d->top_seen < limit) return;
    d->top_seen = atomic_load_explicit(&d->top, memory_order_relaxed);
    if (b - d->top_seen < limit) return;
    dt__task *t = dq_pop(&S.w[tls_id].dq);
    if (!t) return;
    dt__task *scope = dt__current();
    if (!may_run(t, scope)) {
        fifo_push(&S.inject, t);
        return;
    }
    run_chain(t, scope);
}

/* A spare with nothing to do while the configured number of threads is
 * running again goes back to sleep until hand_over() needs it. */
static void park_spare(worker *w)
{
    pthread_mutex_lock(&S.spare_lock);
    if (atomic_load(&S.running) <= S.n) {
        pthread_mutex_unlock(&S.spare_lock);
        return;
    }
    atomic_fetch_sub(&S.running, 1);
    atomic_store(&w->parked, 1);
    pthread_mutex_unlock(&S.spare_lock);
    while (atomic_load(&w->parked) == 1 && !atomic_load(&S.stop)) dt__futex_wait(&w->parked, 1, 100 * 1000 * 1000L);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    tls_id = w->id;
    if (w->cpuset) hwloc_set_cpubind(S.topo, w->cpuset, HWLOC_CPUBIND_THREAD);
    char name[16];                      /* for top -H, perf and gdb */
    snprintf(name, sizeof name, "dt-worker-%d", w->id);
    pthread_setname_np(pthread_self(), name);
    unsigned spins = 0;
    while (!atomic_load_explicit(&S.stop, memory_order_relaxed)) {
        dt__task *t = get_task(w->id);
        if (t) {
            if (DT__UNLIKELY(dt__hooks.reclaim != NULL)) dt__hooks.reclaim(w->id);
            bool stolen = tls_stole;
            uint64_t t0 = stolen ? dt__now_ns() : 0;
            run_chain(t, NULL);
            if (stolen) {
                if (dt__now_ns() - t0 < 1000) {
                    tls_steal_pause = tls_steal_pause ? (tls_steal_pause < 256 ? tls_steal_pause * 2 : 256) : 16;
                    tls_steal_skip = tls_steal_pause;
                } else {
                    tls_steal_pause = 0;
                }
            }
            spins = 0;
        } else {
            if (w->id >= S.n && spins >= 32) park_spare(w);
            idle(&spins, NULL, NULL);
        }
    }
    dt__task_thread_exit();
    return NULL;
}

/* ---- guests (DT_LEND, cluster/lend.c) ------------------------------------ *
 * A guest is a thread of this rank, parked on its futex until the cluster
 * layer borrows a core another rank of the node lent; it then runs this
 * rank's ready tasks bound to that core, and after each task asks whether
 * the lender wants the core back.  Guests take spare slots (a deque, an id
 * for reduction copies) but hand_over never wakes them. */

#define MAX_GUESTS 16

static void *guest_main(void *arg)
{
    worker *w = arg;
    tls_id = w->id;
    hwloc_cpuset_t set = hwloc_bitmap_alloc();
    for (;;) {
        while (atomic_load(&w->parked) == 1 && !atomic_load(&S.stop)) dt__futex_wait(&w->parked, 1, 100 * 1000 * 1000L);
        if (atomic_load(&w->parked) == 1) break;       /* stopping */
        if (w->pu >= 0) hwloc_bitmap_only(set, (unsigned)w->pu);
        else hwloc_bitmap_copy(set, hwloc_topology_get_allowed_cpuset(S.topo));
        hwloc_set_cpubind(S.topo, set, HWLOC_CPUBIND_THREAD);
        tls_guest_entry = w->entry;
        dt__task *t;
        while (!atomic_load(&guests_closed) && !guest_ops->asked_back(w->entry) && (t = get_task(w->id)))
            run_chain(t, NULL);
        tls_guest_entry = -1;
        guest_ops->give_back(w->entry);
        atomic_store(&w->parked, 1);
        atomic_fetch_sub(&guests_active, 1);
    }
    hwloc_bitmap_free(set);
    dt__task_thread_exit();
    return NULL;
}

bool dt__sched_surplus(void)
{
    long long queued = atomic_load(&S.hi.n) + atomic_load(&S.lo.n) + atomic_load(&S.inject.n);
    int n = atomic_load_explicit(&S.nslots, memory_order_acquire);
    for (int i = 0; i < n; i++) queued += dq_size(&S.w[i].dq);
    int awake = S.n - atomic_load(&S.sleepers) + atomic_load(&guests_active);
    return queued > (awake > 0 ? awake : 0);
}

bool dt__sched_guest(int pu, int entry, const dt__guest_ops *ops)
{
    if (atomic_load(&guests_closed) || atomic_load(&S.stop)) return false;
    guest_ops = ops;
    pthread_mutex_lock(&S.spare_lock);
    int n = atomic_load(&S.nslots), guests = 0;
    for (int i = S.n; i < n; i++) {
        worker *w = &S.w[i];
        if (!w->guest) continue;
        guests++;
        if (atomic_load(&w->parked) == 1) {
            w->pu = pu;
            w->entry = entry;
            atomic_fetch_add(&guests_active, 1);
            atomic_store(&w->parked, 0);
            dt__futex_wake(&w->parked, 1);
            pthread_mutex_unlock(&S.spare_lock);
            return true;
        }
    }
    bool ok = false;
    if (guests < MAX_GUESTS && n < S.n + MAX_SPARES) {
        worker *w = &S.w[n];
        w->id = n;
        w->rng = 0x9E3779B97F4A7C15ull * (uint64_t)(n + 1);
        w->guest = true;
        w->pu = pu;
        w->entry = entry;
        atomic_store(&w->parked, 0);
        atomic_fetch_add(&guests_active, 1);
        if (pthread_create(&w->thread, NULL, guest_main, w) == 0) {
            w->started = true;
            atomic_store_explicit(&S.nslots, n + 1, memory_order_release);
            ok = true;
        } else {
            w->guest = false;
            atomic_fetch_sub(&guests_active, 1);
        }
    }
    pthread_mutex_unlock(&S.spare_lock);
    return ok;
}

void dt__sched_guests_close(void)
{
    atomic_store(&guests_closed, true);
    while (atomic_load(&guests_active)) {
        struct timespec ts = { 0, 100 * 1000 };
        nanosleep(&ts, NULL);
    }
}

unsigned long long dt__sched_guest_tasks(void) { return atomic_load(&guest_tasks); }

int dt__sched_worker_pu(int i)
{
    return S.w[i].cpuset ? hwloc_bitmap_first(S.w[i].cpuset) : -1;
}

int dt__sched_start(int n, hwloc_topology_t topo, hwloc_cpuset_t *cpusets)
{
    memset(&S, 0, sizeof S);
    S.n = n;
    S.topo = topo;
    atomic_init(&S.nslots, n);
    atomic_init(&S.running, n);
    pthread_mutex_init(&S.spare_lock, NULL);
    S.w = dt__xmalloc(sizeof(worker) * (size_t)(n + MAX_SPARES));
    memset(S.w, 0, sizeof(worker) * (size_t)(n + MAX_SPARES));
    for (int i = n; i < n + MAX_SPARES; i++) dq_init(&S.w[i].dq);
    dt__heap_init(&S.hi);
    dt__heap_init(&S.lo);
    pthread_mutex_init(&S.inject.lock, NULL);
    pthread_mutex_init(&S.comm_lock, NULL);
    dt__vec_init(&S.comm_busy);
    for (int i = 0; i < n; i++) {
        S.w[i].id = i;
        S.w[i].rng = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1);
        S.w[i].cpuset = cpusets ? cpusets[i] : NULL;
        dq_init(&S.w[i].dq);
    }
    tls_id = 0;
    if (cpusets) hwloc_set_cpubind(topo, cpusets[0], HWLOC_CPUBIND_THREAD);
    for (int i = 1; i < n; i++) {
        S.w[i].started = true;
        if (pthread_create(&S.w[i].thread, NULL, worker_main, &S.w[i])) {
            atomic_store(&S.stop, 1);
            for (int j = 1; j < i; j++) pthread_join(S.w[j].thread, NULL);
            return DT_ESYS;
        }
    }
    return DT_OK;
}

void dt__sched_stop(void)
{
    atomic_store(&S.stop, 1);
    dt__sched_wake_all();
    int n = atomic_load(&S.nslots);
    for (int i = S.n; i < n; i++) dt__futex_wake(&S.w[i].parked, 1);
    for (int i = 1; i < n; i++)
        if (S.w[i].started) pthread_join(S.w[i].thread, NULL);
    for (int i = 0; i < S.n + MAX_SPARES; i++) dq_free(&S.w[i].dq);
    free(S.w);
    dt__heap_free(&S.hi);
    dt__heap_free(&S.lo);
    dt__vec_free(&S.comm_busy);
    tls_id = -1;
    S.w = NULL;
    S.n = 0;
}
