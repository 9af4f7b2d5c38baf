/* directory.c - rank 0's data directory: for every byte range the latest
 * write version and the ranks holding it; and what a task placed on a rank
 * must fetch there, and from where.  Also the tree walks that the version
 * cache shares. */
#include <string.h>
#include "cluster/internal.h"

static dt__frag *node_new(uintptr_t s, uintptr_t e, uint64_t version, uint64_t state)
{
    dt__frag *f = dt__xmalloc(sizeof *f);
    f->start = s;
    f->end = e;
    f->version = version;
    f->state = state;
    return f;
}

static void node_free(dt__frag *f) { free(f); }

static const dt__rtree_ops node_ops = { node_new, NULL, node_free };

void dt__cl_walk(dt__rtree *t, uintptr_t s, uintptr_t e, uint64_t hole_version, uint64_t hole_state,
                 piece_fn fn, void *ctx)
{
    dt__rtree_walk(t, s, e, &node_ops, hole_version, hole_state, fn, ctx);
}

void dt__cl_tree_free(dt__rtree *t)
{ dt__rtree_clear(t, &node_ops); }

/* Tags of data messages (msg.h), under dt__cl.lock: a receiver's own, or a sender's. */
uint32_t dt__cl_pull_tag(void)
{ return DT_MSG_TAG_PULL0 + (dt__cl.next_tag++ % (1u << 20)); }

uint32_t dt__cl_push_tag(void)
{ return DT_MSG_TAG_PUSH0 + (dt__cl.next_push_tag++ % (1u << 20)); }

/* Where target gets a piece from: -1 when it holds it, else the rank that
 * wrote it (which holds it for sure). */
static int pick_source(uint64_t version, uint64_t valid, int target)
{
    if (valid & (1ull << target)) return -1;
    return DT__VERSION_RANK(version);
}

static void plan_piece(void *ctx, dt__frag *f)
{
    plan_ctx *p = ctx;
    int src = pick_source(f->version, f->state, p->target);
    if (src < 0 && p->only_missing) return;
    if (!p->reads) return;
    if (src < 0 && p->target != p->self) p->skipped++;
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 8;
        p->items = realloc(p->items, sizeof *p->items * p->cap);
        if (!p->items) dt__fatal("out of memory");
    }
    p->items[p->n++] = (dt__wire_region){ f->start, f->end - f->start, 1, f->end - f->start, f->version, 0, src };
    f->state |= 1ull << p->target;      /* it will hold it (the cache knows when) */
}

/* Rows of a 2-D region that each came out as one piece with the same
 * version and source travel as one strided message. */
void dt__cl_dir_plan(plan_ctx *p, uintptr_t addr, size_t size, size_t rows, size_t stride)
{
    dt__wire_region r = { addr, size, rows, stride, 0, 0, 0 };
    size_t first = p->n;
    DT__FOR_ROWS(&r, s, e) dt__cl_walk(p->dir, s, e, p->hole_version, 1ull << p->self, plan_piece, p);
    size_t got = p->n - first;
    /* (with only_missing a row may give no piece: then rows of pieces are
       not the region's rows; coalesce_rows joins them afterwards) */
    if (!p->reads || p->only_missing || got != rows || rows < 2) return;
    for (size_t i = first + 1; i < p->n; i++)
        if (p->items[i].version != p->items[first].version || p->items[i].source != p->items[first].source)
            return;
    p->items[first] = (dt__wire_region){ addr, size, rows, stride, p->items[first].version, 0, p->items[first].source };
    p->n = first + 1;
}

void dt__cl_dir_plan_all(plan_ctx *p)
{
    for (dt__frag *f = dt__rtree_first(p->dir); f; f = dt__rtree_next(f)) plan_piece(p, f);
}

typedef struct record_ctx { uint64_t version, valid; } record_ctx;

static void record_piece(void *ctx, dt__frag *f)
{
    record_ctx *c = ctx;
    f->version = c->version;
    f->state = c->valid;
}

void dt__cl_dir_record(dt__rtree *dir, uint64_t hole_version, int self, uintptr_t addr, size_t size, size_t rows,
                       size_t stride, uint64_t version, uint64_t valid)
{
    record_ctx c = { version, valid };
    dt__wire_region r = { addr, size, rows, stride, 0, 0, 0 };
    DT__FOR_ROWS(&r, s, e) dt__cl_walk(dir, s, e, hole_version, 1ull << self, record_piece, &c);
}

/* Pieces written by one task's 2-D access share a version: sorted by
 * version and address, runs of equal rows at a constant stride become one
 * strided region again (one message instead of one per row). */
static int cmp_item(const void *a, const void *b)
{
    const dt__wire_region *x = a, *y = b;
    if (x->version != y->version) return x->version < y->version ? -1 : 1;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

size_t dt__cl_coalesce_rows(dt__wire_region *it, size_t n)
{
    if (n < 2) return n;
    qsort(it, n, sizeof *it, cmp_item);
    size_t out = 0;
    for (size_t i = 0; i < n;) {
        dt__wire_region r = it[i++];
        if (r.rows == 1 && i < n && it[i].rows == 1 && it[i].version == r.version &&
            it[i].source == r.source && it[i].size == r.size && it[i].addr >= r.addr + r.size) {
            uint64_t stride = it[i].addr - r.addr;
            while (i < n && it[i].rows == 1 && it[i].version == r.version && it[i].source == r.source &&
                   it[i].size == r.size && it[i].addr == r.addr + r.rows * stride) {
                r.rows++;
                i++;
            }
            r.stride = stride;
        }
        it[out++] = r;
    }
    return out;
}

static void union_piece(void *ctx, dt__frag *f)
{
    if (f->state) *(bool *)ctx = true;
    f->state = 1;
}

static uint64_t region_end(const dt__wire_region *r) { return r->addr + (r->rows - 1) * r->stride + r->size; }

/* The bytes t reads (or writes), each once: MPI must not receive into
 * overlapping buffers at the same time, so accesses that overlap each other
 * are cut into disjoint pieces (rows of equal size at one stride still
 * travel as one message). */
dt__wire_region *dt__cl_transfer_list(const dt__task *t, bool writes, size_t *n)
{
    dt__wire_region *v = dt__xmalloc(sizeof *v * (t->nacc ? t->nacc : 1));
    size_t k = 0;
    for (uint32_t i = 0; i < t->nacc; i++) {
        const dt__access *a = &t->acc[i];
        if (!a->size || (writes ? !a->writes : (a->mode & 0xFF) == DT_OUT)) continue;
        v[k++] = (dt__wire_region){ a->addr, a->size, a->rows, a->stride, 0, 0, 0 };
    }
    bool spans_meet = false, overlap = false;
    for (size_t i = 0; i < k && !spans_meet; i++)
        for (size_t j = 0; j < i; j++)
            if (v[i].addr < region_end(&v[j]) && v[j].addr < region_end(&v[i])) spans_meet = true;
    if (spans_meet) {
        dt__rtree u = { NULL, 0 };
        for (size_t i = 0; i < k; i++)
            DT__FOR_ROWS(&v[i], s, e) dt__cl_walk(&u, s, e, 0, 0, union_piece, &overlap);
        if (overlap) {
            free(v);
            v = dt__xmalloc(sizeof *v * (u.count ? u.count : 1));
            k = 0;
            for (dt__frag *f = dt__rtree_first(&u); f; f = dt__rtree_next(f))
                v[k++] = (dt__wire_region){ f->start, f->end - f->start, 1, f->end - f->start, 0, 0, 0 };
            k = dt__cl_coalesce_rows(v, k);
        }
        dt__cl_tree_free(&u);
    }
    *n = k;
    return v;
}
