/*
 * tb-calib.c - single-core kernel rate and checker self-test for Task Bench.
 *
 *   tb-calib KERNEL K [REPS]   ns per kernel unit (an iteration; a 64-byte line
 *                              for memory_bound) on one core, K units per task
 *   tb-calib --selftest        feeds one task a stale input; the check must
 *                              end the process with status 3
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb.h"

int main(int argc, char **argv)
{
    static const char *const names[] = {"compute_bound", "memory_bound"};
    static const int ids[] = {TB_COMPUTE, TB_MEMORY};

    if (argc == 2 && !strcmp(argv[1], "--selftest"))
        return tb_selftest();
    if (argc == 3 || argc == 4) {
        long k = atol(argv[2]);
        int reps = argc == 4 ? atoi(argv[3]) : 15;
        for (int i = 0; i < 2; i++)
            if (!strcmp(argv[1], names[i]) && k > 0 && reps > 0) {
                printf("taskbench-calib kernel=%s K=%ld unit_ns=%.6f\n", names[i], k,
                       tb_calibrate(ids[i], k, reps));
                return 0;
            }
    }
    fprintf(stderr, "usage: %s compute_bound|memory_bound K [REPS] | --selftest\n", argv[0]);
    return 2;
}
