/* test-rmap.c - the rectangle map of lib/base/rmap.h against a per-byte
 * reference: random plain ranges and 2-D regions of the map's stride and of
 * other strides, then the fragment counts a tile and its halos must give. */
#include "base/rmap.h"
#include "test_util.h"

enum { SPACE = 8192 };
static const uintptr_t BASE = 1u << 20;    /* not at a row boundary of every stride */
static uint64_t ref[SPACE];                /* stamp of the last walk over each byte, 0: none */
static unsigned char seen[SPACE];          /* bytes visited by the current walk */
static long live;                          /* nodes made and not yet freed */
static dt__rmap map;
static uint64_t stamp;

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint64_t rnd(uint64_t n)
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return rng % n;
}

static dt__frag *make(uintptr_t s, uintptr_t e, uint64_t a, uint64_t b)
{
    dt__frag *f = calloc(1, sizeof *f);
    TU_REQUIRE(f);
    f->start = s;
    f->end = e;
    f->version = a;
    f->state = b;
    live++;
    return f;
}

static void free_node(dt__frag *f)
{
    live--;
    free(f);
}

static const dt__rtree_ops ops = { make, NULL, free_node };

/* Marks the bytes of f (the map says which rows while visiting) and stamps it. */
static void visit(void *ctx, dt__frag *f)
{
    (void)ctx;
    uintptr_t r0 = 0, r1 = 1, S = map.stride;
    if (S) { r0 = map.r0; r1 = map.r1; }
    for (uintptr_t r = r0; r < r1; r++)
        for (uintptr_t c = f->start; c < f->end; c++) {
            uintptr_t a = (S ? r * S + c : c) - BASE;
            TU_REQUIRE(a < SPACE);
            TU_REQUIRE(!seen[a]);               /* fragments do not overlap */
            seen[a] = 1;
        }
    f->version = stamp;
}

static bool in_region(size_t off, size_t lo, size_t size, size_t rows, size_t stride)
{
    if (off < lo) return false;
    size_t d = off - lo;
    if (rows <= 1) return d < size;
    return d / stride < rows && d % stride < size;
}

/* Walks a region as the dependency engine does and checks it touched exactly its bytes. */
static void walk(size_t lo, size_t size, size_t rows, size_t stride)
{
    stamp++;
    memset(seen, 0, sizeof seen);
    if (!map.stride && rows > 1 && stride != size) dt__rmap_set_stride(&map, stride, &ops);
    dt__rmap_walk(&map, BASE + lo, size, rows, stride, &ops, 0, 0, visit, NULL);
    for (size_t a = 0; a < SPACE; a++) {
        bool in = in_region(a, lo, size, rows, stride);
        TU_REQUIRE(seen[a] == in);
        if (in) ref[a] = stamp;
    }
}

static size_t cur_lo, cur_size, cur_rows, cur_stride;   /* the region being overwritten */

/* Overwriting shows whole fragments: marks their bytes inside the region
 * (maybe twice: a fragment across both rectangles of a wrapped region is
 * shown by each). */
static void visit_over(void *ctx, dt__frag *f)
{
    (void)ctx;
    uintptr_t r0 = 0, r1 = 1, S = map.stride;
    if (S) { r0 = map.r0; r1 = map.r1; }
    for (uintptr_t r = r0; r < r1; r++)
        for (uintptr_t c = f->start; c < f->end; c++) {
            uintptr_t a = (S ? r * S + c : c) - BASE;
            TU_REQUIRE(a < SPACE);
            if (in_region(a, cur_lo, cur_size, cur_rows, cur_stride)) seen[a] = 1;
        }
}

/* Overwrites a region: every fragment that held some of it was seen, and
 * the region is now the new stamp. */
static void overwrite(size_t lo, size_t size, size_t rows, size_t stride)
{
    stamp++;
    memset(seen, 0, sizeof seen);
    cur_lo = lo; cur_size = size; cur_rows = rows; cur_stride = stride;
    if (!map.stride && rows > 1 && stride != size) dt__rmap_set_stride(&map, stride, &ops);
    dt__rmap_overwrite(&map, BASE + lo, size, rows, stride, &ops, stamp, 0, visit_over, NULL);
    for (size_t a = 0; a < SPACE; a++) {
        bool in = in_region(a, lo, size, rows, stride);
        TU_REQUIRE(seen[a] == (in && ref[a] != 0));
        if (in) ref[a] = stamp;
    }
}

/* Walks merge what they leave equal: no two touching fragments of a tree
 * have one payload (every walk and overwrite here stamps a new one). */
static void check_merged(const dt__rtree *t)
{
    for (dt__frag *f = dt__rtree_first(t), *g; f && (g = dt__rtree_next(f)); f = g)
        TU_REQUIRE(f->end != g->start || f->version != g->version || f->state != g->state);
}

static void check_map(void)
{
    TU_REQUIRE(dt__rmap_check(&map) == 0);
    check_merged(&map.lin);
    for (dt__frag *b = dt__rtree_first(&map.bands); b; b = dt__rtree_next(b))
        check_merged(&((dt__band *)b)->cols);
    TU_REQUIRE(dt__rmap_count(&map) == (size_t)live);
    for (size_t a = 0; a < SPACE; a++) {
        dt__frag *f = dt__rmap_find(&map, BASE + a);
        if (!ref[a]) TU_REQUIRE(!f);
        else TU_REQUIRE(f && f->version == ref[a]);
    }
}

static bool drop_third(const dt__frag *f) { return f->version % 3 == 0; }

START_TEST(random_regions)
{
    rng += (uint64_t)_i * 0x9E3779B97F4A7C15ull;
    size_t S = 0;
    for (int op = 0; op < 1500; op++) {
        size_t lo, size, rows = 1, stride = 0;
        uint64_t kind = op < 20 ? 0 : rnd(10);   /* plain ranges first: the map converts */
        if (kind < 3) {                          /* plain range */
            size = 1 + rnd(700);
        } else {                                 /* 2-D: the map's stride, or another */
            stride = kind < 7 && S ? S : 16 + rnd(300);
            size = 1 + rnd(stride);
            rows = 2 + rnd(20);
            if (!S && stride != size) S = stride;
        }
        size_t span = (rows - 1) * stride + size;
        if (span > SPACE) continue;
        lo = rnd(SPACE - span + 1);
        if (rnd(3) == 0) overwrite(lo, size, rows, stride);
        else walk(lo, size, rows, stride);
        if (op % 10 == 0) check_map();
        if (op % 97 == 0) {
            dt__rmap_filter(&map, drop_third, &ops);
            for (size_t a = 0; a < SPACE; a++)
                if (ref[a] % 3 == 0) ref[a] = 0;
            check_map();
        }
    }
    check_map();
    dt__rmap_clear(&map, &ops);
    ck_assert_int_eq(live, 0);
    ck_assert_uint_eq(dt__rmap_count(&map), 0);
}
END_TEST

static bool drop_none(const dt__frag *f) { (void)f; return false; }

static void reset(void)
{
    dt__rmap_clear(&map, &ops);
    memset(ref, 0, sizeof ref);
    ck_assert_int_eq(live, 0);
}

/* A tile, the 1-column halo its neighbour reads, a row read across it:
 * rectangles, not rows. */
START_TEST(tile_and_halos)
{
    enum { LD = 64, B = 32, W = 16 };    /* a grid row, a tile's rows and bytes */
    size_t tile = LD + 16;
    walk(tile, W, B, LD);
    ck_assert_uint_eq(dt__rmap_count(&map), 1);
    walk(tile + W - 1, 1, B, LD);        /* the neighbour's halo column */
    ck_assert_uint_eq(dt__rmap_count(&map), 2);
    walk(tile, W, B, LD);                /* the tile again: one rectangle again */
    ck_assert_uint_eq(dt__rmap_count(&map), 1);
    walk(tile + 10 * LD, W, 1, 0);       /* one of its rows as a plain range: 3 bands */
    ck_assert_uint_eq(dt__rmap_count(&map), 3);
    walk(tile, W, B, LD);
    ck_assert_uint_eq(dt__rmap_count(&map), 3);
    dt__rmap_filter(&map, drop_none, &ops);   /* bands alike again: joined */
    ck_assert_uint_eq(dt__rmap_count(&map), 1);
    check_map();
    reset();

    walk(tile, W, B, LD);                /* the grid's stride comes from this tile */
    walk(20 * LD + 40, 2 * LD + 10, 1, 0);    /* partial row, whole row, partial row */
    ck_assert_uint_eq(dt__rmap_count(&map), 1 + 3 + 2);   /* rows 20 and 22 cut the tile */
    check_map();
    reset();

    walk(tile, W, B, LD);
    /* rows crossing the S boundary: 2 rectangles, rows 40-43 x [60, 64) and
       41-44 x [0, 4), which the row bands 40, 41-43, 44 cut into 4 pieces */
    walk(40 * LD + 60, 8, 4, LD);
    ck_assert_uint_eq(dt__rmap_count(&map), 1 + 4);
    walk(50 * LD + 3, 8, 5, 96);         /* another stride: row by row (5 grid rows) */
    ck_assert_uint_eq(dt__rmap_count(&map), 1 + 4 + 5);
    walk(100 * LD, 8, 6, 8);             /* rows back to back: one plain range */
    ck_assert_uint_eq(dt__rmap_count(&map), 1 + 4 + 5 + 1);
    check_map();
    reset();
}
END_TEST

static Suite *rmap_suite(void)
{
    Suite *s = suite_create("rmap");
    TCase *tc = tu_tcase(s, "rmap");
    tcase_add_loop_test(tc, random_regions, 0, 4);
    tcase_add_test(tc, tile_and_halos);
    return s;
}

TU_MAIN(rmap_suite)
