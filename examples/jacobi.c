/*
 * jacobi.c - Jacobi relaxation on an ordinary row-major grid, iterated until
 * it converges, with dt_taskiter_while.
 *
 * Two grids, a and b, of N x N interior points and a fixed boundary.  One
 * iteration relaxes a into b, then b into a, one task per B x B block and
 * direction.  Each task declares, as regions of the grids:
 *
 *   in         its block of the source grid with a one-point halo (a 2-D region)
 *   out        its block of the target grid                    (a 2-D region)
 *   reduction  max, f64, on the residual: the largest change it made
 *
 * dt_taskiter_while records one iteration, replays it in rounds of K
 * iterations and, after each round, calls converged(): the round's largest
 * change below the tolerance stops it (the residual is then reset for the
 * next round).  The sequential sweep runs the same rounds with the same test,
 * so both must stop after the same number of iterations with grids equal bit
 * for bit, which is the check.
 *
 *   usage: jacobi [N] [B] [max_iterations] [K]
 */
#include <dtask.h>

#define EXAMPLE_NAME "jacobi"
#include "example.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "grid.h"

#define TOL 1e-3

typedef struct {
    const double *src;
    double *dst, *res;
    size_t rows, cols, ld;
} block_t;

/* dst = the mean of the four neighbours in src; *res = max(*res, largest change) */
static void relax(void *p)
{
    const block_t *b = p;
    double *res = dt_reduction_ptr(b->res), m = *res;
    for (size_t i = 0; i < b->rows; i++) {
        const double *s = b->src + i * b->ld;
        double *d = b->dst + i * b->ld;
        for (size_t j = 0; j < b->cols; j++) {
            d[j] = 0.25 * (s[j - b->ld] + s[j + b->ld] + s[j - 1] + s[j + 1]);
            double c = fabs(d[j] - s[j]);
            if (c > m) m = c;
        }
    }
    *res = m;
}

static dt_type_t T_RELAX, T_ITER;

typedef struct {
    double *a, *b, *res;
    size_t N, B;
} grid_t;

static size_t ext(size_t N, size_t B, size_t i)
{
    return N - i * B < B ? N - i * B : B;
}

/* one iteration: a -> b, then b -> a */
static void iteration(void *p)
{
    const grid_t *g = p;
    size_t nb = (g->N + g->B - 1) / g->B, ld = g->N + 2, row = ld * sizeof(double);
    for (int dir = 0; dir < 2; dir++) {
        double *src = dir ? g->b : g->a, *dst = dir ? g->a : g->b;
        for (size_t bi = 0; bi < nb; bi++)
            for (size_t bj = 0; bj < nb; bj++) {
                size_t rows = ext(g->N, g->B, bi), cols = ext(g->N, g->B, bj);
                size_t at = (1 + bi * g->B) * ld + 1 + bj * g->B;
                block_t b = { src + at, dst + at, g->res, rows, cols, ld };
                dt_access_t acc[] = {
                    { DT_IN, src + at - ld - 1, (cols + 2) * sizeof(double), rows + 2, row },
                    { DT_OUT, dst + at, cols * sizeof(double), rows, row },
                    { DT_REDUCTION | DT_RED_MAX | DT_RED_F64, g->res, sizeof(double), 0, 0 },
                };
                CHECK(dt_task_create(T_RELAX, &b, sizeof b, acc, 3,
                                     &(dt_task_attr_t){ .node = DT_NODE_ANY, .label = "relax" }));
            }
    }
}

/* after each round: go on while the round changed some point by TOL or more */
static int not_converged(void *p)
{
    double *res = p;
    int go_on = *res >= TOL;
    *res = 0.0;
    return go_on;
}

static long sequential(double *a, double *b, size_t N, long max, long K)
{
    size_t ld = N + 2;
    double res = 0.0;
    long it = 0;
    while (it < max) {
        for (long k = 0; k < K && it < max; k++, it++) {
            block_t ab = { a + ld + 1, b + ld + 1, &res, N, N, ld };
            block_t ba = { b + ld + 1, a + ld + 1, &res, N, N, ld };
            relax(&ab);
            relax(&ba);
        }
        if (!not_converged(&res)) break;
    }
    return it;
}

static int app(int argc, char **argv)
{
    size_t N = 256, B = 64, max = 2000, K = 10;
    if (argc > 5 || (argc > 1 && parse(argv[1], &N)) || (argc > 2 && parse(argv[2], &B)) ||
        (argc > 3 && parse(argv[3], &max)) || (argc > 4 && parse(argv[4], &K))) {
        fprintf(stderr, "usage: jacobi [N] [B] [max_iterations] [K]   (positive integers)\n");
        return 2;
    }
    if (B > N)
        B = N;
    size_t bytes = (N + 2) * (N + 2) * sizeof(double);
    double *a = dt_dmalloc(bytes), *b = dt_dmalloc(bytes), *res = dt_dmalloc(sizeof(double));
    double *sa = malloc(bytes), *sb = malloc(bytes);
    if (!a || !b || !res || !sa || !sb) {
        fprintf(stderr, "jacobi: out of memory for N=%zu (DT_DMEM_SIZE?)\n", N);
        return 1;
    }
    grid_init(a, N, 1.0);
    memcpy(b, a, bytes);
    memcpy(sa, a, bytes);
    memcpy(sb, a, bytes);
    *res = 0.0;

    grid_t g = { a, b, res, N, B };
    long done = 0;
    double t0 = now();
    CHECK(dt_taskiter_while(T_ITER, &g, sizeof g, (long)max, (long)K, not_converged, res, &done));
    double t1 = now();
    long seq = sequential(sa, sb, N, (long)max, (long)K);
    double t2 = now();

    size_t bad = 0;
    for (size_t k = 0; k < (N + 2) * (N + 2); k++)
        bad += memcmp(&a[k], &sa[k], sizeof(double)) != 0 || memcmp(&b[k], &sb[k], sizeof(double)) != 0;
    printf("jacobi N=%zu B=%zu K=%zu workers=%d: %ld iterations (%s) tasked=%.3fs sequential=%.3fs "
           "speedup=%.2f ", N, B, K, dt_num_workers(), done, done < (long)max ? "converged" : "not converged",
           t1 - t0, t2 - t1, (t2 - t1) / (t1 - t0));
    if (!bad && done == seq)
        printf("verified\n");
    else
        printf("FAILED: %ld iterations, the sequential sweep %ld; %zu points differ\n", done, seq, bad);
    free(sa);
    free(sb);
    CHECK(dt_dfree(a));
    CHECK(dt_dfree(b));
    CHECK(dt_dfree(res));
    return !bad && done == seq ? 0 : 1;
}

int main(int argc, char **argv)
{
    CHECK(dt_type_register("jacobi-relax", relax, &T_RELAX));
    CHECK(dt_type_register("jacobi-iteration", iteration, &T_ITER));
    int rc = dt_main(argc, argv, app);
    if (rc < 0) {
        fprintf(stderr, "jacobi: dt_main: %s\n", dt_strerror(rc));
        return 1;
    }
    return rc;
}
