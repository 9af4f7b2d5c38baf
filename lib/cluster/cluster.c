/* cluster.c - the cluster layer as a plug-in of the core: its settings,
 * joining the MPI job, start and stop, statistics, and the hook table
 * (core/hooks.h) through which the core calls it. */
#include <stdio.h>
#include <string.h>
#include "base/env.h"
#include "cluster/cluster.h"
#include "cluster/internal.h"
#include "core/hooks.h"
#include "deps/deps.h"

dt__cl_state dt__cl;

/* Was this process started by an MPI launcher (MPICH's hydra, Open MPI,
 * Slurm/PMIx)?  A plain run is one rank and needs no MPI at all. */
static bool launched_by_mpi(void)
{
    static const char *const vars[] = { "PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK",
                                        "MPI_LOCALNRANKS", NULL };
    for (int i = 0; vars[i]; i++)
        if (getenv(vars[i])) return true;
    return false;
}

static int cluster_init(int *argc, char ***argv, int *local_rank, int *local_size)
{
    int inited, provided;
    MPI_Initialized(&inited);
    dt__cl.use_mpi = inited || launched_by_mpi();
    if (!dt__cl.use_mpi) {
        dt__cl.rank = 0;
        dt__cl.nranks = 1;
        dt__rt.rank = dt__rt.app_rank = 0;
        dt__rt.nranks = dt__rt.app_nranks = 1;
        if (dt__cl.helpers)
            fprintf(stderr, "dtask: dt_init: DT_HELPERS=%d in a process started without an MPI launcher\n",
                    dt__cl.helpers);
        return dt__cl.helpers ? DT_ECONFIG : DT_OK;
    }
    if (!inited) {
        if (MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS) return DT_ESYS;
        dt__cl.mpi_owned = true;
    } else {
        MPI_Query_thread(&provided);
    }
    if (provided < MPI_THREAD_SERIALIZED) return DT_ESYS;
    MPI_Comm_dup(MPI_COMM_WORLD, &dt__cl.comm);
    MPI_Comm_rank(dt__cl.comm, &dt__cl.rank);
    MPI_Comm_size(dt__cl.comm, &dt__cl.nranks);
    if (dt__cl.nranks > DT__MAX_RANKS) return DT_ELIMIT;
    int r = dt__cluster_check_launcher(dt__cl.nranks);
    if (r) return r;
    dt__rt.app_rank = dt__cl.rank;
    dt__rt.app_nranks = dt__cl.nranks;
    if ((r = dt__cl_helpers_join())) return r;
    MPI_Comm node;
    MPI_Comm_split_type(dt__cl.comm, MPI_COMM_TYPE_SHARED, dt__cl.rank, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, local_rank);
    MPI_Comm_size(node, local_size);
    MPI_Comm_free(&node);
    dt__rt.rank = dt__cl.rank;
    dt__rt.nranks = dt__cl.nranks;
    /* offload is dt_main's cluster mode: a program that calls dt_init itself
       runs on every rank, each rank a runtime of its own */
    dt__cl.active = dt__cl.nranks > 1 && (dt__rt.cluster_mode || dt__cl.helpers);
    /* before the workers start: they read the table without locks */
    if (dt__cl.helpers) dt__cl_helpers_fill_hooks(&dt__hooks);
    else if (dt__cl.active) dt__cl_fill_hooks(&dt__hooks);
    /* DT_LEND: in any job of several ranks, SPMD programs included */
    if (dt__cl.lend && dt__cl.nranks > 1) dt__cl_lend_fill_hooks(&dt__hooks);
    return DT_OK;
}

/* The settings, read before anything starts (the workers read them without
 * locks).  DT_SCHEDULE's names are in the order of DT__SCHED_*. */
static int configure(void)
{
    static const char *const scheds[] = { "locality", "balance", "round-robin", "local", NULL };
    static const char *const progress[] = { "thread", "workers", NULL };
    static const char *const nested[] = { "local", "spread", NULL };
    int r, sched = 0, agg = 1, prog = 0, stats = 0, ns = 1, eager = 1, bell = 1, nest = 1, steal = 0, cma = 1;
    if ((r = dt__env_choice("DT_SCHEDULE", scheds, &sched)) < 0 || (r = dt__env_bool("DT_AGGREGATE", &agg)) < 0 ||
        (r = dt__env_choice("DT_PROGRESS", progress, &prog)) < 0 || (r = dt__env_bool("DT_STATS", &stats)) < 0 ||
        (r = dt__env_bool("DT_NAMESPACE", &ns)) < 0 || (r = dt__env_bool("DT_EAGER", &eager)) < 0 ||
        (r = dt__env_bool("DT_DOORBELL", &bell)) < 0 || (r = dt__env_choice("DT_NESTED", nested, &nest)) < 0 ||
        (r = dt__env_bool("DT_STEAL", &steal)) < 0 || (r = dt__env_bool("DT_CMA", &cma)) < 0)
        return r;
    long min_us = 200, steal_us = 200;
    if ((r = dt__env_long("DT_NESTED_MIN_US", 0, 1000000, &min_us)) < 0 ||
        (r = dt__env_long("DT_STEAL_MIN_US", 0, 1000000, &steal_us)) < 0)
        return r;
    if ((r = dt__cl_helpers_configure()) < 0 || (r = dt__cl_lend_configure()) < 0) return r;
    dt__cl.nested_spread = nest == 1;
    dt__cl.steal = steal == 1;
    dt__cl.steal_min_ns = (unsigned)steal_us * 1000u;
    dt__cl_steal_init();
    dt__cl.spread_min_ns = (unsigned)min_us * 1000u;
    dt__cl.load_win = MPI_WIN_NULL;
    dt__heap_init(&dt__cl.spread_pool);
    dt__cl.policy = sched;
    dt__cl.aggregate = agg == 1;
    dt__cl.progress_thread = prog == 0;
    dt__cl.stats = stats == 1;
    dt__cl.name_space = ns == 1;
    dt__cl.eager_send = eager == 1;
    dt__cl.ring_peers = bell == 1 && dt__cl.progress_thread;
    dt__cl.cma = cma == 1;
    dt__cl.ack_comm = MPI_COMM_NULL;
    dt__cl.hole_version = DT__ROOT_WROTE;
    dt__cl.mine = &dt__cl.own;
    dt__cl.bell_win = MPI_WIN_NULL;
    pthread_mutex_init(&dt__cl.poll_lock, NULL);
    pthread_mutex_init(&dt__cl.chan_lock, NULL);
    pthread_mutex_init(&dt__cl.lock, NULL);
    pthread_mutex_init(&dt__cl.out_lock, NULL);
    dt__heap_init(&dt__cl.pool);
    memset(&dt__cl.remote_root, 0, sizeof dt__cl.remote_root);
    atomic_init(&dt__cl.remote_root.refs, 1);
    dt__cl.remote_root.flags = DT__TF_ROOT;
    dt__cl.remote_root.label = "offloaded";
    return DT_OK;
}

static int cluster_start(void)
{
    if (!dt__cl.active) {
        /* an SPMD program: only its cores are shared (DT_LEND, every rank) */
        if (dt__cl.use_mpi && dt__cl.nranks > 1 && dt__cl_all(dt__cl.lend)) dt__cl_open_node(false, true, false);
        return DT_OK;
    }
    /* worker counts, and whether every rank wants doorbells, lending and
       cma.c (opening them is collective: settings that differ between ranks
       must not hang) */
    enum { N = 5 };
    int mine[N] = { dt__rt.nworkers, dt__cl.ring_peers, dt__cl.nested_spread, dt__cl.lend, dt__cl.cma },
        all[N * DT__MAX_RANKS];
    MPI_Request req;
    MPI_Iallgather(mine, N, MPI_INT, all, N, MPI_INT, dt__cl.comm, &req);
    dt__cl_wait_napping(&req);
    bool bells = true, spread = true, lend = true, cma = true;
    for (int r = 0; r < dt__cl.nranks; r++) {
        dt__cl.workers[r] = all[N * r];
        bells = bells && all[N * r + 1];
        spread = spread && all[N * r + 2];
        lend = lend && all[N * r + 3];
        cma = cma && all[N * r + 4];
    }
    if (cma) {
        MPI_Comm_idup(dt__cl.comm, &dt__cl.ack_comm, &req);
        dt__cl_wait_napping(&req);
    }
    if (bells || lend || cma) dt__cl_open_node(bells, lend, cma);
    /* helpers: the load words say when to send root tasks away */
    dt__cl.spread_nested = spread;
    if (spread || dt__cl.helpers) dt__cl_open_loads();
    dt__cl_steal_start();
    if (!dt__cl.progress_thread) return DT_OK;
    if (pthread_create(&dt__cl.thread, NULL, dt__cl_progress_main, NULL)) return DT_ESYS;
    return DT_OK;
}

/* The serving ranks' main threads serve offloaded tasks until rank 0 (or
 * every application rank, DT_HELPERS) is done. */
static bool served(void *arg)
{
    (void)arg;
    return atomic_load(&dt__cl.shutdown) >= dt__cl.napps && dt__task_children_done(&dt__cl.remote_root);
}

static void cluster_stop(void)
{
    if (dt__cl.active) {
        if (!dt__cl_serves(dt__cl.rank)) {
            for (int r = 0; r < dt__cl.nranks; r++) {
                if (!dt__cl_serves(r)) continue;
                size_t len;
                void *msg_ = dt__msg_shutdown(&len);
                dt__cl_post_ctrl(r, msg_, len);
            }
        } else {
            atomic_store(&dt__cl.remote_root.waiting, 1);
            dt__sched_wait(served, NULL, NULL);
        }
        dt__cl_steal_drain();
        if (dt__cl.progress_thread) {
            pthread_mutex_lock(&dt__cl.poll_lock);      /* no worker polls once it is set */
            atomic_store(&dt__cl.stop, 1);
            pthread_mutex_unlock(&dt__cl.poll_lock);
            dt__cl_wake_progress();
            pthread_join(dt__cl.thread, NULL);
        } else {
            /* let the last sends finish */
            pthread_mutex_lock(&dt__cl.poll_lock);
            while (!dt__cl_outbox_empty() || dt__cl.nfl) dt__cl_progress_once();
            atomic_store(&dt__cl.stop, 1);
            pthread_mutex_unlock(&dt__cl.poll_lock);
        }
        if (dt__cl.stats)
            fprintf(stderr, "dtask stats: rank %d: offloaded %llu (placed early %llu, nested %llu), ran here %llu "
                    "(received from other ranks %llu), "
                    "control messages %llu in %llu MPI messages, fetches %llu (%llu bytes), pieces not "
                    "fetched because already held in their latest version %llu, progress thread CPU time %.1f ms, "
                    "regions sent unasked with their task %llu, doorbells rung %llu, nested tasks spread %llu "
                    "(load left %d), regions read from a rank of this node by CMA %llu (ranks it may read %d)\n",
                    dt__cl.rank,
                    (unsigned long long)dt__cl.n_offloaded, (unsigned long long)dt__cl.n_early, (unsigned long long)dt__cl.n_pushed,
                    (unsigned long long)dt__rt.n_ran, (unsigned long long)dt__cl.n_ran_here, (unsigned long long)dt__cl.n_ctrl,
                    (unsigned long long)dt__cl.n_mpi_ctrl, (unsigned long long)dt__cl.n_fetch,
                    (unsigned long long)dt__cl.n_fetch_bytes, (unsigned long long)dt__cl.n_fetch_skipped,
                    dt__cl.progress_cpu_ms, (unsigned long long)dt__cl.n_eager, (unsigned long long)dt__cl.n_rings,
                    (unsigned long long)dt__cl.n_spread, dt__cl_load_left(), (unsigned long long)dt__cl.n_cma, dt__cl_cma_peers());
        if (dt__cl.stats && dt__cl.rank == 0)
            fprintf(stderr, "dtask stats: rank 0: taskiter data moved before first iterations %llu bytes\n",
                    (unsigned long long)dt__cl.n_iter_moved);
        if (dt__cl.stats && dt__cl.steal) dt__cl_steal_stats();
        dt__deps_domain_free(dt__cl.remote_root.dom);
        dt__cl.remote_root.dom = NULL;
        free(dt__cl.fl);
        dt__cl.fl = NULL;
        dt__cl.nfl = dt__cl.capfl = 0;
        memset(dt__cl.nfl_wait, 0, sizeof dt__cl.nfl_wait);
        dt__cl_lend_close();
        MPI_Request req;
        MPI_Ibarrier(dt__cl.comm, &req);
        dt__cl_wait_napping(&req);
        /* after the barrier: until every progress thread stopped, some rank may ring */
        if (dt__cl.bell_win != MPI_WIN_NULL) MPI_Win_free(&dt__cl.bell_win);
        if (dt__cl.ack_comm != MPI_COMM_NULL) MPI_Comm_free(&dt__cl.ack_comm);
        dt__cl_close_loads();
        memset(dt__cl.bell, 0, sizeof dt__cl.bell);
        dt__cl.mine = &dt__cl.own;
    } else if (dt__cl.use_mpi && dt__cl.nranks > 1) {
        dt__cl_lend_close();
    }
    if (!dt__cl.active && dt__cl.bell_win != MPI_WIN_NULL) {
        /* DT_LEND in an SPMD program: lent until every rank is done */
        MPI_Request req;
        MPI_Ibarrier(dt__cl.comm, &req);
        dt__cl_wait_napping(&req);
        MPI_Win_free(&dt__cl.bell_win);
    }
    dt__cl_tree_free(&dt__cl.dir);
    dt__cl_tree_free(&dt__cl.cache);
    dt__cl_stage_free_all();
    dt__heap_free(&dt__cl.pool);
    dt__heap_free(&dt__cl.spread_pool);
    dt__cl_steal_fini();
    if (dt__cl.use_mpi) {
        if (dt__cl.app_comm != MPI_COMM_NULL) MPI_Comm_free(&dt__cl.app_comm);
        MPI_Comm_free(&dt__cl.comm);
        if (dt__cl.mpi_owned) MPI_Finalize();
    }
    /* dt__cl.active stays as it is: threads may still read it, and the
       runtime cannot be initialised again after dt_finalize */
}

static void cluster_fini(void) { dt__cl_free_labels(); }

static void abort_job(void)
{
    if (dt__cl.use_mpi) MPI_Abort(dt__cl.comm, 1);
}

void dt__cluster_plug(dt__plugin *p)
{
    *p = (dt__plugin){ .configure = configure, .init = cluster_init, .start = cluster_start,
                       .stop = cluster_stop, .fini = cluster_fini, .bcast_u64 = dt__cl_bcast_u64,
                       .all = dt__cl_all, .abort_job = abort_job };
}
