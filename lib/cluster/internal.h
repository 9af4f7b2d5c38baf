/* internal.h - what the files of the cluster layer share: the state of
 * this rank's part of the job (one struct, dt__cl), the objects that wait
 * for data, and each file's entry points.  Nothing outside lib/cluster/
 * includes this; the core reaches the layer through core/hooks.h.
 *
 * Files: transport.c (outbox, MPI requests, doorbells, progress),
 * vcache.c (every rank's version cache), directory.c (rank 0's data
 * directory: which transfers a task needs), placement.c (policies),
 * offload.c (the protocol: placing, offloading, pushing, completing),
 * spread.c (DT_NESTED: where nested tasks without a node hint run),
 * steal.c (DT_STEAL: idle ranks take tasks that have not started),
 * cluster.c (settings, start and stop, the hook table), msg.c (codec).
 *
 * Lock order: dt__cl.poll_lock -> dt__cl.lock -> dt__cl.out_lock; a task's
 * lock (deps) is never held while one of these is taken, except that
 * hooks.edge runs under it and takes none. */
#ifndef DT__CLUSTER_INTERNAL_H
#define DT__CLUSTER_INTERNAL_H

#include <mpi.h>
#include <pthread.h>
#include "base/rmap.h"
#include "cluster/msg.h"
#include "core/hooks.h"
#include "core/runtime.h"
#include "core/task.h"
#include "sched/sched.h"

#define DT__TAG_CTRL 1
/* version flag: written by rank 0's program itself, not by a task */
#define DT__ROOT_WROTE 0x40u
/* version flag: bytes pushed with a nested task in no version rank 0 gave
   out; unique to the receiving rank, so no one ever asks for it */
#define DT__PUSHED_HERE 0x80u
#define DT__MAX_RANKS 64
/* Versions carry the rank that wrote them in their low bits: that rank holds
 * the bytes for sure (others may still be receiving them). */
#define DT__VERSION_RANK(v) ((int)((v) & 0x3F))

/* dt__cltask.ns_state bits */
#define DT__NS_READY 1
#define DT__NS_DONE 2

/* version cache piece states; any other value is a pending * */
#define DT__ST_ABSENT 0u
#define DT__ST_PRESENT 1u

#define DT__FOR_ROWS(r, s, e)                                                 \
    for (uint64_t row_ = 0, s = 0, e = 0;                                     \
         row_ < (r)->rows && ((s = (r)->addr + row_ * (r)->stride), (e = s + (r)->size), 1); row_++)

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
    uint64_t sent_ns;                   /* when it left (steal.c times relays) */
    dt__wire_region back[];             /* mode: the tag */
} pushed;

enum { OUT_CTRL, OUT_RECV, OUT_SEND_DATA, OUT_FINISH };

typedef struct outmsg {
    int kind, peer;
    void *buf;
    size_t len;
    dt__wire_region region;     /* data transfers */
    uint32_t tag;
    pending *pend;              /* OUT_RECV: what the arrival satisfies */
    dt__task *task;             /* OUT_FINISH: to release; OUT_RECV: a pushed task's write-back */
    void *packed;               /* a 2-D region's bytes in a contiguous stage buffer */
    dt__wire_region src;        /* OUT_RECV: the bytes as the sender holds them (cma.c) */
    bool cma;                   /* OUT_RECV: read them by cma.c once the sender is ready */
    void (*done)(void *);       /* a taskiter's transfer (iter.c): call when it completed */
    void *done_arg;
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

/* DT_LEND (lend.c): the cores of a rank's configured workers (at most
 * DT__LEND_CORES), each with its state, changed by CAS only: DT__LEND_OWNED,
 * DT__LEND_LENT (its worker has no work), DT__LEND_BORROWED(r) (a guest of rank r
 * runs on it) or DT__LEND_RECLAIM(r) (the owner runs again and asked r's
 * guest to leave after its task). */
#define DT__LEND_CORES 32
#define DT__LEND_OWNED 0
#define DT__LEND_LENT 1
#define DT__LEND_BORROWED(r) (2 + 2 * (r))
#define DT__LEND_RECLAIM(r) (3 + 2 * (r))
typedef struct dt__lend_core {
    atomic_int state;
    int pu;                     /* OS index of its PU, -1 when workers are not bound */
} dt__lend_core;

/* One rank's slot of the node window: its doorbell, then its cores. */
typedef struct dt__node_slot {
    doorbell bell;
    atomic_int nlent;           /* the node's first slot only: cores in state LENT */
    int ncores;
    dt__lend_core core[DT__LEND_CORES];
    int pid;                    /* cma.c: the rank's process, */
    uint64_t probe_addr, probe_value;   /* a word there and what it holds, */
    uint64_t cma_reads;         /* the ranks whose memory it could read */
} dt__node_slot;

typedef struct inflight {
    MPI_Request req;
    MPI_Datatype type;          /* MPI_DATATYPE_NULL when none was made */
    outmsg *m;
    int wait;                   /* DT__FL_*: what its end needs */
} inflight;

/* What a request in flight needs to end soon (the progress thread's naps) */
enum {
    DT__FL_POLL,                /* this side's MPI progress, now and then */
    DT__FL_RUNG,                /* a poll once the peer rings this rank's bell */
    DT__FL_QUIET,               /* nothing waits for its end */
};

typedef struct dt__cl_state {
    MPI_Comm comm;
    bool use_mpi;               /* false: a plain single-process run */
    bool active;                /* a dt_main job of several ranks: offload */
    bool stats;                 /* DT_STATS */
    bool mpi_owned;
    int rank, nranks;
    int policy;
    pthread_t thread;
    atomic_int stop, shutdown;
    doorbell own;               /* the progress thread's bell when it has no shared one */
    doorbell *mine;             /* the bell it sleeps on */
    doorbell *bell[DT__MAX_RANKS];  /* of the ranks on this node (not this one): ring after a send */
    MPI_Win bell_win;           /* the node window (doorbells, lent cores); MPI_WIN_NULL: none */
    bool ring_peers;            /* DT_DOORBELL */
    bool cma;                   /* DT_CMA */
    int cma_pid[DT__MAX_RANKS]; /* of the ranks this one reads by cma.c, else 0 */
    MPI_Comm ack_comm;          /* cma.c's acks (MPI_COMM_NULL: no rank uses it) */
    pthread_mutex_t out_lock;
    outmsg *out_head, *out_tail;
    inflight *fl;
    size_t nfl, capfl;
    size_t nfl_wait[DT__FL_QUIET];  /* of those, how many of each DT__FL_* but QUIET */
    /* directory (rank 0) and version cache (every rank), under lock */
    pthread_mutex_t lock;
    dt__rmap dir, cache;        /* rectangles: a 2-D tile is one or two pieces */
    uint64_t next_version;
    uint64_t hole_version;       /* what bytes no task wrote since the last taskwait hold */
    uint32_t next_tag, next_push_tag;
    uint64_t next_local;         /* PUSHED_HERE versions */
    unsigned rr;
    atomic_int load[DT__MAX_RANKS];  /* tasks placed on each rank and not done */
    int workers[DT__MAX_RANKS];      /* worker threads of each rank */
    dt__heap pool;               /* balance: ready tasks waiting for room on some rank */
    dt__task remote_root;        /* parent of tasks offloaded to this rank */
    bool aggregate;              /* coalesce control messages to the same rank */
    bool progress_thread;        /* else workers alone drive MPI */
    bool name_space;             /* place tasks early where their predecessors are */
    bool eager_send;             /* send held bytes with an offloaded task, unasked */
    uint64_t remote_seq;         /* arrival order of offloaded tasks (under C.lock) */
    /* DT_NESTED=spread (spread.c): each rank of this node publishes in a
       shared word how many tasks it has queued or running */
    bool nested_spread;                 /* the setting */
    unsigned spread_min_ns;             /* DT_NESTED_MIN_US */
    atomic_bool spread;                 /* on: every rank asked for it and the words are open */
    atomic_int *loadw[DT__MAX_RANKS];   /* NULL: not on this node (or spread off) */
    atomic_int own_load;                /* this rank's word when there is no window */
    MPI_Win load_win;                   /* MPI_WIN_NULL when there is none */
    dt__heap spread_pool;               /* nested tasks waiting for room here or elsewhere */
    atomic_ullong n_iter_moved;  /* DT_STATS: bytes moved before taskiters' first iterations (rank 0 plans) */
    /* the distributed taskiter's channels (iter.c): requests in flight,
       under chan_lock; open channels (the progress thread's cue that the
       workers drive the transfers) */
    pthread_mutex_t chan_lock;
    MPI_Request *chan_req;
    struct dt__cl_chan **chan_of;
    atomic_size_t nchan_act;
    size_t capchan;
    atomic_int nchan_open;
    bool spread_nested;                 /* every rank asked DT_NESTED=spread */
    /* helper ranks (helpers.c) */
    int helpers;                 /* DT_HELPERS: helper ranks per application rank */
    bool helper;                 /* this rank is one */
    int napps;                   /* ranks whose dt_finalize a serving rank waits for */
    MPI_Comm app_comm;           /* the application ranks (MPI_COMM_NULL on serving ranks) */
    atomic_int far[DT__MAX_RANKS];  /* tasks this rank sent to each helper off its node, not back yet */
    pthread_mutex_t poll_lock;   /* one thread at a time drives MPI */
    atomic_uint worker_polls;    /* polls by workers that found something (progress thread back-off) */
    bool steal;                  /* DT_STEAL (steal.c) */
    bool lend;                   /* DT_LEND (lend.c) */
    unsigned steal_min_ns;       /* DT_STEAL_MIN_US */
    /* DT_STATS */
    double progress_cpu_ms;      /* CPU time of the progress thread (DT_STATS) */
    atomic_ullong n_offloaded, n_early, n_pushed, n_ran_here, n_ctrl, n_mpi_ctrl, n_fetch, n_fetch_bytes, n_fetch_skipped,
        n_eager, n_rings, n_spread, n_cma;
} dt__cl_state;
extern dt__cl_state dt__cl;

/* Called on a piece of a directory or cache during a walk (dt__cl_walk):
 * dt__cl_piece(map, f) is then the bytes it stands for. */
typedef void (*piece_fn)(void *ctx, dt__frag *f);

/* The bytes of fragment f of map m as a region (rows of its columns at the
 * map's stride; one MPI datatype), while m's walk or each is visiting f. */
static inline dt__wire_region dt__cl_piece(const dt__rmap *m, const dt__frag *f)
{
    uint64_t n = f->end - f->start;
    if (!m->stride) return (dt__wire_region){ f->start, n, 1, n, f->version, 0, 0 };
    return (dt__wire_region){ m->r0 * m->stride + f->start, n, m->r1 - m->r0, m->stride, f->version, 0, 0 };
}

/* The cluster layer's data of one task (dt__task.ext): rank 0's tasks
 * that it may place, nested tasks bound for another rank, and tasks
 * offloaded to this rank. */
typedef struct dt__cltask {
    /* rank 0 */
    int placed_rank;            /* the rank it runs on */
    atomic_bool placed;         /* placed (set by whichever thread made it ready) */
    atomic_int where;           /* 0 until placed, then placed rank + 1 */
    atomic_int ns_state;        /* placed elsewhere: NS_READY here / NS_DONE there */
    int ns_pred;                /* while registering: 0 no unreleased predecessor yet,
                                   r + 1 all of them placed on rank r, -1 otherwise */
    pushed *pushed;             /* a nested task sent to another rank */
    bool spread;                /* a nested task that may run elsewhere: DT_NESTED=spread
                                   may send it, or (DT_STEAL) a thief take it */
    bool pinned;                /* came here with a node hint or by a steal: stays */
    bool relayed;               /* steal.c sends it to a thief (pinned there) */
    bool run_now;               /* handed to a worker here that has nothing to do: not into steal.c's queue */
    unsigned relay_ahead_ns;    /* relayed: the thief's run time of the tasks given before it */
    bool counted;               /* in this rank's load word until it has run */
    /* offloaded here from another rank */
    bool remote;
    int origin;
    uint64_t origin_id;         /* its identity on the origin */
    pending *written;           /* what readers of its writes here wait for */
    uint32_t nback;             /* pushed here: regions to send back when it completes */
    dt__wire_region *back;      /* (mode: the tag) */
    uint64_t version[];         /* per access: the write version it creates */
} dt__cltask;

static inline dt__cltask *dt__cl_of(const dt__task *t) { return (dt__cltask *)t->ext; }


/* The transfers a task needs on rank `target` (directory.c). */
typedef struct plan_ctx {
    dt__rmap *dir;              /* the directory, and the version of bytes it does not list */
    uint64_t hole_version;
    int self;                   /* rank 0: holds what the directory does not list */
    int target;
    bool reads;                 /* the access reads: plan the pieces (else only count) */
    bool only_missing;          /* leave out the pieces target holds */
    dt__wire_region *items;     /* source: the rank to get it from, -1 if target holds it */
    size_t n, cap;
    uint64_t skipped;           /* pieces target holds in their latest version */
} plan_ctx;

/* transport.c */
/* One zeroed slot of `size` bytes per rank of this node in a shared MPI
   window (collective on the node): slot[r] for each rank r of the node.
   The caller ends with dt__cl_node_barrier on the returned communicator. */
MPI_Comm dt__cl_node_slots(size_t size, MPI_Win *win, void **slot);
void dt__cl_node_barrier(MPI_Comm node);
/* Waits for a collective request without spinning inside MPI. */
void dt__cl_wait_napping(MPI_Request *req);
uint64_t dt__cl_bcast_u64(uint64_t v);
bool dt__cl_all(bool ok);
bool dt__cl_poll(void);
void dt__cl_wake_progress(void);
void dt__cl_post(outmsg *m);
/* This thread's posts wait for dt__cl_flush_posts (which sends them, by
   polling if `poll`). */
void dt__cl_hold_posts(void);
void dt__cl_flush_posts(bool poll);
bool dt__cl_outbox_empty(void);
outmsg *dt__cl_out_new(int kind, int peer);
void dt__cl_post_ctrl(int peer, void *buf, size_t len);
outmsg *dt__cl_data_msg(int kind, int peer, const dt__wire_region *r, uint32_t tag);
void dt__cl_post_recv(int peer, const dt__wire_region *r, uint32_t tag, pending *pend, dt__task *pushed_task);
void dt__cl_send_data(const dt__wire_region *r, int peer, uint32_t tag);
bool dt__cl_progress_once(void);
/* One MPI datatype for r (MPI_DATATYPE_NULL: count bytes; else commit'ed,
 * the caller frees it). */
MPI_Datatype dt__cl_region_type(const dt__wire_region *r, int *count);
/* Completed taskiter channels' callbacks (iter.c; under poll_lock). */
bool dt__cl_chan_progress(void);
void *dt__cl_progress_main(void *arg);
/* The node window (collective on the node): doorbells if `bells`, the
   table of lent cores if `lend`, cma.c's probes if `cma`. */
void dt__cl_open_node(bool bells, bool lend, bool cma);

/* cma.c: node-local transfers read by the receiver (process_vm_readv) */
void dt__cl_cma_publish(dt__node_slot *mine);
void dt__cl_cma_probe(void **slot);
void dt__cl_cma_agree(void **slot);
int dt__cl_cma_peers(void);
bool dt__cl_cma_carries(int peer, const dt__wire_region *src, uint32_t tag);
void dt__cl_cma_read(int peer, const dt__wire_region *src, const dt__wire_region *into);

/* vcache.c */
uint64_t dt__cl_held_version(const dt__wire_region *r);
void dt__cl_receive_pushed(dt__wire_region r, int peer, waiter *w, pending **last);
/* stage.c: contiguous buffers kept for reuse (bytes rounded up to a power of two) */
void *dt__cl_stage_get(size_t bytes);
void dt__cl_stage_put(void *p, size_t bytes);
void dt__cl_stage_free_all(void);
pending *dt__cl_pending_new(void);
void dt__cl_pending_done(pending *p, dt__vec *ready);
void dt__cl_acquire(const dt__wire_region *r, int source, uint32_t pushed_tag, waiter *w);
void dt__cl_cache_mark(const dt__wire_region *r, uint64_t version, uint64_t state, pending *only);
void dt__cl_cache_set(const dt__wire_region *r, uint64_t version, pending *only);
void dt__cl_waiter_fire(waiter *w, dt__vec *ready);
void dt__cl_ready_all(dt__vec *ready);
void dt__cl_send_when_held(const dt__wire_region *r, int peer, uint32_t tag);
void dt__cl_handle_data_req(const dt__msg *m, int peer);

/* directory.c */
dt__wire_region *dt__cl_transfer_list(const dt__task *t, bool writes, size_t *n);
/* fn on the pieces of exactly r's bytes in m (holes filled with the hole
 * words); the first 2-D region gives m its stride. */
void dt__cl_walk(dt__rmap *m, const dt__wire_region *r, uint64_t hole_version, uint64_t hole_state, piece_fn fn,
                 void *ctx);
void dt__cl_tree_free(dt__rmap *m);
uint32_t dt__cl_pull_tag(void);
uint32_t dt__cl_push_tag(void);
/* Which transfers a task reading [the region] needs on p->target (a pure
   function of the directory, unit-tested without MPI): appends them to
   p->items and records target as a holder of those pieces. */
void dt__cl_dir_plan(plan_ctx *p, uintptr_t addr, size_t size, size_t rows, size_t stride);
/* Every piece p->target lacks (p->only_missing). */
void dt__cl_dir_plan_all(plan_ctx *p);
/* [the region] is now in `version`, held by the ranks in `valid`. */
void dt__cl_dir_record(dt__rmap *dir, uintptr_t addr, size_t size, size_t rows, size_t stride, uint64_t version,
                       uint64_t valid);
size_t dt__cl_coalesce_rows(dt__wire_region *it, size_t n);

/* placement.c: pure functions of a view of rank 0's state (unit-tested
   without MPI); DT_SCHEDULE's names are in the order of DT__SCHED_*. */
enum { DT__SCHED_LOCALITY, DT__SCHED_BALANCE, DT__SCHED_ROUND_ROBIN, DT__SCHED_LOCAL, DT__SCHED_COUNT };
typedef struct dt__cl_view {
    const dt__rmap *dir;        /* rank 0's directory */
    uint64_t hole_version;      /* the version of bytes it does not list */
    int nranks, self;
    const atomic_int *load;     /* tasks placed on each rank and not done */
    const int *workers;         /* worker threads of each rank */
    unsigned *rr;               /* round-robin's next turn */
} dt__cl_view;
/* The rank t runs on, or -1: it waits (balance: in the pool; `early` >= 0,
   asked for the namespace before t is ready: not there). */
typedef int (*dt__cl_policy_fn)(const dt__task *t, int early, const dt__cl_view *v);
extern const dt__cl_policy_fn dt__cl_policies[DT__SCHED_COUNT];
int dt__cl_choose_rank(const dt__task *t, int early, const dt__cl_view *v, int policy);
/* balance: a rank with room for t (an idle worker, else a short queue), or -1. */
int dt__cl_room_for(const dt__task *t, const dt__cl_view *v);
/* bytes[r]: how many of t's bytes rank r holds (nranks entries). */
void dt__cl_score_task(const dt__task *t, const dt__cl_view *v, uint64_t *bytes);
bool dt__cl_offloadable(const dt__task *t);

/* launcher.c: after MPI_Init: DT_ECONFIG, with a message, if MPICH sees
   nranks == 1 while another MPI's launcher started a job of several. */
int dt__cluster_check_launcher(int nranks);

/* offload.c */
void dt__cl_free_labels(void);
void dt__cl_fill_hooks(dt__hooks_t *h);
void dt__cl_drain_pool(void);
void dt__cl_finish(dt__task *t);
void dt__cl_pushed_finish(dt__task *t);
void dt__cl_handle_ctrl(void *buf, size_t len, int peer);
dt__cltask *dt__cl_ext_new(dt__task *t, uint32_t nback);
/* Sends nested task t to rank target with its bytes (`claimed`: the caller
   already counted it in target's load word). */
void dt__cl_push(dt__task *t, int target, bool claimed);

/* spread.c: DT_NESTED=spread */
void dt__cl_open_loads(void);
void dt__cl_close_loads(void);
/* This rank's load word once every task is done (0 unless the count drifted). */
int dt__cl_load_left(void);
/* t, ready here, counts in this rank's load until it has run. */
void dt__cl_count(dt__cltask *x);
void dt__cl_uncount(dt__cltask *x);
/* t (with cluster data) ran here: time its type (DT_NESTED=spread, DT_STEAL). */
void dt__cl_ran(dt__task *t);
/* The mean body time of the type's tasks that ran here, in ns (0: none yet). */
unsigned dt__cl_type_mean_ns(int type);
/* t was sent to rank r: counted in r's word (if on this node). */
void dt__cl_count_sent(int r);
/* A nested task with no cluster data and no node hint became ready:
   DT__READY_QUEUE (it runs here) or DT__READY_TAKEN. */
int dt__cl_spread_ready(dt__task *t);
/* A task pushed to rank r is back: with helpers, r has room again if it
   is off this node (its tasks are counted here, not in a shared word). */
void dt__cl_far_back(int r);
/* Hands pooled tasks to ranks with room (`idle`: a worker here has
   nothing to do, it takes one in any case).  True if it handed any. */
bool dt__cl_spread_drain(bool idle);

/* helpers.c: DT_HELPERS */
int dt__cl_helpers_configure(void);
/* After MPI_Init: refuses a bad layout (DT_ECONFIG, on every rank), then
   splits off the application ranks' communicator (collective). */
int dt__cl_helpers_join(void);
/* Does rank r serve other ranks' tasks (dt_main: all but 0; helpers)? */
bool dt__cl_serves(int r);
void dt__cl_helpers_fill_hooks(dt__hooks_t *h);
/* May nested task t run on another rank than its creator's (no node hint,
   strong accesses to the common address space only, not undeferred, final
   or replayed)?  spread.c */
bool dt__cl_movable(const dt__task *t);

/* lend.c: DT_LEND, idle cores lent to the other ranks of the node */
int dt__cl_lend_configure(void);
void dt__cl_lend_fill_hooks(dt__hooks_t *h);
/* The node window is open: slot[r] for each rank r of the node. */
void dt__cl_lend_open(void **slot);
/* Every rank of the node has listed its cores: lending starts. */
void dt__cl_lend_start(void);
/* dt_finalize, before the node window is freed: guests give their cores
   back, no thread here touches the table any more, this rank's cores are
   lent for good (its work is done); prints DT_STATS' line. */
void dt__cl_lend_close(void);

/* steal.c: DT_STEAL, lifeline-based stealing between ranks */
void dt__cl_steal_init(void);
/* Requests may go out (cluster_start). */
void dt__cl_steal_start(void);
/* dt_finalize, every rank, before the progress threads stop: no request
   goes out any more, each is answered, and the ranks meet (collective). */
void dt__cl_steal_drain(void);
void dt__cl_steal_fini(void);
/* t is about to be queued here: true if it waits in the steal queue instead. */
bool dt__cl_steal_keep(dt__task *t);
/* A worker here has nothing to do: it takes a task from the steal queue
   (true), ... */
bool dt__cl_steal_take(void);
/* ... or, finding none there nor in spread.c's pool, counts itself idle
   and starts a round of requests. */
void dt__cl_steal_idle(void);
/* This thread ran a task: it is not idle. */
void dt__cl_steal_busy(void);
/* A task came here from another rank (`stolen`: one this rank asked for):
   this rank has work again. */
void dt__cl_steal_got_work(bool stolen);
void dt__cl_handle_steal(const dt__msg *m, int peer);
void dt__cl_handle_steal_reply(const dt__msg *m, int peer);
void dt__cl_steal_stats(void);
/* Of n tasks queued in order of urgency whose types ran mean_ns[i] here
 * (0: not timed yet), how many a victim with nworkers, busy for busy_ns in
 * all with the tasks they run, keeps from a thief when a relay costs
 * cost_ns: at least the more urgent half, and every task its workers would
 * start before a relay would finish it. */
unsigned dt__cl_steal_keep_count(const unsigned *mean_ns, unsigned n, uint64_t busy_ns, uint64_t cost_ns,
                                 unsigned nworkers);
/* Relayed task t is back (its writes too), ns after it left. */
void dt__cl_steal_back(const dt__task *t, uint64_t ns);
/* Tasks placed on this rank have not finished (they wait for their data or
   predecessors, or were relayed to a thief): it is not out of work. */
bool dt__cl_work_coming(void);

/* iter.c: the distributed taskiter's part of the hook table, and its
   message on the ranks other than 0 */
void dt__cl_iter_fill_hooks(dt__hooks_t *h);
void dt__cl_handle_iter(const dt__msg *m, int peer);

#endif
