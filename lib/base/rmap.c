/* rmap.c - rectangles of bytes as bands of rows, each a tree of column
 * ranges (see rmap.h). */
#include <stdio.h>
#include <stdlib.h>
#include "base/pool.h"
#include "base/rmap.h"

static dt__band *band_new(uintptr_t r0, uintptr_t r1)
{
    dt__band *b = dt__pool_alloc(sizeof *b);
    if (!b) {                   /* as dt__xmalloc: the engine cannot go on without its map */
        fputs("libdtask: out of memory in the fragment map\n", stderr);
        abort();
    }
    b->node.start = r0;
    b->node.end = r1;
    b->cols = (dt__rtree){ NULL, 0 };
    return b;
}

/* A copy of b's rows [r, end), b keeping [start, r). */
static dt__band *band_split(dt__rmap *m, dt__band *b, uintptr_t r, const dt__rtree_ops *ops)
{
    dt__band *n = band_new(r, b->node.end);
    b->node.end = r;
    for (dt__frag *f = dt__rtree_first(&b->cols); f; f = dt__rtree_next(f))
        dt__rtree_insert(&n->cols, ops->make(f->start, f->end, f->version, f->state));
    m->nfrag += n->cols.count;
    dt__rtree_insert(&m->bands, &n->node);
    return n;
}

/* One walk's constants.  over: dt__rtree_overwrite instead of dt__rtree_walk;
 * scan: read only (dt__rmap_scan), nothing else used. */
typedef struct how {
    const dt__rtree_ops *ops;
    uint64_t a, b;
    dt__rmap_visit visit;
    void *ctx;
    bool over;
    dt__rmap_scan_fn scan;
} how;

/* Columns [c0, c1) of tree t, which holds rows [r0, r1): read only. */
static void scan_cols(const dt__rtree *t, uintptr_t r0, uintptr_t r1, uintptr_t c0, uintptr_t c1, const how *h)
{
    uintptr_t pos = c0;
    for (const dt__frag *f = dt__rtree_lookup(t, c0); pos < c1; f = dt__rtree_next((dt__frag *)f)) {
        if (!f || f->start >= c1) {
            h->scan(h->ctx, NULL, r0, r1, pos, c1);
            return;
        }
        if (f->start > pos) {
            h->scan(h->ctx, NULL, r0, r1, pos, f->start);
            pos = f->start;
        }
        uintptr_t e = f->end < c1 ? f->end : c1;
        h->scan(h->ctx, f, r0, r1, pos, e);
        pos = e;
    }
}

static void scan_rect(const dt__rmap *m, uintptr_t r0, uintptr_t r1, uintptr_t c0, uintptr_t c1, const how *h)
{
    const dt__band *b = (const dt__band *)dt__rtree_lookup(&m->bands, r0);
    uintptr_t pos = r0;
    while (pos < r1) {
        if (!b || b->node.start >= r1) {
            h->scan(h->ctx, NULL, pos, r1, c0, c1);
            return;
        }
        if (b->node.start > pos) {
            h->scan(h->ctx, NULL, pos, b->node.start, c0, c1);
            pos = b->node.start;
        }
        uintptr_t end = b->node.end < r1 ? b->node.end : r1;
        scan_cols(&b->cols, pos, end, c0, c1, h);
        pos = end;
        b = (const dt__band *)dt__rtree_next((dt__frag *)&b->node);
    }
}

static void tree_walk(dt__rtree *t, uintptr_t s, uintptr_t e, const how *h)
{
    if (h->scan) scan_cols(t, 0, 1, s, e, h);
    else if (h->over) dt__rtree_overwrite(t, s, e, h->ops, h->a, h->b, h->visit, h->ctx);
    else dt__rtree_walk(t, s, e, h->ops, h->a, h->b, h->visit, h->ctx);
}

static void walk_rect(dt__rmap *m, uintptr_t r0, uintptr_t r1, uintptr_t c0, uintptr_t c1, const how *h)
{
    if (h->scan) {
        scan_rect(m, r0, r1, c0, c1, h);
        return;
    }
    const dt__rtree_ops *ops = h->ops;
    dt__band *b = (dt__band *)dt__rtree_lookup(&m->bands, r0);
    uintptr_t pos = r0;
    while (pos < r1) {
        if (!b || b->node.start > pos) {        /* rows no band holds yet */
            uintptr_t end = b && b->node.start < r1 ? b->node.start : r1;
            dt__band *nb = band_new(pos, end);
            dt__rtree_insert(&m->bands, &nb->node);
            b = nb;
        }
        if (b->node.start < pos) b = band_split(m, b, pos, ops);
        if (b->node.end > r1) band_split(m, b, r1, ops);
        m->r0 = b->node.start;
        m->r1 = b->node.end;
        size_t before = b->cols.count;
        tree_walk(&b->cols, c0, c1, h);
        m->nfrag += b->cols.count - before;
        pos = b->node.end;
        b = (dt__band *)dt__rtree_next(&b->node);
    }
}

/* [a, e) in the grid: its partial first row, whole rows, partial last row. */
static void walk_range(dt__rmap *m, uintptr_t a, uintptr_t e, const how *h)
{
    uintptr_t S = m->stride;
    uintptr_t r = a / S, c = a % S, rl = (e - 1) / S, cl = (e - 1) % S + 1;
    if (r == rl) {
        walk_rect(m, r, r + 1, c, cl, h);
        return;
    }
    uintptr_t full0 = r + 1, full1 = rl;   /* rows wholly inside */
    if (c == 0) full0 = r;
    else walk_rect(m, r, r + 1, c, S, h);
    if (cl == S) full1 = rl + 1;
    if (full1 > full0) walk_rect(m, full0, full1, 0, S, h);
    if (cl != S) walk_rect(m, rl, rl + 1, 0, cl, h);
}

static void visit_none(void *ctx, dt__frag *f) { (void)ctx; (void)f; }

void dt__rmap_set_stride(dt__rmap *m, uintptr_t stride, const dt__rtree_ops *ops)
{
    dt__rtree old = m->lin;
    m->lin = (dt__rtree){ NULL, 0 };
    m->stride = stride;
    /* each old range fills holes only, so its payload is copied as is */
    for (dt__frag *f = dt__rtree_first(&old); f; f = dt__rtree_next(f)) {
        how h = { ops, f->version, f->state, visit_none, NULL, false, NULL };
        walk_range(m, f->start, f->end, &h);
    }
    dt__rtree_clear(&old, ops);
}

static void region_walk(dt__rmap *m, uintptr_t addr, size_t size, size_t rows, size_t stride, const how *h)
{
    if (!size) return;
    if (rows > 1 && stride == size) {           /* contiguous rows: one plain range */
        size *= rows;
        rows = 1;
    }
    uintptr_t S = m->stride;
    if (!S) {
        for (size_t i = 0; i < (rows > 1 ? rows : 1); i++) {
            uintptr_t s = addr + i * stride;
            tree_walk(&m->lin, s, s + size, h);
        }
        return;
    }
    if (rows <= 1) {
        walk_range(m, addr, addr + size, h);
        return;
    }
    if (stride != S) {                          /* another grid: row by row */
        for (size_t i = 0; i < rows; i++) {
            uintptr_t s = addr + i * stride;
            walk_range(m, s, s + size, h);
        }
        return;
    }
    uintptr_t r = addr / S, c = addr % S;
    if (c + size <= S) {
        walk_rect(m, r, r + rows, c, c + size, h);
    } else {                                    /* each row crosses the S boundary */
        walk_rect(m, r, r + rows, c, S, h);
        walk_rect(m, r + 1, r + 1 + rows, 0, c + size - S, h);
    }
}

void dt__rmap_walk(dt__rmap *m, uintptr_t addr, size_t size, size_t rows, size_t stride,
                   const dt__rtree_ops *ops, uint64_t ha, uint64_t hb, dt__rmap_visit visit, void *ctx)
{
    how h = { ops, ha, hb, visit, ctx, false, NULL };
    region_walk(m, addr, size, rows, stride, &h);
}

void dt__rmap_overwrite(dt__rmap *m, uintptr_t addr, size_t size, size_t rows, size_t stride,
                        const dt__rtree_ops *ops, uint64_t a, uint64_t b, dt__rmap_visit visit, void *ctx)
{
    how h = { ops, a, b, visit, ctx, true, NULL };
    region_walk(m, addr, size, rows, stride, &h);
}

void dt__rmap_scan(const dt__rmap *m, uintptr_t addr, size_t size, size_t rows, size_t stride,
                   dt__rmap_scan_fn scan, void *ctx)
{
    how h = { NULL, 0, 0, NULL, ctx, false, scan };
    region_walk((dt__rmap *)m, addr, size, rows, stride, &h);   /* the scan paths only read it */
}

void dt__rmap_each(dt__rmap *m, dt__rmap_visit visit, void *ctx)
{
    m->r0 = 0;
    m->r1 = 1;
    for (dt__frag *f = dt__rtree_first(&m->lin); f; f = dt__rtree_next(f)) visit(ctx, f);
    for (dt__frag *n = dt__rtree_first(&m->bands); n; n = dt__rtree_next(n)) {
        m->r0 = n->start;
        m->r1 = n->end;
        for (dt__frag *f = dt__rtree_first(&((dt__band *)n)->cols); f; f = dt__rtree_next(f)) visit(ctx, f);
    }
}

dt__frag *dt__rmap_find(dt__rmap *m, uintptr_t addr)
{
    const dt__rtree *t = &m->lin;
    uintptr_t key = addr;
    if (m->stride) {
        dt__band *b = (dt__band *)dt__rtree_lookup(&m->bands, addr / m->stride);
        if (!b || b->node.start > addr / m->stride) return NULL;
        t = &b->cols;
        key = addr % m->stride;
        m->r0 = b->node.start;
        m->r1 = b->node.end;
    }
    dt__frag *f = dt__rtree_lookup(t, key);
    return f && f->start <= key ? f : NULL;
}

size_t dt__rmap_count(const dt__rmap *m) { return m->lin.count + m->nfrag; }

static void tree_filter(dt__rtree *t, bool (*drop)(const dt__frag *), const dt__rtree_ops *ops)
{
    dt__frag *f = dt__rtree_first(t);
    while (f) {
        if (!drop(f)) { f = dt__rtree_next(f); continue; }
        dt__frag *next = dt__rtree_next(f);
        if (ops->release) ops->release(f);
        dt__frag *gone = dt__rtree_remove(t, f);
        if (gone != f) next = f;        /* f now holds its successor's contents */
        ops->free_node(gone);
        f = next;
    }
}

static bool same_tree(const dt__rtree *a, const dt__rtree *b)
{
    if (a->count != b->count) return false;
    for (dt__frag *f = dt__rtree_first(a), *g = dt__rtree_first(b); f; f = dt__rtree_next(f), g = dt__rtree_next(g))
        if (f->start != g->start || f->end != g->end || f->version != g->version || f->state != g->state)
            return false;
    return true;
}

/* Unlinks band b, whose columns are already gone; returns the band that
 * now holds b's in-order successor (b itself if the tree moved it there). */
static dt__band *band_remove(dt__rmap *m, dt__band *b)
{
    dt__band *next = (dt__band *)dt__rtree_next(&b->node);
    dt__band *gone = (dt__band *)dt__rtree_remove(&m->bands, &b->node);
    if (gone != b) {            /* b now has its successor's rows: bring its columns */
        b->cols = gone->cols;
        dt__pool_free(gone, sizeof *gone);
        return b;
    }
    dt__pool_free(b, sizeof *b);
    return next;
}

void dt__rmap_filter(dt__rmap *m, bool (*drop)(const dt__frag *f), const dt__rtree_ops *ops)
{
    tree_filter(&m->lin, drop, ops);
    m->nfrag = 0;
    dt__band *b = (dt__band *)dt__rtree_first(&m->bands), *prev = NULL;
    while (b) {
        tree_filter(&b->cols, drop, ops);
        if (!b->cols.count || (prev && prev->node.end == b->node.start && same_tree(&prev->cols, &b->cols))) {
            /* empty, or the same fragments as the band above: joined to it */
            if (b->cols.count && prev) prev->node.end = b->node.end;
            dt__rtree_clear(&b->cols, ops);
            b = band_remove(m, b);
            continue;
        }
        m->nfrag += b->cols.count;
        prev = b;
        b = (dt__band *)dt__rtree_next(&b->node);
    }
}

void dt__rmap_clear(dt__rmap *m, const dt__rtree_ops *ops)
{
    dt__rtree_clear(&m->lin, ops);
    dt__band *b;
    while ((b = (dt__band *)m->bands.root)) {
        dt__rtree_clear(&b->cols, ops);
        band_remove(m, b);
    }
    *m = (dt__rmap){ 0 };
}

int dt__rmap_check(const dt__rmap *m)
{
    if (dt__rtree_check(&m->lin) || dt__rtree_check(&m->bands)) return -1;
    if (m->stride ? m->lin.count != 0 : m->bands.count != 0) return -1;
    size_t n = 0;
    for (dt__frag *f = dt__rtree_first(&m->bands); f; f = dt__rtree_next(f)) {
        const dt__band *b = (const dt__band *)f;
        if (dt__rtree_check(&b->cols)) return -1;
        for (dt__frag *g = dt__rtree_first(&b->cols); g; g = dt__rtree_next(g))
            if (g->end > m->stride) return -1;
        n += b->cols.count;
    }
    return n == m->nfrag ? 0 : -1;
}
