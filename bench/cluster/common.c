/* common.c - kernels, generators and checks of bench/cluster (see common.h). */
#include "common.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* An operand inside a row-major matrix has rows N doubles apart: with N a
 * power of two they fall into a few cache sets and evict each other (a
 * 256 x 256 tile of a 2048-wide matrix ran 10-16% slower than the same
 * tile stored contiguously, with one process and no runtime involved).
 * Like a BLAS, the kernels first copy an operand they sweep repeatedly into
 * a contiguous per-thread buffer, so the row-major and tile layouts compare
 * what the runtime does with their regions, not the cache's associativity. */
static _Thread_local struct { double *buf; size_t cap; } pack_bufs[2];

static const double *packed(int which, const double *a, size_t lda, size_t rows, size_t cols)
{
    if (lda == cols) return a;
    if (pack_bufs[which].cap < rows * cols) {
        free(pack_bufs[which].buf);
        pack_bufs[which].cap = rows * cols;
        pack_bufs[which].buf = malloc(rows * cols * sizeof(double));
        if (!pack_bufs[which].buf) {
            fprintf(stderr, "bench: out of memory for a %zu x %zu operand\n", rows, cols);
            exit(1);
        }
    }
    double *p = pack_bufs[which].buf;
    for (size_t r = 0; r < rows; r++) memcpy(p + r * cols, a + r * lda, cols * sizeof *p);
    return p;
}

void k_gemm_nn(double *c, size_t ldc, const double *a, size_t lda, const double *b, size_t ldb,
               size_t m, size_t n, size_t k)
{
    b = packed(0, b, ldb, k, n);
    ldb = n;
    for (size_t i = 0; i < m; i++) {
        double *ci = c + i * ldc;
        for (size_t q = 0; q < k; q++) {
            double aiq = a[i * lda + q];
            const double *bq = b + q * ldb;
            for (size_t j = 0; j < n; j++)
                ci[j] += aiq * bq[j];
        }
    }
}

void k_potrf(double *out, size_t ldo, size_t n)
{
    double *c = (double *)packed(0, out, ldo, n, n);
    size_t ld = n;
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
    for (size_t r = 0; c != out && r < n; r++) memcpy(out + r * ldo, c + r * n, n * sizeof *c);
}

void k_trsm(double *c, size_t ldc, const double *a, size_t lda, size_t m, size_t n)
{
    a = packed(0, a, lda, n, n);
    lda = n;
    for (size_t i = 0; i < m; i++) {
        double *ri = c + i * ldc;
        for (size_t j = 0; j < n; j++) {
            const double *lj = a + j * lda;
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

void k_syrk(double *c, size_t ldc, const double *a, size_t lda, size_t m, size_t k)
{
    a = packed(0, a, lda, m, k);
    lda = k;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j <= i; j++)
            c[i * ldc + j] -= dot(a + i * lda, a + j * lda, k);
}

void k_gemm_nt(double *c, size_t ldc, const double *a, size_t lda, const double *b, size_t ldb,
               size_t m, size_t n, size_t k)
{
    a = packed(0, a, lda, m, k);
    b = packed(1, b, ldb, n, k);
    lda = ldb = k;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++)
            c[i * ldc + j] -= dot(a + i * lda, b + j * ldb, k);
}

size_t tile_ext(size_t N, size_t B, size_t i)
{
    return N - i * B < B ? N - i * B : B;
}

static size_t tile_offset(size_t N, size_t B, size_t i, size_t j)
{
    return (i * ((N + B - 1) / B) + j) * B * B;
}

double *tile_at(double *T, size_t N, size_t B, size_t i, size_t j) { return T + tile_offset(N, B, i, j); }

static void copy_rows(double *d, size_t ldd, const double *s, size_t lds, size_t rows, size_t cols)
{
    for (size_t r = 0; r < rows; r++) memcpy(d + r * ldd, s + r * lds, cols * sizeof *d);
}

void tile_from_rows(double *T, const double *M, size_t N, size_t B, size_t i, size_t j)
{
    copy_rows(T + tile_offset(N, B, i, j), B, M + i * B * N + j * B, N, tile_ext(N, B, i), tile_ext(N, B, j));
}

void tile_to_rows(double *M, const double *T, size_t N, size_t B, size_t i, size_t j)
{
    copy_rows(M + i * B * N + j * B, N, T + tile_offset(N, B, i, j), B, tile_ext(N, B, i), tile_ext(N, B, j));
}

static uint64_t mix(uint64_t z)
{
    z += 0x9e3779b97f4a7c15u;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

double mm_value(int which, size_t i, size_t j)
{
    uint64_t z = mix((uint64_t)which << 50 ^ (uint64_t)i << 25 ^ (uint64_t)j);
    return (double)(z >> 11) / 4503599627370496.0 - 1.0;
}

double chol_value(size_t N, size_t i, size_t j)
{
    uint64_t z = mix(i < j ? (uint64_t)i << 32 | j : (uint64_t)j << 32 | i);
    return (double)(z >> 11) / 9007199254740992.0 + (i == j ? (double)N : 0.0);
}

void mm_fill(double *M, size_t N, int which, size_t r0, size_t r1, size_t c0, size_t c1)
{
    for (size_t i = r0; i < r1; i++)
        for (size_t j = c0; j < c1; j++)
            M[i * N + j] = mm_value(which, i, j);
}

void chol_fill(double *M, size_t N, size_t r0, size_t r1, size_t c0, size_t c1)
{
    for (size_t i = r0; i < r1; i++)
        for (size_t j = c0; j < c1; j++)
            M[i * N + j] = chol_value(N, i, j);
}

double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* the probe vector of the Freivalds checks */
static double *probe(size_t N)
{
    double *x = malloc(N * sizeof *x);
    if (x)
        for (size_t i = 0; i < N; i++)
            x[i] = mm_value(3, i, 0);
    return x;
}

int mm_check(const double *C, size_t N)
{
    double *A = malloc(N * N * sizeof *A), *Bm = malloc(N * N * sizeof *Bm);
    double *x = probe(N), *bx = calloc(N, sizeof *bx), *abx = calloc(N, sizeof *abx);
    if (!A || !Bm || !x || !bx || !abx) {
        fprintf(stderr, "mm_check: out of memory\n");
        exit(1);
    }
    mm_fill(A, N, 0, 0, N, 0, N);
    mm_fill(Bm, N, 1, 0, N, 0, N);
    /* 1: sampled entries, same operation order as the tiles: bit-exact */
    size_t differ = 0;
    uint64_t rnd = 12345;
    for (int s = 0; s < 4096; s++) {
        rnd = mix(rnd);
        size_t i = (rnd >> 20) % N, j = (rnd >> 40) % N;
        double v = mm_value(2, i, j);
        for (size_t q = 0; q < N; q++)
            v += A[i * N + q] * Bm[q * N + j];
        differ += v != C[i * N + j];
    }
    /* 2: C x - C0 x - A (B x), against the same sums in absolute values */
    double worst = 0;
    for (size_t q = 0; q < N; q++)
        for (size_t j = 0; j < N; j++) {
            bx[q] += Bm[q * N + j] * x[j];
            abx[q] += fabs(Bm[q * N + j] * x[j]);
        }
    for (size_t i = 0; i < N; i++) {
        double cx = 0, c0x = 0, a_bx = 0, bound = 0;
        for (size_t j = 0; j < N; j++) {
            double c0 = mm_value(2, i, j);
            cx += C[i * N + j] * x[j];
            c0x += c0 * x[j];
            a_bx += A[i * N + j] * bx[j];
            bound += fabs(C[i * N + j] * x[j]) + fabs(c0 * x[j]) + fabs(A[i * N + j]) * abx[j];
        }
        double e = fabs(cx - c0x - a_bx) / (4.0 * (double)N * DBL_EPSILON * bound + DBL_MIN);
        worst = fmax(worst, e);
    }
    free(abx);
    free(bx);
    free(x);
    free(Bm);
    free(A);
    if (differ || !(worst <= 1.0)) {
        fprintf(stderr, "mm_check: %zu of 4096 sampled entries differ; Freivalds residual "
                        "%.3g x its rounding bound\n", differ, worst);
        return 1;
    }
    return 0;
}

int chol_check(const double *L, size_t N)
{
    double maxa = (double)N + 1, resid = 0;
    uint64_t rnd = 12345;
    for (int s = 0; s < 20000; s++) {
        rnd = mix(rnd);
        size_t i = (rnd >> 20) % N, j = (rnd >> 40) % (i + 1);
        resid = fmax(resid, fabs(dot(L + i * N, L + j * N, j + 1) - chol_value(N, i, j)));
    }
    /* L (L^T x) against A0 x */
    double *x = probe(N), *ltx = calloc(N, sizeof *ltx), *abs_ltx = calloc(N, sizeof *abs_ltx);
    if (!x || !ltx || !abs_ltx) {
        fprintf(stderr, "chol_check: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j <= i; j++) {   /* (L^T x)[j] += L[i][j] x[i] */
            ltx[j] += L[i * N + j] * x[i];
            abs_ltx[j] += fabs(L[i * N + j] * x[i]);
        }
    double worst = 0;
    for (size_t i = 0; i < N; i++) {
        double l = 0, a = 0, bound = 0;
        for (size_t j = 0; j <= i; j++) {
            l += L[i * N + j] * ltx[j];
            bound += fabs(L[i * N + j]) * abs_ltx[j];
        }
        for (size_t j = 0; j < N; j++) {
            double v = chol_value(N, i, j);
            a += v * x[j];
            bound += fabs(v * x[j]);
        }
        worst = fmax(worst, fabs(l - a) / (64.0 * (double)N * DBL_EPSILON * bound + DBL_MIN));
    }
    free(abs_ltx);
    free(ltx);
    free(x);
    int ok = resid <= 64 * N * DBL_EPSILON * maxa && worst <= 1.0;
    if (!ok)
        fprintf(stderr, "chol_check: max sampled |L L^T - A| = %.3g (bound %.3g); "
                        "Freivalds residual %.3g x its rounding bound\n",
                resid, 64 * N * DBL_EPSILON * maxa, worst);
    return !ok;
}
