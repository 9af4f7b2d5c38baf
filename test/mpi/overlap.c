/* overlap.c - tasks whose own accesses overlap, placed on other ranks
 * (mpiexec -n 2..4), checked against a sequential run:
 *
 *   - a task on the last rank with two overlapping writing accesses: the
 *     directory holds the later access's version of the shared bytes, and
 *     that rank's version cache must say the same once the task is done
 *     (it used to keep the earlier one's, and the bring-back then aborted
 *     the job: "the directory says this rank holds version ...");
 *   - a task on rank 0 that writes bytes (DT_OUT) and reads them again
 *     through a later DT_IN access, then a task on the last rank reading
 *     them: it waits for the later access, and must see the write (it used
 *     to be placed before the write was recorded, and got the old bytes). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dtask.h"
#include "check.h"

enum { N = 256, MAXACC = 3 };
typedef struct {
    uint8_t *base;
    int nacc;
    struct { unsigned mode; int off, size; } a[MAXACC];
} over_t;
static dt_type_t T_OVER;

/* reads every byte it may read into a hash, then writes a function of it */
static void over(void *p)
{
    const over_t *t = p;
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < t->nacc; i++)
        if (t->a[i].mode != DT_OUT)
            for (int j = 0; j < t->a[i].size; j++) h = (h ^ t->base[t->a[i].off + j]) * 1099511628211ull;
    for (int i = 0; i < t->nacc; i++)
        if (t->a[i].mode != DT_IN)
            for (int j = 0; j < t->a[i].size; j++) {
                h = h * 6364136223846793005ull + 1442695040888963407ull;
                t->base[t->a[i].off + j] = (uint8_t)(h >> 56);
            }
}

/* the tasks, each on rank `node`: created in order, then run in order on a copy */
static void run(const over_t *tasks, const int *node, int n, const char *what)
{
    uint8_t *u = dt_dmalloc(N), s[N];
    CHECK(u != NULL, "dt_dmalloc");
    if (!u) return;
    for (int i = 0; i < N; i++) u[i] = s[i] = (uint8_t)(i * 7 + 3);
    for (int k = 0; k < n; k++) {
        over_t t = tasks[k];
        dt_access_t acc[MAXACC];
        t.base = u;
        for (int i = 0; i < t.nacc; i++) acc[i] = (dt_access_t){ t.a[i].mode, u + t.a[i].off, (size_t)t.a[i].size, 0, 0 };
        dt_task_attr_t at = { 0, node[k], what, 0 };
        CHECK(dt_task_create(T_OVER, &t, sizeof t, acc, (size_t)t.nacc, &at) == DT_OK, "%s: task %d", what, k);
    }
    CHECK(dt_taskwait() == DT_OK, "%s: dt_taskwait", what);
    for (int k = 0; k < n; k++) {
        over_t t = tasks[k];
        t.base = s;
        over(&t);
    }
    int bad = 0, first = -1;
    for (int i = 0; i < N; i++)
        if (u[i] != s[i] && bad++ == 0) first = i;
    CHECK(!bad, "%s: %d bytes differ from the sequential run, first at %d", what, bad, first);
    dt_dfree(u);
}

static int app(int argc, char **argv)
{
    (void)argc, (void)argv;
    int last = dt_num_ranks() - 1;
    /* two writes of the same task overlap: partly, and one inside the other */
    over_t w[] = {
        { NULL, 2, { { DT_INOUT, 0, 17 }, { DT_INOUT, 8, 13 } } },
        { NULL, 2, { { DT_OUT, 40, 16 }, { DT_INOUT, 44, 4 } } },
        { NULL, 1, { { DT_IN, 0, 64 } } },
    };
    int wn[] = { last, last, 0 };
    run(w, wn, 3, "overlapping writes");
    /* written, then read again by a later access of the same task */
    over_t r[] = {
        { NULL, 2, { { DT_OUT, 42, 12 }, { DT_IN, 39, 16 } } },
        { NULL, 1, { { DT_INOUT, 47, 6 } } },
    };
    int rn[] = { 0, last };
    run(r, rn, 2, "write then read");
    return failures != 0;
}

int main(int argc, char **argv)
{
    dt_type_register("over", over, &T_OVER);
    return dt_main(argc, argv, app) != 0;
}
