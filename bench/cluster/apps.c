/*
 * apps.c - tiled matmul and Cholesky with libdtask, timed and checked
 * (bench/cluster).  The tasks, accesses, priorities and kernels are those of
 * examples/matmul.c and examples/cholesky.c; the differences are for
 * benchmarking: only the tasked run is timed (from the first dt_task_create
 * to the return of dt_taskwait, which brings the result back to rank 0), the
 * inputs come from an index hash so that the StarPU-MPI driver can build the
 * same tiles on each rank, and the result is checked in O(N^2) (see
 * common.h) instead of against a sequential run.
 *
 *   apps matmul|cholesky N B [tiles] [warm] [skip]
 *   mpiexec.mpich -n 2 apps matmul|cholesky N B [tiles] [warm] [skip]
 *
 * Matrices are row-major, a tile being a 2-D region of B rows (as in
 * examples/), or with `tiles` in tile layout (common.h): each tile
 * contiguous, one plain range per access.  Generation and checks are
 * row-major in both, outside the timed part.
 * skip: leave out the last task, so the check must fail (exit status 1):
 * bench-cluster-quick uses it to prove that the checks can fail.
 * One timed run per process, as in the StarPU-MPI driver: both start cold.
 * warm: an untimed run first, on a matrix freed before the timed one is
 * allocated (dt_dmalloc gives the same addresses back): the pages another
 * rank receives tiles into were touched by the first run, as in a program
 * that factors more than once.  On a virtual machine a first touch costs
 * ~12 us per 4 KiB page (~0.35-0.5 GB/s), which the cold 2-rank run pays for
 * every byte rank 1 receives and the 1-rank run does not.
 */
#include <dtask.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define CHECK(call)                                                       \
    do {                                                                  \
        int rc_ = (call);                                                 \
        if (rc_ != DT_OK) {                                               \
            fprintf(stderr, "apps: %s: %s\n", #call, dt_strerror(rc_));   \
            exit(1);                                                      \
        }                                                                 \
    } while (0)

typedef struct {
    double *c;
    const double *a, *b;
    size_t m, n, k, ld;
} kargs_t;

static void t_gemm_nn(void *p)
{
    const kargs_t *g = p;
    k_gemm_nn(g->c, g->ld, g->a, g->ld, g->b, g->ld, g->m, g->n, g->k);
}
static void t_potrf(void *p)
{
    const kargs_t *t = p;
    k_potrf(t->c, t->ld, t->n);
}
static void t_trsm(void *p)
{
    const kargs_t *t = p;
    k_trsm(t->c, t->ld, t->a, t->ld, t->m, t->n);
}
static void t_syrk(void *p)
{
    const kargs_t *t = p;
    k_syrk(t->c, t->ld, t->a, t->ld, t->m, t->k);
}
static void t_gemm_nt(void *p)
{
    const kargs_t *t = p;
    k_gemm_nt(t->c, t->ld, t->a, t->ld, t->b, t->ld, t->m, t->n, t->k);
}

static dt_type_t T_MM, T_POTRF, T_TRSM, T_SYRK, T_GEMM;
static size_t N, B;
static long skip_at = -1;   /* index of the task to leave out, -1: none */
static long created;

static int tiles;           /* tile layout */
static int warm;            /* an untimed run first */
static size_t ld;           /* of a tile: N, or B in tile layout */

static double *tile(double *M, size_t i, size_t j)
{
    return tiles ? tile_at(M, N, B, i, j) : M + i * B * N + j * B;
}

static dt_access_t tile_acc(unsigned mode, double *M, size_t i, size_t j)
{
    if (tiles) return (dt_access_t){ mode, tile(M, i, j), B * B * sizeof(double), 1, 0 };
    return (dt_access_t){ mode, tile(M, i, j), tile_ext(N, B, j) * sizeof(double),
                          tile_ext(N, B, i), N * sizeof(double) };
}

static void task(dt_type_t type, const kargs_t *k, const dt_access_t *acc, size_t n,
                 int priority, const char *label)
{
    if (created++ == skip_at) return;
    dt_task_attr_t attr = { .priority = priority, .node = DT_NODE_ANY, .label = label };
    CHECK(dt_task_create(type, k, sizeof *k, acc, n, &attr));
}

static void matmul(double *C, double *A, double *Bm)
{
    size_t nt = (N + B - 1) / B;
    for (size_t i = 0; i < nt; i++)
        for (size_t j = 0; j < nt; j++)
            for (size_t k = 0; k < nt; k++) {
                kargs_t g = { tile(C, i, j), tile(A, i, k), tile(Bm, k, j),
                              tile_ext(N, B, i), tile_ext(N, B, j), tile_ext(N, B, k), ld };
                dt_access_t acc[] = { tile_acc(DT_IN, A, i, k), tile_acc(DT_IN, Bm, k, j),
                                      tile_acc(DT_INOUT, C, i, j) };
                task(T_MM, &g, acc, 3, 0, "gemm");
            }
    CHECK(dt_taskwait());
}

static void cholesky(double *A)
{
    size_t nt = (N + B - 1) / B;
    for (size_t k = 0; k < nt; k++) {
        kargs_t p = { .c = tile(A, k, k), .n = tile_ext(N, B, k), .ld = ld };
        dt_access_t pa[] = { tile_acc(DT_INOUT, A, k, k) };
        task(T_POTRF, &p, pa, 1, 2, "potrf");
        for (size_t i = k + 1; i < nt; i++) {
            kargs_t t = { .c = tile(A, i, k), .a = tile(A, k, k), .m = tile_ext(N, B, i),
                          .n = tile_ext(N, B, k), .ld = ld };
            dt_access_t ta[] = { tile_acc(DT_IN, A, k, k), tile_acc(DT_INOUT, A, i, k) };
            task(T_TRSM, &t, ta, 2, 1, "trsm");
        }
        for (size_t i = k + 1; i < nt; i++) {
            kargs_t s = { .c = tile(A, i, i), .a = tile(A, i, k), .m = tile_ext(N, B, i),
                          .k = tile_ext(N, B, k), .ld = ld };
            dt_access_t sa[] = { tile_acc(DT_IN, A, i, k), tile_acc(DT_INOUT, A, i, i) };
            task(T_SYRK, &s, sa, 2, 0, "syrk");
            for (size_t j = k + 1; j < i; j++) {
                kargs_t g = { .c = tile(A, i, j), .a = tile(A, i, k), .b = tile(A, j, k),
                              .m = tile_ext(N, B, i), .n = tile_ext(N, B, j),
                              .k = tile_ext(N, B, k), .ld = ld };
                dt_access_t ga[] = { tile_acc(DT_IN, A, i, k), tile_acc(DT_IN, A, j, k),
                                     tile_acc(DT_INOUT, A, i, j) };
                task(T_GEMM, &g, ga, 3, 0, "gemm");
            }
        }
    }
    CHECK(dt_taskwait());
}

static int is_matmul;

/* Matrix `which` (0 A, 1 B, 2 C of matmul; 3 Cholesky's) in the layout of
 * the run: generated row-major in `rows`, stored tile by tile if tiles. */
static double *matrix(int which, double *rows)
{
    size_t nt = (N + B - 1) / B;
    double *M = dt_dmalloc((tiles ? nt * nt * B * B : N * N) * sizeof(double));
    if (!M) return NULL;
    double *gen = tiles ? rows : M;
    if (which < 3) mm_fill(gen, N, which, 0, N, 0, N);
    else chol_fill(gen, N, 0, N, 0, N);
    for (size_t i = 0; tiles && i < nt; i++)
        for (size_t j = 0; j < nt; j++) tile_from_rows(M, rows, N, B, i, j);
    return M;
}

/* M row-major, for the checks: M itself, or `rows` filled from its tiles */
static const double *row_major(double *M, double *rows)
{
    size_t nt = (N + B - 1) / B;
    for (size_t i = 0; tiles && i < nt; i++)
        for (size_t j = 0; j < nt; j++) tile_to_rows(rows, M, N, B, i, j);
    return tiles ? rows : M;
}

static int app(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    size_t nt = (N + B - 1) / B;
    double flops, t, *rows = tiles ? malloc(N * N * sizeof(double)) : NULL;
    int bad;
    if (tiles && !rows) {
        fprintf(stderr, "apps: out of memory for N=%zu\n", N);
        return 1;
    }
    if (is_matmul) {
        double *A = matrix(0, rows), *Bm = matrix(1, rows), *C = matrix(2, rows);
        if (A && Bm && C && warm) {
            long skip = skip_at;
            skip_at = -1;
            matmul(C, A, Bm);
            CHECK(dt_dfree(C));
            CHECK(dt_dfree(Bm));
            CHECK(dt_dfree(A));
            created = 0;
            skip_at = skip;
            A = matrix(0, rows), Bm = matrix(1, rows), C = matrix(2, rows);
        }
        if (!A || !Bm || !C) {
            fprintf(stderr, "apps: out of memory for N=%zu (DT_DMEM_SIZE?)\n", N);
            return 1;
        }
        if (skip_at == 0) skip_at = (long)(nt * nt * nt) - 1;
        double t0 = now_s();
        matmul(C, A, Bm);
        t = now_s() - t0;
        flops = 2.0 * (double)N * (double)N * (double)N;
        bad = mm_check(row_major(C, rows), N);
        CHECK(dt_dfree(C));
        CHECK(dt_dfree(Bm));
        CHECK(dt_dfree(A));
    } else {
        double *A = matrix(3, rows);
        if (A && warm) {
            long skip = skip_at;
            skip_at = -1;
            cholesky(A);
            CHECK(dt_dfree(A));
            created = 0;
            skip_at = skip;
            A = matrix(3, rows);
        }
        if (!A) {
            fprintf(stderr, "apps: out of memory for N=%zu (DT_DMEM_SIZE?)\n", N);
            return 1;
        }
        if (skip_at == 0) skip_at = 1;        /* the first trsm */
        double t0 = now_s();
        cholesky(A);
        t = now_s() - t0;
        flops = (double)N * (double)N * (double)N / 3.0;
        bad = chol_check(row_major(A, rows), N);
        CHECK(dt_dfree(A));
    }
    free(rows);
    printf("bench=%s system=dtask ranks=%d workers=%d N=%zu B=%zu layout=%s%s tasks=%ld time=%.4f gflops=%.3f %s\n",
           is_matmul ? "matmul" : "cholesky", dt_num_ranks(), dt_num_workers(), N, B,
           tiles ? "tiles" : "rows", warm ? " warm=1" : "", created, t, flops / t * 1e-9, bad ? "FAILED" : "verified");
    return bad;
}

int main(int argc, char **argv)
{
    char *end1 = NULL, *end2 = NULL;
    if (argc >= 4) {
        N = strtoul(argv[2], &end1, 10);
        B = strtoul(argv[3], &end2, 10);
    }
    int opt = 4;
    if (argc > opt && !strcmp(argv[opt], "tiles")) tiles = 1, opt++;
    if (argc > opt && !strcmp(argv[opt], "warm")) warm = 1, opt++;
    if (argc > opt && !strcmp(argv[opt], "skip")) skip_at = 0, opt++;   /* resolved once the task count is known */
    if (argc < 4 || argc != opt || (strcmp(argv[1], "matmul") && strcmp(argv[1], "cholesky")) ||
        *end1 || *end2 || !N || !B || B > N || N > 65536) {
        fprintf(stderr, "usage: apps matmul|cholesky N B [tiles] [warm] [skip]   (0 < B <= N)\n");
        return 2;
    }
    is_matmul = !strcmp(argv[1], "matmul");
    ld = tiles ? B : N;
    CHECK(dt_type_register("mm_gemm", t_gemm_nn, &T_MM));
    CHECK(dt_type_register("potrf", t_potrf, &T_POTRF));
    CHECK(dt_type_register("trsm", t_trsm, &T_TRSM));
    CHECK(dt_type_register("syrk", t_syrk, &T_SYRK));
    CHECK(dt_type_register("gemm", t_gemm_nt, &T_GEMM));
    int rc = dt_main(argc, argv, app);
    if (rc < 0) {
        fprintf(stderr, "apps: dt_main: %s\n", dt_strerror(rc));
        return 1;
    }
    return rc;
}
