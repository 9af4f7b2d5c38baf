/*
 * tb-mpi.c - Task Bench driver in hand-written MPI (MPICH): the floor.
 *
 * Point p belongs to rank p * ranks / width (blocks of columns); one thread
 * per rank.  Each step, every rank first receives the records of step t-1
 * that its points need from other ranks and sends the ones they need from it
 * (MPI_Irecv/MPI_Isend of packed records, then MPI_Waitall), then runs its
 * own points of step t in order.  With one rank it is a plain sequential loop.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb.h"

static int my_rank, n_ranks;

typedef struct state {
    tb_rec *base;
    int *owner;                       /* owner[p] */
    long *mark;                       /* per point: the last exchange that listed it */
    long stamp;
    long *lists;                      /* per peer: the points it sends or receives */
    tb_rec *sendbuf, *recvbuf;        /* per peer: width records */
    int *nrecv;                       /* per peer: records received */
    MPI_Request *req;
    MPI_Status *stat;                 /* not MPI_STATUSES_IGNORE: gcc 12 warns on it */
} state_t;

static int m_init(int *argc, char ***argv)
{
    MPI_Init(argc, argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &my_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &n_ranks);
    return 0;
}

static void m_fini(void) { MPI_Finalize(); }
static int m_rank(void) { return my_rank; }
static int m_nranks(void) { return n_ranks; }
static int m_workers(void) { return 1; }
static void m_barrier(void) { MPI_Barrier(MPI_COMM_WORLD); }

static void m_allreduce(uint64_t v[2])
{
    MPI_Allreduce(MPI_IN_PLACE, v, 2, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
}

static void *m_prepare(const tb_graph *g)
{
    state_t *s = calloc(1, sizeof *s);
    size_t w = (size_t)g->width, r = (size_t)n_ranks;
    if (!s || !(s->base = malloc((size_t)g->depth * w * sizeof *s->base)) ||
        !(s->owner = malloc(w * sizeof *s->owner)) || !(s->mark = calloc(w, sizeof *s->mark)) ||
        !(s->lists = malloc(2 * r * w * sizeof *s->lists)) ||
        !(s->sendbuf = malloc(r * w * sizeof *s->sendbuf)) ||
        !(s->recvbuf = malloc(r * w * sizeof *s->recvbuf)) ||
        !(s->req = malloc(2 * r * sizeof *s->req)) ||
        !(s->nrecv = calloc(r, sizeof *s->nrecv)) ||
        !(s->stat = malloc(2 * r * sizeof *s->stat))) {
        fprintf(stderr, "tb-mpi: out of memory\n");
        exit(2);
    }
    tb_records_clear(s->base, (size_t)g->depth * w);
    for (long p = 0; p < g->width; p++)
        s->owner[p] = (int)(p * n_ranks / g->width);
    return s;
}

/* The points of rank `from` that rank `to`'s points need at step t, ascending. */
static int needed(const tb_graph *g, state_t *s, long t, int from, int to, long *list)
{
    long deps[TB_MAX_WIDTH], width = tb_width_at(g, t);
    int n = 0;
    s->stamp++;
    for (long p = 0; p < width; p++) {
        if (s->owner[p] != to)
            continue;
        int nd = tb_deps(g, t, p, deps);
        for (int i = 0; i < nd; i++)
            if (s->owner[deps[i]] == from)
                s->mark[deps[i]] = s->stamp;
    }
    for (long q = 0; q < g->width; q++)
        if (s->mark[q] == s->stamp)
            list[n++] = q;
    return n;
}

static void exchange(const tb_graph *g, state_t *s, long t)
{
    int nreq = 0, *nrecv = s->nrecv;
    long w = g->width;
    for (int r = 0; r < n_ranks; r++) {
        long *rl = &s->lists[(2 * r) * w], *sl = &s->lists[(2 * r + 1) * w];
        int ns;
        if (r == my_rank)
            continue;
        nrecv[r] = needed(g, s, t, r, my_rank, rl);
        if (nrecv[r])
            MPI_Irecv(&s->recvbuf[r * w], nrecv[r] * (int)sizeof(tb_rec), MPI_BYTE, r,
                      (int)(t % 32768), MPI_COMM_WORLD, &s->req[nreq++]);
        ns = needed(g, s, t, my_rank, r, sl);
        for (int i = 0; i < ns; i++)
            s->sendbuf[r * w + i] = s->base[tb_slot(g, t - 1, sl[i])];
        if (ns)
            MPI_Isend(&s->sendbuf[r * w], ns * (int)sizeof(tb_rec), MPI_BYTE, r,
                      (int)(t % 32768), MPI_COMM_WORLD, &s->req[nreq++]);
    }
    MPI_Waitall(nreq, s->req, s->stat);
    for (int r = 0; r < n_ranks; r++) {
        if (r == my_rank)
            continue;
        for (int i = 0; i < nrecv[r]; i++)
            s->base[tb_slot(g, t - 1, s->lists[(2 * r) * w + i])] = s->recvbuf[r * w + i];
    }
}

static void m_run(const tb_graph *g, void *state)
{
    state_t *s = state;
    for (long t = 0; t < g->steps; t++) {
        long width = tb_width_at(g, t);
        if (n_ranks > 1 && t > 0)
            exchange(g, s, t);
        for (long p = 0; p < width; p++)
            if (s->owner[p] == my_rank)
                tb_execute_at(g, t, p, s->base);
    }
}

static void m_release(const tb_graph *g, void *state)
{
    state_t *s = state;
    (void)g;
    free(s->base);
    free(s->owner);
    free(s->mark);
    free(s->lists);
    free(s->sendbuf);
    free(s->recvbuf);
    free(s->req);
    free(s->nrecv);
    free(s->stat);
    free(s);
}

int main(int argc, char **argv)
{
    static const tb_system sys = {
        .name = "mpi", .init = m_init, .fini = m_fini, .rank = m_rank, .nranks = m_nranks,
        .workers = m_workers, .prepare = m_prepare, .run = m_run, .release = m_release,
        .barrier = m_barrier, .allreduce = m_allreduce,
    };
    return tb_main(argc, argv, &sys);
}
