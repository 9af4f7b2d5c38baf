/* spread.c - DT_NESTED (run under mpiexec -n 2..4, one worker a rank or
 * more): parent tasks pinned to one rank create per-block children with no
 * node hint, each long enough to keep a worker busy.  With DT_NESTED=spread
 * (the default) some children must run on other ranks, with local none may;
 * either way the results must equal a sequential run, children with a node
 * hint must run there, and a child with a weak access stays with its
 * parent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dtask.h"

#include "check.h"

enum { N = 2048, NB = 24, PARENTS = 3, ITERS = 2, REPS = 100 };

static dt_type_t T_work, T_parent, T_weak;

typedef struct { long *v; int n; long k; int *where; } work_t;

static void work(long *v, int n, long k)
{
    for (int r = 0; r < REPS; r++)
        for (int i = 0; i < n; i++) v[i] = (v[i] * 31 + k + r) % 1000003;
}

static void work_fn(void *p)
{
    work_t *a = p;
    work(a->v, a->n, a->k);
    *a->where = dt_rank();
}

/* a child holding its block weakly: its grandchild does the work */
static void weak_fn(void *p)
{
    work_t *a = p;
    *a->where = dt_rank();
}

/* blocks [first, first + NB/PARENTS) for ITERS rounds: the last block of
 * each round is pinned to the parent's rank by a hint, the one before it
 * goes through a child with a weak access */
typedef struct { long *v; int first, home; int *where, *gwhere; } parent_t;
/* where (and gwhere, for the sibling of the weak child) of block b in round it */
#define SLOT(b, it) ((b) * ITERS + (it))
static void parent_fn(void *p)
{
    parent_t *a = p;
    for (int it = 0; it < ITERS; it++)
        for (int b = a->first; b < a->first + NB / PARENTS; b++) {
            work_t c = { a->v + (size_t)b * N, N, it * 100 + b, a->where + SLOT(b, it) };
            dt_access_t acc[2] = { { DT_INOUT, c.v, sizeof(long) * N, 0, 0 }, { DT_OUT, c.where, sizeof(int), 0, 0 } };
            dt_task_attr_t at = { 0, DT_NODE_ANY, "work", 0 };
            if (b == a->first + NB / PARENTS - 1) at.node = a->home;
            if (b == a->first + NB / PARENTS - 2) {
                acc[0].mode |= DT_WEAK;
                CHECK(dt_task_create(T_weak, &c, sizeof c, acc, 2, &at) == DT_OK, "create weak child");
                work_t g = c;
                g.where = a->gwhere + SLOT(b, it);
                dt_access_t gacc[2] = { { DT_INOUT, c.v, sizeof(long) * N, 0, 0 }, { DT_OUT, g.where, sizeof(int), 0, 0 } };
                CHECK(dt_task_create(T_work, &g, sizeof g, gacc, 2, &at) == DT_OK, "create sibling");
                continue;
            }
            CHECK(dt_task_create(T_work, &c, sizeof c, acc, 2, &at) == DT_OK, "create child");
            /* one child timed before the others exist: children of an untimed
               type stay (DT_NESTED_MIN_US), and without this every child may
               be made before any has ended (measured: as few as 4 of 48 spread
               with 2 workers a rank, so none at all on a slower host) */
            if (it == 0 && b == a->first) CHECK(dt_taskwait() == DT_OK, "taskwait for the first child");
        }
}

static int app(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    const char *nested = getenv("DT_NESTED");
    int spread = !nested || !strcmp(nested, "spread");
    long *v = dt_dmalloc(sizeof(long) * N * NB);
    int *where = dt_dmalloc(sizeof(int) * ITERS * NB), *gwhere = dt_dmalloc(sizeof(int) * ITERS * NB);
    long *ref = malloc(sizeof(long) * N * NB);
    CHECK(v && where && gwhere && ref, "allocation");
    if (!v || !where || !gwhere || !ref) return 1;
    for (int i = 0; i < N * NB; i++) v[i] = ref[i] = i;
    for (int i = 0; i < ITERS * NB; i++) where[i] = gwhere[i] = -1;
    for (int it = 0; it < ITERS; it++)
        for (int b = 0; b < NB; b++) work(ref + (size_t)b * N, N, it * 100 + b);
    int home = dt_num_ranks() - 1;
    for (int k = 0; k < PARENTS; k++) {
        int first = k * (NB / PARENTS);
        parent_t a = { v, first, home, where, gwhere };
        size_t slots = sizeof(int) * ITERS * (NB / PARENTS);
        dt_access_t acc[3] = { { DT_INOUT | DT_WEAK, v + (size_t)first * N, sizeof(long) * N * (NB / PARENTS), 0, 0 },
                               { DT_OUT | DT_WEAK, where + SLOT(first, 0), slots, 0, 0 },
                               { DT_OUT | DT_WEAK, gwhere + SLOT(first, 0), slots, 0, 0 } };
        dt_task_attr_t at = { 0, home, "parent", 0 };
        CHECK(dt_task_create(T_parent, &a, sizeof a, acc, 3, &at) == DT_OK, "create parent");
    }
    dt_taskwait();
    CHECK(memcmp(v, ref, sizeof(long) * N * NB) == 0, "results differ from the sequential run");
    int away = 0, children = 0;
    for (int it = 0; it < ITERS; it++)
        for (int b = 0; b < NB; b++) {
            int slot = SLOT(b, it), last = b % (NB / PARENTS) == NB / PARENTS - 1;
            int weak = b % (NB / PARENTS) == NB / PARENTS - 2;
            CHECK(where[slot] >= 0 && where[slot] < dt_num_ranks(), "block %d round %d ran on rank %d", b, it, where[slot]);
            if (last) CHECK(where[slot] == home, "pinned block %d round %d ran on rank %d", b, it, where[slot]);
            else if (weak) CHECK(where[slot] == home, "weak child %d round %d ran on rank %d", b, it, where[slot]);
            else away += where[slot] != home, children++;
            if (weak) {
                CHECK(gwhere[slot] >= 0 && gwhere[slot] < dt_num_ranks(), "block %d round %d ran on rank %d", b, it,
                      gwhere[slot]);
                away += gwhere[slot] != home, children++;
            }
        }
    if (spread) CHECK(away > 0, "DT_NESTED=spread: every child ran on its parent's rank");
    else CHECK(away == 0, "DT_NESTED=local: %d children left their parent's rank", away);
    printf("spread: %d ranks, DT_NESTED=%s: %d of %d children ran away from their parent's rank%s\n", dt_num_ranks(),
           spread ? "spread" : "local", away, children, failures ? " (FAILED)" : "");
    dt_dfree(v);
    dt_dfree(where);
    dt_dfree(gwhere);
    free(ref);
    return failures != 0;
}

int main(int argc, char **argv)
{
    dt_type_register("work", work_fn, &T_work);
    dt_type_register("parent", parent_fn, &T_parent);
    dt_type_register("weak", weak_fn, &T_weak);
    int rc = dt_main(argc, argv, app);
    if (rc < 0) fprintf(stderr, "spread: dt_main: %s\n", dt_strerror(rc));
    return rc != 0;
}
