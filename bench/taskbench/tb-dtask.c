/*
 * tb-dtask.c - Task Bench driver for libdtask.
 *
 * Outputs live in one dt_dmalloc array of depth x width records (depth 2:
 * double-buffered by step parity; trivial: one slot per task).  Task (t, p)
 * has DT_OUT on its own record and DT_IN on each dependency's record of step
 * t-1, one access per dependency.  Workers: DT_NUM_WORKERS (the main thread is
 * one of them).
 */
#include <dtask.h>
#include <stdio.h>
#include <stdlib.h>

#include "tb.h"

static dt_type_t task_type;
/* the graph being run and its records: read by the tasks */
static const tb_graph *cur_graph;
static tb_rec *cur_base;

typedef struct task_args {
    int32_t t, p;
} task_args_t;

static void task_fn(void *args)
{
    const task_args_t *a = args;
    tb_execute_at(cur_graph, a->t, a->p, cur_base);
}

static void check(int rc, const char *call)
{
    if (rc != DT_OK) {
        fprintf(stderr, "tb-dtask: %s: %s\n", call, dt_strerror(rc));
        exit(2);
    }
}

static int d_init(int *argc, char ***argv)
{
    check(dt_type_register("taskbench", task_fn, &task_type), "dt_type_register");
    check(dt_init(argc, argv), "dt_init");
    return 0;
}

static void d_fini(void)
{
    check(dt_finalize(), "dt_finalize");
}

static int d_rank(void) { return 0; }
static int d_nranks(void) { return 1; }
static int d_workers(void) { return dt_num_workers(); }

static void *d_prepare(const tb_graph *g)
{
    size_t n = (size_t)(g->depth * g->width);
    tb_rec *base = dt_dmalloc(n * sizeof *base);
    if (!base) {
        fprintf(stderr, "tb-dtask: dt_dmalloc(%zu) failed\n", n * sizeof *base);
        exit(2);
    }
    tb_records_clear(base, n);
    return base;
}

static void d_run(const tb_graph *g, void *state)
{
    tb_rec *base = state;
    dt_access_t acc[1 + TB_MAX_WIDTH];
    long deps[TB_MAX_WIDTH];

    cur_graph = g;
    cur_base = base;
    for (long t = 0; t < g->steps; t++) {
        long width = tb_width_at(g, t);
        for (long p = 0; p < width; p++) {
            int n = tb_deps(g, t, p, deps);
            task_args_t a = {(int32_t)t, (int32_t)p};
            acc[0] = (dt_access_t){DT_OUT, &base[tb_slot(g, t, p)], sizeof(tb_rec), 0, 0};
            for (int i = 0; i < n; i++)
                acc[1 + i] = (dt_access_t){DT_IN, &base[tb_slot(g, t - 1, deps[i])],
                                           sizeof(tb_rec), 0, 0};
            check(dt_task_create(task_type, &a, sizeof a, acc, (size_t)n + 1, NULL),
                  "dt_task_create");
        }
    }
    check(dt_taskwait(), "dt_taskwait");
}

static void d_release(const tb_graph *g, void *state)
{
    (void)g;
    check(dt_dfree(state), "dt_dfree");
}

int main(int argc, char **argv)
{
    static const tb_system sys = {
        .name = "dtask", .init = d_init, .fini = d_fini, .rank = d_rank, .nranks = d_nranks,
        .workers = d_workers, .prepare = d_prepare, .run = d_run, .release = d_release,
    };
    return tb_main(argc, argv, &sys);
}
