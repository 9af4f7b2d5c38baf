/*
 * outstanding.c - memory and time per outstanding task (issue 17.6).
 *
 *   [mpiexec.mpich -n R] outstanding TASKS [SLOTS]
 *
 * Rank 0 creates TASKS tasks without waiting, each an inout (one in four: an
 * in) on one 64-byte slot of SLOTS (default 4096) in dt_dmalloc memory,
 * picked at random (fixed seed), then one dt_taskwait.  Every task adds 1
 * to its slot's counter when it writes; the sum is checked ("verified" or
 * "FAILED" ends rank 0's line).  Each rank prints its peak resident set
 * (getrusage) on stderr, and rank 0 the time per task from the first
 * dt_task_create to the end of the dt_taskwait.  Measurements, and where
 * the bytes and the instructions go: bench/RESULTS.md, "Outstanding tasks".
 */
#include <dtask.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

typedef struct slot { long count; char pad[56]; } slot;
typedef struct args { slot *s; } args;

static dt_type_t T_add, T_read;
static long tasks, nslots = 4096;

static void add(void *p) { ((args *)p)->s->count++; }
static void readf(void *p) { (void)p; }

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int app(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    slot *s = dt_dmalloc((size_t)nslots * sizeof *s);
    if (!s) return 1;
    for (long i = 0; i < nslots; i++) s[i].count = 0;
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    long writes = 0;
    double t0 = now();
    for (long i = 0; i < tasks; i++) {
        rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
        args a = { &s[rng % (uint64_t)nslots] };
        int w = (rng >> 32) % 4 != 0;
        dt_access_t acc = { w ? DT_INOUT : DT_IN, a.s, sizeof *a.s, 0, 0 };
        writes += w;
        if (dt_task_create(w ? T_add : T_read, &a, sizeof a, &acc, 1, NULL)) return 1;
    }
    if (dt_taskwait()) return 1;
    double t = now() - t0;
    long sum = 0;
    for (long i = 0; i < nslots; i++) sum += s[i].count;
    printf("outstanding: ranks=%d tasks=%ld us_per_task=%.2f %s\n", dt_num_ranks(), tasks,
           t * 1e6 / (double)tasks, sum == writes ? "verified" : "FAILED");
    dt_dfree(s);
    return sum != writes;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: outstanding TASKS [SLOTS]\n");
        return 2;
    }
    tasks = atol(argv[1]);
    if (argc > 2) nslots = atol(argv[2]);
    dt_type_register("add", add, &T_add);
    dt_type_register("read", readf, &T_read);
    int r = dt_main(argc, argv, app);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    const char *rank = getenv("PMI_RANK");
    fprintf(stderr, "outstanding: rank %s: peak RSS %ld MB\n", rank ? rank : "0", ru.ru_maxrss / 1024);
    return r != 0;
}
