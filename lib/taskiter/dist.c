/* dist.c - dt_taskiter across the ranks of a dt_main job.
 *
 * Rank 0's taskiter first waits for every earlier task (leaving their
 * results where they are; dt_taskiter_while: bringing them back), then announces the body to every rank (one ITER
 * message each: type, args, counts).  Every rank runs the body once to
 * record the same tasks; a hash of the recording (types, hints, accesses,
 * order) is compared once, by collectives that nap rather than spin, and a
 * mismatch fails the taskiter on every rank.
 *
 * Partition: a task belongs to its node hint, else to the home rank
 * (dt__mem_home) of the first byte it writes, else of the first byte it
 * reads, else to rank 0.  Rank 0 computes the owners (only it knows the
 * blocks of dt_dmalloc allocations) and broadcasts them once.
 *
 * Transfers: walking the recorded order twice (the second pass starting
 * from the last writers of the first: the previous iteration's), the
 * producer of every byte a task reads is its last writer before it.  When
 * the producer's owner a is not the reader's owner b, the bytes travel
 * a -> b: one transfer per (producer access, consumer rank, same or previous
 * iteration), made of its byte pieces, merged and cut into strided regions
 * (a 2-D tile's column stays one MPI vector).  A transfer is two recorded
 * tasks without a body: on a, a SEND reading the bytes right after the
 * producer; on b, a RECV writing them right before the first consumer.
 * Each rank then keeps only its own tasks and transfers, and the
 * shared-memory graph (taskiter.c) orders them: the receive waits for the
 * readers of the old bytes on b, the consumer for the receive, the next
 * writer on a for the send.  Each region of a transfer is a channel of the
 * cluster layer (hooks.iter_chan_*: persistent MPI requests made when the
 * graph is built); the thread that launches a transfer starts them and the
 * transfer completes when they do: no worker waits, nothing is allocated,
 * and in steady state no control message is sent at all.
 *
 * Iteration 0 has no previous iteration: before it, every rank gets the
 * bytes its tasks read before they are written (or that are never written)
 * from wherever rank 0's directory says they are (rank 0 waited for its
 * earlier tasks without bringing their results back; it plans the moves
 * and broadcasts them), and transfers from the previous iteration are
 * skipped in iteration 0 (receive) and in the last iteration (send).  After the last
 * iteration the results stay where they were written: rank 0's directory
 * starts afresh (hooks.iter_reset) and records every other rank as the
 * only holder of the bytes whose last writer it owns, in a fresh version
 * (hooks.iter_held), so rank 0's next dt_taskwait fetches them and tasks
 * placed after find them where they are.
 *
 * dt_taskiter_while: each round of `every` iterations is run as above, but
 * with the data sent back to rank 0 at its end; rank 0 evaluates the
 * condition and broadcasts the decision (one broadcast per round).
 *
 * Refused (on every rank, before anything runs): accesses outside the common
 * address space (DT_ERANGE).  A graph with concurrent, commutative or
 * reduction accesses runs as the plain loop (the body every iteration, rank 0
 * offloading its tasks as usual).  Weak accesses count as strong, and a weak
 * out as inout. */
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include "base/rmap.h"
#include "core/hooks.h"
#include "core/runtime.h"
#include "mem/mem.h"
#include "taskiter/taskiter.h"

/* dist()'s answer when the graph has accesses it does not take */
#define DT__ITER_PLAIN 1

/* MPI tags (hooks.iter_xfer adds its range's base): transfers of the graph
 * use 2 * region + the parity of the producer's iteration; the phases
 * before and after use ranges of their own. */
#define STEADY_MAX (1u << 21)
#define PHASE_IN (1u << 22)
#define PHASE_OUT (PHASE_IN + (1u << 21))

/* The args of a transfer task. */
typedef struct xfer_arg {
    int peer;
    bool send;
    bool prev;                  /* the producer is in the previous iteration */
    uint32_t base;              /* its first region's global number */
    atomic_int left;            /* MPI operations of the instance in flight */
    void **chan;                /* per region (hooks.iter_chan_open) */
} xfer_arg;

/* ---- transfer tasks ------------------------------------------------------- */

static void xfer_complete(dt__task *t)
{
    dt__task_ref(t);            /* the reference a finished body hands over */
    dt__taskiter_completed(t);
}

static void xfer_done(void *arg)
{
    dt__task *t = arg;
    xfer_arg *x = t->args;
    if (atomic_fetch_sub_explicit(&x->left, 1, memory_order_acq_rel) == 1) xfer_complete(t);
}

void dt__iter_dist_launch(dt__task *t, long i, long niter)
{
    xfer_arg *x = t->args;
    if (x->prev && (x->send ? i == niter - 1 : i == 0)) {
        xfer_complete(t);
        return;
    }
    long producer_iter = x->send ? i : i - x->prev;
    atomic_store_explicit(&x->left, (int)t->nacc, memory_order_relaxed);
    for (uint32_t k = 0; k < t->nacc; k++) dt__hooks.iter_chan_start(x->chan[k], producer_iter & 1, xfer_done, t);
}

/* ---- pieces and regions --------------------------------------------------- */

typedef struct piece { uintptr_t s, e; } piece;

typedef struct pvec { piece *v; size_t n, cap; } pvec;

static bool pv_push(pvec *p, uintptr_t s, uintptr_t e)
{
    piece *v = dt__grow(p->v, p->n, &p->cap, sizeof *v);
    if (!v) return false;
    p->v = v;
    p->v[p->n++] = (piece){ s, e };
    return true;
}

static int cmp_piece(const void *a, const void *b)
{
    const piece *x = a, *y = b;
    return x->s < y->s ? -1 : x->s > y->s;
}

/* Sorted, overlapping and touching pieces merged. */
static void pv_merge(pvec *p)
{
    if (!p->n) return;
    qsort(p->v, p->n, sizeof *p->v, cmp_piece);
    size_t u = 0;
    for (size_t i = 1; i < p->n; i++) {
        if (p->v[i].s <= p->v[u].e) {
            if (p->v[i].e > p->v[u].e) p->v[u].e = p->v[i].e;
        } else {
            p->v[++u] = p->v[i];
        }
    }
    p->n = u + 1;
}

typedef struct region { uintptr_t addr; size_t size, rows, stride; } region;

/* Merged pieces as regions: runs of pieces of one size, one stride apart,
 * become one 2-D region.  Returns the count written to out (room for p->n). */
static size_t pv_regions(const pvec *p, region *out)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n;) {
        size_t size = p->v[i].e - p->v[i].s, j = i + 1, stride = size;
        if (j < p->n && p->v[j].e - p->v[j].s == size) {
            stride = p->v[j].s - p->v[i].s;
            while (j < p->n && p->v[j].e - p->v[j].s == size && p->v[j].s - p->v[j - 1].s == stride) j++;
        }
        out[n++] = (region){ p->v[i].s, size, j - i, j - i > 1 ? stride : size };
        i = j;
    }
    return n;
}

/* ---- the analysis ------------------------------------------------------- */

static dt__frag *frag_make(uintptr_t s, uintptr_t e, uint64_t a, uint64_t b)
{
    dt__frag *f = dt__xmalloc(sizeof *f);
    memset(f, 0, sizeof *f);
    f->start = s;
    f->end = e;
    f->version = a;
    f->state = b;
    return f;
}
static void frag_free(dt__frag *f) { free(f); }
static const dt__rtree_ops map_ops = { frag_make, NULL, frag_free };
static void no_visit(void *ctx, dt__frag *f) { (void)ctx; (void)f; }

static void map_free(dt__rmap *m) { dt__rmap_clear(m, &map_ops); }

/* Rectangles in the stride of the first 2-D access: a tile's rows are one
 * fragment (a per-row tree made heat's analysis cost about 150M
 * instructions for 256 tasks). */
static void map_stride(dt__rmap *m, const dt__access *a)
{
    if (!m->stride && a->rows > 1 && a->stride != a->size) dt__rmap_set_stride(m, a->stride, &map_ops);
}

/* A fragment of m being visited, as a region of bytes. */
static region frag_region(const dt__rmap *m, const dt__frag *f)
{
    uintptr_t size = f->end - f->start;
    if (!m->stride) return (region){ f->start, size, 1, size };
    return (region){ m->r0 * m->stride + f->start, size, m->r1 - m->r0, m->stride };
}

typedef struct rvec { region *v; size_t n, cap; } rvec;

static bool rv_push(rvec *v, region r)
{
    region *g = dt__grow(v->v, v->n, &v->cap, sizeof *g);
    if (!g) return false;
    v->v = g;
    v->v[v->n++] = r;
    return true;
}

/* The bytes of a region into map m (payload 1): a union of rectangles. */
static void rmap_add(dt__rmap *m, region r)
{
    dt__access a = { .addr = r.addr, .size = r.size, .rows = r.rows, .stride = r.stride };
    map_stride(m, &a);
    dt__rmap_overwrite(m, r.addr, r.size, r.rows, r.stride, &map_ops, 1, 0, no_visit, NULL);
}

typedef struct to_regions { rvec *v; const dt__rmap *m; bool oom; } to_regions;

/* Rows as wide as the stride are one plain range. */
static region normal(region r)
{
    if (r.rows > 1 && r.size == r.stride) r = (region){ r.addr, r.size * r.rows, 1, r.size * r.rows };
    return r;
}

/* Fragments come in address order within a band: one that continues the
 * last region (the next columns of the same rows, or the next bytes of a
 * plain range) extends it, so that a band of whole rows is one message. */
static void visit_region(void *ctx, dt__frag *f)
{
    to_regions *t = ctx;
    region r = normal(frag_region(t->m, f));
    if (t->v->n) {
        region *l = &t->v->v[t->v->n - 1];
        if (l->rows == r.rows && l->addr + l->size == r.addr && (l->rows == 1 || l->stride == r.stride)) {
            l->size += r.size;
            if (l->rows == 1) l->stride = l->size;
            *l = normal(*l);
            return;
        }
    }
    if (!rv_push(t->v, r)) t->oom = true;
}

/* m's fragments as regions into v (in address order within each band), m
 * emptied. */
static bool rmap_regions(dt__rmap *m, rvec *v)
{
    to_regions t = { v, m, false };
    dt__rmap_each(m, visit_region, &t);
    map_free(m);
    return !t.oom;
}

typedef struct collect { region *rect; uint64_t *who; size_t n, cap; const dt__rmap *map; } collect;

static void visit_collect(void *ctx, dt__frag *f)
{
    collect *c = ctx;
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 16;
        c->who = realloc(c->who, sizeof *c->who * c->cap);
        c->rect = realloc(c->rect, sizeof *c->rect * c->cap);
        if (!c->who || !c->rect) dt__fatal("out of memory");
    }
    c->rect[c->n] = frag_region(c->map, f);
    c->who[c->n++] = f->version | f->state << 63;
}

typedef struct transfer {
    uint32_t prod, first;       /* producer task, first consumer task */
    int src, dst;
    bool prev;
    pvec pieces;
    region *reg;
    size_t nreg;
    uint32_t base;
} transfer;

typedef struct plan {
    uint32_t n;                 /* recorded tasks */
    int *owner;
    uint32_t *acc0;             /* first global access number of each task */
    uint32_t *task_of;          /* global access -> task */
    transfer *x;
    size_t nx;
    rvec *in;                   /* per rank: what its tasks read before the graph writes it */
    rvec *out;                  /* per rank: the bytes whose last writer it owns */
} plan;

static bool reads(const dt__access *a) { return (a->mode & DT__MODE_BASE) != DT_OUT; }
static bool writes(const dt__access *a) { return (a->mode & DT__MODE_BASE) != DT_IN; }

static void plan_free(plan *p, int nranks)
{
    for (size_t i = 0; i < p->nx; i++) {
        free(p->x[i].pieces.v);
        free(p->x[i].reg);
    }
    for (int r = 0; r < nranks && p->in; r++) free(p->in[r].v);
    for (int r = 0; r < nranks && p->out; r++) free(p->out[r].v);
    free(p->in);
    free(p->out);
    free(p->x);
    free(p->owner);
    free(p->acc0);
    free(p->task_of);
}

/* Normalises the accesses, checks them, hashes the recording and finds the
 * owners.  DT_OK or a code (reported); *plain: an access the distributed
 * replay does not take (concurrent, commutative, reduction). */
static int check_and_hash(const char *call, dt__task **t, uint32_t n, int nranks, plan *p, uint64_t *hash,
                          bool *plain)
{
    uint64_t h = 1469598103934665603ull;
#define MIX(v) do { uint64_t v_ = (uint64_t)(v); for (int b_ = 0; b_ < 8; b_++) { h ^= (v_ >> (8 * b_)) & 0xFF; h *= 1099511628211ull; } } while (0)
    MIX(n);
    uint32_t nacc = 0;
    for (uint32_t k = 0; k < n; k++) {
        MIX(t[k]->type);
        MIX(t[k]->node);
        MIX(t[k]->nacc);
        p->acc0[k] = nacc;
        nacc += t[k]->nacc;
        int owner = t[k]->node >= 0 ? t[k]->node : -1, first_read = -1;
        for (uint32_t i = 0; i < t[k]->nacc; i++) {
            dt__access *a = &t[k]->acc[i];
            /* rank 0 made its tasks' weak accesses strong (their data must be
               there before they start), the others did not: alike here */
            if (a->mode & DT_WEAK) {
                a->mode &= ~(unsigned)DT_WEAK;
                if ((a->mode & DT__MODE_BASE) == DT_OUT) a->mode = (a->mode & ~0xFFu) | DT_INOUT;
            }
            a->writes = writes(a);
            MIX(a->addr);
            MIX(a->size);
            MIX(a->rows);
            MIX(a->stride);
            MIX(a->mode);
            if (!a->size) continue;
            unsigned base = a->mode & DT__MODE_BASE;
            if (base != DT_IN && base != DT_OUT && base != DT_INOUT) *plain = true;
            if (!dt__mem_contains(a->addr, (a->rows - 1) * a->stride + a->size))
                return dt__error(DT_ERANGE, call, t[k]->label,
                                 "a task of a distributed dt_taskiter accesses memory outside dt_dmalloc/dt_lmalloc");
            int home = dt__mem_home(a->addr, nranks);
            if (owner < 0 && a->writes) owner = home;
            if (first_read < 0) first_read = home;
        }
        p->owner[k] = owner >= 0 ? owner : first_read >= 0 ? first_read : 0;
    }
#undef MIX
    *hash = h;
    return DT_OK;
}

typedef struct outs { const plan *p; const dt__rmap *map; dt__rmap *outm; } outs;

/* A last writer of the iteration: the bytes its owner holds at the end;
 * for the second pass it is the previous iteration's. */
static void visit_last(void *ctx, dt__frag *f)
{
    outs *o = ctx;
    int r = o->p->owner[o->p->task_of[f->version - 1]];
    rmap_add(&o->outm[r], frag_region(o->map, f));
    f->state = 1;
}

/* The transfers, and what goes before and after.  DT_OK or DT_ENOMEM /
 * DT_ELIMIT (unreported). */
static int analyse(dt__task **t, uint32_t n, int nranks, plan *p)
{
    uint32_t nacc = n ? p->acc0[n - 1] + t[n - 1]->nacc : 0;
    for (uint32_t k = 0; k < n; k++)
        for (uint32_t i = 0; i < t[k]->nacc; i++) p->task_of[p->acc0[k] + i] = k;
    /* transfer number of each (producer access, consumer rank, previous?) */
    size_t nkeys = (size_t)nacc * (size_t)nranks * 2;
    int32_t *key = malloc(sizeof *key * (nkeys ? nkeys : 1));
    p->in = calloc((size_t)nranks, sizeof *p->in);
    p->out = calloc((size_t)nranks, sizeof *p->out);
    /* in and out gathered as unions of rectangles first */
    dt__rmap *inm = calloc((size_t)nranks, sizeof *inm), *outm = calloc((size_t)nranks, sizeof *outm);
    if (!key || !p->in || !p->out || !inm || !outm) {
        free(key);
        free(inm);
        free(outm);
        return DT_ENOMEM;
    }
    for (size_t i = 0; i < nkeys; i++) key[i] = -1;
    size_t capx = 0;
    dt__rmap map = { 0 };
    /* pass 1: the last writers of an iteration */
    for (uint32_t k = 0; k < n; k++)
        for (uint32_t i = 0; i < t[k]->nacc; i++) {
            const dt__access *a = &t[k]->acc[i];
            if (!a->size || !a->writes) continue;
            map_stride(&map, a);
            dt__rmap_overwrite(&map, a->addr, a->size, a->rows, a->stride, &map_ops, p->acc0[k] + i + 1, 0,
                               no_visit, NULL);
        }
    outs last = { p, &map, outm };
    dt__rmap_each(&map, visit_last, &last);
    /* pass 2: the producer of every byte read */
    collect c = { .map = &map };
    for (uint32_t k = 0; k < n; k++) {
        int b = p->owner[k];
        for (uint32_t i = 0; i < t[k]->nacc; i++) {
            const dt__access *a = &t[k]->acc[i];
            if (!a->size || !reads(a)) continue;
            c.n = 0;
            map_stride(&map, a);
            dt__rmap_walk(&map, a->addr, a->size, a->rows, a->stride, &map_ops, 0, 0, visit_collect, &c);
            for (size_t j = 0; j < c.n; j++) {
                uint64_t who = c.who[j] & ~(1ull << 63);
                bool prev = c.who[j] >> 63;
                region rc = c.rect[j];      /* the walk cut the fragments at the region's edges */
                if (!who || prev) rmap_add(&inm[b], rc);
                if (!who) continue;
                uint32_t pa = (uint32_t)who - 1, u = p->task_of[pa];
                int src = p->owner[u];
                if (src == b) continue;
                size_t kx = ((size_t)pa * (size_t)nranks + (size_t)b) * 2 + prev;
                if (key[kx] < 0) {
                    if (p->nx == capx) {
                        capx = capx ? 2 * capx : 64;
                        transfer *nxv = realloc(p->x, sizeof *nxv * capx);
                        if (!nxv) goto oom2;
                        p->x = nxv;
                    }
                    key[kx] = (int32_t)p->nx;
                    p->x[p->nx++] = (transfer){ .prod = u, .first = k, .src = src, .dst = b, .prev = prev };
                }
                for (size_t row = 0; row < rc.rows; row++)
                    if (!pv_push(&p->x[key[kx]].pieces, rc.addr + row * rc.stride, rc.addr + row * rc.stride + rc.size))
                        goto oom2;
            }
        }
        for (uint32_t i = 0; i < t[k]->nacc; i++) {
            const dt__access *a = &t[k]->acc[i];
            if (!a->size || !a->writes) continue;
            map_stride(&map, a);
            dt__rmap_overwrite(&map, a->addr, a->size, a->rows, a->stride, &map_ops, p->acc0[k] + i + 1, 0,
                               no_visit, NULL);
        }
    }
    free(c.rect);
    free(c.who);
    map_free(&map);
    free(key);
    bool ok = true;
    for (int r = 0; r < nranks; r++) {
        ok = rmap_regions(&inm[r], &p->in[r]) && ok;
        ok = rmap_regions(&outm[r], &p->out[r]) && ok;
    }
    free(inm);
    free(outm);
    if (!ok) return DT_ENOMEM;
    uint64_t nreg = 0;
    for (size_t i = 0; i < p->nx; i++) {
        transfer *x = &p->x[i];
        pv_merge(&x->pieces);
        x->reg = malloc(sizeof *x->reg * x->pieces.n);
        if (!x->reg) return DT_ENOMEM;
        x->nreg = pv_regions(&x->pieces, x->reg);
        x->base = (uint32_t)nreg;
        nreg += x->nreg;
        if (nreg > STEADY_MAX) return DT_ELIMIT;
    }
    for (int r = 0; r < nranks; r++)
        if (p->in[r].n >= (1u << 20) || p->out[r].n >= (1u << 20)) return DT_ELIMIT;
    return DT_OK;
oom2:
    free(c.rect);
    free(c.who);
    map_free(&map);
    for (int r = 0; r < nranks; r++) {
        map_free(&inm[r]);
        map_free(&outm[r]);
    }
    free(inm);
    free(outm);
    free(key);
    return DT_ENOMEM;
}

/* A transfer task of this rank, its channels at chan. */
static dt__task *xfer_task(const transfer *x, bool send, void **chan)
{
    dt__task *t = dt__task_try_alloc((uint32_t)x->nreg, sizeof(xfer_arg));
    if (!t) return NULL;
    xfer_arg *a = t->args;
    a->peer = send ? x->dst : x->src;
    a->send = send;
    a->prev = x->prev;
    a->base = x->base;
    atomic_init(&a->left, 0);
    a->chan = chan;
    t->label = send ? "taskiter send" : "taskiter receive";
    t->type = -1;
    t->parent = dt__current();
    for (size_t i = 0; i < x->nreg; i++) {
        dt__access *c = &t->acc[i];
        c->addr = x->reg[i].addr;
        c->size = x->reg[i].size;
        c->rows = x->reg[i].rows;
        c->stride = x->reg[i].stride;
        c->mode = send ? DT_IN : DT_OUT;
        c->kind = send ? DT__K_IN : DT__K_EXCL;
        c->writes = !send;
        chan[i] = dt__hooks.iter_chan_open(send, a->peer, c, 2 * (x->base + (uint32_t)i));
    }
    return t;
}

/* This rank's sequence: its tasks and transfers in recorded order (the
 * others' tasks are dropped).  Takes t[] over. */
static int local_sequence(dt__task **t, uint32_t n, const plan *p, int me, dt__task ***out, uint32_t *nout,
                          void ***chans, size_t *nchans)
{
    size_t cap = n + 2 * p->nx, m = 0, nc = 0, c = 0;
    for (size_t i = 0; i < p->nx; i++)
        if (p->x[i].dst == me || p->x[i].src == me) nc += p->x[i].nreg;
    void **chan = *chans = calloc(nc ? nc : 1, sizeof *chan);
    *nchans = nc;
    dt__task **s = malloc(sizeof *s * (cap ? cap : 1));
    uint32_t *recv = malloc(sizeof *recv * (p->nx ? p->nx : 1)), *send = malloc(sizeof *send * (p->nx ? p->nx : 1));
    size_t nr = 0, ns = 0;
    if (!s || !recv || !send || !chan) goto oom;
    /* transfers are made in order of their first consumer: receives come
       sorted; sends are bucketed by producer */
    for (size_t i = 0; i < p->nx; i++) {
        if (p->x[i].dst == me) recv[nr++] = (uint32_t)i;
        if (p->x[i].src == me) send[ns++] = (uint32_t)i;
    }
    size_t *cnt = calloc((size_t)n + 1, sizeof *cnt);
    uint32_t *by_prod = malloc(sizeof *by_prod * (ns ? ns : 1));
    if (!cnt || !by_prod) {
        free(cnt);
        free(by_prod);
        goto oom;
    }
    for (size_t i = 0; i < ns; i++) cnt[p->x[send[i]].prod + 1]++;
    for (uint32_t k = 0; k < n; k++) cnt[k + 1] += cnt[k];
    for (size_t i = 0; i < ns; i++) by_prod[cnt[p->x[send[i]].prod]++] = send[i];
    /* cnt[k] is now the end of producer k's bucket */
    size_t ir = 0, is = 0;
    int err = DT_OK;
    for (uint32_t k = 0; k < n; k++) {
        for (; ir < nr && p->x[recv[ir]].first == k; c += p->x[recv[ir]].nreg, ir++)
            if (!(s[m++] = xfer_task(&p->x[recv[ir]], false, chan + c))) err = DT_ENOMEM;
        if (p->owner[k] == me) s[m++] = t[k];
        else dt__task_unref(t[k]);
        t[k] = NULL;
        for (; is < cnt[k]; c += p->x[by_prod[is]].nreg, is++)
            if (!(s[m++] = xfer_task(&p->x[by_prod[is]], true, chan + c))) err = DT_ENOMEM;
    }
    free(cnt);
    free(by_prod);
    free(recv);
    free(send);
    free(t);
    if (err) {
        for (size_t i = 0; i < m; i++)
            if (s[i]) dt__task_unref(s[i]);
        free(s);
        return err;
    }
    *out = s;
    *nout = (uint32_t)m;
    return DT_OK;
oom:
    free(s);
    free(recv);
    free(send);
    for (uint32_t k = 0; k < n; k++) dt__task_unref(t[k]);
    free(t);
    return DT_ENOMEM;
}

/* After the replay (no transfer is in flight then) or a failed build. */
static void chans_close(void **chan, size_t n)
{
    for (size_t i = 0; chan && i < n; i++)
        if (chan[i]) dt__hooks.iter_chan_close(chan[i]);
    free(chan);
}

/* ---- before and after: blocking exchanges with rank 0 ---------------------- */

static atomic_int phase_left;

static void phase_done(void *arg)
{
    (void)arg;
    if (atomic_fetch_sub(&phase_left, 1) == 1) dt__futex_wake(&phase_left, INT_MAX);
}

static void phase_wait(void)
{
    phase_done(NULL);
    /* Polls again at once while something moves (a large message moves in
       fragments that each need progress on both ends), else naps briefly:
       never yields (on a crowded machine a yield can hand the core to
       another process for a whole time slice, which made a scatter of a
       few bytes take most of a second). */
    for (int left; (left = atomic_load(&phase_left));) {
        if (dt__hooks.poll && dt__hooks.poll()) continue;
        dt__futex_wait(&phase_left, left, 20 * 1000);
    }
}

/* Before the first iteration: every rank gets the bytes its tasks read
 * before the graph writes them from wherever rank 0's directory says they
 * are (rank 0 too may lack some), and its version cache learns them.  The
 * list of moves is rank 0's, broadcast.  DT_OK, or DT_ELIMIT / DT_ENOMEM on
 * every rank. */
static int scatter(const plan *p, int me, int nranks)
{
    dt__iter_move *mv = NULL;
    size_t n = 0, cap = 0;
    bool ok = true;
    for (int r = 0; me == 0 && ok && r < nranks; r++)
        for (size_t i = 0; ok && i < p->in[r].n; i++) {
            const region *g = &p->in[r].v[i];
            dt__access a = { .addr = g->addr, .size = g->size, .rows = g->rows, .stride = g->stride };
            ok = dt__hooks.iter_sources(&a, r, &mv, &n, &cap);
        }
    uint64_t count = dt__plug.bcast_u64(!ok ? UINT64_MAX : n);
    if (count == UINT64_MAX || count > PHASE_OUT - PHASE_IN) {
        free(mv);
        return count == UINT64_MAX ? DT_ENOMEM : DT_ELIMIT;
    }
    if (me != 0 && count && !(mv = malloc(sizeof *mv * count))) dt__fatal("out of memory");
    if (count) dt__hooks.iter_bcast(mv, sizeof *mv * count);
    dt__access *acc = calloc(count ? count : 1, sizeof *acc);
    if (!acc) dt__fatal("out of memory");
    /* Pages this rank has never touched: faulted in with one call per
       region before the bytes arrive (a fault per page inside the receive:
       heat's 16 MB scatter took 60-140 ms with it, 40-60 ms without). */
    for (size_t i = 0; i < count; i++)
        if (mv[i].dst == me) dt__mem_populate(mv[i].addr, (mv[i].rows - 1) * mv[i].stride + mv[i].size);
    atomic_store(&phase_left, 1);
    for (size_t i = 0; i < count; i++) {
        if (mv[i].src != me && mv[i].dst != me) continue;
        dt__access *a = &acc[i];
        a->addr = mv[i].addr;
        a->size = mv[i].size;
        a->rows = mv[i].rows;
        a->stride = mv[i].stride;
        atomic_fetch_add(&phase_left, 1);
        bool send = mv[i].src == me;
        dt__hooks.iter_xfer(send, send ? mv[i].dst : mv[i].src, a, PHASE_IN + (uint32_t)i, phase_done, NULL);
    }
    phase_wait();
    for (size_t i = 0; i < count; i++)
        if (mv[i].dst == me) dt__hooks.iter_hold(mv[i].version, &acc[i]);
    free(acc);
    free(mv);
    return DT_OK;
}

/* dt_taskiter_while's rounds: each rank sends rank 0 its `out` pieces.
 * Returns once this rank's part is done. */
static void gather(const plan *p, int me, int nranks)
{
    const rvec *v = p->out;
    uint32_t tag = PHASE_OUT;
    size_t total = 0;
    for (int r = 1; r < nranks; r++) total += v[r].n;
    dt__access *acc = calloc(total ? total : 1, sizeof *acc);
    if (!acc) dt__fatal("out of memory");
    size_t na = 0;
    atomic_store(&phase_left, 1);
    for (int r = 1; r < nranks; r++) {
        const region *reg = v[r].v;
        for (size_t i = 0; i < v[r].n; i++, tag++) {
            if (me != 0 && me != r) continue;
            dt__access *a = &acc[na++];
            a->addr = reg[i].addr;
            a->size = reg[i].size;
            a->rows = reg[i].rows;
            a->stride = reg[i].stride;
            atomic_fetch_add(&phase_left, 1);
            dt__hooks.iter_xfer(me != 0, me == 0 ? r : 0, a, tag, phase_done, NULL);
        }
    }
    phase_wait();
    free(acc);
}

/* ---- the taskiter on every rank ------------------------------------------- */

typedef struct dist_ctx {
    const plan *p;
    int me, nranks;
    long max;
    bool is_while;
    int (*cond)(void *);
    void *cond_arg;
    long *run;
} dist_ctx;

/* The end of a dt_taskiter (not _while): every byte stays where its last
 * writer ran, as an offloaded task's writes do; rank 0's directory and the
 * holders' version caches say so (a fresh version per holder), so the
 * next dt_taskwait on rank 0 brings back what it needs and tasks placed
 * after find their data in place.  No rank waits for a gather here. */
static void results_stay(const plan *p, int me, int nranks)
{
    uint64_t base = dt__plug.bcast_u64(me == 0 ? dt__hooks.iter_versions(nranks) : 0);
    for (int r = 0; r < nranks; r++) {
        if (me != 0 && me != r) continue;
        for (size_t i = 0; i < p->out[r].n; i++) {
            const region *g = &p->out[r].v[i];
            dt__access a = { .addr = g->addr, .size = g->size, .rows = g->rows, .stride = g->stride };
            dt__hooks.iter_held(r, base + (uint64_t)r, &a);
        }
    }
}

/* After a round: data back to rank 0 (the last round of a dt_taskiter:
 * left where it is); go on? */
static bool round_end(void *arg, long done)
{
    dist_ctx *c = arg;
    if (!c->is_while && done >= c->max) {
        results_stay(c->p, c->me, c->nranks);
        if (c->run) *c->run = done;
        return false;
    }
    gather(c->p, c->me, c->nranks);
    if (c->me == 0) dt__hooks.iter_reset();
    if (c->run) *c->run = done;
    bool more = true;
    if (c->is_while) {
        if (c->me == 0) more = c->cond(c->cond_arg) != 0;
        more = dt__plug.bcast_u64(more) != 0;
    }
    /* rank 0 holds every byte again: the same moves as before the first
       round, which fitted */
    if (more && done < c->max && scatter(c->p, c->me, c->nranks)) dt__fatal("out of memory");
    return more;
}


static int dist_run(const char *call, dt_type_t body, const void *args, size_t args_size, long max, long every,
                    bool is_while, int (*cond)(void *), void *cond_arg, long *run)
{
    int me = dt__rt.rank, nranks = dt__rt.nranks;
    dt__task **t = NULL;
    uint32_t n = 0;
    plan p = { 0 };
    uint64_t hash = 0;
    bool plain = false;
    int r = dt__iter_record(call, body, args, args_size, &t, &n);
    if (!r) {
        p.n = n;
        p.owner = malloc(sizeof *p.owner * (n ? n : 1));
        p.acc0 = malloc(sizeof *p.acc0 * (n ? n : 1));
        r = p.owner && p.acc0 ? check_and_hash(call, t, n, nranks, &p, &hash, &plain)
                              : dt__error(DT_ENOMEM, call, NULL, "%u recorded tasks", n);
    }
    /* every rank takes part in both collectives, whatever happened here */
    uint64_t h0 = dt__plug.bcast_u64(hash);
    bool same = dt__plug.all(!r && hash == h0);
    if (!r && !same)
        r = dt__error(DT_ETASKITER, call, NULL,
                      hash != h0 ? "rank %d recorded another graph than rank 0 (types, hints or accesses "
                                   "differ): the body must create the same tasks on every rank"
                                 : "another rank recorded another graph or refused the body (rank %d agrees "
                                   "with rank 0)", me);
    if (!r && plain) r = DT__ITER_PLAIN;       /* alike on every rank: the modes are hashed */
    if (!r) {
        dt__hooks.iter_bcast(p.owner, sizeof *p.owner * n);
        uint32_t nacc = n ? p.acc0[n - 1] + t[n - 1]->nacc : 0;
        p.task_of = malloc(sizeof *p.task_of * (nacc ? nacc : 1));
        int a = p.task_of ? analyse(t, n, nranks, &p) : DT_ENOMEM;
        /* the same on every rank (a failed allocation might not be) */
        if (!dt__plug.all(!a)) r = dt__error(a ? a : DT_ENOMEM, call, NULL, "planning the transfers of %u tasks", n);
    }
    if (r) {
        /* r == DT__ITER_PLAIN: rank 0 runs the body every iteration */
        for (uint32_t k = 0; k < n; k++) dt__task_unref(t[k]);
        free(t);
        plan_free(&p, nranks);
        return r;
    }
    dt__task **s = NULL;
    uint32_t ns = 0;
    void **chan = NULL;
    size_t nchan = 0;
    r = local_sequence(t, n, &p, me, &s, &ns, &chan, &nchan);
    if (!dt__plug.all(!r)) {
        if (!r) {
            for (uint32_t k = 0; k < ns; k++) dt__task_unref(s[k]);
            free(s);
        }
        chans_close(chan, nchan);
        plan_free(&p, nranks);
        return dt__error(r ? r : DT_ENOMEM, call, NULL, "building this rank's graph");
    }
    if ((r = scatter(&p, me, nranks))) {
        for (uint32_t k = 0; k < ns; k++) dt__task_unref(s[k]);
        free(s);
        chans_close(chan, nchan);
        plan_free(&p, nranks);
        return dt__error(r, call, NULL, "moving the data the first iteration reads");
    }
    dist_ctx c = { &p, me, nranks, max, is_while, cond, cond_arg, run };
    r = dt__iter_replay(s, ns, max, every, round_end, &c);
    /* only allocation can fail there, before any round: every rank fails */
    chans_close(chan, nchan);
    plan_free(&p, nranks);
    return r ? dt__error(r, call, NULL, "building the graph") : DT_OK;
}

/* Every rank is done before any returns: rank 0 must not announce the next
 * taskiter while another rank still replays this one (its taskiter would
 * start beside this one there, in the same memory). */
static int dist(const char *call, dt_type_t body, const void *args, size_t args_size, long max, long every,
                bool is_while, int (*cond)(void *), void *cond_arg, long *run)
{
    int r = dist_run(call, body, args, args_size, max, every, is_while, cond, cond_arg, run);
    dt__plug.all(true);
    return r;
}

int dt__iter_dist_run(const char *call, dt_type_t body, const void *args, size_t args_size, long max,
                      long every, int (*cond)(void *), void *cond_arg, long *run)
{
    /* dt_taskiter_while brings every byte back to rank 0 after each round
       (its condition runs there): it starts from there too.  dt_taskiter
       takes its data from wherever the directory says it is. */
    int r = cond ? dt_taskwait() : dt__taskwait_in_place();
    if (r) return r;
    dt__hooks.iter_announce(body, args, args_size, max, every, cond ? DT__ITER_WHILE : 0);
    r = dist(call, body, args, args_size, max, every, cond != NULL, cond, cond_arg, run);
    if (r != DT__ITER_PLAIN) return r;
    void *copy = args_size ? malloc(args_size) : NULL;
    if (args_size && !copy) return dt__error(DT_ENOMEM, call, NULL, NULL);
    r = dt__iter_plain_loop(body, args, args_size, max, every, cond, cond_arg, run, copy);
    free(copy);
    return r;
}

void dt__iter_dist_serve(void *arg)
{
    dt__iter_call *c = arg;
    dist("dt_taskiter", c->type, c->args, c->args_size, c->max, c->every, c->flags & DT__ITER_WHILE, NULL, NULL,
         NULL);
}
