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
    h->iter_reset = reset;
}
