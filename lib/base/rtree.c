/* rtree.c - AVL tree with parent pointers, so that in-order neighbours of a
 * fragment are reachable without a search while a range is being walked. */
#include <stddef.h>
#include "base/rtree.h"

static int height(const dt__frag *n) { return n ? n->height : 0; }

static void update(dt__frag *n)
{
    int l = height(n->left), r = height(n->right);
    n->height = 1 + (l > r ? l : r);
}

static void replace_child(dt__rtree *t, dt__frag *p, dt__frag *old, dt__frag *nu)
{
    if (!p) t->root = nu;
    else if (p->left == old) p->left = nu;
    else p->right = nu;
    if (nu) nu->parent = p;
}

static dt__frag *rotate_left(dt__rtree *t, dt__frag *x)
{
    dt__frag *y = x->right, *p = x->parent;
    x->right = y->left;
    if (y->left) y->left->parent = x;
    y->left = x;
    x->parent = y;
    replace_child(t, p, x, y);
    update(x);
    update(y);
    return y;
}

static dt__frag *rotate_right(dt__rtree *t, dt__frag *x)
{
    dt__frag *y = x->left, *p = x->parent;
    x->left = y->right;
    if (y->right) y->right->parent = x;
    y->right = x;
    x->parent = y;
    replace_child(t, p, x, y);
    update(x);
    update(y);
    return y;
}

/* Restores balance from n up; stops as soon as a subtree keeps its height,
 * since nothing above it can have changed. */
static void rebalance(dt__rtree *t, dt__frag *n)
{
    while (n) {
        int old = n->height;
        update(n);
        int bf = height(n->left) - height(n->right);
        if (bf > 1) {
            if (height(n->left->left) < height(n->left->right)) rotate_left(t, n->left);
            n = rotate_right(t, n);
        } else if (bf < -1) {
            if (height(n->right->right) < height(n->right->left)) rotate_right(t, n->right);
            n = rotate_left(t, n);
        }
        if (n->height == old) return;
        n = n->parent;
    }
}

_Static_assert(offsetof(dt__frag, right) == offsetof(dt__frag, left) + sizeof(dt__frag *), "left, right");

/* Without branches: which way a random address goes is a coin toss, and a
 * mispredicted branch per level cost more than the level's load. */
dt__frag *dt__rtree_lookup(const dt__rtree *t, uintptr_t addr)
{
    dt__frag *n = t->root, *floor = NULL, *ceil = NULL;
    while (n) {
        size_t right = n->start <= addr;
        floor = right ? n : floor;
        ceil = right ? ceil : n;
        n = *(dt__frag **)((char *)n + offsetof(dt__frag, left) + right * sizeof(dt__frag *));
    }
    if (floor && floor->end > addr) return floor;
    return ceil;
}

dt__frag *dt__rtree_first(const dt__rtree *t)
{
    dt__frag *n = t->root;
    if (!n) return NULL;
    while (n->left) n = n->left;
    return n;
}

dt__frag *dt__rtree_next(dt__frag *f)
{
    if (f->right) {
        f = f->right;
        while (f->left) f = f->left;
        return f;
    }
    while (f->parent && f->parent->right == f) f = f->parent;
    return f->parent;
}

dt__frag *dt__rtree_prev(dt__frag *f)
{
    if (f->left) {
        f = f->left;
        while (f->right) f = f->right;
        return f;
    }
    while (f->parent && f->parent->left == f) f = f->parent;
    return f->parent;
}

void dt__rtree_insert(dt__rtree *t, dt__frag *f)
{
    dt__frag *p = NULL, **link = &t->root;
    while (*link) {
        p = *link;
        link = f->start < p->start ? &p->left : &p->right;
    }
    f->left = f->right = NULL;
    f->parent = p;
    f->height = 1;
    *link = f;
    t->count++;
    rebalance(t, p);
}

static void link_at(dt__rtree *t, dt__frag *p, dt__frag **link, dt__frag *f)
{
    f->left = f->right = NULL;
    f->parent = p;
    f->height = 1;
    *link = f;
    t->count++;
    rebalance(t, p);
}

/* The successor of n is the leftmost node of n's right subtree, or an
 * ancestor: f goes as the left child of the former or the right child of n. */
void dt__rtree_insert_after(dt__rtree *t, dt__frag *n, dt__frag *f)
{
    if (!n->right) { link_at(t, n, &n->right, f); return; }
    dt__frag *p = n->right;
    while (p->left) p = p->left;
    link_at(t, p, &p->left, f);
}

void dt__rtree_insert_before(dt__rtree *t, dt__frag *n, dt__frag *f)
{
    if (!n->left) { link_at(t, n, &n->left, f); return; }
    dt__frag *p = n->left;
    while (p->right) p = p->right;
    link_at(t, p, &p->right, f);
}

dt__frag *dt__rtree_remove(dt__rtree *t, dt__frag *f)
{
    if (f->left && f->right) {
        dt__frag *s = f->right;
        while (s->left) s = s->left;
        f->start = s->start;
        f->end = s->end;
        f->cur = s->cur;
        f->barrier = s->barrier;
        f = s;
    }
    dt__frag *child = f->left ? f->left : f->right, *p = f->parent;
    replace_child(t, p, f, child);
    t->count--;
    rebalance(t, p);
    return f;
}

static int check(const dt__frag *n, const dt__frag *parent, uintptr_t lo, uintptr_t hi, size_t *count)
{
    if (!n) return 0;
    if (n->parent != parent || n->start >= n->end || n->start < lo || n->end > hi) return -1;
    (*count)++;
    if (check(n->left, n, lo, n->start, count) || check(n->right, n, n->end, hi, count)) return -1;
    int l = height(n->left), r = height(n->right);
    if (n->height != 1 + (l > r ? l : r) || l - r > 1 || r - l > 1) return -1;
    return 0;
}

int dt__rtree_check(const dt__rtree *t)
{
    size_t count = 0;
    if (check(t->root, NULL, 0, UINTPTR_MAX, &count)) return -1;
    return count == t->count ? 0 : -1;
}
