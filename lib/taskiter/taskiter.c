/* taskiter.c - dt_taskiter on one rank: record, build the cyclic graph,
 * replay.
 *
 * Recording: the body runs once on the calling thread with
 * dt__iter_recording set; dt_task_create builds and checks each task as
 * usual (arguments copied, accesses filled) and hands it here instead of
 * registering it.  These task objects are the replayed ones: they live until
 * the taskiter ends.
 *
 * The graph: two recorded tasks j < k conflict when an access of each shares
 * bytes (rows of 2-D regions compared exactly) and not both are reads, both
 * concurrent, both commutative or both the same reduction.  A conflict gives
 * the edge j -> k inside an iteration and k -> j from one iteration to the
 * next; every task also follows its own previous instance.  This is the full
 * conflict relation between any two instances, so with it task k of
 * iteration i+2 can only hear from predecessors that finished after k's
 * instance of iteration i started: two counters per task, by the parity of
 * the iteration, are enough.
 *
 * Replay: no allocation, no region-tree work, no argument copy.  A finished
 * instance resets its task object and counts down its successors' counters;
 * one that reaches zero is made ready (through the scheduler, so the worker
 * that finished the predecessor runs it next: immediate successor).  Each
 * replayed task keeps its domain for its children; the domain is cleared
 * when the task completes.  A reduction access has one private copy per
 * task, made at recording: the task updates it (dt_reduction_ptr), and it is
 * folded into the variable atomically when the task completes, before its
 * successors hear of it; so members of one reduction need neither order nor
 * exclusion.  Weak accesses count as strong. */
#include <stdio.h>
#include <string.h>
#include "taskiter/taskiter.h"
#include "core/runtime.h"
#include "deps/deps.h"
#include "sched/sched.h"

DT__TLS struct dt__iter_rec *dt__iter_recording;

typedef struct dt__iter_rec {
    dt__task **t;
    uint32_t n, cap;
    int err;                    /* the first refused call, or DT_ENOMEM */
} dt__iter_rec;

struct iter_graph;

typedef struct dt__iter_node {
    dt__task *t;
    struct iter_graph *g;
    /* unfinished predecessors of the instance of an even / odd iteration */
    atomic_int pending[2];
    int npred0;                 /* in iteration 0: same-iteration predecessors */
    int npred;                  /* later: those, the previous iteration's, itself */
    uint32_t idx;
    long iter;                  /* the iteration it runs (or ran last) */
    uint32_t *succ;             /* [0, nsame) same iteration, [nsame, nsucc) the next */
    uint32_t nsame, nsucc;
    bool red;                   /* has reduction accesses */
} dt__iter_node;

typedef struct iter_graph {
    dt__iter_node *node;
    uint32_t n;
    uint32_t *edges;
    long niter;                 /* iterations of the current round */
    atomic_long remaining;      /* tasks whose last instance of the round has not completed */
} iter_graph;

/* Children of a replayed task add to and take from its accesses' blockers:
 * kept far from zero, the core never releases them. */
#define ITER_BLOCKERS (INT_MAX / 2)

/* ---- recording ------------------------------------------------------------ */

int dt__taskiter_record(dt__task *t)
{
    dt__iter_rec *r = dt__iter_recording;
    const char *label = t->label;
    if (t->flags & DT__TF_IF0) {
        dt__task_unref(t);
        if (!r->err) r->err = DT_ETASKITER;
        return dt__error(DT_ETASKITER, "dt_task_create", label,
                         "an undeferred task (DT_TASK_IF0) in a dt_taskiter body cannot be replayed");
    }
    if (r->n == r->cap) {
        uint32_t cap = r->cap ? r->cap * 2 : 64;
        dt__task **v = realloc(r->t, sizeof *v * cap);
        if (!v) {
            dt__task_unref(t);
            if (!r->err) r->err = DT_ENOMEM;
            return dt__error(DT_ENOMEM, "dt_task_create", label, "recording a dt_taskiter body");
        }
        r->t = v;
        r->cap = cap;
    }
    t->parent = dt__current();
    r->t[r->n++] = t;
    return DT_OK;
}

int dt__taskiter_refuse(const char *call)
{
    dt__iter_rec *r = dt__iter_recording;
    if (!r->err) r->err = DT_ETASKITER;
    return dt__error(DT_ETASKITER, call, dt__current()->label,
                     "not allowed in a dt_taskiter body (it is recorded once; its tasks have not run)");
}

static void rec_free(dt__iter_rec *r)
{
    for (uint32_t i = 0; i < r->n; i++) dt__task_unref(r->t[i]);
    free(r->t);
}

/* ---- the conflict relation ------------------------------------------------ */

static uintptr_t acc_end(const dt__access *a) { return a->addr + (a->rows - 1) * a->stride + a->size; }

/* Does [s, s+len) share a byte with a row of b?  Rows lie stride >= size
 * apart, so only the first row ending after s can. */
static bool row_hits(uintptr_t s, size_t len, const dt__access *b)
{
    if (s + len <= b->addr) return false;
    size_t j = s >= b->addr + b->size ? (s - b->addr - b->size) / b->stride + 1 : 0;
    return j < b->rows && b->addr + j * b->stride < s + len;
}

static bool overlap(const dt__access *a, const dt__access *b)
{
    if (a->rows > b->rows) { const dt__access *x = a; a = b; b = x; }
    for (size_t i = 0; i < a->rows; i++)
        if (row_hits(a->addr + i * a->stride, a->size, b)) return true;
    return false;
}

/* As the dependency engine orders them (by mode; weak counts as strong). */
static bool modes_conflict(const dt__access *a, const dt__access *b)
{
    unsigned ba = a->mode & 0xFFu, bb = b->mode & 0xFFu;
    if (ba != bb) return true;
    if (ba == DT_IN || ba == DT_CONCURRENT || ba == DT_COMMUTATIVE) return false;
    if (ba == DT_REDUCTION)
        return (a->mode & ~(unsigned)DT_WEAK) != (b->mode & ~(unsigned)DT_WEAK) || a->addr != b->addr ||
               a->size != b->size;
    return true;
}

typedef struct item { uintptr_t lo, hi; const dt__access *a; uint32_t k; } item;
typedef struct pair { uint32_t j, k; } pair;

static int cmp_item(const void *x, const void *y)
{
    const item *a = x, *b = y;
    return a->lo < b->lo ? -1 : a->lo > b->lo;
}

static int cmp_pair(const void *x, const void *y)
{
    const pair *a = x, *b = y;
    if (a->j != b->j) return a->j < b->j ? -1 : 1;
    return a->k < b->k ? -1 : a->k > b->k;
}

/* The conflicting pairs (j < k), sorted and unique; NULL when out of memory. */
static pair *conflicts(dt__task *const *t, uint32_t n, size_t *np_out)
{
    size_t ni = 0;
    for (uint32_t k = 0; k < n; k++)
        for (uint32_t i = 0; i < t[k]->nacc; i++) ni += t[k]->acc[i].size != 0;
    item *it = malloc(sizeof *it * (ni ? ni : 1));
    size_t np = 0, cap = 256;
    pair *p = malloc(sizeof *p * cap);
    if (!it || !p) goto oom;
    ni = 0;
    for (uint32_t k = 0; k < n; k++)
        for (uint32_t i = 0; i < t[k]->nacc; i++) {
            const dt__access *a = &t[k]->acc[i];
            if (a->size) it[ni++] = (item){ a->addr, acc_end(a), a, k };
        }
    qsort(it, ni, sizeof *it, cmp_item);
    /* sweep over the accesses by start: only those whose spans meet are compared */
    for (size_t x = 0; x < ni; x++)
        for (size_t y = x + 1; y < ni && it[y].lo < it[x].hi; y++) {
            if (it[x].k == it[y].k || !modes_conflict(it[x].a, it[y].a) || !overlap(it[x].a, it[y].a)) continue;
            if (np == cap) {
                pair *q = realloc(p, sizeof *p * cap * 2);
                if (!q) goto oom;
                p = q;
                cap *= 2;
            }
            uint32_t a = it[x].k, b = it[y].k;
            p[np++] = a < b ? (pair){ a, b } : (pair){ b, a };
        }
    free(it);
    qsort(p, np, sizeof *p, cmp_pair);
    size_t u = 0;
    for (size_t i = 0; i < np; i++)
        if (!u || p[i].j != p[u - 1].j || p[i].k != p[u - 1].k) p[u++] = p[i];
    *np_out = u;
    return p;
oom:
    free(it);
    free(p);
    return NULL;
}

/* ---- the graph ------------------------------------------------------------ */

static void graph_free(iter_graph *g)
{
    for (uint32_t k = 0; k < g->n; k++) {
        dt__task *t = g->node[k].t;
        for (uint32_t i = 0; i < t->nacc; i++)
            if (t->acc[i].red) {
                free(t->acc[i].red->slot[0]);
                t->acc[i].red->slot[0] = NULL;
            }
        dt__task_unref(t);
    }
    free(g->node);
    free(g->edges);
}

/* One private copy per reduction access, filled with the identity; the
 * access's redbuf (one slot) is where dt_reduction_ptr finds it. */
static bool add_reductions(iter_graph *g)
{
    for (uint32_t k = 0; k < g->n; k++) {
        dt__task *t = g->node[k].t;
        for (uint32_t i = 0; i < t->nacc; i++) {
            dt__access *a = &t->acc[i];
            if (a->kind != DT__K_RED || !a->size) continue;
            dt__redbuf *b = malloc(sizeof *b + sizeof(void *));
            void *copy = b ? malloc(a->size) : NULL;
            if (!copy) {
                free(b);
                graph_free(g);
                return false;
            }
            atomic_init(&b->refs, 1);
            b->addr = a->addr;
            b->size = a->size;
            b->op = a->mode & 0xF000u;
            b->type = a->mode & 0xF0000u;
            b->nslots = 1;
            b->slot[0] = copy;
            dt__deps_red_identity(copy, b->size, b->op, b->type);
            a->red = b;
            g->node[k].red = true;
        }
    }
    return true;
}

static void fold_reductions(dt__task *t)
{
    for (uint32_t i = 0; i < t->nacc; i++) {
        dt__redbuf *b = t->acc[i].red;
        if (!b) continue;
        dt__deps_red_fold(b);
        dt__deps_red_identity(b->slot[0], b->size, b->op, b->type);
    }
}

/* Takes over the recorded tasks (even on failure). */
static int graph_build(iter_graph *g, dt__iter_rec *r)
{
    memset(g, 0, sizeof *g);
    g->n = r->n;
    g->node = calloc(r->n ? r->n : 1, sizeof *g->node);
    size_t np = 0;
    pair *p = g->node ? conflicts(r->t, r->n, &np) : NULL;
    g->edges = p ? malloc(sizeof *g->edges * (2 * np + 1)) : NULL;
    if (!g->edges) {
        free(p);
        free(g->node);
        rec_free(r);
        return DT_ENOMEM;
    }
    for (uint32_t k = 0; k < g->n; k++) {
        dt__iter_node *x = &g->node[k];
        dt__task *t = r->t[k];
        x->t = t;
        x->g = g;
        x->idx = k;
        x->npred = 1;                       /* its own previous instance */
        t->iter = x;
        for (uint32_t i = 0; i < t->nacc; i++) {
            dt__access *a = &t->acc[i];
            a->weak = false;
            atomic_store_explicit(&a->satisfied, true, memory_order_relaxed);
            atomic_store_explicit(&a->blockers, ITER_BLOCKERS, memory_order_relaxed);
        }
    }
    free(r->t);
    for (size_t e = 0; e < np; e++) {
        g->node[p[e].j].nsame++;            /* j -> k in the same iteration */
        g->node[p[e].k].npred0++;
        g->node[p[e].k].nsucc++;            /* k -> j in the next one */
        g->node[p[e].j].npred++;
    }
    uint32_t off = 0;
    for (uint32_t k = 0; k < g->n; k++) {
        dt__iter_node *x = &g->node[k];
        x->npred += x->npred0;
        x->succ = g->edges + off;
        off += x->nsame + x->nsucc;
        x->nsucc = x->nsame;                /* fill cursors: next-iteration edges go after */
        x->nsame = 0;
    }
    for (size_t e = 0; e < np; e++) {
        dt__iter_node *j = &g->node[p[e].j], *k = &g->node[p[e].k];
        j->succ[j->nsame++] = p[e].k;
        k->succ[k->nsucc++] = p[e].j;
    }
    free(p);
    return add_reductions(g) ? DT_OK : DT_ENOMEM;
}

/* ---- replay --------------------------------------------------------------- */

static void launch(iter_graph *g, dt__iter_node *x, long i)
{
    x->iter = i;
    /* the predecessors of its instance of iteration i+2 all finish after this */
    atomic_store_explicit(&x->pending[i & 1], x->npred, memory_order_relaxed);
    x->t->seq = (uint64_t)i * g->n + x->idx;
    if (DT__UNLIKELY(!x->t->fn)) dt__iter_dist_launch(x->t, i, g->niter);   /* a transfer (dist.c) */
    else dt__sched_ready(x->t);
}

static void count_down(iter_graph *g, dt__iter_node *x, long i)
{
    if (atomic_fetch_sub_explicit(&x->pending[i & 1], 1, memory_order_acq_rel) == 1) launch(g, x, i);
}

void dt__taskiter_completed(dt__task *t)
{
    dt__iter_node *x = t->iter;
    iter_graph *g = x->g;
    /* Threads that counted a child of t may still be looking at t's counters
     * (each holds a reference): t is reused only once they have left. */
    for (unsigned spins = 0; atomic_load_explicit(&t->refs, memory_order_acquire) > 2; spins++) {
        if (spins < 64) dt__cpu_relax();
        else sched_yield();
    }
    if (t->dom) dt__deps_domain_clear(t->dom);
    if (x->red) fold_reductions(t);
    atomic_store_explicit(&t->body_done, 0, memory_order_relaxed);
    atomic_store_explicit(&t->nchildren, 0, memory_order_relaxed);
    atomic_store_explicit(&t->nfinished, 0, memory_order_relaxed);
    atomic_store_explicit(&t->completing, 0, memory_order_relaxed);
    atomic_fetch_sub_explicit(&t->refs, 1, memory_order_release);
    long i = x->iter;
    /* Read before counting down: once a successor runs, the round may end
     * and the waiter free the graph while this thread is still here. */
    bool last = i + 1 == g->niter;
    for (uint32_t e = 0; e < x->nsame; e++) count_down(g, &g->node[x->succ[e]], i);
    if (!last) {
        for (uint32_t e = x->nsame; e < x->nsucc; e++) count_down(g, &g->node[x->succ[e]], i + 1);
        count_down(g, x, i + 1);
        return;
    }
    /* Each task's instances run one after the other, so the round is over
     * when every task has completed its last one.  The waiter may free the
     * graph as soon as it sees the count reach zero. */
    if (atomic_fetch_sub_explicit(&g->remaining, 1, memory_order_acq_rel) == 1) dt__sched_wake_all();
}

static bool round_done(void *arg)
{
    return atomic_load_explicit(&((iter_graph *)arg)->remaining, memory_order_acquire) == 0;
}

static void run_round(iter_graph *g, long niter, dt__task *scope)
{
    g->niter = niter;
    atomic_store(&g->remaining, (long)g->n);
    for (uint32_t k = 0; k < g->n; k++) {
        atomic_store_explicit(&g->node[k].pending[0], g->node[k].npred0, memory_order_relaxed);
        atomic_store_explicit(&g->node[k].pending[1], g->node[k].npred, memory_order_relaxed);
    }
    for (uint32_t k = 0; k < g->n; k++)
        if (!g->node[k].npred0) launch(g, &g->node[k], 0);
    dt__sched_wait(round_done, g, scope);
}

/* Tasks the caller created before: the replay waits for those that touch
 * its regions, as dt_taskwait_on would, and lets the others run on. */
static int wait_earlier(const iter_graph *g, dt__task *p)
{
    if (dt__task_children_done(p)) return DT_OK;
    size_t n = 0;
    for (uint32_t k = 0; k < g->n; k++) n += g->node[k].t->nacc;
    dt_access_t *acc = malloc(sizeof *acc * (n ? n : 1));
    if (!acc) return DT_ENOMEM;
    n = 0;
    for (uint32_t k = 0; k < g->n; k++) {
        const dt__task *t = g->node[k].t;
        for (uint32_t i = 0; i < t->nacc; i++) {
            const dt__access *a = &t->acc[i];
            if (a->size) acc[n++] = (dt_access_t){ DT_INOUT, (void *)a->addr, a->size, a->rows, a->stride };
        }
    }
    int r = dt_taskwait_on(acc, n);
    free(acc);
    return r;
}

/* A task of a dt_main job of several ranks (only the root's taskiter is
 * distributed) or a final task (whose
 * children run undeferred anyway): the body runs every iteration, and the
 * caller waits for all its children at the end of every round. */
int dt__iter_plain_loop(dt_type_t body, const void *args, size_t args_size, long max, long every,
                        int (*cond)(void *), void *cond_arg, long *run, void *copy)
{
    int r = DT_OK;
    for (long done = 0; done < max;) {
        long n = every < max - done ? every : max - done;
        for (long i = 0; i < n; i++) {
            if (args_size) memcpy(copy, args, args_size);
            dt__types[body].fn(copy);
        }
        if ((r = dt_taskwait())) break;
        done += n;
        if (run) *run = done;
        if (cond && !cond(cond_arg)) break;
    }
    return r;
}

int dt__iter_record(const char *call, dt_type_t body, const void *args, size_t args_size, dt__task ***out,
                    uint32_t *n)
{
    dt__iter_rec rec = { 0 };
    void *copy = args_size ? malloc(args_size) : NULL;
    if (args_size && !copy) return dt__error(DT_ENOMEM, call, NULL, NULL);
    if (args_size) memcpy(copy, args, args_size);
    dt__iter_recording = &rec;
    dt__types[body].fn(copy);
    dt__iter_recording = NULL;
    free(copy);
    if (rec.err) {
        rec_free(&rec);
        return dt__error(rec.err, call, NULL, "the body made a call it may not make: nothing ran");
    }
    *out = rec.t;
    *n = rec.n;
    return DT_OK;
}

int dt__iter_replay(dt__task **t, uint32_t n, long max, long every, bool (*next)(void *, long), void *ctx)
{
    dt__iter_rec rec = { t, n, n, 0 };
    iter_graph g;
    int r = graph_build(&g, &rec);
    if (r) return r;
    for (long done = 0; done < max;) {
        long k = every < max - done ? every : max - done;
        run_round(&g, k, dt__current());
        done += k;
        if (!next(ctx, done)) break;
    }
    graph_free(&g);
    return DT_OK;
}

int dt__taskiter_run(const char *call, dt_type_t body, const void *args, size_t args_size, long max,
                     long every, int (*cond)(void *), void *cond_arg, long *run)
{
    int r = dt__check_running(call);
    if (r) return r;
    if (body < 0 || body >= atomic_load_explicit(&dt__ntypes, memory_order_acquire))
        return dt__error(DT_ETYPE, call, NULL, "type %d", body);
    if ((r = dt__type_check_args(body, args_size, call, NULL))) return r;
    if (!args && args_size) return dt__error(DT_EFAULT, call, NULL, "NULL args with size %zu", args_size);
    if (max < 0) return dt__error(DT_EINVAL, call, NULL, "%ld iterations", max);
    if (DT__UNLIKELY(dt__iter_recording)) return dt__taskiter_refuse(call);   /* nested */
    if (!max) return DT_OK;
    dt__task *p = dt__current();
    if ((dt__offloading() && p != &dt__root) || (p->flags & DT__TF_FINAL)) {
        void *copy = args_size ? malloc(args_size) : NULL;
        if (args_size && !copy) return dt__error(DT_ENOMEM, call, NULL, NULL);
        r = dt__iter_plain_loop(body, args, args_size, max, every, cond, cond_arg, run, copy);
        free(copy);
        return r;
    }
    if (dt__offloading())       /* the root of a dt_main job: every rank takes part (dist.c) */
        return dt__iter_dist_run(call, body, args, args_size, max, every, cond, cond_arg, run);
    dt__iter_rec rec = { 0 };
    if ((r = dt__iter_record(call, body, args, args_size, &rec.t, &rec.n))) return r;
    iter_graph g;
    if ((r = graph_build(&g, &rec))) return dt__error(r, call, NULL, "building the graph of %u tasks", rec.n);
    if ((r = wait_earlier(&g, p))) {
        graph_free(&g);
        return dt__error(r, call, NULL, "waiting for earlier tasks");
    }
    for (long done = 0; done < max;) {
        long n = every < max - done ? every : max - done;
        run_round(&g, n, p);
        done += n;
        if (run) *run = done;
        if (cond && !cond(cond_arg)) break;
    }
    graph_free(&g);
    return DT_OK;
}
