/* nested.c - children of offloaded tasks sent to yet other ranks (run under
 * mpiexec -n 2..4): their data goes with them and their writes come back, so
 * results must equal a sequential run and every hint must be honoured. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dtask.h"

#include "check.h"

enum { N = 256, NB = 6, ITERS = 4, M = 96, B = 32, T = M / B, NERR = 6 };

static dt_type_t T_add, T_copy, T_blocks, T_tile, T_tiles, T_outer, T_inner, T_errors;

/* records where a task ran: its slot lies inside its own accesses */
static void mark(int *slot) { *slot = dt_rank(); }

typedef struct { long *v; int n; long add; int *where; } add_t;
static void add_fn(void *p)
{
    add_t *a = p;
    for (int i = 0; i < a->n; i++) a->v[i] += a->add;
    if (a->where) mark(a->where);
}

typedef struct { long *dst, *src; int n; int *where; } copy_t;
static void copy_fn(void *p)
{
    copy_t *c = p;
    for (int i = 0; i < c->n; i++) c->dst[i] = c->src[i] * 3 + 1;
    if (c->where) mark(c->where);
}

static int rank_for(int k) { return k % dt_num_ranks(); }

/* 1. a parent holding v, w and the where slots (weak) spreads chains of
 * inout blocks and out/in copies over the ranks */
typedef struct { long *v, *w; int *where; } blocks_t;
static void blocks_fn(void *p)
{
    blocks_t *a = p;
    for (int it = 0; it < ITERS; it++) {
        for (int b = 0; b < NB; b++) {
            int *slot = a->where + it * 2 * NB + b;
            add_t c = { a->v + b * N, N, it * 10 + b, slot };
            dt_access_t acc[2] = { { DT_INOUT, a->v + b * N, sizeof(long) * N, 0, 0 },
                                   { DT_OUT, slot, sizeof(int), 0, 0 } };
            dt_task_attr_t at = { 0, rank_for(b + it + 1), "add", 0 };
            CHECK(dt_task_create(T_add, &c, sizeof c, acc, 2, &at) == DT_OK, "create add");
        }
        for (int b = 0; b < NB; b++) {
            int *slot = a->where + it * 2 * NB + NB + b;
            copy_t c = { a->w + b * N, a->v + (b + it) % NB * N, N, slot };
            dt_access_t acc[3] = { { DT_OUT, a->w + b * N, sizeof(long) * N, 0, 0 },
                                   { DT_IN, a->v + (b + it) % NB * N, sizeof(long) * N, 0, 0 },
                                   { DT_OUT, slot, sizeof(int), 0, 0 } };
            dt_task_attr_t at = { 0, rank_for(b * 7 + it), "copy", 0 };
            CHECK(dt_task_create(T_copy, &c, sizeof c, acc, 3, &at) == DT_OK, "create copy");
        }
    }
    dt_taskwait();
}

/* 2. tiles of a row-major M x M matrix; each reads the first column of its
 * whole band of rows too, so its accesses overlap each other (the bytes
 * travel once, in disjoint pieces) */
typedef struct { double *m; int ti, tj; double k; int *where; } tile_t;
static void tile_fn(void *p)
{
    tile_t *a = p;
    for (int i = 0; i < B; i++) {
        double first = a->m[(a->ti * B + i) * M];
        for (int j = 0; j < B; j++) a->m[(a->ti * B + i) * M + a->tj * B + j] += a->k + first * 0.5;
    }
    mark(a->where);
}

static void tile_ref(double *m, int ti, int tj, double k)
{
    for (int i = 0; i < B; i++) {
        double first = m[(ti * B + i) * M];
        for (int j = 0; j < B; j++) m[(ti * B + i) * M + tj * B + j] += k + first * 0.5;
    }
}

typedef struct { double *m; int *where; } tiles_t;
static void tiles_fn(void *p)
{
    tiles_t *a = p;
    for (int it = 0; it < 2; it++)
        for (int ti = 0; ti < T; ti++)
            for (int tj = 0; tj < T; tj++) {
                int *slot = a->where + (it * T + ti) * T + tj;
                tile_t c = { a->m, ti, tj, it + ti * 0.25 + tj, slot };
                double *t = a->m + ti * B * M + tj * B;
                dt_access_t acc[3] = { { DT_INOUT, t, sizeof(double) * B, B, sizeof(double) * M },
                                       { DT_IN, a->m + ti * B * M, sizeof(double), B, sizeof(double) * M },
                                       { DT_OUT, slot, sizeof(int), 0, 0 } };
                dt_task_attr_t at = { 0, rank_for(ti * T + tj + it + 1), "tile", 0 };
                CHECK(dt_task_create(T_tile, &c, sizeof c, acc, 3, &at) == DT_OK, "create tile");
            }
    dt_taskwait();
}

/* 3. three levels: outer (offloaded by the root) -> inner (pushed, weak
 * access) -> adds (pushed again, one of them undeferred) */
typedef struct { long *v; int n; int *where; int *if0_ok; } inner_t;
static void inner_fn(void *p)
{
    inner_t *a = p;
    mark(a->where);
    int half = a->n / 2;
    add_t c0 = { a->v, half, 5, a->where + 1 };
    dt_access_t acc0[2] = { { DT_INOUT, a->v, sizeof(long) * half, 0, 0 }, { DT_OUT, a->where + 1, sizeof(int), 0, 0 } };
    dt_task_attr_t at0 = { 0, rank_for(dt_rank() + 1), "grandchild", 0 };
    CHECK(dt_task_create(T_add, &c0, sizeof c0, acc0, 2, &at0) == DT_OK, "create grandchild");
    /* undeferred on another rank: its result is here when the call returns */
    add_t c1 = { a->v + half, a->n - half, 7, a->where + 2 };
    dt_access_t acc1[2] = { { DT_INOUT, a->v + half, sizeof(long) * (a->n - half), 0, 0 },
                            { DT_OUT, a->where + 2, sizeof(int), 0, 0 } };
    dt_task_attr_t at1 = { 0, rank_for(dt_rank() + 2), "if0", DT_TASK_IF0 };
    long before = a->v[half];
    CHECK(dt_task_create(T_add, &c1, sizeof c1, acc1, 2, &at1) == DT_OK, "create if0 grandchild");
    *a->if0_ok = a->v[half] == before + 7;
}

typedef struct { long *v; int n; int *where; int *if0_ok; } outer_t;
static void outer_fn(void *p)
{
    outer_t *a = p;
    mark(a->where);
    inner_t c = { a->v, a->n, a->where + 1, a->if0_ok };
    dt_access_t acc[4] = { { DT_INOUT | DT_WEAK, a->v, sizeof(long) * a->n, 0, 0 },
                           { DT_OUT, a->where + 1, sizeof(int), 0, 0 },
                           { DT_OUT | DT_WEAK, a->where + 2, sizeof(int) * 2, 0, 0 },
                           { DT_OUT, a->if0_ok, sizeof(int), 0, 0 } };
    dt_task_attr_t at = { 0, rank_for(dt_rank() + 1), "inner", 0 };
    CHECK(dt_task_create(T_inner, &c, sizeof c, acc, 4, &at) == DT_OK, "create inner");
    dt_taskwait();
    /* and the inner task's results are here after the wait */
    for (int i = 0; i < a->n; i++)
        if (a->v[i] != i + (i < a->n / 2 ? 5 : 7)) {
            *a->if0_ok = -1;
            break;
        }
}

/* 4. bad nested hints, from inside a task on another rank and on rank 0:
 * the codes come back.  `outside` (rank 0 only) is malloc memory the parent
 * holds, which no other rank can reach. */
static double red_target;
typedef struct { long *v; int *codes; long *outside; } errors_t;
static void errors_fn(void *p)
{
    errors_t *a = p;
    int ranks = dt_num_ranks(), other = (dt_rank() + 1) % ranks;
    add_t c = { a->v, 8, 1, NULL };
    dt_access_t acc = { DT_INOUT, a->v, sizeof(long) * 8, 0, 0 };
    dt_task_attr_t at = { 0, ranks, "nowhere", 0 };
    a->codes[0] = dt_task_create(T_add, &c, sizeof c, &acc, 1, &at);            /* no such rank */
    at.node = -2;
    a->codes[1] = dt_task_create(T_add, &c, sizeof c, &acc, 1, &at);            /* negative */
    long local[8] = { 0 };
    long *mem = a->outside ? a->outside : local;
    add_t lc = { mem, 8, 1, NULL };
    dt_access_t lacc = { DT_INOUT, mem, sizeof local, 0, 0 };
    at.node = other;
    a->codes[2] = dt_task_create(T_add, &lc, sizeof lc, &lacc, 1, &at);         /* not common memory */
    dt_access_t cacc = { DT_CONCURRENT, a->v, sizeof(long) * 8, 0, 0 };
    a->codes[3] = dt_task_create(T_add, &c, sizeof c, &cacc, 1, &at);           /* concurrent */
    dt_access_t racc = { DT_REDUCTION | DT_RED_SUM | DT_RED_F64, &red_target, sizeof red_target, 0, 0 };
    a->codes[4] = dt_task_create(T_add, &c, sizeof c, &racc, 1, &at);           /* outside the parent too */
    at.node = dt_rank();
    a->codes[5] = dt_task_create(T_add, &c, sizeof c, &acc, 1, &at);            /* here: fine */
    dt_taskwait();
}

static int app(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int ranks = dt_num_ranks();

    /* 1 */
    long *v = dt_dmalloc(sizeof(long) * N * NB), *w = dt_dmalloc(sizeof(long) * N * NB);
    int *where = dt_dmalloc(sizeof(int) * ITERS * 2 * NB);
    long *rv = malloc(sizeof(long) * N * NB), *rw = malloc(sizeof(long) * N * NB);
    for (int i = 0; i < N * NB; i++) v[i] = rv[i] = i, w[i] = rw[i] = -1;
    for (int it = 0; it < ITERS; it++) {
        for (int b = 0; b < NB; b++)
            for (int i = 0; i < N; i++) rv[b * N + i] += it * 10 + b;
        for (int b = 0; b < NB; b++)
            for (int i = 0; i < N; i++) rw[b * N + i] = rv[(b + it) % NB * N + i] * 3 + 1;
    }
    for (int round = 0; round < 2; round++) {
        blocks_t a = { v, w, where };
        dt_access_t acc[3] = { { DT_INOUT | DT_WEAK, v, sizeof(long) * N * NB, 0, 0 },
                               { DT_OUT | DT_WEAK, w, sizeof(long) * N * NB, 0, 0 },
                               { DT_OUT | DT_WEAK, where, sizeof(int) * ITERS * 2 * NB, 0, 0 } };
        dt_task_attr_t at = { 0, round == 0 ? ranks - 1 : 0, "blocks", 0 };
        CHECK(dt_task_create(T_blocks, &a, sizeof a, acc, 3, &at) == DT_OK, "create blocks");
        dt_taskwait();
        CHECK(memcmp(v, rv, sizeof(long) * N * NB) == 0, "round %d: v differs from the sequential run", round);
        CHECK(memcmp(w, rw, sizeof(long) * N * NB) == 0, "round %d: w differs from the sequential run", round);
        for (int it = 0; it < ITERS; it++)
            for (int b = 0; b < NB; b++) {
                int add_at = it * 2 * NB + b, copy_at = add_at + NB;
                CHECK(where[add_at] == (b + it + 1) % ranks, "add %d/%d ran on rank %d", it, b, where[add_at]);
                CHECK(where[copy_at] == (b * 7 + it) % ranks, "copy %d/%d ran on rank %d", it, b, where[copy_at]);
            }
        /* the second round starts from the first one's results, written by rank 0 */
        for (int it = 0; it < ITERS; it++) {
            for (int b = 0; b < NB; b++)
                for (int i = 0; i < N; i++) rv[b * N + i] += it * 10 + b;
            for (int b = 0; b < NB; b++)
                for (int i = 0; i < N; i++) rw[b * N + i] = rv[(b + it) % NB * N + i] * 3 + 1;
        }
    }

    /* 2 */
    double *m = dt_dmalloc(sizeof(double) * M * M), *rm = malloc(sizeof(double) * M * M);
    int *twhere = dt_dmalloc(sizeof(int) * 2 * T * T);
    for (int i = 0; i < M * M; i++) m[i] = rm[i] = i * 0.5;
    for (int it = 0; it < 2; it++)
        for (int ti = 0; ti < T; ti++)
            for (int tj = 0; tj < T; tj++) tile_ref(rm, ti, tj, it + ti * 0.25 + tj);
    tiles_t ta = { m, twhere };
    dt_access_t tacc[2] = { { DT_INOUT | DT_WEAK, m, sizeof(double) * M * M, 0, 0 },
                            { DT_OUT | DT_WEAK, twhere, sizeof(int) * 2 * T * T, 0, 0 } };
    dt_task_attr_t tat = { 0, 1 % ranks, "tiles", 0 };
    CHECK(dt_task_create(T_tiles, &ta, sizeof ta, tacc, 2, &tat) == DT_OK, "create tiles");
    dt_taskwait();
    CHECK(memcmp(m, rm, sizeof(double) * M * M) == 0, "tiles differ from the sequential run");
    for (int it = 0; it < 2; it++)
        for (int k = 0; k < T * T; k++)
            CHECK(twhere[it * T * T + k] == (k + it + 1) % ranks, "tile %d/%d ran on rank %d", it, k,
                  twhere[it * T * T + k]);

    /* 3 */
    const int n = 1000;
    long *x = dt_dmalloc(sizeof(long) * n);
    int *xwhere = dt_dmalloc(sizeof(int) * 5), *if0_ok = xwhere + 4;
    for (int i = 0; i < n; i++) x[i] = i;
    outer_t oa = { x, n, xwhere, if0_ok };
    dt_access_t oacc[2] = { { DT_INOUT, x, sizeof(long) * n, 0, 0 }, { DT_OUT, xwhere, sizeof(int) * 5, 0, 0 } };
    dt_task_attr_t oat = { 0, 1 % ranks, "outer", 0 };
    CHECK(dt_task_create(T_outer, &oa, sizeof oa, oacc, 2, &oat) == DT_OK, "create outer");
    dt_taskwait();
    for (int i = 0; i < n; i++) CHECK(x[i] == i + (i < n / 2 ? 5 : 7), "x[%d] = %ld after three levels", i, x[i]);
    int r1 = 1 % ranks, r2 = (r1 + 1) % ranks;
    CHECK(xwhere[0] == r1 && xwhere[1] == r2 && xwhere[2] == (r2 + 1) % ranks && xwhere[3] == (r2 + 2) % ranks,
          "levels ran on ranks %d %d %d %d, not %d %d %d %d", xwhere[0], xwhere[1], xwhere[2], xwhere[3], r1, r2,
          (r2 + 1) % ranks, (r2 + 2) % ranks);
    CHECK(*if0_ok == 1, "undeferred nested task: result %s when dt_task_create returned (%d)",
          *if0_ok < 0 ? "lost after the taskwait" : "missing", *if0_ok);

    /* 4 */
    long *ev = dt_dmalloc(sizeof(long) * 8), *outside = malloc(sizeof(long) * 8);
    int *codes = dt_dmalloc(sizeof(int) * NERR);
    for (int i = 0; i < 8; i++) ev[i] = i, outside[i] = 0;
    for (int round = 0; round < 2; round++) {
        /* round 1 on rank 0, where the parent may hold malloc memory */
        errors_t ea = { ev, codes, round ? outside : NULL };
        dt_access_t eacc[3] = { { DT_INOUT, ev, sizeof(long) * 8, 0, 0 }, { DT_OUT, codes, sizeof(int) * NERR, 0, 0 },
                                { DT_INOUT, outside, sizeof(long) * 8, 0, 0 } };
        dt_task_attr_t eat = { 0, round ? 0 : ranks - 1, "errors", 0 };
        CHECK(dt_task_create(T_errors, &ea, sizeof ea, eacc, round ? 3 : 2, &eat) == DT_OK, "create errors");
        dt_taskwait();
        /* a child on another rank gets DT_ERANGE; on one rank there is no
           other rank, so it is fine, unless it is outside its parent's accesses */
        int other_ok = ranks == 1 ? DT_OK : DT_ERANGE;
        int want[NERR] = { DT_ERANGE, DT_ERANGE, round ? other_ok : DT_EINVAL, other_ok, DT_EINVAL, DT_OK };
        static const char *what[NERR] = { "node = ranks", "node = -2", "memory outside the common space elsewhere",
                                          "concurrent access elsewhere", "reduction outside the parent", "own rank" };
        for (int i = 0; i < NERR; i++)
            CHECK(codes[i] == want[i], "round %d: %s: %s", round, what[i], dt_strerror(codes[i]));
    }
    /* with one rank the concurrent task is allowed and runs too */
    for (int i = 0; i < 8; i++) CHECK(ev[i] == i + 2 * (1 + (ranks == 1)), "ev[%d] = %ld", i, ev[i]);
    for (int i = 0; i < 8; i++) CHECK(outside[i] == (ranks == 1), "outside[%d] = %ld", i, outside[i]);

    printf("nested: %d ranks: %s\n", ranks, failures ? "FAILED" : "ok");
    free(rv);
    free(rw);
    free(rm);
    free(outside);
    return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    dt_type_register("add", add_fn, &T_add);
    dt_type_register("copy", copy_fn, &T_copy);
    dt_type_register("blocks", blocks_fn, &T_blocks);
    dt_type_register("tile", tile_fn, &T_tile);
    dt_type_register("tiles", tiles_fn, &T_tiles);
    dt_type_register("outer", outer_fn, &T_outer);
    dt_type_register("inner", inner_fn, &T_inner);
    dt_type_register("errors", errors_fn, &T_errors);
    int rc = dt_main(argc, argv, app);
    if (rc < 0) fprintf(stderr, "nested: dt_main: %s\n", dt_strerror(rc));
    return rc != 0;
}
