/*
 * tb-omp.c - Task Bench driver for OpenMP tasks (gcc's libgomp).
 *
 * Same records as the libdtask driver (one malloc'd depth x width array); one
 * `omp task` per graph task with depend(out:) on its own record and
 * depend(in:) on each dependency's record, created inside `omp single`, then
 * one taskwait.  Threads: OMP_NUM_THREADS (the creating thread is one).
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "tb.h"

static int o_init(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static void o_fini(void) {}
static int o_rank(void) { return 0; }
static int o_nranks(void) { return 1; }
static int o_workers(void) { return omp_get_max_threads(); }

static void *o_prepare(const tb_graph *g)
{
    size_t n = (size_t)(g->depth * g->width);
    tb_rec *base = malloc(n * sizeof *base);
    if (!base) {
        fprintf(stderr, "tb-omp: out of memory\n");
        exit(2);
    }
    tb_records_clear(base, n);
    return base;
}

static void o_run(const tb_graph *g, void *state)
{
    tb_rec *base = state;

#pragma omp parallel
#pragma omp single
    {
        long deps[TB_MAX_WIDTH];
        tb_rec *in[TB_MAX_WIDTH];
        for (long t = 0; t < g->steps; t++) {
            long width = tb_width_at(g, t);
            for (long p = 0; p < width; p++) {
                int n = tb_deps(g, t, p, deps);
                tb_rec *out = &base[tb_slot(g, t, p)];
                for (int i = 0; i < n; i++)
                    in[i] = &base[tb_slot(g, t - 1, deps[i])];
#pragma omp task firstprivate(t, p) depend(out: *out) depend(iterator(i = 0:n), in: *in[i])
                tb_execute_at(g, t, p, base);
            }
        }
#pragma omp taskwait
    }
}

static void o_release(const tb_graph *g, void *state)
{
    (void)g;
    free(state);
}

int main(int argc, char **argv)
{
    static const tb_system sys = {
        .name = "gomp", .init = o_init, .fini = o_fini, .rank = o_rank, .nranks = o_nranks,
        .workers = o_workers, .prepare = o_prepare, .run = o_run, .release = o_release,
    };
    return tb_main(argc, argv, &sys);
}
