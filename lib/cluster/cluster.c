/* cluster.c - tasks across the ranks of an MPI job.
 *
 * Rank 0 runs the program (the root task).  When one of the root's children
 * becomes ready, rank 0 places it on a rank (attr.node or DT_SCHEDULE), and
 * works out from its data directory which bytes that rank lacks: for every
 * byte range the directory knows the latest write version and the ranks
 * holding it.  The task travels (type by id and name hash, args, accesses,
 * the versions it needs and where to get them) and the target fetches
 * missing bytes straight from a holder, not through rank 0.  Every rank
 * keeps a version cache (WriteID): bytes it already holds in the right
 * version are not fetched again, and requests for bytes still arriving wait
 * for them.  When the task completes, the target reports back and rank 0
 * releases its accesses as if it had run locally.
 *
 * Threads hand messages to an outbox; MPI is driven by whoever holds
 * poll_lock: a worker at the end of each task and while it waits for work,
 * and, for the time when every worker is inside a task, the progress thread,
 * which naps between polls (never yields: a yield can give its core to
 * another process's worker for a whole time slice) and naps longer the
 * longer nothing comes, so that on a machine with fewer cores than threads
 * it does not starve the workers. */
#include <mpi.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <stdio.h>
#include <string.h>
#include "cluster/cluster.h"
#include "deps/deps.h"
#include "mem/mem.h"
#include "cluster/msg.h"
#include "core/runtime.h"
#include "sched/sched.h"

#define TAG_CTRL 1
/* version flag: written by rank 0's program itself, not by a task */
#define ROOT_WROTE 0x40u
/* version flag: bytes pushed with a nested task in no version rank 0 gave
   out; unique to the receiving rank, so no one ever asks for it */
#define PUSHED_HERE 0x80u
#define MAX_RANKS 64

bool dt__cluster_active;

/* ---- waiting for data ---------------------------------------------------- */

/* Something that waits for bytes to arrive in this rank's memory. */
enum { W_TASK, W_SEND, W_FLAG, W_APPLY };
typedef struct waiter {
    int kind, count;            /* count: arrivals still awaited (under C.lock) */
    dt__task *task;             /* W_TASK: ready it */
    dt__wire_region region;     /* W_SEND: a deferred answer to a request; W_APPLY: where */
    int peer;
    uint32_t tag;
    atomic_int *flag;           /* W_FLAG: set it and wake */
    void *staged;               /* W_APPLY: pushed bytes to copy into region */
    struct pending *mine;       /* W_APPLY: what the region's cache pieces wait for */
} waiter;

/* Bytes being received: the cache pieces that point at it become present. */
typedef struct pending {
    dt__vec waiters;
    bool task_writes;           /* not a transfer: a task here will write the bytes */
} pending;

/* A nested task pushed to another rank, on its creator's rank. */
typedef struct dt__pushed {
    int target;
    atomic_uint left;                   /* write-backs still to arrive */
    uint32_t nback;
    dt__wire_region back[];             /* mode: the tag */
} pushed;

/* dt__task.ns_state bits */
#define NS_READY 1
#define NS_DONE 2

#define ST_ABSENT 0u
#define ST_PRESENT 1u
/* any other state value is a pending * */

/* ---- outbox and MPI requests --------------------------------------------- */

enum { OUT_CTRL, OUT_RECV, OUT_SEND_DATA, OUT_FINISH };
typedef struct outmsg {
    int kind, peer;
    void *buf;
    size_t len;
    dt__wire_region region;     /* data transfers */
    uint32_t tag;
    pending *pend;              /* OUT_RECV: what the arrival satisfies */
    dt__task *task;             /* OUT_FINISH: to release; OUT_RECV: a pushed task's write-back */
    struct outmsg *next;
} outmsg;

/* A rank's doorbell, in memory the ranks of a node share: a rank that
 * sends a message to another rank of its node rings that rank's bell, so
 * that its progress thread, napping while its workers compute, reads the
 * message now rather than at the end of its nap. */
typedef struct doorbell {
    atomic_int rings;           /* futex word (shared): bumped at each ring */
    atomic_int sleeping;        /* the owner's progress thread waits on rings */
    atomic_int listening;       /* ... and every worker there is inside a task */
    char pad[52];               /* one cache line per rank */
} doorbell;

typedef struct inflight {
    MPI_Request req;
    MPI_Datatype type;          /* MPI_DATATYPE_NULL when none was made */
    outmsg *m;
} inflight;

static struct {
    MPI_Comm comm;
    bool use_mpi;               /* false: a plain single-process run */
    bool mpi_owned;
    int rank, nranks;
    int policy;
    pthread_t thread;
    atomic_int stop, shutdown;
    doorbell own;               /* the progress thread's bell when it has no shared one */
    doorbell *mine;             /* the bell it sleeps on */
    doorbell *bell[MAX_RANKS];  /* of the ranks on this node (not this one): ring after a send */
    MPI_Win bell_win;           /* MPI_WIN_NULL when there are no shared bells */
    bool ring_peers;            /* DT_DOORBELL */
    pthread_mutex_t out_lock;
    outmsg *out_head, *out_tail;
    inflight *fl;
    size_t nfl, capfl;
    /* directory (rank 0) and version cache (every rank), under lock */
    pthread_mutex_t lock;
    dt__rtree dir, cache;
    uint64_t next_version;
    uint64_t hole_version;       /* what bytes no task wrote since the last taskwait hold */
    uint32_t next_tag, next_push_tag;
    uint64_t next_local;         /* PUSHED_HERE versions */
    unsigned rr;
    atomic_int load[MAX_RANKS];  /* tasks placed on each rank and not done */
    int workers[MAX_RANKS];      /* worker threads of each rank */
    dt__heap pool;               /* balance: ready tasks waiting for room on some rank */
    dt__task remote_root;        /* parent of tasks offloaded to this rank */
    bool aggregate;              /* coalesce control messages to the same rank */
    bool progress_thread;        /* else workers alone drive MPI */
    bool name_space;             /* place tasks early where their predecessors are */
    bool eager_send;             /* send held bytes with an offloaded task, unasked */
    uint64_t remote_seq;         /* arrival order of offloaded tasks (under C.lock) */
    pthread_mutex_t poll_lock;   /* one thread at a time drives MPI */
    atomic_uint worker_polls;    /* polls by workers that found something (progress thread back-off) */
    /* DT_STATS */
    double progress_cpu_ms;      /* CPU time of the progress thread (DT_STATS) */
    atomic_ullong n_offloaded, n_early, n_pushed, n_ran_here, n_ctrl, n_mpi_ctrl, n_fetch, n_fetch_bytes, n_fetch_skipped,
        n_eager, n_rings;
} C;

static _Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "dtask: rank %d: ", C.rank);
    vfprintf(stderr, fmt, ap);
    fputs(" -- aborting the job\n", stderr);
    va_end(ap);
    fflush(stderr);
    MPI_Abort(C.comm, 1);
    abort();
}

static void wake_progress(void)
{
    atomic_fetch_add(&C.mine->rings, 1);
    if (atomic_load(&C.mine->sleeping)) dt__futex_wake_shared(&C.mine->rings, 1);
}

/* Another rank's bell: only while no worker there waits for work (one
 * that waits polls MPI itself; waking the progress thread too would take
 * the core from it). */
static void ring_peer(doorbell *b)
{
    atomic_fetch_add_explicit(&C.n_rings, 1, memory_order_relaxed);
    atomic_fetch_add(&b->rings, 1);
    if (atomic_load(&b->listening) && atomic_load(&b->sleeping)) dt__futex_wake_shared(&b->rings, 1);
}

static void post(outmsg *m)
{
    m->next = NULL;
    pthread_mutex_lock(&C.out_lock);
    if (C.out_tail) C.out_tail->next = m; else C.out_head = m;
    C.out_tail = m;
    pthread_mutex_unlock(&C.out_lock);
    wake_progress();
}

static bool outbox_empty(void)
{
    pthread_mutex_lock(&C.out_lock);
    bool empty = C.out_head == NULL;
    pthread_mutex_unlock(&C.out_lock);
    return empty;
}

static outmsg *out_new(int kind, int peer)
{
    outmsg *m = dt__xmalloc(sizeof *m);
    memset(m, 0, sizeof *m);
    m->kind = kind;
    m->peer = peer;
    return m;
}

static void post_ctrl(int peer, void *buf, size_t len)
{
    if (!buf) dt__fatal("out of memory for a message");
    outmsg *m = out_new(OUT_CTRL, peer);
    m->buf = buf;
    m->len = len;
    post(m);
}

void dt__cluster_send_raw(int peer, const void *buf, size_t len)
{
    void *copy = dt__xmalloc(len ? len : 1);
    memcpy(copy, buf, len);
    post_ctrl(peer, copy, len);
}

/* ---- walking byte ranges of a tree --------------------------------------- */

typedef void (*piece_fn)(void *ctx, dt__frag *f);

static dt__frag *node_new(uintptr_t s, uintptr_t e, uint64_t version, uint64_t state)
{
    dt__frag *f = dt__xmalloc(sizeof *f);
    f->start = s;
    f->end = e;
    f->version = version;
    f->state = state;
    return f;
}

static void node_free(dt__frag *f) { free(f); }

static const dt__rtree_ops node_ops = { node_new, NULL, node_free };

static void walk(dt__rtree *t, uintptr_t s, uintptr_t e, uint64_t hole_version, uint64_t hole_state,
                 piece_fn fn, void *ctx)
{
    dt__rtree_walk(t, s, e, &node_ops, hole_version, hole_state, fn, ctx);
}

static void tree_free(dt__rtree *t) { dt__rtree_clear(t, &node_ops); }

#define FOR_ROWS(r, s, e)                                                     \
    for (uint64_t row_ = 0, s = 0, e = 0;                                     \
         row_ < (r)->rows && ((s = (r)->addr + row_ * (r)->stride), (e = s + (r)->size), 1); row_++)

/* Tags of data messages (msg.h), under C.lock: a receiver's own, or a sender's. */
static uint32_t pull_tag(void) { return DT_MSG_TAG_PULL0 + (C.next_tag++ % (1u << 20)); }
static uint32_t push_tag(void) { return DT_MSG_TAG_PUSH0 + (C.next_push_tag++ % (1u << 20)); }

/* ---- the version cache ----------------------------------------------------- */

static uint64_t cache_hole_state(void) { return C.rank == 0 ? ST_PRESENT : ST_ABSENT; }

typedef struct acquire_ctx {
    uint64_t version;
    waiter *w;
    pending *fetch;             /* pieces to fetch point here (made on demand) */
    pending *last;              /* last pending w was added to */
    bool must_hold;             /* the directory says we hold it: never fetch */
    bool missing;
} acquire_ctx;

static pending *pending_new(void)
{
    pending *p = dt__xmalloc(sizeof *p);
    dt__vec_init(&p->waiters);
    p->task_writes = false;
    return p;
}

static void waiter_fire(waiter *w, dt__vec *ready);

/* A data transfer (OUT_RECV or OUT_SEND_DATA) of region r with peer. */
static outmsg *data_msg(int kind, int peer, const dt__wire_region *r, uint32_t tag)
{
    outmsg *m = out_new(kind, peer);
    m->region = *r;
    m->tag = tag;
    return m;
}

/* Receives r's bytes from peer; their arrival completes `pend` (and the
 * cache pieces waiting for it, if r has a version) or, for a write-back of
 * a pushed task, counts towards that task's end. */
static void post_recv(int peer, const dt__wire_region *r, uint32_t tag, pending *pend, dt__task *pushed_task)
{
    outmsg *m = data_msg(OUT_RECV, peer, r, tag);
    m->pend = pend;
    m->task = pushed_task;
    post(m);
}

/* What p stood for is here: fire its waiters and drop it.  Under C.lock. */
static void pending_done(pending *p, dt__vec *ready)
{
    for (uint32_t i = 0; i < p->waiters.n; i++) {
        waiter *w = p->waiters.v[i];
        if (--w->count == 0) waiter_fire(w, ready);
    }
    dt__vec_free(&p->waiters);
    free(p);
}

static void add_waiter(pending *p, waiter *w, pending **last)
{
    if (*last == p) return;
    *last = p;
    w->count++;
    dt__xvec_push(&p->waiters, w);
}

static void acquire_piece(void *ctx, dt__frag *f)
{
    acquire_ctx *a = ctx;
    if (f->version == a->version && f->state == ST_PRESENT) {
        if (!a->must_hold) atomic_fetch_add_explicit(&C.n_fetch_skipped, 1, memory_order_relaxed);
        return;
    }
    if (f->version == a->version && f->state != ST_ABSENT) {
        add_waiter((pending *)(uintptr_t)f->state, a->w, &a->last);
        return;
    }
    if (a->must_hold) {
        a->missing = true;
        return;
    }
    if (!a->fetch) {
        a->fetch = pending_new();
        add_waiter(a->fetch, a->w, &a->last);
    }
    f->version = a->version;
    f->state = (uint64_t)(uintptr_t)a->fetch;
}

/* Receives bytes sent unasked that this rank turns out to hold or to be
 * receiving already, and drops them (the directory should make this
 * impossible; but a message nobody receives would keep its sender from
 * ever finishing). */
static void discard(int peer, const dt__wire_region *r, uint32_t tag)
{
    size_t bytes = (size_t)(r->size * r->rows);
    void *scratch = dt__xmalloc(bytes ? bytes : 1);
    dt__wire_region into = { (uintptr_t)scratch, bytes, 1, bytes, 0, 0, 0 };
    outmsg *m = data_msg(OUT_RECV, peer, &into, tag);
    m->buf = scratch;                                   /* freed once received */
    m->pend = pending_new();
    post(m);
}

/* Makes region (version v) arrive here for w: already held, on its way, or
 * fetched now from `source`: asked for, or, with `pushed_tag`, sent by
 * `source` unasked with that tag.  Under C.lock. */
static void acquire(const dt__wire_region *r, int source, uint32_t pushed_tag, waiter *w)
{
    acquire_ctx a = { .version = r->version, .w = w, .must_hold = source < 0 };
    FOR_ROWS(r, s, e) walk(&C.cache, s, e, C.hole_version, cache_hole_state(), acquire_piece, &a);
    if (a.missing)
        die("the directory says this rank holds version %llu of [%#llx,+%llu) but it does not",
            (unsigned long long)r->version, (unsigned long long)r->addr, (unsigned long long)r->size);
    if (!a.fetch) {
        if (pushed_tag) discard(source, r, pushed_tag);
        return;
    }
    atomic_fetch_add_explicit(&C.n_fetch, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&C.n_fetch_bytes, r->size * r->rows, memory_order_relaxed);
    uint32_t tag = pushed_tag ? pushed_tag : pull_tag();
    post_recv(source, r, tag, a.fetch, NULL);
    if (pushed_tag) return;
    /* one request for the whole region: a tile travels as one message */
    size_t len;
    void *msg_ = dt__msg_data_req(r, tag, &len);
    post_ctrl(source, msg_, len);
}

typedef struct set_ctx { uint64_t version, state; pending *only; } set_ctx;

static void set_piece(void *ctx, dt__frag *f)
{
    set_ctx *c = ctx;
    if (c->only && f->state != (uint64_t)(uintptr_t)c->only) return;
    f->version = c->version;
    f->state = c->state;
}

/* Region now holds `version` in `state` (present, or arriving through a
 * pending); with `only`, just the pieces still waiting for that pending. */
static void cache_mark(const dt__wire_region *r, uint64_t version, uint64_t state, pending *only)
{
    set_ctx c = { version, state, only };
    FOR_ROWS(r, s, e) walk(&C.cache, s, e, C.hole_version, cache_hole_state(), set_piece, &c);
}

/* Bytes written here (or received): region now holds `version`. */
static void cache_set(const dt__wire_region *r, uint64_t version, pending *only)
{
    cache_mark(r, version, ST_PRESENT, only);
}

/* ---- answering requests ---------------------------------------------------- */

static void send_data(const dt__wire_region *r, int peer, uint32_t tag) { post(data_msg(OUT_SEND_DATA, peer, r, tag)); }

/* Pushed bytes that arrived in a staging buffer, and every transfer into
 * the same bytes that was under way has ended: store only the bytes that
 * differ.  Tasks here may be reading those bytes in the same version: they
 * must not see a store, even of an equal value.  Under C.lock. */
static void apply_staged(waiter *w, dt__vec *ready)
{
    const unsigned char *src = w->staged;
    FOR_ROWS(&w->region, s, e) {
        unsigned char *dst = (unsigned char *)(uintptr_t)s;
        size_t n = (size_t)(e - s);
        for (size_t i = 0; i < n; i += 64) {
            size_t k = n - i < 64 ? n - i : 64;
            if (!memcmp(dst + i, src + i, k)) continue;
            for (size_t j = i; j < i + k; j++)
                if (dst[j] != src[j]) dst[j] = src[j];
        }
        src += n;
    }
    free(w->staged);
    cache_set(&w->region, w->region.version, w->mine);
    pending_done(w->mine, ready);
}

/* Under C.lock: what a waiter does once everything it waits for is here. */
static void waiter_fire(waiter *w, dt__vec *ready)
{
    switch (w->kind) {
    case W_TASK: dt__xvec_push(ready, w->task); break;
    case W_SEND: send_data(&w->region, w->peer, w->tag); break;
    case W_APPLY: apply_staged(w, ready); break;
    default:
        atomic_store(w->flag, 1);
        dt__futex_wake(w->flag, INT_MAX);
        break;
    }
    free(w);
}

static void ready_all(dt__vec *ready)
{
    for (uint32_t i = 0; i < ready->n; i++) {
        dt__task *t = ready->v[i];
        /* an offloaded task also waits for its dependencies on this rank */
        if (t->flags & DT_TF_REMOTE) dt__task_dec_pending(t);
        else dt__sched_ready(t);
    }
    dt__vec_free(ready);
}

/* Sends region r to peer (tag) as soon as this rank holds it. */
static void send_when_held(const dt__wire_region *r, int peer, uint32_t tag)
{
    waiter *w = dt__xmalloc(sizeof *w);
    memset(w, 0, sizeof *w);
    w->kind = W_SEND;
    w->region = *r;
    w->peer = peer;
    w->tag = tag;
    dt__vec ready;
    dt__vec_init(&ready);
    pthread_mutex_lock(&C.lock);
    w->count = 1;                           /* held while we look */
    acquire(r, -1, 0, w);
    if (--w->count == 0) waiter_fire(w, &ready);
    pthread_mutex_unlock(&C.lock);
    ready_all(&ready);
}

static void handle_data_req(const dt__msg *m, int peer) { send_when_held(&m->region, peer, m->tag); }

/* ---- offloaded tasks, on the target ------------------------------------------ */

typedef struct push_ctx {
    uint64_t version;
    pending *mine, *last;
    waiter *apply;
    bool absent;
} push_ctx;

static void push_piece(void *ctx, dt__frag *f)
{
    push_ctx *c = ctx;
    if (f->state == ST_ABSENT) {
        f->version = c->version;
        f->state = (uint64_t)(uintptr_t)c->mine;
        return;
    }
    /* Held here already: the rank may be listed as a holder of that
       version, so the piece keeps it (if the pushed bytes differ, a task
       writing them is under way and no one asks for that version again).
       Arriving by another transfer: copy after it.  To be written by a task
       placed here (an ancestor of the pushed task): its completion marks it. */
    c->absent = false;
    pending *p = (pending *)(uintptr_t)f->state;
    if (f->state != ST_PRESENT && !p->task_writes) add_waiter(p, c->apply, &c->last);
}

/* Bytes pushed by peer with a nested task for w (r.mode: their tag;
 * r.version: their version, 0 if the sender knew none).  The cache records
 * them, so that tasks here needing that version do not fetch it again.
 * Where this rank may already hold them (tasks here may be reading them),
 * they go through a staging buffer.  Under C.lock. */
static void receive_pushed(dt__wire_region r, int peer, waiter *w, pending **last)
{
    uint32_t tag = r.mode;
    if (!r.version) r.version = (++C.next_local << 8) | PUSHED_HERE | (uint64_t)C.rank;
    pending *mine = pending_new();
    add_waiter(mine, w, last);
    waiter *apply = dt__xmalloc(sizeof *apply);
    memset(apply, 0, sizeof *apply);
    apply->kind = W_APPLY;
    apply->region = r;
    apply->mine = mine;
    push_ctx c = { r.version, mine, NULL, apply, true };
    FOR_ROWS(&r, s, e) walk(&C.cache, s, e, C.hole_version, cache_hole_state(), push_piece, &c);
    if (c.absent) {
        free(apply);
        post_recv(peer, &r, tag, mine, NULL);
        return;
    }
    size_t bytes = (size_t)(r.size * r.rows);
    apply->staged = dt__xmalloc(bytes);
    pending *got = pending_new(), *none = NULL;
    add_waiter(got, apply, &none);
    dt__wire_region into = { (uintptr_t)apply->staged, bytes, 1, bytes, 0, 0, 0 };
    post_recv(peer, &into, tag, got, NULL);
}

typedef struct remote_info {
    uint64_t origin_id;
    int origin;
    uint32_t nback;             /* pushed: regions to send back (just before this in args) */
    pending *written;           /* what readers of its writes here wait for */
} remote_info;

/* Labels of offloaded tasks live as long as the runtime (traces and error
 * messages keep pointers to them); programs use a handful, so a list does. */
static char **labels;
static size_t nlabels;

static const char *intern_label(const char *s)
{
    if (!*s) return NULL;
    for (size_t i = 0; i < nlabels; i++)
        if (!strcmp(labels[i], s)) return labels[i];
    char **nl = realloc(labels, sizeof *labels * (nlabels + 1));
    char *copy = strdup(s);
    if (!nl || !copy) {
        free(copy);
        if (nl) labels = nl;
        return NULL;
    }
    labels = nl;
    labels[nlabels++] = copy;
    return copy;
}

/* A task from another rank: placed here by rank 0 (OFFLOAD: fetch what the
 * message says is missing, order it after the tasks placed here before it)
 * or pushed by the rank of its parent (PUSH: its dependencies are resolved
 * there; its bytes come with it and its writes go back when it completes). */
static void handle_offload(const dt__msg *m, int peer)
{
    bool pushed = m->type == DT_MSG_PUSH;
    int ntypes = atomic_load_explicit(&dt__ntypes, memory_order_acquire);
    char label[256];
    memcpy(label, m->label, m->label_len);
    label[m->label_len] = 0;
    if (m->type_id >= (uint32_t)ntypes || dt__hash_name(dt__types[m->type_id].name) != m->type_hash)
        die("task '%s' from rank %d has type %u, which this rank does not know by that name: "
            "register the same types, in the same order, on every rank", label, peer, m->type_id);
    size_t back_bytes = sizeof(dt__wire_region) * m->nback;
    dt__task *t = dt__task_alloc(m->nacc, m->args_size + back_bytes + sizeof(remote_info));
    memcpy(t->args, m->args, m->args_size);
    if (back_bytes) memcpy((char *)t->args + m->args_size, m->back, back_bytes);
    for (uint32_t i = 0; i < m->nacc; i++) {
        dt__wire_region r;
        memcpy(&r, m->acc + i, sizeof r);
        dt__access *a = &t->acc[i];
        a->addr = (uintptr_t)r.addr;
        a->size = r.size;
        a->rows = r.rows;
        a->stride = r.stride;
        a->mode = r.mode;
        a->kind = (r.mode & 0xFF) == DT_IN ? DT_K_IN : DT_K_EXCL;
        a->weak = false;                     /* its data is here before it starts */
        a->writes = (r.mode & 0xFF) != DT_IN;
        a->version = r.version;
    }
    t->fn = dt__types[m->type_id].fn;
    t->type = (int)m->type_id;
    t->label = intern_label(label);
    t->priority = m->priority;
    t->flags |= DT_TF_REMOTE;
    t->parent = &C.remote_root;
    atomic_fetch_add_explicit(&C.n_ran_here, 1, memory_order_relaxed);
    dt__task_child_created(&C.remote_root);
    waiter *w = dt__xmalloc(sizeof *w);
    memset(w, 0, sizeof *w);
    w->kind = W_TASK;
    w->task = t;
    remote_info ri = { m->task_id, peer, m->nback, NULL };
    dt__vec ready;
    dt__vec_init(&ready);
    pthread_mutex_lock(&C.lock);
    t->seq = C.remote_seq++;
    w->count = 1;
    pending *last = NULL;
    for (uint32_t i = 0; i < m->nfetch; i++) {
        dt__wire_region r;
        memcpy(&r, m->fetch + i, sizeof r);
        if (pushed) {
            receive_pushed(r, peer, w, &last);
            continue;
        }
        if (r.source >= C.nranks) die("task '%s' from rank %d names rank %d as a source", label, peer, r.source);
        if (r.mode && r.source != peer)
            die("task '%s' from rank %d says rank %d sends its data unasked", label, peer, r.source);
        acquire(&r, r.source == C.rank ? -1 : r.source, r.mode, w);
    }
    /* Tasks placed here later may read what this one writes before it has
     * run (namespace): the bytes are "arriving" until it completes. */
    for (uint32_t i = 0; i < t->nacc && !pushed; i++) {
        const dt__access *a = &t->acc[i];
        if (!a->writes || !a->size) continue;
        if (!ri.written) {
            ri.written = pending_new();
            ri.written->task_writes = true;
        }
        dt__wire_region r = { a->addr, a->size, a->rows, a->stride, a->version, 0, 0 };
        cache_mark(&r, a->version, (uint64_t)(uintptr_t)ri.written, NULL);
    }
    pthread_mutex_unlock(&C.lock);
    memcpy((char *)t->args + m->args_size + back_bytes, &ri, sizeof ri);
    /* Tasks offloaded here are siblings in one domain, registered in the
     * order they arrive, which respects their order on the creator: a task
     * placed early waits here for the ones placed before it. */
    if (t->nacc && !pushed) dt__deps_register(t);
    atomic_fetch_add_explicit(&t->pending, 1, memory_order_relaxed);   /* its data */
    dt__task_submit(t);
    pthread_mutex_lock(&C.lock);
    if (--w->count == 0) waiter_fire(w, &ready);
    pthread_mutex_unlock(&C.lock);
    ready_all(&ready);
}

void dt__cluster_remote_complete(dt__task *t)
{
    remote_info ri;   /* the args block ends with the origin's identity (handle_offload) */
    memcpy(&ri, (char *)t->args + t->args_size - sizeof ri, sizeof ri);
    if (ri.written) {
        dt__vec ready;
        dt__vec_init(&ready);
        pthread_mutex_lock(&C.lock);
        for (uint32_t i = 0; i < t->nacc; i++) {
            dt__access *a = &t->acc[i];
            if (!a->writes || !a->size) continue;
            dt__wire_region r = { a->addr, a->size, a->rows, a->stride, a->version, 0, 0 };
            cache_set(&r, a->version, ri.written);   /* unless a later task rewrote it */
        }
        pending_done(ri.written, &ready);
        pthread_mutex_unlock(&C.lock);
        ready_all(&ready);
    }
    /* a pushed task's writes go back first: its creator releases it once
       they and the completion are there */
    const char *back = (const char *)t->args + t->args_size - sizeof ri - sizeof(dt__wire_region) * ri.nback;
    for (uint32_t i = 0; i < ri.nback; i++) {
        dt__wire_region r;
        memcpy(&r, back + sizeof r * i, sizeof r);
        send_data(&r, ri.origin, r.mode);
    }
    size_t len;
    void *msg_ = dt__msg_done(ri.origin_id, &len);
    post_ctrl(ri.origin, msg_, len);
}

/* ---- placement, on rank 0 ------------------------------------------------------ */

static int home_of(uintptr_t addr) { return dt__mem_home(addr, C.nranks); }

typedef struct score_ctx { uint64_t bytes[MAX_RANKS]; } score_ctx;

static void score_bytes(score_ctx *c, uintptr_t start, uintptr_t end, uint64_t version, uint64_t state)
{
    uint64_t n = end - start;
    if (version & ROOT_WROTE) {             /* not written by a task: count it at home */
        c->bytes[home_of(start)] += n;
        return;
    }
    for (uint64_t m = state; m; m &= m - 1) c->bytes[__builtin_ctzll(m)] += n;
}

/* Who holds [s, e): read only (a walk would split nodes at s and e and
 * merge them back, for every row of a tile). */
static void score_range(score_ctx *c, uintptr_t s, uintptr_t e)
{
    uintptr_t pos = s;
    for (dt__frag *f = dt__rtree_lookup(&C.dir, s); pos < e; f = dt__rtree_next(f)) {
        uintptr_t piece_start = f && f->start < e ? f->start : e;
        if (piece_start > pos) score_bytes(c, pos, piece_start, C.hole_version, 0);
        if (piece_start == e) break;
        uintptr_t from = f->start > pos ? f->start : pos, to = f->end < e ? f->end : e;
        score_bytes(c, from, to, f->version, f->state);
        pos = to;
    }
}

/* Bytes of t's accesses each rank holds, in sc.  Placement is a guess
 * anyway, and each row costs a tree search: an access of more rows is
 * scored from SCORE_ROWS of them, spread over it, and counted for all (a
 * Cholesky of 256-row tiles spent 10 ms of rank 0's CPU scoring every row). */
#define SCORE_ROWS 8

static void score_task(const dt__task *t, score_ctx *sc)
{
    memset(sc, 0, sizeof *sc);
    for (uint32_t i = 0; i < t->nacc; i++) {
        const dt__access *a = &t->acc[i];
        if (!a->size) continue;
        size_t n = a->rows < SCORE_ROWS ? a->rows : SCORE_ROWS;
        score_ctx one = { { 0 } };
        for (size_t k = 0; k < n; k++) {
            uintptr_t s = a->addr + (n > 1 ? k * (a->rows - 1) / (n - 1) : 0) * a->stride;
            score_range(&one, s, s + a->size);
        }
        for (int r = 0; r < C.nranks; r++) sc->bytes[r] += one.bytes[r] * a->rows / n;
    }
}

bool dt__cluster_offloadable(const dt__task *t)
{
    if (t->type < 0 || (t->flags & (DT_TF_WAITON | DT_TF_COMM))) return false;
    for (uint32_t i = 0; i < t->nacc; i++) {
        const dt__access *a = &t->acc[i];
        if (a->kind == DT_K_CONC || a->kind == DT_K_COMM || a->kind == DT_K_RED) return false;
        if (a->size && !dt__mem_contains(a->addr, (a->rows - 1) * a->stride + a->size)) return false;
    }
    return true;
}

/* The rank t runs on, or -1 (balance): it waits in the pool for room.
 * `early`: asked before t is ready, for the namespace; round-robin then
 * takes its turn only if it falls on `early`. */
static int choose_rank(dt__task *t, int early)
{
    if (t->node >= 0) return t->node;
    if (!dt__cluster_offloadable(t)) return C.rank;
    int best = 0;
    switch (C.policy) {
    case DT__SCHED_LOCAL: return C.rank;
    case DT__SCHED_ROUND_ROBIN:
        if (early >= 0 && (int)(C.rr % (unsigned)C.nranks) != early) return -1;
        return (int)(C.rr++ % (unsigned)C.nranks);
    case DT__SCHED_BALANCE: return -1;                                /* drain_pool places it */
    default: {                                                        /* locality */
        score_ctx sc;
        score_task(t, &sc);
        for (int r = 1; r < C.nranks; r++)
            if (sc.bytes[r] > sc.bytes[best] ||
                (sc.bytes[r] == sc.bytes[best] && atomic_load(&C.load[r]) < atomic_load(&C.load[best])))
                best = r;
        return best;
    }
    }
}

/* The pieces of one access as the target must see them. */
typedef struct plan_ctx {
    int target;
    bool reads;
    dt__wire_region *items;
    size_t n, cap;
    uint64_t row_version;
    int row_source;
    int row_pieces;
} plan_ctx;

/* Versions carry the rank that wrote them in their low bits: that rank holds
 * the bytes for sure (others may still be receiving them). */
#define VERSION_RANK(v) ((int)((v) & 0x3F))

static int pick_source(uint64_t version, uint64_t valid, int target)
{
    if (valid & (1ull << target)) return -1;
    return VERSION_RANK(version);
}

static void plan_piece(void *ctx, dt__frag *f)
{
    plan_ctx *p = ctx;
    int src = pick_source(f->version, f->state, p->target);
    if (p->reads && src < 0 && p->target != C.rank)
        atomic_fetch_add_explicit(&C.n_fetch_skipped, 1, memory_order_relaxed);
    if (p->reads) {
        if (p->n == p->cap) {
            p->cap = p->cap ? p->cap * 2 : 8;
            p->items = realloc(p->items, sizeof *p->items * p->cap);
            if (!p->items) dt__fatal("out of memory");
        }
        p->items[p->n++] = (dt__wire_region){ f->start, f->end - f->start, 1, f->end - f->start,
                                              f->version, 0, src };
        f->state |= 1ull << p->target;      /* it will hold it (the cache knows when) */
    }
    p->row_pieces++;
}

/* Rows of a 2-D access that each came out as one piece with the same
 * version and source travel as one strided message. */
static void plan_access(plan_ctx *p, const dt__access *a)
{
    size_t first = p->n;
    FOR_ROWS(a, s, e) walk(&C.dir, s, e, C.hole_version, 1u << C.rank, plan_piece, p);
    size_t got = p->n - first;
    if (!p->reads || got != a->rows || a->rows < 2) return;
    for (size_t i = first + 1; i < p->n; i++)
        if (p->items[i].version != p->items[first].version || p->items[i].source != p->items[first].source)
            return;
    p->items[first] = (dt__wire_region){ a->addr, a->size, a->rows, a->stride,
                                         p->items[first].version, 0, p->items[first].source };
    p->n = first + 1;
}

typedef struct release_ctx { uint64_t version, valid; } release_ctx;

static void release_piece(void *ctx, dt__frag *f)
{
    release_ctx *c = ctx;
    f->version = c->version;
    f->state = c->valid;
}

/* t as an OFFLOAD or PUSH message (accesses carry their write versions). */
static void *encode_task(const dt__task *t, int type, const dt__wire_region *fetch, size_t nfetch,
                         const dt__wire_region *back, size_t nback, size_t *len)
{
    dt__wire_region *acc = dt__xmalloc(sizeof *acc * (t->nacc ? t->nacc : 1));
    for (uint32_t i = 0; i < t->nacc; i++) {
        const dt__access *a = &t->acc[i];
        acc[i] = (dt__wire_region){ a->addr, a->size, a->rows, a->stride, a->writes ? a->version : 0,
                                    a->mode, -1 };
    }
    dt__msg m = { .type = type, .task_id = (uint64_t)(uintptr_t)t, .type_id = (uint32_t)t->type,
                  .type_hash = dt__hash_name(dt__types[t->type].name), .args_size = (uint32_t)t->args_size,
                  .nacc = t->nacc, .nfetch = (uint32_t)nfetch, .nback = (uint32_t)nback,
                  .priority = t->priority, .args = t->args,
                  .acc = acc, .fetch = fetch, .back = back, .label = t->label };
    void *msg = dt__msg_offload(&m, len);
    free(acc);
    return msg;
}

/* Places t on rank r: works out what r must fetch, records t's writes in
 * the directory (from now on r is where their latest version lives, even
 * before t runs: tasks placed there early wait for it in r's version cache)
 * and sends t off, or here waits for its data.  Under C.lock, which it
 * releases. */
static void place(dt__task *t, int r)
{
    plan_ctx p = { .target = r };
    for (uint32_t i = 0; i < t->nacc; i++) {
        dt__access *a = &t->acc[i];
        if (!a->size) continue;
        p.reads = (a->mode & 0xFF) != DT_OUT;
        plan_access(&p, a);
    }
    /* After all the reads (its accesses may overlap each other).  Tasks
     * that run here are recorded when they release their bytes instead:
     * concurrent or commutative siblings placed meanwhile still read the
     * version this rank holds. */
    for (uint32_t i = 0; i < t->nacc; i++) {
        dt__access *a = &t->acc[i];
        if (!a->writes || !a->size) continue;
        a->version = (++C.next_version << 8) | (uint64_t)r;
        release_ctx c = { a->version, 1ull << r };
        if (r != C.rank) FOR_ROWS(a, s, e) walk(&C.dir, s, e, C.hole_version, 1u << C.rank, release_piece, &c);
    }
    t->placed_rank = r;                          /* where it runs, for the release hook */
    atomic_store_explicit(&t->ns_where, r + 1, memory_order_release);
    atomic_fetch_add(&C.load[r], 1);
    dt__vec ready;
    dt__vec_init(&ready);
    if (r == C.rank) {
        waiter *w = dt__xmalloc(sizeof *w);
        memset(w, 0, sizeof *w);
        w->kind = W_TASK;
        w->task = t;
        w->count = 1;
        for (size_t i = 0; i < p.n; i++) acquire(&p.items[i], p.items[i].source, 0, w);
        if (--w->count == 0) waiter_fire(w, &ready);
        pthread_mutex_unlock(&C.lock);
        free(p.items);
        ready_all(&ready);
        return;
    }
    dt__task_ref(t);                             /* until the target reports back */
    /* Bytes this rank holds go with the task unasked (a request would wait
     * for a rank whose workers are busy, a round trip per fetch). */
    size_t nsend = 0;
    for (size_t i = 0; i < p.n; i++)
        if (p.items[i].source == C.rank && C.eager_send) {
            p.items[i].mode = push_tag();
            nsend++;
        }
    atomic_fetch_add_explicit(&C.n_eager, nsend, memory_order_relaxed);
    size_t len;
    void *msg = encode_task(t, DT_MSG_OFFLOAD, p.items, p.n, NULL, 0, &len);
    /* Posted before the lock goes: a task planned after this one (on another
     * thread) may count on what this one brings to rank r, so its message
     * must not overtake this one. */
    post_ctrl(r, msg, len);
    pthread_mutex_unlock(&C.lock);
    for (size_t i = 0; i < p.n && nsend; i++)
        if (p.items[i].mode) send_when_held(&p.items[i], r, p.items[i].mode);
    free(p.items);
    atomic_fetch_add_explicit(&C.n_offloaded, 1, memory_order_relaxed);
}

/* Balance: a ready task waits on rank 0 until some rank has room for it,
 * a worker with nothing to do first, else a place in a queue of one task
 * per worker (its data travels while the task before it runs).  Tasks
 * committed to a rank cannot move, so a rank whose tasks take longer than
 * expected keeps only what it can start soon, and the others take the
 * rest, highest priority first, as the workers of one process would. */
static int room_for(dt__task *t)
{
    for (int queued = 0; queued <= 1; queued++) {
        int cand[MAX_RANKS], n = 0;
        for (int r = 0; r < C.nranks; r++)
            if (atomic_load(&C.load[r]) < C.workers[r] * (1 + queued)) cand[n++] = r;
        if (n == 1) return cand[0];
        if (!n) continue;
        /* several: the one holding most of its bytes, then the least loaded */
        score_ctx sc;
        score_task(t, &sc);
        int best = cand[0];
        for (int i = 1; i < n; i++) {
            int r = cand[i];
            if (sc.bytes[r] > sc.bytes[best] ||
                (sc.bytes[r] == sc.bytes[best] && atomic_load(&C.load[r]) < atomic_load(&C.load[best])))
                best = r;
        }
        return best;
    }
    return -1;
}

/* Places pooled tasks while some rank has room for them. */
static void drain_pool(void)
{
    for (;;) {
        pthread_mutex_lock(&C.lock);
        dt__task *t = dt__heap_peek(&C.pool);
        int r = t ? room_for(t) : -1;
        if (r < 0) {
            pthread_mutex_unlock(&C.lock);
            return;
        }
        dt__heap_pop(&C.pool);
        place(t, r);
    }
}

void dt__cluster_slot_freed(void)
{
    if (C.policy == DT__SCHED_BALANCE && C.rank == 0) drain_pool();
}

void dt__cluster_ran_here(dt__task *t) { atomic_fetch_sub(&C.load[t->placed_rank], 1); }

static void finish_later(dt__task *t)
{
    outmsg *m = out_new(OUT_FINISH, 0);
    m->task = t;
    post(m);
}

static bool placeable(const dt__task *t)
{
    return dt__cluster_active && C.rank == 0 && t->parent == &dt__root && !(t->flags & DT_TF_WAITON);
}

static void push(dt__task *t);

bool dt__cluster_intercept(dt__task *t)
{
    if (!placeable(t)) {
        /* a nested task bound for another rank (api.c let only such through) */
        if (t->node < 0 || t->node == C.rank) return false;
        push(t);
        return true;
    }
    pthread_mutex_lock(&C.lock);
    if (atomic_load(&t->placed)) {
        /* Here: its data has come, run it.  Elsewhere: it was placed early
         * and runs there once its predecessors there are done. */
        bool elsewhere = t->placed_rank != C.rank;
        pthread_mutex_unlock(&C.lock);
        /* we may be inside a release here: finish it from the progress path */
        if (elsewhere && (atomic_fetch_or(&t->ns_state, NS_READY) & NS_DONE)) finish_later(t);
        return elsewhere;
    }
    atomic_store(&t->placed, true);
    atomic_store(&t->ns_state, NS_READY);
    int r = choose_rank(t, -1);
    if (r < 0) {
        dt__heap_push(&C.pool, t);
        pthread_mutex_unlock(&C.lock);
        drain_pool();
        return true;
    }
    place(t, r);
    return true;
}

void dt__cluster_edge(const dt__task *pred, dt__task *succ)
{
    if (succ->ns_pred < 0 || succ->parent != &dt__root || C.rank != 0 || !C.name_space) return;
    int where = atomic_load_explicit(&pred->ns_where, memory_order_acquire);
    /* not placed yet, or placed here: its release comes from this rank */
    if (where <= C.rank + 1 || (succ->ns_pred && succ->ns_pred != where)) succ->ns_pred = -1;
    else succ->ns_pred = where;
}

void dt__cluster_place_early(dt__task *t)
{
    int r = t->ns_pred - 1;
    if (!placeable(t)) return;
    pthread_mutex_lock(&C.lock);
    /* it may have become ready meanwhile (and been placed), or the policy
       may want it elsewhere: then it is placed when it becomes ready */
    if (atomic_load(&t->placed) || choose_rank(t, r) != r) {
        pthread_mutex_unlock(&C.lock);
        return;
    }
    atomic_store(&t->placed, true);
    atomic_fetch_add_explicit(&C.n_early, 1, memory_order_relaxed);
    place(t, r);
}

void dt__cluster_released(dt__access *a)
{
    /* the directory learnt of other ranks' writes when they were placed */
    if (!a->writes || !a->size || a->task->placed_rank != C.rank) return;
    release_ctx c = { a->version, 1ull << C.rank };
    dt__wire_region reg = { a->addr, a->size, a->rows, a->stride, a->version, 0, 0 };
    pthread_mutex_lock(&C.lock);
    FOR_ROWS(a, s, e) walk(&C.dir, s, e, C.hole_version, 1u << C.rank, release_piece, &c);
    cache_set(&reg, a->version, NULL);
    pthread_mutex_unlock(&C.lock);
}

/* A task that ran elsewhere is done there and ready here: release it. */
static void finish(dt__task *t)
{
    dt__cluster_ran_here(t);
    dt__task_body_end(t);
    dt__task_unref(t);
    dt__cluster_slot_freed();
}

static void pushed_done(dt__task *t);

static void handle_done(const dt__msg *m, int peer)
{
    dt__task *t = (dt__task *)(uintptr_t)m->task_id;
    if (t->pushed) {
        if (t->pushed->target != peer) die("rank %d reports the completion of a task it was not given", peer);
        pushed_done(t);
        return;
    }
    if (!atomic_load(&t->placed) || t->placed_rank != peer)
        die("rank %d reports the completion of a task it was not given", peer);
    /* A task placed early may be done there before its predecessors'
     * completions have reached us (they released it there before they
     * completed): it is finished once it is ready here too. */
    if (atomic_fetch_or(&t->ns_state, NS_DONE) & NS_READY) finish(t);
}

/* A worker ended a task: send what it posted (its completion, its
 * successors' placement) and answer what came while it ran.  At most every
 * 20 us per thread: a chain of tiny tasks would pay an MPI poll each and
 * send each completion alone (the progress thread, woken by the post,
 * sends those together). */
void dt__cluster_task_end(void)
{
    static DT_TLS uint64_t last_poll;
    uint64_t now = dt__now_ns();
    if (now - last_poll < 20000) return;
    last_poll = now;
    dt__cluster_poll();
}

/* ---- bringing data back to rank 0 --------------------------------------------- */

/* Pieces written by one task's 2-D access share a version: sorted by
 * version and address, runs of equal rows at a constant stride become one
 * strided region again (one message instead of one per row). */
static int cmp_item(const void *a, const void *b)
{
    const dt__wire_region *x = a, *y = b;
    if (x->version != y->version) return x->version < y->version ? -1 : 1;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static size_t coalesce_rows(dt__wire_region *it, size_t n)
{
    if (n < 2) return n;
    qsort(it, n, sizeof *it, cmp_item);
    size_t out = 0;
    for (size_t i = 0; i < n;) {
        dt__wire_region r = it[i++];
        if (r.rows == 1 && i < n && it[i].rows == 1 && it[i].version == r.version &&
            it[i].source == r.source && it[i].size == r.size && it[i].addr >= r.addr + r.size) {
            uint64_t stride = it[i].addr - r.addr;
            while (i < n && it[i].rows == 1 && it[i].version == r.version && it[i].source == r.source &&
                   it[i].size == r.size && it[i].addr == r.addr + r.rows * stride) {
                r.rows++;
                i++;
            }
            r.stride = stride;
        }
        it[out++] = r;
    }
    return out;
}

typedef struct back_ctx { plan_ctx plan; } back_ctx;

static void back_piece(void *ctx, dt__frag *f)
{
    back_ctx *b = ctx;
    if (f->state & (1ull << C.rank)) return;
    plan_piece(&b->plan, f);
}

void dt__cluster_bring_back(const dt__access *acc, size_t n)
{
    if (!dt__cluster_active || C.rank != 0) return;
    back_ctx b = { { .target = C.rank, .reads = true } };
    atomic_int flag = 0;
    waiter *w = dt__xmalloc(sizeof *w);
    memset(w, 0, sizeof *w);
    w->kind = W_FLAG;
    w->flag = &flag;
    dt__vec ready;
    dt__vec_init(&ready);
    pthread_mutex_lock(&C.lock);
    if (!acc) {
        for (dt__frag *f = dt__rtree_first(&C.dir); f; f = dt__rtree_next(f)) back_piece(&b, f);
    } else {
        for (size_t i = 0; i < n; i++) {
            if (!acc[i].size) continue;
            FOR_ROWS(&acc[i], s, e) walk(&C.dir, s, e, C.hole_version, 1u << C.rank, back_piece, &b);
        }
    }
    w->count = 1;
    b.plan.n = coalesce_rows(b.plan.items, b.plan.n);
    for (size_t i = 0; i < b.plan.n; i++) acquire(&b.plan.items[i], b.plan.items[i].source, 0, w);
    if (--w->count == 0) waiter_fire(w, &ready);
    pthread_mutex_unlock(&C.lock);
    free(b.plan.items);
    ready_all(&ready);
    while (!atomic_load(&flag)) {
        dt__cluster_poll();
        dt__futex_wait(&flag, 0, C.progress_thread ? 10 * 1000 * 1000L : 20 * 1000L);
    }
    /* From now on the program may write these bytes directly: they get a
     * version no other rank holds, so nobody trusts an old copy. */
    pthread_mutex_lock(&C.lock);
    uint64_t v = (++C.next_version << 8) | ROOT_WROTE;
    if (!acc) {
        tree_free(&C.dir);
        tree_free(&C.cache);
        C.hole_version = v;
    } else {
        release_ctx c = { v, 1ull << C.rank };
        for (size_t i = 0; i < n; i++) {
            if (!acc[i].size) continue;
            FOR_ROWS(&acc[i], s, e) walk(&C.dir, s, e, C.hole_version, 1u << C.rank, release_piece, &c);
            dt__wire_region reg = { acc[i].addr, acc[i].size, acc[i].rows, acc[i].stride, v, 0, 0 };
            cache_set(&reg, v, NULL);
        }
    }
    pthread_mutex_unlock(&C.lock);
}

void dt__cluster_forget(uintptr_t addr, size_t size)
{
    if (!dt__cluster_active || C.rank != 0 || !size) return;
    pthread_mutex_lock(&C.lock);
    uint64_t v = (++C.next_version << 8) | ROOT_WROTE;
    release_ctx c = { v, 1ull << C.rank };
    walk(&C.dir, addr, addr + size, C.hole_version, 1u << C.rank, release_piece, &c);
    dt__wire_region reg = { addr, size, 1, size, v, 0, 0 };
    cache_set(&reg, v, NULL);
    pthread_mutex_unlock(&C.lock);
}

/* ---- nested tasks pushed to another rank ------------------------------------------ */

/* On the creator's rank, the parent holds all the bytes of a nested task
 * (a task's data is on its rank before it starts, and its children's
 * accesses lie inside its own).  So the creator pushes the bytes the task
 * reads along with it and receives the bytes it writes back before
 * releasing it: no directory is involved, and the version caches keep
 * describing only versions rank 0 handed out (the pushed bytes belong to a
 * version that is being written, which no one else can ask for). */

static void union_piece(void *ctx, dt__frag *f)
{
    if (f->state) *(bool *)ctx = true;
    f->state = 1;
}

static uint64_t region_end(const dt__wire_region *r) { return r->addr + (r->rows - 1) * r->stride + r->size; }

/* The bytes t reads (or writes), each once: MPI must not receive into
 * overlapping buffers at the same time, so accesses that overlap each other
 * are cut into disjoint pieces (rows of equal size at one stride still
 * travel as one message). */
static dt__wire_region *transfer_list(const dt__task *t, bool writes, size_t *n)
{
    dt__wire_region *v = dt__xmalloc(sizeof *v * (t->nacc ? t->nacc : 1));
    size_t k = 0;
    for (uint32_t i = 0; i < t->nacc; i++) {
        const dt__access *a = &t->acc[i];
        if (!a->size || (writes ? !a->writes : (a->mode & 0xFF) == DT_OUT)) continue;
        v[k++] = (dt__wire_region){ a->addr, a->size, a->rows, a->stride, 0, 0, 0 };
    }
    bool spans_meet = false, overlap = false;
    for (size_t i = 0; i < k && !spans_meet; i++)
        for (size_t j = 0; j < i; j++)
            if (v[i].addr < region_end(&v[j]) && v[j].addr < region_end(&v[i])) spans_meet = true;
    if (spans_meet) {
        dt__rtree u = { NULL, 0 };
        for (size_t i = 0; i < k; i++)
            FOR_ROWS(&v[i], s, e) walk(&u, s, e, 0, 0, union_piece, &overlap);
        if (overlap) {
            free(v);
            v = dt__xmalloc(sizeof *v * (u.count ? u.count : 1));
            k = 0;
            for (dt__frag *f = dt__rtree_first(&u); f; f = dt__rtree_next(f))
                v[k++] = (dt__wire_region){ f->start, f->end - f->start, 1, f->end - f->start, 0, 0, 0 };
            k = coalesce_rows(v, k);
        }
        tree_free(&u);
    }
    *n = k;
    return v;
}

typedef struct held_ctx { uint64_t version; bool first, mixed; } held_ctx;

static void held_piece(void *ctx, dt__frag *f)
{
    held_ctx *h = ctx;
    if (f->state != ST_PRESENT || (!h->first && f->version != h->version)) h->mixed = true;
    h->version = f->version;
    h->first = false;
}

/* The one version this rank's cache says all of r is in, or 0.  Bytes a
 * task here may have rewritten since still carry the version they had: a
 * version that is dead by then (a task writing them is under way), which no
 * one will ask for again.  Under C.lock. */
static uint64_t held_version(const dt__wire_region *r)
{
    held_ctx h = { 0, true, false };
    FOR_ROWS(r, s, e) walk(&C.cache, s, e, C.hole_version, cache_hole_state(), held_piece, &h);
    return h.mixed ? 0 : h.version;
}

/* On t's creator's rank, t ready: send it with the bytes it reads. */
static void push(dt__task *t)
{
    size_t nin, nout;
    dt__wire_region *in = transfer_list(t, false, &nin), *out = transfer_list(t, true, &nout);
    pushed *pu = dt__xmalloc(sizeof *pu + sizeof *out * nout);
    pu->target = t->node;
    pu->nback = (uint32_t)nout;
    pthread_mutex_lock(&C.lock);
    for (size_t i = 0; i < nin; i++) {
        in[i].mode = push_tag();
        in[i].version = held_version(&in[i]);
    }
    for (size_t i = 0; i < nout; i++) out[i].mode = pull_tag();
    pthread_mutex_unlock(&C.lock);
    memcpy(pu->back, out, sizeof *out * nout);
    t->pushed = pu;
    dt__task_ref(t);                    /* until it is back */
    size_t len;
    void *msg = encode_task(t, DT_MSG_PUSH, in, nin, out, nout, &len);
    post_ctrl(pu->target, msg, len);    /* before its data: the target learns the tags from it */
    for (size_t i = 0; i < nin; i++) send_data(&in[i], pu->target, in[i].mode);
    free(in);
    free(out);
    atomic_fetch_add_explicit(&C.n_pushed, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&C.n_offloaded, 1, memory_order_relaxed);
}

static void pushed_finish(dt__task *t)
{
    free(t->pushed);
    t->pushed = NULL;
    dt__task_body_end(t);
    dt__task_unref(t);
}

/* Its target says it completed; its writes were sent before that. */
static void pushed_done(dt__task *t)
{
    pushed *pu = t->pushed;
    if (!pu->nback) {
        pushed_finish(t);
        return;
    }
    atomic_store(&pu->left, pu->nback);
    for (uint32_t i = 0; i < pu->nback; i++) {
        post_recv(pu->target, &pu->back[i], pu->back[i].mode, NULL, t);
    }
}

/* ---- the progress thread -------------------------------------------------------- */

static void track(MPI_Request req, MPI_Datatype type, outmsg *m)
{
    if (C.nfl == C.capfl) {
        C.capfl = C.capfl ? C.capfl * 2 : 64;
        C.fl = realloc(C.fl, sizeof *C.fl * C.capfl);
        if (!C.fl) dt__fatal("out of memory");
    }
    C.fl[C.nfl++] = (inflight){ req, type, m };
}

static MPI_Datatype region_type(const dt__wire_region *r, int *count)
{
    if (r->size > INT32_MAX || r->rows > INT32_MAX || r->stride > INT32_MAX)
        die("a region of %llu rows of %llu bytes is too large for one MPI message",
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

static void start_out(outmsg *m)
{
    MPI_Request req;
    int count;
    MPI_Datatype t;
    switch (m->kind) {
    case OUT_CTRL:
        MPI_Isend(m->buf, (int)m->len, MPI_BYTE, m->peer, TAG_CTRL, C.comm, &req);
        track(req, MPI_DATATYPE_NULL, m);
        break;
    case OUT_RECV:
        t = region_type(&m->region, &count);
        MPI_Irecv((void *)(uintptr_t)m->region.addr, count, t == MPI_DATATYPE_NULL ? MPI_BYTE : t,
                  m->peer, (int)m->tag, C.comm, &req);
        track(req, t, m);
        break;
    default:
        t = region_type(&m->region, &count);
        MPI_Isend((void *)(uintptr_t)m->region.addr, count, t == MPI_DATATYPE_NULL ? MPI_BYTE : t,
                  m->peer, (int)m->tag, C.comm, &req);
        track(req, t, m);
        break;
    }
    if (m->kind != OUT_RECV && C.bell[m->peer]) ring_peer(C.bell[m->peer]);
}

static void finish_out(outmsg *m)
{
    if (m->kind == OUT_RECV && m->task) {
        if (atomic_fetch_sub(&m->task->pushed->left, 1) == 1) pushed_finish(m->task);
    } else if (m->kind == OUT_RECV) {
        dt__vec ready;
        dt__vec_init(&ready);
        pthread_mutex_lock(&C.lock);
        if (m->region.version) cache_set(&m->region, m->region.version, m->pend);
        pending_done(m->pend, &ready);
        pthread_mutex_unlock(&C.lock);
        ready_all(&ready);
    }
    free(m->buf);
    free(m);
}

static void handle_ctrl(void *buf, size_t len, int peer)
{
    dt__msg m;
    const char *why;
    if (dt__msg_decode(buf, len, &m, &why)) die("malformed message from rank %d: %s", peer, why);
    switch (m.type) {
    case DT_MSG_OFFLOAD:
    case DT_MSG_PUSH: handle_offload(&m, peer); break;
    case DT_MSG_DONE: handle_done(&m, peer); break;
    case DT_MSG_DATA_REQ: handle_data_req(&m, peer); break;
    default:
        atomic_store(&C.shutdown, 1);
        dt__sched_wake_all();
        break;
    }
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
        if (m->kind == OUT_CTRL) atomic_fetch_add_explicit(&C.n_ctrl, 1, memory_order_relaxed);
        if (m->kind == OUT_CTRL && C.aggregate) {
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
                        atomic_fetch_add_explicit(&C.n_ctrl, 1, memory_order_relaxed);
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
        if (m->kind == OUT_CTRL) atomic_fetch_add_explicit(&C.n_mpi_ctrl, 1, memory_order_relaxed);
        *tail = m;
        tail = &m->next;
    }
    return out;
}

static bool progress_once(void)
{
    bool did = false;
    pthread_mutex_lock(&C.out_lock);
    outmsg *m = C.out_head;
    C.out_head = C.out_tail = NULL;
    pthread_mutex_unlock(&C.out_lock);
    m = coalesce(m);
    while (m) {
        outmsg *next = m->next;
        if (m->kind == OUT_FINISH) {
            finish(m->task);
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
        MPI_Improbe(MPI_ANY_SOURCE, TAG_CTRL, C.comm, &flag, &msg, &st);
        /* With MPICH (ch4:ucx) the first probe after a nap misses a message
           that arrived meanwhile (it matches before it progresses the
           transport); a second sees it.  Measured on the Cholesky
           benchmark: completions were read by a busy rank 0 1.0-1.4 ms
           (median) after they were sent with one probe, 0.8 ms with two. */
        if (!flag && !probed) MPI_Improbe(MPI_ANY_SOURCE, TAG_CTRL, C.comm, &flag, &msg, &st);
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
                if (h.magic == DT_MSG_MAGIC && h.length <= one - sizeof h) one = sizeof h + h.length;
            }
            handle_ctrl(buf + off, one, st.MPI_SOURCE);
            off += one;
        } while (off < (size_t)count);
        free(buf);
        did = true;
    }
    for (size_t i = 0; i < C.nfl;) {
        int flag;
        MPI_Test(&C.fl[i].req, &flag, MPI_STATUS_IGNORE);
        if (!flag) { i++; continue; }
        inflight f = C.fl[i];
        C.fl[i] = C.fl[--C.nfl];
        if (f.type != MPI_DATATYPE_NULL) MPI_Type_free(&f.type);
        finish_out(f.m);
        did = true;
    }
    return did;
}

/* Workers, at the end of each task and while they wait for work. */
/* Messages wait until this rank's dt_init is done: a task offloaded here
 * must not run while the runtime is still starting (its calls would fail). */
static bool serving(void) { return atomic_load_explicit(&dt__rt.state, memory_order_acquire) != DT_STATE_NEW; }

bool dt__cluster_poll(void)
{
    if (!dt__cluster_active || atomic_load(&C.stop) || !serving()) return false;
    if (pthread_mutex_trylock(&C.poll_lock)) return false;
    bool did = false;
    /* checked again under the lock: dt__cluster_finalize sets it under the lock */
    while (!atomic_load(&C.stop) && progress_once()) did = true;
    pthread_mutex_unlock(&C.poll_lock);
    if (did) atomic_fetch_add_explicit(&C.worker_polls, 1, memory_order_relaxed);
    return did;
}

static void *progress_main(void *arg)
{
    (void)arg;
    /* short sleeps must be short: the default 50 us timer slack would add
       that much latency to every message that arrives while we nap */
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
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
    unsigned seen = atomic_load(&C.worker_polls);
    while (!serving()) dt__futex_wait_shared(&C.mine->rings, atomic_load(&C.mine->rings), nap_min);
    for (;;) {
        /* read before polling: a bell rung after this wakes the nap below */
        int rings = atomic_load(&C.mine->rings);
        pthread_mutex_lock(&C.poll_lock);
        bool did = progress_once();
        bool transfers = C.nfl != 0;         /* workers change it under the lock */
        pthread_mutex_unlock(&C.poll_lock);
        if (atomic_load(&C.stop) && !transfers && outbox_empty()) break;
        unsigned polls = atomic_load_explicit(&C.worker_polls, memory_order_relaxed);
        if (did || polls != seen) {
            seen = polls;
            nap = nap_min;
            if (did) continue;
        }
        long ns = nap_idle;
        bool all_busy = dt__sched_sleepers() == 0;
        if (all_busy) {
            ns = nap;
            nap = nap * 2 > nap_max ? nap_max : nap * 2;
        } else {
            rings = atomic_load(&C.mine->rings);   /* rings meant for the polling workers */
        }
        atomic_store(&C.mine->listening, all_busy);
        atomic_store(&C.mine->sleeping, 1);
        if (outbox_empty()) dt__futex_wait_shared(&C.mine->rings, rings, ns);
        atomic_store(&C.mine->sleeping, 0);
    }
    dt__task_thread_exit();
    struct rusage ru;
    if (!getrusage(RUSAGE_THREAD, &ru))
        C.progress_cpu_ms = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
                            (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
    return NULL;
}

/* ---- lifecycle ------------------------------------------------------------------- */

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

int dt__cluster_init(int *argc, char ***argv, int *local_rank, int *local_size)
{
    int inited, provided;
    MPI_Initialized(&inited);
    C.use_mpi = inited || launched_by_mpi();
    if (!C.use_mpi) {
        C.rank = 0;
        C.nranks = 1;
        dt__rt.rank = 0;
        dt__rt.nranks = 1;
        dt__cluster_active = false;
        return DT_OK;
    }
    if (!inited) {
        if (MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS) return DT_ESYS;
        C.mpi_owned = true;
    } else {
        MPI_Query_thread(&provided);
    }
    if (provided < MPI_THREAD_SERIALIZED) return DT_ESYS;
    MPI_Comm_dup(MPI_COMM_WORLD, &C.comm);
    MPI_Comm_rank(C.comm, &C.rank);
    MPI_Comm_size(C.comm, &C.nranks);
    if (C.nranks > MAX_RANKS) return DT_ELIMIT;
    int r = dt__cluster_check_launcher(C.nranks);
    if (r) return r;
    MPI_Comm node;
    MPI_Comm_split_type(C.comm, MPI_COMM_TYPE_SHARED, C.rank, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, local_rank);
    MPI_Comm_size(node, local_size);
    MPI_Comm_free(&node);
    dt__rt.rank = C.rank;
    dt__rt.nranks = C.nranks;
    /* offload is dt_main's cluster mode: a program that calls dt_init itself
       runs on every rank, each rank a runtime of its own */
    dt__cluster_active = C.nranks > 1 && dt__rt.cluster_mode;
    return DT_OK;
}

void dt__cluster_free_labels(void)
{
    for (size_t i = 0; i < nlabels; i++) free(labels[i]);
    free(labels);
    labels = NULL;
    nlabels = 0;
}

/* Waits for a collective without spinning.  MPICH busy-polls inside its
 * blocking calls: a rank spinning in MPI_Barrier at dt_finalize, on a core
 * it shares with another rank's thread that has to finish a poll first,
 * kept that thread off the core for seconds (a test job hung, under TSan,
 * with more workers than cores).  Only the main thread calls these, while
 * no other thread drives MPI (before serving, or after the progress
 * thread and the workers stopped polling). */
static void wait_napping(MPI_Request *req)
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

uint64_t dt__cluster_bcast_u64(uint64_t v)
{
    MPI_Request req;
    MPI_Ibcast(&v, 1, MPI_UINT64_T, 0, C.comm, &req);
    wait_napping(&req);
    return v;
}

bool dt__cluster_all(bool ok)
{
    int mine = ok, all;
    MPI_Request req;
    MPI_Iallreduce(&mine, &all, 1, MPI_INT, MPI_LAND, C.comm, &req);
    wait_napping(&req);
    return all != 0;
}

/* Before the workers start: they read this state without locks. */
void dt__cluster_configure(void)
{
    C.name_space = dt__rt.name_space;
    C.eager_send = dt__rt.eager;
    C.hole_version = ROOT_WROTE;
    C.policy = dt__rt.policy;
    C.aggregate = dt__rt.aggregate;
    C.progress_thread = dt__rt.progress_thread;
    C.ring_peers = dt__rt.doorbell && C.progress_thread;
    C.mine = &C.own;
    C.bell_win = MPI_WIN_NULL;
    pthread_mutex_init(&C.poll_lock, NULL);
    pthread_mutex_init(&C.lock, NULL);
    pthread_mutex_init(&C.out_lock, NULL);
    dt__heap_init(&C.pool);
    memset(&C.remote_root, 0, sizeof C.remote_root);
    atomic_init(&C.remote_root.refs, 1);
    C.remote_root.flags = DT_TF_ROOT;
    C.remote_root.label = "offloaded";
}

/* One bell per rank of this node in a shared MPI window (collective on
 * the node). */
static void open_doorbells(void)
{
    MPI_Comm node;
    MPI_Comm_split_type(C.comm, MPI_COMM_TYPE_SHARED, C.rank, MPI_INFO_NULL, &node);
    int nlocal, world[MAX_RANKS];
    MPI_Comm_size(node, &nlocal);
    MPI_Request req;
    MPI_Iallgather(&C.rank, 1, MPI_INT, world, 1, MPI_INT, node, &req);
    wait_napping(&req);
    doorbell *base;
    MPI_Win_allocate_shared(sizeof(doorbell), sizeof(doorbell), MPI_INFO_NULL, node, &base, &C.bell_win);
    memset(base, 0, sizeof *base);
    for (int i = 0; i < nlocal; i++) {
        MPI_Aint size;
        int unit;
        doorbell *b;
        MPI_Win_shared_query(C.bell_win, i, &size, &unit, &b);
        if (world[i] == C.rank) C.mine = b;
        else C.bell[world[i]] = b;
    }
    /* no one rings a bell before its owner has cleared it */
    MPI_Ibarrier(node, &req);
    wait_napping(&req);
    MPI_Comm_free(&node);
}

int dt__cluster_start(void)
{
    if (!dt__cluster_active) return DT_OK;
    /* worker counts, and whether every rank wants doorbells (opening them
       is collective: settings that differ between ranks must not hang) */
    int mine[2] = { dt__rt.nworkers, C.ring_peers }, all[2 * MAX_RANKS];
    MPI_Request req;
    MPI_Iallgather(mine, 2, MPI_INT, all, 2, MPI_INT, C.comm, &req);
    wait_napping(&req);
    bool bells = true;
    for (int r = 0; r < C.nranks; r++) {
        C.workers[r] = all[2 * r];
        bells = bells && all[2 * r + 1];
    }
    if (bells) open_doorbells();
    if (!C.progress_thread) return DT_OK;
    if (pthread_create(&C.thread, NULL, progress_main, NULL)) return DT_ESYS;
    return DT_OK;
}

/* The other ranks' main threads serve offloaded tasks until rank 0 is done. */
static bool served(void *arg)
{
    (void)arg;
    return atomic_load(&C.shutdown) && dt__task_children_done(&C.remote_root);
}

void dt__cluster_finalize(void)
{
    if (dt__cluster_active) {
        if (C.rank == 0) {
            for (int r = 1; r < C.nranks; r++) {
                size_t len;
                void *msg_ = dt__msg_shutdown(&len);
                post_ctrl(r, msg_, len);
            }
        } else {
            atomic_store(&C.remote_root.waiting, 1);
            dt__sched_wait(served, NULL, NULL);
        }
        if (C.progress_thread) {
            pthread_mutex_lock(&C.poll_lock);      /* no worker polls once it is set */
            atomic_store(&C.stop, 1);
            pthread_mutex_unlock(&C.poll_lock);
            wake_progress();
            pthread_join(C.thread, NULL);
        } else {
            /* let the last sends finish */
            pthread_mutex_lock(&C.poll_lock);
            while (!outbox_empty() || C.nfl) progress_once();
            atomic_store(&C.stop, 1);
            pthread_mutex_unlock(&C.poll_lock);
        }
        if (dt__rt.stats)
            fprintf(stderr, "dtask stats: rank %d: offloaded %llu (placed early %llu, nested %llu), ran here %llu "
                    "(received from other ranks %llu), "
                    "control messages %llu in %llu MPI messages, fetches %llu (%llu bytes), pieces not "
                    "fetched because already held in their latest version %llu, progress thread CPU time %.1f ms, "
                    "regions sent unasked with their task %llu, doorbells rung %llu\n", C.rank,
                    (unsigned long long)C.n_offloaded, (unsigned long long)C.n_early, (unsigned long long)C.n_pushed,
                    (unsigned long long)dt__rt.n_ran, (unsigned long long)C.n_ran_here, (unsigned long long)C.n_ctrl,
                    (unsigned long long)C.n_mpi_ctrl, (unsigned long long)C.n_fetch,
                    (unsigned long long)C.n_fetch_bytes, (unsigned long long)C.n_fetch_skipped,
                    C.progress_cpu_ms, (unsigned long long)C.n_eager, (unsigned long long)C.n_rings);
        dt__deps_domain_free(C.remote_root.dom);
        C.remote_root.dom = NULL;
        free(C.fl);
        C.fl = NULL;
        C.nfl = C.capfl = 0;
        MPI_Request req;
        MPI_Ibarrier(C.comm, &req);
        wait_napping(&req);
        /* after the barrier: until every progress thread stopped, some rank may ring */
        if (C.bell_win != MPI_WIN_NULL) MPI_Win_free(&C.bell_win);
        memset(C.bell, 0, sizeof C.bell);
        C.mine = &C.own;
    }
    tree_free(&C.dir);
    tree_free(&C.cache);
    dt__heap_free(&C.pool);
    if (C.use_mpi) {
        MPI_Comm_free(&C.comm);
        if (C.mpi_owned) MPI_Finalize();
    }
    /* dt__cluster_active stays as it is: threads may still read it, and the
       runtime cannot be initialised again after dt_finalize */
}
