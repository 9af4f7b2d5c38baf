/*
 * core.c - core runtime benchmarks, libdtask against libgomp.
 *
 * One source, two separate programs: without -fopenmp it is the libdtask
 * driver (core-dtask, linked with libdtask.a); with -fopenmp it is the
 * libgomp driver (core-gomp, plain gcc, no libdtask).  Sharing the harness
 * keeps the workloads (sizes, random access streams, checks) identical.
 *
 *   core-{dtask,gomp} spawn N REPS   N independent empty tasks, one taskwait
 *   core-{dtask,gomp} chain N REPS   N tasks, each inout on one 8-byte counter
 *   core-{dtask,gomp} frag  N REPS   N tasks, 1-4 random accesses each over a
 *                                    1 MiB region, a taskwait every 4096 tasks
 *   core-{dtask,gomp} rss   N        N tasks, one inout on 64 rotating regions,
 *                                    a taskwait every 10^4; peak and current
 *                                    RSS at N/100, N/10 and N tasks
 *
 * Each timed benchmark does one untimed warm-up run, then REPS timed runs in
 * the same process, and prints their median.  Every run checks its result
 * (tasks executed, final counters) and the program exits 1 on a mismatch.
 * The thread count comes from the environment (DT_NUM_WORKERS or
 * OMP_NUM_THREADS); the printed workers= says what the runtime used.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#define SYSTEM "gomp"
#else
#include <dtask.h>
#define SYSTEM "dtask"
#endif

#define FRAG_REGION   (1u << 20)
#define FRAG_MIN      64u
#define FRAG_MAX      4096u
#define FRAG_MAX_ACC  4
#define FRAG_WAIT     4096
#define RSS_REGIONS   64
#define RSS_WAIT      10000

static void die(const char *what, long got, long want)
{
    fprintf(stderr, "core-" SYSTEM ": %s: got %ld, expected %ld\n", what, got, want);
    exit(1);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int64_t median(int64_t *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_i64);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static long peak_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* The resident set now (the peak only says how many tasks were ever alive at
   once); -1 if /proc is not there. */
static long cur_rss_kib(void)
{
    long pages_total, pages_resident = -1;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &pages_total, &pages_resident) != 2)
        pages_resident = -1;
    fclose(f);
    return pages_resident < 0 ? -1 : pages_resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Tasks executed, counted per thread so the count costs no shared cache line:
   a thread claims a padded slot the first time it runs a task.  The waits
   that end a run order every task before the sum is read. */
#define MAX_THREADS 1024
static struct { _Alignas(64) long n; } slots[MAX_THREADS];
static atomic_int slots_used;
static _Thread_local long *my_slot;

static inline void count_task(void)
{
    if (!my_slot)
        my_slot = &slots[atomic_fetch_add(&slots_used, 1)].n;
    (*my_slot)++;
}

static long tasks_counted(void)
{
    long s = 0;
    int used = atomic_load(&slots_used);
    for (int i = 0; i < used; i++) {
        s += slots[i].n;
        slots[i].n = 0;
    }
    return s;
}

/* xorshift64*: the frag access stream must be the same for both systems */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

/* frag: pre-generated so the timed loop only creates tasks */
typedef struct {
    uint32_t off;
    uint16_t size;
    uint8_t  mode;        /* 1 in, 2 out, 3 inout (the DT_* values) */
} frag_acc_t;

static frag_acc_t *frag_acc;   /* FRAG_MAX_ACC slots per task */
static uint8_t *frag_nacc;
static long frag_total_acc;

/* Accesses of one task do not overlap each other: a task's own accesses
   only fragment the region against other tasks' accesses. */
static void frag_generate(long n)
{
    frag_acc = malloc((size_t)n * FRAG_MAX_ACC * sizeof *frag_acc);
    frag_nacc = malloc((size_t)n);
    if (!frag_acc || !frag_nacc)
        die("malloc", 0, 1);
    frag_total_acc = 0;
    for (long t = 0; t < n; t++) {
        frag_acc_t *a = &frag_acc[t * FRAG_MAX_ACC];
        int k = 1 + (int)(rng() % FRAG_MAX_ACC);
        for (int i = 0; i < k; i++) {
            uint32_t size, off;
            int clash;
            do {
                size = FRAG_MIN + (uint32_t)(rng() % (FRAG_MAX - FRAG_MIN + 1));
                off = (uint32_t)(rng() % (FRAG_REGION - size + 1));
                clash = 0;
                for (int j = 0; j < i; j++)
                    if (off < a[j].off + a[j].size && a[j].off < off + size)
                        clash = 1;
            } while (clash);
            a[i] = (frag_acc_t){ off, (uint16_t)size, (uint8_t)(1 + rng() % 3) };
        }
        frag_nacc[t] = (uint8_t)k;
        frag_total_acc += k;
    }
}

/* rss: task i increments counter i % RSS_REGIONS, one per 64-byte region */
#define RSS_STRIDE 64

static long rss_sum(const char *base)
{
    long s = 0;
    for (int r = 0; r < RSS_REGIONS; r++) {
        long *c = (long *)(base + r * RSS_STRIDE);
        s += *c;
        *c = 0;
    }
    return s;
}

#ifdef _OPENMP
/* ---- libgomp -------------------------------------------------------------- */

static int workers(void)
{
    return omp_get_max_threads();
}

static char *region_alloc(size_t size)
{
    char *p = aligned_alloc(64, size);
    if (!p)
        die("aligned_alloc", 0, 1);
    memset(p, 0, size);
    return p;
}

static void region_free(char *p)
{
    free(p);
}

static void run_init(int *argc, char ***argv) { (void)argc; (void)argv; }
static void run_fini(void) {}

static int64_t spawn_run(long n)
{
    int64_t t = 0;
#pragma omp parallel
#pragma omp single
    {
        int64_t t0 = now_ns();
        for (long i = 0; i < n; i++) {
#pragma omp task
            count_task();
        }
#pragma omp taskwait
        t = now_ns() - t0;
    }
    if (tasks_counted() != n)
        die("spawn: tasks run", tasks_counted(), n);
    return t;
}

static long chain_x;

static int64_t chain_run(long n)
{
    int64_t t = 0;
    chain_x = 0;
#pragma omp parallel
#pragma omp single
    {
        int64_t t0 = now_ns();
        for (long i = 0; i < n; i++) {
#pragma omp task depend(inout: chain_x)
            chain_x++;
        }
#pragma omp taskwait
        t = now_ns() - t0;
    }
    if (chain_x != n)
        die("chain: final counter", chain_x, n);
    return t;
}

/* NOT equivalent to the libdtask run: libgomp matches depend items by start
   address (one byte each here), it does not see byte-range overlaps. */
static int64_t frag_run(long n, char *region)
{
    int64_t t = 0;
#pragma omp parallel
#pragma omp single
    {
        int64_t t0 = now_ns();
        for (long i = 0; i < n; i++) {
            char *p[3][FRAG_MAX_ACC];
            int np[3] = { 0, 0, 0 };
            const frag_acc_t *a = &frag_acc[i * FRAG_MAX_ACC];
            for (int j = 0; j < frag_nacc[i]; j++) {
                int m = a[j].mode - 1;
                p[m][np[m]++] = region + a[j].off;
            }
            int nin = np[0], nout = np[1], nio = np[2];
            (void)nin, (void)nout, (void)nio;  /* gcc 12 misses their use below */
#pragma omp task depend(iterator(j = 0:nin), in: *p[0][j]) \
                 depend(iterator(j = 0:nout), out: *p[1][j]) \
                 depend(iterator(j = 0:nio), inout: *p[2][j])
            count_task();
            if ((i + 1) % FRAG_WAIT == 0) {
#pragma omp taskwait
            }
        }
#pragma omp taskwait
        t = now_ns() - t0;
    }
    if (tasks_counted() != n)
        die("frag: tasks run", tasks_counted(), n);
    return t;
}

static void rss_task_range(char *base, long from, long to)
{
    for (long i = from; i < to; i++) {
        long *c = (long *)(base + (i % RSS_REGIONS) * RSS_STRIDE);
#pragma omp task depend(inout: *c)
        (*c)++;
        if ((i + 1) % RSS_WAIT == 0) {
#pragma omp taskwait
        }
    }
#pragma omp taskwait
}

static void rss_tasks(char *base, long from, long to)
{
#pragma omp parallel
#pragma omp single
    rss_task_range(base, from, to);
}

#else
/* ---- libdtask ------------------------------------------------------------- */

static dt_type_t t_count, t_incr;

static void task_count(void *args)
{
    (void)args;
    count_task();
}

static void task_incr(void *args)
{
    long *x = *(long **)args;
    (*x)++;
}

static void check(int err, const char *call)
{
    if (err != DT_OK) {
        fprintf(stderr, "core-dtask: %s: %s\n", call, dt_strerror(err));
        exit(1);
    }
}

static int workers(void)
{
    return dt_num_workers();
}

static char *region_alloc(size_t size)
{
    char *p = dt_dmalloc(size);
    if (!p)
        die("dt_dmalloc", 0, 1);
    memset(p, 0, size);
    return p;
}

static void region_free(char *p)
{
    check(dt_dfree(p), "dt_dfree");
}

static void run_init(int *argc, char ***argv)
{
    check(dt_init(argc, argv), "dt_init");
    check(dt_type_register("count", task_count, &t_count), "dt_type_register");
    check(dt_type_register("incr", task_incr, &t_incr), "dt_type_register");
}

static void run_fini(void)
{
    check(dt_finalize(), "dt_finalize");
}

static int64_t spawn_run(long n)
{
    int64_t t0 = now_ns();
    for (long i = 0; i < n; i++)
        check(dt_task_create(t_count, NULL, 0, NULL, 0, NULL), "dt_task_create");
    check(dt_taskwait(), "dt_taskwait");
    int64_t t = now_ns() - t0;
    if (tasks_counted() != n)
        die("spawn: tasks run", tasks_counted(), n);
    return t;
}

static long chain_x;

static int64_t chain_run(long n)
{
    long *x = &chain_x;
    dt_access_t acc = { DT_INOUT, x, sizeof *x, 0, 0 };
    chain_x = 0;
    int64_t t0 = now_ns();
    for (long i = 0; i < n; i++)
        check(dt_task_create(t_incr, &x, sizeof x, &acc, 1, NULL), "dt_task_create");
    check(dt_taskwait(), "dt_taskwait");
    int64_t t = now_ns() - t0;
    if (chain_x != n)
        die("chain: final counter", chain_x, n);
    return t;
}

static int64_t frag_run(long n, char *region)
{
    int64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        dt_access_t acc[FRAG_MAX_ACC];
        const frag_acc_t *a = &frag_acc[i * FRAG_MAX_ACC];
        for (int j = 0; j < frag_nacc[i]; j++)
            acc[j] = (dt_access_t){ a[j].mode, region + a[j].off, a[j].size, 0, 0 };
        check(dt_task_create(t_count, NULL, 0, acc, frag_nacc[i], NULL), "dt_task_create");
        if ((i + 1) % FRAG_WAIT == 0)
            check(dt_taskwait(), "dt_taskwait");
    }
    check(dt_taskwait(), "dt_taskwait");
    int64_t t = now_ns() - t0;
    if (tasks_counted() != n)
        die("frag: tasks run", tasks_counted(), n);
    return t;
}

static void rss_tasks(char *base, long from, long to)
{
    for (long i = from; i < to; i++) {
        long *c = (long *)(base + (i % RSS_REGIONS) * RSS_STRIDE);
        dt_access_t acc = { DT_INOUT, c, sizeof *c, 0, 0 };
        check(dt_task_create(t_incr, &c, sizeof c, &acc, 1, NULL), "dt_task_create");
        if ((i + 1) % RSS_WAIT == 0)
            check(dt_taskwait(), "dt_taskwait");
    }
    check(dt_taskwait(), "dt_taskwait");
}
#endif

/* ---- harness -------------------------------------------------------------- */

static void timed(const char *name, long n, int reps, int64_t (*run)(long, char *),
                  char *region)
{
    int64_t *t = malloc((size_t)reps * sizeof *t);
    if (!t)
        die("malloc", 0, 1);
    run(n, region);                          /* warm-up, untimed */
    for (int r = 0; r < reps; r++)
        t[r] = run(n, region);
    int64_t best = t[0];
    for (int r = 1; r < reps; r++)
        if (t[r] < best)
            best = t[r];
    double med = (double)median(t, reps);
    printf("bench=%s system=" SYSTEM " workers=%d n=%ld median_ns_per_task=%.1f "
           "min_ns_per_task=%.1f", name, workers(), n, med / n, (double)best / n);
    if (frag_acc)
        printf(" accesses=%ld median_accesses_per_s=%.0f", frag_total_acc,
               frag_total_acc / (med * 1e-9));
    printf(" runs=%d\n", reps);
    free(t);
}

static int64_t spawn_adapter(long n, char *region) { (void)region; return spawn_run(n); }
static int64_t chain_adapter(long n, char *region) { (void)region; return chain_run(n); }

static void rss_bench(long n)
{
    char *base = region_alloc(RSS_REGIONS * RSS_STRIDE);
    long marks[3] = { n / 100, n / 10, n }, done = 0;
    int64_t t0 = now_ns();
    for (int m = 0; m < 3; m++) {
        rss_tasks(base, done, marks[m]);
        done = marks[m];
        printf("bench=rss system=" SYSTEM " workers=%d n=%ld tasks_done=%ld peak_rss_kib=%ld "
               "rss_kib=%ld\n", workers(), n, done, peak_rss_kib(), cur_rss_kib());
        fflush(stdout);
    }
    double per = (double)(now_ns() - t0) / n;
    long s = rss_sum(base);
    if (s != n)
        die("rss: sum of counters", s, n);
    printf("bench=rss system=" SYSTEM " workers=%d n=%ld ns_per_task=%.1f runs=1\n",
           workers(), n, per);
    region_free(base);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s spawn|chain|frag|rss N [REPS]\n", argv[0]);
        return 2;
    }
    const char *name = argv[1];
    long n = atol(argv[2]);
    int reps = argc > 3 ? atoi(argv[3]) : 5;
    if (n < 100 || reps < 1) {
        fprintf(stderr, "core-" SYSTEM ": need N >= 100 and REPS >= 1\n");
        return 2;
    }
    run_init(&argc, &argv);
    if (!strcmp(name, "spawn")) {
        timed(name, n, reps, spawn_adapter, NULL);
    } else if (!strcmp(name, "chain")) {
        timed(name, n, reps, chain_adapter, NULL);
    } else if (!strcmp(name, "frag")) {
        char *region = region_alloc(FRAG_REGION);
        frag_generate(n);
        timed(name, n, reps, frag_run, region);
        region_free(region);
        free(frag_acc);
        free(frag_nacc);
    } else if (!strcmp(name, "rss")) {
        rss_bench(n);
    } else {
        fprintf(stderr, "core-" SYSTEM ": unknown benchmark %s\n", name);
        return 2;
    }
    run_fini();
    return 0;
}
