/* transport.c - moving bytes between ranks: the outbox that any thread
 * posts to, the MPI requests in flight, the doorbells of the ranks of a
 * node, and the progress of MPI.  MPI is driven by whoever holds
 * poll_lock: a worker at the end of each task and while it waits for work,
 * and, for the time when every worker is inside a task, the progress thread,
 * which naps between polls (never yields: a yield can give its core to
 * another process's worker for a whole time slice) and naps longer the
 * longer nothing comes, so that on a machine with fewer cores than threads
 * it does not starve the workers.  Ended transfers are handed back to the
 * version cache and the offload protocol (dt__cl_transfer_done). */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <stdio.h>
#include <string.h>
#include "cluster/internal.h"

void dt__cl_wake_progress(void)
{
    atomic_fetch_add(&dt__cl.mine->rings, 1);
    if (atomic_load(&dt__cl.mine->sleeping)) dt__futex_wake_shared(&dt__cl.mine->rings, 1);
}

/* Another rank's bell: only while no worker there waits for work (one
 * that waits polls MPI itself; waking the progress thread too would take
 * the core from it). */
static void ring_peer(doorbell *b)
{
    atomic_fetch_add_explicit(&dt__cl.n_rings, 1, memory_order_relaxed);
    atomic_fetch_add(&b->rings, 1);
    if (atomic_load(&b->listening) && atomic_load(&b->sleeping)) dt__futex_wake_shared(&b->rings, 1);
}

/* Posts from a thread that sends them itself before it waits need not wake
 * the progress thread: on a node whose cores are all busy the woken thread
 * takes a worker's core (wakeup preemption) for what that worker is about
 * to do anyway.  Such a thread is either inside dt__cl_progress_once (which
 * goes round again after any activity, and the progress thread looks at the
 * outbox before it naps) or a worker between the end of a task's body and
 * its task_end hook (dt__cl_flush_posts). */
static DT__TLS bool tls_sends_itself, tls_posted;
static bool poll_rounds(bool *locked);

void dt__cl_post(outmsg *m)
{
    m->next = NULL;
    pthread_mutex_lock(&dt__cl.out_lock);
    if (dt__cl.out_tail) dt__cl.out_tail->next = m; else dt__cl.out_head = m;
    dt__cl.out_tail = m;
    pthread_mutex_unlock(&dt__cl.out_lock);
    if (tls_sends_itself) tls_posted = true;
    else dt__cl_wake_progress();
}

void dt__cl_hold_posts(void) { tls_sends_itself = true; }

/* The end of dt__cl_hold_posts, and a poll if `poll`: what was posted
 * since leaves with that poll, else (no poll, or another thread drives MPI
 * at the moment and may have looked at the outbox already) the progress
 * thread is woken as dt__cl_post would have. */
void dt__cl_flush_posts(bool poll)
{
    bool posted = tls_posted, locked = false;
    tls_sends_itself = tls_posted = false;
    if (poll) poll_rounds(&locked);
    if (posted && !locked) dt__cl_wake_progress();
}

bool dt__cl_outbox_empty(void)
{
    pthread_mutex_lock(&dt__cl.out_lock);
    bool empty = dt__cl.out_head == NULL;
    pthread_mutex_unlock(&dt__cl.out_lock);
    return empty;
}

outmsg *dt__cl_out_new(int kind, int peer)
{
    outmsg *m = dt__xmalloc(sizeof *m);
    memset(m, 0, sizeof *m);
    m->kind = kind;
    m->peer = peer;
    return m;
}

void dt__cl_post_ctrl(int peer, void *buf, size_t len)
{
    if (!buf) dt__fatal("out of memory for a message");
    outmsg *m = dt__cl_out_new(OUT_CTRL, peer);
    m->buf = buf;
    m->len = len;
    dt__cl_post(m);
}

void dt__cluster_send_raw(int peer, const void *buf, size_t len)
{
    void *copy = dt__xmalloc(len ? len : 1);
    memcpy(copy, buf, len);
    dt__cl_post_ctrl(peer, copy, len);
}

/* A data transfer (OUT_RECV or OUT_SEND_DATA) of region r with peer. */
outmsg *dt__cl_data_msg(int kind, int peer, const dt__wire_region *r, uint32_t tag)
{
    outmsg *m = dt__cl_out_new(kind, peer);
    m->region = *r;
    m->src = *r;
    m->tag = tag;
    return m;
}

/* Receives r's bytes from peer; their arrival completes `pend` (and the
 * cache pieces waiting for it, if r has a version) or, for a write-back of
 * a pushed task, counts towards that task's end. */
void dt__cl_post_recv(int peer, const dt__wire_region *r, uint32_t tag, pending *pend, dt__task *pushed_task)
{
    outmsg *m = dt__cl_data_msg(OUT_RECV, peer, r, tag);
    m->pend = pend;
    m->task = pushed_task;
    dt__cl_post(m);
}

void dt__cl_send_data(const dt__wire_region *r, int peer, uint32_t tag)
{ dt__cl_post(dt__cl_data_msg(OUT_SEND_DATA, peer, r, tag)); }

static void track(MPI_Request req, MPI_Datatype type, outmsg *m, int wait)
{
    if (dt__cl.nfl == dt__cl.capfl) {
        dt__cl.capfl = dt__cl.capfl ? dt__cl.capfl * 2 : 64;
        dt__cl.fl = realloc(dt__cl.fl, sizeof *dt__cl.fl * dt__cl.capfl);
        if (!dt__cl.fl) dt__fatal("out of memory");
    }
    dt__cl.fl[dt__cl.nfl++] = (inflight){ req, type, m, wait };
    if (wait != DT__FL_QUIET) dt__cl.nfl_wait[wait]++;
}

MPI_Datatype dt__cl_region_type(const dt__wire_region *r, int *count)
{
    if (r->size > INT32_MAX || r->rows > INT32_MAX || r->stride > INT32_MAX)
        dt__fatal("a region of %llu rows of %llu bytes is too large for one MPI message",
            (unsigned long long)r->rows, (unsigned long long)r->size);
    if (r->rows <= 1) {
        *count = (int)r->size;
        return MPI_DATATYPE_NULL;
    }
    MPI_Datatype t;
    MPI_Type_vector((int)r->rows, (int)r->size, (int)r->stride, MPI_BYTE, &t);
    MPI_Type_commit(&t);
    *count = 1;
    return t;
}

/* A 2-D region that cma.c does not carry (another node, DT_CMA=0) travels
 * packed, as one contiguous message.  MPICH over UCX
 * sends a vector datatype through a pipelined protocol that needs both
 * sides' progress for every fragment: a 256-row tile of a row-major matrix
 * took a median 1.8 ms to arrive against 0.24 ms for the same bytes
 * contiguous (Cholesky 2x1, bench/RESULTS.md), which the packing copies (a few
 * tens of microseconds each way) do not come near.  Both ends decide alike,
 * from the region alone.  taskiter's transfers keep their datatypes: its
 * steady-state channels are persistent requests on the same tags. */
static size_t packed_bytes(const outmsg *m)
{
    const dt__wire_region *r = &m->region;
    if (r->rows <= 1 || r->stride == r->size || m->tag >= DT__MSG_TAG_ITER0) return 0;
    size_t bytes = (size_t)(r->rows * r->size);
    return bytes <= INT32_MAX ? bytes : 0;
}

/* m's bytes in a contiguous stage buffer: a send's copied in now, a
 * receive's copied out by unstage() once they are there. */
static void stage(outmsg *m, size_t bytes)
{
    m->packed = dt__cl_stage_get(bytes);
    if (m->kind == OUT_RECV) return;
    unsigned char *p = m->packed;
    DT__FOR_ROWS(&m->region, s, e) {
        memcpy(p, (const void *)(uintptr_t)s, (size_t)(e - s));
        p += e - s;
    }
}

static void unstage(outmsg *m)
{
    const unsigned char *p = m->packed;
    if (m->kind == OUT_RECV) {
        DT__FOR_ROWS(&m->region, s, e) {
            memcpy((void *)(uintptr_t)s, p, (size_t)(e - s));
            p += e - s;
        }
    }
    dt__cl_stage_put(m->packed, (size_t)(m->region.rows * m->region.size));
    m->packed = NULL;
}

/* An empty message of cma.c's protocol, tracked until it is done; `wait`
 * (DT__FL_*) says what its end needs.  Only the receiver's wait for
 * "ready" has something to do then (the read), and the sender rings this
 * rank's bell after sending it (start_out).  Nothing waits for the others:
 * the sender's transfer ends at the ack, but its bytes are guarded by the
 * tasks' order, not by it, so the ack does not ring (it only frees the
 * request). */
static void start_empty(bool send, int peer, uint32_t tag, MPI_Comm comm, outmsg *m, int wait)
{
    MPI_Request req;
    if (!m) m = dt__cl_out_new(OUT_CTRL, peer);
    if (send) MPI_Isend(NULL, 0, MPI_BYTE, peer, (int)tag, comm, &req);
    else MPI_Irecv(NULL, 0, MPI_BYTE, peer, (int)tag, comm, &req);
    track(req, MPI_DATATYPE_NULL, m, wait);
}

/* The sender of a transfer by cma.c says it is ready and waits for the
 * ack; the receiver waits for the ready (then cma_pull). */
static void start_cma(outmsg *m)
{
    if (m->kind == OUT_RECV) {
        m->cma = true;
        start_empty(false, m->peer, m->tag, dt__cl.comm, m, DT__FL_RUNG);
        return;
    }
    start_empty(true, m->peer, m->tag, dt__cl.comm, NULL, DT__FL_QUIET);
    start_empty(false, m->peer, m->tag, dt__cl.ack_comm, m, DT__FL_QUIET);
}

static void cma_pull(outmsg *m)
{
    dt__cl_cma_read(m->peer, &m->src, &m->region);
    start_empty(true, m->peer, m->tag, dt__cl.ack_comm, NULL, DT__FL_QUIET);
}

static void start_out(outmsg *m)
{
    MPI_Request req;
    int count;
    MPI_Datatype t = MPI_DATATYPE_NULL;
    if (m->kind == OUT_CTRL) {
        MPI_Isend(m->buf, (int)m->len, MPI_BYTE, m->peer, DT__TAG_CTRL, dt__cl.comm, &req);
        track(req, t, m, DT__FL_POLL);
    } else if (dt__cl_cma_carries(m->peer, m->kind == OUT_RECV ? &m->src : &m->region, m->tag)) {
        start_cma(m);
    } else {
        void *buf = (void *)(uintptr_t)m->region.addr;
        size_t bytes = packed_bytes(m);
        if (bytes) {
            stage(m, bytes);
            buf = m->packed;
            count = (int)bytes;
        } else {
            t = dt__cl_region_type(&m->region, &count);
        }
        MPI_Datatype type = t == MPI_DATATYPE_NULL ? MPI_BYTE : t;
        if (m->kind == OUT_RECV) MPI_Irecv(buf, count, type, m->peer, (int)m->tag, dt__cl.comm, &req);
        else MPI_Isend(buf, count, type, m->peer, (int)m->tag, dt__cl.comm, &req);
        track(req, t, m, DT__FL_POLL);
    }
    if (m->kind != OUT_RECV && dt__cl.bell[m->peer]) ring_peer(dt__cl.bell[m->peer]);
}

static void finish_out(outmsg *m)
{
    if (m->packed) unstage(m);
    if (m->done) {
        m->done(m->done_arg);
    } else if (m->kind == OUT_RECV && m->task) {
        if (atomic_fetch_sub(&dt__cl_of(m->task)->pushed->left, 1) == 1) dt__cl_pushed_finish(m->task);
    } else if (m->kind == OUT_RECV) {
        dt__vec ready;
        dt__vec_init(&ready);
        pthread_mutex_lock(&dt__cl.lock);
        if (m->region.version) dt__cl_cache_set(&m->region, m->region.version, m->pend);
        dt__cl_pending_done(m->pend, &ready);
        pthread_mutex_unlock(&dt__cl.lock);
        dt__cl_ready_all(&ready);
    }
    free(m->buf);
    free(m);
}

/* Control messages to the same rank leave as one MPI message when
 * aggregation is on: each keeps its own header, so the receiver splits them. */
static outmsg *coalesce(outmsg *list)
{
    outmsg *out = NULL, **tail = &out;
    while (list) {
        outmsg *m = list;
        list = m->next;
        m->next = NULL;
        if (m->kind == OUT_CTRL) atomic_fetch_add_explicit(&dt__cl.n_ctrl, 1, memory_order_relaxed);
        if (m->kind == OUT_CTRL && dt__cl.aggregate) {
            outmsg **prev = &list, *o;
            size_t total = m->len;
            for (o = list; o; o = o->next)
                if (o->kind == OUT_CTRL && o->peer == m->peer) total += o->len;
            if (total != m->len) {
                char *buf = dt__xmalloc(total), *p = buf;
                memcpy(p, m->buf, m->len);
                p += m->len;
                while ((o = *prev)) {
                    if (o->kind == OUT_CTRL && o->peer == m->peer) {
                        memcpy(p, o->buf, o->len);
                        p += o->len;
                        *prev = o->next;
                        atomic_fetch_add_explicit(&dt__cl.n_ctrl, 1, memory_order_relaxed);
                        free(o->buf);
                        free(o);
                    } else {
                        prev = &o->next;
                    }
                }
                free(m->buf);
                m->buf = buf;
                m->len = total;
            }
        }
        if (m->kind == OUT_CTRL) atomic_fetch_add_explicit(&dt__cl.n_mpi_ctrl, 1, memory_order_relaxed);
        *tail = m;
        tail = &m->next;
    }
    return out;
}

static bool progress_once(void);

bool dt__cl_progress_once(void)
{
    bool outer = tls_sends_itself, posted = tls_posted;
    tls_sends_itself = true;
    tls_posted = false;
    /* what it posted leaves in the caller's next round */
    bool did = progress_once() || tls_posted;
    tls_sends_itself = outer;
    tls_posted = posted;
    return did;
}

static bool progress_once(void)
{
    bool did = false;
    pthread_mutex_lock(&dt__cl.out_lock);
    outmsg *m = dt__cl.out_head;
    dt__cl.out_head = dt__cl.out_tail = NULL;
    pthread_mutex_unlock(&dt__cl.out_lock);
    m = coalesce(m);
    while (m) {
        outmsg *next = m->next;
        if (m->kind == OUT_FINISH) {
            dt__cl_finish(m->task);
            free(m);
        } else {
            start_out(m);
        }
        m = next;
        did = true;
    }
    for (bool probed = false;;) {
        int flag;
        MPI_Message msg;
        MPI_Status st;
        MPI_Improbe(MPI_ANY_SOURCE, DT__TAG_CTRL, dt__cl.comm, &flag, &msg, &st);
        /* With MPICH (ch4:ucx) the first probe after a nap misses a message
           that arrived meanwhile (it matches before it progresses the
           transport); a second sees it.  Measured on the Cholesky
           benchmark: completions were read by a busy rank 0 1.0-1.4 ms
           (median) after they were sent with one probe, 0.8 ms with two. */
        if (!flag && !probed) MPI_Improbe(MPI_ANY_SOURCE, DT__TAG_CTRL, dt__cl.comm, &flag, &msg, &st);
        probed = true;
        if (!flag) break;
        int count;
        MPI_Get_count(&st, MPI_BYTE, &count);
        char *buf = dt__xmalloc(count ? (size_t)count : 1);
        MPI_Mrecv(buf, count, MPI_BYTE, &msg, &st);
        /* one or several messages, each with its header */
        size_t off = 0;
        do {
            dt__msg_header h;
            size_t one = (size_t)count - off;
            if (one >= sizeof h) {
                memcpy(&h, buf + off, sizeof h);
                if (h.magic == DT__MSG_MAGIC && h.length <= one - sizeof h) one = sizeof h + h.length;
            }
            dt__cl_handle_ctrl(buf + off, one, st.MPI_SOURCE);
            off += one;
        } while (off < (size_t)count);
        free(buf);
        did = true;
    }
    for (size_t i = 0; i < dt__cl.nfl;) {
        int flag;
        MPI_Test(&dt__cl.fl[i].req, &flag, MPI_STATUS_IGNORE);
        if (!flag) { i++; continue; }
        inflight f = dt__cl.fl[i];
        dt__cl.fl[i] = dt__cl.fl[--dt__cl.nfl];
        if (f.wait != DT__FL_QUIET) dt__cl.nfl_wait[f.wait]--;
        if (f.type != MPI_DATATYPE_NULL) MPI_Type_free(&f.type);
        if (f.m->cma) cma_pull(f.m);
        finish_out(f.m);
        did = true;
    }
    if (atomic_load_explicit(&dt__cl.nchan_act, memory_order_acquire) && dt__cl_chan_progress()) did = true;
    return did;
}

/* Workers, at the end of each task and while they wait for work. */
/* Messages wait until this rank's dt_init is done: a task offloaded here
 * must not run while the runtime is still starting (its calls would fail). */
static bool serving(void) { return atomic_load_explicit(&dt__rt.state, memory_order_acquire) != DT__STATE_NEW; }

/* Polls until nothing happens, unless another thread is at it (*locked
 * says whether this one was). */
static bool poll_rounds(bool *locked)
{
    *locked = false;
    if (!dt__cl.active || atomic_load(&dt__cl.stop) || !serving()) return false;
    if (pthread_mutex_trylock(&dt__cl.poll_lock)) return false;
    *locked = true;
    bool did = false;
    /* checked again under the lock: cluster_stop sets it under the lock */
    while (!atomic_load(&dt__cl.stop) && dt__cl_progress_once()) did = true;
    pthread_mutex_unlock(&dt__cl.poll_lock);
    if (did) atomic_fetch_add_explicit(&dt__cl.worker_polls, 1, memory_order_relaxed);
    return did;
}

bool dt__cl_poll(void)
{
    bool locked;
    return poll_rounds(&locked);
}

void *dt__cl_progress_main(void *arg)
{
    (void)arg;
    /* short sleeps must be short: the default 50 us timer slack would add
       that much latency to every message that arrives while we nap */
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
    pthread_setname_np(pthread_self(), "dt-progress");
    /* It would inherit the binding of the thread that created it (worker 0's
       core) and compete with that worker: let it run wherever a core is free
       (the kernel keeps it inside the process's allowed CPUs). */
    cpu_set_t all;
    CPU_ZERO(&all);
    for (int i = 0; i < CPU_SETSIZE; i++) CPU_SET(i, &all);
    pthread_setaffinity_np(pthread_self(), sizeof all, &all);
    /* While some worker waits for work it polls (every 50 us at least):
       this thread checks now and then.  While all are busy it is the only
       one listening: it naps 50 us after the last activity, twice as long
       after each empty poll, up to 1 ms (so a rank whose workers run long
       tasks is not woken 20000 times a second for nothing).  A message
       posted by this rank's own threads wakes it at once. */
    const long nap_min = 50000, nap_max = 1000000, nap_idle = 200000;
    long nap = nap_min;
    unsigned seen = atomic_load(&dt__cl.worker_polls);
    while (!serving()) dt__futex_wait_shared(&dt__cl.mine->rings, atomic_load(&dt__cl.mine->rings), nap_min);
    /* Every other rank rings this one's doorbell after each send to it (one
       node, DT_DOORBELL): while none of this rank's transfers is in flight,
       nothing can arrive unannounced, so with all workers busy this thread
       sleeps until a bell (or nap_rung) instead of waking every millisecond
       to poll.  On 2 cores that polling cost the workers of Cholesky 2x1 as
       much time as half the progress threads' CPU (45-100 -> 17-33 ms a
       run).  A transfer in flight may need this side's progress (fragments
       of a pipelined protocol, a send's completion): naps stay short then.
       Not for cma.c's empty messages (start_empty): the one awaited comes
       with a bell, and naps of nap_max then only cover a message that a
       first probe missed (on 2 cores each short nap took a worker's core:
       Cholesky 2x1 had 550-850 such preemptions a run). */
    const long nap_rung = 10000000;
    bool rung_by_all = true;
    for (int r = 0; r < dt__cl.nranks; r++)
        if (r != dt__cl.rank && !dt__cl.bell[r]) rung_by_all = false;
    for (;;) {
        /* read before polling: a bell rung after this wakes the nap below */
        int rings = atomic_load(&dt__cl.mine->rings);
        pthread_mutex_lock(&dt__cl.poll_lock);
        bool did = dt__cl_progress_once();
        /* workers change these under the lock */
        bool transfers = dt__cl.nfl != 0, polled = dt__cl.nfl_wait[DT__FL_POLL] != 0,
             rung = dt__cl.nfl_wait[DT__FL_RUNG] != 0;
        pthread_mutex_unlock(&dt__cl.poll_lock);
        bool stopping = atomic_load(&dt__cl.stop);
        if (stopping && !transfers && dt__cl_outbox_empty()) break;
        polled = polled || (stopping && transfers);     /* it waits for all of them then */
        unsigned polls = atomic_load_explicit(&dt__cl.worker_polls, memory_order_relaxed);
        /* While a distributed taskiter replays, its transfers are driven by
           the workers (at each task end and while they wait) and its steady
           state sends no control message: this thread only covers tasks
           that run long, at its slowest pace (on 2 cores, waking every
           50 us took a quarter of a core from the workers). */
        bool replaying = atomic_load_explicit(&dt__cl.nchan_open, memory_order_relaxed) > 0;
        if ((did || polls != seen) && !replaying) {
            seen = polls;
            nap = nap_min;
            if (did) continue;
        }
        long ns = nap_idle;
        /* workers that do not poll (a helper's: helpers.c) leave listening
           to this thread even while they wait: peers ring its doorbell and it
           naps longer, instead of waking every 200 us for nothing */
        bool all_busy = dt__sched_sleepers() == 0 || !dt__hooks.poll;
        if (all_busy && !replaying) {
            ns = !rung_by_all || polled ? nap : rung ? nap_max : nap_rung;
            nap = nap * 2 > nap_max ? nap_max : nap * 2;
        } else if (!all_busy) {
            rings = atomic_load(&dt__cl.mine->rings);   /* rings meant for the polling workers */
        }
        if (replaying) ns = nap_max;
        atomic_store(&dt__cl.mine->listening, all_busy);
        atomic_store(&dt__cl.mine->sleeping, 1);
        if (dt__cl_outbox_empty()) dt__futex_wait_shared(&dt__cl.mine->rings, rings, ns);
        atomic_store(&dt__cl.mine->sleeping, 0);
    }
    dt__task_thread_exit();
    struct rusage ru;
    if (!getrusage(RUSAGE_THREAD, &ru))
        dt__cl.progress_cpu_ms = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
                            (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
    return NULL;
}

/* Waits for a collective without spinning.  MPICH busy-polls inside its
 * blocking calls: a rank spinning in MPI_Barrier at dt_finalize, on a core
 * it shares with another rank's thread that has to dt__cl_finish a poll first,
 * kept that thread off the core for seconds (a test job hung, under TSan,
 * with more workers than cores).  Only the main thread calls these, while
 * no other thread drives MPI (before serving, or after the progress
 * thread and the workers stopped polling). */
void dt__cl_wait_napping(MPI_Request *req)
{
    long ns = 1000;
    for (;;) {
        int done;
        MPI_Test(req, &done, MPI_STATUS_IGNORE);
        if (done) return;
        struct timespec ts = { 0, ns };
        nanosleep(&ts, NULL);
        if (ns < 1000000) ns *= 2;
    }
}

uint64_t dt__cl_bcast_u64(uint64_t v)
{
    MPI_Request req;
    MPI_Ibcast(&v, 1, MPI_UINT64_T, 0, dt__cl.comm, &req);
    dt__cl_wait_napping(&req);
    return v;
}

bool dt__cl_all(bool ok)
{
    int mine = ok, all;
    MPI_Request req;
    MPI_Iallreduce(&mine, &all, 1, MPI_INT, MPI_LAND, dt__cl.comm, &req);
    dt__cl_wait_napping(&req);
    return all != 0;
}

MPI_Comm dt__cl_node_slots(size_t size, MPI_Win *win, void **slot)
{
    MPI_Comm node;
    MPI_Comm_split_type(dt__cl.comm, MPI_COMM_TYPE_SHARED, dt__cl.rank, MPI_INFO_NULL, &node);
    int nlocal, world[DT__MAX_RANKS];
    MPI_Comm_size(node, &nlocal);
    MPI_Request req;
    MPI_Iallgather(&dt__cl.rank, 1, MPI_INT, world, 1, MPI_INT, node, &req);
    dt__cl_wait_napping(&req);
    void *base;
    MPI_Win_allocate_shared((MPI_Aint)size, (int)size, MPI_INFO_NULL, node, &base, win);
    memset(base, 0, size);
    for (int i = 0; i < nlocal; i++) {
        MPI_Aint got;
        int unit;
        MPI_Win_shared_query(*win, i, &got, &unit, &slot[world[i]]);
    }
    return node;
}

void dt__cl_node_barrier(MPI_Comm node)
{
    MPI_Request req;
    MPI_Ibarrier(node, &req);
    dt__cl_wait_napping(&req);
    MPI_Comm_free(&node);
}

/* One slot per rank of this node (collective on the node): a bell, the
 * rank's cores for DT_LEND, and what cma.c's probes need. */
void dt__cl_open_node(bool bells, bool lend, bool cma)
{
    void *slot[DT__MAX_RANKS] = { 0 };
    MPI_Comm node = dt__cl_node_slots(sizeof(dt__node_slot), &dt__cl.bell_win, slot);
    if (cma) {
        dt__cl_cma_publish(slot[dt__cl.rank]);
        MPI_Request req;
        MPI_Ibarrier(node, &req);
        dt__cl_wait_napping(&req);
        dt__cl_cma_probe(slot);
    }
    for (int r = 0; r < dt__cl.nranks && bells; r++) {
        if (!slot[r]) continue;
        if (r == dt__cl.rank) dt__cl.mine = slot[r];
        else dt__cl.bell[r] = slot[r];
    }
    if (lend) dt__cl_lend_open(slot);
    /* no one rings a bell before its owner has cleared it, nor borrows a
       core before its owner has listed it */
    dt__cl_node_barrier(node);
    if (cma) dt__cl_cma_agree(slot);
    if (lend) dt__cl_lend_start();
}
