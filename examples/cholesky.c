/*
 * cholesky.c - tiled Cholesky factorisation A = L * L^T with libdtask.
 *
 * The matrix is an ordinary row-major N x N array of doubles.  Each task names
 * the tiles it touches as 2-D regions (B rows of B doubles, N doubles apart),
 * so tiles are never copied: the library tracks exactly the bytes of each
 * tile.  Four task types do the work:
 *
 *   potrf  factor a diagonal tile            A[k][k] = chol(A[k][k])
 *   trsm   solve a tile below it             A[i][k] = A[i][k] * L[k][k]^-T
 *   syrk   update a trailing diagonal tile   A[i][i] -= A[i][k] * A[i][k]^T
 *   gemm   update a trailing tile            A[i][j] -= A[i][k] * A[j][k]^T
 *
 * The same loop nest runs once creating tasks and once calling the kernels
 * directly (the sequential reference); the two results are compared, and
 * L * L^T is checked against the original matrix.  Only the lower triangle
 * is read or written.  N need not be a multiple of B.
 *
 *   usage: cholesky [N] [B]
 */
#include <dtask.h>

#define EXAMPLE_NAME "cholesky"
#include "example.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Arguments of every kernel: c is the tile written, a and b the tiles read.
   c is m x n, a is m x k, b is n x k; ld is the row length of the matrix. */
typedef struct {
    double *c;
    const double *a, *b;
    size_t m, n, k, ld;
} kargs_t;

/* c (n x n, lower) = chol(c) */
static void potrf(void *p)
{
    const kargs_t *t = p;
    double *c = t->c;
    size_t n = t->n, ld = t->ld;
    for (size_t j = 0; j < n; j++) {
        double *rj = c + j * ld;
        double d = rj[j];
        for (size_t q = 0; q < j; q++)
            d -= rj[q] * rj[q];
        d = sqrt(d);
        rj[j] = d;
        for (size_t i = j + 1; i < n; i++) {
            double *ri = c + i * ld;
            double s = ri[j];
            for (size_t q = 0; q < j; q++)
                s -= ri[q] * rj[q];
            ri[j] = s / d;
        }
    }
}

/* c (m x n) = c * a^-T, a the n x n lower factor */
static void trsm(void *p)
{
    const kargs_t *t = p;
    size_t ld = t->ld;
    for (size_t i = 0; i < t->m; i++) {
        double *ri = t->c + i * ld;
        for (size_t j = 0; j < t->n; j++) {
            const double *lj = t->a + j * ld;
            double s = ri[j];
            for (size_t q = 0; q < j; q++)
                s -= ri[q] * lj[q];
            ri[j] = s / lj[j];
        }
    }
}

/* sum of x[q] * y[q]; four partial sums keep the adder pipeline busy */
static double dot(const double *x, const double *y, size_t n)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t q = 0;
    for (; q + 4 <= n; q += 4) {
        s0 += x[q] * y[q];
        s1 += x[q + 1] * y[q + 1];
        s2 += x[q + 2] * y[q + 2];
        s3 += x[q + 3] * y[q + 3];
    }
    for (; q < n; q++)
        s0 += x[q] * y[q];
    return (s0 + s1) + (s2 + s3);
}

/* c (m x m, lower) -= a * a^T, a m x k */
static void syrk(void *p)
{
    const kargs_t *t = p;
    size_t ld = t->ld;
    for (size_t i = 0; i < t->m; i++)
        for (size_t j = 0; j <= i; j++)
            t->c[i * ld + j] -= dot(t->a + i * ld, t->a + j * ld, t->k);
}

/* c (m x n) -= a * b^T */
static void gemm(void *p)
{
    const kargs_t *t = p;
    size_t ld = t->ld;
    for (size_t i = 0; i < t->m; i++)
        for (size_t j = 0; j < t->n; j++)
            t->c[i * ld + j] -= dot(t->a + i * ld, t->b + j * ld, t->k);
}

static dt_type_t T_POTRF, T_TRSM, T_SYRK, T_GEMM;

typedef struct {
    double *A;
    size_t N, B;
    int tasked;   /* 0: call the kernels directly (the sequential reference) */
} chol_t;

/* rows (or columns) of tile row i: the last one may be short */
static size_t ext(const chol_t *ch, size_t i)
{
    size_t left = ch->N - i * ch->B;
    return left < ch->B ? left : ch->B;
}

static double *tile(const chol_t *ch, size_t i, size_t j)
{
    return ch->A + i * ch->B * ch->N + j * ch->B;
}

/* the 2-D region of tile (i, j): its rows, each ext(j) doubles, N doubles apart */
static dt_access_t tile_acc(const chol_t *ch, unsigned mode, size_t i, size_t j)
{
    return (dt_access_t){ mode, tile(ch, i, j), ext(ch, j) * sizeof(double),
                          ext(ch, i), ch->N * sizeof(double) };
}

static void run(const chol_t *ch, dt_type_t type, dt_task_fn fn, const kargs_t *k,
                const dt_access_t *acc, size_t n_acc, int priority, const char *label)
{
    if (!ch->tasked) {
        fn((void *)k);
        return;
    }
    dt_task_attr_t attr = { .priority = priority, .node = DT_NODE_ANY, .label = label };
    CHECK(dt_task_create(type, k, sizeof *k, acc, n_acc, &attr));
}

static void factor(const chol_t *ch)
{
    size_t nt = (ch->N + ch->B - 1) / ch->B, ld = ch->N;
    for (size_t k = 0; k < nt; k++) {
        /* potrf and trsm are on the critical path: let them jump the queue */
        kargs_t p = { .c = tile(ch, k, k), .n = ext(ch, k), .ld = ld };
        dt_access_t pa[] = { tile_acc(ch, DT_INOUT, k, k) };
        run(ch, T_POTRF, potrf, &p, pa, 1, 2, "potrf");

        for (size_t i = k + 1; i < nt; i++) {
            kargs_t t = { .c = tile(ch, i, k), .a = tile(ch, k, k),
                          .m = ext(ch, i), .n = ext(ch, k), .ld = ld };
            dt_access_t ta[] = { tile_acc(ch, DT_IN, k, k), tile_acc(ch, DT_INOUT, i, k) };
            run(ch, T_TRSM, trsm, &t, ta, 2, 1, "trsm");
        }
        for (size_t i = k + 1; i < nt; i++) {
            kargs_t s = { .c = tile(ch, i, i), .a = tile(ch, i, k),
                          .m = ext(ch, i), .k = ext(ch, k), .ld = ld };
            dt_access_t sa[] = { tile_acc(ch, DT_IN, i, k), tile_acc(ch, DT_INOUT, i, i) };
            run(ch, T_SYRK, syrk, &s, sa, 2, 0, "syrk");

            for (size_t j = k + 1; j < i; j++) {
                kargs_t g = { .c = tile(ch, i, j), .a = tile(ch, i, k), .b = tile(ch, j, k),
                              .m = ext(ch, i), .n = ext(ch, j), .k = ext(ch, k), .ld = ld };
                dt_access_t ga[] = { tile_acc(ch, DT_IN, i, k), tile_acc(ch, DT_IN, j, k),
                                     tile_acc(ch, DT_INOUT, i, j) };
                run(ch, T_GEMM, gemm, &g, ga, 3, 0, "gemm");
            }
        }
    }
    if (ch->tasked)
        CHECK(dt_taskwait());
}

/* a deterministic value in [0, 1) for the pair {i, j} (splitmix64) */
static double hash01(uint64_t i, uint64_t j)
{
    uint64_t z = (i < j ? i << 32 | j : j << 32 | i) + 0x9e3779b97f4a7c15u;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0;
}

/* |(L * L^T)[i][j] - A0[i][j]| for j <= i; L is the factor (lower triangle) */
static double llt_error(const double *L, const double *A0, size_t N, size_t i, size_t j)
{
    return fabs(dot(L + i * N, L + j * N, j + 1) - A0[i * N + j]);
}

static int app(int argc, char **argv)
{
    size_t N = 512, B = 64;
    if (argc > 3 || (argc > 1 && parse(argv[1], &N)) || (argc > 2 && parse(argv[2], &B))) {
        fprintf(stderr, "usage: cholesky [N] [B]   (positive integers, B <= N)\n");
        return 2;
    }
    if (B > N)
        B = N;

    size_t bytes = N * N * sizeof(double);
    double *A = dt_dmalloc(bytes);      /* factored by the tasks */
    double *A0 = malloc(bytes);         /* the original matrix */
    double *S = malloc(bytes);          /* factored sequentially */
    if (!A || !A0 || !S) {
        fprintf(stderr, "cholesky: out of memory for N=%zu (DT_DMEM_SIZE?)\n", N);
        return 1;
    }
    /* symmetric, diagonally dominant, hence positive definite */
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++)
            A0[i * N + j] = hash01(i, j) + (i == j ? (double)N : 0.0);
    memcpy(A, A0, bytes);
    memcpy(S, A0, bytes);

    double t0 = now();
    factor(&(chol_t){ A, N, B, 1 });
    double t1 = now();
    factor(&(chol_t){ S, N, B, 0 });
    double t2 = now();

    /* 1: the tasks computed what the sequential loop computed */
    double maxl = 0, diff = 0;
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j <= i; j++) {
            maxl = fmax(maxl, fabs(S[i * N + j]));
            diff = fmax(diff, fabs(A[i * N + j] - S[i * N + j]));
        }
    /* 2: L * L^T gives back the original: everywhere for small N, else sampled */
    double maxa = (double)N + 1, resid = 0;
    if (N <= 512) {
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j <= i; j++)
                resid = fmax(resid, llt_error(A, A0, N, i, j));
    } else {
        uint64_t rnd = 12345;
        for (int s = 0; s < 20000; s++) {
            rnd = rnd * 6364136223846793005u + 1442695040888963407u;
            size_t i = (rnd >> 33) % N, j = (rnd >> 13) % (i + 1);
            resid = fmax(resid, llt_error(A, A0, N, i, j));
        }
    }

    int ok = diff <= 1e-9 * maxl && resid <= 64 * N * DBL_EPSILON * maxa;
    printf("cholesky N=%zu B=%zu workers=%d tasked=%.3fs sequential=%.3fs speedup=%.2f ",
           N, B, dt_num_workers(), t1 - t0, t2 - t1, (t2 - t1) / (t1 - t0));
    if (ok)
        printf("verified\n");
    else
        printf("FAILED: max |tasked - sequential| = %.3g (max |L| %.3g), "
               "max |L*L^T - A| = %.3g\n", diff, maxl, resid);

    free(S);
    free(A0);
    CHECK(dt_dfree(A));
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    /* types are registered before dt_main so that every rank has the same table */
    CHECK(dt_type_register("potrf", potrf, &T_POTRF));
    CHECK(dt_type_register("trsm", trsm, &T_TRSM));
    CHECK(dt_type_register("syrk", syrk, &T_SYRK));
    CHECK(dt_type_register("gemm", gemm, &T_GEMM));
    int rc = dt_main(argc, argv, app);
    if (rc < 0) {
        fprintf(stderr, "cholesky: dt_main: %s\n", dt_strerror(rc));
        return 1;
    }
    return rc;
}
