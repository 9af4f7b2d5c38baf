/* test_util.h - small helpers shared by the Check unit tests (test/test-*.c).
 *
 * Check forks a child per test (CK_FORK), so each test starts from a fresh
 * process: it may set DT_* variables, dt_init and dt_finalize on its own.
 * Task bodies run on worker threads, where ck_assert must not be used: they
 * record what they saw in globals that the test asserts after a wait. */
#ifndef DT_TEST_UTIL_H
#define DT_TEST_UTIL_H

#include <check.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "dtask.h"

#define TU_INIT() ck_assert_int_eq(dt_init(NULL, NULL), DT_OK)
#define TU_FINI() ck_assert_int_eq(dt_finalize(), DT_OK)
/* Registers fn under its own name (registering again returns the same id).
 * Task bodies use it too, so it keeps quiet unless it fails. */
#define TU_TYPE(fn) tu_type(#fn, (fn))
/* For hot loops: every ck_assert talks to the Check parent (a system call
 * per assertion in fork mode); this one only speaks up on failure. */
#define TU_REQUIRE(cond)                                                \
    do {                                                                \
        if (!(cond)) ck_abort_msg("failed: %s", #cond);                 \
    } while (0)
/* atomic_load as a function, so that failed assertions print its argument */
static inline int tu_get(atomic_int *p) { return atomic_load(p); }
/* Bound of every wait that a correct runtime ends quickly: a hang fails. */
#define TU_PATIENCE_MS 10000

static inline dt_type_t tu_type(const char *name, dt_task_fn fn)
{
    dt_type_t t = -1;
    int r = dt_type_register(name, fn, &t);
    if (r != DT_OK || t < 0) ck_abort_msg("dt_type_register(%s): %d", name, r);
    return t;
}

static inline void tu_workers(int n)
{
    char v[16];
    snprintf(v, sizeof v, "%d", n);
    setenv("DT_NUM_WORKERS", v, 1);
}

static inline uint64_t tu_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline void tu_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts)) {}
}

/* Waits until *flag != 0; false if that takes longer than TU_PATIENCE_MS. */
static inline bool tu_wait_flag(atomic_int *flag)
{
    uint64_t limit = tu_now_ms() + TU_PATIENCE_MS;
    while (!atomic_load(flag)) {
        if (tu_now_ms() > limit) return false;
        sched_yield();
    }
    return true;
}

/* Rendezvous of n parties on *count: true when all n were in it at once,
 * which proves they ran at the same time; false after TU_PATIENCE_MS. */
static inline bool tu_meet(atomic_int *count, int n)
{
    atomic_fetch_add(count, 1);
    uint64_t limit = tu_now_ms() + TU_PATIENCE_MS;
    while (atomic_load(count) < n) {
        if (tu_now_ms() > limit) return false;
        sched_yield();
    }
    return true;
}

/* Event stamps from a shared counter: a.end < b.start proves that a ended
 * before b began, whatever the timing. */
typedef struct tu_span { atomic_int start, end; } tu_span;
static inline void tu_enter(tu_span *s, atomic_int *clock) { atomic_store(&s->start, atomic_fetch_add(clock, 1) + 1); }
static inline void tu_leave(tu_span *s, atomic_int *clock) { atomic_store(&s->end, atomic_fetch_add(clock, 1) + 1); }
#define TU_BEFORE(spans, a, b)                                                          \
    ck_assert_msg(atomic_load(&(spans)[a].end) && atomic_load(&(spans)[a].end) <         \
                  atomic_load(&(spans)[b].start),                                       \
                  "task %d [%d,%d] must end before task %d [%d,%d] starts", (a),         \
                  atomic_load(&(spans)[a].start), atomic_load(&(spans)[a].end), (b),     \
                  atomic_load(&(spans)[b].start), atomic_load(&(spans)[b].end))

/* Sends fd 2 to a temporary file until tu_stderr_end, which returns what was
 * written (malloc'd, NUL-terminated). */
typedef struct tu_capture { FILE *f; int saved; } tu_capture;
static inline tu_capture tu_stderr_begin(void)
{
    tu_capture c = { tmpfile(), -1 };
    ck_assert_ptr_nonnull(c.f);
    fflush(stderr);
    c.saved = dup(2);
    ck_assert_int_ge(c.saved, 0);
    ck_assert_int_eq(dup2(fileno(c.f), 2), 2);
    return c;
}
static inline char *tu_stderr_end(tu_capture c)
{
    fflush(stderr);
    ck_assert_int_eq(dup2(c.saved, 2), 2);
    close(c.saved);
    long n = ftell(c.f);
    ck_assert_int_ge(n, 0);
    char *s = calloc(1, (size_t)n + 1);
    ck_assert_ptr_nonnull(s);
    rewind(c.f);
    ck_assert_int_eq(fread(s, 1, (size_t)n, c.f), (size_t)n);
    fclose(c.f);
    return s;
}
static inline int tu_count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* The runtime still works: one task with an access runs and is waited for. */
static inline void tu_mark_task(void *args)
{
    atomic_int *p;
    memcpy(&p, args, sizeof p);
    atomic_fetch_add(p, 1);
}
static inline void tu_assert_alive(void)
{
    static atomic_int ran;
    atomic_int *p = &ran;
    int before = atomic_load(&ran);
    dt_access_t a = { DT_INOUT, &ran, sizeof ran, 0, 0 };
    ck_assert_int_eq(dt_task_create(TU_TYPE(tu_mark_task), &p, sizeof p, &a, 1, NULL), DT_OK);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    ck_assert_int_eq(tu_get(&ran), before + 1);
}

/* A test case with a timeout above the bounded waits (sanitizers are slow). */
static inline TCase *tu_tcase(Suite *s, const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return tc;
}

#define TU_MAIN(make_suite)                                         \
    int main(void)                                                  \
    {                                                               \
        SRunner *sr = srunner_create(make_suite());                 \
        srunner_run_all(sr, CK_NORMAL);                             \
        int failed = srunner_ntests_failed(sr);                     \
        srunner_free(sr);                                           \
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;                \
    }

#endif
