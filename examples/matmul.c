/*
 * matmul.c - tiled matrix product C += A * B with libdtask.
 *
 * A, B and C are ordinary row-major N x N arrays of doubles.  One gemm task
 * per (i, j, k) tile triple reads tile A[i][k] and tile B[k][j] and updates
 * tile C[i][j]; each tile is a 2-D region (B rows of B doubles, N doubles
 * apart) of its matrix, so nothing is copied.  The updates of one C tile are
 * ordered by their inout accesses; different C tiles proceed in parallel.
 *
 * Checks: the tasked result equals, bit for bit, the same tiled loop run
 * sequentially (the k updates of a tile must happen in order), and it agrees
 * with a naive triple loop.  N need not be a multiple of B.
 *
 *   usage: matmul [N] [B]
 */
#include <dtask.h>

#define EXAMPLE_NAME "matmul"
#include "example.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* c (m x n) += a (m x k) * b (k x n), rows ld doubles apart */
typedef struct {
    double *c;
    const double *a, *b;
    size_t m, n, k, ld;
} gemm_t;

static void gemm(void *p)
{
    const gemm_t *g = p;
    size_t ld = g->ld;
    for (size_t i = 0; i < g->m; i++) {
        double *ci = g->c + i * ld;
        for (size_t q = 0; q < g->k; q++) {
            double aiq = g->a[i * ld + q];
            const double *bq = g->b + q * ld;
            for (size_t j = 0; j < g->n; j++)
                ci[j] += aiq * bq[j];
        }
    }
}

static dt_type_t T_GEMM;

/* rows (or columns) of tile row i: the last one may be short */
static size_t ext(size_t N, size_t B, size_t i)
{
    return N - i * B < B ? N - i * B : B;
}

/* the 2-D region of tile (i, j) of the N x N matrix M */
static dt_access_t tile_acc(unsigned mode, double *M, size_t N, size_t B, size_t i, size_t j)
{
    return (dt_access_t){ mode, M + i * B * N + j * B, ext(N, B, j) * sizeof(double),
                          ext(N, B, i), N * sizeof(double) };
}

/* C += A * B tile by tile: as tasks, or (tasked == 0) by direct calls */
static void multiply(double *C, double *A, double *Bm, size_t N, size_t B, int tasked)
{
    size_t nt = (N + B - 1) / B;
    for (size_t i = 0; i < nt; i++)
        for (size_t j = 0; j < nt; j++)
            for (size_t k = 0; k < nt; k++) {
                gemm_t g = { C + i * B * N + j * B, A + i * B * N + k * B,
                             Bm + k * B * N + j * B, ext(N, B, i), ext(N, B, j),
                             ext(N, B, k), N };
                if (!tasked) {
                    gemm(&g);
                    continue;
                }
                dt_access_t acc[] = { tile_acc(DT_IN, A, N, B, i, k),
                                      tile_acc(DT_IN, Bm, N, B, k, j),
                                      tile_acc(DT_INOUT, C, N, B, i, j) };
                CHECK(dt_task_create(T_GEMM, &g, sizeof g, acc, 3,
                                     &(dt_task_attr_t){ .node = DT_NODE_ANY, .label = "gemm" }));
            }
    if (tasked)
        CHECK(dt_taskwait());
}

/* deterministic values in [-1, 1) (xorshift64) */
static void fill(double *m, size_t n, uint64_t seed)
{
    for (size_t k = 0; k < n; k++) {
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        m[k] = (double)(seed >> 11) / 4503599627370496.0 - 1.0;
    }
}

static int app(int argc, char **argv)
{
    size_t N = 384, B = 64;
    if (argc > 3 || (argc > 1 && parse(argv[1], &N)) || (argc > 2 && parse(argv[2], &B))) {
        fprintf(stderr, "usage: matmul [N] [B]   (positive integers, B <= N)\n");
        return 2;
    }
    if (B > N)
        B = N;

    size_t nn = N * N, bytes = nn * sizeof(double);
    double *A = dt_dmalloc(bytes), *Bm = dt_dmalloc(bytes), *C = dt_dmalloc(bytes);
    double *S = malloc(bytes);   /* C by the sequential tiled loop */
    double *R = malloc(bytes);   /* C by the naive triple loop */
    if (!A || !Bm || !C || !S || !R) {
        fprintf(stderr, "matmul: out of memory for N=%zu (DT_DMEM_SIZE?)\n", N);
        return 1;
    }
    fill(A, nn, 1);
    fill(Bm, nn, 2);
    fill(C, nn, 3);
    memcpy(S, C, bytes);
    memcpy(R, C, bytes);

    double t0 = now();
    multiply(C, A, Bm, N, B, 1);
    double t1 = now();
    multiply(S, A, Bm, N, B, 0);
    double t2 = now();

    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++) {
            double s = R[i * N + j];
            for (size_t q = 0; q < N; q++)
                s += A[i * N + q] * Bm[q * N + j];
            R[i * N + j] = s;
        }

    size_t differ = 0;
    double err = 0;
    for (size_t k = 0; k < nn; k++) {
        differ += memcmp(&C[k], &S[k], sizeof(double)) != 0;
        err = fmax(err, fabs(C[k] - R[k]));
    }
    /* entries are sums of N products of numbers below 1 in magnitude */
    double tol = 4 * (double)N * DBL_EPSILON * (double)N;

    printf("matmul N=%zu B=%zu workers=%d tasked=%.3fs sequential=%.3fs speedup=%.2f ",
           N, B, dt_num_workers(), t1 - t0, t2 - t1, (t2 - t1) / (t1 - t0));
    if (differ == 0 && err <= tol)
        printf("verified\n");
    else
        printf("FAILED: %zu entries differ from the sequential tiled loop, "
               "max |C - naive| = %.3g (tolerance %.3g)\n", differ, err, tol);

    free(R);
    free(S);
    CHECK(dt_dfree(C));
    CHECK(dt_dfree(Bm));
    CHECK(dt_dfree(A));
    return differ == 0 && err <= tol ? 0 : 1;
}

int main(int argc, char **argv)
{
    /* types are registered before dt_main so that every rank has the same table */
    CHECK(dt_type_register("gemm", gemm, &T_GEMM));
    int rc = dt_main(argc, argv, app);
    if (rc < 0) {
        fprintf(stderr, "matmul: dt_main: %s\n", dt_strerror(rc));
        return 1;
    }
    return rc;
}
