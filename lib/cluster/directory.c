/* directory.c - rank 0's data directory: for every byte range the latest
 * write version and the ranks holding it; and what a task placed on a rank
 * must fetch there, and from where.  Also the walks that the version cache
 * shares.  Both maps are rectangle maps (base/rmap.h): a 2-D tile of the
 * map's stride is one or two pieces, each a region of rows at that stride. */
#include <string.h>
#include "base/pool.h"
#include "cluster/internal.h"

static dt__frag *node_new(uintptr_t s, uintptr_t e, uint64_t version, uint64_t state)
{
    dt__frag *f = dt__pool_alloc(sizeof *f);
    if (!f) dt__fatal("out of memory");
    f->start = s;
    f->end = e;
    f->version = version;
    f->state = state;
    return f;
}

static void node_free(dt__frag *f) { dt__pool_free(f, sizeof *f); }

static const dt__rtree_ops node_ops = { node_new, NULL, node_free };

void dt__cl_walk(dt__rmap *m, const dt__wire_region *r, uint64_t hole_version, uint64_t hole_state, piece_fn fn,
                 void *ctx)
{
    if (!m->stride && r->rows > 1 && r->stride != r->size) dt__rmap_set_stride(m, r->stride, &node_ops);
    dt__rmap_walk(m, r->addr, r->size, r->rows, r->stride, &node_ops, hole_version, hole_state, fn, ctx);
}

void dt__cl_tree_free(dt__rmap *m)
{ dt__rmap_clear(m, &node_ops); }

/* Tags of data messages (msg.h), under dt__cl.lock: a receiver's own, or a sender's. */
uint32_t dt__cl_pull_tag(void)
{ return DT__MSG_TAG_PULL0 + (dt__cl.next_tag++ % (1u << 20)); }

uint32_t dt__cl_push_tag(void)
{ return DT__MSG_TAG_PUSH0 + (dt__cl.next_push_tag++ % (1u << 20)); }

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
    dt__wire_region piece = dt__cl_piece(p->dir, f);
    piece.source = src;
    p->items[p->n++] = piece;
    f->state |= 1ull << p->target;      /* it will hold it (the cache knows when) */
}

/* Pieces of a region that all share a version and a source travel as the
 * region itself: one message, one datatype. */
void dt__cl_dir_plan(plan_ctx *p, uintptr_t addr, size_t size, size_t rows, size_t stride)
{
    dt__wire_region r = { addr, size, rows, stride, 0, 0, 0 };
    size_t first = p->n;
    dt__cl_walk(p->dir, &r, p->hole_version, 1ull << p->self, plan_piece, p);
    /* (with only_missing the pieces need not cover the region; coalesce_rows
       joins rows of them afterwards) */
    if (!p->reads || p->only_missing || p->n - first < 2) return;
    for (size_t i = first + 1; i < p->n; i++)
        if (p->items[i].version != p->items[first].version || p->items[i].source != p->items[first].source)
            return;
    r.version = p->items[first].version;
    r.source = p->items[first].source;
    p->items[first] = r;
    p->n = first + 1;
}

void dt__cl_dir_plan_all(plan_ctx *p)
{
    dt__rmap_each(p->dir, plan_piece, p);
}

static void visit_none(void *ctx, dt__frag *f) { (void)ctx, (void)f; }

/* A write replaces whatever was known of its bytes: overwritten, not walked
 * (nothing split to be merged again). */
void dt__cl_dir_record(dt__rmap *dir, uintptr_t addr, size_t size, size_t rows, size_t stride, uint64_t version,
                       uint64_t valid)
{
    if (!dir->stride && rows > 1 && stride != size) dt__rmap_set_stride(dir, stride, &node_ops);
    dt__rmap_overwrite(dir, addr, size, rows, stride, &node_ops, version, valid, visit_none, NULL);
}

/* Pieces written by one task's 2-D access share a version: sorted by
 * version and address, runs of equal rows at a constant stride become one
 * strided region again (one message instead of one per row); then pieces
 * of one version that continue each other (a band below another, the part
 * of a tile's rows that wraps past the directory's stride) are joined. */
static int cmp_item(const void *a, const void *b)
{
    const dt__wire_region *x = a, *y = b;
    if (x->version != y->version) return x->version < y->version ? -1 : 1;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Rows that touch each other are one plain range. */
static void normalize(dt__wire_region *r)
{
    if (r->rows > 1 && r->size == r->stride) {
        r->size *= r->rows;
        r->rows = 1;
    }
    if (r->rows == 1) r->stride = r->size;
}

/* x grows by y when y continues it: right after it (a plain range), below
 * it (same columns), or to its right (same rows). */
static bool join(dt__wire_region *x, const dt__wire_region *y)
{
    if (y->version != x->version || y->source != x->source) return false;
    if (x->rows == 1 && y->rows == 1) {
        if (y->addr != x->addr + x->size) return false;
        x->size += y->size;
    } else {
        if (x->rows > 1 && y->rows > 1 && x->stride != y->stride) return false;
        uint64_t st = x->rows > 1 ? x->stride : y->stride;
        if (y->size == x->size && y->addr == x->addr + x->rows * st) {
            x->rows += y->rows;
        } else if (y->rows == x->rows && y->addr == x->addr + x->size && x->size + y->size <= st) {
            x->size += y->size;
        } else {
            return false;
        }
        x->stride = st;
    }
    normalize(x);
    return true;
}

/* Pieces are compared pair by pair within a version: larger groups (rows
 * of another stride, mostly, which the row pass joined already) are left as
 * they are. */
#define DT__JOIN_MAX 32

static void join_group(dt__wire_region *it, size_t n)
{
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n && it[i].size; j++)
                if (j != i && it[j].size && join(&it[i], &it[j])) {
                    it[j].size = 0;             /* gone into it[i] */
                    changed = true;
                }
    }
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
        normalize(&r);
        it[out++] = r;
    }
    n = out;
    for (size_t g = 0; g < n;) {
        size_t h = g + 1;
        while (h < n && it[h].version == it[g].version) h++;
        if (h - g > 1 && h - g <= DT__JOIN_MAX) join_group(it + g, h - g);
        g = h;
    }
    out = 0;
    for (size_t i = 0; i < n; i++)
        if (it[i].size) it[out++] = it[i];
    return out;
}

static void union_piece(void *ctx, dt__frag *f)
{
    if (f->state) *(bool *)ctx = true;
    f->state = 1;
}

typedef struct collect_ctx { const dt__rmap *m; dt__wire_region *v; size_t k; } collect_ctx;

static void collect_piece(void *ctx, dt__frag *f)
{
    collect_ctx *c = ctx;
    dt__wire_region r = dt__cl_piece(c->m, f);
    r.version = 0;
    c->v[c->k++] = r;
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
        if (!a->size || (writes ? !a->writes : (a->mode & DT__MODE_BASE) == DT_OUT)) continue;
        v[k++] = (dt__wire_region){ a->addr, a->size, a->rows, a->stride, 0, 0, 0 };
    }
    bool spans_meet = false, overlap = false;
    for (size_t i = 0; i < k && !spans_meet; i++)
        for (size_t j = 0; j < i; j++)
            if (v[i].addr < region_end(&v[j]) && v[j].addr < region_end(&v[i])) spans_meet = true;
    if (spans_meet) {
        dt__rmap u = { 0 };
        for (size_t i = 0; i < k; i++) dt__cl_walk(&u, &v[i], 0, 0, union_piece, &overlap);
        if (overlap) {
            free(v);
            size_t count = dt__rmap_count(&u);
            collect_ctx c = { &u, dt__xmalloc(sizeof *v * (count ? count : 1)), 0 };
            dt__rmap_each(&u, collect_piece, &c);
            v = c.v;
            k = dt__cl_coalesce_rows(v, c.k);
        }
        dt__cl_tree_free(&u);
    }
    *n = k;
    return v;
}
