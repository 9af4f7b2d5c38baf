/* helpers.c - helper ranks for SPMD programs (DT_HELPERS=k).
 *
 * An SPMD program (every rank calls dt_init and exchanges its own MPI
 * messages) is started on A*(k+1) ranks.  The layout is interleaved: ranks
 * g*(k+1) .. g*(k+1)+k form group g, whose first rank is application rank g
 * and whose k others are its helpers.  Launchers fill a node with
 * consecutive ranks, so a group shares its application rank's node when
 * each node runs a multiple of k+1 ranks (a group split across nodes still
 * works: a helper serves whoever sends it tasks).  A job whose size is not
 * a multiple of k+1, or whose ranks disagree on k, is refused with
 * DT_ECONFIG on every rank.
 *
 * A helper's dt_init never returns: it serves the tasks that application
 * ranks push to it until every application rank has called dt_finalize,
 * then finalises MPI and exits the process with status 0.  The program's
 * main therefore runs on a helper only up to dt_init (type registrations,
 * which must be the same on every rank).
 *
 * The program sees only the application ranks: dt_rank, dt_num_ranks and
 * node hints count application ranks, and dt_app_comm gives it their
 * communicator to use instead of MPI_COMM_WORLD.
 *
 * Which tasks leave: a root task of an application rank that DT_NESTED's
 * spread policy (spread.c) would send away, with the ranks it may go to
 * narrowed to helpers: its bytes lie in dt_lmalloc memory (each rank's
 * slice of the common address space has addresses of its own, so the tasks
 * of several application ranks never meet in a helper's memory;
 * dt_dmalloc memory is each rank's own at the same addresses, so its tasks
 * stay), it has no weak access and no node hint, its type's tasks ran for
 * DT_NESTED_MIN_US here, and this rank already has two tasks per worker
 * queued or running.  It then goes to the least loaded helper of the node
 * with room (whichever application rank it belongs to), else to a helper
 * of another node to which this rank has fewer tasks out than two per
 * worker (it cannot see what others sent there), else waits in a pool
 * until this rank or a helper has room.  It travels as a nested task
 * with a node hint does (offload.c, dt__cl_push): with the bytes it reads;
 * its writes come back before this rank releases it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/env.h"
#include "cluster/cluster.h"
#include "cluster/internal.h"

#define DT__EXPORT __attribute__((visibility("default")))

int dt__cl_helpers_configure(void)
{
    long k = 0;
    int r = dt__env_long("DT_HELPERS", 0, DT__MAX_RANKS - 1, &k);
    dt__cl.helpers = (int)k;
    dt__cl.app_comm = MPI_COMM_NULL;
    return r < 0 ? r : DT_OK;
}

bool dt__cl_serves(int r)
{
    if (dt__cl.helpers) return r % (dt__cl.helpers + 1) != 0;
    return dt__rt.cluster_mode && r != 0;
}

/* Said once (by rank 0), whatever DT_VERBOSE says: the job cannot run. */
static int refuse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int refuse(const char *fmt, ...)
{
    if (dt__cl.rank == 0) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "dtask: dt_init: DT_HELPERS=%d: ", dt__cl.helpers);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
    }
    return DT_ECONFIG;
}

/* Every rank reaches the same verdict from the same gathered facts, so
 * that all of them return the error (none waits in a collective). */
static int check_layout(void)
{
    int k = dt__cl.helpers, n = dt__cl.nranks;
    int mine[2] = { k, -k }, ext[2];
    MPI_Allreduce(mine, ext, 2, MPI_INT, MPI_MAX, dt__cl.comm);
    if (ext[0] != -ext[1]) return refuse("the ranks disagree (from %d to %d helpers per application rank)", -ext[1], ext[0]);
    if (!k) return DT_OK;
    if (dt__rt.cluster_mode)
        return refuse("helpers are for programs that call dt_init on every rank; with dt_main every rank but 0 serves already");
    if (n % (k + 1))
        return refuse("a job of %d ranks: start A*(k+1) = A*%d ranks (each application rank followed by its %d helpers)",
                      n, k + 1, k);
    return DT_OK;
}

int dt__cl_helpers_join(void)
{
    int r = check_layout();
    if (r) return r;
    int k = dt__cl.helpers;
    dt__cl.helper = k && dt__cl_serves(dt__cl.rank);     /* dt_main's serving ranks return from dt_init */
    /* the ranks whose dt_finalize a serving rank waits for */
    dt__cl.napps = k ? dt__cl.nranks / (k + 1) : 1;
    MPI_Comm_split(dt__cl.comm, dt__cl_serves(dt__cl.rank) ? MPI_UNDEFINED : 0, dt__cl.rank, &dt__cl.app_comm);
    if (k) {
        dt__rt.app_rank = dt__cl.rank / (k + 1);      /* a helper: its group's */
        dt__rt.app_nranks = dt__cl.napps;
    }
    return DT_OK;
}

/* Root tasks leave through the spread policy's push (from hooks.ready);
 * what the program writes itself stays its own business (no directory, no
 * taskwait hook), and no task is hinted elsewhere (may_leave NULL: a hint
 * to another rank is DT_ERANGE, as in any SPMD program). */
void dt__cl_helpers_fill_hooks(dt__hooks_t *h)
{
    dt__cl_fill_hooks(h);
    h->data_first = NULL;
    h->may_leave = NULL;
    h->task_new = NULL;
    h->edge = NULL;
    h->submitted = NULL;
    h->waited = NULL;
    h->freed = NULL;
    /* A helper's workers, idle, sleep instead of polling MPI every 50 us
     * (four idle helpers polling took most of a core from the ranks that
     * compute, on 2 cores): its progress thread listens for them.  Nothing
     * waits in its pool (its nested tasks stay, spread.c). */
    if (dt__cl.helper && dt__cl.progress_thread) h->poll = NULL;
}

bool dt__cluster_helper(void) { return dt__cl.helper; }

_Noreturn void dt__cluster_serve(void)
{
    /* dt_finalize waits until every application rank has finalised */
    int r = dt_finalize(), done = 1;
    MPI_Finalized(&done);
    if (!done) MPI_Finalize();             /* the program initialised MPI itself */
    exit(r ? 1 : 0);
}

DT__EXPORT int dt_app_comm(void *comm)
{
    static const char call[] = "dt_app_comm";
    int r = dt__check_running(call);
    if (r) return r;
    if (!comm) return dt__error(DT_EINVAL, call, NULL, "NULL comm");
    if (!dt__cl.use_mpi)
        return dt__error(DT_EINVAL, call, NULL, "not an MPI job (started without a launcher, MPI not initialised)");
    memcpy(comm, &dt__cl.app_comm, sizeof dt__cl.app_comm);
    return DT_OK;
}
