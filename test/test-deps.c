/* test-deps.c - dependency semantics through the public API.
 *
 * No verdict depends on timing.  "A before B" is proven with event stamps
 * (A's end stamp < B's start stamp); the first task holds its region for a
 * while so that a missing edge would let B start inside it.  "A and B may run
 * together" is proven by a rendezvous: both must be inside at once (bounded
 * wait), which needs DT_NUM_WORKERS=2. */
#include "test_util.h"

enum { MAXT = 64, HOLD = 30 };

static tu_span sp[MAXT];
static atomic_int clk;
static atomic_int meet_count[8];
static atomic_int meet_failed;
static char buf[4096] __attribute__((aligned(64)));

typedef struct probe_args { int id, hold_ms, meet; } probe_args;

/* Stamps its span; meets its partner (meet >= 0), then holds its region. */
static void probe_task(void *args)
{
    probe_args p;
    memcpy(&p, args, sizeof p);
    tu_enter(&sp[p.id], &clk);
    if (p.meet >= 0 && !tu_meet(&meet_count[p.meet], 2)) atomic_fetch_add(&meet_failed, 1);
    if (p.hold_ms) tu_sleep_ms(p.hold_ms);
    tu_leave(&sp[p.id], &clk);
}

/* Also called from task bodies: quiet unless it fails. */
static void probe(int id, int hold, int meet, const dt_access_t *acc, size_t n)
{
    probe_args p = { id, hold, meet };
    TU_REQUIRE(dt_task_create(TU_TYPE(probe_task), &p, sizeof p, acc, n, NULL) == DT_OK);
}

static void probe1(int id, int hold, int meet, unsigned mode, void *addr, size_t size)
{
    dt_access_t a = { mode, addr, size, 0, 0 };
    probe(id, hold, meet, &a, 1);
}

static void start2(void)
{
    tu_workers(2);
    TU_INIT();
}

#define ASSERT_MET() ck_assert_msg(tu_get(&meet_failed) == 0, "tasks that may run together never met")
#define ASSERT_DISJOINT(a, b)                                                       \
    ck_assert_msg(tu_get(&sp[a].end) < tu_get(&sp[b].start) ||                      \
                  tu_get(&sp[b].end) < tu_get(&sp[a].start),                        \
                  "tasks %d and %d overlapped in time", (a), (b))

/* ---- pairs of accesses: ordered or not -------------------------------------- */

typedef struct region { unsigned mode; size_t off, size, rows, stride; } region;
static const struct pair_case {
    const char *what;
    region a, b;
    bool ordered;
} pairs[] = {
    /* plain ranges at odd byte boundaries */
    { "RAW [3,17) [16,40)", { DT_OUT, 3, 14, 0, 0 }, { DT_IN, 16, 24, 0, 0 }, true },
    { "WAR [3,17) [16,40)", { DT_IN, 3, 14, 0, 0 }, { DT_OUT, 16, 24, 0, 0 }, true },
    { "WAW [3,17) [16,40)", { DT_OUT, 3, 14, 0, 0 }, { DT_OUT, 16, 24, 0, 0 }, true },
    { "inout one shared byte", { DT_INOUT, 3, 14, 0, 0 }, { DT_INOUT, 16, 1, 0, 0 }, true },
    { "second inside first", { DT_OUT, 5, 100, 0, 0 }, { DT_IN, 50, 3, 0, 0 }, true },
    { "first inside second", { DT_OUT, 50, 3, 0, 0 }, { DT_INOUT, 5, 100, 0, 0 }, true },
    { "concurrent after out", { DT_OUT, 3, 14, 0, 0 }, { DT_CONCURRENT, 16, 2, 0, 0 }, true },
    { "in after commutative", { DT_COMMUTATIVE, 3, 14, 0, 0 }, { DT_IN, 16, 2, 0, 0 }, true },
    { "reduction after in", { DT_IN, 0, 13, 0, 0 }, { DT_REDUCTION | DT_RED_SUM | DT_RED_I32, 12, 8, 0, 0 }, true },
    { "commutative after concurrent", { DT_CONCURRENT, 0, 8, 0, 0 }, { DT_COMMUTATIVE, 4, 8, 0, 0 }, true },
    { "adjacent [3,17) [17,40)", { DT_OUT, 3, 14, 0, 0 }, { DT_OUT, 17, 23, 0, 0 }, false },
    { "adjacent [16,40) [3,16)", { DT_OUT, 16, 24, 0, 0 }, { DT_INOUT, 3, 13, 0, 0 }, false },
    { "adjacent single bytes", { DT_OUT, 0, 1, 0, 0 }, { DT_OUT, 1, 1, 0, 0 }, false },
    { "readers share", { DT_IN, 3, 14, 0, 0 }, { DT_IN, 16, 24, 0, 0 }, false },
    /* 2-D: an 8x64-byte row-major matrix at buf (row stride 64) */
    { "column blocks 0-15 and 16-31", { DT_OUT, 0, 16, 8, 64 }, { DT_OUT, 16, 16, 8, 64 }, false },
    { "tile and the row crossing it", { DT_OUT, 2 * 64 + 16, 32, 4, 64 }, { DT_IN, 3 * 64, 64, 0, 0 }, true },
    { "tile and the row above it", { DT_OUT, 2 * 64 + 16, 32, 4, 64 }, { DT_IN, 1 * 64, 64, 0, 0 }, false },
    { "tile and the row below it", { DT_OUT, 2 * 64 + 16, 32, 4, 64 }, { DT_OUT, 6 * 64, 64, 0, 0 }, false },
    { "tile and a crossing column", { DT_OUT, 2 * 64 + 16, 32, 4, 64 }, { DT_OUT, 40, 8, 8, 64 }, true },
    { "tile and the next column", { DT_OUT, 2 * 64 + 16, 32, 4, 64 }, { DT_OUT, 48, 8, 8, 64 }, false },
    { "tiles above each other", { DT_OUT, 0, 16, 4, 64 }, { DT_OUT, 4 * 64, 16, 4, 64 }, false },
    { "tile and the gap between its rows", { DT_IN, 2 * 64 + 16, 32, 4, 64 }, { DT_OUT, 2 * 64 + 48, 32, 0, 0 }, false },
    { "tile and one byte past a row", { DT_IN, 2 * 64 + 16, 32, 4, 64 }, { DT_OUT, 2 * 64 + 47, 33, 0, 0 }, true },
    { "interleaved strided rows", { DT_OUT, 0, 8, 8, 16 }, { DT_OUT, 8, 8, 8, 16 }, false },
    { "strided rows one byte off", { DT_OUT, 0, 8, 8, 16 }, { DT_OUT, 7, 8, 8, 16 }, true },
    { "tile and a plain range over it", { DT_OUT, 5 * 64 + 3, 5, 3, 64 }, { DT_IN, 6 * 64 + 7, 1, 0, 0 }, true },
};
#define NPAIRS (int)(sizeof pairs / sizeof pairs[0])

static dt_access_t at(region r)
{
    return (dt_access_t){ r.mode, buf + r.off, r.size, r.rows, r.stride };
}

START_TEST(pair)
{
    const struct pair_case *c = &pairs[_i];
    start2();
    dt_access_t a = at(c->a), b = at(c->b);
    probe(0, c->ordered ? HOLD : 0, c->ordered ? -1 : 0, &a, 1);
    probe(1, 0, c->ordered ? -1 : 0, &b, 1);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    if (c->ordered) {
        ck_assert_msg(tu_get(&sp[0].end) < tu_get(&sp[1].start), "%s: not ordered", c->what);
    } else {
        ck_assert_msg(tu_get(&meet_failed) == 0, "%s: did not run together", c->what);
    }
    TU_FINI();
}
END_TEST

/* ---- groups of accesses ---------------------------------------------------- */

START_TEST(readers_then_writer)
{
    start2();
    int x = 0;
    probe1(0, HOLD, -1, DT_OUT, &x, sizeof x);
    probe1(1, 0, 0, DT_IN, &x, sizeof x);
    probe1(2, 0, 0, DT_IN, &x, sizeof x);
    probe1(3, 0, -1, DT_OUT, &x, sizeof x);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    TU_BEFORE(sp, 0, 1);
    TU_BEFORE(sp, 0, 2);
    TU_BEFORE(sp, 1, 3);
    TU_BEFORE(sp, 2, 3);
    ASSERT_MET();
    TU_FINI();
}
END_TEST

/* The writer waits for the reader that ends last, whichever it is. */
START_TEST(writer_waits_slow_reader)
{
    start2();
    int x = 0;
    probe1(0, 0, -1, DT_IN, &x, sizeof x);
    probe1(1, HOLD, -1, DT_IN, &x, sizeof x);
    probe1(2, 0, -1, DT_INOUT, &x, sizeof x);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    TU_BEFORE(sp, 0, 2);
    TU_BEFORE(sp, 1, 2);
    TU_FINI();
}
END_TEST

START_TEST(concurrent)
{
    start2();
    int x = 0;
    probe1(0, HOLD, -1, DT_OUT, &x, sizeof x);
    probe1(1, 0, 0, DT_CONCURRENT, &x, sizeof x);
    probe1(2, 0, 0, DT_CONCURRENT, &x, sizeof x);
    probe1(3, 0, -1, DT_IN, &x, sizeof x);
    probe1(4, 0, 1, DT_CONCURRENT, &x, sizeof x);
    probe1(5, 0, 1, DT_CONCURRENT, &x, sizeof x);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    TU_BEFORE(sp, 0, 1);
    TU_BEFORE(sp, 0, 2);
    TU_BEFORE(sp, 1, 3);
    TU_BEFORE(sp, 2, 3);
    TU_BEFORE(sp, 3, 4);
    TU_BEFORE(sp, 3, 5);
    ASSERT_MET();
    TU_FINI();
}
END_TEST

START_TEST(commutative)
{
    start2();
    int x = 0;
    enum { K = 6 };
    probe1(0, HOLD, -1, DT_OUT, &x, sizeof x);
    for (int i = 1; i <= K; i++) probe1(i, 5, -1, DT_COMMUTATIVE, &x, sizeof x);
    probe1(K + 1, 0, -1, DT_IN, &x, sizeof x);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    for (int i = 1; i <= K; i++) {
        TU_BEFORE(sp, 0, i);
        TU_BEFORE(sp, i, K + 1);
        for (int j = 1; j < i; j++) ASSERT_DISJOINT(i, j);
    }
    TU_FINI();
}
END_TEST

/* Commutative tasks exclude each other only where they share bytes. */
START_TEST(commutative_apart)
{
    start2();
    probe1(0, 0, 0, DT_COMMUTATIVE, buf, 8);
    probe1(1, 0, 0, DT_COMMUTATIVE, buf + 8, 8);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    ASSERT_MET();
    TU_FINI();
}
END_TEST

/* A task with several accesses waits for all of its predecessors. */
START_TEST(several_accesses)
{
    start2();
    probe1(0, HOLD, -1, DT_OUT, buf, 8);
    probe1(1, 2 * HOLD, -1, DT_OUT, buf + 100, 8);
    dt_access_t both[3] = { { DT_IN, buf + 4, 1, 0, 0 }, { DT_IN, buf + 200, 4, 0, 0 },
                            { DT_INOUT, buf + 107, 2, 0, 0 } };
    probe(2, 0, -1, both, 3);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    TU_BEFORE(sp, 0, 2);
    TU_BEFORE(sp, 1, 2);
    TU_FINI();
}
END_TEST

/* Past 63 accesses a task tracks its children differently: a task with 70
 * accesses, one byte each, orders against later tasks on any of them, and
 * its children may use any of them. */
static void wide_parent(void *args)
{
    (void)args;
    tu_sleep_ms(HOLD);
    probe1(1, HOLD, -1, DT_INOUT, buf + 2 * 68, 1);
    probe1(2, 0, -1, DT_INOUT, buf + 2 * 5, 1);
}

START_TEST(many_accesses)
{
    start2();
    enum { NA = 70 };
    dt_access_t a[NA];
    for (int i = 0; i < NA; i++) a[i] = (dt_access_t){ DT_INOUT, buf + 2 * i, 1, 0, 0 };
    probe(0, HOLD, -1, a, NA);
    probe1(3, 0, -1, DT_IN, buf + 2 * 66, 1);
    probe1(4, 0, 0, DT_IN, buf + 2 * 66 + 1, 1);      /* between two accesses */
    probe1(5, 0, 0, DT_IN, buf + 2 * NA, 1);          /* past the last one */
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    TU_BEFORE(sp, 0, 3);
    ASSERT_MET();
    /* the same as a parent */
    memset(sp, 0, sizeof sp);
    ck_assert_int_eq(dt_task_create(TU_TYPE(wide_parent), NULL, 0, a, NA, NULL), DT_OK);
    probe1(6, 0, -1, DT_IN, buf + 2 * 68, 1);
    probe1(7, 0, -1, DT_IN, buf + 2 * 5, 1);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    TU_BEFORE(sp, 1, 6);
    TU_BEFORE(sp, 2, 7);
    TU_FINI();
}
END_TEST

/* ---- reductions ------------------------------------------------------------ */

enum { NEL = 4, NRED = 24 };
static char red_mem[64] __attribute__((aligned(64)));
static char red_seen[64];

/* meet >= 0: rendezvous with the task of the same group, so that two workers
 * (two private copies) take part in the reduction. */
typedef struct red_args { unsigned op, type; int i, meet; } red_args;

static double contrib(unsigned op, int i, int e)
{
    switch (op) {
    case DT_RED_SUM: return (i * 7 + e * 3) % 11 - 5;
    case DT_RED_PROD: return (i + e) % 5 == 0 ? 2 : (i + e) % 7 == 0 ? -1 : 1;
    default: return (i * 37 + e * 11) % 101 - 50;
    }
}

static double apply(unsigned op, double x, double v)
{
    switch (op) {
    case DT_RED_SUM: return x + v;
    case DT_RED_PROD: return x * v;
    case DT_RED_MIN: return v < x ? v : x;
    default: return v > x ? v : x;
    }
}

static size_t esize(unsigned type) { return type == DT_RED_I32 || type == DT_RED_F32 ? 4 : 8; }

static double get(unsigned type, const void *base, int e)
{
    switch (type) {
    case DT_RED_I32: return ((const int32_t *)base)[e];
    case DT_RED_I64: return (double)((const int64_t *)base)[e];
    case DT_RED_F32: return ((const float *)base)[e];
    default: return ((const double *)base)[e];
    }
}

static void set(unsigned type, void *p, double v)
{
    switch (type) {
    case DT_RED_I32: *(int32_t *)p = (int32_t)v; break;
    case DT_RED_I64: *(int64_t *)p = (int64_t)v; break;
    case DT_RED_F32: *(float *)p = (float)v; break;
    default: *(double *)p = v; break;
    }
}

static void red_task(void *args)
{
    red_args r;
    memcpy(&r, args, sizeof r);
    if (r.meet >= 0 && !tu_meet(&meet_count[r.meet], 2)) atomic_fetch_add(&meet_failed, 1);
    for (int e = 0; e < NEL; e++) {
        void *p = dt_reduction_ptr(red_mem + (size_t)e * esize(r.type));
        set(r.type, p, apply(r.op, get(r.type, p, 0), contrib(r.op, r.i, e)));
    }
}

static void copy_task(void *args)
{
    (void)args;
    memcpy(red_seen, red_mem, sizeof red_seen);
}

static const char *const op_names[] = { "?", "sum", "prod", "min", "max" };
static const char *const type_names[] = { "?", "i32", "i64", "f32", "f64" };

/* _i: op x type x how the result is observed (taskwait, taskwait_on, a reader task) */
START_TEST(reduction)
{
    int combo = _i / 3, how = _i % 3;
    unsigned op = (unsigned)(combo / 4 + 1) << 12, type = (unsigned)(combo % 4 + 1) << 16;
    size_t size = NEL * esize(type);
    /* round 0: the tasks' values decide; round 1: for min/max the initial value does */
    static const double init[2][4] = { { 100, 3, 10, -10 }, { -7, -2, -1000, 1000 } };
    start2();
    dt_type_t rt = TU_TYPE(red_task), ct = TU_TYPE(copy_task);
    dt_access_t acc = { DT_REDUCTION | op | type, red_mem, size, 0, 0 }, in = { DT_IN, red_mem, size, 0, 0 };
    for (int round = 0; round < 2; round++) {
        double want[NEL];
        for (int e = 0; e < NEL; e++) {
            want[e] = init[round][(op >> 12) - 1];
            set(type, red_mem + (size_t)e * esize(type), want[e]);
            for (int i = 0; i < NRED; i++) want[e] = apply(op, want[e], contrib(op, i, e));
        }
        for (int i = 0; i < NRED; i++) {
            red_args r = { op, type, i, i < 2 ? round : -1 };
            ck_assert_int_eq(dt_task_create(rt, &r, sizeof r, &acc, 1, NULL), DT_OK);
        }
        const char *seen = red_mem;
        if (how == 1) ck_assert_int_eq(dt_taskwait_on(&in, 1), DT_OK);
        if (how == 2) {
            ck_assert_int_eq(dt_task_create(ct, NULL, 0, &in, 1, NULL), DT_OK);
            seen = red_seen;
        }
        if (how != 1) ck_assert_int_eq(dt_taskwait(), DT_OK);
        for (int e = 0; e < NEL; e++)
            ck_assert_msg(get(type, seen, e) == want[e], "%s %s round %d element %d: got %g, want %g",
                          op_names[op >> 12], type_names[type >> 16], round, e, get(type, seen, e), want[e]);
        ck_assert_int_eq(dt_taskwait(), DT_OK);
        for (int e = 0; e < NEL; e++) ck_assert(get(type, red_mem, e) == want[e]);
    }
    ASSERT_MET();
    TU_FINI();
}
END_TEST

/* Reductions with different operations on the same bytes keep creation
 * order; the data is chosen so that the other order gives another result. */
START_TEST(reduction_then_other_op)
{
    start2();
    dt_type_t rt = TU_TYPE(red_task), ct = TU_TYPE(copy_task);
    int64_t *x = (int64_t *)red_mem;
    static const unsigned ops[3] = { DT_RED_SUM, DT_RED_MAX, DT_RED_PROD };
    double want[NEL], other[NEL];
    for (int e = 0; e < NEL; e++) {
        x[e] = 5;
        want[e] = other[e] = 5;
        for (int k = 0; k < 3; k++)
            for (int i = 0; i < NRED; i++) {
                want[e] = apply(ops[k], want[e], contrib(ops[k], i, e));
                other[e] = apply(ops[2 - k], other[e], contrib(ops[2 - k], i, e));
            }
        ck_assert(want[e] != other[e]);
    }
    for (int k = 0; k < 3; k++) {
        dt_access_t acc = { DT_REDUCTION | ops[k] | DT_RED_I64, red_mem, NEL * 8, 0, 0 };
        for (int i = 0; i < NRED; i++) {
            red_args r = { ops[k], DT_RED_I64, i, i < 2 ? k : -1 };
            ck_assert_int_eq(dt_task_create(rt, &r, sizeof r, &acc, 1, NULL), DT_OK);
        }
    }
    dt_access_t in = { DT_IN, red_mem, NEL * 8, 0, 0 };
    ck_assert_int_eq(dt_task_create(ct, NULL, 0, &in, 1, NULL), DT_OK);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    for (int e = 0; e < NEL; e++) {
        ck_assert_msg(get(DT_RED_I64, red_seen, e) == want[e], "element %d: reader saw %g, want %g",
                      e, get(DT_RED_I64, red_seen, e), want[e]);
        ck_assert_msg((double)x[e] == want[e], "element %d: %g, want %g", e, (double)x[e], want[e]);
    }
    ASSERT_MET();
    TU_FINI();
}
END_TEST

static void nested_red_parent(void *args)
{
    int j;
    memcpy(&j, args, sizeof j);
    dt_access_t acc = { DT_REDUCTION | DT_RED_SUM | DT_RED_I64, red_mem, NEL * 8, 0, 0 };
    for (int i = 0; i < 10; i++) {
        red_args r = { DT_RED_SUM, DT_RED_I64, j * 10 + i, j == 0 && i < 2 ? 0 : -1 };
        dt_task_create(TU_TYPE(red_task), &r, sizeof r, &acc, 1, NULL);
    }
}

/* Parents with a weak reduction whose children do the reducing. */
START_TEST(nested_reduction)
{
    start2();
    dt_type_t pt = TU_TYPE(nested_red_parent), ct = TU_TYPE(copy_task);
    int64_t *x = (int64_t *)red_mem;
    double want[NEL];
    for (int e = 0; e < NEL; e++) {
        x[e] = 1000 + e;
        want[e] = (double)x[e];
        for (int i = 0; i < 30; i++) want[e] += contrib(DT_RED_SUM, i, e);
    }
    dt_access_t acc = { DT_REDUCTION | DT_WEAK | DT_RED_SUM | DT_RED_I64, red_mem, NEL * 8, 0, 0 };
    for (int j = 0; j < 3; j++) ck_assert_int_eq(dt_task_create(pt, &j, sizeof j, &acc, 1, NULL), DT_OK);
    dt_access_t in = { DT_IN, red_mem, NEL * 8, 0, 0 };
    ck_assert_int_eq(dt_task_create(ct, NULL, 0, &in, 1, NULL), DT_OK);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    for (int e = 0; e < NEL; e++) {
        ck_assert_msg(get(DT_RED_I64, red_seen, e) == want[e], "element %d: reader saw %g, want %g",
                      e, get(DT_RED_I64, red_seen, e), want[e]);
        ck_assert(get(DT_RED_I64, red_mem, e) == want[e]);
    }
    ASSERT_MET();
    TU_FINI();
}
END_TEST

/* Children reduce inside a strong parent: the parent's own taskwait hands
 * it the combined value; without one, the parent's successor sees it. */
static double parent_saw[NEL];
static void red_parent(void *args)
{
    int wait;
    memcpy(&wait, args, sizeof wait);
    dt_access_t acc = { DT_REDUCTION | DT_RED_PROD | DT_RED_F64, red_mem, NEL * 8, 0, 0 };
    for (int i = 0; i < NRED; i++) {
        red_args r = { DT_RED_PROD, DT_RED_F64, i, i < 2 ? wait : -1 };
        dt_task_create(TU_TYPE(red_task), &r, sizeof r, &acc, 1, NULL);
    }
    if (!wait) return;
    dt_taskwait();
    for (int e = 0; e < NEL; e++) parent_saw[e] = ((double *)red_mem)[e];
}

START_TEST(reduction_in_parent)
{
    start2();
    dt_type_t pt = TU_TYPE(red_parent), ct = TU_TYPE(copy_task);
    double *x = (double *)red_mem, want[NEL];
    for (int wait = 1; wait >= 0; wait--) {
        for (int e = 0; e < NEL; e++) {
            x[e] = want[e] = 1.5;
            for (int i = 0; i < NRED; i++) want[e] *= contrib(DT_RED_PROD, i, e);
        }
        dt_access_t acc = { DT_INOUT, red_mem, NEL * 8, 0, 0 }, in = { DT_IN, red_mem, NEL * 8, 0, 0 };
        ck_assert_int_eq(dt_task_create(pt, &wait, sizeof wait, &acc, 1, NULL), DT_OK);
        ck_assert_int_eq(dt_task_create(ct, NULL, 0, &in, 1, NULL), DT_OK);
        ck_assert_int_eq(dt_taskwait(), DT_OK);
        for (int e = 0; e < NEL; e++) {
            if (wait) ck_assert_msg(parent_saw[e] == want[e], "parent saw %g, want %g", parent_saw[e], want[e]);
            ck_assert_msg(((double *)red_seen)[e] == want[e], "successor saw %g, want %g (wait %d)",
                          ((double *)red_seen)[e], want[e], wait);
        }
    }
    ASSERT_MET();
    TU_FINI();
}
END_TEST

/* Outside a reduction access, dt_reduction_ptr gives the address back. */
static atomic_int rp_bad;
static void rp_task(void *args)
{
    (void)args;
    if (dt_reduction_ptr(buf) != buf || dt_reduction_ptr(buf + 100) != buf + 100)
        atomic_fetch_add(&rp_bad, 1);
    /* inside its reduction: a private copy, initialised to the identity */
    int64_t *p = dt_reduction_ptr(red_mem);
    if ((char *)p == red_mem || *p != 1) atomic_fetch_add(&rp_bad, 2);
    if (dt_reduction_ptr(red_mem + 8) != red_mem + 8) atomic_fetch_add(&rp_bad, 4);
}

START_TEST(reduction_ptr_elsewhere)
{
    start2();
    ck_assert_ptr_eq(dt_reduction_ptr(buf), buf);
    ck_assert_ptr_eq(dt_reduction_ptr(NULL), NULL);
    dt_access_t a[2] = { { DT_IN, buf, 64, 0, 0 }, { DT_REDUCTION | DT_RED_PROD | DT_RED_I64, red_mem, 8, 0, 0 } };
    ck_assert_int_eq(dt_task_create(TU_TYPE(rp_task), NULL, 0, a, 2, NULL), DT_OK);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    ck_assert_int_eq(tu_get(&rp_bad), 0);
    TU_FINI();
}
END_TEST

/* ---- nesting ----------------------------------------------------------------- */

static atomic_int weak_started, weak_seen;

static void gate_task(void *args)
{
    (void)args;
    tu_enter(&sp[0], &clk);
    /* the weak parent created after this task must start meanwhile */
    if (tu_wait_flag(&weak_started)) atomic_store(&weak_seen, 1);
    tu_sleep_ms(HOLD);
    tu_leave(&sp[0], &clk);
}

static void weak_parent(void *args)
{
    (void)args;
    atomic_store(&weak_started, 1);
    probe1(1, 0, -1, DT_INOUT, buf, 32);
    probe1(2, 0, -1, DT_IN, buf + 32, 32);
    probe1(3, 0, -1, DT_INOUT, buf + 8, 4);     /* after child 1 */
}

START_TEST(weak_parent_orders_children)
{
    start2();
    dt_access_t r = { DT_OUT, buf, 64, 0, 0 };
    ck_assert_int_eq(dt_task_create(TU_TYPE(gate_task), NULL, 0, &r, 1, NULL), DT_OK);
    r.mode = DT_INOUT | DT_WEAK;
    ck_assert_int_eq(dt_task_create(TU_TYPE(weak_parent), NULL, 0, &r, 1, NULL), DT_OK);
    probe1(4, 0, -1, DT_IN, buf + 10, 30);
    probe1(5, 0, -1, DT_OUT, buf + 63, 1);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    ck_assert_msg(tu_get(&weak_seen), "a weak access delayed its task");
    for (int c = 1; c <= 3; c++) TU_BEFORE(sp, 0, c);
    TU_BEFORE(sp, 1, 3);
    TU_BEFORE(sp, 1, 4);
    TU_BEFORE(sp, 3, 4);
    TU_BEFORE(sp, 2, 5);
    TU_FINI();
}
END_TEST

/* A parent writes, then its children read and update what it wrote; the
 * parent's successor waits for the children. */
enum { PB = 64 };
static unsigned char out[PB];

static void double_task(void *args)
{
    int k;
    memcpy(&k, args, sizeof k);
    tu_sleep_ms(5);
    for (int i = k * 16; i < k * 16 + 16; i++) buf[i] = (char)(buf[i] * 2);
}

static void writer_parent(void *args)
{
    (void)args;
    tu_sleep_ms(HOLD);
    for (int i = 0; i < PB; i++) buf[i] = (char)(i + 1);
    for (int k = 0; k < PB / 16; k++) {
        dt_access_t a = { DT_INOUT, buf + k * 16, 16, 0, 0 };
        dt_task_create(TU_TYPE(double_task), &k, sizeof k, &a, 1, NULL);
    }
}

static void copy_out_task(void *args)
{
    (void)args;
    memcpy(out, buf, PB);
}

START_TEST(strong_parent_then_children)
{
    start2();
    dt_access_t a = { DT_OUT, buf, PB, 0, 0 };
    ck_assert_int_eq(dt_task_create(TU_TYPE(writer_parent), NULL, 0, &a, 1, NULL), DT_OK);
    a.mode = DT_IN;
    ck_assert_int_eq(dt_task_create(TU_TYPE(copy_out_task), NULL, 0, &a, 1, NULL), DT_OK);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    for (int i = 0; i < PB; i++) ck_assert_int_eq(out[i], 2 * (i + 1));
    TU_FINI();
}
END_TEST

/* Early release: a parent's access that no live child holds is released
 * when the body returns, even while a child still holds another one. */
static atomic_int s_ran, child_saw_s;

static void slow_child(void *args)
{
    (void)args;
    tu_enter(&sp[0], &clk);
    if (tu_wait_flag(&s_ran)) atomic_store(&child_saw_s, 1);
    tu_leave(&sp[0], &clk);
}

static void release_parent(void *args)
{
    (void)args;
    dt_access_t a = { DT_INOUT, buf, 32, 0, 0 };
    dt_task_create(TU_TYPE(slow_child), NULL, 0, &a, 1, NULL);
}

static void s_task(void *args)
{
    (void)args;
    atomic_store(&s_ran, 1);
}

START_TEST(early_release)
{
    start2();
    dt_access_t pa[2] = { { DT_INOUT, buf, 32, 0, 0 }, { DT_INOUT, buf + 32, 32, 0, 0 } };
    ck_assert_int_eq(dt_task_create(TU_TYPE(release_parent), NULL, 0, pa, 2, NULL), DT_OK);
    ck_assert_int_eq(dt_task_create(TU_TYPE(s_task), NULL, 0, &pa[1], 1, NULL), DT_OK);
    probe1(1, 0, -1, DT_IN, buf + 31, 1);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    ck_assert_msg(tu_get(&child_saw_s), "the parent's other access was not released early");
    TU_BEFORE(sp, 0, 1);
    TU_FINI();
}
END_TEST

/* ---- attributes ---------------------------------------------------------------- */

typedef struct step_args { long *x; long mul, add; int hold; } step_args;
static void step_task(void *args)
{
    step_args s;
    memcpy(&s, args, sizeof s);
    if (s.hold) tu_sleep_ms(s.hold);
    *s.x = *s.x * s.mul + s.add;
}

START_TEST(if0)
{
    start2();
    static long x = 0;
    dt_type_t t = TU_TYPE(step_task);
    dt_access_t a = { DT_INOUT, &x, sizeof x, 0, 0 };
    dt_task_attr_t if0 = { 0, DT_NODE_ANY, "if0", DT_TASK_IF0 };
    step_args s1 = { &x, 1, 1, HOLD }, s2 = { &x, 10, 2, 0 };
    ck_assert_int_eq(dt_task_create(t, &s1, sizeof s1, &a, 1, NULL), DT_OK);
    ck_assert_int_eq(dt_task_create(t, &s2, sizeof s2, &a, 1, &if0), DT_OK);
    ck_assert_int_eq(x, 12);           /* no taskwait: IF0 waited for both */
    ck_assert_int_eq(dt_task_create(t, &s2, sizeof s2, NULL, 0, &if0), DT_OK);
    ck_assert_int_eq(x, 122);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    TU_FINI();
}
END_TEST

/* One worker: an IF0 task whose predecessor is an earlier sibling, created
 * inside a task and from the main program after a weak sibling; the creator
 * must run the predecessors itself. */
static void if0_inside(void *args)
{
    long *x;
    memcpy(&x, args, sizeof x);
    dt_type_t t = TU_TYPE(step_task);
    dt_access_t a = { DT_INOUT, x, sizeof *x, 0, 0 };
    dt_task_attr_t if0 = { 0, DT_NODE_ANY, NULL, DT_TASK_IF0 };
    step_args s1 = { x, 1, 1, 0 }, s2 = { x, 10, 2, 0 };
    dt_task_create(t, &s1, sizeof s1, &a, 1, NULL);
    dt_task_create(t, &s2, sizeof s2, &a, 1, &if0);
    if (*x != 12) *x = -1000;
}

static void weak_sibling(void *args)
{
    long *x;
    memcpy(&x, args, sizeof x);
    dt_access_t a = { DT_INOUT, x, sizeof *x, 0, 0 };
    step_args s = { x, 3, 0, 0 };
    dt_task_create(TU_TYPE(step_task), &s, sizeof s, &a, 1, NULL);
}

START_TEST(if0_one_worker)
{
    tu_workers(1);
    TU_INIT();
    static long x = 0;
    long *px = &x;
    dt_access_t a = { DT_INOUT, &x, sizeof x, 0, 0 };
    ck_assert_int_eq(dt_task_create(TU_TYPE(if0_inside), &px, sizeof px, &a, 1, NULL), DT_OK);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    ck_assert_int_eq(x, 12);
    step_args s1 = { &x, 1, 1, 0 }, s2 = { &x, 10, 2, 0 };
    ck_assert_int_eq(dt_task_create(TU_TYPE(step_task), &s1, sizeof s1, &a, 1, NULL), DT_OK);
    a.mode = DT_INOUT | DT_WEAK;
    ck_assert_int_eq(dt_task_create(TU_TYPE(weak_sibling), &px, sizeof px, &a, 1, NULL), DT_OK);
    a.mode = DT_INOUT;
    dt_task_attr_t if0 = { 0, DT_NODE_ANY, NULL, DT_TASK_IF0 };
    ck_assert_int_eq(dt_task_create(TU_TYPE(step_task), &s2, sizeof s2, &a, 1, &if0), DT_OK);
    ck_assert_int_eq(x, 392);          /* ((12 + 1) * 3) * 10 + 2 */
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    TU_FINI();
}
END_TEST

static atomic_int final_count;
static atomic_int final_bad;

static void leaf_task(void *args)
{
    (void)args;
    tu_sleep_ms(2);
    atomic_fetch_add(&final_count, 1);
}

static void final_child(void *args)
{
    (void)args;
    int before = atomic_load(&final_count);
    dt_task_create(TU_TYPE(leaf_task), NULL, 0, NULL, 0, NULL);
    if (atomic_load(&final_count) != before + 1) atomic_fetch_add(&final_bad, 1);
    atomic_fetch_add(&final_count, 1);
}

static void final_parent(void *args)
{
    (void)args;
    for (int i = 0; i < 4; i++) {
        int before = atomic_load(&final_count);
        dt_task_create(i % 2 ? TU_TYPE(final_child) : TU_TYPE(leaf_task), NULL, 0, NULL, 0, NULL);
        if (atomic_load(&final_count) != before + (i % 2 ? 2 : 1)) atomic_fetch_add(&final_bad, 1);
    }
}

START_TEST(final)
{
    start2();
    dt_task_attr_t fin = { 0, DT_NODE_ANY, "final", DT_TASK_FINAL };
    ck_assert_int_eq(dt_task_create(TU_TYPE(final_parent), NULL, 0, NULL, 0, &fin), DT_OK);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    ck_assert_int_eq(tu_get(&final_count), 6);
    ck_assert_int_eq(tu_get(&final_bad), 0);
    TU_FINI();
}
END_TEST

static int order[128], norder;
static void prio_task(void *args)
{
    int p;
    memcpy(&p, args, sizeof p);
    order[norder++] = p;
}

/* One worker: nothing runs before the taskwait, which then picks by priority. */
START_TEST(priorities)
{
    tu_workers(1);
    TU_INIT();
    dt_type_t t = TU_TYPE(prio_task);
    int prio[100];
    for (int i = 0; i < 100; i++) prio[i] = _i == 0 ? i + 1 : i - 50;
    if (_i == 1) {                      /* shuffled, with 0 and negatives */
        uint64_t r = 12345;
        for (int i = 99; i > 0; i--) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            int j = (int)((r >> 33) % (uint64_t)(i + 1)), tmp = prio[i];
            prio[i] = prio[j];
            prio[j] = tmp;
        }
    }
    for (int i = 0; i < 100; i++) {
        dt_task_attr_t at = { prio[i], DT_NODE_ANY, NULL, 0 };
        ck_assert_int_eq(dt_task_create(t, &prio[i], sizeof prio[i], NULL, 0, &at), DT_OK);
    }
    ck_assert_int_eq(norder, 0);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    ck_assert_int_eq(norder, 100);
    for (int i = 1; i < 100; i++)
        ck_assert_msg(order[i - 1] > order[i], "priority %d ran before %d", order[i - 1], order[i]);
    TU_FINI();
}
END_TEST

/* One worker: a task releases a priority-0 and a priority-5 successor; the
 * priority-5 one runs first, although the other would otherwise be run next
 * by the same thread (immediate successor). */
START_TEST(priority_before_successor)
{
    tu_workers(1);
    TU_INIT();
    dt_type_t t = TU_TYPE(prio_task);
    static char x, y;
    norder = 0;
    int p[3] = { 1, 0, 5 };
    dt_access_t first[2] = { { DT_OUT, &x, 1, 0, 0 }, { DT_OUT, &y, 1, 0, 0 } };
    dt_access_t then_x = { DT_INOUT, &x, 1, 0, 0 }, then_y = { DT_INOUT, &y, 1, 0, 0 };
    dt_task_attr_t a1 = { p[0], DT_NODE_ANY, NULL, 0 }, a0 = { p[1], DT_NODE_ANY, NULL, 0 },
                   a5 = { p[2], DT_NODE_ANY, NULL, 0 };
    ck_assert_int_eq(dt_task_create(t, &p[0], sizeof p[0], first, 2, &a1), DT_OK);
    ck_assert_int_eq(dt_task_create(t, &p[1], sizeof p[1], &then_x, 1, &a0), DT_OK);
    ck_assert_int_eq(dt_task_create(t, &p[2], sizeof p[2], &then_y, 1, &a5), DT_OK);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    ck_assert_int_eq(norder, 3);
    ck_assert_int_eq(order[0], 1);
    ck_assert_msg(order[1] == 5, "after the first task, priority %d ran before priority 5", order[1]);
    TU_FINI();
}
END_TEST

/* ---- waiting -------------------------------------------------------------------- */

static atomic_int a_started, a_release, a_done, a_timeout, b_done;

static void blocker_task(void *args)
{
    (void)args;
    atomic_store(&a_started, 1);
    if (!tu_wait_flag(&a_release)) atomic_store(&a_timeout, 1);
    atomic_store(&a_done, 1);
}

static void quick_task(void *args)
{
    (void)args;
    tu_sleep_ms(HOLD);
    atomic_store(&b_done, 1);
}

START_TEST(taskwait_on_named_region)
{
    start2();
    static int x, y, z;
    dt_access_t ax = { DT_OUT, &x, sizeof x, 0, 0 }, ay = { DT_OUT, &y, sizeof y, 0, 0 };
    ck_assert_int_eq(dt_task_create(TU_TYPE(blocker_task), NULL, 0, &ax, 1, NULL), DT_OK);
    /* the blocker must sit on the other worker, not on this thread's wait */
    ck_assert(tu_wait_flag(&a_started));
    ck_assert_int_eq(dt_task_create(TU_TYPE(quick_task), NULL, 0, &ay, 1, NULL), DT_OK);
    dt_access_t on = { DT_IN, &y, sizeof y, 0, 0 };
    ck_assert_int_eq(dt_taskwait_on(&on, 1), DT_OK);
    ck_assert_int_eq(tu_get(&b_done), 1);
    ck_assert_int_eq(tu_get(&a_done), 0);
    /* a region nobody touched returns at once */
    dt_access_t none = { DT_INOUT, &z, sizeof z, 0, 0 };
    ck_assert_int_eq(dt_taskwait_on(&none, 1), DT_OK);
    ck_assert_int_eq(tu_get(&a_done), 0);
    atomic_store(&a_release, 1);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    ck_assert_int_eq(tu_get(&a_done), 1);
    ck_assert_int_eq(tu_get(&a_timeout), 0);
    TU_FINI();
}
END_TEST

/* taskwait_on waits for every earlier task on its bytes, readers included,
 * and for nothing created after it returns. */
START_TEST(taskwait_on_partial)
{
    start2();
    probe1(0, HOLD, -1, DT_OUT, buf + 3, 14);
    probe1(1, HOLD, -1, DT_IN, buf + 20, 10);
    dt_access_t on[2] = { { DT_IN, buf + 16, 1, 0, 0 }, { DT_OUT, buf + 29, 1, 0, 0 } };
    ck_assert_int_eq(dt_taskwait_on(on, 2), DT_OK);
    ck_assert_int_ne(tu_get(&sp[0].end), 0);
    ck_assert_int_ne(tu_get(&sp[1].end), 0);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    TU_FINI();
}
END_TEST

static atomic_int iter_runs, iter_bad, iter_tasks;
typedef struct iter_args { int value; int *cell; } iter_args;

static void iter_child(void *args)
{
    int *cell;
    memcpy(&cell, args, sizeof cell);
    *cell = *cell * 2 + 1;
    atomic_fetch_add(&iter_tasks, 1);
}

static void iter_body(void *args)
{
    iter_args *a = args;
    atomic_fetch_add(&iter_runs, 1);
    if (a->value != 7) atomic_fetch_add(&iter_bad, 1);
    a->value = -1;                      /* the body gets a copy of the args */
    dt_access_t acc = { DT_INOUT, a->cell, sizeof *a->cell, 0, 0 };
    dt_task_create(TU_TYPE(iter_child), &a->cell, sizeof a->cell, &acc, 1, NULL);
}

START_TEST(taskiter)
{
    start2();
    static int cell;
    iter_args a = { 7, &cell };
    dt_type_t body = TU_TYPE(iter_body);
    ck_assert_int_eq(dt_taskiter(body, &a, sizeof a, 0), DT_OK);
    ck_assert_int_eq(tu_get(&iter_runs), 0);
    ck_assert_int_eq(dt_taskiter(body, &a, sizeof a, 9), DT_OK);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    ck_assert_int_eq(tu_get(&iter_runs), 1);       /* recorded once, replayed 9 times */
    ck_assert_int_eq(tu_get(&iter_tasks), 9);
    ck_assert_int_eq(tu_get(&iter_bad), 0);
    ck_assert_int_eq(a.value, 7);
    ck_assert_int_eq(cell, 511);       /* 2^9 - 1: the iterations' tasks ran in order */
    TU_FINI();
}
END_TEST

/* Regions are refused only when their end (one past the last byte) would
 * wrap: one ending right below the top must order like any other (the tasks
 * never touch it). */
START_TEST(region_at_top_of_address_space)
{
    start2();
    char *top = (char *)(UINTPTR_MAX - 16);
    probe1(0, HOLD, -1, DT_OUT, top, 16);
    probe1(1, 0, -1, DT_IN, top + 8, 8);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    TU_BEFORE(sp, 0, 1);
    TU_FINI();
}
END_TEST

/* ---- many tasks ----------------------------------------------------------------- */

enum { CELLS = 64 };
static uint64_t cells[CELLS];

typedef struct cell_args { int k, j; uint64_t i; } cell_args;
static void cell_task(void *args)
{
    cell_args c;
    memcpy(&c, args, sizeof c);
    cells[c.k] = cells[c.k] * 3 + cells[c.j] + c.i;
}

static void cell_step(uint64_t *m, int i, int *k, int *j)
{
    *k = (i * 7) % CELLS;
    *j = (i * 13 + 5) % CELLS;
    if (*j == *k) *j = (*j + 1) % CELLS;
    m[*k] = m[*k] * 3 + m[*j] + (uint64_t)i;
}

/* Thousands of tasks with a taskwait every 100: each wait clears the domain
 * and the next tasks start from an empty map. */
START_TEST(many_tasks_taskwaits)
{
    start2();
    dt_type_t t = TU_TYPE(cell_task);
    static uint64_t model[CELLS];
    for (int i = 0; i < 6000; i++) {
        int k, j;
        cell_step(model, i, &k, &j);
        cell_args c = { k, j, (uint64_t)i };
        dt_access_t a[2] = { { DT_INOUT, &cells[k], 8, 0, 0 }, { DT_IN, &cells[j], 8, 0, 0 } };
        TU_REQUIRE(dt_task_create(t, &c, sizeof c, a, 2, NULL) == DT_OK);
        if (i % 100 == 99) {
            TU_REQUIRE(dt_taskwait() == DT_OK);
            TU_REQUIRE(memcmp(cells, model, sizeof cells) == 0);
        }
    }
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    ck_assert_int_eq(memcmp(cells, model, sizeof cells), 0);
    TU_FINI();
}
END_TEST

enum { BYTES = 65536 };
static unsigned char bytes[BYTES], bytes_model[BYTES];

typedef struct range_args { uint32_t off, len, i; } range_args;
static void range_task(void *args)
{
    range_args r;
    memcpy(&r, args, sizeof r);
    for (uint32_t b = r.off; b < r.off + r.len; b++) bytes[b] = (unsigned char)(bytes[b] * 3 + r.i);
}

/* No taskwait at all: odd ranges fragment the map past the size that makes
 * the engine sweep finished fragments. */
START_TEST(many_tasks_no_taskwait)
{
    start2();
    dt_type_t t = TU_TYPE(range_task);
    for (uint32_t i = 0; i < 20000; i++) {
        range_args r = { (i * 7919u) % (BYTES - 64), 1 + i % 37, i };
        for (uint32_t b = r.off; b < r.off + r.len; b++)
            bytes_model[b] = (unsigned char)(bytes_model[b] * 3 + r.i);
        dt_access_t a = { DT_INOUT, bytes + r.off, r.len, 0, 0 };
        TU_REQUIRE(dt_task_create(t, &r, sizeof r, &a, 1, NULL) == DT_OK);
    }
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    for (int b = 0; b < BYTES; b++) TU_REQUIRE(bytes[b] == bytes_model[b]);
    TU_FINI();
}
END_TEST

static Suite *deps_suite(void)
{
    Suite *s = suite_create("deps");
    TCase *tc = tu_tcase(s, "pairs");
    tcase_add_loop_test(tc, pair, 0, NPAIRS);
    tc = tu_tcase(s, "modes");
    tcase_add_test(tc, readers_then_writer);
    tcase_add_test(tc, writer_waits_slow_reader);
    tcase_add_test(tc, concurrent);
    tcase_add_test(tc, commutative);
    tcase_add_test(tc, commutative_apart);
    tcase_add_test(tc, several_accesses);
    tcase_add_test(tc, many_accesses);
    tc = tu_tcase(s, "reductions");
    tcase_add_loop_test(tc, reduction, 0, 16 * 3);
    tcase_add_test(tc, reduction_then_other_op);
    tcase_add_test(tc, nested_reduction);
    tcase_add_test(tc, reduction_in_parent);
    tcase_add_test(tc, reduction_ptr_elsewhere);
    tc = tu_tcase(s, "nesting");
    tcase_add_test(tc, weak_parent_orders_children);
    tcase_add_test(tc, strong_parent_then_children);
    tcase_add_test(tc, early_release);
    tc = tu_tcase(s, "attributes");
    tcase_add_test(tc, if0);
    tcase_add_test(tc, if0_one_worker);
    tcase_add_test(tc, final);
    tcase_add_loop_test(tc, priorities, 0, 2);
    tcase_add_test(tc, priority_before_successor);
    tc = tu_tcase(s, "waiting");
    tcase_add_test(tc, taskwait_on_named_region);
    tcase_add_test(tc, taskwait_on_partial);
    tcase_add_test(tc, taskiter);
    tcase_add_test(tc, region_at_top_of_address_space);
    tc = tu_tcase(s, "many");
    tcase_add_test(tc, many_tasks_taskwaits);
    tcase_add_test(tc, many_tasks_no_taskwait);
    return s;
}

TU_MAIN(deps_suite)
