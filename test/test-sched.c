/* test-sched.c - the scheduler: idle workers sleep, nested taskwaits do not
 * deadlock, and the threads that wait run tasks. */
#include <pthread.h>
#include <sys/resource.h>
#include "test_util.h"

static double cpu_seconds(void)
{
    struct rusage ru;
    ck_assert_int_eq(getrusage(RUSAGE_SELF, &ru), 0);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void spin_task(void *args)
{
    (void)args;
    volatile unsigned x = 0;
    for (int i = 0; i < 20000; i++) x += (unsigned)i;
}

/* CPU time, not wall time: a process whose workers spin would use about
 * one second per idle worker here; a sleeping one uses almost nothing. */
static void assert_idle_is_cheap(void)
{
    double before = cpu_seconds();
    tu_sleep_ms(1000);
    double used = cpu_seconds() - before;
    ck_assert_msg(used < 0.3, "idle runtime used %.3f s of CPU in 1 s", used);
}

START_TEST(idle_after_init)
{
    tu_workers(2);
    TU_INIT();
    assert_idle_is_cheap();
    TU_FINI();
}
END_TEST

/* After a burst of work the workers must go back to sleep too. */
START_TEST(idle_after_work)
{
    tu_workers(2);
    TU_INIT();
    dt_type_t t = TU_TYPE(spin_task);
    for (int i = 0; i < 2000; i++) TU_REQUIRE(dt_task_create(t, NULL, 0, NULL, 0, NULL) == DT_OK);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    assert_idle_is_cheap();
    TU_FINI();
}
END_TEST

/* ---- nesting -------------------------------------------------------------------- */

static atomic_int leaves, bad_sums;
enum { TREES = 40, FAN = 4, DEPTH = 3, LEAVES = FAN * FAN * FAN };
static long cells[TREES * LEAVES];

typedef struct tree_args { int depth; long *cell; } tree_args;

/* A node owns cell[0 .. FAN^depth): its children split it, and after its own
 * taskwait the node checks that every leaf below it has written its 1. */
static void tree_task(void *args)
{
    tree_args a;
    memcpy(&a, args, sizeof a);
    if (a.depth == 0) {
        *a.cell = 1;
        atomic_fetch_add(&leaves, 1);
        return;
    }
    long span = 1;
    for (int d = 1; d < a.depth; d++) span *= FAN;
    for (int i = 0; i < FAN; i++) {
        tree_args c = { a.depth - 1, a.cell + i * span };
        dt_access_t acc = { DT_OUT, c.cell, (size_t)span * sizeof(long), 0, 0 };
        if (dt_task_create(TU_TYPE(tree_task), &c, sizeof c, &acc, 1, NULL) != DT_OK)
            atomic_fetch_add(&bad_sums, 1);
    }
    dt_taskwait();
    long s = 0;
    for (long i = 0; i < span * FAN; i++) s += a.cell[i];
    if (s != span * FAN) atomic_fetch_add(&bad_sums, 1);
}

START_TEST(nested_taskwait)
{
    tu_workers(_i + 1);
    TU_INIT();
    ck_assert_int_eq(dt_num_workers(), _i + 1);
    for (int r = 0; r < TREES; r++) {
        tree_args a = { DEPTH, &cells[r * LEAVES] };
        dt_access_t acc = { DT_OUT, a.cell, LEAVES * sizeof(long), 0, 0 };
        ck_assert_int_eq(dt_task_create(TU_TYPE(tree_task), &a, sizeof a, &acc, 1, NULL), DT_OK);
    }
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    ck_assert_int_eq(tu_get(&bad_sums), 0);
    ck_assert_int_eq(tu_get(&leaves), TREES * LEAVES);
    for (int i = 0; i < TREES * LEAVES; i++) TU_REQUIRE(cells[i] == 1);
    TU_FINI();
}
END_TEST

/* Fibonacci with a taskwait per call: deep recursion of waiting tasks. */
typedef struct fib_args { int n; long *res; } fib_args;

static void fib_task(void *args)
{
    fib_args a;
    memcpy(&a, args, sizeof a);
    if (a.n < 2) {
        *a.res = a.n;
        return;
    }
    long x = 0, y = 0;
    fib_args c1 = { a.n - 1, &x }, c2 = { a.n - 2, &y };
    dt_task_create(TU_TYPE(fib_task), &c1, sizeof c1, NULL, 0, NULL);
    dt_task_create(TU_TYPE(fib_task), &c2, sizeof c2, NULL, 0, NULL);
    dt_taskwait();
    *a.res = x + y;
}

START_TEST(fib)
{
    tu_workers(_i + 1);
    TU_INIT();
    long res = -1;
    fib_args a = { 16, &res };
    ck_assert_int_eq(dt_task_create(TU_TYPE(fib_task), &a, sizeof a, NULL, 0, NULL), DT_OK);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    ck_assert_int_eq(res, 987);
    TU_FINI();
}
END_TEST

/* ---- deep chains ---------------------------------------------------------------------
 * Each task creates one child without accesses: run inline in its creator
 * (when the queue looks full) or on a waiting thread's stack, such chains
 * nested without bound and overflowed the stack at depth ~2*10^4..10^5.
 * Under the sanitizers every task costs several times more (TSan: the spare
 * threads a waiting chain wakes take megabytes each, and 10^4 waiting
 * levels took over a minute): the depths are cut there. */
#if defined(__SANITIZE_THREAD__)
#define DEEP_MIN 1000L
#define DEEP_MAX 1000L
#elif defined(__SANITIZE_ADDRESS__)
#define DEEP_MIN 100000L
#define DEEP_MAX 100000L
#else
#define DEEP_MIN 100000L
#define DEEP_MAX 1000000L
#endif
static atomic_long deep_ran;
static bool deep_wait;

static void deep_task(void *args)
{
    long d;
    memcpy(&d, args, sizeof d);
    atomic_fetch_add_explicit(&deep_ran, 1, memory_order_relaxed);
    if (d > 1) {
        d--;
        if (dt_task_create(TU_TYPE(deep_task), &d, sizeof d, NULL, 0, NULL) != DT_OK) abort();
    }
    if (deep_wait) dt_taskwait();
}

static void deep_chain(long depth, bool wait)
{
    tu_workers(2);
    deep_wait = wait;
    TU_INIT();
    ck_assert_int_eq(dt_task_create(TU_TYPE(deep_task), &depth, sizeof depth, NULL, 0, NULL), DT_OK);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    ck_assert_int_eq(atomic_load(&deep_ran), depth);
    tu_assert_alive();
    TU_FINI();
}

START_TEST(deep_chain_1e5) { deep_chain(DEEP_MIN, false); }
END_TEST
START_TEST(deep_chain_1e6) { deep_chain(DEEP_MAX, false); }
END_TEST
START_TEST(deep_wait_1e5) { deep_chain(DEEP_MIN, true); }
END_TEST
START_TEST(deep_wait_1e6) { deep_chain(DEEP_MAX, true); }
END_TEST

/* Threads made with 256 KiB stacks (glibc sizes them by RLIMIT_STACK): the
 * switch comes at half of such a stack. */
START_TEST(deep_wait_small_stacks)
{
    struct rlimit rl;
    ck_assert_int_eq(getrlimit(RLIMIT_STACK, &rl), 0);
    rl.rlim_cur = 256 << 10;
    ck_assert_int_eq(setrlimit(RLIMIT_STACK, &rl), 0);
    deep_chain(DEEP_MIN, true);
}
END_TEST

/* ---- who runs tasks ----------------------------------------------------------------- */

static pthread_t main_thread;
static atomic_int off_main, ran;

static void where_task(void *args)
{
    (void)args;
    if (!pthread_equal(pthread_self(), main_thread)) atomic_fetch_add(&off_main, 1);
    atomic_fetch_add(&ran, 1);
}

/* One worker: the main thread is the only one, and a few queued tasks (far
 * from "too many") wait for it to wait. */
START_TEST(one_worker_runs_on_main)
{
    tu_workers(1);
    main_thread = pthread_self();
    TU_INIT();
    dt_type_t t = TU_TYPE(where_task);
    static char bytes[8];
    for (int i = 0; i < 8; i++) {
        dt_access_t a = { DT_OUT, &bytes[i], 1, 0, 0 };
        ck_assert_int_eq(dt_task_create(t, NULL, 0, NULL, 0, NULL), DT_OK);
        ck_assert_int_eq(dt_task_create(t, NULL, 0, &a, 1, NULL), DT_OK);
    }
    ck_assert_int_eq(tu_get(&ran), 0);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    ck_assert_int_eq(tu_get(&ran), 16);
    dt_access_t a = { DT_INOUT, &bytes[0], 1, 0, 0 };
    ck_assert_int_eq(dt_task_create(t, NULL, 0, &a, 1, NULL), DT_OK);
    ck_assert_int_eq(tu_get(&ran), 16);
    ck_assert_int_eq(dt_taskwait_on(&a, 1), DT_OK);
    ck_assert_int_eq(tu_get(&ran), 17);
    ck_assert_int_eq(tu_get(&off_main), 0);
    TU_FINI();
}
END_TEST

/* With one worker the creator runs tasks itself once too many are queued. */
START_TEST(throttle)
{
    tu_workers(1);
    main_thread = pthread_self();
    TU_INIT();
    dt_type_t t = TU_TYPE(where_task);
    for (int i = 0; i < 5000; i++) TU_REQUIRE(dt_task_create(t, NULL, 0, NULL, 0, NULL) == DT_OK);
    ck_assert_int_gt(tu_get(&ran), 0);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    ck_assert_int_eq(tu_get(&ran), 5000);
    ck_assert_int_eq(tu_get(&off_main), 0);
    TU_FINI();
}
END_TEST

static atomic_int b_started, b_on_main, a_saw_b;

static void hog_task(void *args)
{
    (void)args;
    atomic_store(&b_started, 1);
    if (tu_wait_flag(&a_saw_b)) return;
    atomic_store(&b_on_main, -1);       /* timed out */
}

static void on_main_task(void *args)
{
    (void)args;
    atomic_store(&b_on_main, pthread_equal(pthread_self(), main_thread) ? 1 : 2);
    atomic_store(&a_saw_b, 1);
}

/* Two workers, the other one busy: the main thread's taskwait runs the task. */
START_TEST(taskwait_runs_tasks)
{
    tu_workers(2);
    main_thread = pthread_self();
    TU_INIT();
    ck_assert_int_eq(dt_task_create(TU_TYPE(hog_task), NULL, 0, NULL, 0, NULL), DT_OK);
    ck_assert(tu_wait_flag(&b_started));
    ck_assert_int_eq(dt_task_create(TU_TYPE(on_main_task), NULL, 0, NULL, 0, NULL), DT_OK);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    ck_assert_int_eq(tu_get(&b_on_main), 1);
    TU_FINI();
}
END_TEST

static pthread_t seen_threads[8];
static atomic_int nseen;

static void thread_task(void *args)
{
    (void)args;
    pthread_t self = pthread_self();
    static atomic_flag lock = ATOMIC_FLAG_INIT;
    while (atomic_flag_test_and_set(&lock)) {}
    int n = atomic_load(&nseen), i = 0;
    while (i < n && !pthread_equal(seen_threads[i], self)) i++;
    if (i == n) {
        if (n < 8) seen_threads[n] = self;
        atomic_store(&nseen, n + 1);
    }
    atomic_flag_clear(&lock);
    tu_sleep_ms(1);
}

/* DT_NUM_WORKERS counts the main thread: two workers, at most two threads. */
START_TEST(two_workers_two_threads)
{
    tu_workers(2);
    TU_INIT();
    dt_type_t t = TU_TYPE(thread_task);
    for (int i = 0; i < 200; i++) ck_assert_int_eq(dt_task_create(t, NULL, 0, NULL, 0, NULL), DT_OK);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    ck_assert_int_ge(tu_get(&nseen), 1);
    ck_assert_int_le(tu_get(&nseen), 2);
    TU_FINI();
}
END_TEST

/* ---- arguments and shutdown ------------------------------------------------------- */

enum { NSIZES = 7, NARGS = 40 };
/* around the sizes kept inline in a task (64) and on the stack when the
 * creator runs the task itself (256) */
static const size_t arg_sizes[NSIZES] = { 9, 16, 64, 65, 256, 257, 100000 };
static atomic_int args_bad, args_ran;

/* The first 8 bytes say the size, the rest is a pattern of the seed. */
static void args_task(void *args)
{
    size_t size;
    unsigned char *p = args, seed;
    memcpy(&size, p, sizeof size);
    seed = p[sizeof size];
    for (size_t i = sizeof size + 1; i < size; i++)
        if (p[i] != (unsigned char)(seed + i)) {
            atomic_fetch_add(&args_bad, 1);
            break;
        }
    atomic_fetch_add(&args_ran, 1);
}

/* args are copied at creation, whatever their size: the caller's buffer is
 * scribbled over right after each dt_task_create.  Many tasks without
 * accesses on one worker also take the path where the creator runs them. */
START_TEST(args_copied)
{
    tu_workers(_i + 1);
    TU_INIT();
    dt_type_t t = TU_TYPE(args_task), t1 = TU_TYPE(where_task);
    unsigned char *b = malloc(100000);
    ck_assert_ptr_nonnull(b);
    int n = 0;
    for (int k = 0; k < NARGS; k++) {
        size_t size = arg_sizes[k % NSIZES];
        memcpy(b, &size, sizeof size);
        b[sizeof size] = (unsigned char)k;
        for (size_t i = sizeof size + 1; i < size; i++) b[i] = (unsigned char)(k + (int)i);
        ck_assert_int_eq(dt_task_create(t, b, size, NULL, 0, NULL), DT_OK);
        memset(b, 0xEE, size);
        n++;
    }
    /* size 0 with a pointer: nothing to copy */
    ck_assert_int_eq(dt_task_create(t1, b, 0, NULL, 0, NULL), DT_OK);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    free(b);
    ck_assert_int_eq(tu_get(&args_ran), n);
    ck_assert_int_eq(tu_get(&args_bad), 0);
    ck_assert_int_eq(tu_get(&ran), 1);
    TU_FINI();
}
END_TEST

static atomic_int fin_ran;
static void fin_task(void *args)
{
    (void)args;
    tu_sleep_ms(1);
    atomic_fetch_add(&fin_ran, 1);
}

/* dt_finalize waits for every task, nested ones included. */
static void fin_parent(void *args)
{
    (void)args;
    for (int i = 0; i < 5; i++) dt_task_create(TU_TYPE(fin_task), NULL, 0, NULL, 0, NULL);
}

START_TEST(finalize_waits)
{
    tu_workers(_i + 1);
    TU_INIT();
    static char x[8];
    for (int i = 0; i < 20; i++) {
        dt_access_t a = { DT_INOUT, &x[i % 8], 1, 0, 0 };
        ck_assert_int_eq(dt_task_create(TU_TYPE(fin_parent), NULL, 0, i % 2 ? &a : NULL, i % 2, NULL), DT_OK);
    }
    TU_FINI();
    ck_assert_int_eq(tu_get(&fin_ran), 100);
}
END_TEST

static int app(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    for (int i = 0; i < 10; i++) dt_task_create(TU_TYPE(fin_task), NULL, 0, NULL, 0, NULL);
    return 7;
}

START_TEST(main_waits)
{
    ck_assert_int_eq(dt_main(0, NULL, app), 7);
    ck_assert_int_eq(tu_get(&fin_ran), 10);
}
END_TEST

static Suite *sched_suite(void)
{
    Suite *s = suite_create("sched");
    TCase *tc = tu_tcase(s, "idle");
    tcase_add_test(tc, idle_after_init);
    tcase_add_test(tc, idle_after_work);
    tc = tu_tcase(s, "nesting");
    tcase_add_loop_test(tc, nested_taskwait, 0, 2);
    tcase_add_loop_test(tc, fib, 0, 2);
    tc = tu_tcase(s, "deep");            /* each well within the 60 s timeout: linear in depth */
    tcase_add_test(tc, deep_chain_1e5);
    tcase_add_test(tc, deep_wait_1e5);
    tcase_add_test(tc, deep_chain_1e6);
    tcase_add_test(tc, deep_wait_1e6);
    tcase_add_test(tc, deep_wait_small_stacks);
    tc = tu_tcase(s, "threads");
    tcase_add_test(tc, one_worker_runs_on_main);
    tcase_add_test(tc, throttle);
    tcase_add_test(tc, taskwait_runs_tasks);
    tcase_add_test(tc, two_workers_two_threads);
    tc = tu_tcase(s, "misc");
    tcase_add_loop_test(tc, args_copied, 0, 2);
    tcase_add_loop_test(tc, finalize_waits, 0, 2);
    tcase_add_test(tc, main_waits);
    return s;
}

TU_MAIN(sched_suite)
