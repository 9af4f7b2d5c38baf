/* test-taskiter.c - dt_taskiter and dt_taskiter_while on one rank: the
 * replayed graph gives the results of a plain loop (order across
 * iterations, every access mode, 2-D regions, children of replayed tasks,
 * priorities), the body runs once, earlier tasks are waited for only where
 * they conflict, the stop condition, and every refused call. */
#include "test_util.h"

#define NX 8
static long x[NX];
static atomic_int body_runs;
static int yes(void *a) { (void)a; return 1; }

/* ---- order: a chain per element and a reader of all of them ----------------------- */

typedef struct step_args { long *p; long mul, add; } step_args;
static void step_fn(void *a)
{
    step_args *s = a;
    *s->p = *s->p * s->mul + s->add;
}
static long sum_seen[64];
static atomic_int sum_n;
static void sum_fn(void *a)
{
    (void)a;
    long s = 0;
    for (int i = 0; i < NX; i++) s += x[i];
    sum_seen[atomic_fetch_add(&sum_n, 1) % 64] = s;
}

/* per element: x = 3x+1 then x = x*2+i: a wrong order anywhere changes x */
static void chain_body(void *a)
{
    (void)a;
    atomic_fetch_add(&body_runs, 1);
    dt_type_t st = TU_TYPE(step_fn), su = TU_TYPE(sum_fn);
    for (int i = 0; i < NX; i++) {
        dt_access_t acc = { DT_INOUT, &x[i], sizeof x[i], 0, 0 };
        step_args s1 = { &x[i], 3, 1 }, s2 = { &x[i], 2, i };
        TU_REQUIRE(dt_task_create(st, &s1, sizeof s1, &acc, 1, NULL) == DT_OK);
        TU_REQUIRE(dt_task_create(st, &s2, sizeof s2, &acc, 1, NULL) == DT_OK);
    }
    dt_access_t all = { DT_IN, x, sizeof x, 0, 0 };
    TU_REQUIRE(dt_task_create(su, NULL, 0, &all, 1, NULL) == DT_OK);
}

START_TEST(chain_order)
{
    tu_workers(1 + _i);
    TU_INIT();
    dt_type_t body = TU_TYPE(chain_body);
    long ref[NX], sums[20];
    for (int i = 0; i < NX; i++) x[i] = ref[i] = i;
    for (int it = 0; it < 20; it++) {
        long s = 0;
        for (int i = 0; i < NX; i++) {
            ref[i] = (ref[i] * 3 + 1) * 2 + i;
            s += ref[i];
        }
        sums[it] = s;
    }
    ck_assert_int_eq(dt_taskiter(body, NULL, 0, 20), DT_OK);
    /* it returned: every iteration completed */
    ck_assert_int_eq(tu_get(&body_runs), 1);
    ck_assert_int_eq(tu_get(&sum_n), 20);
    for (int i = 0; i < NX; i++) ck_assert_int_eq(x[i], ref[i]);
    for (int it = 0; it < 20; it++) ck_assert_int_eq(sum_seen[it], sums[it]);
    TU_FINI();
}
END_TEST

START_TEST(zero_iterations)
{
    TU_INIT();
    ck_assert_int_eq(dt_taskiter(TU_TYPE(chain_body), NULL, 0, 0), DT_OK);
    ck_assert_int_eq(tu_get(&body_runs), 0);
    long run = -1;
    ck_assert_int_eq(dt_taskiter_while(TU_TYPE(chain_body), NULL, 0, 0, 1, yes, NULL, &run), DT_OK);
    ck_assert_int_eq(run, 0);
    ck_assert_int_eq(tu_get(&body_runs), 0);
    TU_FINI();
}
END_TEST

/* ---- iterations overlap; a task's own instances do not ------------------------------ */

static atomic_int a_runs, a_saw = -1, b_runs, b_inside, b_overlap;
static atomic_int b_enough;
static void a_fn(void *a)
{
    (void)a;
    if (atomic_fetch_add(&a_runs, 1) == 0) atomic_store(&a_saw, tu_wait_flag(&b_enough));
}
static void b_fn(void *a)
{
    (void)a;
    if (atomic_fetch_add(&b_inside, 1)) atomic_store(&b_overlap, 1);
    for (volatile int i = 0; i < 20000; i++) {}
    atomic_fetch_sub(&b_inside, 1);
    if (atomic_fetch_add(&b_runs, 1) + 1 >= 3) atomic_store(&b_enough, 1);
}
static void overlap_body(void *a)
{
    (void)a;
    dt_access_t wa = { DT_INOUT, &x[0], sizeof x[0], 0, 0 };
    dt_access_t rb = { DT_IN, &x[1], sizeof x[1], 0, 0 };   /* no conflict with itself */
    TU_REQUIRE(dt_task_create(TU_TYPE(a_fn), NULL, 0, &wa, 1, NULL) == DT_OK);
    TU_REQUIRE(dt_task_create(TU_TYPE(b_fn), NULL, 0, &rb, 1, NULL) == DT_OK);
}

/* The first instance of a waits until b has run three times: that needs
   b's instances of iterations 1 and 2 to start before a's of iteration 0
   ends (no barrier between iterations); b's instances never run at once. */
START_TEST(iterations_overlap)
{
    tu_workers(2);
    TU_INIT();
    ck_assert_int_eq(dt_taskiter(TU_TYPE(overlap_body), NULL, 0, 6), DT_OK);
    ck_assert_int_eq(tu_get(&a_saw), 1);
    ck_assert_int_eq(tu_get(&a_runs), 6);
    ck_assert_int_eq(tu_get(&b_runs), 6);
    ck_assert_int_eq(tu_get(&b_overlap), 0);
    TU_FINI();
}
END_TEST

/* ---- 2-D regions: a column and a row of a small grid -------------------------------- */

#define GW 16
static double grid[GW * GW];
typedef struct rc_args { int col, row; } rc_args;
static void col_fn(void *a)   /* column c += row r's element in it */
{
    rc_args *r = a;
    for (int i = 0; i < GW; i++) grid[i * GW + r->col] = grid[i * GW + r->col] * 0.5 + 1.0 * i;
}
static void row_fn(void *a)
{
    rc_args *r = a;
    for (int j = 0; j < GW; j++) grid[r->row * GW + j] += grid[r->row * GW + (j + 1) % GW] * 0.25;
}
static void grid_body(void *a)
{
    (void)a;
    dt_type_t c = TU_TYPE(col_fn), r = TU_TYPE(row_fn);
    for (int k = 0; k < 4; k++) {
        rc_args ca = { 3 * k, 0 }, ra = { 0, 5 * k % GW };
        dt_access_t col = { DT_INOUT, &grid[ca.col], sizeof(double), GW, GW * sizeof(double) };
        dt_access_t row = { DT_INOUT, &grid[ra.row * GW], GW * sizeof(double), 0, 0 };
        TU_REQUIRE(dt_task_create(c, &ca, sizeof ca, &col, 1, NULL) == DT_OK);
        TU_REQUIRE(dt_task_create(r, &ra, sizeof ra, &row, 1, NULL) == DT_OK);
    }
}

START_TEST(grid_2d)
{
    tu_workers(2);
    TU_INIT();
    double ref[GW * GW];
    for (int i = 0; i < GW * GW; i++) grid[i] = ref[i] = (i * 37 % 101) / 7.0;
    memcpy(ref, grid, sizeof grid);
    ck_assert_int_eq(dt_taskiter(TU_TYPE(grid_body), NULL, 0, 30), DT_OK);
    double done[GW * GW];
    memcpy(done, grid, sizeof grid);
    memcpy(grid, ref, sizeof grid);
    for (int it = 0; it < 30; it++)
        for (int k = 0; k < 4; k++) {
            rc_args ca = { 3 * k, 0 }, ra = { 0, 5 * k % GW };
            col_fn(&ca);
            row_fn(&ra);
        }
    ck_assert_int_eq(memcmp(done, grid, sizeof grid), 0);
    TU_FINI();
}
END_TEST

/* ---- children of replayed tasks -------------------------------------------------- */

static void add_fn(void *a) { long *p = *(long **)a; *p += 1; }
static void parent_fn(void *a)
{
    long *p = *(long **)a;
    dt_type_t t = TU_TYPE(add_fn);
    for (int k = 0; k < 4; k++) {
        long *q = p + k % 2;
        dt_access_t acc = { DT_INOUT, q, sizeof *q, 0, 0 };
        TU_REQUIRE(dt_task_create(t, &q, sizeof q, &acc, 1, NULL) == DT_OK);
    }
    if (p == &x[0]) TU_REQUIRE(dt_taskwait() == DT_OK);   /* allowed in a replayed task */
}
static void double_fn(void *a) { long *p = *(long **)a; p[0] *= 2; p[1] *= 2; }
static void nest_body(void *a)
{
    (void)a;
    for (int k = 0; k < NX; k += 2) {
        long *p = &x[k];
        dt_access_t w = { DT_INOUT | DT_WEAK, p, 2 * sizeof *p, 0, 0 };
        dt_access_t s = { DT_INOUT, p, 2 * sizeof *p, 0, 0 };
        TU_REQUIRE(dt_task_create(TU_TYPE(parent_fn), &p, sizeof p, &w, 1, NULL) == DT_OK);
        TU_REQUIRE(dt_task_create(TU_TYPE(double_fn), &p, sizeof p, &s, 1, NULL) == DT_OK);
    }
}

START_TEST(children)
{
    tu_workers(1 + _i);
    TU_INIT();
    memset(x, 0, sizeof x);
    ck_assert_int_eq(dt_taskiter(TU_TYPE(nest_body), NULL, 0, 25), DT_OK);
    long ref = 0;
    for (int it = 0; it < 25; it++) ref = (ref + 2) * 2;
    for (int i = 0; i < NX; i++) ck_assert_int_eq(x[i], ref);
    TU_FINI();
}
END_TEST

/* ---- commutative (exclusive) and reductions (a private copy per task) ------------- */

static long total;
static atomic_int inside, overlapped, red_private;
static void comm_fn(void *a)
{
    if (atomic_fetch_add(&inside, 1)) atomic_store(&overlapped, 1);
    long v = *(long *)a;
    long t = total;
    for (volatile int i = 0; i < 200; i++) {}
    total = t + v;
    atomic_fetch_sub(&inside, 1);
}
static void red_fn(void *a)
{
    long *p = dt_reduction_ptr(&total);
    if (p != &total) atomic_fetch_add(&red_private, 1);
    *p += *(long *)a;
}
static void comm_body(void *a)
{
    (void)a;
    for (long v = 1; v <= 6; v++) {
        dt_access_t c = { DT_COMMUTATIVE, &total, sizeof total, 0, 0 };
        dt_access_t r = { DT_REDUCTION | DT_RED_SUM | DT_RED_I64, &total, sizeof total, 0, 0 };
        TU_REQUIRE(dt_task_create(TU_TYPE(comm_fn), &v, sizeof v, &c, 1, NULL) == DT_OK);
        long w = 10 * v;
        TU_REQUIRE(dt_task_create(TU_TYPE(red_fn), &w, sizeof w, &r, 1, NULL) == DT_OK);
    }
    dt_access_t in = { DT_IN, &total, sizeof total, 0, 0 };
    TU_REQUIRE(dt_task_create(TU_TYPE(sum_fn), NULL, 0, &in, 1, NULL) == DT_OK);
}

START_TEST(commutative_reduction)
{
    tu_workers(2);
    TU_INIT();
    ck_assert_int_eq(dt_taskiter(TU_TYPE(comm_body), NULL, 0, 40), DT_OK);
    ck_assert_int_eq(total, 40 * (21 + 210));
    ck_assert_int_eq(tu_get(&overlapped), 0);
    ck_assert_int_eq(tu_get(&red_private), 40 * 6);
    ck_assert_int_eq(tu_get(&sum_n), 40);
    TU_FINI();
}
END_TEST

/* the members of one reduction need no exclusion: two of them meet */
static atomic_int red_calls, red_meet, red_met = -1;
static double dsum;
static void red_meet_fn(void *a)
{
    (void)a;
    if (atomic_fetch_add(&red_calls, 1) < 2) atomic_store(&red_met, tu_meet(&red_meet, 2));
    *(double *)dt_reduction_ptr(&dsum) += 0.5;
}
static void red_meet_body(void *a)
{
    (void)a;
    dt_access_t r = { DT_REDUCTION | DT_RED_SUM | DT_RED_F64, &dsum, sizeof dsum, 0, 0 };
    for (int k = 0; k < 2; k++) TU_REQUIRE(dt_task_create(TU_TYPE(red_meet_fn), NULL, 0, &r, 1, NULL) == DT_OK);
}

START_TEST(reduction_parallel)
{
    tu_workers(2);
    TU_INIT();
    ck_assert_int_eq(dt_taskiter(TU_TYPE(red_meet_body), NULL, 0, 10), DT_OK);
    ck_assert_int_eq(tu_get(&red_met), 1);
    ck_assert(dsum == 10.0);
    TU_FINI();
}
END_TEST

/* ---- priorities ------------------------------------------------------------------ */

static int order[64];
static atomic_int norder;
static void prio_fn(void *a) { order[atomic_fetch_add(&norder, 1) % 64] = *(int *)a; }
static void prio_body(void *a)
{
    (void)a;
    for (int p = 0; p < 3; p++) {
        dt_task_attr_t at = { .priority = p, .node = DT_NODE_ANY };
        TU_REQUIRE(dt_task_create(TU_TYPE(prio_fn), &p, sizeof p, NULL, 0, &at) == DT_OK);
    }
}

/* one worker: every instance of the priority-2 task runs before any of the
   priority-1 one, and those before the priority-0 one */
START_TEST(priorities)
{
    tu_workers(1);
    TU_INIT();
    ck_assert_int_eq(dt_taskiter(TU_TYPE(prio_body), NULL, 0, 5), DT_OK);
    ck_assert_int_eq(tu_get(&norder), 15);
    for (int i = 0; i < 15; i++) ck_assert_int_eq(order[i], 2 - i / 5);
    TU_FINI();
}
END_TEST

/* ---- tasks created before ---------------------------------------------------------- */

static atomic_int flag, saw_flag;
static void slow_writer(void *a)
{
    (void)a;
    tu_sleep_ms(100);
    x[0] = 1000;
}
/* does not conflict with the taskiter: must not be waited for, it waits for
   a replayed task itself (bounded) */
static void bystander(void *a)
{
    (void)a;
    atomic_store(&saw_flag, tu_wait_flag(&flag));
}
static void set_flag(void *a) { (void)a; atomic_store(&flag, 1); }
static void before_body(void *a)
{
    (void)a;
    dt_access_t acc = { DT_INOUT, &x[0], sizeof x[0], 0, 0 };
    step_args s = { &x[0], 1, 1 };
    TU_REQUIRE(dt_task_create(TU_TYPE(step_fn), &s, sizeof s, &acc, 1, NULL) == DT_OK);
    dt_access_t f = { DT_OUT, &x[1], sizeof x[1], 0, 0 };
    TU_REQUIRE(dt_task_create(TU_TYPE(set_flag), NULL, 0, &f, 1, NULL) == DT_OK);
}

START_TEST(earlier_tasks)
{
    tu_workers(2);
    TU_INIT();
    x[0] = 0;
    dt_access_t acc = { DT_OUT, &x[0], sizeof x[0], 0, 0 };
    dt_access_t other = { DT_OUT, &x[5], sizeof x[5], 0, 0 };
    /* the bystander first: an idle worker steals the oldest task, the
       waiting main thread takes the newest */
    ck_assert_int_eq(dt_task_create(TU_TYPE(bystander), NULL, 0, &other, 1, NULL), DT_OK);
    ck_assert_int_eq(dt_task_create(TU_TYPE(slow_writer), NULL, 0, &acc, 1, NULL), DT_OK);
    ck_assert_int_eq(dt_taskiter(TU_TYPE(before_body), NULL, 0, 10), DT_OK);
    ck_assert_int_eq(x[0], 1010);
    /* a task created after sees the last iteration's values */
    step_args s = { &x[0], 2, 0 };
    dt_access_t in = { DT_INOUT, &x[0], sizeof x[0], 0, 0 };
    ck_assert_int_eq(dt_task_create(TU_TYPE(step_fn), &s, sizeof s, &in, 1, NULL), DT_OK);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    ck_assert_int_eq(x[0], 2020);
    ck_assert_int_eq(tu_get(&saw_flag), 1);
    TU_FINI();
}
END_TEST

/* ---- a taskiter inside a task, over the task's own data ----------------------------- */

static void inner_body(void *a)
{
    long *p = *(long **)a;
    dt_access_t acc = { DT_INOUT, p, sizeof *p, 0, 0 };
    step_args s = { p, 1, 3 };
    TU_REQUIRE(dt_task_create(TU_TYPE(step_fn), &s, sizeof s, &acc, 1, NULL) == DT_OK);
}
static atomic_int inner_rc = 1;
static void outer_fn(void *a)
{
    atomic_store(&inner_rc, dt_taskiter(TU_TYPE(inner_body), a, sizeof(long *), 7));
}
static atomic_int inner_create = 1;
static void inner_bad_body(void *a)
{
    (void)a;
    dt_access_t acc = { DT_INOUT, &x[7], sizeof x[7], 0, 0 };
    step_args s = { &x[7], 1, 3 };
    atomic_store(&inner_create, dt_task_create(TU_TYPE(step_fn), &s, sizeof s, &acc, 1, NULL));
}
static void outer_bad_fn(void *a)
{
    (void)a;
    atomic_store(&inner_rc, dt_taskiter(TU_TYPE(inner_bad_body), NULL, 0, 7));
}

START_TEST(inside_a_task)
{
    tu_workers(2);
    TU_INIT();
    x[3] = 0;
    long *p = &x[3];
    dt_access_t acc = { DT_INOUT, p, sizeof *p, 0, 0 };
    ck_assert_int_eq(dt_task_create(TU_TYPE(outer_fn), &p, sizeof p, &acc, 1, NULL), DT_OK);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    ck_assert_int_eq(tu_get(&inner_rc), DT_OK);
    ck_assert_int_eq(x[3], 21);
    /* a recorded task outside the creator's accesses is refused by
       dt_task_create as usual; the body ignores that and nothing runs */
    x[7] = 0;
    ck_assert_int_eq(dt_task_create(TU_TYPE(outer_bad_fn), NULL, 0, &acc, 1, NULL), DT_OK);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    ck_assert_int_eq(tu_get(&inner_rc), DT_OK);
    ck_assert_int_eq(tu_get(&inner_create), DT_EINVAL);
    ck_assert_int_eq(x[7], 0);
    TU_FINI();
}
END_TEST

/* ---- dt_taskiter_while ----------------------------------------------------------- */

static int below(void *a) { return x[0] < *(long *)a; }
static void count_body(void *a)
{
    (void)a;
    atomic_fetch_add(&body_runs, 1);
    dt_access_t acc = { DT_INOUT, &x[0], sizeof x[0], 0, 0 };
    step_args s = { &x[0], 1, 1 };
    TU_REQUIRE(dt_task_create(TU_TYPE(step_fn), &s, sizeof s, &acc, 1, NULL) == DT_OK);
}

START_TEST(while_stops)
{
    tu_workers(2);
    TU_INIT();
    long limit = 7, run = -1;
    x[0] = 0;
    /* checked after 3, 6, 9: the round that reaches 7 is completed */
    ck_assert_int_eq(dt_taskiter_while(TU_TYPE(count_body), NULL, 0, 100, 3, below, &limit, &run), DT_OK);
    ck_assert_int_eq(run, 9);
    ck_assert_int_eq(x[0], 9);
    ck_assert_int_eq(tu_get(&body_runs), 1);
    /* max_iterations bounds it; the last round may be short */
    x[0] = 0;
    limit = 1000;
    ck_assert_int_eq(dt_taskiter_while(TU_TYPE(count_body), NULL, 0, 10, 4, below, &limit, &run), DT_OK);
    ck_assert_int_eq(run, 10);
    ck_assert_int_eq(x[0], 10);
    ck_assert_int_eq(dt_taskiter_while(TU_TYPE(count_body), NULL, 0, 10, 4, below, &limit, NULL), DT_OK);
    ck_assert_int_eq(x[0], 20);
    TU_FINI();
}
END_TEST

/* ---- refused bodies -------------------------------------------------------------- */

static atomic_int inner_err;
static void wait_body(void *a)
{
    count_body(a);
    atomic_store(&inner_err, dt_taskwait());
}
static void waiton_body(void *a)
{
    count_body(a);
    dt_access_t acc = { DT_IN, &x[0], sizeof x[0], 0, 0 };
    atomic_store(&inner_err, dt_taskwait_on(&acc, 1));
}
static void if0_body(void *a)
{
    (void)a;
    dt_access_t acc = { DT_INOUT, &x[0], sizeof x[0], 0, 0 };
    step_args s = { &x[0], 1, 1 };
    dt_task_attr_t at = { .node = DT_NODE_ANY, .flags = DT_TASK_IF0 };
    atomic_store(&inner_err, dt_task_create(TU_TYPE(step_fn), &s, sizeof s, &acc, 1, &at));
}
static void nested_body(void *a)
{
    count_body(a);
    atomic_store(&inner_err, dt_taskiter(TU_TYPE(count_body), NULL, 0, 2));
}
static dt_task_fn refused[] = { wait_body, waiton_body, if0_body, nested_body };

START_TEST(refused_calls)
{
    tu_workers(2);
    setenv("DT_VERBOSE", "1", 1);
    TU_INIT();
    x[0] = 0;
    dt_type_t t = tu_type(_i == 0 ? "wait" : _i == 1 ? "waiton" : _i == 2 ? "if0" : "nested", refused[_i]);
    tu_capture c = tu_stderr_begin();
    int r = dt_taskiter(t, NULL, 0, 5);
    char *msg = tu_stderr_end(c);
    ck_assert_int_eq(r, DT_ETASKITER);
    ck_assert_int_eq(tu_get(&inner_err), DT_ETASKITER);
    ck_assert_ptr_nonnull(strstr(msg, "dt_taskiter body"));
    free(msg);
    /* nothing ran */
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    ck_assert_int_eq(x[0], 0);
    /* the runtime is usable afterwards */
    ck_assert_int_eq(dt_taskiter(TU_TYPE(count_body), NULL, 0, 5), DT_OK);
    ck_assert_int_eq(x[0], 5);
    TU_FINI();
}
END_TEST

START_TEST(bad_arguments)
{
    ck_assert_int_eq(dt_taskiter(0, NULL, 0, 1), DT_ENOTINIT);
    ck_assert_int_eq(dt_taskiter_while(0, NULL, 0, 1, 1, yes, NULL, NULL), DT_ENOTINIT);
    TU_INIT();
    dt_type_t t = TU_TYPE(count_body);
    long run = 5;
    ck_assert_int_eq(dt_taskiter(-1, NULL, 0, 1), DT_ETYPE);
    ck_assert_int_eq(dt_taskiter(t + 1000, NULL, 0, 1), DT_ETYPE);
    ck_assert_int_eq(dt_taskiter(t, NULL, 8, 1), DT_EFAULT);
    ck_assert_int_eq(dt_taskiter(t, NULL, 0, -1), DT_EINVAL);
    ck_assert_int_eq(dt_taskiter_while(t, NULL, 0, 10, 1, NULL, NULL, &run), DT_EFAULT);
    ck_assert_int_eq(run, 0);
    ck_assert_int_eq(dt_taskiter_while(t, NULL, 0, 10, 0, yes, NULL, NULL), DT_EINVAL);
    ck_assert_int_eq(dt_taskiter_while(t, NULL, 0, -3, 1, yes, NULL, NULL), DT_EINVAL);
    ck_assert_int_eq(dt_taskiter_while(-2, NULL, 0, 3, 1, yes, NULL, NULL), DT_ETYPE);
    ck_assert_int_eq(tu_get(&body_runs), 0);
    ck_assert_str_eq(dt_strerror(DT_ETASKITER), "not allowed in a dt_taskiter body");
    TU_FINI();
    ck_assert_int_eq(dt_taskiter(t, NULL, 0, 1), DT_EFINALIZED);
}
END_TEST

static Suite *taskiter_suite(void)
{
    Suite *s = suite_create("taskiter");
    TCase *tc = tu_tcase(s, "replay");
    tcase_add_loop_test(tc, chain_order, 0, 2);
    tcase_add_test(tc, zero_iterations);
    tcase_add_test(tc, iterations_overlap);
    tcase_add_test(tc, grid_2d);
    tcase_add_loop_test(tc, children, 0, 2);
    tcase_add_test(tc, commutative_reduction);
    tcase_add_test(tc, reduction_parallel);
    tcase_add_test(tc, priorities);
    tc = tu_tcase(s, "context");
    tcase_add_test(tc, earlier_tasks);
    tcase_add_test(tc, inside_a_task);
    tcase_add_test(tc, while_stops);
    tc = tu_tcase(s, "errors");
    tcase_add_loop_test(tc, refused_calls, 0, 4);
    tcase_add_test(tc, bad_arguments);
    return s;
}

TU_MAIN(taskiter_suite)
