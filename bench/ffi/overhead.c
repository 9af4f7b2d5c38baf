/*
 * overhead.c - what a task type from a signature (libffi) costs against a
 * plain dt_task_fn task with the same body.
 *
 *   overhead call  [N]     the body called N times through the type table:
 *                          plain fn(args) vs the ffi closure (ffi_call inside);
 *                          no runtime, so the difference is the whole added cost
 *   overhead tasks [N] [R] N tasks of each kind created and waited for, in R
 *                          alternating rounds (plain, ffi, plain, ...); prints
 *                          each round's ns per task and the median difference
 *
 * The body adds v to *p (noinline, identical for both): the plain type's
 * function unpacks a struct { long *p; long v; } and calls it, the ffi type
 * is the body itself with signature (PTR, LONG).
 */
#include <dtask.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/runtime.h"

__attribute__((noinline)) static void body(long *p, long v)
{
    *p += v;
    __asm__ __volatile__("" ::: "memory");
}

typedef struct { long *p; long v; } args_t;

static void plain(void *a)
{
    const args_t *s = a;
    body(s->p, s->v);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static dt_type_t T_plain, T_ffi;
static long counter[2][64];

static inline double run_calls(dt_type_t t, long n)
{
    args_t a = { &counter[0][0], 1 };
    dt_task_fn fn = dt__types[t].fn;
    double t0 = now();
    for (long i = 0; i < n; i++) fn(&a);
    return (now() - t0) / (double)n * 1e9;
}
/* apart, so that callgrind counts each kind's instructions on its own */
__attribute__((noinline)) static double calls_plain(long n) { return run_calls(T_plain, n); }
__attribute__((noinline)) static double calls_ffi(long n) { return run_calls(T_ffi, n); }

/* n tasks, each on one of 64 counters (inout), then a wait */
static double run_tasks(dt_type_t t, long n, int which)
{
    double t0 = now();
    for (long i = 0; i < n; i++) {
        long *p = &counter[which][i & 63];
        args_t a = { p, 1 };
        dt_access_t acc = { DT_INOUT, p, sizeof *p, 0, 0 };
        if (dt_task_create(t, &a, sizeof a, &acc, 1, NULL) != DT_OK) {
            fprintf(stderr, "overhead: dt_task_create failed\n");
            exit(1);
        }
    }
    if (dt_taskwait() != DT_OK) exit(1);
    return (now() - t0) / (double)n * 1e9;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "tasks";
    long n = argc > 2 ? atol(argv[2]) : 200000;
    int rounds = argc > 3 ? atoi(argv[3]) : 11;
    const dt_ffi_type_t sig[] = { DT_FFI_PTR, DT_FFI_LONG };
    if (n <= 0 || rounds <= 0 || rounds > 1000 || dt_type_register("plain", plain, &T_plain) ||
        dt_type_register_ffi("body", (void (*)(void))body, DT_FFI_VOID, sig, 2, &T_ffi)) {
        fprintf(stderr, "usage: overhead call|tasks [N] [rounds]\n");
        return 2;
    }
    if (strcmp(mode, "call") == 0) {
        double d[1000], p[1000], f[1000];
        for (int r = 0; r < rounds; r++) {
            p[r] = calls_plain(n);
            f[r] = calls_ffi(n);
            d[r] = f[r] - p[r];
        }
        qsort(p, (size_t)rounds, sizeof *p, cmp);
        qsort(f, (size_t)rounds, sizeof *f, cmp);
        qsort(d, (size_t)rounds, sizeof *d, cmp);
        printf("call: %ld calls x %d rounds: plain %.1f ns, ffi %.1f ns, ffi - plain %.1f ns (medians)\n",
               n, rounds, p[rounds / 2], f[rounds / 2], d[rounds / 2]);
        return counter[0][0] == 2L * n * rounds ? 0 : 1;
    }
    if (strcmp(mode, "tasks") != 0 || dt_init(&argc, &argv) != DT_OK) return 2;
    double d[1000], p[1000], f[1000];
    run_tasks(T_plain, n / 4 + 1, 0);                 /* warm the allocator */
    run_tasks(T_ffi, n / 4 + 1, 1);
    memset(counter, 0, sizeof counter);
    for (int r = 0; r < rounds; r++) {
        p[r] = run_tasks(T_plain, n, 0);
        f[r] = run_tasks(T_ffi, n, 1);
        d[r] = f[r] - p[r];
        printf("round %d: plain %.1f ns/task, ffi %.1f ns/task\n", r, p[r], f[r]);
    }
    long sum0 = 0, sum1 = 0;
    for (int i = 0; i < 64; i++) sum0 += counter[0][i], sum1 += counter[1][i];
    qsort(p, (size_t)rounds, sizeof *p, cmp);
    qsort(f, (size_t)rounds, sizeof *f, cmp);
    qsort(d, (size_t)rounds, sizeof *d, cmp);
    printf("tasks: %ld tasks x %d rounds, %d workers: plain %.1f ns/task, ffi %.1f ns/task, "
           "ffi - plain %.1f ns/task (medians; paired difference range %.1f .. %.1f)\n",
           n, rounds, dt_num_workers(), p[rounds / 2], f[rounds / 2], d[rounds / 2], d[0], d[rounds - 1]);
    int ok = sum0 == n * rounds && sum1 == n * rounds;
    if (!ok) printf("FAILED: counters %ld %ld, want %ld\n", sum0, sum1, n * rounds);
    return dt_finalize() == DT_OK && ok ? 0 : 1;
}
