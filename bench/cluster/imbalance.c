/* imbalance.c - an imbalanced MPI + libdtask program (SPMD: every rank
 * calls dt_init and uses MPI itself), for helper ranks (DT_HELPERS).
 *
 *   imbalance W0,W1,... UNIT ITERS
 *
 * Application rank g (of dt_num_ranks()) runs W_g * UNIT independent tasks
 * (W_g may have one decimal: 2.5), each ITERS rounds of arithmetic on its
 * own 512-byte block of dt_lmalloc memory (compute-bound: ITERS sets its
 * length, ~1 ms in bench/cluster/imbalance.sh), then waits for them and
 * meets the others in an MPI_Iallreduce on dt_app_comm, napping between
 * tests.  The time is from a
 * barrier of the application ranks before the first task to the end of the
 * allreduce (the slowest rank's time), as rank 0 prints it:
 *   imbalance ranks=A weights=... tasks=N time=S verified
 * Every 7th block is recomputed sequentially afterwards and compared bit
 * for bit ("FAILED" and exit 1 otherwise). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "dtask.h"

#define BLOCK 64                /* doubles */

typedef struct work_args {
    double *x;
    long iters;
    long seed;
} work_args;

static void kernel(double *x, long iters, long seed)
{
    for (int i = 0; i < BLOCK; i++) x[i] = (double)((seed * 31 + i) % 97) / 97.0;
    for (long it = 0; it < iters; it++)
        for (int i = 0; i < BLOCK; i++) x[i] = x[i] * 0.9999 + x[(i + 1) % BLOCK] * 0.0001 + 1e-9 * (double)it;
}

static void work(void *p)
{
    work_args *a = p;
    kernel(a->x, a->iters, a->seed);
}

static double now(void) { return MPI_Wtime(); }

/* MPICH's blocking calls poll without pause: a rank that is done early
 * would hold a core that its helpers, or a loaded rank, need (more
 * processes than cores).  It naps between tests instead. */
static void wait_napping(MPI_Request *req)
{
    int done = 0;
    for (MPI_Test(req, &done, MPI_STATUS_IGNORE); !done; MPI_Test(req, &done, MPI_STATUS_IGNORE)) {
        struct timespec ts = { 0, 50000 };
        nanosleep(&ts, NULL);
    }
}

int main(int argc, char **argv)
{
    dt_type_t T;
    if (dt_type_register("work", work, &T)) return 2;
    int r = dt_init(&argc, &argv);
    if (r) {
        fprintf(stderr, "imbalance: dt_init: %s\n", dt_strerror(r));
        return 2;
    }
    if (argc != 4) {
        fprintf(stderr, "usage: imbalance W0,W1,... UNIT ITERS\n");
        dt_finalize();
        return 2;
    }
    MPI_Comm app;
    dt_app_comm(&app);
    int me = dt_rank(), n = dt_num_ranks();
    long unit = atol(argv[2]), iters = atol(argv[3]);
    double w = -1;
    char *s = argv[1];
    for (int g = 0; g <= me && s; g++) {
        w = strtod(s, &s);
        s = *s == ',' ? s + 1 : NULL;
    }
    if (w < 0 || unit <= 0 || iters <= 0) {
        if (me == 0) fprintf(stderr, "imbalance: need a weight per application rank (%d), UNIT and ITERS > 0\n", n);
        dt_finalize();
        return 2;
    }
    long ntasks = (long)(w * (double)unit + 0.5);
    double *x = dt_lmalloc(sizeof(double) * BLOCK * (size_t)(ntasks ? ntasks : 1));
    if (!x) {
        fprintf(stderr, "imbalance: dt_lmalloc failed\n");
        return 2;
    }
    memset(x, 0, sizeof(double) * BLOCK * (size_t)(ntasks ? ntasks : 1));
    MPI_Barrier(app);
    double t0 = now();
    for (long i = 0; i < ntasks; i++) {
        work_args a = { x + i * BLOCK, iters, me * 1000003L + i };
        dt_access_t acc = { DT_OUT, a.x, sizeof(double) * BLOCK, 0, 0 };
        if ((r = dt_task_create(T, &a, sizeof a, &acc, 1, NULL))) {
            fprintf(stderr, "imbalance: dt_task_create: %s\n", dt_strerror(r));
            return 2;
        }
    }
    dt_taskwait();
    long total = ntasks, all;
    MPI_Request req;
    MPI_Iallreduce(&total, &all, 1, MPI_LONG, MPI_SUM, app, &req);
    wait_napping(&req);
    double t = now() - t0;
    int bad = 0;
    double ref[BLOCK];
    for (long i = 0; i < ntasks; i += 7) {
        kernel(ref, iters, me * 1000003L + i);
        if (memcmp(ref, x + i * BLOCK, sizeof ref)) bad++;
    }
    int allbad;
    MPI_Allreduce(&bad, &allbad, 1, MPI_INT, MPI_SUM, app);
    if (me == 0)
        printf("imbalance ranks=%d weights=%s tasks=%ld time=%.4f %s\n", n, argv[1], all, t,
               allbad ? "FAILED" : "verified");
    dt_lfree(x);
    dt_finalize();
    return allbad != 0;
}
