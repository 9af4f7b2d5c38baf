/*
 * tb-dtask-cluster.c - Task Bench driver for libdtask across ranks
 * (dt_main: rank 0 creates the graph, the library places, offloads and, with
 * DT_STEAL=1, steals its tasks; the other ranks serve).
 *
 *   mpiexec.mpich -n 2 tb-dtask-cluster [tb options]
 *
 * Tasks, accesses and records are tb-dtask.c's (one dt_dmalloc array of
 * depth x width records, DT_OUT on the task's own, DT_IN on each input),
 * without node hints: where a task runs is DT_SCHEDULE's (and DT_STEAL's).
 * A task carries its graph in its args (it may run on any rank).  Each
 * rank's task counters are reset before a timed run and summed after it by
 * one pinned task per rank, outside the timed part (through tb_system's
 * allreduce, which therefore sums counters only: no --stop-below).
 */
#include <dtask.h>
#include <stdio.h>
#include <stdlib.h>

#include "tb.h"

static dt_type_t task_type, reset_type, collect_type;

typedef struct task_args {
    tb_graph g;
    tb_rec *base;
    int32_t t, p;
} task_args_t;

static void task_fn(void *args)
{
    const task_args_t *a = args;
    tb_execute_at(&a->g, a->t, a->p, a->base);
}

static void reset_fn(void *args)
{
    (void)args;
    tb_counters_reset();
}

/* args: where this rank's counters go */
static void collect_fn(void *args)
{
    uint64_t *out = *(uint64_t **)args;
    tb_counters_collect(out);
}

static void check(int rc, const char *call)
{
    if (rc != DT_OK) {
        fprintf(stderr, "tb-dtask-cluster: %s: %s\n", call, dt_strerror(rc));
        exit(2);
    }
}

static int d_init(int *argc, char ***argv) { (void)argc, (void)argv; return 0; }
static void d_fini(void) {}
static int d_rank(void) { return 0; }
static int d_nranks(void) { return dt_num_ranks(); }
static int d_workers(void) { return dt_num_workers(); }

/* one pinned task per other rank */
static void on_others(dt_type_t type, uint64_t *slots)
{
    for (int r = 1; r < dt_num_ranks(); r++) {
        uint64_t *mine = slots + 2 * r;
        dt_access_t acc = {DT_OUT, mine, 2 * sizeof *mine, 0, 0};
        dt_task_attr_t at = {0, r, "counters", 0};
        check(dt_task_create(type, &mine, sizeof mine, &acc, 1, &at), "dt_task_create");
    }
    check(dt_taskwait(), "dt_taskwait");
}

static uint64_t *slots;

static void *d_prepare(const tb_graph *g)
{
    size_t n = (size_t)(g->depth * g->width);
    tb_rec *base = dt_dmalloc(n * sizeof *base);
    if (!base) {
        fprintf(stderr, "tb-dtask-cluster: dt_dmalloc(%zu) failed\n", n * sizeof *base);
        exit(2);
    }
    tb_records_clear(base, n);
    on_others(reset_type, slots);
    return base;
}

static void d_run(const tb_graph *g, void *state)
{
    tb_rec *base = state;
    dt_access_t acc[1 + TB_MAX_WIDTH];
    long deps[TB_MAX_WIDTH];
    for (long t = 0; t < g->steps; t++) {
        long width = tb_width_at(g, t);
        for (long p = 0; p < width; p++) {
            int n = tb_deps(g, t, p, deps);
            task_args_t a = {*g, base, (int32_t)t, (int32_t)p};
            acc[0] = (dt_access_t){DT_OUT, &base[tb_slot(g, t, p)], sizeof(tb_rec), 0, 0};
            for (int i = 0; i < n; i++)
                acc[1 + i] = (dt_access_t){DT_IN, &base[tb_slot(g, t - 1, deps[i])], sizeof(tb_rec), 0, 0};
            check(dt_task_create(task_type, &a, sizeof a, acc, (size_t)n + 1, NULL), "dt_task_create");
        }
    }
    check(dt_taskwait(), "dt_taskwait");
}

/* rank 0's counters plus the others' */
static void d_allreduce(uint64_t v[2])
{
    on_others(collect_type, slots);
    for (int r = 1; r < dt_num_ranks(); r++) {
        v[0] += slots[2 * r];
        v[1] += slots[2 * r + 1];
    }
}

static void d_release(const tb_graph *g, void *state)
{
    (void)g;
    check(dt_dfree(state), "dt_dfree");
}

static const tb_system sys = {
    .name = "dtask-cluster", .init = d_init, .fini = d_fini, .rank = d_rank, .nranks = d_nranks,
    .workers = d_workers, .prepare = d_prepare, .run = d_run, .release = d_release,
    .allreduce = d_allreduce,
};

static int app(int argc, char **argv)
{
    slots = dt_dmalloc(2 * sizeof *slots * (size_t)dt_num_ranks());
    if (!slots) return 2;
    int rc = tb_main(argc, argv, &sys);
    dt_dfree(slots);
    return rc;
}

int main(int argc, char **argv)
{
    check(dt_type_register("taskbench", task_fn, &task_type), "dt_type_register");
    check(dt_type_register("tb-reset", reset_fn, &reset_type), "dt_type_register");
    check(dt_type_register("tb-collect", collect_fn, &collect_type), "dt_type_register");
    int rc = dt_main(argc, argv, app);
    if (rc < 0) fprintf(stderr, "tb-dtask-cluster: dt_main: %s\n", dt_strerror(rc));
    return rc != 0;
}
