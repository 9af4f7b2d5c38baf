/*
 * micro.c - cluster micro-benchmarks: libdtask against plain MPI in the same job.
 *
 *   mpiexec.mpich -n 2 micro rtt TASKS REPS
 *       A chain of TASKS empty tasks created on rank 0 with attr.node = 1, each
 *       DT_INOUT on 8 bytes of dt_dmalloc memory: offload, run on rank 1,
 *       completion back.  Time per task, against an 8-byte MPI_Send/MPI_Recv
 *       ping-pong (time per round trip).
 *   mpiexec.mpich -n 2 micro bw MIB BLOCKS REPS
 *       BLOCKS blocks of 1 MiB; per block a writer task on rank 1 (DT_OUT on
 *       the block) then a reader task on rank 0 (DT_IN), repeated until MIB
 *       MiB have been read on rank 0: each reader makes rank 0 fetch 1 MiB
 *       from rank 1.  Bandwidth against 1 MiB messages from rank 1 to rank 0
 *       into the same BLOCKS buffers: MPI_Send/MPI_Recv back to back (the
 *       reference of the target), the same as a ping-pong (8-byte answer),
 *       and MPI_Isend/MPI_Irecv with BLOCKS messages in flight, as libdtask
 *       can have.
 *
 * The program initialises MPI itself, measures the MPI reference REPS times,
 * runs REPS timed libdtask repetitions (after one untimed one) under dt_main,
 * then measures MPI REPS times again; each figure is the median of its
 * repetitions (MPI: of both series).  Rank 0 prints one key=value line.
 * Checks: the counter of the chain equals the number of tasks and every task
 * ran on rank 1; every reader finds the stamps its writer left on each 4 KiB
 * page of the block.  Exit status 0 only if everything checks.
 */
#include <dtask.h>
#include <mpi.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIB (1024 * 1024)
#define PAGE 4096
#define MAXREPS 64

#define CHECK(call)                                                        \
    do {                                                                   \
        int rc_ = (call);                                                  \
        if (rc_ != DT_OK) {                                                \
            fprintf(stderr, "micro: %s: %s\n", #call, dt_strerror(rc_));   \
            exit(1);                                                       \
        }                                                                  \
    } while (0)

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static long parse(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    return *s && !*end && v > 0 ? v : -1;
}

/* ---- parameters and results (rank 0) --------------------------------------- */

static int mode_bw, mode_busy;
static long ntasks, mib, nblocks, reps;
static double dt_res[MAXREPS];   /* libdtask: s per task (rtt) or MiB/s (bw) */
static int dt_ok;

/* ---- libdtask: round trip ---------------------------------------------------- */

static dt_type_t T_BUMP, T_WRITE, T_READ, T_LINK, T_SPIN;

/* +1 when run on rank 1: the final count also proves where the tasks ran */
static void bump(void *p)
{
    long *c = *(long **)p;
    *c += dt_rank() == 1 ? 1 : 1000000;
}

static int app_rtt(void)
{
    long *ctr = dt_dmalloc(sizeof *ctr);
    if (!ctr) return 1;
    *ctr = 0;
    dt_task_attr_t at = { .node = 1, .label = "bump" };
    dt_access_t acc = { DT_INOUT, ctr, sizeof *ctr, 0, 0 };
    long expect = 0;
    for (long r = 0; r <= reps; r++) {           /* r == 0: warm-up */
        long n = r ? ntasks : ntasks / 4 + 1;
        double t0 = now();
        for (long i = 0; i < n; i++)
            CHECK(dt_task_create(T_BUMP, &ctr, sizeof ctr, &acc, 1, &at));
        CHECK(dt_taskwait());
        double t1 = now();
        expect += n;
        if (r) dt_res[r - 1] = (t1 - t0) / (double)n;
    }
    dt_ok = *ctr == expect;
    if (!dt_ok)
        fprintf(stderr, "micro rtt: counter %ld, expected %ld (tasks not run once each on rank 1)\n",
                *ctr, expect);
    CHECK(dt_dfree(ctr));
    return dt_ok ? 0 : 1;
}

/* ---- libdtask: a chain on rank 1 while rank 0's only worker computes ------------ */

/* Run with DT_NAMESPACE=0: each link is placed by rank 0 once it has read
 * the completion of the previous one, which, while its worker computes, is
 * its progress thread's job (DT_DOORBELL wakes it).  Clocks: one node. */
typedef struct { long *ctr; double *end; } link_t;

static void chain_link(void *p)
{
    const link_t *l = p;
    *l->ctr += dt_rank() == 1 ? 1 : 1000000;
    *l->end = now();
}

static void spin(void *p)
{
    double until = now() + *(const double *)p;
    while (now() < until) continue;
}

static int app_busy(void)
{
    long *ctr = dt_dmalloc(64);
    if (!ctr) return 1;
    *ctr = 0;
    link_t l = { ctr, (double *)(ctr + 1) };
    dt_access_t chain = { DT_INOUT, ctr, 2 * sizeof(long), 0, 0 }, other = { DT_INOUT, ctr + 4, 8, 0, 0 };
    dt_task_attr_t on1 = { .node = 1, .label = "link" }, on0 = { .node = 0, .label = "spin" };
    long expect = 0;
    for (long r = 0; r <= reps; r++) {
        long n = r ? ntasks : ntasks / 4 + 1;
        double secs = (double)n * 500e-6;          /* outlasts the chain */
        double t0 = now();
        CHECK(dt_task_create(T_SPIN, &secs, sizeof secs, &other, 1, &on0));
        for (long i = 0; i < n; i++) CHECK(dt_task_create(T_LINK, &l, sizeof l, &chain, 1, &on1));
        CHECK(dt_taskwait());
        expect += n;
        if (r) dt_res[r - 1] = (*l.end - t0) / (double)n;
    }
    dt_ok = *ctr == expect;
    if (!dt_ok)
        fprintf(stderr, "micro busy: counter %ld, expected %ld (links not run once each on rank 1)\n", *ctr,
                expect);
    CHECK(dt_dfree(ctr));
    return dt_ok ? 0 : 1;
}

/* ---- libdtask: 1 MiB fetches ----------------------------------------------------- */

typedef struct { long *blk; long stamp; } wr_t;

/* stamps one word per page: the runtime still moves the whole declared MiB */
static void writer(void *p)
{
    const wr_t *w = p;
    for (size_t o = 0; o < MIB / sizeof(long); o += PAGE / sizeof(long))
        w->blk[o] = w->stamp + (long)o;
}

static long bad_pages;   /* rank 0 only: the readers run there */

static void reader(void *p)
{
    const wr_t *w = p;
    for (size_t o = 0; o < MIB / sizeof(long); o += PAGE / sizeof(long))
        if (w->blk[o] != w->stamp + (long)o)
            __atomic_fetch_add(&bad_pages, 1, __ATOMIC_RELAXED);
}

static int app_bw(void)
{
    char *mem = dt_dmalloc((size_t)nblocks * MIB);
    if (!mem) return 1;
    memset(mem, 0, (size_t)nblocks * MIB);
    dt_task_attr_t on1 = { .node = 1, .label = "write" }, on0 = { .node = 0, .label = "read" };
    long stamp = 1;
    for (long r = 0; r <= reps; r++) {
        long n = r ? mib : nblocks;               /* r == 0: warm-up, each block once */
        double t0 = now();
        for (long i = 0; i < n; i++) {
            wr_t w = { (long *)(mem + (size_t)(i % nblocks) * MIB), stamp++ << 32 };
            dt_access_t out = { DT_OUT, w.blk, MIB, 0, 0 }, in = { DT_IN, w.blk, MIB, 0, 0 };
            CHECK(dt_task_create(T_WRITE, &w, sizeof w, &out, 1, &on1));
            CHECK(dt_task_create(T_READ, &w, sizeof w, &in, 1, &on0));
        }
        CHECK(dt_taskwait());
        double t1 = now();
        if (r) dt_res[r - 1] = (double)n / (t1 - t0);
    }
    dt_ok = bad_pages == 0;
    if (!dt_ok) fprintf(stderr, "micro bw: %ld pages read with the wrong stamp\n", bad_pages);
    CHECK(dt_dfree(mem));
    return dt_ok ? 0 : 1;
}

static int app(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    if (dt_num_ranks() < 2) {
        fprintf(stderr, "micro: needs 2 ranks (mpiexec.mpich -n 2)\n");
        return 2;
    }
    return mode_bw ? app_bw() : mode_busy ? app_busy() : app_rtt();
}

/* ---- plain MPI references --------------------------------------------------------- */

/* s per 8-byte round trip */
static double mpi_pingpong(int rank, long n)
{
    char buf[8] = { 0 };
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (long i = 0; i < n; i++) {
        if (rank == 0) {
            MPI_Send(buf, 8, MPI_BYTE, 1, 0, MPI_COMM_WORLD);
            MPI_Recv(buf, 8, MPI_BYTE, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        } else if (rank == 1) {
            MPI_Recv(buf, 8, MPI_BYTE, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Send(buf, 8, MPI_BYTE, 0, 0, MPI_COMM_WORLD);
        }
    }
    return (MPI_Wtime() - t0) / (double)n;
}

/* MiB/s: n MiB sent by rank 1 to rank 0, into the same rotating buffers as
   libdtask; how: 1 blocking stream, 2 ping-pong (rank 0 answers each MiB
   with 8 bytes), 3 nonblocking, nblocks messages in flight */
static double mpi_stream(int rank, char *bufs, long n, int how)
{
    char ack[8] = { 0 };
    MPI_Request req[MAXREPS];
    MPI_Status st[MAXREPS];   /* not MPI_STATUSES_IGNORE: gcc 12 -Wstringop-overflow */
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (long i = 0; how == 3 && i < n; i += nblocks) {
        int k = (int)(n - i < nblocks ? n - i : nblocks);
        for (int b = 0; b < k; b++)
            if (rank == 1) MPI_Isend(bufs + (size_t)b * MIB, MIB, MPI_BYTE, 0, 1, MPI_COMM_WORLD, &req[b]);
            else MPI_Irecv(bufs + (size_t)b * MIB, MIB, MPI_BYTE, 1, 1, MPI_COMM_WORLD, &req[b]);
        MPI_Waitall(k, req, st);
    }
    for (long i = 0; how != 3 && i < n; i++) {
        int pingpong = how == 2;
        char *b = bufs + (size_t)(i % nblocks) * MIB;
        if (rank == 1) {
            MPI_Send(b, MIB, MPI_BYTE, 0, 1, MPI_COMM_WORLD);
            if (pingpong) MPI_Recv(ack, 8, MPI_BYTE, 0, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        } else if (rank == 0) {
            MPI_Recv(b, MIB, MPI_BYTE, 1, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            if (pingpong) MPI_Send(ack, 8, MPI_BYTE, 1, 2, MPI_COMM_WORLD);
        }
    }
    /* the last receive on rank 0 closes the interval */
    return (double)n / (MPI_Wtime() - t0);
}

/* fills v[0..reps) with the reference figure, once per repetition */
static void mpi_series(int rank, char *bufs, int which, double *v)
{
    if (rank == 0 || rank == 1) {
        /* warm-up */
        if (which == 0) mpi_pingpong(rank, ntasks / 4 + 1);
        else mpi_stream(rank, bufs, nblocks, which);
    } else {
        MPI_Barrier(MPI_COMM_WORLD);
    }
    for (long r = 0; r < reps; r++) {
        if (rank > 1) { MPI_Barrier(MPI_COMM_WORLD); continue; }
        v[r] = which == 0 ? mpi_pingpong(rank, ntasks) : mpi_stream(rank, bufs, mib, which);
    }
}

int main(int argc, char **argv)
{
    int provided, rank, size;
    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS) return 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int ok = argc >= 2;
    if (ok && (!strcmp(argv[1], "rtt") || !strcmp(argv[1], "busy")) && argc == 4) {
        mode_busy = !strcmp(argv[1], "busy");
        ntasks = parse(argv[2]);
        reps = parse(argv[3]);
        ok = ntasks > 0 && reps > 0 && reps <= MAXREPS;
    } else if (ok && !strcmp(argv[1], "bw") && argc == 5) {
        mode_bw = 1;
        mib = parse(argv[2]);
        nblocks = parse(argv[3]);
        reps = parse(argv[4]);
        ok = mib > 0 && nblocks > 0 && nblocks <= MAXREPS && reps > 0 && reps <= MAXREPS;
    } else {
        ok = 0;
    }
    if (!ok || size < 2) {
        if (rank == 0)
            fprintf(stderr, "usage: mpiexec.mpich -n 2 micro rtt|busy TASKS REPS | bw MIB BLOCKS REPS"
                            "   (BLOCKS, REPS <= %d)\n", MAXREPS);
        MPI_Finalize();
        return 2;
    }
    CHECK(dt_type_register("bump", bump, &T_BUMP));
    CHECK(dt_type_register("write", writer, &T_WRITE));
    CHECK(dt_type_register("read", reader, &T_READ));
    CHECK(dt_type_register("link", chain_link, &T_LINK));
    CHECK(dt_type_register("spin", spin, &T_SPIN));

    char *bufs = NULL;
    if (mode_bw && !(bufs = malloc((size_t)nblocks * MIB))) return 1;
    /* Not 0: gcc turns malloc + memset 0 into calloc, which leaves the pages
       untouched, and rank 1 would then send the kernel's shared zero page (one
       4 KiB page, always in cache) instead of memory as libdtask sends it. */
    if (bufs) memset(bufs, 0x5a, (size_t)nblocks * MIB);
    double ref[2 * MAXREPS], pp[2 * MAXREPS], win[2 * MAXREPS];
    mpi_series(rank, bufs, mode_bw, ref);
    if (mode_bw) mpi_series(rank, bufs, 2, pp), mpi_series(rank, bufs, 3, win);

    int rc = dt_main(argc, argv, app);
    if (rc < 0) {
        fprintf(stderr, "micro: dt_main: %s\n", dt_strerror(rc));
        MPI_Abort(MPI_COMM_WORLD, 1);
    }

    mpi_series(rank, bufs, mode_bw, ref + reps);
    if (mode_bw) mpi_series(rank, bufs, 2, pp + reps), mpi_series(rank, bufs, 3, win + reps);
    if (rank == 0) {
        double d = median(dt_res, (int)reps), m = median(ref, 2 * (int)reps);
        if (mode_bw)
            printf("bench=bw mib=%ld blocks=%ld reps=%ld dtask_mibs=%.1f mpi_stream_mibs=%.1f "
                   "mpi_pingpong_mibs=%.1f mpi_window_mibs=%.1f ratio=%.3f %s\n", mib, nblocks,
                   reps, d, m, median(pp, 2 * (int)reps), median(win, 2 * (int)reps), d / m,
                   rc == 0 ? "verified" : "FAILED");
        else
            printf("bench=%s tasks=%ld reps=%ld dtask_us=%.2f mpi_rtt_us=%.2f ratio=%.2f %s\n",
                   mode_busy ? "busy" : "rtt", ntasks, reps, d * 1e6, m * 1e6, d / m, rc == 0 ? "verified" : "FAILED");
    }
    free(bufs);
    MPI_Finalize();
    return rc;
}
