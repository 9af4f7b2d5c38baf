/* grid.h - the starting grid of the heat and Jacobi programs (examples,
 * benchmarks and tests share it so that their results compare bit for bit):
 * an (N+2) x (N+2) row-major grid with a boundary of one cell, the top edge
 * at `top`, the rest of the boundary at 0, a pseudo-random interior. */
#ifndef DT_EXAMPLE_GRID_H
#define DT_EXAMPLE_GRID_H

#include <stddef.h>
#include <stdint.h>

/* Rows [r0, r1) of the grid (the generator runs through the rows before
 * them, so that any split of the rows gives the same grid). */
static inline void grid_init_rows(double *u, size_t N, double top, size_t r0, size_t r1)
{
    size_t ld = N + 2;
    uint64_t x = 88172645463325252u;
    for (size_t i = 0; i < r1; i++)
        for (size_t j = 0; j < ld; j++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            int edge = i == 0 || j == 0 || i == ld - 1 || j == ld - 1;
            if (i >= r0) u[i * ld + j] = i == 0 ? top : edge ? 0.0 : (double)(x >> 11) / 9007199254740992.0;
        }
}

static inline void grid_init(double *u, size_t N, double top) { grid_init_rows(u, N, top, 0, N + 2); }

#endif
