/*
 * heat-mpi.c - the hand-written MPI version of the Gauss-Seidel heat sweep
 * (examples/heat.c, bench/taskiter/iter.c), to compare the distributed
 * dt_taskiter with.  Rank r owns a band of grid rows; each sweep goes block
 * column by block column (B columns), so the ranks form a pipelined
 * wavefront: before a block, a rank receives the new last row of the rank
 * above for those columns (this sweep) and the first row of the rank below
 * (as that rank left it after the previous sweep); after it, it sends its
 * own last and first row segments (MPI_Isend straight from the grid).
 * Rank 0 gathers the grid at the end and checks it bit for bit against a
 * serial sweep.
 *
 *   usage: mpiexec.mpich -n R heat-mpi N B T
 */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../examples/grid.h"

/* rows [r0, r1) and columns [c0, c1) of the interior, 1-based grid indices */
static void block(double *u, size_t ld, size_t r0, size_t r1, size_t c0, size_t c1)
{
    for (size_t i = r0; i < r1; i++) {
        double *r = u + i * ld;
        for (size_t j = c0; j < c1; j++) r[j] = 0.25 * (r[j - ld] + r[j + ld] + r[j - 1] + r[j + 1]);
    }
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, nranks;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    if (argc != 4) {
        if (!rank) fprintf(stderr, "usage: heat-mpi N B T\n");
        MPI_Finalize();
        return 2;
    }
    size_t N = strtoul(argv[1], NULL, 10), B = strtoul(argv[2], NULL, 10);
    long T = atol(argv[3]);
    size_t ld = N + 2, nb = (N + B - 1) / B;
    double *u = malloc(ld * ld * sizeof *u);
    MPI_Request *up = malloc(nb * sizeof *up), *down = malloc(nb * sizeof *down);
    if (!u || !up || !down) MPI_Abort(MPI_COMM_WORLD, 1);
    grid_init(u, N, 100.0);
    for (size_t b = 0; b < nb; b++) up[b] = down[b] = MPI_REQUEST_NULL;
    /* this rank's rows, 1-based: [r0, r1) */
    size_t r0 = 1 + N * (size_t)rank / (size_t)nranks, r1 = 1 + N * (size_t)(rank + 1) / (size_t)nranks;
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (long t = 0; t < T; t++)
        for (size_t b = 0; b < nb; b++) {
            size_t c0 = 1 + b * B, c1 = c0 + B < N + 1 ? c0 + B : N + 1;
            int n = (int)(c1 - c0);
            if (r0 == r1) continue;
            if (rank > 0)
                MPI_Recv(u + (r0 - 1) * ld + c0, n, MPI_DOUBLE, rank - 1, (int)b, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            if (rank < nranks - 1 && t > 0)
                MPI_Recv(u + r1 * ld + c0, n, MPI_DOUBLE, rank + 1, (int)(nb + b), MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            /* the rows sent last sweep must have left before they change */
            MPI_Wait(&up[b], MPI_STATUS_IGNORE);
            MPI_Wait(&down[b], MPI_STATUS_IGNORE);
            block(u, ld, r0, r1, c0, c1);
            if (rank < nranks - 1)
                MPI_Isend(u + (r1 - 1) * ld + c0, n, MPI_DOUBLE, rank + 1, (int)b, MPI_COMM_WORLD, &down[b]);
            if (rank > 0 && t < T - 1)
                MPI_Isend(u + r0 * ld + c0, n, MPI_DOUBLE, rank - 1, (int)(nb + b), MPI_COMM_WORLD, &up[b]);
        }
    for (size_t b = 0; b < nb; b++) {
        MPI_Wait(&up[b], MPI_STATUS_IGNORE);
        MPI_Wait(&down[b], MPI_STATUS_IGNORE);
    }
    double secs = MPI_Wtime() - t0;
    /* gather the bands on rank 0 */
    if (rank) {
        MPI_Send(u + r0 * ld, (int)((r1 - r0) * ld), MPI_DOUBLE, 0, 0, MPI_COMM_WORLD);
    } else {
        for (int r = 1; r < nranks; r++) {
            size_t a = 1 + N * (size_t)r / (size_t)nranks, e = 1 + N * (size_t)(r + 1) / (size_t)nranks;
            MPI_Recv(u + a * ld, (int)((e - a) * ld), MPI_DOUBLE, r, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        }
        double *ref = malloc(ld * ld * sizeof *ref);
        if (!ref) MPI_Abort(MPI_COMM_WORLD, 1);
        grid_init(ref, N, 100.0);
        for (long t = 0; t < T; t++) block(ref, ld, 1, N + 1, 1, N + 1);
        int ok = memcmp(u, ref, ld * ld * sizeof *u) == 0;
        printf("bench=heat-mpi N=%zu B=%zu T=%ld ranks=%d seconds=%.4f %s\n", N, B, T, nranks, secs,
               ok ? "verified" : "WRONG");
        free(ref);
        if (!ok) MPI_Abort(MPI_COMM_WORLD, 1);
    }
    free(u);
    free(up);
    free(down);
    MPI_Finalize();
    return 0;
}
