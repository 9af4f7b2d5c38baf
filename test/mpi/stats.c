/* stats.c - DT_STATS=1 counts, on every rank, the task bodies that rank ran:
 * rank 0 runs N0 tasks of its own (node 0), rank 1 runs N1 (node 1).  The
 * counts are checked by mpi.mk from the stats lines, under mpiexec -n 2. */
#include <stdio.h>
#include "dtask.h"
#include "check.h"

enum { N0 = 60, N1 = 40 };
static dt_type_t T_inc;

static void inc_fn(void *p) { ++**(long **)p; }

static int app(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    long *x = dt_dmalloc((N0 + N1) * sizeof *x);
    CHECK(x, "dt_dmalloc");
    if (!x) return 1;
    for (int i = 0; i < N0 + N1; i++) {
        long *p = &x[i];
        dt_access_t a = { DT_INOUT, p, sizeof *p, 0, 0 };
        dt_task_attr_t at = { 0, i < N0 ? 0 : 1, "count", 0 };
        CHECK(dt_task_create(T_inc, &p, sizeof p, &a, 1, &at) == DT_OK, "dt_task_create %d", i);
    }
    CHECK(dt_taskwait() == DT_OK, "dt_taskwait");
    for (int i = 0; i < N0 + N1; i++) CHECK(x[i] == 1, "x[%d] = %ld", i, x[i]);
    dt_dfree(x);
    return failures != 0;
}

int main(int argc, char **argv)
{
    dt_type_register("inc", inc_fn, &T_inc);
    return dt_main(argc, argv, app) != 0;
}
