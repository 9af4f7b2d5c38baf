/*
 * common.h - what the libdtask and StarPU-MPI drivers of bench/cluster share:
 * the tile kernels (those of examples/matmul.c and examples/cholesky.c, with
 * one leading dimension per operand because StarPU hands a task contiguous
 * copies of remote tiles, and packing an operand that lies inside a
 * row-major matrix, as a BLAS does: common.c), the matrix generators, and
 * the checks.
 * Matrices are row-major N x N doubles; ld is a row length in doubles.
 * In tile layout (the drivers' "tiles" option, as tile algorithms such as
 * PLASMA's store matrices) tile (i, j) is contiguous: B x B doubles at
 * T + (i * nt + j) * B * B, ld = B; generation and checks stay row-major.
 */
#ifndef BENCH_CLUSTER_COMMON_H
#define BENCH_CLUSTER_COMMON_H

#include <stddef.h>

/* c (m x n) += a (m x k) * b (k x n) */
void k_gemm_nn(double *c, size_t ldc, const double *a, size_t lda, const double *b, size_t ldb,
               size_t m, size_t n, size_t k);
/* c (n x n, lower) = chol(c) */
void k_potrf(double *c, size_t ldc, size_t n);
/* c (m x n) = c * a^-T, a the n x n lower factor */
void k_trsm(double *c, size_t ldc, const double *a, size_t lda, size_t m, size_t n);
/* c (m x m, lower) -= a * a^T, a m x k */
void k_syrk(double *c, size_t ldc, const double *a, size_t lda, size_t m, size_t k);
/* c (m x n) -= a * b^T, a m x k, b n x k */
void k_gemm_nt(double *c, size_t ldc, const double *a, size_t lda, const double *b, size_t ldb,
               size_t m, size_t n, size_t k);

/* rows (or columns) of tile row i: the last one may be short */
size_t tile_ext(size_t N, size_t B, size_t i);

/* tile (i, j) of a matrix in tile layout */
double *tile_at(double *T, size_t N, size_t B, size_t i, size_t j);
/* copies tile (i, j) from row-major M into tile layout T, or back */
void tile_from_rows(double *T, const double *M, size_t N, size_t B, size_t i, size_t j);
void tile_to_rows(double *M, const double *T, size_t N, size_t B, size_t i, size_t j);

/* matmul inputs: element (i, j) of matrix `which` (0 A, 1 B, 2 C), in [-1, 1) */
double mm_value(int which, size_t i, size_t j);
/* Cholesky input: symmetric, diagonally dominant */
double chol_value(size_t N, size_t i, size_t j);
/* fills the rows [r0, r1) x columns [c0, c1) of M with f */
void mm_fill(double *M, size_t N, int which, size_t r0, size_t r1, size_t c0, size_t c1);
void chol_fill(double *M, size_t N, size_t r0, size_t r1, size_t c0, size_t c1);

/* C = C0 + A * B?  4096 sampled entries must equal, bit for bit, the naive
   dot product in the same order as the tiled loop (C0 + sum over q ascending);
   and (Freivalds) C x = C0 x + A (B x) for a pseudo-random x within a rounding
   bound.  The inputs are regenerated.  Prints why on failure; 0 if right. */
int mm_check(const double *C, size_t N);
/* L L^T = A0?  20000 sampled entries of the lower triangle, and L (L^T x) = A0 x,
   within rounding bounds.  Only the lower triangle of L is read.  0 if right. */
int chol_check(const double *L, size_t N);

double now_s(void);

#endif
