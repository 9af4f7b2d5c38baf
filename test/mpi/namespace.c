/* namespace.c - tasks placed on a rank before they are ready (run under
 * mpiexec -n 2..4, with DT_NAMESPACE=1 or 0: the results must be the same).
 *
 * Every pattern keeps its tasks on one rank (attr.node) so that each task's
 * predecessors are all there: rank 0 then sends it at once and the
 * dependencies are resolved on that rank (read after write, write after
 * read, write after write, partial overlaps, 2-D tiles), mixed with data
 * written on other ranks and read back by rank 0.  Each pattern is checked
 * against the same computation done sequentially. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dtask.h"

#include "check.h"

static dt_type_t T_add, T_lin, T_tile;

/* Values wrap (unsigned arithmetic): long chains double them many times. */
#define TWICE_PLUS(x, k) ((long)((unsigned long)(x) * 2u + (unsigned long)(k)))
#define THRICE_PLUS(x, k) ((long)((unsigned long)(x) * 3u + (unsigned long)(k)))

/* v[i] = v[i] * 2 + k over n longs (order matters: catches reordering) */
typedef struct { long *v; int n; long k; } add_t;
static void add_fn(void *p)
{
    add_t *a = p;
    for (int i = 0; i < a->n; i++) a->v[i] = TWICE_PLUS(a->v[i], a->k);
}

/* dst[i] = src[i] * 3 + k: a reader of src, a writer of dst */
typedef struct { long *dst; const long *src; int n; long k; } lin_t;
static void lin_fn(void *p)
{
    lin_t *a = p;
    for (int i = 0; i < a->n; i++) a->dst[i] = THRICE_PLUS(a->src[i], a->k);
}

/* a b x b tile of an ld-column matrix: t = t * 2 + k */
typedef struct { long *t; int b, ld; long k; } tile_t;
static void tile_fn(void *p)
{
    tile_t *a = p;
    for (int i = 0; i < a->b; i++)
        for (int j = 0; j < a->b; j++) a->t[i * a->ld + j] = TWICE_PLUS(a->t[i * a->ld + j], a->k);
}

static void add(long *v, int n, long k, int node)
{
    add_t a = { v, n, k };
    dt_access_t acc = { DT_INOUT, v, sizeof(long) * (size_t)n, 0, 0 };
    dt_task_attr_t at = { 0, node, "add", 0 };
    CHECK(dt_task_create(T_add, &a, sizeof a, &acc, 1, &at) == DT_OK, "create add");
}

static void lin(long *dst, const long *src, int n, long k, unsigned dst_mode, int node)
{
    lin_t a = { dst, src, n, k };
    dt_access_t acc[2] = { { dst_mode, dst, sizeof(long) * (size_t)n, 0, 0 },
                           { DT_IN, (void *)src, sizeof(long) * (size_t)n, 0, 0 } };
    dt_task_attr_t at = { 0, node, "lin", 0 };
    CHECK(dt_task_create(T_lin, &a, sizeof a, acc, 2, &at) == DT_OK, "create lin");
}

static void seq_add(long *v, int n, long k) { for (int i = 0; i < n; i++) v[i] = TWICE_PLUS(v[i], k); }
static void seq_lin(long *d, const long *s, int n, long k) { for (int i = 0; i < n; i++) d[i] = THRICE_PLUS(s[i], k); }

static int app(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int ranks = dt_num_ranks(), far = ranks - 1, other = ranks > 2 ? 1 : 0;
    enum { N = 256, NB = 8 };
    long *v = dt_dmalloc(sizeof(long) * N * NB), *w = dt_dmalloc(sizeof(long) * N * NB);
    long rv[N * NB], rw[N * NB];
    for (int i = 0; i < N * NB; i++) v[i] = rv[i] = i % 97, w[i] = rw[i] = -1;

    /* 1. read after write: a chain of 300 tasks on one rank */
    for (int k = 0; k < 300; k++) {
        add(v, N, k % 7, far);
        seq_add(rv, N, k % 7);
    }
    /* 2. write after read: readers of block 0 into blocks of w, then a
       writer of block 0, then readers again, all on the same rank */
    for (int r = 0; r < 4; r++) {
        for (int b = 0; b < NB; b++) {
            lin(w + b * N, v, N, r * 10 + b, DT_OUT, far);
            seq_lin(rw + b * N, rv, N, r * 10 + b);
        }
        add(v, N, r, far);
        seq_add(rv, N, r);
    }
    /* 3. write after write: the last out wins */
    for (int k = 0; k < 50; k++) {
        lin(w, v + N, N, k, DT_OUT, far);
        seq_lin(rw, rv + N, N, k);
    }
    /* 4. partial overlaps: windows of 1.5 blocks sliding by half a block */
    for (int k = 0; k < 3; k++)
        for (int s = 0; s + 3 * N / 2 <= N * NB; s += N / 2) {
            add(v + s, 3 * N / 2, s + k, far);
            seq_add(rv + s, 3 * N / 2, s + k);
        }
    /* 5. data written on another rank, then a chain here that also reads it:
       the early task fetches those bytes while it waits for its predecessor */
    if (ranks > 2) {
        lin(w + 3 * N, v + 4 * N, N, 5, DT_OUT, other);
        seq_lin(rw + 3 * N, rv + 4 * N, N, 5);
        dt_access_t one = { DT_IN, w + 3 * N, sizeof(long) * N, 0, 0 };
        CHECK(dt_taskwait_on(&one, 1) == DT_OK, "taskwait_on");
    }
    for (int k = 0; k < 20; k++) {
        add(v + 5 * N, N, k, far);
        seq_add(rv + 5 * N, N, k);
        lin(v + 5 * N, w + 3 * N, N, k, DT_INOUT, far);   /* inout written whole */
        seq_lin(rv + 5 * N, rw + 3 * N, N, k);
    }
    /* 6. results read by rank 0's tasks and by a task on another rank,
       which are placed only once the chain is done */
    lin(w + 6 * N, v + 5 * N, N, 1, DT_OUT, 0);
    seq_lin(rw + 6 * N, rv + 5 * N, N, 1);
    lin(w + 7 * N, v + 5 * N, N, 2, DT_OUT, other);
    seq_lin(rw + 7 * N, rv + 5 * N, N, 2);
    add(v + 5 * N, N, 3, far);
    seq_add(rv + 5 * N, N, 3);
    CHECK(dt_taskwait() == DT_OK, "taskwait");
    CHECK(!memcmp(v, rv, sizeof rv), "v differs from the sequential run");
    CHECK(!memcmp(w, rw, sizeof rw), "w differs from the sequential run");

    /* 7. 2-D tiles: each tile's chain on one rank, tiles spread round the ranks */
    enum { M = 64, B = 16, T = M / B };
    long *m = dt_dmalloc(sizeof(long) * M * M), *rm = malloc(sizeof(long) * M * M);
    for (int i = 0; i < M * M; i++) m[i] = rm[i] = i % 13;
    for (int it = 0; it < 6; it++)
        for (int ti = 0; ti < T; ti++)
            for (int tj = 0; tj < T; tj++) {
                long *t = m + ti * B * M + tj * B;
                tile_t a = { t, B, M, it + ti + tj };
                dt_access_t acc = { DT_INOUT, t, sizeof(long) * B, B, sizeof(long) * M };
                dt_task_attr_t at = { 0, (ti * T + tj) % ranks, "tile", 0 };
                CHECK(dt_task_create(T_tile, &a, sizeof a, &acc, 1, &at) == DT_OK, "create tile");
                for (int i = 0; i < B; i++)
                    for (int j = 0; j < B; j++)
                        rm[(ti * B + i) * M + tj * B + j] = TWICE_PLUS(rm[(ti * B + i) * M + tj * B + j], a.k);
            }
    /* a whole-row reader on the far rank: waits for tiles of every rank */
    lin(v, m, M, 9, DT_OUT, far);
    CHECK(dt_taskwait() == DT_OK, "taskwait");
    CHECK(!memcmp(m, rm, sizeof(long) * M * M), "tiles differ from the sequential run");
    for (int i = 0; i < M; i++) CHECK(v[i] == THRICE_PLUS(rm[i], 9), "row reader saw %ld at %d", v[i], i);
    free(rm);
    dt_dfree(m);
    dt_dfree(v);
    dt_dfree(w);
    return failures;
}

int main(int argc, char **argv)
{
    if (dt_type_register("ns_add", add_fn, &T_add) || dt_type_register("ns_lin", lin_fn, &T_lin) ||
        dt_type_register("ns_tile", tile_fn, &T_tile)) {
        fprintf(stderr, "namespace: type registration failed\n");
        return 1;
    }
    int rc = dt_main(argc, argv, app);
    if (rc < 0) fprintf(stderr, "namespace: dt_main: %s\n", dt_strerror(rc));
    return rc != 0;
}
