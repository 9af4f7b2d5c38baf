/* steal.c - DT_STEAL (run under mpiexec -n 2..4, one worker a rank):
 *
 *   steal [flat]  rank 0's tasks, none with a node hint, all on blocks of
 *                 rank 0's dt_lmalloc memory, so that locality places every
 *                 one on rank 0; their lengths differ (1 to 4 units).  With
 *                 DT_STEAL=1 other ranks must run some of them, with 0 none.
 *   steal nested  parents pinned to the last rank create such children (no
 *                 hint; run with DT_NESTED=local, so only stealing moves
 *                 them): with DT_STEAL=1 some run elsewhere, with 0 none.
 *
 * Either way every fourth task carries a node hint and must run there, and
 * the results must equal a sequential run.  mpi.mk checks the DT_STATS
 * counters (tasks stolen, given) besides. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dtask.h"

#include "check.h"

enum { N = 2048, NB = 24, ITERS = 2, REPS = 60, PARENTS = 2 };

static dt_type_t T_work, T_parent;

typedef struct { long *v; int n; long k; int *where; } work_t;

/* block b's work in round it: 1 to 4 units, so that queues are uneven */
static void work(long *v, int n, long k)
{
    for (long r = 0; r < REPS * (1 + k % 4); r++)
        for (int i = 0; i < n; i++) v[i] = (v[i] * 31 + k + r) % 1000003;
}

static void work_fn(void *p)
{
    work_t *a = p;
    work(a->v, a->n, a->k);
    *a->where = dt_rank();
}

/* the hinted tasks: every fourth block */
static int hinted(int b) { return b % 4 == 3; }

#define SLOT(b, it) ((b) * ITERS + (it))

static void make(long *v, int *where, int b, int it, int pin)
{
    work_t c = { v + (size_t)b * N, N, it * 100 + b, where + SLOT(b, it) };
    dt_access_t acc[2] = { { DT_INOUT, c.v, sizeof(long) * N, 0, 0 }, { DT_OUT, c.where, sizeof(int), 0, 0 } };
    dt_task_attr_t at = { 0, hinted(b) ? pin : DT_NODE_ANY, "work", 0 };
    CHECK(dt_task_create(T_work, &c, sizeof c, acc, 2, &at) == DT_OK, "create block %d", b);
}

typedef struct { long *v; int *where; int first, home; } parent_t;

static void parent_fn(void *p)
{
    parent_t *a = p;
    for (int it = 0; it < ITERS; it++)
        for (int b = a->first; b < a->first + NB / PARENTS; b++) make(a->v, a->where, b, it, a->home);
}

static int app(int argc, char **argv)
{
    int nested = argc > 1 && !strcmp(argv[1], "nested");
    const char *s = getenv("DT_STEAL");
    int steal = s && !strcmp(s, "1");
    int home = nested ? dt_num_ranks() - 1 : 0;
    long *v = nested ? dt_dmalloc(sizeof(long) * N * NB) : dt_lmalloc(sizeof(long) * N * NB);
    int *where = nested ? dt_dmalloc(sizeof(int) * ITERS * NB) : dt_lmalloc(sizeof(int) * ITERS * NB);
    long *ref = malloc(sizeof(long) * N * NB);
    CHECK(v && where && ref, "allocation");
    if (!v || !where || !ref) return 1;
    for (int i = 0; i < N * NB; i++) v[i] = ref[i] = i;
    for (int i = 0; i < ITERS * NB; i++) where[i] = -1;
    for (int it = 0; it < ITERS; it++)
        for (int b = 0; b < NB; b++) work(ref + (size_t)b * N, N, it * 100 + b);
    if (nested) {
        for (int k = 0; k < PARENTS; k++) {
            int first = k * (NB / PARENTS);
            parent_t a = { v, where, first, home };
            dt_access_t acc[2] = {
                { DT_INOUT | DT_WEAK, v + (size_t)first * N, sizeof(long) * N * (NB / PARENTS), 0, 0 },
                { DT_OUT | DT_WEAK, where + SLOT(first, 0), sizeof(int) * ITERS * (NB / PARENTS), 0, 0 } };
            dt_task_attr_t at = { 0, home, "parent", 0 };
            CHECK(dt_task_create(T_parent, &a, sizeof a, acc, 2, &at) == DT_OK, "create parent");
        }
    } else {
        for (int it = 0; it < ITERS; it++)
            for (int b = 0; b < NB; b++) make(v, where, b, it, home);
    }
    dt_taskwait();
    CHECK(memcmp(v, ref, sizeof(long) * N * NB) == 0, "results differ from the sequential run");
    int away = 0;
    for (int it = 0; it < ITERS; it++)
        for (int b = 0; b < NB; b++) {
            int w = where[SLOT(b, it)];
            CHECK(w >= 0 && w < dt_num_ranks(), "block %d round %d ran on rank %d", b, it, w);
            if (hinted(b)) CHECK(w == home, "hinted block %d round %d ran on rank %d, not %d", b, it, w, home);
            else away += w != home;
        }
    if (steal) CHECK(away > 0, "DT_STEAL=1: every task ran on rank %d", home);
    else CHECK(away == 0, "DT_STEAL=0: %d tasks left rank %d", away, home);
    printf("steal%s: %d ranks, DT_STEAL=%d: %d of %d unhinted tasks ran away from rank %d%s\n", nested ? " nested" : "",
           dt_num_ranks(), steal, away, ITERS * NB * 3 / 4, home, failures ? " (FAILED)" : "");
    if (nested) {
        dt_dfree(v);
        dt_dfree(where);
    } else {
        dt_lfree(v);
        dt_lfree(where);
    }
    free(ref);
    return failures != 0;
}

int main(int argc, char **argv)
{
    dt_type_register("work", work_fn, &T_work);
    dt_type_register("parent", parent_fn, &T_parent);
    int rc = dt_main(argc, argv, app);
    if (rc < 0) fprintf(stderr, "steal: dt_main: %s\n", dt_strerror(rc));
    return rc != 0;
}
