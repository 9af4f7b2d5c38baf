/* helpers.c - an SPMD program with helper ranks (DT_HELPERS=k, the job
 * started on A*(k+1) ranks).  `helpers [run|refused|segv]`:
 *   run:     application rank g has (g+1) times the work of rank 0: rounds
 *            of tasks on blocks of its dt_lmalloc memory, each reading its
 *            neighbour's block of the round before (dependencies across
 *            the tasks sent away and the ones kept); checked against the
 *            same computation done sequentially.  The application
 *            communicator holds the A application ranks only (its size,
 *            dt_num_ranks, dt_rank), its collectives work, and the most
 *            loaded rank's tasks did run in other processes (each task
 *            writes the pid it ran in).  Then a burst of independent tasks
 *            of a type not timed yet: some of the most loaded rank's must
 *            leave too.
 *   refused: dt_init must return DT_ECONFIG on every rank (the caller
 *            sets a bad DT_HELPERS or layout); exits 0 if it did.
 *   refused-main: so must dt_main (helpers are for SPMD programs).
 *   after-main: no helpers; every rank of a dt_main program returns from
 *            dt_main (the serving ones too) and meets the others in MPI.
 *   segv:    a task sent to a helper dies there: the job must end with a
 *            message naming the helper's rank and the task. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "dtask.h"
#include "check.h"

#define BLOCK 64                /* doubles per block */
#define BLOCKS 8
#define ROUNDS 6
#define MAX_APPS 64

typedef struct step_args {
    double *mine, *left;        /* this round's block, the left one of the round before */
    long *pid;                  /* where the task ran */
    int round, block;
} step_args;

/* ~1 ms of arithmetic that depends on every input byte: well above
   DT_NESTED_MIN_US's default 200 us, under which a task stays home (at 1500
   rounds a task took 60-250 us, and a fast run kept every task home) */
static void compute(double *mine, const double *left, int round, int block)
{
    for (int rep = 0; rep < 12000; rep++)
        for (int i = 0; i < BLOCK; i++)
            mine[i] = mine[i] * 0.999 + left[(i + rep) % BLOCK] * 0.001 + (round * 7 + block) * 1e-6;
}

static dt_type_t T_pid;

static void write_pid(void *p) { **(long **)p = (long)getpid(); }

/* The pid comes from a nested task: where its parent runs (a helper keeps
   its nested tasks, an application rank may send them to one) */
static void step(void *p)
{
    step_args *a = p;
    compute(a->mine, a->left, a->round, a->block);
    dt_access_t acc = { DT_OUT, a->pid, sizeof(long), 0, 0 };
    if (dt_task_create(T_pid, &a->pid, sizeof a->pid, &acc, 1, NULL) != DT_OK) *a->pid = -1;
}

/* dies only away from the application rank (args: its pid) */
static void segv_fn(void *p)
{
    if (*(long *)p == (long)getpid()) {
        usleep(50000);
        return;
    }
    volatile char *q = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (q != MAP_FAILED) *q = 1;
}

static int never(int argc, char **argv)
{
    (void)argc, (void)argv;
    fprintf(stderr, "helpers refused-main: dt_main ran the program\n");
    return 0;
}

static int app_ok(int argc, char **argv)
{
    (void)argc, (void)argv;
    return 0;
}

static void init_block(double *b, int app, int copy, int k)
{
    for (int i = 0; i < BLOCK; i++) b[i] = app * 100.0 + copy * 10.0 + k + i * 0.01;
}

/* Rank g: (g+1) independent copies of the computation, each BLOCKS blocks
 * double-buffered over ROUNDS rounds.  Returns the checksum of the last
 * round and counts the tasks that ran in another process. */
static double run(dt_type_t T_step, int app, long *elsewhere)
{
    int copies = app + 1;
    size_t nblk = (size_t)copies * 2 * BLOCKS;
    double *mem = dt_lmalloc(sizeof(double) * BLOCK * nblk);
    long *pid = dt_lmalloc(sizeof(long) * (size_t)copies * ROUNDS * BLOCKS);
    double *ref = malloc(sizeof(double) * BLOCK * nblk);
    CHECK(mem && pid && ref, "allocations");
    if (!mem || !pid || !ref) return 0;
#define BLK(base, c, buf, k) ((base) + (((size_t)(c) * 2 + (buf)) * BLOCKS + (k)) * BLOCK)
    for (int c = 0; c < copies; c++)
        for (int k = 0; k < BLOCKS; k++) {
            init_block(BLK(mem, c, 0, k), app, c, k);
            init_block(BLK(ref, c, 0, k), app, c, k);
            memcpy(BLK(mem, c, 1, k), BLK(mem, c, 0, k), sizeof(double) * BLOCK);
            memcpy(BLK(ref, c, 1, k), BLK(ref, c, 0, k), sizeof(double) * BLOCK);
        }
    /* round r updates buffer r%2 block k from its own value and block k-1
       of buffer (r+1)%2 (written the round before) */
    for (int r = 0; r < ROUNDS; r++)
        for (int c = 0; c < copies; c++)
            for (int k = 0; k < BLOCKS; k++) {
                int kl = (k + BLOCKS - 1) % BLOCKS;
                step_args a = { BLK(mem, c, r % 2, k), BLK(mem, c, (r + 1) % 2, kl),
                                &pid[((size_t)c * ROUNDS + r) * BLOCKS + k], r, k };
                dt_access_t acc[3] = { { DT_INOUT, a.mine, sizeof(double) * BLOCK, 0, 0 },
                                       { DT_IN, a.left, sizeof(double) * BLOCK, 0, 0 },
                                       { DT_OUT, a.pid, sizeof(long), 0, 0 } };
                CHECK(dt_task_create(T_step, &a, sizeof a, acc, 3, NULL) == DT_OK, "dt_task_create");
            }
    /* the program reads the bytes while the tasks run elsewhere: its own
       sequential reference */
    for (int r = 0; r < ROUNDS; r++)
        for (int c = 0; c < copies; c++)
            for (int k = 0; k < BLOCKS; k++)
                compute(BLK(ref, c, r % 2, k), BLK(ref, c, (r + 1) % 2, (k + BLOCKS - 1) % BLOCKS), r, k);
    CHECK(dt_taskwait() == DT_OK, "dt_taskwait");
    double sum = 0;
    int bad = 0;
    for (size_t i = 0; i < BLOCK * nblk; i++) {
        if (mem[i] != ref[i] && bad++ < 3) CHECK(0, "rank %d: element %zu is %.17g, sequentially %.17g", app, i, mem[i], ref[i]);
        sum += mem[i];
    }
    *elsewhere = 0;
    for (size_t i = 0; i < (size_t)copies * ROUNDS * BLOCKS; i++) {
        CHECK(pid[i] > 0, "task %zu wrote no pid", i);
        *elsewhere += pid[i] != (long)getpid();
    }
    free(ref);
    dt_lfree(pid);
    dt_lfree(mem);
    return sum;
}

/* Rank g: (g+1)*BURST independent tasks at once, of a type that no task
 * ran yet: they wait in the spread pool until one has run here (its time
 * says whether they may leave), then go to the helpers.  With DT_STEAL=1
 * an idle worker used to move the whole pool into the steal queue, where
 * no helper looks: none left.  Counts the tasks that ran elsewhere. */
#define BURST 12
static long burst(dt_type_t T, int app)
{
    int n = (app + 1) * BURST;
    double *mem = dt_lmalloc(sizeof(double) * BLOCK * (size_t)(n + 1));
    long *pid = dt_lmalloc(sizeof(long) * (size_t)n);
    double *ref = malloc(sizeof(double) * BLOCK * (size_t)n);
    CHECK(mem && pid && ref, "allocations");
    if (!mem || !pid || !ref) return 0;
    double *left = mem + (size_t)n * BLOCK;
    init_block(left, app, 9, 0);
    for (int i = 0; i < n; i++) {
        init_block(mem + (size_t)i * BLOCK, app, 8, i);
        init_block(ref + (size_t)i * BLOCK, app, 8, i);
        compute(ref + (size_t)i * BLOCK, left, 0, i);
    }
    for (int i = 0; i < n; i++) {
        step_args a = { mem + (size_t)i * BLOCK, left, &pid[i], 0, i };
        dt_access_t acc[3] = { { DT_INOUT, a.mine, sizeof(double) * BLOCK, 0, 0 },
                               { DT_IN, left, sizeof(double) * BLOCK, 0, 0 },
                               { DT_OUT, a.pid, sizeof(long), 0, 0 } };
        CHECK(dt_task_create(T, &a, sizeof a, acc, 3, NULL) == DT_OK, "dt_task_create");
    }
    CHECK(dt_taskwait() == DT_OK, "dt_taskwait");
    long away = 0;
    for (int i = 0; i < n; i++) {
        CHECK(!memcmp(mem + (size_t)i * BLOCK, ref + (size_t)i * BLOCK, sizeof(double) * BLOCK),
              "rank %d: burst task %d computed something else", app, i);
        CHECK(pid[i] > 0, "burst task %d wrote no pid", i);
        away += pid[i] != (long)getpid();
    }
    free(ref);
    dt_lfree(pid);
    dt_lfree(mem);
    return away;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "run";
    dt_type_t T_step, T_segv, T_burst;
    /* before dt_init: the helpers run main only this far */
    if (dt_type_register("step", step, &T_step) || dt_type_register("segv", segv_fn, &T_segv) ||
        dt_type_register("pid", write_pid, &T_pid) || dt_type_register("burst", step, &T_burst))
        return 2;
    if (!strcmp(mode, "after-main")) {
        /* without helpers, dt_main's serving ranks come back from it too */
        int provided, size, one = 1, all = 0;
        MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
        int rc = dt_main(argc, argv, app_ok);
        MPI_Comm_size(MPI_COMM_WORLD, &size);
        MPI_Allreduce(&one, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
        MPI_Finalize();
        if (rc || all != size) fprintf(stderr, "helpers after-main: dt_main %d, %d of %d ranks back\n", rc, all, size);
        return rc || all != size;
    }
    int main_refused = !strcmp(mode, "refused-main");
    int rc = main_refused ? dt_main(argc, argv, never) : dt_init(&argc, &argv);
    if (!strcmp(mode, "refused") || main_refused) {
        int inited;
        MPI_Initialized(&inited);
        if (inited) MPI_Finalize();
        if (rc != DT_ECONFIG) fprintf(stderr, "helpers refused: dt_init returned %d (%s), want DT_ECONFIG\n", rc, dt_strerror(rc));
        return rc != DT_ECONFIG;
    }
    if (rc) {
        fprintf(stderr, "helpers: dt_init: %s\n", dt_strerror(rc));
        return 2;
    }
    MPI_Comm app;
    CHECK(dt_app_comm(&app) == DT_OK, "dt_app_comm");
    CHECK(dt_app_comm(NULL) == DT_EINVAL, "dt_app_comm(NULL)");
    int me, napps, world;
    MPI_Comm_rank(app, &me);
    MPI_Comm_size(app, &napps);
    MPI_Comm_size(MPI_COMM_WORLD, &world);
    const char *k = getenv("DT_HELPERS");
    int helpers = k ? atoi(k) : 0;
    CHECK(napps * (helpers + 1) == world, "application communicator of %d ranks in a job of %d with %d helpers each",
          napps, world, helpers);
    CHECK(dt_num_ranks() == napps && dt_rank() == me, "dt_rank %d of %d, application communicator: %d of %d",
          dt_rank(), dt_num_ranks(), me, napps);
    /* a hint to another application rank is still refused */
    if (napps > 1) {
        dt_task_attr_t other = { 0, (me + 1) % napps, "elsewhere", 0 };
        CHECK(dt_task_create(T_step, NULL, 0, NULL, 0, &other) == DT_ERANGE, "hint to another rank");
    }
    dt_task_attr_t beyond = { 0, napps, "beyond", 0 };
    CHECK(dt_task_create(T_step, NULL, 0, NULL, 0, &beyond) == DT_ERANGE, "hint to rank %d of %d", napps, napps);
    if (!strcmp(mode, "segv")) {
        /* run with DT_NESTED_MIN_US=0: untimed tasks may leave too */
        char *x = dt_lmalloc(64);
        for (int i = 0; i < 8; i++) {
            dt_access_t a = { DT_INOUT, x + i, 1, 0, 0 };
            dt_task_attr_t l = { 0, DT_NODE_ANY, "victim", 0 };
            long pid = (long)getpid();
            dt_task_create(T_segv, &pid, sizeof pid, &a, 1, &l);
        }
        dt_taskwait();
        fprintf(stderr, "helpers segv: every task ran on rank %d\n", me);
        return 1;
    }
    long elsewhere = 0;
    double sum = run(T_step, me, &elsewhere);
    long burst_away = burst(T_burst, me);
    /* the application ranks' own collective, while the helpers serve */
    double sums[MAX_APPS];
    long counts[MAX_APPS];
    CHECK(napps <= MAX_APPS, "too many ranks for the test");
    MPI_Gather(&sum, 1, MPI_DOUBLE, sums, 1, MPI_DOUBLE, 0, app);
    long bursts[MAX_APPS];
    MPI_Gather(&elsewhere, 1, MPI_LONG, counts, 1, MPI_LONG, 0, app);
    MPI_Gather(&burst_away, 1, MPI_LONG, bursts, 1, MPI_LONG, 0, app);
    if (me == 0) {
        for (int g = 0; g < napps; g++)
            printf("helpers: application rank %d: %d tasks, %ld ran in another process, checksum %.6f; "
                   "burst of %d: %ld elsewhere\n", g, (g + 1) * ROUNDS * BLOCKS, counts[g], sums[g],
                   (g + 1) * BURST, bursts[g]);
        if (helpers > 0) CHECK(counts[napps - 1] > 0, "the most loaded rank sent no task to a helper");
        if (helpers > 0) CHECK(bursts[napps - 1] > 0, "the most loaded rank sent no task of its burst to a helper");
    }
    CHECK(dt_finalize() == DT_OK, "dt_finalize");
    return failures != 0;
}
