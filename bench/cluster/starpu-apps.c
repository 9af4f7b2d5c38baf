/*
 * starpu-apps.c - the tiled matmul and Cholesky of apps.c with StarPU-MPI 1.3
 * (built with mpicc.openmpi, run with mpiexec.openmpi; the comparison point
 * of bench/cluster).  Same kernels, tiles, inputs, priorities and checks
 * (common.h).
 *
 *   mpiexec.openmpi -n 2 -x STARPU_NCPU=1 starpu-apps matmul|cholesky N B [tiles]
 *
 * Each tile is a StarPU matrix handle over the rank's own copy of the
 * row-major matrix (ld N), or with `tiles` over its own copy in tile layout
 * (common.h, ld B); tiles a rank does not own are registered without
 * memory (StarPU allocates contiguous copies when they arrive).  Every rank
 * submits every task with starpu_mpi_task_insert, which runs it on the owner
 * of the tile it writes and moves the inputs.  Ownership:
 *   matmul   A and B on rank 0 (libdtask's inputs also start on rank 0);
 *            C tile (i, j) on rank i * ranks / tiles (blocks of tile rows).
 *   cholesky tile (i, j) on rank j % ranks (1-D block-cyclic over columns,
 *            ScaLAPACK/Chameleon style), generated in place by its owner.
 * Timed on rank 0: from a barrier before the first submission until every
 * result tile is back on rank 0 (starpu_mpi_get_data_on_node), as libdtask's
 * time includes bringing the result back to rank 0.  Scheduler: prio (priorities honoured) unless STARPU_SCHED
 * says otherwise.
 */
#include <starpu.h>
#include <starpu_mpi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static size_t N, B, nt;
static int rank, nranks, tiles;

#define PTR(i) ((double *)STARPU_MATRIX_GET_PTR(buffers[i]))
#define LD(i) ((size_t)STARPU_MATRIX_GET_LD(buffers[i]))
#define NX(i) ((size_t)STARPU_MATRIX_GET_NX(buffers[i]))   /* columns */
#define NY(i) ((size_t)STARPU_MATRIX_GET_NY(buffers[i]))   /* rows */

static void c_mm(void *buffers[], void *arg)
{
    (void)arg;
    k_gemm_nn(PTR(2), LD(2), PTR(0), LD(0), PTR(1), LD(1), NY(2), NX(2), NX(0));
}
static void c_potrf(void *buffers[], void *arg)
{
    (void)arg;
    k_potrf(PTR(0), LD(0), NX(0));
}
static void c_trsm(void *buffers[], void *arg)
{
    (void)arg;
    k_trsm(PTR(1), LD(1), PTR(0), LD(0), NY(1), NX(1));
}
static void c_syrk(void *buffers[], void *arg)
{
    (void)arg;
    k_syrk(PTR(1), LD(1), PTR(0), LD(0), NY(1), NX(0));
}
static void c_gemm(void *buffers[], void *arg)
{
    (void)arg;
    k_gemm_nt(PTR(2), LD(2), PTR(0), LD(0), PTR(1), LD(1), NY(2), NX(2), NX(0));
}

static struct starpu_codelet cl_mm = { .cpu_funcs = { c_mm }, .nbuffers = 3, .name = "mm_gemm" };
static struct starpu_codelet cl_potrf = { .cpu_funcs = { c_potrf }, .nbuffers = 1, .name = "potrf" };
static struct starpu_codelet cl_trsm = { .cpu_funcs = { c_trsm }, .nbuffers = 2, .name = "trsm" };
static struct starpu_codelet cl_syrk = { .cpu_funcs = { c_syrk }, .nbuffers = 2, .name = "syrk" };
static struct starpu_codelet cl_gemm = { .cpu_funcs = { c_gemm }, .nbuffers = 3, .name = "gemm" };

static void check(int rc, const char *call)
{
    if (rc != 0) {
        fprintf(stderr, "starpu-apps: %s failed: %d\n", call, rc);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
}

/* registers tile (i, j) of M (T in tile layout), owned by `owner`, with a
   tag unique over all matrices */
static void reg(starpu_data_handle_t *h, double *M, double *T, int which, size_t i, size_t j, int owner)
{
    double *p = tiles ? tile_at(T, N, B, i, j) : M + i * B * N + j * B;
    int mine = owner == rank;
    starpu_matrix_data_register(h, mine ? STARPU_MAIN_RAM : -1, mine ? (uintptr_t)p : 0, tiles ? B : N,
                                tile_ext(N, B, j), tile_ext(N, B, i), sizeof(double));
    starpu_mpi_data_register(*h, (starpu_mpi_tag_t)((which * nt + i) * nt + j), owner);
}

/* rank 0: copies tile (i, j) (now valid on rank 0) into M */
static void collect(starpu_data_handle_t h, double *M, size_t i, size_t j)
{
    check(starpu_data_acquire(h, STARPU_R), "starpu_data_acquire");
    const double *p = (const double *)starpu_matrix_get_local_ptr(h);
    size_t ld = starpu_matrix_get_local_ld(h), rows = tile_ext(N, B, i), cols = tile_ext(N, B, j);
    double *d = M + i * B * N + j * B;
    if (p != d)
        for (size_t r = 0; r < rows; r++)
            memcpy(d + r * N, p + r * ld, cols * sizeof(double));
    starpu_data_release(h);
}

int main(int argc, char **argv)
{
    char *end1 = NULL, *end2 = NULL;
    if (argc == 4 || argc == 5) {
        N = strtoul(argv[2], &end1, 10);
        B = strtoul(argv[3], &end2, 10);
    }
    tiles = argc == 5 && !strcmp(argv[4], "tiles");
    if (argc != 4 + tiles || (strcmp(argv[1], "matmul") && strcmp(argv[1], "cholesky")) || *end1 ||
        *end2 || !N || !B || B > N || N > 65536) {
        fprintf(stderr, "usage: starpu-apps matmul|cholesky N B [tiles]   (0 < B <= N)\n");
        return 2;
    }
    int is_matmul = !strcmp(argv[1], "matmul");
    nt = (N + B - 1) / B;

    int provided;
    check(MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided), "MPI_Init_thread");
    if (provided < MPI_THREAD_MULTIPLE) {
        fprintf(stderr, "starpu-apps: MPI lacks MPI_THREAD_MULTIPLE\n");
        return 1;
    }
    struct starpu_conf conf;
    starpu_conf_init(&conf);
    if (!getenv("STARPU_SCHED")) conf.sched_policy_name = "prio";
    conf.ncuda = 0;
    conf.nopencl = 0;
    check(starpu_mpi_init_conf(&argc, &argv, 0, MPI_COMM_WORLD, &conf), "starpu_mpi_init_conf");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);

    size_t bytes = N * N * sizeof(double);
    int nm = is_matmul ? 3 : 1;
    double *M[3] = { 0 }, *T[3] = { 0 };
    starpu_data_handle_t *h = malloc(sizeof *h * (size_t)nm * nt * nt);
    for (int w = 0; w < nm; w++)
        if (!(M[w] = malloc(bytes)) || (tiles && !(T[w] = malloc(nt * nt * B * B * sizeof(double)))))
            h = NULL;
    if (!h) {
        fprintf(stderr, "starpu-apps: out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
#define H(w, i, j) h[((size_t)(w) * nt + (i)) * nt + (j)]
    /* owners generate their tiles in place */
    for (int w = 0; w < nm; w++)
        for (size_t i = 0; i < nt; i++)
            for (size_t j = 0; j < nt; j++) {
                if (!is_matmul && j > i) continue;
                int owner = !is_matmul ? (int)(j % (size_t)nranks)
                          : w < 2 ? 0 : (int)(i * (size_t)nranks / nt);
                size_t r1 = i * B + tile_ext(N, B, i), c1 = j * B + tile_ext(N, B, j);
                if (owner == rank) {
                    if (is_matmul) mm_fill(M[w], N, w, i * B, r1, j * B, c1);
                    else chol_fill(M[w], N, i * B, r1, j * B, c1);
                    if (tiles) tile_from_rows(T[w], M[w], N, B, i, j);
                }
                reg(&H(w, i, j), M[w], T[w], w, i, j, owner);
            }

    check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
    double t0 = now_s();
    long ntasks = 0;
    if (is_matmul) {
        for (size_t i = 0; i < nt; i++)
            for (size_t j = 0; j < nt; j++)
                for (size_t k = 0; k < nt; k++, ntasks++)
                    check(starpu_mpi_task_insert(MPI_COMM_WORLD, &cl_mm, STARPU_R, H(0, i, k),
                                                 STARPU_R, H(1, k, j), STARPU_RW, H(2, i, j), 0),
                          "starpu_mpi_task_insert");
    } else {
        for (size_t k = 0; k < nt; k++) {
            check(starpu_mpi_task_insert(MPI_COMM_WORLD, &cl_potrf, STARPU_PRIORITY, 2,
                                         STARPU_RW, H(0, k, k), 0), "starpu_mpi_task_insert");
            ntasks++;
            for (size_t i = k + 1; i < nt; i++, ntasks++)
                check(starpu_mpi_task_insert(MPI_COMM_WORLD, &cl_trsm, STARPU_PRIORITY, 1,
                                             STARPU_R, H(0, k, k), STARPU_RW, H(0, i, k), 0),
                      "starpu_mpi_task_insert");
            for (size_t i = k + 1; i < nt; i++) {
                check(starpu_mpi_task_insert(MPI_COMM_WORLD, &cl_syrk, STARPU_R, H(0, i, k),
                                             STARPU_RW, H(0, i, i), 0), "starpu_mpi_task_insert");
                ntasks++;
                for (size_t j = k + 1; j < i; j++, ntasks++)
                    check(starpu_mpi_task_insert(MPI_COMM_WORLD, &cl_gemm, STARPU_R, H(0, i, k),
                                                 STARPU_R, H(0, j, k), STARPU_RW, H(0, i, j), 0),
                          "starpu_mpi_task_insert");
            }
        }
    }
    /* Blocking transfers, same order on every rank, then a plain MPI_Barrier:
       detached transfers + starpu_mpi_wait_for_all hang about one run in ten
       with StarPU 1.3.10 (rank 0's MPI thread blocks in MPI_Barrier while
       rank 1 still waits for a request rank 0 has not posted). */
    int res = nm - 1;
    for (size_t i = 0; i < nt; i++)
        for (size_t j = 0; j < (is_matmul ? nt : i + 1); j++)
            starpu_mpi_get_data_on_node(MPI_COMM_WORLD, H(res, i, j), 0);
    check(starpu_task_wait_for_all(), "starpu_task_wait_for_all");
    check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
    double t = now_s() - t0;

    int bad = 0;
    if (rank == 0) {
        for (size_t i = 0; i < nt; i++)
            for (size_t j = 0; j < (is_matmul ? nt : i + 1); j++)
                collect(H(res, i, j), M[res], i, j);
        bad = is_matmul ? mm_check(M[res], N) : chol_check(M[res], N);
        double flops = is_matmul ? 2.0 * (double)N * (double)N * (double)N
                                 : (double)N * (double)N * (double)N / 3.0;
        printf("bench=%s system=starpumpi ranks=%d workers=%u N=%zu B=%zu layout=%s tasks=%ld time=%.4f "
               "gflops=%.3f %s\n", argv[1], nranks, starpu_cpu_worker_get_count(), N, B,
               tiles ? "tiles" : "rows", ntasks, t,
               flops / t * 1e-9, bad ? "FAILED" : "verified");
    }
    MPI_Bcast(&bad, 1, MPI_INT, 0, MPI_COMM_WORLD);
    starpu_mpi_cache_flush_all_data(MPI_COMM_WORLD);
    for (int w = 0; w < nm; w++)
        for (size_t i = 0; i < nt; i++)
            for (size_t j = 0; j < (is_matmul ? nt : i + 1); j++)
                starpu_data_unregister(H(w, i, j));
    starpu_mpi_shutdown();
    for (int w = 0; w < nm; w++) {
        free(M[w]);
        free(T[w]);
    }
    free(h);
    MPI_Finalize();
    return bad;
}
