/* task.h - task and access objects, and their lifecycle (task.c).
 *
 * Counters drive everything:
 *  - access.npreds: unreleased predecessors (+1 while being registered).  At 0
 *    the access is "satisfied".
 *  - task.pending: unsatisfied strong accesses (+1 while being created).  At 0
 *    the task is ready.
 *  - access.blockers: body not yet returned (1) + not yet satisfied (1) + live
 *    children holding it.  At 0 the access is "released": successors may go.
 *    (With sat_in_body both of the first two go when the body returns.)
 *  - task.nchildren / task.nfinished: children created (written only by the
 *    thread running the body) and children completed (by whoever finishes
 *    them).  Kept apart so that creating a child is no contended atomic.  A
 *    task has completed when its body returned and nfinished == nchildren.
 */
#ifndef DT__TASK_H
#define DT__TASK_H

#include "dtask.h"
#include "base/rmap.h"
#include "base/util.h"

/* The base mode of an access (DT_IN .. DT_REDUCTION); DT_WEAK and a
 * reduction's operation and type are the bits above. */
#define DT__MODE_BASE 0xFFu

/* What an access does to its bytes, for dependency purposes. */
enum dt__kind {
    DT__K_EXCL,      /* out, inout: alone */
    DT__K_IN,        /* readers share */
    DT__K_CONC,      /* concurrent accesses share */
    DT__K_COMM,      /* commutative accesses share, one at a time */
    DT__K_RED,       /* one reduction shares */
    DT__K_GATE       /* a parent's weak access, seen from inside (barrier only) */
};

struct dt__task;
struct dt__red;

/* An entry of a list of waiting accesses (succ, gate_waiters) with this bit
 * set holds a reference on its access's task: one that may complete before
 * the access is satisfied (a weak access, a task of the cluster layer).  A
 * strong access's task cannot, so its entries hold none (no atomic per edge). */
#define DT__SUCC_HELD ((uintptr_t)1)

/* The accesses waiting for an access's release: three in place, longer
 * lists in an array from the pools that their releaser frees.  (In the
 * dependency benchmark an access has 2.9 successors on average: its 250k
 * accesses grew their lists 177k times with two in place, 92k with three.) */
#define DT__SUCC_INL 3
typedef struct dt__succ {
    uint32_t n, cap;            /* cap == DT__SUCC_INL: in place */
    union {
        void *inl[DT__SUCC_INL];
        void **v;
    };
} dt__succ;
static inline void dt__succ_init(dt__succ *s) { s->n = 0; s->cap = DT__SUCC_INL; }
static inline void **dt__succ_items(dt__succ *s) { return s->cap == DT__SUCC_INL ? s->inl : s->v; }
static inline void dt__succ_free(dt__succ *s)
{
    if (s->cap != DT__SUCC_INL) dt__pool_free(s->v, sizeof(void *) * s->cap);
    dt__succ_init(s);
}

/* 128 bytes, what linking an edge to a predecessor and releasing it touch
 * in the first 64 (predecessors are thousands of tasks old and rarely in
 * cache).  Task blocks are not cache-line aligned on purpose: aligning them
 * (pool blocks of whole lines on a line) put a chain of tasks on two
 * workers at 1.6x its time, the creator and the worker sharing lines. */
typedef struct dt__access {
    /* first line: linking and release */
    struct dt__task *task;
    const struct dt__access *last_succ;  /* dedupe of edges during one registration */
    dt__succ succ;          /* waiting for our release (under lock), see DT__SUCC_HELD */
    dt__spin_t lock;        /* guards succ, *gate_waiters and the two flags' setting */
    atomic_int npreds;
    atomic_int blockers;
    atomic_bool satisfied, released;
    bool weak;
    /* registered strong access of a task without plug-in data: satisfied
       before its body can run, so its body's end takes the satisfaction's
       blocker too (one atomic less); set once, before any event */
    bool sat_in_body;
    /* second line: what the access is */
    uintptr_t addr;
    size_t size, rows, stride;
    unsigned mode;
    uint8_t kind;
    bool writes;
    const struct dt__access *last_gate_succ;
    /* children's accesses waiting for our satisfaction: only a weak access
       with children has any, so the list is allocated on the first one */
    dt__vec *gate_waiters;
    struct dt__redbuf *red;  /* reduction: the private copies */
} dt__access;

/* A set of accesses with the same kind that are in force together on some
 * fragments.  Owned by one domain (touched only by the thread that runs the
 * domain's task body); shared between fragments with copy-on-write. */
typedef struct dt__group {
    int refs;
    uint8_t kind;
    uint64_t id;            /* unique: a freed group's address comes back (deps.c) */
    struct dt__red *red;    /* DT__K_RED: which reduction */
    dt__vec m;              /* dt__access *, each holding a task reference */
} dt__group;

/* Private copies of one reduction, shared by its members and its combiner. */
typedef struct dt__redbuf {
    atomic_int refs;
    uintptr_t addr;
    size_t size;
    unsigned op, type;
    int nslots;
    void *slot[];           /* one per worker, allocated on first use */
} dt__redbuf;

/* Domain-side state of one reduction. */
typedef struct dt__red {
    int refs;               /* groups + the domain's open list */
    bool closed;
    dt__group *members;     /* every access that joined */
    dt__group *combined;    /* {combiner access} once closed */
    dt__redbuf *buf;
} dt__red;

/* The children of one task: their fragment map and bookkeeping. */
typedef struct dt__domain {
    dt__rmap map;
    bool populated;          /* parent's unsatisfied weak accesses entered as gates */
    size_t sweep_at;         /* map size that triggers a sweep of finished fragments */
    dt__vec open_reds;       /* dt__red * not yet combined */
    /* the parent's ranges, sorted by start, for the "inside the parent" check */
    struct dt__prange *pr, *prw;   /* all / writable */
    size_t npr, nprw;
    bool pr_built;
} dt__domain;

enum {
    DT__TF_IF0 = DT_TASK_IF0,
    DT__TF_FINAL = DT_TASK_FINAL,
    DT__TF_WAITON = 0x100,    /* dt_taskwait_on's marker: never runs a body */
    DT__TF_COMM = 0x200,      /* has commutative accesses */
    DT__TF_ROOT = 0x400
};

typedef struct dt__task {
    atomic_int refs;
    /* memberships in the groups of its parent's domain (deps.c), touched
       only by that domain's thread; together they hold one of refs */
    int dom_refs;
    atomic_int pending;
    atomic_int body_done;
    atomic_int completing;   /* set once by whoever completes the task */
    atomic_int done;         /* completed (for IF0 waiters) */
    _Alignas(DT__CACHELINE) atomic_ullong nchildren;
    _Alignas(DT__CACHELINE) atomic_ullong nfinished;
    atomic_int waiting;      /* a thread waits in taskwait on this task */
    struct dt__task *parent;
    dt_task_fn fn;
    void *args;
    const char *label;
    int type;
    int node;                /* attr.node: DT_NODE_ANY or a rank */
    size_t args_size;
    int priority;
    unsigned flags;
    uint32_t nacc;
    uint64_t parent_mask;    /* parent accesses (index < 64) this child holds */
    dt__access *acc;
    dt__domain *dom;
    struct dt__task *qnext;  /* intrusive link for the central queues */
    uint64_t seq;            /* creation order, for FIFO among equal priorities */
    uint64_t t_start, t_end; /* for DT_TRACE (t_start also when t->ext) */
    int worker;              /* the worker that ran it (traces) */
    void *ext;               /* a plug-in's data (core/hooks.h), NULL for most tasks */
    size_t alloc_size;
    struct dt__iter_node *iter; /* taskiter: a replayed task's node in the cyclic graph */
} dt__task;

/* NULL when memory is out (dt__task_alloc: fatal then, for callers that
 * cannot return a code) */
dt__task *dt__task_try_alloc(uint32_t nacc, size_t args_size);
dt__task *dt__task_alloc(uint32_t nacc, size_t args_size);
void dt__task_unref(dt__task *t);
static inline void dt__task_ref(dt__task *t) { atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed); }

/* Runs the body of a ready task on the calling worker, then finishes it. */
void dt__task_run(dt__task *t);
/* The body has returned (or there is none): release what it holds. */
void dt__task_body_end(dt__task *t);
/* Registration done: drop the creation biases (may make t ready at once). */
void dt__task_submit(dt__task *t);
/* Something t waited for (counted in pending) is there. */
void dt__task_dec_pending(dt__task *t);

/* A thread that ran tasks leaves: give back its caches. */
void dt__task_thread_exit(void);
void dt__task_pool_drain(void);
void dt__task_events_free(void);

/* A child of p was created (only p's body thread calls this); have all of
 * t's children completed? */
void dt__task_child_created(dt__task *p);
bool dt__task_children_done(dt__task *t);

/* The task running on this thread (the root task outside any task). */
dt__task *dt__current(void);
void dt__set_current(dt__task *t);
extern dt__task dt__root;

#endif
