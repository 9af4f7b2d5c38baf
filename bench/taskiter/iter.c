/*
 * iter.c - dt_taskiter benchmarks.
 *
 *   iter heat N B T MODE      Gauss-Seidel heat (the sweep of examples/heat.c:
 *                             one DT_INOUT 2-D block, two halo rows, two
 *                             1-column halo 2-D regions per task) on an
 *                             (N+2)^2 row-major grid, T sweeps.  MODE: serial
 *                             (one plain sweep of the whole grid per
 *                             iteration), taskiter, placed (taskiter on a
 *                             grid each rank initialised its own band of, by
 *                             a task with a node hint, as heat-mpi's ranks
 *                             do), or loop (the same tasks created every
 *                             iteration, one taskwait).
 *   iter tasks N T MODE [cross]
 *                             N tasks per iteration, each DT_INOUT on its own
 *                             8-byte counter and doing nothing else, T
 *                             iterations; MODE taskiter or loop.  For the
 *                             per-task overhead (see run.sh: the instruction
 *                             counts of two T under callgrind, differenced;
 *                             pertask.sh: wall time across ranks).  On R
 *                             ranks task i has node hint i * R / N (blocks).
 *                             cross: task i also reads the counter of task
 *                             (i + N/2) mod N, its partner, and sets its own
 *                             to the partner's plus one: pairs of chains
 *                             across iterations, every edge between two
 *                             ranks when R is 2 or 4.
 *
 * heat prints seconds= (the sweeps; for taskiter, the dt_taskiter call) and
 * gather= (the dt_taskwait after it: across ranks, the results coming back
 * to rank 0, which heat-mpi does not time either).
 * Every run checks its result (heat: bit for bit against a serial sweep done
 * in the same process, untimed; tasks: every counter equals T) and exits 1
 * on a mismatch.  One result line: bench=... key=value ...
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dtask.h>
#include "../../examples/grid.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void check(int rc, const char *what)
{
    if (rc != DT_OK) {
        fprintf(stderr, "iter: %s: %s\n", what, dt_strerror(rc));
        exit(1);
    }
}

/* ---- heat ------------------------------------------------------------------ */

typedef struct { double *u; size_t rows, cols, ld; } block_t;
typedef struct { double *u; size_t N, B; } grid_t;
static dt_type_t T_GS, T_SWEEP, T_INC, T_TASKS, T_PAIR, T_INIT;

static void gauss_seidel(void *p)
{
    const block_t *b = p;
    for (size_t i = 0; i < b->rows; i++) {
        double *r = b->u + i * b->ld;
        for (size_t j = 0; j < b->cols; j++)
            r[j] = 0.25 * (r[j - b->ld] + r[j + b->ld] + r[j - 1] + r[j + 1]);
    }
}

static size_t ext(size_t N, size_t B, size_t i) { return N - i * B < B ? N - i * B : B; }

static void sweep(void *p)
{
    const grid_t *g = p;
    size_t nb = (g->N + g->B - 1) / g->B, ld = g->N + 2, row = ld * sizeof(double);
    for (size_t bi = 0; bi < nb; bi++)
        for (size_t bj = 0; bj < nb; bj++) {
            size_t rows = ext(g->N, g->B, bi), cols = ext(g->N, g->B, bj);
            double *blk = g->u + (1 + bi * g->B) * ld + 1 + bj * g->B;
            block_t b = { blk, rows, cols, ld };
            dt_access_t acc[] = {
                { DT_INOUT, blk, cols * sizeof(double), rows, row },
                { DT_IN, blk - ld, cols * sizeof(double), 0, 0 },
                { DT_IN, blk + rows * ld, cols * sizeof(double), 0, 0 },
                { DT_IN, blk - 1, sizeof(double), rows, row },
                { DT_IN, blk + cols, sizeof(double), rows, row },
            };
            check(dt_task_create(T_GS, &b, sizeof b, acc, 5, NULL), "dt_task_create");
        }
}

typedef struct { double *u; size_t N, r0, r1; } rows_t;

static void init_rows(void *p)
{
    const rows_t *r = p;
    grid_init_rows(r->u, r->N, 100.0, r->r0, r->r1);
}

/* placed: each rank's band of rows (the block dt_dmalloc gives it) is
 * written where it lives, by a task with a node hint, as heat-mpi's ranks
 * initialise their own bands; rank 0 writes its own band itself. */
static void init_placed(double *u, size_t N)
{
    size_t rows = N + 2, R = (size_t)dt_num_ranks();
    for (size_t r = 1; r < R; r++) {
        rows_t a = { u, N, rows * r / R, rows * (r + 1) / R };
        dt_access_t acc = { DT_OUT, u + a.r0 * rows, (a.r1 - a.r0) * rows * sizeof *u, 0, 0 };
        dt_task_attr_t at = { 0, (int)r, "init", 0 };
        check(dt_task_create(T_INIT, &a, sizeof a, &acc, 1, &at), "dt_task_create");
    }
    grid_init_rows(u, N, 100.0, 0, rows / R);
}

static int heat(size_t N, size_t B, long T, const char *mode)
{
    size_t bytes = (N + 2) * (N + 2) * sizeof(double);
    double *u = dt_dmalloc(bytes), *ref = malloc(bytes);
    if (!u || !ref) { fprintf(stderr, "iter: out of memory\n"); return 1; }
    bool placed = !strcmp(mode, "placed");
    if (placed) init_placed(u, N);
    else grid_init(u, N, 100.0);
    grid_init(ref, N, 100.0);
    block_t all = { ref + N + 3, N, N, N + 2 };
    for (long t = 0; t < T; t++) gauss_seidel(&all);          /* the check, untimed */
    grid_t g = { u, N, B };
    block_t whole = { u + N + 3, N, N, N + 2 };
    double t0 = now();
    if (!strcmp(mode, "serial")) {
        for (long t = 0; t < T; t++) gauss_seidel(&whole);
    } else if (!strcmp(mode, "taskiter") || placed) {
        check(dt_taskiter(T_SWEEP, &g, sizeof g, T), "dt_taskiter");
    } else {
        for (long t = 0; t < T; t++) sweep(&g);
        check(dt_taskwait(), "dt_taskwait");     /* the tasks run until here */
    }
    double secs = now() - t0;
    /* across ranks the results come back to rank 0 here (heat-mpi's
       gather is not timed either): timed apart */
    check(dt_taskwait(), "dt_taskwait");
    double gather = now() - t0 - secs;
    int ok = memcmp(u, ref, bytes) == 0;
    printf("bench=heat mode=%s N=%zu B=%zu T=%ld workers=%d seconds=%.4f gather=%.4f %s\n", mode, N, B, T,
           dt_num_workers(), secs, gather, ok ? "verified" : "WRONG");
    free(ref);
    check(dt_dfree(u), "dt_dfree");
    return !ok;
}

/* ---- per-task overhead --------------------------------------------------------- */

typedef struct { long *c; size_t n; int cross; } ctr_t;
typedef struct { long *mine; const long *partner; } pair_t;

static void inc(void *p) { ++**(long **)p; }
static void pair(void *p) { const pair_t *a = p; *a->mine = *a->partner + 1; }

static void create_all(void *p)
{
    const ctr_t *a = p;
    int nr = dt_num_ranks();
    for (size_t i = 0; i < a->n; i++) {
        long *c = a->c + 8 * i;                  /* a cache line each */
        pair_t pr = { c, a->c + 8 * ((i + a->n / 2) % a->n) };
        dt_access_t acc[2] = { { DT_INOUT, c, sizeof *c, 0, 0 }, { DT_IN, (void *)pr.partner, sizeof *c, 0, 0 } };
        dt_task_attr_t at = { 0, (int)(i * (size_t)nr / a->n), "tasks", 0 };
        /* one rank: no attribute, as the per-task figures always had */
        int r = a->cross ? dt_task_create(T_PAIR, &pr, sizeof pr, acc, 2, nr > 1 ? &at : NULL)
                         : dt_task_create(T_INC, &c, sizeof c, acc, 1, nr > 1 ? &at : NULL);
        check(r, "dt_task_create");
    }
}

static int tasks(size_t n, long T, const char *mode, int cross)
{
    long *c = dt_dmalloc(8 * n * sizeof *c);
    if (!c) return 1;
    memset(c, 0, 8 * n * sizeof *c);
    ctr_t a = { c, n, cross };
    double t0 = now();
    if (!strcmp(mode, "taskiter")) {
        check(dt_taskiter(T_TASKS, &a, sizeof a, T), "dt_taskiter");
    } else {
        for (long t = 0; t < T; t++) create_all(&a);
        check(dt_taskwait(), "dt_taskwait");
    }
    double secs = now() - t0;
    check(dt_taskwait(), "dt_taskwait");        /* a taskiter's results come back to rank 0 (untimed) */
    int ok = 1;
    /* cross: in each pair the earlier task reads its partner's value of the
       previous iteration, the later one this iteration's: 2T - 1 and 2T */
    for (size_t i = 0; i < n; i++)
        ok &= c[8 * i] == (!cross ? T : i < (i + n / 2) % n ? 2 * T - 1 : 2 * T);
    printf("bench=tasks mode=%s edges=%s n=%zu T=%ld ranks=%d workers=%d seconds=%.4f ns_per_task=%.1f %s\n",
           mode, cross ? "cross" : "none", n, T, dt_num_ranks(), dt_num_workers(), secs,
           secs * 1e9 / ((double)n * (double)T), ok ? "verified" : "WRONG");
    check(dt_dfree(c), "dt_dfree");
    return !ok;
}

static int app(int argc, char **argv)
{
    return !strcmp(argv[1], "heat")
               ? heat(strtoul(argv[2], NULL, 10), strtoul(argv[3], NULL, 10), strtol(argv[4], NULL, 10), argv[5])
               : tasks(strtoul(argv[2], NULL, 10), strtol(argv[3], NULL, 10), argv[4], argc == 6);
}

int main(int argc, char **argv)
{
    check(dt_type_register("gauss-seidel", gauss_seidel, &T_GS), "dt_type_register");
    check(dt_type_register("sweep", sweep, &T_SWEEP), "dt_type_register");
    check(dt_type_register("inc", inc, &T_INC), "dt_type_register");
    check(dt_type_register("create-all", create_all, &T_TASKS), "dt_type_register");
    check(dt_type_register("pair", pair, &T_PAIR), "dt_type_register");
    check(dt_type_register("init-rows", init_rows, &T_INIT), "dt_type_register");
    int heat_args = argc == 6 && !strcmp(argv[1], "heat");
    /* cross pairs task i with i + N/2: N even */
    int task_args = (argc == 5 || (argc == 6 && !strcmp(argv[5], "cross") && strtoul(argv[2], NULL, 10) % 2 == 0)) &&
                    !strcmp(argv[1], "tasks");
    const char *mode = heat_args ? argv[5] : argc >= 5 ? argv[4] : "";
    if ((!heat_args && !task_args) || (strcmp(mode, "taskiter") && strcmp(mode, "loop") &&
                                       (task_args || (strcmp(mode, "serial") && strcmp(mode, "placed"))))) {
        fprintf(stderr, "usage: iter heat N B T serial|taskiter|placed|loop\n"
                        "       iter tasks N T taskiter|loop [cross]   (cross: N even)\n");
        return 2;
    }
    /* dt_main: under mpiexec.mpich -n R, rank 0 runs the program and
       dt_taskiter is distributed (bench/taskiter/dist.sh) */
    int rc = dt_main(argc, argv, app);
    if (rc < 0) check(rc, "dt_main");
    return rc;
}
