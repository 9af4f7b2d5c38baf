/*
 * matmul-blas.c - the C counterpart of python/examples/matmul.py: the same
 * tiled C += A * B over row-major dt_dmalloc matrices, one task per tile
 * triple, whose body (a plain dt_task_fn) calls OpenBLAS's cblas_dgemm.
 * Prints the time of the tasked product, like the Python example.
 *
 *   usage: matmul-blas [N] [B]
 */
#include <cblas.h>
#include <dtask.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct { const double *a, *b; double *c; int m, n, k, ld; } gemm_t;

static void gemm(void *p)
{
    const gemm_t *g = p;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->m, g->n, g->k, 1.0, g->a, g->ld,
                g->b, g->ld, 1.0, g->c, g->ld);
}

static dt_type_t T_GEMM;
static size_t N = 512, B = 128;

static dt_access_t tile(unsigned mode, double *M, size_t i, size_t j, size_t rows, size_t cols)
{
    return (dt_access_t){ mode, M + i * N + j, cols * sizeof(double), rows, N * sizeof(double) };
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int app(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    size_t bytes = N * N * sizeof(double);
    double *A = dt_dmalloc(bytes), *Bm = dt_dmalloc(bytes), *C = dt_dmalloc(bytes), *R = malloc(bytes);
    if (!A || !Bm || !C || !R) return 1;
    unsigned long long s = 1;
    for (size_t k = 0; k < N * N; k++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        A[k] = (double)(s >> 11) / 9007199254740992.0 - 0.5;
        Bm[k] = (double)((s >> 7) & 0xFFFF) / 65536.0 - 0.5;
        C[k] = R[k] = (double)(k % 7);
    }
    double t0 = now();
    for (size_t i = 0; i < N; i += B)
        for (size_t j = 0; j < N; j += B)
            for (size_t k = 0; k < N; k += B) {
                size_t m = N - i < B ? N - i : B, n = N - j < B ? N - j : B, q = N - k < B ? N - k : B;
                gemm_t g = { A + i * N + k, Bm + k * N + j, C + i * N + j, (int)m, (int)n, (int)q, (int)N };
                dt_access_t acc[3] = { tile(DT_IN, A, i, k, m, q), tile(DT_IN, Bm, k, j, q, n),
                                       tile(DT_INOUT, C, i, j, m, n) };
                if (dt_task_create(T_GEMM, &g, sizeof g, acc, 3, NULL) != DT_OK) return 1;
            }
    if (dt_taskwait() != DT_OK) return 1;
    double t = now() - t0;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)N, (int)N, 1.0, A, (int)N, Bm,
                (int)N, 1.0, R, (int)N);
    double err = 0;
    for (size_t k = 0; k < N * N; k++) err = fmax(err, fabs(C[k] - R[k]));
    int ok = err < 1e-10 * (double)N;
    printf("matmul-blas: N=%zu B=%zu %d ranks %d workers: %.3f s, %.2f GFLOP/s, max error %.1e %s\n", N, B,
           dt_num_ranks(), dt_num_workers(), t, 2.0 * (double)N * (double)N * (double)N / t / 1e9, err,
           ok ? "ok" : "WRONG");
    free(R);
    dt_dfree(A);
    dt_dfree(Bm);
    dt_dfree(C);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc > 1) N = strtoul(argv[1], NULL, 10);
    if (argc > 2) B = strtoul(argv[2], NULL, 10);
    if (N == 0 || B == 0 || B > N || argc > 3) {
        fprintf(stderr, "usage: matmul-blas [N] [B]\n");
        return 2;
    }
    if (dt_type_register("gemm", gemm, &T_GEMM) != DT_OK) return 1;
    int rc = dt_main(argc, argv, app);
    return rc < 0 ? 1 : rc;
}
