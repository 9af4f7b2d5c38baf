/* rmap.h - a map of non-overlapping rectangles of bytes: the fragment map of
 * a dependency domain, and the data directory and version caches of the
 * cluster layer, in which a 2-D region (rows of `size` bytes, `stride`
 * apart) is one fragment while it can be.
 *
 * Coordinates: the map has one stride S (0 until the first 2-D region comes;
 * then its stride).  Byte a is at row a / S, column a % S.  The rows are cut
 * into bands at every row where some fragment starts or ends (a tree of
 * bands keyed by row range); each band keeps its fragments as a tree of
 * column ranges (base/rtree.h).  A fragment is thus the rectangle (its band's
 * rows) x (its node's columns).  Cuts go along rows because that is the way
 * everything degrades: a region of another stride is cut into rows anyway.
 *
 * In the grid of stride S a plain range is at most 3 rectangles (its partial
 * first row, its whole rows, its partial last row) and a region of stride S
 * at most 2 (two if its rows cross the S boundary), so the map is exact for
 * both; a region of another stride is taken row by row, each row a plain
 * range.  Before the first 2-D region the map is one tree of plain address
 * ranges, exactly a dt__rtree. */
#ifndef DT__RMAP_H
#define DT__RMAP_H

#include <stdbool.h>
#include "base/rtree.h"

typedef struct dt__band {
    dt__frag node;          /* first: the band as a node of the band tree (its rows) */
    dt__rtree cols;         /* its fragments, keyed by column range */
} dt__band;

typedef struct dt__rmap {
    uintptr_t stride;       /* S, or 0: plain address ranges in `lin` */
    dt__rtree lin;
    dt__rtree bands;        /* of dt__band, keyed by row range */
    size_t nfrag;           /* fragments in the bands */
    /* rows of the band whose fragment is being visited (visitors that need
       the bytes of a fragment: [row * S + start, row * S + end) per row) */
    uintptr_t r0, r1;
} dt__rmap;

typedef void (*dt__rmap_visit)(void *ctx, dt__frag *f);

/* Uses S = stride from now on; the plain ranges already there become
 * rectangles (their payloads copied with ops->make).  Only from stride 0. */
void dt__rmap_set_stride(dt__rmap *m, uintptr_t stride, const dt__rtree_ops *ops);
/* dt__rtree_walk over exactly the bytes of a region (rows > 1: rows of size
 * bytes, stride apart; else the plain range [addr, addr + size)): visit is
 * called on fragments covering them, holes filled with (hole_a, hole_b),
 * fragments sticking out split, equal neighbours in a band merged. */
void dt__rmap_walk(dt__rmap *m, uintptr_t addr, size_t size, size_t rows, size_t stride,
                   const dt__rtree_ops *ops, uint64_t hole_a, uint64_t hole_b, dt__rmap_visit visit,
                   void *ctx);
/* The region's bytes become fragments with the payload (a, b) (one per
 * rectangle piece), after visit has seen every fragment that held some of
 * them (whole: its range may stick out).  See dt__rtree_overwrite. */
void dt__rmap_overwrite(dt__rmap *m, uintptr_t addr, size_t size, size_t rows, size_t stride,
                        const dt__rtree_ops *ops, uint64_t a, uint64_t b, dt__rmap_visit visit, void *ctx);
/* The fragment holding byte addr, or NULL. */
dt__frag *dt__rmap_find(dt__rmap *m, uintptr_t addr);
size_t dt__rmap_count(const dt__rmap *m);
/* Drops every fragment for which drop(f) holds (ops->release, ops->free_node),
 * then joins neighbouring bands that hold the same fragments (the walks cut
 * bands but never join them). */
void dt__rmap_filter(dt__rmap *m, bool (*drop)(const dt__frag *f), const dt__rtree_ops *ops);
/* Calls visit on every fragment, m->r0 and m->r1 set to its band's rows
 * (stride 0: the fragment is the plain range).  visit may change payloads,
 * not ranges. */
void dt__rmap_each(dt__rmap *m, dt__rmap_visit visit, void *ctx);
/* What a region's bytes are, read only (nothing split or merged): scan is
 * called on parts of the region in order, each the rows [r0, r1) x columns
 * [c0, c1) of the map's stride, with the fragment holding them or NULL for
 * a hole (stride 0: r0 = 0, r1 = 1, and the columns are addresses). */
typedef void (*dt__rmap_scan_fn)(void *ctx, const dt__frag *f, uintptr_t r0, uintptr_t r1, uintptr_t c0,
                                 uintptr_t c1);
void dt__rmap_scan(const dt__rmap *m, uintptr_t addr, size_t size, size_t rows, size_t stride,
                   dt__rmap_scan_fn scan, void *ctx);
/* Drops everything; the map is back at stride 0. */
void dt__rmap_clear(dt__rmap *m, const dt__rtree_ops *ops);
/* Checks every tree (unit tests): 0 when sound. */
int dt__rmap_check(const dt__rmap *m);

#endif
