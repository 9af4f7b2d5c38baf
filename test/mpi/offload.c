/* offload.c - tasks across ranks (run under mpiexec -n 2..4, any DT_SCHEDULE):
 * results must equal a sequential run, whatever rank each task lands on. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "dtask.h"

#include "check.h"

static dt_type_t T_add, T_copy, T_tile, T_where, T_nap, T_hold, T_order, T_parent, T_dmalloc, T_sleep;

typedef struct { long *v; int n; long add; } add_t;
static void add_fn(void *p) { add_t *a = p; for (int i = 0; i < a->n; i++) a->v[i] += a->add; }

typedef struct { long *dst, *src; int n; } copy_t;
static void copy_fn(void *p) { copy_t *c = p; for (int i = 0; i < c->n; i++) c->dst[i] = c->src[i] * 3 + 1; }

/* a B x B tile of an N-column row-major matrix: += k */
typedef struct { double *t; int b, ld; double k; } tile_t;
static void tile_fn(void *p)
{
    tile_t *a = p;
    for (int i = 0; i < a->b; i++)
        for (int j = 0; j < a->b; j++) a->t[i * a->ld + j] += a->k;
}

/* records the rank it ran on */
typedef struct { int *slot; } where_t;
static void where_fn(void *p) { where_t *w = p; *w->slot = dt_rank(); }
/* the same, after 20 ms: long enough that a rank's queue is seen busy */
static void nap_fn(void *p) { usleep(20000); where_fn(p); }
/* 200 ms: the tasks created after it are all queued behind it, even on a loaded machine */
static void hold_fn(void *p) { usleep(200000); where_fn(p); }
/* records its place among the "order" tasks that ran in this process */
static void order_fn(void *p)
{
    static atomic_int ran;
    where_t *w = p;
    *w->slot = atomic_fetch_add(&ran, 1) + 1;
}

/* records when it started (CLOCK_MONOTONIC: one clock for all the ranks
 * of this machine) and where, then sleeps ms */
typedef struct { long *start; int *rank; int ms; } sleep_t;
static void sleep_fn(void *p)
{
    sleep_t *s = p;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    *s->start = ts.tv_sec * 1000000000L + ts.tv_nsec;
    *s->rank = dt_rank();
    usleep((useconds_t)s->ms * 1000);
}

static void sleep_task(long *start, int *rank, int ms, int node, int priority)
{
    sleep_t a = { start, rank, ms };
    dt_access_t acc[2] = { { DT_OUT, start, sizeof(long), 0, 0 }, { DT_OUT, rank, sizeof(int), 0, 0 } };
    dt_task_attr_t at = { priority, node, "sleep", 0 };
    CHECK(dt_task_create(T_sleep, &a, sizeof a, acc, 2, &at) == DT_OK, "creating a sleep task");
}

/* an offloaded task creating children on its own rank */
static void parent_fn(void *p)
{
    add_t *a = p;
    for (int k = 0; k < 4; k++) {
        add_t c = { a->v, a->n, a->add + k };
        dt_access_t acc = { DT_INOUT, a->v, sizeof(long) * (size_t)a->n, 0, 0 };
        dt_task_create(T_add, &c, sizeof c, &acc, 1, NULL);
    }
    dt_taskwait();
}

/* dt_dmalloc belongs to rank 0's program */
typedef struct { int *result; } dm_t;
static void dmalloc_fn(void *p)
{
    dm_t *d = p;
    void *x = dt_dmalloc(64);
    *d->result = x == NULL ? 1 : (dt_rank() == 0 ? 1 : 0);
    if (x) dt_dfree(x);
}

static int app(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int ranks = dt_num_ranks();
    const int n = 512, nb = 6, iters = 12;

    /* 1. chains of inout and out/in over blocks, hinted round the ranks */
    long *v = dt_dmalloc(sizeof(long) * n * nb), *w = dt_dmalloc(sizeof(long) * n * nb);
    long *rv = malloc(sizeof(long) * n * nb), *rw = malloc(sizeof(long) * n * nb);
    for (int i = 0; i < n * nb; i++) v[i] = rv[i] = i, w[i] = rw[i] = -1;
    for (int it = 0; it < iters; it++) {
        for (int b = 0; b < nb; b++) {
            add_t a = { v + b * n, n, it * 10 + b };
            dt_access_t acc = { DT_INOUT, v + b * n, sizeof(long) * n, 0, 0 };
            dt_task_attr_t at = { 0, (b + it) % ranks, "add", 0 };
            CHECK(dt_task_create(T_add, &a, sizeof a, &acc, 1, it % 3 ? &at : NULL) == DT_OK, "create add");
            for (int i = 0; i < n; i++) rv[b * n + i] += it * 10 + b;
        }
        for (int b = 0; b < nb; b++) {
            int s = (b + it) % nb;
            copy_t c = { w + b * n, v + s * n, n };
            dt_access_t acc[2] = { { DT_OUT, w + b * n, sizeof(long) * n, 0, 0 },
                                   { DT_IN, v + s * n, sizeof(long) * n, 0, 0 } };
            dt_task_attr_t at = { 0, (b * 7 + it) % ranks, "copy", 0 };
            CHECK(dt_task_create(T_copy, &c, sizeof c, acc, 2, &at) == DT_OK, "create copy");
            for (int i = 0; i < n; i++) rw[b * n + i] = rv[s * n + i] * 3 + 1;
        }
        if (it == iters / 2) {      /* bring one block back only, and read it */
            dt_access_t one = { DT_IN, w + 2 * n, sizeof(long) * n, 0, 0 };
            CHECK(dt_taskwait_on(&one, 1) == DT_OK, "taskwait_on");
            CHECK(memcmp(w + 2 * n, rw + 2 * n, sizeof(long) * n) == 0, "block 2 after dt_taskwait_on");
        }
    }
    CHECK(dt_taskwait() == DT_OK, "taskwait");
    CHECK(memcmp(v, rv, sizeof(long) * n * nb) == 0, "v differs from the sequential run");
    CHECK(memcmp(w, rw, sizeof(long) * n * nb) == 0, "w differs from the sequential run");

    /* 2. 2-D tiles of one row-major matrix: tiles travel as strided messages */
    const int N = 96, B = 32, T = N / B;
    double *m = dt_dmalloc(sizeof(double) * N * N), *rm = malloc(sizeof(double) * N * N);
    for (int i = 0; i < N * N; i++) m[i] = rm[i] = i * 0.5;
    for (int it = 0; it < 5; it++)
        for (int ti = 0; ti < T; ti++)
            for (int tj = 0; tj < T; tj++) {
                double *t = m + ti * B * N + tj * B;
                tile_t a = { t, B, N, it + ti * 0.25 + tj };
                dt_access_t acc = { DT_INOUT, t, sizeof(double) * B, (size_t)B, sizeof(double) * N };
                dt_task_attr_t at = { 0, (ti * T + tj + it) % ranks, "tile", 0 };
                CHECK(dt_task_create(T_tile, &a, sizeof a, &acc, 1, &at) == DT_OK, "create tile");
                for (int i = 0; i < B; i++)
                    for (int j = 0; j < B; j++) rm[(ti * B + i) * N + tj * B + j] += a.k;
            }
    dt_taskwait();
    CHECK(memcmp(m, rm, sizeof(double) * N * N) == 0, "tiles differ from the sequential run");

    /* 3. hints are honoured */
    int *where = dt_dmalloc(sizeof(int) * 64);
    for (int i = 0; i < 64; i++) {
        where_t a = { where + i };
        dt_access_t acc = { DT_OUT, where + i, sizeof(int), 0, 0 };
        dt_task_attr_t at = { 0, i % ranks, "where", 0 };
        dt_task_create(T_where, &a, sizeof a, &acc, 1, &at);
    }
    dt_taskwait();
    for (int i = 0; i < 64; i++) CHECK(where[i] == i % ranks, "task %d ran on rank %d, not %d", i, where[i], i % ranks);

    /* 4. an offloaded parent whose children run on its rank */
    long *pv = dt_dmalloc(sizeof(long) * 100);
    for (int i = 0; i < 100; i++) pv[i] = i;
    add_t pa = { pv, 100, 1 };
    dt_access_t pacc = { DT_INOUT, pv, sizeof(long) * 100, 0, 0 };
    dt_task_attr_t pat = { 0, ranks - 1, "parent", 0 };
    CHECK(dt_task_create(T_parent, &pa, sizeof pa, &pacc, 1, &pat) == DT_OK, "create parent");
    dt_taskwait();
    for (int i = 0; i < 100; i++) CHECK(pv[i] == i + 1 + 2 + 3 + 4, "nested child results lost at %d", i);

    /* 5. errors: memory outside the common address space cannot go elsewhere */
    long *local = malloc(sizeof(long) * 8);
    add_t la = { local, 8, 1 };
    dt_access_t lacc = { DT_INOUT, local, sizeof(long) * 8, 0, 0 };
    dt_task_attr_t lat = { 0, 1 % ranks, "local", 0 };
    int rc = dt_task_create(T_add, &la, sizeof la, &lacc, 1, &lat);
    CHECK(ranks == 1 ? rc == DT_OK : rc == DT_ERANGE, "malloc memory on rank 1: %s", dt_strerror(rc));
    dt_task_attr_t bad = { 0, ranks, "nowhere", 0 };
    CHECK(dt_task_create(T_add, &pa, sizeof pa, &pacc, 1, &bad) == DT_ERANGE, "rank %d accepted", ranks);
    int *dm = dt_dmalloc(sizeof(int));
    dm_t d = { dm };
    dt_access_t dacc = { DT_OUT, dm, sizeof(int), 0, 0 };
    dt_task_attr_t dat = { 0, ranks - 1, "dmalloc", 0 };
    dt_task_create(T_dmalloc, &d, sizeof d, &dacc, 1, &dat);
    dt_taskwait();
    CHECK(*dm == 1, "dt_dmalloc on rank %d did not behave", ranks - 1);

    /* 6. after a taskwait the program may write directly: remote copies are stale */
    long *q = dt_dmalloc(sizeof(long) * 64), *qsum = dt_dmalloc(sizeof(long) * ranks);
    for (int i = 0; i < 64; i++) q[i] = 1;
    for (int round = 0; round < 3; round++) {
        for (int r = 0; r < ranks; r++) {
            copy_t c = { qsum + r, q, 1 };         /* qsum[r] = q[0] * 3 + 1, read on rank r */
            dt_access_t acc[2] = { { DT_OUT, qsum + r, sizeof(long), 0, 0 }, { DT_IN, q, sizeof(long) * 64, 0, 0 } };
            dt_task_attr_t at = { 0, r, "reader", 0 };
            dt_task_create(T_copy, &c, sizeof c, acc, 2, &at);
        }
        if (round == 1) {
            dt_access_t qa = { DT_INOUT, q, sizeof(long) * 64, 0, 0 };
            dt_taskwait_on(&qa, 1);
        } else {
            dt_taskwait();
        }
        if (round != 1)
            for (int r = 0; r < ranks; r++)
                CHECK(qsum[r] == q[0] * 3 + 1, "round %d: rank %d read a stale copy (%ld)", round, r, qsum[r]);
        for (int i = 0; i < 64; i++) q[i] += 10;  /* written by the program itself */
    }

    /* 7. freed and allocated again at the same address: no stale remote copy */
    if (ranks > 1) {
        for (long round = 0; round < 3; round++) {
            long *x = dt_dmalloc(64), *y = dt_dmalloc(64);
            *x = 100 + round;
            copy_t c = { y, x, 1 };
            dt_access_t acc[2] = { { DT_OUT, y, sizeof(long), 0, 0 }, { DT_IN, x, sizeof(long), 0, 0 } };
            dt_task_attr_t at = { 0, 1, "reader", 0 };
            dt_task_create(T_copy, &c, sizeof c, acc, 2, &at);
            dt_taskwait();
            CHECK(*y == (100 + round) * 3 + 1, "round %ld: recycled memory read stale (%ld)", round, *y);
            dt_dfree(y);
            dt_dfree(x);
        }
    }

    /* 8. DT_SCHEDULE=balance: long tasks created together spread over the
       ranks; with every queue empty, a reader goes to the rank that holds
       the bytes it reads (no transfer) */
    const char *policy = getenv("DT_SCHEDULE");
    if (ranks > 1 && policy && !strcmp(policy, "balance")) {
        int *ran = dt_dmalloc(sizeof(int) * 2 * ranks), per_rank[8] = { 0 };
        for (int i = 0; i < 2 * ranks; i++) {
            where_t a = { ran + i };
            dt_access_t acc = { DT_OUT, ran + i, sizeof(int), 0, 0 };
            dt_task_create(T_nap, &a, sizeof a, &acc, 1, NULL);
        }
        dt_taskwait();
        for (int i = 0; i < 2 * ranks; i++) per_rank[ran[i]]++;
        for (int r = 0; r < ranks; r++) CHECK(per_rank[r] > 0, "balance: none of %d naps ran on rank %d", 2 * ranks, r);
        size_t n = (size_t)4 << 20;
        long *big = dt_dmalloc(n);
        for (size_t i = 0; i < n / sizeof(long); i++) big[i] = (long)i;
        int last = ranks - 1;
        add_t wr = { big, (int)(n / sizeof(long)), 7 };
        dt_access_t wa = { DT_INOUT, big, n, 0, 0 };
        dt_task_attr_t at = { 0, last, "writer", 0 };
        dt_task_create(T_add, &wr, sizeof wr, &wa, 1, &at);
        where_t rd = { ran };
        dt_access_t ra[2] = { { DT_OUT, ran, sizeof(int), 0, 0 }, { DT_IN, big, n, 0, 0 } };
        dt_task_create(T_where, &rd, sizeof rd, ra, 2, NULL);
        dt_taskwait();
        CHECK(ran[0] == last, "balance: the reader of 4 MiB held by rank %d ran on rank %d", last, ran[0]);
        /* 4 MiB in one transfer each way (by CMA on one node) */
        size_t bad = 0;
        for (size_t i = 0; i < n / sizeof(long); i++) bad += big[i] != (long)i + 7;
        CHECK(bad == 0, "balance: %zu of the 4 MiB's longs differ after their writer on rank %d", bad, last);
        dt_dfree(big);
        dt_dfree(ran);
    }

    /* 9. an offloaded task keeps its priority.  Five tasks on rank 1 wait for a
       200 ms task there (the namespace sends them at once, so they are all
       on rank 1 when it ends and become ready together); the one with
       priority 5 runs first.  It is neither the first nor the last created,
       so FIFO or LIFO order alone would not put it there. */
    if (ranks > 1) {
        int *seq = dt_dmalloc(sizeof(int) * 6);
        for (int i = 0; i < 6; i++) {
            where_t a = { seq + i };
            dt_access_t acc[2] = { { DT_OUT, seq + i, sizeof(int), 0, 0 }, { DT_IN, seq, sizeof(int), 0, 0 } };
            dt_task_attr_t at = { i == 3 ? 5 : 0, 1, "order", 0 };
            CHECK(dt_task_create(i == 0 ? T_hold : T_order, &a, sizeof a, acc, i == 0 ? 1 : 2, &at) == DT_OK,
                  "creating task %d of the priority test", i);
        }
        dt_taskwait();
        CHECK(seq[3] == 1, "priority 5 on rank 1 ran in place %d (order %d %d %d %d %d)", seq[3], seq[1], seq[2],
              seq[3], seq[4], seq[5]);

        /* ... and tasks of one priority run there in the order they became
           ready (rank 0 sends the most urgent first): those readied by the
           worker that ran the 200 ms task ran last-in first-out before */
        for (int i = 0; i < 6; i++) {
            where_t a = { seq + i };
            dt_access_t acc[2] = { { DT_OUT, seq + i, sizeof(int), 0, 0 }, { DT_IN, seq, sizeof(int), 0, 0 } };
            dt_task_attr_t at = { 0, 1, "order", 0 };
            CHECK(dt_task_create(i == 0 ? T_hold : T_order, &a, sizeof a, acc, i == 0 ? 1 : 2, &at) == DT_OK,
                  "creating task %d of the order test", i);
        }
        dt_taskwait();
        CHECK(seq[1] < seq[2] && seq[2] < seq[3] && seq[3] < seq[4] && seq[4] < seq[5],
              "tasks of one priority on rank 1 ran out of order: %d %d %d %d %d", seq[1], seq[2], seq[3], seq[4], seq[5]);
        dt_dfree(seq);
    }

    /* 10. DT_SCHEDULE=balance keeps ready tasks on rank 0 until a rank has
       room for them: a free worker, else a queue of one task per worker.
       (a) A rank busy with a 300 ms task is given at most one of the short
       tasks created after it to run after it; the other ranks run the rest.  (b) Waiting
       tasks leave highest priority first: every rank is kept busy by two
       pinned tasks of 100 ms x (rank + 1), then three tasks of priority 0
       and one of priority 5 wait; rank 0 has room first (at 100 ms), the
       priority-5 task takes it and starts before the other three. */
    if (ranks > 1 && policy && !strcmp(policy, "balance") && dt_num_workers() == 1) {
        int n = 1 + 4 * (ranks - 1), busy = 2 * ranks, slots = n > busy + 4 ? n : busy + 4;
        long *start = dt_dmalloc(sizeof(long) * (size_t)slots);
        int *where = dt_dmalloc(sizeof(int) * (size_t)slots), beside = 0;
        for (int i = 0; i < n; i++) sleep_task(start + i, where + i, i == 0 ? 300 : 20, DT_NODE_ANY, 0);
        dt_taskwait();
        for (int i = 1; i < n; i++) beside += where[i] == where[0] && start[i] > start[0];
        CHECK(beside <= 1, "balance: %d of %d short tasks ran on rank %d after a long one", beside, n - 1, where[0]);
        for (int i = 0; i < busy; i++) sleep_task(start + i, where + i, 100 * (i / 2 + 1), i / 2, 0);
        for (int i = busy; i < busy + 4; i++) sleep_task(start + i, where + i, 0, DT_NODE_ANY, i == busy + 3 ? 5 : 0);
        dt_taskwait();
        for (int i = busy; i < busy + 3; i++)
            CHECK(start[busy + 3] < start[i], "balance: the priority-5 task (rank %d) started %.1f ms after "
                  "the priority-0 task %d (rank %d)", where[busy + 3], (start[busy + 3] - start[i]) / 1e6,
                  i - busy, where[i]);
        dt_dfree(start);
        dt_dfree(where);
    }

    printf("offload: %d ranks: %s\n", ranks, failures ? "FAILED" : "ok");
    free(rv);
    free(rw);
    free(rm);
    free(local);
    return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    dt_type_register("add", add_fn, &T_add);
    dt_type_register("copy", copy_fn, &T_copy);
    dt_type_register("tile", tile_fn, &T_tile);
    dt_type_register("where", where_fn, &T_where);
    dt_type_register("nap", nap_fn, &T_nap);
    dt_type_register("hold", hold_fn, &T_hold);
    dt_type_register("order", order_fn, &T_order);
    dt_type_register("parent", parent_fn, &T_parent);
    dt_type_register("dmalloc", dmalloc_fn, &T_dmalloc);
    dt_type_register("sleep", sleep_fn, &T_sleep);
    int rc = dt_main(argc, argv, app);
    if (rc < 0) fprintf(stderr, "offload: dt_main: %s\n", dt_strerror(rc));
    return rc != 0;
}
