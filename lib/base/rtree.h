/* rtree.h - an AVL tree of non-overlapping byte ranges [start, end) keyed by
 * start: the trees of the rectangle maps (base/rmap.h) that are the fragment
 * map of a dependency domain and the cluster layer's directory and caches. */
#ifndef DT__RTREE_H
#define DT__RTREE_H

#include <stddef.h>
#include <stdint.h>

struct dt__group;

typedef struct dt__frag {
    uintptr_t start, end;
    union {
        struct {                    /* dependency map (deps.c) */
            struct dt__group *cur;      /* the accesses currently in force */
            struct dt__group *barrier;  /* what newcomers joining `cur` must wait for */
        };
        struct {                    /* data directory and version caches (cluster.c) */
            uint64_t version;
            uint64_t state;
        };
    };
    struct dt__frag *left, *right, *parent;
    int height;
} dt__frag;

typedef struct dt__rtree {
    dt__frag *root;
    size_t count;
} dt__rtree;

/* The fragment holding addr, or else the first one starting after addr. */
dt__frag *dt__rtree_lookup(const dt__rtree *t, uintptr_t addr);
dt__frag *dt__rtree_first(const dt__rtree *t);
dt__frag *dt__rtree_next(dt__frag *f);
dt__frag *dt__rtree_prev(dt__frag *f);
void dt__rtree_insert(dt__rtree *t, dt__frag *f);
/* Inserts f right after (before) its in-order neighbour n, without a search
 * from the root: f's range must fit between n and n's successor (predecessor). */
void dt__rtree_insert_after(dt__rtree *t, dt__frag *n, dt__frag *f);
void dt__rtree_insert_before(dt__rtree *t, dt__frag *n, dt__frag *f);
/* Unlinks f.  Returns the node that left the tree, which is f or, when f had
 * two children, f's in-order successor whose contents were moved into f: the
 * caller frees the returned node, and must not use pointers to the successor. */
dt__frag *dt__rtree_remove(dt__rtree *t, dt__frag *f);
/* Checks the AVL and ordering invariants (unit tests): 0 when sound. */
int dt__rtree_check(const dt__rtree *t);

/* How the tree's owner makes and drops nodes.  A node's payload is two
 * words (the union above); make() gets the words to copy and takes whatever
 * references they stand for. */
typedef struct dt__rtree_ops {
    dt__frag *(*make)(uintptr_t start, uintptr_t end, uint64_t a, uint64_t b);
    void (*release)(dt__frag *f);       /* the payload of a node going away (may be NULL) */
    void (*free_node)(dt__frag *f);
} dt__rtree_ops;

/* Calls visit on nodes covering exactly [s, e): holes get nodes with the
 * payload (hole_a, hole_b), nodes sticking out are split.  Neighbours with
 * equal payloads are merged, so the tree stays as small as its data: each
 * visited node with the one before it once its payload is final, the last
 * with the node after e.  Inline: each caller's ops are constants the
 * compiler can see through. */
static inline void dt__rtree_walk(dt__rtree *t, uintptr_t s, uintptr_t e, const dt__rtree_ops *ops,
                                  uint64_t hole_a, uint64_t hole_b, void (*visit)(void *, dt__frag *),
                                  void *ctx)
{
    dt__frag *f = dt__rtree_lookup(t, s), *p;      /* p: the node before the next visited one */
    if (f && f->start < s) {            /* f keeps [f->start, s) */
        dt__frag *g = ops->make(s, f->end, f->version, f->state);
        f->end = s;
        dt__rtree_insert_after(t, f, g);
        p = f;
        f = g;
    } else if (f) {
        p = dt__rtree_prev(f);
    } else {
        for (p = t->root; p && p->right;) p = p->right;
    }
    uintptr_t pos = s;
    while (pos < e) {
        dt__frag *cur, *next;
        if (!f || f->start > pos) {     /* a hole, up to f or e */
            uintptr_t hole_end = (!f || f->start >= e) ? e : f->start;
            cur = ops->make(pos, hole_end, hole_a, hole_b);
            if (f) dt__rtree_insert_before(t, f, cur);
            else dt__rtree_insert(t, cur);
            visit(ctx, cur);
            next = f;
        } else {
            cur = f;
            if (cur->end > e) {
                dt__frag *g = ops->make(e, cur->end, cur->version, cur->state);
                cur->end = e;
                dt__rtree_insert_after(t, cur, g);
            }
            visit(ctx, cur);
            next = dt__rtree_next(cur);
        }
        pos = cur->end;
        if (p && p->end == cur->start && p->version == cur->version && p->state == cur->state) {
            p->end = cur->end;
            if (ops->release) ops->release(cur);
            dt__frag *gone = dt__rtree_remove(t, cur);
            if (gone != cur) next = cur;        /* cur now holds its successor's contents */
            ops->free_node(gone);
        } else {
            p = cur;
        }
        f = next;
    }
    if (p && f && p->end == f->start && p->version == f->version && p->state == f->state) {
        p->end = f->end;
        if (ops->release) ops->release(f);
        ops->free_node(dt__rtree_remove(t, f));
    }
}

/* Makes [s, e) one node with the payload (a, b), first calling visit on
 * every node that held some of it (the whole node: its range may stick
 * out).  Nodes inside are dropped, nodes across s or e keep their outside
 * part; nothing is split to be merged again, as a walk would.  The new node
 * is not merged with its neighbours: for callers whose payload is new. */
static inline void dt__rtree_overwrite(dt__rtree *t, uintptr_t s, uintptr_t e, const dt__rtree_ops *ops,
                                       uint64_t a, uint64_t b, void (*visit)(void *, dt__frag *), void *ctx)
{
    dt__frag *f = dt__rtree_lookup(t, s), *prev = NULL;
    if (f && f->start < s) {
        visit(ctx, f);
        if (f->end > e) {               /* f holds all of [s, e): three pieces */
            dt__frag *tail = ops->make(e, f->end, f->version, f->state);
            f->end = s;
            dt__rtree_insert_after(t, f, tail);
            dt__rtree_insert_after(t, f, ops->make(s, e, a, b));
            return;
        }
        f->end = s;
        prev = f;
        f = dt__rtree_next(f);
    }
    /* the first node wholly inside becomes the new one where it is: one
       removal and one insertion (and their rebalancing) fewer */
    dt__frag *keep = NULL;
    while (f && f->start < e) {
        visit(ctx, f);
        if (f->end > e) {               /* keeps its part after e; still in order */
            f->start = e;
            break;
        }
        dt__frag *next = dt__rtree_next(f);
        if (ops->release) ops->release(f);
        if (!keep) {
            keep = f;
        } else {
            /* only f and later nodes move: keep stays where it is */
            dt__frag *gone = dt__rtree_remove(t, f);
            if (gone != f) next = f;    /* f now holds its successor's contents */
            ops->free_node(gone);
        }
        f = next;
    }
    dt__frag *n = ops->make(s, e, a, b);
    if (keep) {                         /* make took the payload's references: keep them */
        keep->start = s;
        keep->end = e;
        keep->version = n->version;
        keep->state = n->state;
        ops->free_node(n);
    } else if (prev) dt__rtree_insert_after(t, prev, n);
    else if (f) dt__rtree_insert_before(t, f, n);
    else dt__rtree_insert(t, n);
}

/* Drops every node (post-order, through the parent links). */
static inline void dt__rtree_clear(dt__rtree *t, const dt__rtree_ops *ops)
{
    dt__frag *f = t->root;
    while (f) {
        if (f->left) { f = f->left; continue; }
        if (f->right) { f = f->right; continue; }
        dt__frag *p = f->parent;
        if (p) {
            if (p->left == f) p->left = NULL;
            else p->right = NULL;
        }
        if (ops->release) ops->release(f);
        ops->free_node(f);
        f = p;
    }
    t->root = NULL;
    t->count = 0;
}

#endif
