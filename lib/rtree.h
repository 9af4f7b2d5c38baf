/* rtree.h - an AVL tree of non-overlapping byte ranges [start, end) keyed by
 * start: the fragment map of a dependency domain (deps.c), and the data
 * directory and version caches of the cluster layer (cluster.c). */
#ifndef DT_RTREE_H
#define DT_RTREE_H

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
/* Unlinks f.  Returns the node that left the tree, which is f or, when f had
 * two children, f's in-order successor whose contents were moved into f: the
 * caller frees the returned node, and must not use pointers to the successor. */
dt__frag *dt__rtree_remove(dt__rtree *t, dt__frag *f);
/* Checks the AVL and ordering invariants (unit tests): 0 when sound. */
int dt__rtree_check(const dt__rtree *t);

#endif
