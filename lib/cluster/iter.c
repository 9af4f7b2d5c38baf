/* iter.c - the cluster layer's part of the distributed taskiter
 * (taskiter/dist.c decides what moves; this file moves it).
 *
 * Rank 0 announces a taskiter with one ITER message per rank; a rank that
 * receives it (in its progress path) runs the taskiter as a task of its own
 * on a worker, a child of the root of offloaded tasks, so that the rank is
 * not done serving before it is.  The transfers are plain data messages of
 * the outbox (strided datatypes for 2-D regions, straight into the common
 * address space) whose completion calls back into dist.c; their tags lie in
 * a range of their own (DT__MSG_TAG_ITER0), computed alike on both ends. */
#include <string.h>
#include "cluster/internal.h"

static void announce(int type, const void *args, size_t args_size, long max, long every, unsigned flags)
{
    dt__msg m = { .type = DT__MSG_ITER, .type_id = (uint32_t)type, .type_hash = dt__hash_name(dt__types[type].name),
                  .args_size = (uint32_t)args_size, .args = args, .iter_max = max, .iter_every = every,
                  .iter_flags = flags };
    for (int r = 0; r < dt__cl.nranks; r++) {
        if (r == dt__cl.rank) continue;
        size_t len;
        void *buf = dt__msg_iter(&m, &len);
        dt__cl_post_ctrl(r, buf, len);
    }
    /* the caller waits in a collective next: without a progress thread no
       one else may be there to send these */
    if (!dt__cl.progress_thread) {
        pthread_mutex_lock(&dt__cl.poll_lock);
        while (!dt__cl_outbox_empty()) dt__cl_progress_once();
        pthread_mutex_unlock(&dt__cl.poll_lock);
    }
}

void dt__cl_handle_iter(const dt__msg *m, int peer)
{
    int ntypes = atomic_load_explicit(&dt__ntypes, memory_order_acquire);
    if (peer != 0 || dt__cl.rank == 0) dt__fatal("rank %d sent a taskiter to rank %d", peer, dt__cl.rank);
    if (m->type_id >= (uint32_t)ntypes || dt__hash_name(dt__types[m->type_id].name) != m->type_hash)
        dt__fatal("a dt_taskiter body from rank %d has type %u, which this rank does not know by that name: "
                  "register the same types, in the same order, on every rank", peer, m->type_id);
    dt__task *t = dt__task_alloc(0, sizeof(dt__iter_call) + m->args_size);
    dt__iter_call *c = t->args;
    c->type = (int)m->type_id;
    c->flags = m->iter_flags;
    c->max = (long)m->iter_max;
    c->every = (long)m->iter_every;
    c->args_size = m->args_size;
    memcpy(c->args, m->args, m->args_size);
    t->fn = dt__hooks.iter_serve;
    t->type = c->type;           /* for crash reports */
    t->label = "taskiter";
    /* a root of its own: the body's tasks are checked and waited for as
       the program's root's are on rank 0 */
    t->flags = DT__TF_ROOT;
    t->parent = &dt__cl.remote_root;
    dt__task_child_created(&dt__cl.remote_root);
    dt__task_submit(t);
}

static void xfer(bool send, int peer, const dt__access *a, uint32_t tag, void (*done)(void *), void *arg)
{
    if (tag >= DT__MSG_TAG_ITER_N) dt__fatal("taskiter transfer tag %u out of range", tag);
    dt__wire_region r = { a->addr, a->size, a->rows, a->stride, 0, 0, -1 };
    outmsg *m = dt__cl_data_msg(send ? OUT_SEND_DATA : OUT_RECV, peer, &r, DT__MSG_TAG_ITER0 + tag);
    m->done = done;
    m->done_arg = arg;
    dt__cl_post(m);
}

/* ---- channels: the steady state's transfers --------------------------------
 * One per region of a transfer of the graph, opened when the graph is built:
 * a persistent request per parity of the producer's iteration (a committed
 * datatype for a 2-D region, made once).  The thread that launches the
 * transfer starts it itself, and whoever polls next (a worker at the end of
 * a task or while it waits, else the progress thread) sees it complete: no
 * outbox, no doorbell, no allocation per iteration. */
typedef struct dt__cl_chan {
    MPI_Request req[2];
    MPI_Datatype type;
    void (*done)(void *);
    void *arg;
    bool active;                /* in the active list (under chan_lock) */
} dt__cl_chan;

static void *chan_open(bool send, int peer, const dt__access *a, uint32_t tag)
{
    if (tag + 1 >= DT__MSG_TAG_ITER_N) dt__fatal("taskiter transfer tag %u out of range", tag);
    dt__wire_region r = { a->addr, a->size, a->rows, a->stride, 0, 0, -1 };
    dt__cl_chan *c = dt__xmalloc(sizeof *c);
    int count;
    c->type = dt__cl_region_type(&r, &count);
    c->active = false;
    MPI_Datatype t = c->type == MPI_DATATYPE_NULL ? MPI_BYTE : c->type;
    for (int p = 0; p < 2; p++) {
        int mtag = (int)(DT__MSG_TAG_ITER0 + tag + (uint32_t)p);
        if (send) MPI_Send_init((void *)a->addr, count, t, peer, mtag, dt__cl.comm, &c->req[p]);
        else MPI_Recv_init((void *)a->addr, count, t, peer, mtag, dt__cl.comm, &c->req[p]);
    }
    atomic_fetch_add(&dt__cl.nchan_open, 1);
    return c;
}

/* Not under poll_lock: on a crowded machine its holder may be off the
 * processor for a while, and the thread that finished a producer must not
 * wait for it (MPI is thread-multiple; chan_lock covers only the list). */
static void chan_start(void *chan, unsigned parity, void (*done)(void *), void *arg)
{
    dt__cl_chan *c = chan;
    c->done = done;
    c->arg = arg;
    MPI_Start(&c->req[parity]);
    pthread_mutex_lock(&dt__cl.chan_lock);
    if (dt__cl.nchan_act == dt__cl.capchan) {
        size_t cap = dt__cl.capchan ? 2 * dt__cl.capchan : 64;
        MPI_Request *req = realloc(dt__cl.chan_req, sizeof *req * cap);
        if (req) dt__cl.chan_req = req;
        dt__cl_chan **of = realloc(dt__cl.chan_of, sizeof *of * cap);
        if (of) dt__cl.chan_of = of;
        if (!req || !of) dt__fatal("out of memory for the transfers of a taskiter");
        dt__cl.capchan = cap;
    }
    c->active = true;
    size_t n = atomic_load_explicit(&dt__cl.nchan_act, memory_order_relaxed);
    dt__cl.chan_req[n] = c->req[parity];
    dt__cl.chan_of[n] = c;
    atomic_store_explicit(&dt__cl.nchan_act, n + 1, memory_order_release);
    pthread_mutex_unlock(&dt__cl.chan_lock);
}

static void chan_close(void *chan)
{
    dt__cl_chan *c = chan;
    MPI_Request_free(&c->req[0]);
    MPI_Request_free(&c->req[1]);
    if (c->type != MPI_DATATYPE_NULL) MPI_Type_free(&c->type);
    free(c);
    atomic_fetch_sub(&dt__cl.nchan_open, 1);
}

/* Under poll_lock (one thread at a time): tests a copy of the active list,
 * so that starters are never kept waiting by MPI. */
bool dt__cl_chan_progress(void)
{
    static MPI_Request *req;
    static int *idx;
    static dt__cl_chan **of, **done;
    static MPI_Status *st;          /* not MPI_STATUSES_IGNORE: gcc 12 takes it for an array of size 0 */
    static size_t cap;
    pthread_mutex_lock(&dt__cl.chan_lock);
    size_t n = atomic_load_explicit(&dt__cl.nchan_act, memory_order_relaxed);
    if (cap < n) {
        free(req), free(idx), free(of), free(done), free(st);
        req = malloc(sizeof *req * n);
        idx = malloc(sizeof *idx * n);
        of = malloc(sizeof *of * n);
        done = malloc(sizeof *done * n);
        st = malloc(sizeof *st * n);
        if (!req || !idx || !of || !done || !st) dt__fatal("out of memory for the transfers of a taskiter");
        cap = n;
    }
    memcpy(req, dt__cl.chan_req, sizeof *req * n);
    memcpy(of, dt__cl.chan_of, sizeof *of * n);
    pthread_mutex_unlock(&dt__cl.chan_lock);
    int outcount;
    MPI_Testsome((int)n, req, &outcount, idx, st);
    if (outcount == MPI_UNDEFINED || outcount <= 0) return false;
    pthread_mutex_lock(&dt__cl.chan_lock);
    for (int i = 0; i < outcount; i++) {
        done[i] = of[idx[i]];
        done[i]->active = false;
    }
    size_t m = 0, all = atomic_load_explicit(&dt__cl.nchan_act, memory_order_relaxed);
    for (size_t i = 0; i < all; i++)
        if (dt__cl.chan_of[i]->active) {
            dt__cl.chan_req[m] = dt__cl.chan_req[i];
            dt__cl.chan_of[m++] = dt__cl.chan_of[i];
        }
    atomic_store_explicit(&dt__cl.nchan_act, m, memory_order_relaxed);
    pthread_mutex_unlock(&dt__cl.chan_lock);
    /* callbacks last, outside the lock: they start channels */
    for (int i = 0; i < outcount; i++) done[i]->done(done[i]->arg);
    return true;
}

/* As after dt_taskwait: rank 0 holds everything, in a version no other
 * rank's cache has seen (their copies changed under them). */
static void reset(void)
{
    pthread_mutex_lock(&dt__cl.lock);
    dt__cl_tree_free(&dt__cl.dir);
    dt__cl_tree_free(&dt__cl.cache);
    dt__cl.hole_version = (++dt__cl.next_version << 8) | DT__ROOT_WROTE;
    pthread_mutex_unlock(&dt__cl.lock);
}

static uint64_t versions(int n)
{
    pthread_mutex_lock(&dt__cl.lock);
    uint64_t first = dt__cl.next_version + 1;
    dt__cl.next_version += (uint64_t)n;
    pthread_mutex_unlock(&dt__cl.lock);
    return first;
}

/* The version carries its writer (the holder) in its low bits, as every
 * version does: a fetch of these bytes goes to it. */
static void held(int holder, uint64_t version, const dt__access *a)
{
    uint64_t v = version << 8 | (uint64_t)holder;
    dt__wire_region r = { a->addr, a->size, a->rows, a->stride, v, 0, 0 };
    pthread_mutex_lock(&dt__cl.lock);
    if (dt__cl.rank == 0) dt__cl_dir_record(&dt__cl.dir, a->addr, a->size, a->rows, a->stride, v, 1ull << holder);
    if (dt__cl.rank == holder) dt__cl_cache_set(&r, v, NULL);
    pthread_mutex_unlock(&dt__cl.lock);
}

static bool sources(const dt__access *a, int target, dt__iter_move **moves, size_t *n, size_t *cap)
{
    plan_ctx p = { .dir = &dt__cl.dir, .self = 0, .target = target, .reads = true, .only_missing = true };
    pthread_mutex_lock(&dt__cl.lock);
    p.hole_version = dt__cl.hole_version;
    dt__cl_dir_plan(&p, a->addr, a->size, a->rows, a->stride);
    pthread_mutex_unlock(&dt__cl.lock);
    p.n = dt__cl_coalesce_rows(p.items, p.n);
    bool ok = true;
    for (size_t i = 0; i < p.n && ok; i++) {
        const dt__wire_region *w = &p.items[i];
        if (w->source < 0) continue;
        dt__iter_move *m = dt__grow(*moves, *n, cap, sizeof *m);
        if (!m) {
            ok = false;
            break;
        }
        *moves = m;
        (*moves)[(*n)++] = (dt__iter_move){ w->addr, w->size, w->rows, w->stride, w->version, w->source, target };
        atomic_fetch_add_explicit(&dt__cl.n_iter_moved, w->size * w->rows, memory_order_relaxed);
    }
    free(p.items);
    return ok;
}

static void hold(uint64_t version, const dt__access *a)
{
    dt__wire_region r = { a->addr, a->size, a->rows, a->stride, version, 0, 0 };
    pthread_mutex_lock(&dt__cl.lock);
    dt__cl_cache_set(&r, version, NULL);
    pthread_mutex_unlock(&dt__cl.lock);
}

static void bcast(void *buf, size_t len)
{
    for (size_t off = 0; off < len;) {
        int n = len - off > INT32_MAX ? INT32_MAX : (int)(len - off);
        MPI_Request req;
        MPI_Ibcast((char *)buf + off, n, MPI_BYTE, 0, dt__cl.comm, &req);
        dt__cl_wait_napping(&req);
        off += (size_t)n;
    }
}

void dt__cl_iter_fill_hooks(dt__hooks_t *h)
{
    h->iter_bcast = bcast;
    h->iter_announce = announce;
    h->iter_xfer = xfer;
    h->iter_chan_open = chan_open;
    h->iter_chan_start = chan_start;
    h->iter_chan_close = chan_close;
    h->iter_reset = reset;
    h->iter_versions = versions;
    h->iter_held = held;
    h->iter_sources = sources;
    h->iter_hold = hold;
}
