/* spmd.c - a program that calls dt_init itself (not dt_main) runs on every
 * rank, each rank a runtime of its own: its tasks stay on it, its
 * allocations are its own, and a hint to another rank is DT_ERANGE. */
#include <stdio.h>
#include "dtask.h"

static void inc(void *a) { long *p = *(long **)a; (*p)++; }

int main(int argc, char **argv)
{
    dt_type_t t;
    if (dt_type_register("inc", inc, &t) || dt_init(&argc, &argv)) return 2;
    int rank = dt_rank(), ranks = dt_num_ranks(), bad = 0;
    long *x = dt_dmalloc(sizeof *x);
    if (!x) { fprintf(stderr, "spmd: rank %d: dt_dmalloc failed\n", rank); return 3; }
    *x = rank * 1000;
    for (int i = 0; i < 500; i++) {
        dt_access_t a = { DT_INOUT, x, sizeof *x, 0, 0 };
        dt_task_attr_t here = { 0, rank, "here", 0 };
        if (dt_task_create(t, &x, sizeof x, &a, 1, i % 2 ? &here : NULL) != DT_OK) bad++;
    }
    dt_access_t a = { DT_INOUT, x, sizeof *x, 0, 0 };
    dt_task_attr_t other = { 0, (rank + 1) % ranks, "elsewhere", 0 };
    int rc = dt_task_create(t, &x, sizeof x, &a, 1, &other);
    if (ranks > 1 && rc != DT_ERANGE) { fprintf(stderr, "spmd: hint to another rank: %s\n", dt_strerror(rc)); bad++; }
    dt_taskwait();
    long want = rank * 1000 + 500 + (ranks == 1);
    if (*x != want) { fprintf(stderr, "spmd: rank %d: x = %ld, want %ld\n", rank, *x, want); bad++; }
    printf("spmd: rank %d of %d: %s\n", rank, ranks, bad ? "FAILED" : "ok");
    dt_dfree(x);
    return dt_finalize() != DT_OK || bad;
}
