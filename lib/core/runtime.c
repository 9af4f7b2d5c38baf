/* runtime.c - dt_init / dt_finalize, configuration from the environment,
 * the worker placement with hwloc, error strings and reports, the type
 * table, and the DT_TRACE timeline. */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <hwloc.h>
#include "base/env.h"
#include "core/crash.h"
#include "core/hooks.h"
#include "core/runtime.h"
#include "deps/deps.h"
#include "instr/trace.h"
#include "mem/mem.h"
#include "sched/sched.h"

#define DT__EXPORT __attribute__((visibility("default")))

dt__runtime dt__rt;
dt__plugin dt__plug;
dt__hooks_t dt__hooks;
dt__type dt__types[DT__MAX_TYPES];
atomic_int dt__ntypes;
static pthread_mutex_t types_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static hwloc_topology_t topo;
static hwloc_cpuset_t *cpusets;

/* ---- errors -------------------------------------------------------------- */

DT__EXPORT const char *dt_strerror(int err)
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
    case DT_ECONFIG: return "bad value in a DT_* environment variable, or another MPI's launcher";
    case DT_ESYS: return "system call, hwloc or MPI failure";
    case DT_ELIMIT: return "a fixed limit was reached";
    case DT_EREDUCTION: return "invalid reduction access";
    case DT_ESIGNATURE: return "bad task signature, or args not laid out by it";
    case DT_ESYMBOL: return "symbol not found";
    case DT_ETASKITER: return "not allowed in a dt_taskiter body";
    default: return "unknown error";
    }
}

static bool verbose(void)
{
    if (atomic_load(&dt__rt.state) == DT__STATE_RUNNING) return dt__rt.verbose;
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
    fputs(dt__plug.abort_job ? " -- aborting the job\n" : "\n", stderr);
    va_end(ap);
    fflush(stderr);
    if (dt__plug.abort_job) dt__plug.abort_job();
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
    if (DT__LIKELY(s == DT__STATE_RUNNING)) return DT_OK;
    return dt__error(s == DT__STATE_NEW ? DT_ENOTINIT : DT_EFINALIZED, call, NULL, NULL);
}

/* ---- types --------------------------------------------------------------- */

int dt__type_register(const char *call, const char *name, dt_task_fn fn, long args_size,
                      dt_type_t *out)
{
    if (!name || !fn || !out) return dt__error(DT_EINVAL, call, NULL, "NULL %s",
                                               !name ? "name" : !fn ? "function" : "out");
    size_t len = strlen(name);
    if (len == 0 || len >= DT__TYPE_NAME_MAX)
        return dt__error(DT_EINVAL, call, name, "name must be 1..%d bytes",
                         DT__TYPE_NAME_MAX - 1);
    pthread_mutex_lock(&types_lock);
    int n = atomic_load(&dt__ntypes);
    for (int i = 0; i < n; i++) {
        if (strcmp(dt__types[i].name, name) == 0) {
            pthread_mutex_unlock(&types_lock);
            if (dt__types[i].fn != fn)
                return dt__error(DT_EEXIST, call, name, NULL);
            *out = i;
            return DT_OK;
        }
    }
    if (n == DT__MAX_TYPES) {
        pthread_mutex_unlock(&types_lock);
        return dt__error(DT_ELIMIT, call, name, "at most %d types", DT__MAX_TYPES);
    }
    memcpy(dt__types[n].name, name, len + 1);
    dt__types[n].fn = fn;
    dt__types[n].args_size = args_size;
    atomic_store_explicit(&dt__ntypes, n + 1, memory_order_release);
    pthread_mutex_unlock(&types_lock);
    *out = n;
    return DT_OK;
}

DT__EXPORT int dt_type_register(const char *name, dt_task_fn fn, dt_type_t *out)
{
    return dt__type_register("dt_type_register", name, fn, -1, out);
}

int dt__type_check_args(dt_type_t type, size_t args_size, const char *call, const char *label)
{
    long want = dt__types[type].args_size;
    if (DT__LIKELY(want < 0 || args_size == (size_t)want)) return DT_OK;
    return dt__error(DT_ESIGNATURE, call, label, "args of %zu bytes, type '%s' takes %ld",
                     args_size, dt__types[type].name, want);
}

/* ---- configuration ------------------------------------------------------- */

/* The core's own settings; each other module reads its own. */
static int read_config(long *nworkers)
{
    static const char *const binds[] = { "cores", "none", NULL };
    int r, bind = 0, verb = 0, stats = 0;
    if ((r = dt__env_long("DT_NUM_WORKERS", 1, 1024, nworkers)) < 0) return r;
    if ((r = dt__env_choice("DT_BIND", binds, &bind)) < 0) return r;
    if ((r = dt__env_bool("DT_VERBOSE", &verb)) < 0) return r;
    if ((r = dt__env_bool("DT_STATS", &stats)) < 0) return r;
    dt__rt.bind = bind == 0;
    dt__rt.verbose = verb == 1;
    dt__rt.stats = stats == 1;      /* the core counts task bodies; a plug-in prints */
    if ((r = dt__mem_configure()) < 0) return r;
    return dt__plug.configure ? dt__plug.configure() : DT_OK;
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

/* dt_init (lib/api/init.c) once the plug-ins are in dt__plug. */
int dt__runtime_init(int *argc, char ***argv)
{
    pthread_mutex_lock(&init_lock);
    int s = atomic_load(&dt__rt.state), r;
    if (s != DT__STATE_NEW) {
        pthread_mutex_unlock(&init_lock);
        return dt__error(s == DT__STATE_RUNNING ? DT_EALREADY : DT_EFINALIZED, "dt_init", NULL, NULL);
    }
    long nworkers = 0;
    int local_rank = 0, local_size = 1;
    if ((r = read_config(&nworkers)) < 0 || (dt__plug.init && (r = dt__plug.init(argc, argv, &local_rank, &local_size)) < 0) ||
        (r = dt__trace_open()) < 0 || (r = place_workers(&nworkers, local_rank, local_size)) < 0)
        goto fail;
    dt__rt.nworkers = (int)nworkers;
    dt__rt.t0 = dt__now_ns();
    if ((r = dt__mem_init(dt__rt.rank, dt__rt.nranks)) < 0) {
        free_placement();
        goto fail;
    }
    memset(&dt__root, 0, sizeof dt__root);
    atomic_init(&dt__root.refs, 1);
    dt__root.flags = DT__TF_ROOT;
    dt__root.label = "main";
    if ((r = dt__sched_start(dt__rt.nworkers, topo, cpusets)) < 0 || (dt__plug.start && (r = dt__plug.start()) < 0)) {
        dt__mem_fini();
        free_placement();
        goto fail;
    }
    dt__crash_install();
    atomic_store_explicit(&dt__rt.state, DT__STATE_RUNNING, memory_order_release);
    pthread_mutex_unlock(&init_lock);
    return DT_OK;
fail:
    dt__trace_close();
    pthread_mutex_unlock(&init_lock);
    return dt__error(r, "dt_init", NULL, NULL);
}

DT__EXPORT int dt_finalize(void)
{
    int r = dt__check_running("dt_finalize");
    if (r) return r;
    if (dt__current() != &dt__root)
        return dt__error(DT_EINVAL, "dt_finalize", dt__current()->label, "called from inside a task");
    dt_taskwait();
    pthread_mutex_lock(&init_lock);
    if (dt__plug.stop) dt__plug.stop();
    dt__sched_stop();
    dt__crash_uninstall();
    dt__deps_domain_free(dt__root.dom);
    dt__root.dom = NULL;
    dt__task_thread_exit();
    dt__trace_write();
    if (dt__plug.fini) dt__plug.fini();
    dt__mem_fini();
    free_placement();
    atomic_store(&dt__rt.state, DT__STATE_FINALIZED);
    pthread_mutex_unlock(&init_lock);
    return DT_OK;
}

DT__EXPORT int dt_main(int argc, char **argv, int (*app)(int, char **))
{
    if (!app) return dt__error(DT_EINVAL, "dt_main", NULL, "NULL app");
    if (atomic_load(&dt__rt.state) == DT__STATE_NEW) dt__rt.cluster_mode = true;
    int r = dt_init(&argc, &argv);
    if (r) return r;
    /* rank 0 runs the program; the others serve offloaded tasks until
       rank 0 finalises (dt_finalize waits for that) */
    int result = dt__rt.rank == 0 || !dt__rt.cluster_mode ? app(argc, argv) : 0;
    r = dt_finalize();
    return r ? r : result;
}

DT__EXPORT int dt_rank(void)
{
    int r = dt__check_running("dt_rank");
    return r ? r : dt__rt.app_rank;
}

DT__EXPORT int dt_num_ranks(void)
{
    int r = dt__check_running("dt_num_ranks");
    return r ? r : dt__rt.app_nranks;
}

DT__EXPORT int dt_num_workers(void)
{
    int r = dt__check_running("dt_num_workers");
    return r ? r : dt__rt.nworkers;
}
