/*
 * tb-starpu.c - Task Bench drivers for StarPU 1.3 (tb-starpu) and, built with
 * -DTB_STARPU_MPI by mpicc.openmpi, for StarPU-MPI (tb-starpumpi).
 *
 * Every output record is its own vector data handle (1 element of 16 bytes);
 * task (t, p) takes its record STARPU_W and each dependency's record of step
 * t-1 STARPU_R, one buffer per dependency, through starpu_task_insert.  The
 * codelet has no performance model; the scheduler is lws unless STARPU_SCHED
 * says otherwise; workers: STARPU_NCPU (the submitting thread runs no tasks).
 * StarPU-MPI: point p belongs to rank p * ranks / width (blocks of columns);
 * every rank registers every record with its owner and submits every task
 * with starpu_mpi_task_insert, which runs it on the owner of the record it
 * writes and moves the inputs between ranks.
 */
#include <starpu.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef TB_STARPU_MPI
#include <starpu_mpi.h>
#define SYSTEM "starpumpi"
#else
#define SYSTEM "starpu"
#endif

#include "tb.h"

static const tb_graph *cur_graph;   /* the graph being run: read by the tasks */
static int my_rank, n_ranks = 1;

static void task_fn(void *buffers[], void *cl_arg)
{
    int32_t t, p;
    const tb_rec *in[TB_MAX_WIDTH];
    int n = (int)STARPU_TASK_GET_NBUFFERS(starpu_task_get_current()) - 1;

    starpu_codelet_unpack_args(cl_arg, &t, &p);
    for (int i = 0; i < n; i++)
        in[i] = (const tb_rec *)STARPU_VECTOR_GET_PTR(buffers[1 + i]);
    tb_execute(cur_graph, t, p, in, n, (tb_rec *)STARPU_VECTOR_GET_PTR(buffers[0]));
}

static struct starpu_codelet codelet = {
    .cpu_funcs = {task_fn},
    .nbuffers = STARPU_VARIABLE_NBUFFERS,
    .name = "taskbench",
};

typedef struct state {
    tb_rec *base;
    starpu_data_handle_t *h;
    long n;
} state_t;

static void check(int rc, const char *call)
{
    if (rc != 0) {
        fprintf(stderr, "tb-" SYSTEM ": %s failed: %d\n", call, rc);
        exit(2);
    }
}

static int owner(const tb_graph *g, long p)
{
    return (int)(p * n_ranks / g->width);
}

static int s_init(int *argc, char ***argv)
{
    struct starpu_conf conf;
    starpu_conf_init(&conf);
    if (!getenv("STARPU_SCHED"))
        conf.sched_policy_name = "lws";
    conf.ncuda = 0;
    conf.nopencl = 0;
#ifdef TB_STARPU_MPI
    /* MPI_THREAD_MULTIPLE: the main thread calls MPI_Allreduce/MPI_Barrier
       while StarPU-MPI's own thread progresses its requests */
    int provided;
    check(MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided), "MPI_Init_thread");
    if (provided < MPI_THREAD_MULTIPLE) {
        fprintf(stderr, "tb-" SYSTEM ": MPI lacks MPI_THREAD_MULTIPLE\n");
        return 1;
    }
    check(starpu_mpi_init_conf(argc, argv, 0, MPI_COMM_WORLD, &conf), "starpu_mpi_init_conf");
    MPI_Comm_rank(MPI_COMM_WORLD, &my_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &n_ranks);
#else
    (void)argc;
    (void)argv;
    check(starpu_init(&conf), "starpu_init");
#endif
    return 0;
}

static void s_fini(void)
{
#ifdef TB_STARPU_MPI
    starpu_mpi_shutdown();
    MPI_Finalize();
#else
    starpu_shutdown();
#endif
}

static int s_rank(void) { return my_rank; }
static int s_nranks(void) { return n_ranks; }
static int s_workers(void) { return (int)starpu_cpu_worker_get_count(); }

static void *s_prepare(const tb_graph *g)
{
    state_t *s = malloc(sizeof *s);
    if (!s)
        exit(2);
    s->n = g->depth * g->width;
    s->base = malloc((size_t)s->n * sizeof *s->base);
    s->h = malloc((size_t)s->n * sizeof *s->h);
    if (!s->base || !s->h) {
        fprintf(stderr, "tb-" SYSTEM ": out of memory\n");
        exit(2);
    }
    tb_records_clear(s->base, (size_t)s->n);
    for (long i = 0; i < s->n; i++) {
        int home = owner(g, i % g->width) == my_rank ? STARPU_MAIN_RAM : -1;
        starpu_vector_data_register(&s->h[i], home, (uintptr_t)&s->base[i], 1, sizeof(tb_rec));
#ifdef TB_STARPU_MPI
        starpu_mpi_data_register(s->h[i], i, owner(g, i % g->width));
#endif
    }
    return s;
}

static void s_run(const tb_graph *g, void *state)
{
    state_t *s = state;
    struct starpu_data_descr descr[1 + TB_MAX_WIDTH];
    long deps[TB_MAX_WIDTH];

    cur_graph = g;
    for (long t = 0; t < g->steps; t++) {
        long width = tb_width_at(g, t);
        for (long p = 0; p < width; p++) {
            int32_t t32 = (int32_t)t, p32 = (int32_t)p;
            int n = tb_deps(g, t, p, deps);
            descr[0] = (struct starpu_data_descr){s->h[tb_slot(g, t, p)], STARPU_W};
            for (int i = 0; i < n; i++)
                descr[1 + i] = (struct starpu_data_descr){s->h[tb_slot(g, t - 1, deps[i])],
                                                          STARPU_R};
#ifdef TB_STARPU_MPI
            check(starpu_mpi_task_insert(MPI_COMM_WORLD, &codelet,
                                         STARPU_VALUE, &t32, sizeof t32,
                                         STARPU_VALUE, &p32, sizeof p32,
                                         STARPU_DATA_MODE_ARRAY, descr, n + 1, 0),
                  "starpu_mpi_task_insert");
#else
            check(starpu_task_insert(&codelet, STARPU_VALUE, &t32, sizeof t32,
                                     STARPU_VALUE, &p32, sizeof p32,
                                     STARPU_DATA_MODE_ARRAY, descr, n + 1, 0),
                  "starpu_task_insert");
#endif
        }
    }
#ifdef TB_STARPU_MPI
    check(starpu_mpi_wait_for_all(MPI_COMM_WORLD), "starpu_mpi_wait_for_all");
#else
    check(starpu_task_wait_for_all(), "starpu_task_wait_for_all");
#endif
}

static void s_release(const tb_graph *g, void *state)
{
    state_t *s = state;
    (void)g;
#ifdef TB_STARPU_MPI
    starpu_mpi_cache_flush_all_data(MPI_COMM_WORLD);
#endif
    for (long i = 0; i < s->n; i++)
        starpu_data_unregister(s->h[i]);
    free(s->h);
    free(s->base);
    free(s);
}

#ifdef TB_STARPU_MPI
static void s_barrier(void)
{
    MPI_Barrier(MPI_COMM_WORLD);
}

static void s_allreduce(uint64_t v[2])
{
    MPI_Allreduce(MPI_IN_PLACE, v, 2, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
}
#endif

int main(int argc, char **argv)
{
    static const tb_system sys = {
        .name = SYSTEM, .init = s_init, .fini = s_fini, .rank = s_rank, .nranks = s_nranks,
        .workers = s_workers, .prepare = s_prepare, .run = s_run, .release = s_release,
#ifdef TB_STARPU_MPI
        .barrier = s_barrier, .allreduce = s_allreduce,
#endif
    };
    return tb_main(argc, argv, &sys);
}
