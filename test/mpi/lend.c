/* lend.c - DT_LEND: the ranks of a node lend idle cores to each other.  An
 * SPMD program (every rank calls dt_init), one worker a rank:
 *   `lend imbalanced N`: rank 0 runs N compute-bound tasks, the others none
 *     and wait for it in MPI (napping); results checked against the same
 *     computation done sequentially.  An idle rank's CPU time while it
 *     waits (getrusage) must stay below a fifth of the time it waited: no
 *     thread of it spins.  (make test-mpi reads DT_STATS: with DT_LEND=1
 *     rank 0's guests ran tasks, with DT_LEND=0 none did.)
 *   `lend phase N`: as above, but once rank 0 has finished half of its
 *     tasks the other ranks get N/2 tasks each (the lender gets work while
 *     its core is lent or borrowed: it takes it back); every result is
 *     checked.  (make test-mpi: reclaims > 0 on some rank.)
 *   `lend main N`: a dt_main program; rank 0 creates N tasks on
 *     dt_dmalloc memory, all pinned to the last rank by node hints, and
 *     waits: the other ranks idle (their cores lent), the last rank has
 *     them all; results checked on rank 0 against the sequential
 *     computation.  (make test-mpi: its guests ran tasks with DT_LEND=1.) */
#include <mpi.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include "dtask.h"
#include "check.h"

#define BLOCK 64
#define ITERS 4000              /* about 0.5 ms of arithmetic per task */

typedef struct work_args {
    double *x;
    long seed;
} work_args;

static atomic_long done_tasks;
static long half = -1;
static int nranks, me_world;

static void kernel(double *x, long seed)
{
    for (int i = 0; i < BLOCK; i++) x[i] = (double)((seed * 31 + i) % 97) / 97.0;
    for (long it = 0; it < ITERS; it++)
        for (int i = 0; i < BLOCK; i++) x[i] = x[i] * 0.9999 + x[(i + 1) % BLOCK] * 0.0001 + 1e-9 * (double)it;
}

/* the task that finishes half of rank 0's work tells the others */
static void work(void *p)
{
    work_args *a = p;
    kernel(a->x, a->seed);
    if (atomic_fetch_add(&done_tasks, 1) + 1 == half && me_world == 0) {
        static int token = 1;
        for (int r = 1; r < nranks; r++) {
            MPI_Request req;
            MPI_Isend(&token, 1, MPI_INT, r, 7, MPI_COMM_WORLD, &req);
            MPI_Request_free(&req);
        }
    }
}

static void nap_until(MPI_Request *req)
{
    int flag = 0;
    for (MPI_Test(req, &flag, MPI_STATUS_IGNORE); !flag; MPI_Test(req, &flag, MPI_STATUS_IGNORE)) {
        struct timespec ts = { 0, 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void run_on(dt_type_t T, double *x, long n, long seed0, int node)
{
    dt_task_attr_t attr = { 0, node, "work", 0 };
    for (long i = 0; i < n; i++) {
        work_args a = { x + i * BLOCK, seed0 + i };
        dt_access_t acc = { DT_OUT, a.x, sizeof(double) * BLOCK, 0, 0 };
        int r = dt_task_create(T, &a, sizeof a, &acc, 1, &attr);
        CHECK(r == DT_OK, "dt_task_create: %s", dt_strerror(r));
    }
    CHECK(dt_taskwait() == DT_OK, "dt_taskwait");
}

static void run(dt_type_t T, double *x, long n, long seed0) { run_on(T, x, n, seed0, DT_NODE_ANY); }

static void verify(const double *x, long n, long seed0, const char *what)
{
    double ref[BLOCK];
    long bad = 0;
    for (long i = 0; i < n; i++) {
        kernel(ref, seed0 + i);
        if (memcmp(ref, x + i * BLOCK, sizeof ref)) bad++;
    }
    CHECK(bad == 0, "%s: %ld of %ld blocks differ from the sequential computation", what, bad, n);
}

static dt_type_t T;

static int main_app(int argc, char **argv)
{
    (void)argc;
    long n = atol(argv[2]);
    double *x = dt_dmalloc(sizeof(double) * BLOCK * (size_t)n);
    CHECK(x != NULL, "dt_dmalloc");
    if (!x) return 2;
    run_on(T, x, n, 0, dt_num_ranks() - 1);
    verify(x, n, 0, "dt_main, pinned to the last rank");
    dt_dfree(x);
    return failures != 0;
}

int main(int argc, char **argv)
{
    if (dt_type_register("work", work, &T)) return 2;
    if (argc == 3 && !strcmp(argv[1], "main")) {
        int r = dt_main(argc, argv, main_app);
        return r < 0 ? 2 : r;
    }
    int r = dt_init(&argc, &argv);
    if (r) {
        fprintf(stderr, "lend: dt_init: %s\n", dt_strerror(r));
        return 2;
    }
    if (argc != 3 || (strcmp(argv[1], "imbalanced") && strcmp(argv[1], "phase"))) {
        fprintf(stderr, "usage: lend imbalanced|phase N\n");
        dt_finalize();
        return 2;
    }
    bool phase = strcmp(argv[1], "phase") == 0;
    long n = atol(argv[2]);
    MPI_Comm app;
    dt_app_comm(&app);
    int me = dt_rank();
    nranks = dt_num_ranks();
    MPI_Comm_rank(MPI_COMM_WORLD, &me_world);
    if (phase) half = n / 2;
    long mine = me == 0 ? n : phase ? n / 2 : 0;
    double *x = dt_lmalloc(sizeof(double) * BLOCK * (size_t)(mine ? mine : 1));
    CHECK(x != NULL, "dt_lmalloc");
    if (!x) return 2;
    MPI_Barrier(app);
    if (me == 0) {
        run(T, x, n, 0);
        verify(x, n, 0, "rank 0");
    } else {
        /* idle: nothing queued here, waiting in MPI for rank 0 */
        run(T, x, 0, 0);
        double c0 = cpu_s(), w0 = MPI_Wtime();
        MPI_Request req;
        int token = 0, zero = 0, sum;
        if (phase) MPI_Irecv(&token, 1, MPI_INT, 0, 7, MPI_COMM_WORLD, &req);
        else MPI_Iallreduce(&zero, &sum, 1, MPI_INT, MPI_SUM, app, &req);
        nap_until(&req);
        double cpu = cpu_s() - c0, wall = MPI_Wtime() - w0;
        CHECK(cpu < 0.2 * wall + 0.01, "rank %d used %.3f s of CPU while it waited %.3f s for work", me, cpu, wall);
        if (phase) {
            CHECK(token == 1, "token");
            run(T, x, mine, 1000003L * me);
            verify(x, mine, 1000003L * me, "a lender's late work");
        }
    }
    if (me == 0 || phase) {
        int zero = 0, sum;
        MPI_Request req;
        MPI_Iallreduce(&zero, &sum, 1, MPI_INT, MPI_SUM, app, &req);
        nap_until(&req);
    }
    dt_lfree(x);
    dt_finalize();
    return failures != 0;
}
