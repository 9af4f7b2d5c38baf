/* deps.c - the fragmented-region dependency engine.
 *
 * Each domain (the children of one task) keeps an ordered map of
 * non-overlapping fragments.  A new access splits fragments exactly at its
 * boundaries, then on every fragment it covers either joins the group in
 * force (readers with readers, concurrent with concurrent, ...) and waits for
 * that group's barrier, or waits for the group in force and becomes the new
 * group (which then acts as the barrier of whoever joins it).  Adjacent
 * fragments that end up with the same state are merged again, so repeated
 * accesses to the same blocks keep the map small. */
#include <float.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "base/pool.h"
#include "deps/deps.h"
#include "core/hooks.h"
#include "core/runtime.h"
#include "sched/sched.h"

struct dt__prange { uintptr_t start, end, maxend; uint32_t idx; };

/* ---- groups -------------------------------------------------------------- */

/* Fragment nodes come and go with every split and merge: keep them per thread. */
#define FRAG_CACHE 4096
static DT__TLS dt__frag *frag_cache;
DT__TLS unsigned dt__frag_cache_n;

/* Every registration makes a group and drops one: keep them per thread. */
#define GROUP_CACHE 4096
static DT__TLS dt__group *group_cache;
static DT__TLS unsigned group_cache_n;

/* Group ids: each thread numbers from its own base, so that no two groups
 * ever share one (the cache gives a freed group's address to the next). */
#define GROUP_ID_BITS 40
static DT__TLS uint64_t group_ids;

static dt__group *group_new(uint8_t kind, dt__red *red)
{
    static _Atomic uint64_t threads;
    if (DT__UNLIKELY(!(group_ids & ((1ull << GROUP_ID_BITS) - 1))))
        group_ids = (atomic_fetch_add_explicit(&threads, 1, memory_order_relaxed) + 1) << GROUP_ID_BITS | 1;
    dt__group *g = group_cache;
    if (g) {
        group_cache = (dt__group *)g->red;
        group_cache_n--;
    } else {
        g = dt__xmalloc(sizeof *g);
    }
    g->id = group_ids++;
    g->refs = 1;
    g->kind = kind;
    g->red = red;
    if (red) red->refs++;
    dt__vec_init(&g->m);
    return g;
}

/* A group's members hold their tasks.  Siblings (the domain's children) are
 * counted in dom_refs, which only this domain's thread touches, and hold one
 * atomic reference between them; a gate's task is the domain's own, whose
 * dom_refs belong to its parent's domain, so gates count atomically. */
static void member_ref(const dt__group *g, dt__task *t)
{
    if (g->kind == DT__K_GATE || t->dom_refs++ == 0) dt__task_ref(t);
}

static void member_unref(const dt__group *g, dt__task *t)
{
    if (g->kind == DT__K_GATE || --t->dom_refs == 0) dt__task_unref(t);
}

static void group_add(dt__group *g, dt__access *a)
{
    member_ref(g, a->task);
    dt__xvec_push(&g->m, a);
}

static void red_unref(dt__red *r);

static void group_unref(dt__group *g)
{
    if (!g || --g->refs > 0) return;
    for (uint32_t i = 0; i < g->m.n; i++) member_unref(g, ((dt__access *)g->m.v[i])->task);
    dt__vec_free(&g->m);
    if (g->red) red_unref(g->red);
    if (group_cache_n < GROUP_CACHE) {
        g->red = (dt__red *)group_cache;   /* the cache links through this field */
        group_cache = g;
        group_cache_n++;
    } else {
        free(g);
    }
}

int dt__deps_reserve_slow(size_t pieces)
{
    /* fragments that physical memory could hold (threads may race to
       compute it: they store the same value) */
    static _Atomic size_t most_cached;
    size_t most = atomic_load_explicit(&most_cached, memory_order_relaxed);
    if (!most) {
        most = (size_t)sysconf(_SC_PHYS_PAGES) / sizeof(dt__frag) * (size_t)sysconf(_SC_PAGESIZE);
        atomic_store_explicit(&most_cached, most, memory_order_relaxed);
    }
    if (pieces > most || pieces > UINT_MAX / 2) return DT_ENOMEM;
    size_t want = 2 * pieces + 2;
    while (dt__frag_cache_n < want) {
        dt__frag *f = dt__pool_alloc(sizeof *f);
        if (!f) {
            /* give back what went beyond the usual cache */
            while (dt__frag_cache_n > FRAG_CACHE) {
                dt__frag *x = frag_cache;
                frag_cache = x->parent;
                dt__frag_cache_n--;
                dt__pool_free(x, sizeof *x);
            }
            return DT_ENOMEM;
        }
        f->parent = frag_cache;
        frag_cache = f;
        dt__frag_cache_n++;
    }
    return DT_OK;
}

void dt__deps_thread_exit(void)
{
    while (frag_cache) {
        dt__frag *f = frag_cache;
        frag_cache = f->parent;
        dt__pool_free(f, sizeof *f);
    }
    dt__frag_cache_n = 0;
    while (group_cache) {
        dt__group *g = group_cache;
        group_cache = (dt__group *)g->red;
        free(g);
    }
    group_cache_n = 0;
}

static dt__group *group_clone(const dt__group *g)
{
    dt__group *c = group_new(g->kind, g->red);
    for (uint32_t i = 0; i < g->m.n; i++) group_add(c, g->m.v[i]);
    return c;
}

static bool group_finished(const dt__group *g)
{
    for (uint32_t i = 0; i < g->m.n; i++) {
        const dt__access *a = g->m.v[i];
        if (!atomic_load_explicit(g->kind == DT__K_GATE ? &a->satisfied : &a->released,
                                  memory_order_acquire))
            return false;
    }
    return true;
}

static void red_unref(dt__red *r)
{
    if (--r->refs > 0) return;
    group_unref(r->members);
    group_unref(r->combined);
    if (r->buf && atomic_fetch_sub(&r->buf->refs, 1) == 1) free(r->buf);
    free(r);
}

/* ---- edges --------------------------------------------------------------- */

/* The predecessors of an access being registered are counted here and
 * added to its npreds once at the end instead of by an atomic per edge:
 * meanwhile npreds carries EDGE_BIAS, so that a predecessor firing at once
 * (it decrements npreds) cannot bring it to zero. */
#define EDGE_BIAS (1 << 30)
typedef struct edges {
    dt__access *x;
    int n;
    /* x's task may complete before x is satisfied (x is weak, or the
       cluster layer runs the task): each list holding x holds its task */
    bool held;
} edges;

/* x has no predecessor yet, so nobody else touches its npreds */
static void edges_begin(edges *e, dt__access *x)
{
    e->x = x;
    e->n = 0;
    e->held = x->weak || x->task->ext;
    atomic_store_explicit(&x->npreds, atomic_load_explicit(&x->npreds, memory_order_relaxed) + EDGE_BIAS,
                          memory_order_relaxed);
}

static void edges_end(edges *e)
{
    dt__access *x = e->x;
    /* before any event can see it: while npreds is biased, none can */
    x->sat_in_body = !e->held;
    if (e->n) atomic_fetch_sub_explicit(&x->npreds, EDGE_BIAS - e->n, memory_order_relaxed);
    else atomic_store_explicit(&x->npreds, atomic_load_explicit(&x->npreds, memory_order_relaxed) - EDGE_BIAS,
                               memory_order_relaxed);
}

static void succ_push(dt__succ *s, void *p)
{
    if (DT__UNLIKELY(s->n == s->cap)) {
        void **nv = dt__pool_alloc(sizeof(void *) * s->cap * 2);
        if (!nv) dt__fatal("out of memory");
        void **old = dt__succ_items(s);
        for (uint32_t i = 0; i < s->n; i++) nv[i] = old[i];
        if (s->cap != DT__SUCC_INL) dt__pool_free(s->v, sizeof(void *) * s->cap);
        s->v = nv;
        s->cap *= 2;
    }
    dt__succ_items(s)[s->n++] = p;
}

/* e->x waits for pred's release (or, through a gate, for pred's satisfaction). */
static void link_edge(dt__access *pred, edges *e, bool gate)
{
    dt__access *x = e->x;
    if (pred->task == x->task) return;
    /* A repeated edge would only cost a count; skip the common repeats.  If
     * the remembered access was freed and its memory reused by x, pred was
     * released before that, so skipping is still right. */
    const dt__access **last = gate ? &pred->last_gate_succ : &pred->last_succ;
    if (*last == x) return;
    *last = x;
    /* only this thread (the domain's) adds gate waiters: it makes the list */
    dt__vec *gw = NULL;
    if (DT__UNLIKELY(gate) && !pred->gate_waiters) {
        gw = dt__xmalloc(sizeof *gw);
        dt__vec_init(gw);
    }
    dt__spin_lock(&pred->lock);
    if (gw) pred->gate_waiters = gw;
    if (atomic_load_explicit(gate ? &pred->satisfied : &pred->released, memory_order_relaxed)) {
        dt__spin_unlock(&pred->lock);
        return;
    }
    /* a strong access's task cannot complete, nor be freed, before every
       predecessor fired: the list needs no reference on it (see task.h) */
    void *entry = x;
    if (DT__UNLIKELY(e->held)) {
        entry = (void *)((uintptr_t)x | DT__SUCC_HELD);
        dt__task_ref(x->task);
    }
    if (DT__UNLIKELY(gate)) dt__xvec_push(pred->gate_waiters, entry);
    else succ_push(&pred->succ, entry);
    /* counted, added by edges_end (now, if the bias could run out) */
    if (DT__UNLIKELY(++e->n == EDGE_BIAS / 2)) {
        atomic_fetch_add_explicit(&x->npreds, e->n, memory_order_relaxed);
        e->n = 0;
    }
    /* under the lock: once it is released, pred may complete and go */
    if (DT__UNLIKELY(dt__hooks.edge != NULL)) dt__hooks.edge(pred->task, x->task);
    dt__spin_unlock(&pred->lock);
}

/* ---- one registration ---------------------------------------------------- */

typedef struct reg {
    dt__domain *dom;
    dt__task *owner;        /* the domain's task */
    dt__access *x;
    edges e;                /* x's predecessors */
    dt__red *red;           /* x's reduction */
    dt__group *single;      /* {x}, shared by all fragments x takes over */
    dt__group *cow_from, *cow_to;
    uint64_t linked[2];     /* ids of the last groups x was linked to */
    bool multi;             /* x's task has several accesses (may meet itself) */
    bool red_member;        /* x already listed in red->members */
} reg;

static void hold(dt__group **slot, dt__group *g)
{
    if (g) g->refs++;
    group_unref(*slot);
    *slot = g;
}

static void link_group(reg *r, dt__group *g)
{
    /* by id: a group freed meanwhile may be back at the same address */
    if (!g || g->id == r->linked[0] || g->id == r->linked[1]) return;
    r->linked[1] = r->linked[0];
    r->linked[0] = g->id;
    bool gate = g->kind == DT__K_GATE;
    for (uint32_t i = 0; i < g->m.n; i++) link_edge(g->m.v[i], &r->e, gate);
}

static bool group_has_task(const dt__group *g, const dt__task *t)
{
    for (uint32_t i = 0; i < g->m.n; i++)
        if (((dt__access *)g->m.v[i])->task == t) return true;
    return false;
}

/* g plus x, copying g if other fragments share it (one copy per registration). */
static dt__group *cow_append(reg *r, dt__group *g, dt__access *x)
{
    if (g->refs == 1) {
        group_add(g, x);
        return g;
    }
    if (r->cow_from != g) {
        dt__group *c = group_clone(g);
        group_add(c, x);
        hold(&r->cow_from, g);
        group_unref(r->cow_to);
        r->cow_to = c;
    }
    r->cow_to->refs++;
    group_unref(g);
    return r->cow_to;
}

static void release_reg(reg *r)
{
    group_unref(r->single);
    group_unref(r->cow_from);
    group_unref(r->cow_to);
}

/* ---- reductions ---------------------------------------------------------- */

static size_t red_elem_size(unsigned type)
{
    return (type == DT_RED_I32 || type == DT_RED_F32) ? 4 : 8;
}

static dt__red *red_open(dt__domain *d, dt__access *x)
{
    unsigned op = x->mode & 0xF000u, type = x->mode & 0xF0000u;
    for (uint32_t i = 0; i < d->open_reds.n; i++) {
        dt__red *r = d->open_reds.v[i];
        if (r->buf->addr == x->addr && r->buf->size == x->size && r->buf->op == op &&
            r->buf->type == type)
            return r;
    }
    dt__red *r = dt__xmalloc(sizeof *r);
    int nslots = dt__num_slots();
    r->buf = dt__xmalloc(sizeof *r->buf + sizeof(void *) * (size_t)nslots);
    atomic_init(&r->buf->refs, 1);
    r->buf->addr = x->addr;
    r->buf->size = x->size;
    r->buf->op = op;
    r->buf->type = type;
    r->buf->nslots = nslots;
    memset(r->buf->slot, 0, sizeof(void *) * (size_t)nslots);
    r->refs = 1;                          /* the open list's */
    r->closed = false;
    r->members = group_new(DT__K_RED, NULL);
    r->combined = NULL;
    dt__xvec_push(&d->open_reds, r);
    return r;
}

/* The group every later access must wait for: {the combiner}. */
static dt__group *red_close(dt__domain *d, dt__task *owner, dt__red *r)
{
    if (!r->closed) {
        dt__redbuf *buf = r->buf;
        atomic_fetch_add(&buf->refs, 1);
        dt__task *c = dt__task_alloc(1, sizeof buf);
        memcpy(c->args, &buf, sizeof buf);
        c->fn = dt__deps_combine;
        c->type = -1;
        c->label = "reduction combiner";
        c->parent = owner;
        dt__access *ca = &c->acc[0];
        ca->addr = buf->addr;
        ca->size = buf->size;
        ca->rows = 1;
        ca->stride = buf->size;
        ca->mode = DT_INOUT;
        ca->kind = DT__K_EXCL;
        ca->writes = true;
        edges e;
        edges_begin(&e, ca);
        for (uint32_t i = 0; i < r->members->m.n; i++) {
            dt__access *m = r->members->m.v[i];
            c->parent_mask |= m->task->parent_mask;
            link_edge(m, &e, false);
        }
        edges_end(&e);
        for (uint64_t bits = c->parent_mask; bits; bits &= bits - 1)
            atomic_fetch_add(&owner->acc[__builtin_ctzll(bits)].blockers, 1);
        r->combined = group_new(DT__K_EXCL, NULL);
        group_add(r->combined, ca);
        group_unref(r->members);
        r->members = NULL;
        r->closed = true;
        for (uint32_t i = 0; i < d->open_reds.n; i++)
            if (d->open_reds.v[i] == r) { d->open_reds.v[i] = d->open_reds.v[--d->open_reds.n]; break; }
        dt__task_child_created(owner);
        dt__task_submit(c);
        red_unref(r);                     /* the open list's reference */
    }
    r->combined->refs++;
    return r->combined;
}

void dt__deps_close_reductions(dt__task *t)
{
    dt__domain *d = t->dom;
    if (!d) return;
    while (d->open_reds.n) {
        dt__red *r = d->open_reds.v[d->open_reds.n - 1];
        r->refs++;
        group_unref(red_close(d, t, r));
        red_unref(r);
    }
}

#define COMBINE(T, OPEXPR)                                                      \
    do {                                                                        \
        T *dst = (T *)buf->addr;                                                \
        for (int s = 0; s < buf->nslots; s++) {                                 \
            const T *src = buf->slot[s];                                        \
            if (!src) continue;                                                 \
            for (size_t i = 0; i < n; i++) {                                    \
                T old; __atomic_load(&dst[i], &old, __ATOMIC_RELAXED);     \
                T a = old, b = src[i], val;                                     \
                do { a = old; val = (OPEXPR); }                                 \
                while (!cas_##T(&dst[i], &old, val));                           \
            }                                                                   \
        }                                                                       \
    } while (0)

/* Several combiners (a reduction nested in another one) may update the same
 * memory at once: every update is atomic, so their order does not matter. */
static bool cas_int32_t(int32_t *p, int32_t *old, int32_t v)
{ return __atomic_compare_exchange_n(p, old, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED); }
static bool cas_int64_t(int64_t *p, int64_t *old, int64_t v)
{ return __atomic_compare_exchange_n(p, old, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED); }
static bool cas_float(float *p, float *old, float v)
{
    uint32_t o, nv;
    memcpy(&o, old, 4); memcpy(&nv, &v, 4);
    bool ok = __atomic_compare_exchange_n((uint32_t *)p, &o, nv, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    memcpy(old, &o, 4);
    return ok;
}
static bool cas_double(double *p, double *old, double v)
{
    uint64_t o, nv;
    memcpy(&o, old, 8); memcpy(&nv, &v, 8);
    bool ok = __atomic_compare_exchange_n((uint64_t *)p, &o, nv, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    memcpy(old, &o, 8);
    return ok;
}

/* integer sums and products wrap (computed unsigned: no undefined overflow) */
#define WRAP(T, E) (T)(sizeof(T) == 4 ? (T)(uint32_t)(E) : (T)(uint64_t)(E))
#define RED_OP(T)                                                               \
    switch (buf->op) {                                                          \
    case DT_RED_SUM: COMBINE(T, (T)(is_int ? WRAP(T, (uint64_t)a + (uint64_t)b) : a + b)); break; \
    case DT_RED_PROD: COMBINE(T, (T)(is_int ? WRAP(T, (uint64_t)a * (uint64_t)b) : a * b)); break; \
    case DT_RED_MIN: COMBINE(T, b < a ? b : a); break;                          \
    default: COMBINE(T, b > a ? b : a); break;                                  \
    }

void dt__deps_red_identity(void *p, size_t size, unsigned op, unsigned type)
{
    size_t n = size / red_elem_size(type);
#define FILL(T, V) do { T *q = p; for (size_t i = 0; i < n; i++) q[i] = (V); } while (0)
    switch (type) {
    case DT_RED_I32: FILL(int32_t, op == DT_RED_SUM ? 0 : op == DT_RED_PROD ? 1 : op == DT_RED_MIN ? INT32_MAX : INT32_MIN); break;
    case DT_RED_I64: FILL(int64_t, op == DT_RED_SUM ? 0 : op == DT_RED_PROD ? 1 : op == DT_RED_MIN ? INT64_MAX : INT64_MIN); break;
    case DT_RED_F32: FILL(float, op == DT_RED_SUM ? 0.0f : op == DT_RED_PROD ? 1.0f : op == DT_RED_MIN ? FLT_MAX : -FLT_MAX); break;
    default: FILL(double, op == DT_RED_SUM ? 0.0 : op == DT_RED_PROD ? 1.0 : op == DT_RED_MIN ? DBL_MAX : -DBL_MAX); break;
    }
#undef FILL
}

void dt__deps_red_fold(const dt__redbuf *buf)
{
    size_t n = buf->size / red_elem_size(buf->type);
    bool is_int = buf->type == DT_RED_I32 || buf->type == DT_RED_I64;
    switch (buf->type) {
    case DT_RED_I32: RED_OP(int32_t); break;
    case DT_RED_I64: RED_OP(int64_t); break;
    case DT_RED_F32: RED_OP(float); break;
    default: RED_OP(double); break;
    }
}

void dt__deps_combine(void *args)
{
    dt__redbuf *buf;
    memcpy(&buf, args, sizeof buf);
    dt__deps_red_fold(buf);
    for (int s = 0; s < buf->nslots; s++) free(buf->slot[s]);
    memset(buf->slot, 0, sizeof(void *) * (size_t)buf->nslots);
    if (atomic_fetch_sub(&buf->refs, 1) == 1) free(buf);
}

/* ---- walking the map ----------------------------------------------------- */


static void frag_free(dt__frag *f)
{
    if (dt__frag_cache_n < FRAG_CACHE) {
        f->parent = frag_cache;
        frag_cache = f;
        dt__frag_cache_n++;
    } else {
        dt__pool_free(f, sizeof *f);
    }
}

static dt__frag *frag_new(uintptr_t s, uintptr_t e, dt__group *cur, dt__group *barrier)
{
    dt__frag *f = frag_cache;
    if (f) {
        frag_cache = f->parent;
        dt__frag_cache_n--;
    } else if (!(f = dt__pool_alloc(sizeof *f))) {
        dt__fatal("out of memory");
    }
    f->start = s;
    f->end = e;
    f->cur = cur;
    f->barrier = barrier;
    if (cur) cur->refs++;
    if (barrier) barrier->refs++;
    return f;
}

static dt__frag *frag_make(uintptr_t s, uintptr_t e, uint64_t cur, uint64_t barrier)
{
    return frag_new(s, e, (dt__group *)(uintptr_t)cur, (dt__group *)(uintptr_t)barrier);
}

static void frag_release(dt__frag *f)
{
    group_unref(f->cur);
    group_unref(f->barrier);
}

static const dt__rtree_ops frag_ops = { frag_make, frag_release, frag_free };

typedef void (*visit_fn)(void *ctx, dt__frag *f);

/* Visits the fragments of exactly a's bytes.  The first 2-D region gives
 * the map its stride (see base/rmap.h): same-stride regions are then
 * rectangles, one fragment each while nothing cuts them. */
static void walk(dt__domain *d, const dt__access *a, visit_fn visit, void *ctx)
{
    if (DT__UNLIKELY(!d->map.stride) && a->rows > 1 && a->stride != a->size)
        dt__rmap_set_stride(&d->map, a->stride, &frag_ops);
    dt__rmap_walk(&d->map, a->addr, a->size, a->rows, a->stride, &frag_ops, 0, 0, visit, ctx);
}

static void visit_access(void *ctx, dt__frag *f)
{
    reg *r = ctx;
    dt__access *x = r->x;
    dt__group *g = f->cur;
    uint8_t k = x->kind;
    if (r->red && !r->red_member) {
        group_add(r->red->members, x);
        r->red_member = true;
    }
    if (g && g->kind == k && k != DT__K_EXCL && (k != DT__K_RED || g->red == r->red)) {
        link_group(r, f->barrier);
        f->cur = cow_append(r, g, x);
        return;
    }
    dt__group *nb;
    if (g && g->kind == DT__K_RED) {
        nb = red_close(r->dom, r->owner, g->red);
        link_group(r, nb);
    } else if (g) {
        link_group(r, g);
        if (r->multi && group_has_task(g, x->task)) link_group(r, f->barrier);
        nb = g;
        g->refs++;
    } else {
        link_group(r, f->barrier);
        nb = f->barrier;
        if (nb) nb->refs++;
    }
    /* Nobody joins a writer, so its fragments need no barrier, and dropping
     * it lets the fragments it covers merge back into one.  A task with
     * several accesses keeps it: its other accesses may need it. */
    if (k == DT__K_EXCL && !r->multi && nb) {
        group_unref(nb);
        nb = NULL;
    }
    group_unref(f->barrier);
    f->barrier = nb;
    group_unref(g);
    if (!r->single) {
        r->single = group_new(k, r->red);
        group_add(r->single, x);
    }
    r->single->refs++;
    f->cur = r->single;
}

/* A writer of a task whose accesses do not overlap each other takes its
 * bytes over whole: whatever held them, the fragments end as {x} with no
 * barrier (what visit_access would leave, then merge), so they are dropped
 * after linking instead of being split and merged. */
static void visit_overwritten(void *ctx, dt__frag *f)
{
    reg *r = ctx;
    dt__group *g = f->cur;
    if (g && g->kind == DT__K_RED) {
        dt__group *nb = red_close(r->dom, r->owner, g->red);
        link_group(r, nb);
        group_unref(nb);
    } else {
        link_group(r, g ? g : f->barrier);
    }
}

static void overwrite(dt__domain *d, reg *r)
{
    const dt__access *x = r->x;
    if (DT__UNLIKELY(!d->map.stride) && x->rows > 1 && x->stride != x->size)
        dt__rmap_set_stride(&d->map, x->stride, &frag_ops);
    r->single = group_new(DT__K_EXCL, NULL);
    group_add(r->single, r->x);
    if (!d->map.stride) {       /* see register_walk */
        dt__rtree_overwrite(&d->map.lin, x->addr, x->addr + x->size * x->rows, &frag_ops,
                            (uint64_t)(uintptr_t)r->single, 0, visit_overwritten, r);
        return;
    }
    dt__rmap_overwrite(&d->map, x->addr, x->size, x->rows, x->stride, &frag_ops,
                       (uint64_t)(uintptr_t)r->single, 0, visit_overwritten, r);
}

/* walk() for a registration.  A map without a stride is one tree of plain
 * ranges (base/rmap.h), and x, which would have given it one otherwise, is
 * a plain range or rows back to back: walked on the tree directly, the walk
 * is inlined here with this file's ops and visitor instead of calling them
 * through pointers. */
static void register_walk(dt__domain *d, reg *r)
{
    const dt__access *x = r->x;
    if (DT__UNLIKELY(!d->map.stride) && x->rows > 1 && x->stride != x->size)
        dt__rmap_set_stride(&d->map, x->stride, &frag_ops);
    if (!d->map.stride) {
        dt__rtree_walk(&d->map.lin, x->addr, x->addr + x->size * x->rows, &frag_ops, 0, 0, visit_access, r);
        return;
    }
    dt__rmap_walk(&d->map, x->addr, x->size, x->rows, x->stride, &frag_ops, 0, 0, visit_access, r);
}

/* ---- sweeping finished fragments ----------------------------------------- */

static bool frag_finished(const dt__frag *f)
{
    if (f->cur) {
        if (!group_finished(f->cur)) return false;
        if (f->cur->kind == DT__K_RED)
            return f->cur->red->closed && group_finished(f->cur->red->combined);
        return true;
    }
    return !f->barrier || group_finished(f->barrier);
}

/* A finished fragment says nothing a hole would not: drop it, so that a long
 * run of tasks without a taskwait keeps the map (and the tasks it holds) small. */
static void sweep(dt__domain *d)
{
    dt__rmap_filter(&d->map, frag_finished, &frag_ops);
    size_t n = dt__rmap_count(&d->map);
    d->sweep_at = n * 2 > 4096 ? n * 2 : 4096;
}

/* ---- the parent's ranges ------------------------------------------------- */

static int cmp_prange(const void *a, const void *b)
{
    const struct dt__prange *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

static struct dt__prange *build_ranges(const dt__task *p, bool writable_only, size_t *n_out)
{
    size_t n = 0;
    for (uint32_t i = 0; i < p->nacc; i++)
        if ((!writable_only || p->acc[i].writes) && p->acc[i].size) n += p->acc[i].rows;
    struct dt__prange *pr = dt__xmalloc(sizeof *pr * (n ? n : 1));
    n = 0;
    for (uint32_t i = 0; i < p->nacc; i++) {
        const dt__access *a = &p->acc[i];
        if ((writable_only && !a->writes) || !a->size) continue;
        for (size_t row = 0; row < a->rows; row++) {
            pr[n].start = a->addr + row * a->stride;
            pr[n].end = pr[n].start + a->size;
            pr[n].idx = i;
            n++;
        }
    }
    qsort(pr, n, sizeof *pr, cmp_prange);
    uintptr_t maxend = 0;
    for (size_t i = 0; i < n; i++) {
        if (pr[i].end > maxend) maxend = pr[i].end;
        pr[i].maxend = maxend;
    }
    *n_out = n;
    return pr;
}

/* Is [s,e) covered by the union of pr?  Marks every parent access it touches. */
static bool covered(const struct dt__prange *pr, size_t n, uintptr_t s, uintptr_t e, uint64_t *mask)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {                   /* first i with maxend > s */
        size_t mid = (lo + hi) / 2;
        if (pr[mid].maxend > s) hi = mid; else lo = mid + 1;
    }
    uintptr_t reach = s;
    bool gap = false;
    for (size_t i = lo; i < n && pr[i].start < e; i++) {
        if (pr[i].end <= s) continue;
        if (pr[i].start > reach) gap = true;
        if (pr[i].end > reach) reach = pr[i].end;
        if (mask && pr[i].idx < 63) *mask |= 1ull << pr[i].idx;
    }
    return !gap && reach >= e;
}

static dt__domain *domain_of(dt__task *p)
{
    if (!p->dom) {
        p->dom = dt__xmalloc(sizeof *p->dom);
        memset(p->dom, 0, sizeof *p->dom);
        dt__vec_init(&p->dom->open_reds);
        p->dom->sweep_at = 4096;
    }
    return p->dom;
}

int dt__deps_check_inside(dt__task *p, dt__task *c, bool check_writes)
{
    if (p->flags & DT__TF_ROOT) return DT_OK;
    dt__domain *d = domain_of(p);
    if (!d->pr_built) {
        d->pr = build_ranges(p, false, &d->npr);
        d->prw = build_ranges(p, true, &d->nprw);
        d->pr_built = true;
    }
    uint64_t mask = 0;
    for (uint32_t i = 0; i < c->nacc; i++) {
        const dt__access *a = &c->acc[i];
        if (!a->size) continue;
        bool w = check_writes && a->writes;
        for (size_t row = 0; row < a->rows; row++) {
            uintptr_t s = a->addr + row * a->stride;
            if (!covered(d->pr, d->npr, s, s + a->size, &mask)) return DT_EINVAL;
            if (w && !covered(d->prw, d->nprw, s, s + a->size, NULL)) return DT_EINVAL;
        }
    }
    c->parent_mask = mask;
    return DT_OK;
}

/* ---- gates: the parent's weak accesses seen from its children ------------ */

typedef struct gate_ctx { dt__access *a; dt__group *single, *cow_from, *cow_to; } gate_ctx;

static void visit_gate(void *ctx, dt__frag *f)
{
    gate_ctx *g = ctx;
    if (!f->barrier) {
        if (!g->single) {
            g->single = group_new(DT__K_GATE, NULL);
            group_add(g->single, g->a);
        }
        g->single->refs++;
        f->barrier = g->single;
        return;
    }
    /* overlapping weak accesses of the parent: wait for all of them */
    reg r = { .cow_from = g->cow_from, .cow_to = g->cow_to };
    f->barrier = cow_append(&r, f->barrier, g->a);
    g->cow_from = r.cow_from;
    g->cow_to = r.cow_to;
}

static void populate(dt__domain *d, dt__task *p)
{
    d->populated = true;
    for (uint32_t i = 0; i < p->nacc; i++) {
        dt__access *a = &p->acc[i];
        if (!a->weak || !a->size || atomic_load(&a->satisfied)) continue;
        gate_ctx g = { .a = a };
        walk(d, a, visit_gate, &g);
        group_unref(g.single);
        group_unref(g.cow_from);
        group_unref(g.cow_to);
    }
}

static intptr_t floor_div(intptr_t a, intptr_t b)
{
    intptr_t q = a / b;
    return (a % b && a < 0) ? q - 1 : q;
}

/* Do the rows [a0 + i*S, a0 + i*S + wa), i < na, meet the rows
 * [b0 + j*S, b0 + j*S + wb), j < nb?  They do iff some k = i - j in
 * [-(nb - 1), na - 1] has b0 - a0 - wa < k*S < b0 - a0 + wb. */
static bool rows_meet(uintptr_t a0, size_t wa, size_t na, uintptr_t b0, size_t wb, size_t nb, size_t S)
{
    /* one row each: any S > 0 gives the same answer (a plain range from
       another rank may come with stride 0) */
    intptr_t D = (intptr_t)(b0 - a0), s = S ? (intptr_t)S : 1;
    intptr_t k = floor_div(D - (intptr_t)wa, s) + 1;
    if (k < 1 - (intptr_t)nb) k = 1 - (intptr_t)nb;
    return k <= (intptr_t)na - 1 && k * s < D + (intptr_t)wb;
}

/* Exactly: do a and b share a byte?  O(1) when they have one stride (or
 * one is a plain range), else one test per row of the shorter. */
static bool acc_overlap(const dt__access *a, const dt__access *b)
{
    if (a->rows == 1 && b->rows == 1)   /* two plain ranges: no division */
        return a->addr < b->addr + b->size && b->addr < a->addr + a->size;
    if (a->rows > b->rows) { const dt__access *t = a; a = b; b = t; }
    if (a->rows == 1 || a->stride == b->stride)
        return rows_meet(a->addr, a->size, a->rows, b->addr, b->size, b->rows, b->stride);
    for (size_t i = 0; i < a->rows; i++)
        if (rows_meet(a->addr + i * a->stride, a->size, 1, b->addr, b->size, b->rows, b->stride)) return true;
    return false;
}

/* Can two accesses of t share bytes?  Checked exactly for ordinary tasks,
 * assumed for ones with very many accesses or long rows of mixed strides. */
static bool self_overlap(const dt__task *t)
{
    if (t->nacc > 16) return true;
    for (uint32_t i = 0; i < t->nacc; i++)
        for (uint32_t j = i + 1; j < t->nacc; j++) {
            const dt__access *a = &t->acc[i], *b = &t->acc[j];
            if (!a->size || !b->size) continue;
            if (a->stride != b->stride && a->rows > 256 && b->rows > 256) return true;
            if (acc_overlap(a, b)) return true;
        }
    return false;
}

void dt__deps_register(dt__task *c)
{
    dt__task *p = c->parent;
    dt__domain *d = domain_of(p);
    if (!d->populated && !(p->flags & DT__TF_ROOT)) populate(d, p);
    bool multi = c->nacc > 1 && self_overlap(c);
    for (uint32_t i = 0; i < c->nacc; i++) {
        dt__access *x = &c->acc[i];
        if (!x->size) continue;
        reg r = { .dom = d, .owner = p, .x = x, .multi = multi };
        edges_begin(&r.e, x);
        if (x->kind == DT__K_RED) {
            r.red = red_open(d, x);
            x->red = r.red->buf;
            atomic_fetch_add(&x->red->refs, 1);
        }
        if (x->kind == DT__K_EXCL && !multi) overwrite(d, &r);
        else register_walk(d, &r);
        edges_end(&r.e);
        release_reg(&r);
    }
    if (dt__rmap_count(&d->map) > d->sweep_at) sweep(d);
}

void dt__deps_domain_clear(dt__domain *d)
{
    dt__rmap_clear(&d->map, &frag_ops);
    d->populated = false;
    d->sweep_at = 4096;
}

void dt__deps_domain_free(dt__domain *d)
{
    if (!d) return;
    dt__deps_domain_clear(d);
    for (uint32_t i = 0; i < d->open_reds.n; i++) red_unref(d->open_reds.v[i]);
    dt__vec_free(&d->open_reds);
    free(d->pr);
    free(d->prw);
    free(d);
}
