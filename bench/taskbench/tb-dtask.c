/*
 * tb-dtask.c - Task Bench driver for libdtask.
 *
 *   tb-dtask [--taskiter] [tb options]              one rank
 *   mpiexec.mpich -n R tb-dtask [--taskiter] ...    R ranks (dt_main)
 *
 * Outputs live in one dt_dmalloc array of depth x width records (depth 2:
 * double-buffered by step parity; trivial: one slot per task).  Task (t, p)
 * has DT_OUT on its own record and DT_IN on each dependency's record of step
 * t-1, one access per dependency.  Workers: DT_NUM_WORKERS per rank (the main
 * thread is one of them).  The program runs through dt_main: on several ranks
 * rank 0 creates the tasks, each with a node hint by block of columns (point
 * p on rank p * R / width, as tb-mpi), and the other ranks run theirs.
 *
 * --taskiter: the graph is periodic in t (from step 1 on) with a period P
 * that is a multiple of the double-buffer depth 2 (2 for most patterns, the
 * lcm with the spread period or the fft's number of sets), so P steps are one
 * dt_taskiter body, replayed steps / P times; the steps left over are created
 * as plain tasks afterwards.  The body declares each task's accesses as at
 * step P + j (step 0 thus also declares inputs it does not read: a superset,
 * harmless), and a replayed task advances its own step by P in its arguments
 * (dt_taskiter(3): a task's argument copy persists across iterations).
 * trivial (a record per task) and tree (its width grows) are not periodic.
 *
 * Every rank keeps its own per-thread checksums: a setup task on each rank
 * (node hint) hands it the graph and resets them, and a collect task on each
 * rank returns them through dt_dmalloc memory.
 */
#include <dtask.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb.h"

static dt_type_t task_type, body_type, setup_type, collect_type;
static int use_taskiter;
/* the graph being run and its records: this rank's copy, set by setup_fn */
static tb_graph cur_graph;
static tb_rec *cur_base;

typedef struct task_args {
    int32_t t, p, inc;    /* inc: P for a replayed task, 0 for a created one */
} task_args_t;

typedef struct setup_args {
    tb_graph g;
    tb_rec *base;
} setup_args_t;

typedef struct body_args {
    tb_graph g;
    tb_rec *base;
    long period;
} body_args_t;

typedef struct state {
    tb_rec *base;
    uint64_t *sums;        /* dt_dmalloc: 2 per rank, filled by collect_fn */
} state_t;

static void check(int rc, const char *call)
{
    if (rc != DT_OK) {
        fprintf(stderr, "tb-dtask: %s: %s\n", call, dt_strerror(rc));
        exit(2);
    }
}

static void task_fn(void *args)
{
    task_args_t *a = args;
    tb_execute_at(&cur_graph, a->t, a->p, cur_base);
    a->t += a->inc;
}

static void setup_fn(void *args)
{
    const setup_args_t *a = args;
    cur_graph = a->g;
    cur_base = a->base;
    tb_counters_reset();
}

static void collect_fn(void *args)
{
    tb_counters_collect(*(uint64_t **)args);
}

/* One task per rank (node hint), then a wait: the setup task with the graph,
   or the collect task writing its rank's two counters into sums[2r, 2r+1]
   (DT_OUT: they come back to rank 0 with the wait). */
static void on_every_rank(const setup_args_t *setup, uint64_t *sums)
{
    for (int r = 0; r < dt_num_ranks(); r++) {
        dt_task_attr_t at = {0, r, setup ? "tb-setup" : "tb-collect", 0};
        if (setup) {
            check(dt_task_create(setup_type, setup, sizeof *setup, NULL, 0, &at),
                  "dt_task_create");
        } else {
            uint64_t *mine = sums + 2 * r;
            dt_access_t acc = {DT_OUT, mine, 2 * sizeof *mine, 0, 0};
            check(dt_task_create(collect_type, &mine, sizeof mine, &acc, 1, &at),
                  "dt_task_create");
        }
    }
    check(dt_taskwait(), "dt_taskwait");
}

/* Task (t, p), its accesses those of step `shape` (t itself, or P + j in a
   taskiter body), its step advancing by inc after each run. */
static void create_task(const tb_graph *g, tb_rec *base, long t, long shape, long p, long inc)
{
    dt_access_t acc[1 + TB_MAX_WIDTH];
    long deps[TB_MAX_WIDTH];
    int n = tb_deps(g, shape, p, deps), nr = dt_num_ranks();
    task_args_t a = {(int32_t)t, (int32_t)p, (int32_t)inc};
    dt_task_attr_t at = {0, (int)(p * nr / g->width), "tb", 0};

    acc[0] = (dt_access_t){DT_OUT, &base[tb_slot(g, shape, p)], sizeof(tb_rec), 0, 0};
    for (int i = 0; i < n; i++)
        acc[1 + i] = (dt_access_t){DT_IN, &base[tb_slot(g, shape - 1, deps[i])],
                                   sizeof(tb_rec), 0, 0};
    /* one rank: no attribute, as before the driver ran across ranks */
    check(dt_task_create(task_type, &a, sizeof a, acc, (size_t)n + 1, nr > 1 ? &at : NULL),
          "dt_task_create");
}

static void body_fn(void *args)
{
    const body_args_t *b = args;
    for (long j = 0; j < b->period; j++)
        for (long p = 0; p < b->g.width; p++)
            create_task(&b->g, b->base, j, b->period + j, p, b->period);
}

/* steps of the graph repeat with this period from step 1 on; 0: never */
static long period(const tb_graph *g)
{
    long q = g->pattern == TB_SPREAD ? g->period : g->pattern == TB_FFT ? g->nsets : 1;
    if (g->pattern == TB_TRIVIAL || g->pattern == TB_TREE || g->depth != 2)
        return 0;
    return q % 2 ? 2 * q : q;
}

static int d_init(int *argc, char ***argv)
{
    (void)argc, (void)argv;   /* dt_main did it */
    return 0;
}

static void d_fini(void) {}
static int d_rank(void) { return dt_rank(); }
static int d_nranks(void) { return dt_num_ranks(); }
static int d_workers(void) { return dt_num_workers(); }

static void *d_prepare(const tb_graph *g)
{
    size_t n = (size_t)(g->depth * g->width), nr = (size_t)dt_num_ranks();
    state_t *s = malloc(sizeof *s);
    if (use_taskiter && !period(g)) {
        fprintf(stderr, "tb-dtask: --taskiter: the graph of this pattern is not periodic "
                        "(trivial, tree)\n");
        exit(2);
    }
    if (!s || !(s->base = dt_dmalloc(n * sizeof *s->base)) ||
        !(s->sums = dt_dmalloc(2 * nr * sizeof *s->sums))) {
        fprintf(stderr, "tb-dtask: out of memory\n");
        exit(2);
    }
    tb_records_clear(s->base, n);
    setup_args_t a = {*g, s->base};
    on_every_rank(&a, NULL);
    return s;
}

static void d_run(const tb_graph *g, void *state)
{
    state_t *s = state;
    long t = 0, per = period(g);

    if (use_taskiter && g->steps >= per) {
        body_args_t b = {*g, s->base, per};
        check(dt_taskiter(body_type, &b, sizeof b, g->steps / per), "dt_taskiter");
        t = g->steps / per * per;
    }
    for (; t < g->steps; t++)
        for (long p = 0; p < tb_width_at(g, t); p++)
            create_task(g, s->base, t, t, p, 0);
    check(dt_taskwait(), "dt_taskwait");
}

static void d_collect(void *state, uint64_t sum_tasks[2])
{
    state_t *s = state;
    on_every_rank(NULL, s->sums);
    sum_tasks[0] = sum_tasks[1] = 0;
    for (int r = 0; r < dt_num_ranks(); r++) {
        sum_tasks[0] += s->sums[2 * r];
        sum_tasks[1] += s->sums[2 * r + 1];
    }
}

static void d_release(const tb_graph *g, void *state)
{
    state_t *s = state;
    (void)g;
    check(dt_dfree(s->base), "dt_dfree");
    check(dt_dfree(s->sums), "dt_dfree");
    free(s);
}

static tb_system sys = {
    .name = "dtask", .init = d_init, .fini = d_fini, .rank = d_rank, .nranks = d_nranks,
    .workers = d_workers, .prepare = d_prepare, .run = d_run, .release = d_release,
    .collect = d_collect,
};

static int app(int argc, char **argv)
{
    return tb_main(argc, argv, &sys);
}

int main(int argc, char **argv)
{
    int k = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--taskiter"))
            use_taskiter = 1;
        else
            argv[k++] = argv[i];
    }
    argc = k;
    argv[argc] = NULL;
    if (use_taskiter)
        sys.name = "dtask-iter";
    check(dt_type_register("taskbench", task_fn, &task_type), "dt_type_register");
    check(dt_type_register("taskbench-steps", body_fn, &body_type), "dt_type_register");
    check(dt_type_register("taskbench-setup", setup_fn, &setup_type), "dt_type_register");
    check(dt_type_register("taskbench-collect", collect_fn, &collect_type), "dt_type_register");
    int rc = dt_main(argc, argv, app);
    if (rc < 0)
        check(rc, "dt_main");
    return rc;
}
