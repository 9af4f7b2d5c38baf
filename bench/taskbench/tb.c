/*
 * tb.c - Task-Bench-style graphs, kernels, checks and the common driver main.
 * See tb.h.  Compiled once (build/bench/taskbench/tb.o) and linked into every
 * driver, so the kernels are the same machine code everywhere and the
 * checksums compare bit for bit.
 */
#include "tb.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const pattern_names[TB_NPATTERNS] = {
    "trivial", "no_comm", "stencil_1d", "nearest", "spread", "fft", "tree", "all_to_all"
};
static const char *const kernel_names[TB_NKERNELS] = {
    "empty", "compute_bound", "memory_bound", "load_imbalance"
};

/* memory_bound: each thread's scratch buffer; 4x the L2 of this machine's
   cores, so consecutive tasks stream through the L3. */
#define SCRATCH_LINES  ((16u << 20) / 64)
#define MAX_THREADS    256

__attribute__((format(printf, 1, 2), noreturn))
static void die(const char *fmt, ...)
{
    va_list ap;
    char msg[512];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "taskbench: %s\n", msg);
    _exit(3);   /* from any worker thread, without running exit handlers */
}

/* ---- graphs -------------------------------------------------------------- */

long tb_width_at(const tb_graph *g, long t)
{
    if (t < 0)
        return 0;
    if (g->pattern == TB_TREE)
        return t < 62 && (1L << t) < g->width ? 1L << t : g->width;
    return g->width;
}

int tb_deps(const tb_graph *g, long t, long p, long *deps)
{
    long prev = tb_width_at(g, t - 1), w = g->width, lo = 0, hi = -1, dset;
    int n = 0;

    switch (g->pattern) {
    case TB_TRIVIAL:
        return 0;
    case TB_NO_COMM:
        lo = hi = p;
        break;
    case TB_STENCIL_1D:
        lo = p - 1;
        hi = p + 1;
        break;
    case TB_NEAREST:
        if (g->radix > 0) {
            lo = p - g->radix / 2;
            hi = p + (g->radix - 1) / 2;
        }
        break;
    case TB_ALL_TO_ALL:
        lo = 0;
        hi = w - 1;
        break;
    case TB_TREE:
        lo = hi = p / 2;
        break;
    case TB_FFT:
        dset = (t + g->nsets - 1) % g->nsets;
        if (p - (1L << dset) >= 0 && p - (1L << dset) < prev)
            deps[n++] = p - (1L << dset);
        if (p < prev)
            deps[n++] = p;
        if (p + (1L << dset) < w && p + (1L << dset) < prev)
            deps[n++] = p + (1L << dset);
        return n;
    case TB_SPREAD:
        dset = t % g->period;
        for (long i = 0; i < g->radix; i++) {
            long d = (p + i * w / g->radix + (i > 0 ? dset : 0)) % w;
            int j = n;
            if (d >= prev)
                continue;
            /* insertion into the ascending list, dropping duplicates */
            while (j > 0 && deps[j - 1] > d)
                j--;
            if (j > 0 && deps[j - 1] == d)
                continue;
            memmove(deps + j + 1, deps + j, (size_t)(n - j) * sizeof *deps);
            deps[j] = d;
            n++;
        }
        return n;
    }
    if (lo < 0)
        lo = 0;
    if (hi > w - 1)
        hi = w - 1;
    if (hi > prev - 1)
        hi = prev - 1;
    for (long d = lo; d <= hi; d++)
        deps[n++] = d;
    return n;
}

long tb_num_tasks(const tb_graph *g)
{
    long n = 0;
    for (long t = 0; t < g->steps; t++)
        n += tb_width_at(g, t);
    return n;
}

static uint64_t mix(uint64_t x)   /* splitmix64's finaliser */
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

/* load_imbalance: K_task uniform in [0, 2K], a fixed function of (t, p) */
static long imbalance_iters(const tb_graph *g, long t, long p)
{
    uint64_t h = mix(((uint64_t)t << 32) ^ (uint64_t)p ^ UINT64_C(0x5eed));
    return (long)(h % (uint64_t)(2 * g->iters + 1));
}

double tb_work(const tb_graph *g)
{
    double w = 0;
    if (g->kernel == TB_EMPTY)
        return 0;
    if (g->kernel != TB_IMBALANCE)
        return (double)tb_num_tasks(g) * (double)g->iters;
    for (long t = 0; t < g->steps; t++)
        for (long p = 0; p < tb_width_at(g, t); p++)
            w += (double)imbalance_iters(g, t, p);
    return w;
}

void tb_records_clear(tb_rec *base, size_t n)
{
    for (size_t i = 0; i < n; i++)
        base[i] = (tb_rec){-1, -1, 0};
}

/* ---- per-thread counters ------------------------------------------------- */

typedef struct counter {
    _Alignas(64) uint64_t sum, tasks;
    uint64_t *scratch;
} counter_t;

static counter_t counters[MAX_THREADS];
static atomic_int n_counters;
static _Thread_local counter_t *my_counter;

static counter_t *counter(void)
{
    if (!my_counter) {
        int i = atomic_fetch_add(&n_counters, 1);
        if (i >= MAX_THREADS)
            die("more than %d threads ran tasks", MAX_THREADS);
        my_counter = &counters[i];
    }
    return my_counter;
}

void tb_counters_reset(void)
{
    int n = atomic_load(&n_counters);
    for (int i = 0; i < n && i < MAX_THREADS; i++)
        counters[i].sum = counters[i].tasks = 0;
}

void tb_counters_collect(uint64_t sum_tasks[2])
{
    int n = atomic_load(&n_counters);
    sum_tasks[0] = sum_tasks[1] = 0;
    for (int i = 0; i < n && i < MAX_THREADS; i++) {
        sum_tasks[0] += counters[i].sum;
        sum_tasks[1] += counters[i].tasks;
    }
}

/* ---- kernels ------------------------------------------------------------- */

/* K dependent multiply-adds: latency-bound, the result depends on every one. */
static uint64_t kernel_compute(long n, uint64_t seed)
{
    double x = 1.0 + (double)(seed >> 44) * 0x1p-21, r;
    uint64_t bits;
    for (long i = 0; i < n; i++)
        x = x * 0.999999 + 1e-6;
    r = x;
    memcpy(&bits, &r, sizeof bits);
    return bits;
}

/* One write pass then one read pass over `lines` 64-byte lines of the
   thread's scratch buffer, at a window that moves with (t, p) so that
   consecutive tasks cover the whole buffer.  Written before read, so the
   result does not depend on which thread ran the task before. */
static uint64_t kernel_memory(long lines, uint64_t seed, long t, long p, long width)
{
    counter_t *c = counter();
    uint64_t *b, s = 0;
    long start;

    if (lines == 0)
        return 0;
    if (!c->scratch) {
        c->scratch = aligned_alloc(64, (size_t)SCRATCH_LINES * 64);
        if (!c->scratch)
            die("out of memory for the scratch buffer");
        memset(c->scratch, 0, (size_t)SCRATCH_LINES * 64);
    }
    b = c->scratch;
    start = (long)(((uint64_t)(t * width + p) * (uint64_t)lines) % SCRATCH_LINES);
    for (long i = 0, l = start; i < lines; i++, l = l + 1 == SCRATCH_LINES ? 0 : l + 1)
        for (int j = 0; j < 8; j++)
            b[l * 8 + j] = seed + (uint64_t)(i * 8 + j);
    __asm__ volatile("" ::: "memory");   /* the reads below must load */
    for (long i = 0, l = start; i < lines; i++, l = l + 1 == SCRATCH_LINES ? 0 : l + 1)
        for (int j = 0; j < 8; j++)
            s += b[l * 8 + j];
    return s;
}

/* lfence on both sides: the out-of-order core may not overlap a kernel with
   the code around it (a tight loop of tiny tasks would otherwise hide its
   own overhead behind the multiply-add chain and beat the single-core rate) */
static inline void fence(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __asm__ volatile("lfence" ::: "memory");
#else
    __asm__ volatile("" ::: "memory");
#endif
}

static uint64_t run_kernel(const tb_graph *g, long t, long p, uint64_t seed)
{
    uint64_t r;
    switch (g->kernel) {
    case TB_COMPUTE:
        fence();
        r = kernel_compute(g->iters, seed);
        break;
    case TB_MEMORY:
        fence();
        r = kernel_memory(g->iters, seed, t, p, g->width);
        break;
    case TB_IMBALANCE:
        fence();
        r = kernel_compute(imbalance_iters(g, t, p), seed);
        break;
    default:
        return 0;
    }
    fence();
    return r;
}

/* ---- tasks --------------------------------------------------------------- */

static void execute(const tb_graph *g, long t, long p, const long *deps, int n,
                    const tb_rec *const *in, int n_in, tb_rec *out)
{
    uint64_t h = mix(((uint64_t)t << 32) ^ (uint64_t)p);
    counter_t *c;

    if (n_in != n)
        die("task (step %ld, point %ld) got %d inputs, expected %d", t, p, n_in, n);
    for (int i = 0; i < n; i++) {
        if (in[i]->step != t - 1 || in[i]->point != deps[i])
            die("task (step %ld, point %ld): input %d is the output of (step %d, point %d), "
                "expected (step %ld, point %ld)", t, p, i, (int)in[i]->step, (int)in[i]->point,
                t - 1, deps[i]);
        h = mix(h ^ in[i]->value);
    }
    h ^= run_kernel(g, t, p, h);
    out->step = (int32_t)t;
    out->point = (int32_t)p;
    out->value = h;
    c = counter();
    c->sum += h;
    c->tasks++;
}

void tb_execute(const tb_graph *g, long t, long p, const tb_rec *const *in, int n_in,
                tb_rec *out)
{
    long deps[TB_MAX_WIDTH];
    int n = tb_deps(g, t, p, deps);
    execute(g, t, p, deps, n, in, n_in, out);
}

void tb_execute_at(const tb_graph *g, long t, long p, tb_rec *base)
{
    long deps[TB_MAX_WIDTH];
    const tb_rec *in[TB_MAX_WIDTH];
    int n = tb_deps(g, t, p, deps);
    for (int i = 0; i < n; i++)
        in[i] = &base[tb_slot(g, t - 1, deps[i])];
    if (g->corrupt && t == 2 && p == 0 && n > 0)
        in[0] = &base[tb_slot(g, t - 2, deps[0])];   /* a stale version */
    execute(g, t, p, deps, n, in, n, &base[tb_slot(g, t, p)]);
}

/* ---- sequential reference, calibration, self-test ------------------------ */

static void reference(const tb_graph *g, uint64_t sum_tasks[2])
{
    size_t n = (size_t)(g->depth * g->width);
    tb_rec *base = malloc(n * sizeof *base);
    if (!base)
        die("out of memory");
    tb_records_clear(base, n);
    tb_counters_reset();
    for (long t = 0; t < g->steps; t++)
        for (long p = 0; p < tb_width_at(g, t); p++)
            tb_execute_at(g, t, p, base);
    tb_counters_collect(sum_tasks);
    tb_counters_reset();
    free(base);
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

/* ns per kernel unit on the calling thread: median of `reps` timed runs of
   64 consecutive tasks' kernels (after one untimed run). */
double tb_calibrate(int kernel, long iters, int reps)
{
    tb_graph g = {.pattern = TB_NO_COMM, .kernel = kernel, .width = 8, .iters = iters};
    int64_t v[64];
    volatile uint64_t sink = 0;
    if (reps > 64)
        reps = 64;
    for (int r = -1; r < reps; r++) {
        int64_t t0 = now_ns();
        for (long i = 0; i < 64; i++)
            sink ^= run_kernel(&g, i / 8, i % 8, (uint64_t)i << 44);
        if (r >= 0)
            v[r] = now_ns() - t0;
    }
    (void)sink;
    return (double)median(v, reps) / (64.0 * (double)iters);
}

/* Feeds one task a stale input: must end the process through die(). */
int tb_selftest(void)
{
    tb_graph g = {.pattern = TB_STENCIL_1D, .kernel = TB_COMPUTE, .width = 4, .steps = 4,
                  .iters = 3, .depth = 2, .nsets = 2, .corrupt = 1};
    uint64_t st[2];
    reference(&g, st);
    return 0;
}

/* ---- the common main ----------------------------------------------------- */

typedef struct opts {
    int  patterns[TB_NPATTERNS], n_patterns;
    int  kernels[TB_NKERNELS], n_kernels;
    long width, steps, steps_min, steps_max, radix, period;
    long ks[64];
    int  n_ks, reps, check, cores;
    double unit_ns, target_ms, stop_below;
} opts_t;

static int lookup(const char *const *names, int n, const char *s, size_t len)
{
    for (int i = 0; i < n; i++)
        if (strlen(names[i]) == len && !strncmp(names[i], s, len))
            return i;
    return -1;
}

/* comma-separated names (or "all") into ids */
static int parse_names(const char *const *names, int n, const char *arg, int *out)
{
    int k = 0;
    if (!strcmp(arg, "all")) {
        for (int i = 0; i < n; i++)
            out[i] = i;
        return n;
    }
    for (const char *s = arg; *s;) {
        size_t len = strcspn(s, ",");
        int id = lookup(names, n, s, len);
        if (id < 0 || k == n)
            return -1;
        out[k++] = id;
        s += len + (s[len] == ',');
    }
    return k;
}

static int parse_ks(const char *arg, long *ks)
{
    int n = 0;
    for (const char *s = arg; *s && n < 64;) {
        char *end;
        long k = strtol(s, &end, 10);
        if (end == s || k < 0 || (*end && *end != ','))
            return -1;
        ks[n++] = k;
        s = *end ? end + 1 : end;
    }
    return n;
}

static void usage(const char *prog)
{
    fprintf(stderr,
        "usage: %s [options]\n"
        "  --pattern LIST   trivial,no_comm,stencil_1d,nearest,spread,fft,tree,all_to_all or all\n"
        "  --kernel LIST    empty,compute_bound,memory_bound,load_imbalance or all\n"
        "  --k LIST         kernel iterations K, largest first (memory_bound: 64-byte lines)\n"
        "  --width W        points per step (8)       --radix R   nearest/spread radix (5/3)\n"
        "  --period P       spread period (3)         --reps N    timed runs per K (3)\n"
        "  --steps S        steps (1000), or with --target-ms: per K, so that a run has\n"
        "                   that much ideal work on --cores, within --steps-min/--steps-max\n"
        "  --unit-ns X      single-core ns per kernel unit (for efficiency and --target-ms)\n"
        "  --cores C        cores the run uses (efficiency); default ranks x workers\n"
        "  --stop-below E   stop the K sweep after the first efficiency below E\n"
        "  --check          compare every run with a sequential reference\n", prog);
}

static int parse(int argc, char **argv, opts_t *o)
{
    *o = (opts_t){.n_patterns = 1, .patterns = {TB_STENCIL_1D}, .n_kernels = 1,
                  .kernels = {TB_COMPUTE}, .width = 8, .steps = 1000, .steps_min = 1,
                  .steps_max = 1000000, .radix = -1, .period = 3, .ks = {1024}, .n_ks = 1,
                  .reps = 3};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (!strcmp(a, "--check")) {
            o->check = 1;
            continue;
        }
        if (!v) {
            usage(argv[0]);
            return -1;
        }
        i++;
        if (!strcmp(a, "--pattern"))
            bad = (o->n_patterns = parse_names(pattern_names, TB_NPATTERNS, v, o->patterns)) <= 0;
        else if (!strcmp(a, "--kernel"))
            bad = (o->n_kernels = parse_names(kernel_names, TB_NKERNELS, v, o->kernels)) <= 0;
        else if (!strcmp(a, "--k"))
            bad = (o->n_ks = parse_ks(v, o->ks)) <= 0;
        else if (!strcmp(a, "--width"))
            bad = (o->width = atol(v)) < 1 || o->width > TB_MAX_WIDTH;
        else if (!strcmp(a, "--steps"))
            bad = (o->steps = atol(v)) < 1;
        else if (!strcmp(a, "--steps-min"))
            bad = (o->steps_min = atol(v)) < 1;
        else if (!strcmp(a, "--steps-max"))
            bad = (o->steps_max = atol(v)) < 1;
        else if (!strcmp(a, "--radix"))
            bad = (o->radix = atol(v)) < 1;
        else if (!strcmp(a, "--period"))
            bad = (o->period = atol(v)) < 1;
        else if (!strcmp(a, "--reps"))
            bad = (o->reps = atoi(v)) < 1 || o->reps > 64;
        else if (!strcmp(a, "--cores"))
            bad = (o->cores = atoi(v)) < 1;
        else if (!strcmp(a, "--unit-ns"))
            bad = (o->unit_ns = atof(v)) <= 0;
        else if (!strcmp(a, "--target-ms"))
            bad = (o->target_ms = atof(v)) <= 0;
        else if (!strcmp(a, "--stop-below"))
            bad = (o->stop_below = atof(v)) <= 0;
        else
            bad = 1;
        if (bad) {
            fprintf(stderr, "%s: bad option or value: %s %s\n", argv[0], a, v);
            usage(argv[0]);
            return -1;
        }
    }
    if ((o->target_ms > 0 || o->stop_below > 0) && !(o->unit_ns > 0)) {
        fprintf(stderr, "%s: --target-ms and --stop-below need --unit-ns\n", argv[0]);
        return -1;
    }
    return 0;
}

static tb_graph make_graph(const opts_t *o, int pattern, int kernel, long k)
{
    tb_graph g = {.pattern = pattern, .kernel = kernel, .width = o->width, .iters = k,
                  .period = o->period, .steps = o->steps, .nsets = 1};
    g.radix = o->radix > 0 ? o->radix : pattern == TB_NEAREST ? 5 : 3;
    while ((1L << g.nsets) < g.width)
        g.nsets++;
    if (o->target_ms > 0 && kernel != TB_EMPTY) {
        double per_step = (double)o->width * (double)(k > 0 ? k : 1) * o->unit_ns / o->cores;
        double s = o->target_ms * 1e6 / per_step;
        g.steps = s < (double)o->steps_min ? o->steps_min
                : s > (double)o->steps_max ? o->steps_max : (long)s + 1;
    }
    g.depth = pattern == TB_TRIVIAL ? g.steps : 2;
    return g;
}

/* one untimed run, then o->reps timed ones; returns 0 if the sweep goes on */
static int measure(const tb_system *sys, const opts_t *o, const tb_graph *g, int warm)
{
    int rank = sys->rank(), nranks = sys->nranks();
    long tasks = tb_num_tasks(g);
    uint64_t ref[2] = {0, 0}, first = 0;
    int64_t times[64], med;
    char runs[64 * 24] = "";
    double work = tb_work(g), eff = 0;

    if (o->check)
        reference(g, ref);
    for (int r = warm ? -1 : 0; r < o->reps; r++) {
        void *state = sys->prepare(g);
        uint64_t st[2];
        int64_t t0;
        if (sys->barrier)
            sys->barrier();
        tb_counters_reset();
        t0 = now_ns();
        sys->run(g, state);
        if (sys->barrier)
            sys->barrier();
        if (r >= 0)
            times[r] = now_ns() - t0;
        if (sys->collect) {
            sys->collect(state, st);
        } else {
            tb_counters_collect(st);
            if (sys->allreduce)
                sys->allreduce(st);
        }
        sys->release(g, state);
        if (st[1] != (uint64_t)tasks)
            die("%s %s K=%ld: %llu tasks ran, expected %ld", pattern_names[g->pattern],
                kernel_names[g->kernel], g->iters, (unsigned long long)st[1], tasks);
        if (o->check && st[0] != ref[0])
            die("%s %s K=%ld: checksum %016llx differs from the sequential reference %016llx",
                pattern_names[g->pattern], kernel_names[g->kernel], g->iters,
                (unsigned long long)st[0], (unsigned long long)ref[0]);
        if (r > (warm ? -1 : 0) && st[0] != first)
            die("%s %s K=%ld: checksum %016llx differs from the first run's %016llx",
                pattern_names[g->pattern], kernel_names[g->kernel], g->iters,
                (unsigned long long)st[0], (unsigned long long)first);
        first = st[0];
    }
    for (int r = 0; r < o->reps; r++)
        snprintf(runs + strlen(runs), sizeof runs - strlen(runs), "%s%lld", r ? "," : "",
                 (long long)times[r]);
    med = median(times, o->reps);
    if (rank == 0) {
        int cores = o->cores ? o->cores : nranks * sys->workers();
        printf("taskbench system=%s pattern=%s kernel=%s width=%ld steps=%ld K=%ld tasks=%ld "
               "work=%.0f ranks=%d workers=%d cores=%d ns=%lld runs=%s checksum=%016llx",
               sys->name, pattern_names[g->pattern], kernel_names[g->kernel], g->width,
               g->steps, g->iters, tasks, work, nranks, sys->workers(), cores, (long long)med,
               runs, (unsigned long long)first);
        if (o->unit_ns > 0) {
            eff = work * o->unit_ns / ((double)med * cores);
            printf(" eff=%.4f", eff);
        }
        printf(" gran_ns=%.1f\n", (double)med * cores / (double)tasks);
        fflush(stdout);
    }
    /* every rank takes the same decision: broadcast rank 0's efficiency */
    if (o->stop_below > 0 && sys->allreduce) {
        uint64_t v[2] = {rank == 0 && eff < o->stop_below, 0};
        sys->allreduce(v);
        return v[0] != 0;
    }
    return o->stop_below > 0 && eff < o->stop_below;
}

int tb_main(int argc, char **argv, const tb_system *sys)
{
    opts_t o;
    if (sys->init(&argc, &argv))
        return 2;
    if (parse(argc, argv, &o)) {
        sys->fini();
        return 2;
    }
    if (!o.cores)
        o.cores = sys->nranks() * sys->workers();
    for (int ki = 0; ki < o.n_kernels; ki++) {
        for (int pi = 0; pi < o.n_patterns; pi++) {
            /* the empty kernel ignores K: one size */
            int nk = o.kernels[ki] == TB_EMPTY ? 1 : o.n_ks;
            for (int i = 0; i < nk; i++) {
                tb_graph g = make_graph(&o, o.patterns[pi], o.kernels[ki],
                                        o.kernels[ki] == TB_EMPTY ? 0 : o.ks[i]);
                if (measure(sys, &o, &g, i == 0))
                    break;
            }
        }
    }
    sys->fini();
    return 0;
}
