/* runtime.c - dt_init / dt_finalize, configuration from the environment,
 * the worker placement with hwloc, error strings and reports, the type
 * table, and the DT_TRACE timeline. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <hwloc.h>
#include "cluster/cluster.h"
#include "deps/deps.h"
#include "mem/mem.h"
#include "core/runtime.h"
#include "sched/sched.h"

#define DT_EXPORT __attribute__((visibility("default")))

dt__runtime dt__rt;
dt__type dt__types[DT_MAX_TYPES];
atomic_int dt__ntypes;
static pthread_mutex_t types_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static hwloc_topology_t topo;
static hwloc_cpuset_t *cpusets;
static char *trace_path;

/* ---- errors -------------------------------------------------------------- */

DT_EXPORT const char *dt_strerror(int err)
{
    switch (err) {
    case DT_OK: return "success";
    case DT_EINVAL: return "invalid argument";
    case DT_ENOMEM: return "out of memory";
    case DT_ENOTINIT: return "libdtask is not initialised (call dt_init first)";
    case DT_EFINALIZED: return "libdtask has been finalised";
    case DT_ETYPE: return "unknown task type";
    case DT_EMODE: return "unknown access mode bits";
    case DT_EFAULT: return "NULL pointer with a non-zero size or count";
    case DT_EOVERFLOW: return "region wraps around the end of the address space";
    case DT_ERANGE: return "outside the common address space or no such rank";
    case DT_EEXIST: return "type name already registered with another function";
    case DT_EALREADY: return "libdtask is already initialised";
    case DT_ECONFIG: return "bad value in a DT_* environment variable";
    case DT_ESYS: return "system call, hwloc or MPI failure";
    case DT_ELIMIT: return "a fixed limit was reached";
    case DT_EREDUCTION: return "invalid reduction access";
    default: return "unknown error";
    }
}

static bool verbose(void)
{
    if (atomic_load(&dt__rt.state) == DT_STATE_RUNNING) return dt__rt.verbose;
    const char *v = getenv("DT_VERBOSE");
    return v && strcmp(v, "1") == 0;
}

int dt__error(int err, const char *call, const char *label, const char *fmt, ...)
{
    if (!verbose()) return err;
    char detail[256] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(detail, sizeof detail, fmt, ap);
        va_end(ap);
    }
    fprintf(stderr, "dtask: %s: %s%s%s (task '%s', rank %d)\n", call, dt_strerror(err),
            *detail ? ": " : "", detail, label ? label : "-", dt__rt.rank);
    return err;
}

_Noreturn void dt__fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "dtask: fatal (rank %d): ", dt__rt.rank);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

void *dt__xmalloc(size_t size)
{
    void *p = malloc(size);
    if (!p) dt__fatal("out of memory (%zu bytes)", size);
    return p;
}

int dt__check_running(const char *call)
{
    int s = atomic_load_explicit(&dt__rt.state, memory_order_acquire);
    if (DT_LIKELY(s == DT_STATE_RUNNING)) return DT_OK;
    return dt__error(s == DT_STATE_NEW ? DT_ENOTINIT : DT_EFINALIZED, call, NULL, NULL);
}

/* ---- types --------------------------------------------------------------- */

DT_EXPORT int dt_type_register(const char *name, dt_task_fn fn, dt_type_t *out)
{
    if (!name || !fn || !out) return dt__error(DT_EINVAL, "dt_type_register", NULL, "NULL %s",
                                               !name ? "name" : !fn ? "function" : "out");
    size_t len = strlen(name);
    if (len == 0 || len >= DT_TYPE_NAME_MAX)
        return dt__error(DT_EINVAL, "dt_type_register", name, "name must be 1..%d bytes",
                         DT_TYPE_NAME_MAX - 1);
    pthread_mutex_lock(&types_lock);
    int n = atomic_load(&dt__ntypes);
    for (int i = 0; i < n; i++) {
        if (strcmp(dt__types[i].name, name) == 0) {
            pthread_mutex_unlock(&types_lock);
            if (dt__types[i].fn != fn)
                return dt__error(DT_EEXIST, "dt_type_register", name, NULL);
            *out = i;
            return DT_OK;
        }
    }
    if (n == DT_MAX_TYPES) {
        pthread_mutex_unlock(&types_lock);
        return dt__error(DT_ELIMIT, "dt_type_register", name, "at most %d types", DT_MAX_TYPES);
    }
    memcpy(dt__types[n].name, name, len + 1);
    dt__types[n].fn = fn;
    atomic_store_explicit(&dt__ntypes, n + 1, memory_order_release);
    pthread_mutex_unlock(&types_lock);
    *out = n;
    return DT_OK;
}

/* ---- configuration ------------------------------------------------------- */

static int config_error(const char *var, const char *val, const char *want)
{
    /* always said: a silently ignored setting is worse than a noisy start */
    fprintf(stderr, "dtask: dt_init: bad %s='%s' (expected %s)\n", var, val, want);
    return DT_ECONFIG;
}

static int env_long(const char *var, long lo, long hi, long *out)
{
    const char *v = getenv(var);
    if (!v) return 0;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi) {
        char want[64];
        snprintf(want, sizeof want, "an integer in %ld..%ld", lo, hi);
        return config_error(var, v, want);
    }
    *out = x;
    return 1;
}

static int env_size(const char *var, size_t *out)
{
    const char *v = getenv(var);
    if (!v) return 0;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    unsigned shift = 0;
    if (*end == 'K' || *end == 'k') shift = 10, end++;
    else if (*end == 'M' || *end == 'm') shift = 20, end++;
    else if (*end == 'G' || *end == 'g') shift = 30, end++;
    if (errno || end == v || *end || v[0] == '-' || x == 0 || x > (1ull << 46) >> shift)
        return config_error(var, v, "a size in bytes, 1 to 64T, with an optional K, M or G suffix");
    *out = (size_t)(x << shift);
    return 1;
}

static int env_choice(const char *var, const char *const *choices, int *out)
{
    const char *v = getenv(var);
    if (!v) return 0;
    char want[128] = "";
    for (int i = 0; choices[i]; i++) {
        if (strcmp(v, choices[i]) == 0) { *out = i; return 1; }
        strcat(want, i ? "|" : "");
        strcat(want, choices[i]);
    }
    return config_error(var, v, want);
}

static int read_config(long *nworkers)
{
    static const char *const binds[] = { "cores", "none", NULL };
    /* in the order of cluster.h's DT__SCHED_* */
    static const char *const scheds[] = { "locality", "balance", "round-robin", "local", NULL };
    static const char *const bools[] = { "0", "1", NULL };
    static const char *const progress[] = { "thread", "workers", NULL };
    int r, bind = 0, sched = 0, verb = 0, agg = 1, prog = 0, stats = 0, ns = 1, eager = 1, bell = 1;
    if ((r = env_long("DT_NUM_WORKERS", 1, 1024, nworkers)) < 0) return r;
    if ((r = env_choice("DT_BIND", binds, &bind)) < 0) return r;
    if ((r = env_choice("DT_SCHEDULE", scheds, &sched)) < 0) return r;
    if ((r = env_choice("DT_VERBOSE", bools, &verb)) < 0) return r;
    if ((r = env_choice("DT_AGGREGATE", bools, &agg)) < 0) return r;
    if ((r = env_choice("DT_PROGRESS", progress, &prog)) < 0) return r;
    if ((r = env_choice("DT_STATS", bools, &stats)) < 0) return r;
    if ((r = env_choice("DT_NAMESPACE", bools, &ns)) < 0) return r;
    if ((r = env_choice("DT_EAGER", bools, &eager)) < 0) return r;
    if ((r = env_choice("DT_DOORBELL", bools, &bell)) < 0) return r;
    dt__rt.eager = eager == 1;
    dt__rt.doorbell = bell == 1;
    dt__rt.name_space = ns == 1;
    dt__rt.aggregate = agg == 1;
    dt__rt.progress_thread = prog == 0;
    dt__rt.stats = stats == 1;
    dt__rt.dmem_size = 1ull << 30;
    dt__rt.lmem_size = 256ull << 20;
    if ((r = env_size("DT_DMEM_SIZE", &dt__rt.dmem_size)) < 0) return r;
    if ((r = env_size("DT_LMEM_SIZE", &dt__rt.lmem_size)) < 0) return r;
    dt__rt.bind = bind == 0;
    dt__rt.verbose = verb == 1;
    dt__rt.policy = sched;
    return DT_OK;
}

/* DT_TRACE, once the rank is known: with several ranks each writes PATH.RANK. */
static int open_trace(void)
{
    const char *tp = getenv("DT_TRACE");
    if (!tp) return DT_OK;
    trace_path = malloc(strlen(tp) + 16);
    if (!trace_path) return DT_ENOMEM;
    if (dt__rt.nranks > 1) sprintf(trace_path, "%s.%d", tp, dt__rt.rank);
    else strcpy(trace_path, tp);
    FILE *f = *tp ? fopen(trace_path, "w") : NULL;
    if (!f) return config_error("DT_TRACE", tp, "a writable file path");
    fclose(f);
    dt__rt.trace = true;
    return DT_OK;
}

/* One cpuset per worker: the ranks sharing a node split its cores, worker i
 * of local rank l on core l*n+i (wrapping when there are more workers than
 * cores), each narrowed to a single PU. */
static int place_workers(long *nworkers, int local_rank, int local_size)
{
    if (hwloc_topology_init(&topo) || hwloc_topology_load(topo)) return DT_ESYS;
    hwloc_cpuset_t allowed = hwloc_bitmap_alloc();
    if (hwloc_get_cpubind(topo, allowed, HWLOC_CPUBIND_PROCESS))
        hwloc_bitmap_copy(allowed, hwloc_topology_get_allowed_cpuset(topo));
    hwloc_obj_type_t unit = HWLOC_OBJ_CORE;
    int ncores = hwloc_get_nbobjs_inside_cpuset_by_type(topo, allowed, unit);
    if (ncores <= 0) {
        unit = HWLOC_OBJ_PU;
        ncores = hwloc_get_nbobjs_inside_cpuset_by_type(topo, allowed, unit);
    }
    if (ncores <= 0) ncores = 1;
    if (*nworkers == 0) *nworkers = ncores / local_size > 0 ? ncores / local_size : 1;
    long first = (long)local_rank * *nworkers;
    if (dt__rt.bind) {
        cpusets = dt__xmalloc(sizeof *cpusets * (size_t)*nworkers);
        for (long i = 0; i < *nworkers; i++) {
            hwloc_obj_t o = hwloc_get_obj_inside_cpuset_by_type(topo, allowed, unit, (unsigned)((first + i) % ncores));
            cpusets[i] = o ? hwloc_bitmap_dup(o->cpuset) : hwloc_bitmap_dup(allowed);
            hwloc_bitmap_singlify(cpusets[i]);
        }
    }
    hwloc_bitmap_free(allowed);
    return DT_OK;
}

static void free_placement(void)
{
    if (cpusets) {
        for (int i = 0; i < dt__rt.nworkers; i++) hwloc_bitmap_free(cpusets[i]);
        free(cpusets);
        cpusets = NULL;
    }
    hwloc_topology_destroy(topo);
}

DT_EXPORT int dt_init(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    pthread_mutex_lock(&init_lock);
    int s = atomic_load(&dt__rt.state), r;
    if (s != DT_STATE_NEW) {
        pthread_mutex_unlock(&init_lock);
        return dt__error(s == DT_STATE_RUNNING ? DT_EALREADY : DT_EFINALIZED, "dt_init", NULL, NULL);
    }
    long nworkers = 0;
    int local_rank = 0, local_size = 1;
    if ((r = read_config(&nworkers)) < 0 || (r = dt__cluster_init(argc, argv, &local_rank, &local_size)) < 0 ||
        (r = open_trace()) < 0 || (r = place_workers(&nworkers, local_rank, local_size)) < 0)
        goto fail;
    dt__rt.nworkers = (int)nworkers;
    dt__rt.t0 = dt__now_ns();
    if ((r = dt__mem_init(dt__rt.dmem_size, dt__rt.lmem_size, dt__rt.rank, dt__rt.nranks)) < 0) {
        free_placement();
        goto fail;
    }
    memset(&dt__root, 0, sizeof dt__root);
    atomic_init(&dt__root.refs, 1);
    dt__root.flags = DT_TF_ROOT;
    dt__root.label = "main";
    dt__cluster_configure();
    if ((r = dt__sched_start(dt__rt.nworkers, topo, cpusets)) < 0 || (r = dt__cluster_start()) < 0) {
        dt__mem_fini();
        free_placement();
        goto fail;
    }
    atomic_store_explicit(&dt__rt.state, DT_STATE_RUNNING, memory_order_release);
    pthread_mutex_unlock(&init_lock);
    return DT_OK;
fail:
    free(trace_path);
    trace_path = NULL;
    dt__rt.trace = false;
    pthread_mutex_unlock(&init_lock);
    return dt__error(r, "dt_init", NULL, NULL);
}

static void trace_write(void);

DT_EXPORT int dt_finalize(void)
{
    int r = dt__check_running("dt_finalize");
    if (r) return r;
    if (dt__current() != &dt__root)
        return dt__error(DT_EINVAL, "dt_finalize", dt__current()->label, "called from inside a task");
    dt_taskwait();
    pthread_mutex_lock(&init_lock);
    dt__cluster_finalize();
    dt__sched_stop();
    dt__deps_domain_free(dt__root.dom);
    dt__root.dom = NULL;
    dt__task_thread_exit();
    dt__task_pool_fini();
    trace_write();
    dt__cluster_free_labels();
    dt__mem_fini();
    free_placement();
    atomic_store(&dt__rt.state, DT_STATE_FINALIZED);
    pthread_mutex_unlock(&init_lock);
    return DT_OK;
}

DT_EXPORT int dt_main(int argc, char **argv, int (*app)(int, char **))
{
    if (!app) return dt__error(DT_EINVAL, "dt_main", NULL, "NULL app");
    if (atomic_load(&dt__rt.state) == DT_STATE_NEW) dt__rt.cluster_mode = true;
    int r = dt_init(&argc, &argv);
    if (r) return r;
    /* rank 0 runs the program; the others serve offloaded tasks until
       rank 0 finalises (dt_finalize waits for that) */
    int result = dt__rt.rank == 0 || !dt__rt.cluster_mode ? app(argc, argv) : 0;
    r = dt_finalize();
    return r ? r : result;
}

DT_EXPORT int dt_rank(void)
{
    int r = dt__check_running("dt_rank");
    return r ? r : dt__rt.rank;
}

DT_EXPORT int dt_num_ranks(void)
{
    int r = dt__check_running("dt_num_ranks");
    return r ? r : dt__rt.nranks;
}

DT_EXPORT int dt_num_workers(void)
{
    int r = dt__check_running("dt_num_workers");
    return r ? r : dt__rt.nworkers;
}

/* ---- trace --------------------------------------------------------------- */

typedef struct trace_rec { uint64_t start, end; const char *label; int type, worker; } trace_rec;
static _Thread_local trace_rec *tr_buf;
static _Thread_local size_t tr_n, tr_cap;
static pthread_mutex_t trace_lock = PTHREAD_MUTEX_INITIALIZER;
static trace_rec *tr_all;
static size_t tr_all_n;

void dt__trace_record(const dt__task *t)
{
    if (tr_n == tr_cap) {
        tr_cap = tr_cap ? tr_cap * 2 : 1024;
        tr_buf = realloc(tr_buf, tr_cap * sizeof *tr_buf);
        if (!tr_buf) dt__fatal("out of memory for the trace");
    }
    tr_buf[tr_n++] = (trace_rec){ t->t_start, t->t_end, t->label, t->type, dt__worker_id() };
}

void dt__trace_flush(void)
{
    if (!tr_n) return;
    pthread_mutex_lock(&trace_lock);
    trace_rec *all = realloc(tr_all, (tr_all_n + tr_n) * sizeof *all);
    if (!all) dt__fatal("out of memory for the trace");
    memcpy(all + tr_all_n, tr_buf, tr_n * sizeof *all);
    tr_all = all;
    tr_all_n += tr_n;
    pthread_mutex_unlock(&trace_lock);
    free(tr_buf);
    tr_buf = NULL;
    tr_n = tr_cap = 0;
}

static void trace_write(void)
{
    if (!dt__rt.trace) return;
    FILE *f = fopen(trace_path, "w");
    if (!f) {
        dt__error(DT_ESYS, "dt_finalize", NULL, "cannot write DT_TRACE=%s", trace_path);
    } else {
        fprintf(f, "worker,type,label,start_ns,end_ns\n");
        for (size_t i = 0; i < tr_all_n; i++) {
            const trace_rec *r = &tr_all[i];
            const char *type = r->type >= 0 ? dt__types[r->type].name : "internal";
            fprintf(f, "%d,%s,%s,%llu,%llu\n", r->worker, type, r->label ? r->label : "",
                    (unsigned long long)(r->start - dt__rt.t0), (unsigned long long)(r->end - dt__rt.t0));
        }
        fclose(f);
    }
    free(tr_all);
    tr_all = NULL;
    tr_all_n = 0;
    free(trace_path);
    trace_path = NULL;
}
