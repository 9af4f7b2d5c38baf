/* iter.c - the distributed dt_taskiter (every rank records the body and
 * replays its own part, with precomputed transfers), under mpiexec -n 2..4.
 *
 * A Gauss-Seidel sweep on 2-D tiles of a row-major grid in dt_dmalloc
 * memory, checked bit for bit against the sequential sweep: with node
 * hints by block row, by block column, and without hints (owner: the home
 * of the tile); ordinary tasks spread the grid over the ranks before the
 * taskiter and read and write it on other ranks after it; dt_taskiter_while
 * stops on rank 0's condition; and the refusals: a body that records another
 * graph on some rank (DT_ETASKITER) and memory outside the common address
 * space (DT_ERANGE), after which the job goes on; and a concurrent access,
 * which makes it run the plain loop.
 *
 *   usage: iter            all of the above
 *          iter random [FIRST LAST]
 *                          random iteration graphs (2-D regions, random
 *                          hints, weak accesses; every fourth seed also
 *                          concurrent, commutative and reduction tasks, which
 *                          make dt_taskiter run the plain loop), bit for bit
 *                          against a sequential run; every fourth seed (of
 *                          the others) also as a plain loop of task creations;
 *                          seeds 1 to 200, or FIRST to LAST
 *          iter moves K    K taskiters in a row (mpi.mk: the later ones move
 *                          only halo rows first)
 *          iter stats T    one taskiter of T iterations (mpi.mk compares the
 *                          control messages of two T under DT_STATS=1) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dtask.h"
#include "check.h"
#include "../../examples/grid.h"

typedef struct { double *u; size_t rows, cols, ld; } block_t;
enum { HINT_NONE, HINT_ROWS, HINT_COLS, HINT_MISMATCH, HINT_MALLOC, HINT_CONCURRENT };
typedef struct { double *u; size_t N, B; int hint; double *other; } sweep_t;
typedef struct { double *p; size_t n; double add; } axpy_t;

static dt_type_t T_GS, T_SWEEP, T_ADD;

static void gauss_seidel(void *p)
{
    const block_t *b = p;
    for (size_t i = 0; i < b->rows; i++) {
        double *r = b->u + i * b->ld;
        for (size_t j = 0; j < b->cols; j++) r[j] = 0.25 * (r[j - b->ld] + r[j + b->ld] + r[j - 1] + r[j + 1]);
    }
}

static void add_fn(void *p)
{
    const axpy_t *a = p;
    for (size_t i = 0; i < a->n; i++) a->p[i] = a->p[i] * 0.5 + a->add;
}

static size_t ext(size_t N, size_t B, size_t i) { return N - i * B < B ? N - i * B : B; }

static void sweep(void *p)
{
    const sweep_t *a = p;
    size_t N = a->N, B = a->B, nb = (N + B - 1) / B, ld = N + 2, row = ld * sizeof(double);
    int nr = dt_num_ranks();
    for (size_t bi = 0; bi < nb; bi++)
        for (size_t bj = 0; bj < nb; bj++) {
            size_t rows = ext(N, B, bi), cols = ext(N, B, bj);
            double *blk = a->u + (1 + bi * B) * ld + 1 + bj * B;
            block_t b = { blk, rows, cols, ld };
            dt_access_t acc[] = {
                { DT_INOUT, blk, cols * sizeof(double), rows, row },
                { DT_IN, blk - ld, cols * sizeof(double), 0, 0 },
                { DT_IN, blk + rows * ld, cols * sizeof(double), 0, 0 },
                { DT_IN, blk - 1, sizeof(double), rows, row },
                { DT_IN, blk + cols, sizeof(double), rows, row },
            };
            int node = a->hint == HINT_ROWS ? (int)(bi * (size_t)nr / nb)
                     : a->hint == HINT_COLS ? (int)(bj * (size_t)nr / nb) : DT_NODE_ANY;
            dt_task_attr_t at = { 0, node, "gs", 0 };
            CHECK(dt_task_create(T_GS, &b, sizeof b, acc, 5, &at) == DT_OK, "dt_task_create");
        }
    if (a->hint == HINT_MISMATCH && dt_rank() == nr - 1) {
        dt_access_t x = { DT_INOUT, a->u, sizeof(double), 0, 0 };
        block_t none = { a->u, 0, 0, ld };
        CHECK(dt_task_create(T_GS, &none, sizeof none, &x, 1, NULL) == DT_OK, "extra task");
    }
    if (a->hint == HINT_MALLOC || a->hint == HINT_CONCURRENT) {
        axpy_t x = { a->other, 1, 1.0 };
        dt_access_t acc = { a->hint == HINT_MALLOC ? DT_INOUT : DT_CONCURRENT, a->other, sizeof(double), 0, 0 };
        dt_task_create(T_ADD, &x, sizeof x, &acc, 1, NULL);
    }
}

static void sequential(double *s, size_t N, long iters)
{
    block_t all = { s + (N + 2) + 1, N, N, N + 2 };
    for (long it = 0; it < iters; it++) gauss_seidel(&all);
}

/* One task per grid row, on rank (row % ranks): the grid is spread over
 * the ranks (before) or read there from rank 0's fresh version (after). */
static void touch_rows(double *u, double *s, size_t N, double add)
{
    size_t ld = N + 2;
    for (size_t i = 1; i <= N; i++) {
        axpy_t x = { u + i * ld + 1, N, add };
        dt_access_t acc = { DT_INOUT, x.p, N * sizeof(double), 0, 0 };
        dt_task_attr_t at = { 0, (int)(i % (size_t)dt_num_ranks()), "touch", 0 };
        CHECK(dt_task_create(T_ADD, &x, sizeof x, &acc, 1, &at) == DT_OK, "touch");
        axpy_t y = { s + i * ld + 1, N, add };
        add_fn(&y);
    }
}

static void compare(const double *u, const double *s, size_t N, const char *what)
{
    size_t bad = 0, first = 0;
    for (size_t k = 0; k < (N + 2) * (N + 2); k++)
        if (memcmp(&u[k], &s[k], sizeof(double)) && bad++ == 0) first = k;
    CHECK(!bad, "%s: %zu points differ, first at row %zu column %zu: %.17g instead of %.17g", what, bad,
          first / (N + 2), first % (N + 2), u[first], s[first]);
}

static int rounds;
static int three_rounds(void *arg)
{
    (void)arg;
    return ++rounds < 3;
}

static void heat(size_t N, size_t B, long iters, int hint)
{
    size_t bytes = (N + 2) * (N + 2) * sizeof(double);
    double *u = dt_dmalloc(bytes), *s = malloc(bytes);
    CHECK(u && s, "memory");
    if (!u || !s) return;
    grid_init(u, N, 100.0);
    memcpy(s, u, bytes);
    touch_rows(u, s, N, 1.0);
    sweep_t a = { u, N, B, hint, NULL };
    CHECK(dt_taskiter(T_SWEEP, &a, sizeof a, iters) == DT_OK, "dt_taskiter N=%zu B=%zu hint %d", N, B, hint);
    sequential(s, N, iters);
    /* the results stay where they were computed: tasks right after find
       them there (the directory says where), rank 0 after dt_taskwait */
    touch_rows(u, s, N, 2.0);
    CHECK(dt_taskwait() == DT_OK, "dt_taskwait");
    compare(u, s, N, "tasks after dt_taskiter");
    /* a second taskiter on the same grid, from the data those tasks left */
    CHECK(dt_taskiter(T_SWEEP, &a, sizeof a, 3) == DT_OK, "second dt_taskiter");
    sequential(s, N, 3);
    CHECK(dt_taskwait() == DT_OK, "dt_taskwait");
    compare(u, s, N, "second dt_taskiter");
    /* and a third right after it: rank 0 brings back what it needs first */
    CHECK(dt_taskiter(T_SWEEP, &a, sizeof a, 2) == DT_OK, "third dt_taskiter");
    sequential(s, N, 2);
    CHECK(dt_taskwait() == DT_OK, "dt_taskwait");
    compare(u, s, N, "third dt_taskiter");
    free(s);
    dt_dfree(u);
}

/* k taskiters in a row on a grid rank 0 wrote: the first moves the data the
 * ranks read first, the others find it in place but for the halo rows the
 * neighbours wrote last (mpi.mk compares the bytes moved, DT_STATS=1, for
 * k = 1 and 3) */
static void back_to_back(int k)
{
    size_t N = 48, bytes = (N + 2) * (N + 2) * sizeof(double);
    double *u = dt_dmalloc(bytes), *s = malloc(bytes);
    CHECK(u && s, "memory");
    if (!u || !s) return;
    grid_init(u, N, 100.0);
    memcpy(s, u, bytes);
    sweep_t a = { u, N, 16, HINT_ROWS, NULL };
    for (int i = 0; i < k; i++) {
        CHECK(dt_taskiter(T_SWEEP, &a, sizeof a, 3) == DT_OK, "taskiter %d of %d", i + 1, k);
        sequential(s, N, 3);
    }
    CHECK(dt_taskwait() == DT_OK, "dt_taskwait");
    compare(u, s, N, "taskiters in a row");
    free(s);
    dt_dfree(u);
}

static void refusals(void)
{
    size_t N = 32, B = 16, bytes = (N + 2) * (N + 2) * sizeof(double);
    double *u = dt_dmalloc(bytes), *s = malloc(bytes), *d = dt_dmalloc(sizeof *d);
    CHECK(u && s && d, "memory");
    if (!u || !s || !d) return;
    grid_init(u, N, 100.0);
    memcpy(s, u, bytes);
    double local = 0;
    sweep_t a = { u, N, B, HINT_MISMATCH, NULL };
    int r = dt_taskiter(T_SWEEP, &a, sizeof a, 4);
    CHECK(r == DT_ETASKITER, "a graph that differs on one rank: %d", r);
    a.hint = HINT_MALLOC;
    a.other = &local;
    CHECK((r = dt_taskiter(T_SWEEP, &a, sizeof a, 4)) == DT_ERANGE, "memory outside the common space: %d", r);
    CHECK(local == 0, "nothing ran");
    compare(u, s, N, "after the refusals");
    /* a concurrent access: the body runs every iteration (the plain loop) */
    a.hint = HINT_CONCURRENT;
    a.other = d;
    *d = 0;
    CHECK((r = dt_taskiter(T_SWEEP, &a, sizeof a, 4)) == DT_OK, "a concurrent access: %d", r);
    CHECK(*d == 1.875, "the concurrent task ran every iteration: %g", *d);
    sequential(s, N, 4);
    compare(u, s, N, "dt_taskiter with a concurrent access");
    /* and the job goes on */
    a.hint = HINT_ROWS;
    CHECK(dt_taskiter(T_SWEEP, &a, sizeof a, 4) == DT_OK, "dt_taskiter after the refusals");
    CHECK(dt_taskwait() == DT_OK, "dt_taskwait");
    sequential(s, N, 4);
    compare(u, s, N, "dt_taskiter after the refusals");
    /* dt_taskiter_while: rounds of 2, stops after the third */
    long run = -1;
    rounds = 0;
    CHECK(dt_taskiter_while(T_SWEEP, &a, sizeof a, 100, 2, three_rounds, NULL, &run) == DT_OK, "while");
    CHECK(run == 6 && rounds == 3, "dt_taskiter_while ran %ld iterations in %d rounds", run, rounds);
    sequential(s, N, 6);
    compare(u, s, N, "dt_taskiter_while");
    free(s);
    dt_dfree(u);
    dt_dfree(d);
}

/* ---- random iteration graphs ------------------------------------------------
 * Tasks with random in/out/inout (sometimes weak) plain ranges and 2-D
 * regions of a 64 x 64 byte grid, random node hints: each hashes what it
 * reads and writes a function of that into what it writes.  With all_modes,
 * a sixth of the tasks instead have one concurrent or commutative region (byte
 * adds, atomic: the order among them is free) or an int32 sum reduction, and
 * no hint (they may not leave rank 0).  Replayed with dt_taskiter across the
 * ranks, optionally created as a plain loop, and run in order on a copy, bit
 * for bit. */
enum { RG = 64, RMAXACC = 5 };
typedef struct {
    uint8_t *base;
    int id, nacc;
    struct { unsigned mode; uint32_t off, size, rows; } a[RMAXACC];
} rtask_t;
typedef struct { uint8_t *base; uint64_t seed; int n, all_modes; } rbody_t;
static dt_type_t T_RT, T_RBODY;

static void rtask(void *p)
{
    const rtask_t *t = p;
    uint64_t h = 1469598103934665603ull ^ (uint64_t)t->id;
    unsigned m0 = t->a[0].mode & 0xFF;
    if (m0 == DT_REDUCTION) {   /* outside a task (the sequential run): the variable itself */
        int32_t *r = dt_reduction_ptr(t->base + t->a[0].off);
        for (uint32_t j = 0; j < t->a[0].size / 4; j++) r[j] += t->id + 1;
        return;
    }
    if (m0 == DT_CONCURRENT || m0 == DT_COMMUTATIVE) {
        for (uint32_t r = 0; r < t->a[0].rows; r++)
            for (uint32_t j = 0; j < t->a[0].size; j++)
                __atomic_fetch_add(&t->base[t->a[0].off + r * RG + j], (uint8_t)(2 * t->id + 1), __ATOMIC_RELAXED);
        return;
    }
    for (int i = 0; i < t->nacc; i++) {
        if ((t->a[i].mode & 0xFF) == DT_OUT) continue;
        for (uint32_t r = 0; r < t->a[i].rows; r++)
            for (uint32_t j = 0; j < t->a[i].size; j++) h = (h ^ t->base[t->a[i].off + r * RG + j]) * 1099511628211ull;
    }
    for (int i = 0; i < t->nacc; i++) {
        if ((t->a[i].mode & 0xFF) == DT_IN) continue;
        for (uint32_t r = 0; r < t->a[i].rows; r++)
            for (uint32_t j = 0; j < t->a[i].size; j++) {
                h = h * 6364136223846793005ull + 1442695040888963407ull;
                t->base[t->a[i].off + r * RG + j] = (uint8_t)(h >> 56);
            }
    }
}

static uint32_t rnd(uint64_t *x, uint32_t n)
{
    *x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
    return (uint32_t)(*x % n);
}

/* task k of the graph of `seed` (the same on every rank: the body makes the
   graph from its args alone); its node hint in *hint */
static rtask_t rgen(uint64_t *x, uint8_t *base, int k, int *hint, int all_modes)
{
    static const unsigned modes[] = { DT_IN, DT_IN, DT_OUT, DT_INOUT, DT_INOUT };
    static const unsigned free_modes[] = { DT_CONCURRENT, DT_COMMUTATIVE, DT_REDUCTION | DT_RED_SUM | DT_RED_I32 };
    rtask_t t = { base, k, 1 + (int)rnd(x, RMAXACC), { { 0, 0, 0, 0 } } };
    if (all_modes && rnd(x, 6) == 0) {
        unsigned m = free_modes[rnd(x, 3)];
        int red = (m & 0xFF) == DT_REDUCTION;   /* a plain range of whole int32s */
        uint32_t rows = red || rnd(x, 3) ? 1 : 1 + rnd(x, 8), size = 4 * (1 + rnd(x, 6));
        uint32_t r0 = rnd(x, RG - rows + 1), c0 = 4 * rnd(x, (RG - size) / 4 + 1);
        t.nacc = 1;
        t.a[0].mode = m;
        t.a[0].off = r0 * RG + c0;
        t.a[0].size = size;
        t.a[0].rows = rows;
        *hint = DT_NODE_ANY;
        return t;
    }
    *hint = rnd(x, 3) ? DT_NODE_ANY : (int)rnd(x, (uint32_t)dt_num_ranks());
    for (int i = 0; i < t.nacc; i++) {
        unsigned m = modes[rnd(x, 5)] | (rnd(x, 8) ? 0 : DT_WEAK);
        uint32_t rows = rnd(x, 3) ? 1 : 1 + rnd(x, 8), size = 1 + rnd(x, 24);
        uint32_t r0 = rnd(x, RG - rows + 1), c0 = rnd(x, RG - size + 1);
        t.a[i].mode = m;
        t.a[i].off = r0 * RG + c0;
        t.a[i].size = size;
        t.a[i].rows = rows;
    }
    return t;
}

static void rbody(void *p)
{
    const rbody_t *b = p;
    uint64_t x = b->seed * 2654435761u + 1;
    for (int k = 0; k < b->n; k++) {
        int hint;
        rtask_t t = rgen(&x, b->base, k, &hint, b->all_modes);
        dt_access_t acc[RMAXACC];
        for (int i = 0; i < t.nacc; i++)
            acc[i] = (dt_access_t){ t.a[i].mode, b->base + t.a[i].off, t.a[i].size, t.a[i].rows, RG };
        dt_task_attr_t at = { 0, hint, "random", 0 };
        CHECK(dt_task_create(T_RT, &t, sizeof t, acc, (size_t)t.nacc, &at) == DT_OK, "random task");
    }
}

static void compare_bytes(const uint8_t *u, const uint8_t *s, uint64_t seed, int ntasks, long iters, const char *how)
{
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < RG * RG; i++)
        if (u[i] != s[i] && bad++ == 0) first = i;
    CHECK(!bad, "random graph, seed %llu, %d tasks, %ld iterations, %s: %zu bytes differ, first at %zu",
          (unsigned long long)seed, ntasks, iters, how, bad, first);
}

static void random_graph(uint64_t seed, int ntasks, long iters, int all_modes, int loop_too)
{
    uint8_t *u = dt_dmalloc(RG * RG), *v = loop_too ? dt_dmalloc(RG * RG) : NULL, *s = malloc(RG * RG);
    CHECK(u && s && (v || !loop_too), "memory");
    if (!u || !s || (!v && loop_too)) return;
    for (int i = 0; i < RG * RG; i++) u[i] = s[i] = (uint8_t)(i * 7 + seed);
    if (v) memcpy(v, s, RG * RG);
    rbody_t b = { u, seed, ntasks, all_modes };
    int r = dt_taskiter(T_RBODY, &b, sizeof b, iters);
    CHECK(r == DT_OK, "random graph, seed %llu: dt_taskiter %d", (unsigned long long)seed, r);
    if (v) {   /* the same iterations created as ordinary tasks */
        rbody_t c = { v, seed, ntasks, all_modes };
        for (long it = 0; it < iters; it++) rbody(&c);
    }
    /* the taskiter's results come back to rank 0 here too */
    CHECK((r = dt_taskwait()) == DT_OK, "random graph, seed %llu: dt_taskwait %d", (unsigned long long)seed, r);
    for (long it = 0; it < iters; it++) {
        uint64_t x = seed * 2654435761u + 1;
        for (int k = 0; k < ntasks; k++) {
            int hint;
            rtask_t t = rgen(&x, s, k, &hint, all_modes);
            rtask(&t);
        }
    }
    compare_bytes(u, s, seed, ntasks, iters, "dt_taskiter");
    if (v) compare_bytes(v, s, seed, ntasks, iters, "plain loop");
    free(s);
    dt_dfree(u);
    if (v) dt_dfree(v);
}

static int app(int argc, char **argv)
{
    if ((argc == 2 || argc == 4) && !strcmp(argv[1], "random")) {
        uint64_t lo = argc == 4 ? strtoull(argv[2], NULL, 10) : 1, hi = argc == 4 ? strtoull(argv[3], NULL, 10) : 200;
        for (uint64_t seed = lo; seed <= hi; seed++)
            random_graph(seed, 5 + (int)(seed % 60), 1 + (long)(seed % 7), seed % 4 == 0, seed % 4 == 2);
        return failures != 0;
    }
    if (argc == 3 && !strcmp(argv[1], "moves")) {
        back_to_back(atoi(argv[2]));
        return failures != 0;
    }
    if (argc == 3 && !strcmp(argv[1], "stats")) {
        heat(48, 16, atol(argv[2]), HINT_ROWS);
        return failures != 0;
    }
    heat(64, 16, 7, HINT_ROWS);
    heat(64, 16, 7, HINT_COLS);
    heat(70, 16, 5, HINT_NONE);      /* tiles cut short at the edges */
    heat(40, 40, 3, HINT_NONE);      /* one task */
    refusals();
    return failures != 0;
}

int main(int argc, char **argv)
{
    dt_type_register("gs", gauss_seidel, &T_GS);
    dt_type_register("sweep", sweep, &T_SWEEP);
    dt_type_register("add", add_fn, &T_ADD);
    dt_type_register("random", rtask, &T_RT);
    dt_type_register("random-body", rbody, &T_RBODY);
    return dt_main(argc, argv, app) != 0;
}
