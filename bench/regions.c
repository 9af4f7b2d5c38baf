/*
 * regions.c - what a 2-D region costs the dependency engine (libdtask only).
 *
 *   regions rows|tiles B SWEEPS REPS
 *
 * Heat's task graph with empty bodies: a grid of 16 x 16 tiles of B x B
 * doubles plus a border, each sweep one task per tile with an inout on its
 * tile and an in on each of its 4 halos (the row above, the row below, the
 * column left, the column right), a taskwait after each sweep.
 *   rows:  the grid row-major, as heat keeps it: a tile is a 2-D region of B
 *          rows, the left/right halos 2-D regions of B rows of 8 bytes.
 *   tiles: the same graph with every access a plain range: each tile
 *          contiguous, its halo pieces B doubles at the neighbour's edge.
 * Prints the median over REPS (after one warm-up) of the time per task,
 * creation, dependencies and release included; run it with 1 worker to see
 * the engine alone.  The two layouts have the same edges, so rows/tiles is
 * the cost of a 2-D region against a plain range's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dtask.h>

enum { T = 16 };

static dt_type_t t_empty;
static long ran;
static void empty(void *args) { (void)args; __atomic_add_fetch(&ran, 1, __ATOMIC_RELAXED); }

static void check(int rc, const char *what)
{
    if (rc != DT_OK) {
        fprintf(stderr, "regions: %s: %s\n", what, dt_strerror(rc));
        exit(1);
    }
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* rows: (T*B + 2)^2 doubles, row-major, border of one point */
static void sweep_rows(double *u, size_t B)
{
    size_t ld = T * B + 2, row = ld * sizeof(double), w = B * sizeof(double);
    for (size_t bi = 0; bi < T; bi++)
        for (size_t bj = 0; bj < T; bj++) {
            double *blk = u + (1 + bi * B) * ld + 1 + bj * B;
            dt_access_t acc[] = {
                { DT_INOUT, blk, w, B, row },
                { DT_IN, blk - ld, w, 0, 0 },
                { DT_IN, blk + B * ld, w, 0, 0 },
                { DT_IN, blk - 1, sizeof(double), B, row },
                { DT_IN, blk + B, sizeof(double), B, row },
            };
            check(dt_task_create(t_empty, NULL, 0, acc, 5, NULL), "dt_task_create");
        }
}

/* tiles: (T+2)^2 contiguous tiles of B*B doubles (a border of tiles) */
static void sweep_tiles(double *u, size_t B)
{
    size_t tb = B * B, w = B * sizeof(double);
#define TILE(i, j) (u + ((i) * (T + 2) + (j)) * tb)
    for (size_t bi = 1; bi <= T; bi++)
        for (size_t bj = 1; bj <= T; bj++) {
            dt_access_t acc[] = {
                { DT_INOUT, TILE(bi, bj), tb * sizeof(double), 0, 0 },
                { DT_IN, TILE(bi - 1, bj) + tb - B, w, 0, 0 },   /* last row above */
                { DT_IN, TILE(bi + 1, bj), w, 0, 0 },            /* first row below */
                { DT_IN, TILE(bi, bj - 1) + tb - 2 * B, w, 0, 0 }, /* an edge piece left */
                { DT_IN, TILE(bi, bj + 1) + B, w, 0, 0 },        /* an edge piece right */
            };
            check(dt_task_create(t_empty, NULL, 0, acc, 5, NULL), "dt_task_create");
        }
#undef TILE
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s rows|tiles B SWEEPS REPS\n", argv[0]);
        return 2;
    }
    int rows = !strcmp(argv[1], "rows");
    size_t B = strtoul(argv[2], NULL, 10);
    long sweeps = atol(argv[3]), reps = atol(argv[4]);
    if ((!rows && strcmp(argv[1], "tiles")) || B < 2 || sweeps < 1 || reps < 1 || reps > 99) {
        fprintf(stderr, "usage: %s rows|tiles B SWEEPS REPS\n", argv[0]);
        return 2;
    }
    check(dt_type_register("empty", empty, &t_empty), "dt_type_register");
    check(dt_init(&argc, &argv), "dt_init");
    size_t n = rows ? (T * B + 2) * (T * B + 2) : (T + 2) * (T + 2) * B * B;
    double *u = calloc(n, sizeof *u);
    if (!u) {
        fprintf(stderr, "regions: out of memory\n");
        return 1;
    }
    long long t[100];
    for (long r = 0; r <= reps; r++) {
        ran = 0;
        long long t0 = now_ns();
        for (long s = 0; s < sweeps; s++) {
            if (rows) sweep_rows(u, B);
            else sweep_tiles(u, B);
            check(dt_taskwait(), "dt_taskwait");
        }
        t[r] = now_ns() - t0;
        if (ran != sweeps * T * T) {
            fprintf(stderr, "regions: %ld tasks ran, expected %ld\n", ran, sweeps * T * T);
            return 1;
        }
    }
    qsort(t + 1, (size_t)reps, sizeof *t, cmp_ll);   /* t[0]: the warm-up */
    printf("bench=regions layout=%s B=%zu workers=%d tasks=%ld median_ns_per_task=%.1f runs=%ld\n",
           argv[1], B, dt_num_workers(), sweeps * T * T,
           (double)t[1 + reps / 2] / (double)(sweeps * T * T), reps);
    free(u);
    check(dt_finalize(), "dt_finalize");
    return 0;
}
