/*
 * heat.c - Gauss-Seidel heat diffusion with libdtask (the classic OmpSs-2
 * heat example, on an ordinary row-major grid).
 *
 * The grid holds N x N interior points and a fixed boundary of one point on
 * each side.  The interior is cut into B x B blocks; one task per block and
 * iteration updates its block in place, reading the neighbours' edges.  Each
 * task declares exactly what it touches, as regions of the one grid array:
 *
 *   inout  its block                  (a 2-D region: B rows of B points)
 *   in     the row above, the row below        (plain ranges of B points)
 *   in     the column left, the column right   (2-D regions: B rows of 1 point)
 *
 * dt_taskiter records the tasks of one sweep once and replays them as a
 * cyclic graph: the block of sweep t+1 starts as soon as its neighbours of
 * sweeps t and t+1 allow, so sweeps overlap as a wavefront.  Across ranks
 * (mpiexec -n R) the grid is written first by one task per rank on the rows
 * that live there, so the taskiter moves only the halos between bands; its
 * results come back to rank 0 with the dt_taskwait after it (timed too).
 *
 * The dependencies then give each block the same values a sequential sweep
 * would: updated values above and to the left, last iteration's below and to
 * the right.  That is also what a plain row-by-row sweep of the whole grid
 * reads at every point, so the tasked grid must equal, bit for bit, the grid
 * of the sequential sweep, which is the check.  N need not be a multiple of B.
 *
 *   usage: heat [N] [B] [iterations]
 */
#include <dtask.h>

#define EXAMPLE_NAME "heat"
#include "example.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "grid.h"   /* the starting grid, shared with bench/ and test/ */

/* a block of rows x cols points at u, rows ld points apart */
typedef struct {
    double *u;
    size_t rows, cols, ld;
} block_t;

/* one Gauss-Seidel sweep over the block, in place, row by row */
static void gauss_seidel(void *p)
{
    const block_t *b = p;
    size_t ld = b->ld;
    for (size_t i = 0; i < b->rows; i++) {
        double *r = b->u + i * ld;
        for (size_t j = 0; j < b->cols; j++)
            r[j] = 0.25 * (r[j - ld] + r[j + ld] + r[j - 1] + r[j + 1]);
    }
}

static dt_type_t T_GS;

/* rows (or columns) of block row i: the last one may be short */
static size_t ext(size_t N, size_t B, size_t i)
{
    return N - i * B < B ? N - i * B : B;
}

typedef struct {
    double *u;
    size_t N, B;
} sweep_t;

/* the body of one iteration: one task per block.  dt_taskiter runs it once
   to record these tasks and replays them every iteration */
static void sweep(void *p)
{
    const sweep_t *a = p;
    double *u = a->u;
    size_t N = a->N, B = a->B, nb = (N + B - 1) / B, ld = N + 2, row = ld * sizeof(double);
    for (size_t bi = 0; bi < nb; bi++)
        for (size_t bj = 0; bj < nb; bj++) {
            size_t rows = ext(N, B, bi), cols = ext(N, B, bj);
            double *blk = u + (1 + bi * B) * ld + 1 + bj * B;
            block_t b = { blk, rows, cols, ld };
            dt_access_t acc[] = {
                { DT_INOUT, blk, cols * sizeof(double), rows, row },
                { DT_IN, blk - ld, cols * sizeof(double), 0, 0 },          /* above */
                { DT_IN, blk + rows * ld, cols * sizeof(double), 0, 0 },   /* below */
                { DT_IN, blk - 1, sizeof(double), rows, row },             /* left */
                { DT_IN, blk + cols, sizeof(double), rows, row },          /* right */
            };
            CHECK(dt_task_create(T_GS, &b, sizeof b, acc, 5,
                                 &(dt_task_attr_t){ .node = DT_NODE_ANY, .label = "gauss-seidel" }));
        }
}

static dt_type_t T_SWEEP;

static void sweeps_tasked(double *u, size_t N, size_t B, long iterations)
{
    sweep_t a = { u, N, B };
    /* returns when every iteration has completed; across ranks the results
       stay where they were computed until rank 0 waits for them */
    CHECK(dt_taskiter(T_SWEEP, &a, sizeof a, iterations));
    CHECK(dt_taskwait());
}

/* The starting grid, each rank's band of rows (the block of the dt_dmalloc
 * array that lives there) written by a task on that rank, as an MPI
 * program's ranks write their own: the taskiter then finds its data in
 * place and moves only the halos between bands. */
typedef struct {
    double *u;
    size_t N, r0, r1;
} band_t;

static void init_band(void *p)
{
    const band_t *b = p;
    grid_init_rows(b->u, b->N, 100.0, b->r0, b->r1);
}

static dt_type_t T_INIT;

static void init_in_place(double *u, size_t N)
{
    size_t rows = N + 2, R = (size_t)dt_num_ranks();
    for (size_t r = 0; r < R; r++) {
        band_t b = { u, N, rows * r / R, rows * (r + 1) / R };
        dt_access_t acc = { DT_OUT, u + b.r0 * rows, (b.r1 - b.r0) * rows * sizeof *u, 0, 0 };
        dt_task_attr_t at = { 0, (int)r, "init", 0 };
        CHECK(dt_task_create(T_INIT, &b, sizeof b, &acc, 1, &at));
    }
}

static void sweeps_sequential(double *u, size_t N, long iterations)
{
    block_t all = { u + (N + 2) + 1, N, N, N + 2 };
    for (long it = 0; it < iterations; it++)
        gauss_seidel(&all);
}

static int app(int argc, char **argv)
{
    size_t N = 512, B = 64, iters = 10;
    if (argc > 4 || (argc > 1 && parse(argv[1], &N)) || (argc > 2 && parse(argv[2], &B)) ||
        (argc > 3 && parse(argv[3], &iters))) {
        fprintf(stderr, "usage: heat [N] [B] [iterations]   (positive integers, B <= N)\n");
        return 2;
    }
    if (B > N)
        B = N;

    size_t bytes = (N + 2) * (N + 2) * sizeof(double);
    double *u = dt_dmalloc(bytes);   /* swept by the tasks */
    double *s = malloc(bytes);       /* swept sequentially */
    if (!u || !s) {
        fprintf(stderr, "heat: out of memory for N=%zu (DT_DMEM_SIZE?)\n", N);
        return 1;
    }
    init_in_place(u, N);             /* tasks: they run while s is made */
    grid_init(s, N, 100.0);

    double t0 = now();
    sweeps_tasked(u, N, B, (long)iters);
    double t1 = now();
    sweeps_sequential(s, N, (long)iters);
    double t2 = now();

    size_t bad = 0, first = 0;
    for (size_t k = 0; k < (N + 2) * (N + 2); k++)
        if (memcmp(&u[k], &s[k], sizeof(double)) != 0 && bad++ == 0)
            first = k;

    printf("heat N=%zu B=%zu iterations=%zu workers=%d tasked=%.3fs sequential=%.3fs "
           "speedup=%.2f ", N, B, iters, dt_num_workers(), t1 - t0, t2 - t1,
           (t2 - t1) / (t1 - t0));
    if (bad == 0)
        printf("verified\n");
    else
        printf("FAILED: %zu points differ from the sequential sweep, first at row %zu "
               "column %zu: %.17g instead of %.17g\n", bad, first / (N + 2), first % (N + 2),
               u[first], s[first]);

    free(s);
    CHECK(dt_dfree(u));
    return bad == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    /* types are registered before dt_main so that every rank has the same table */
    CHECK(dt_type_register("gauss-seidel", gauss_seidel, &T_GS));
    CHECK(dt_type_register("heat-sweep", sweep, &T_SWEEP));
    CHECK(dt_type_register("heat-init", init_band, &T_INIT));
    int rc = dt_main(argc, argv, app);
    if (rc < 0) {
        fprintf(stderr, "heat: dt_main: %s\n", dt_strerror(rc));
        return 1;
    }
    return rc;
}
