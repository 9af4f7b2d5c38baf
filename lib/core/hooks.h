/* hooks.h - how layers above the core (the cluster layer today; taskiter,
 * tracing) take part in a task's life without the core knowing them.
 *
 * Calls go one way: the core calls these pointers and never includes a
 * plug-in's headers; a plug-in includes the core's.  Two tables:
 *  - dt__plugin: start and stop, always filled by the layer that is linked
 *    in (lib/api/init.c plugs the cluster layer in before dt_init runs);
 *  - dt__hooks: the task path.  Each plug-in fills its own entries: the
 *    cluster layer only in a dt_main job of more than one rank (so a
 *    one-rank run pays one predictable branch per site), taskiter's always
 *    (they are reached only through tasks that taskiter made).
 *
 * Plug-in data of a task hangs off t->ext; the core only frees it through
 * hooks.task_free.  Hooks are entered with no core lock held, except `edge`
 * (see the lock order in lib/README.md). */
#ifndef DT__HOOKS_H
#define DT__HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dt__task;
struct dt__access;
struct dt__iter_move;

typedef struct dt__plugin {
    /* dt_init, before anything starts: read the plug-in's own settings
       (DT_ECONFIG on a bad value). */
    int (*configure)(void);
    /* dt_init: join the job (MPI) and learn this rank, the number of ranks
       and the ranks sharing the node. */
    int (*init)(int *argc, char ***argv, int *local_rank, int *local_size);
    /* After the workers started: fill dt__hooks if active. */
    int (*start)(void);
    /* dt_finalize, once the program's tasks are done, before the workers
       stop; then, once they have, release what is left. */
    void (*stop)(void);
    void (*fini)(void);
    /* Collectives over every rank (agreeing on the common address space). */
    uint64_t (*bcast_u64)(uint64_t v);
    bool (*all)(bool ok);
    /* The fatal path: end the whole job (every rank), not only this process. */
    void (*abort_job)(void);
} dt__plugin;

/* Returns of hooks.ready. */
enum { DT__READY_QUEUE = 0, DT__READY_TAKEN = 1, DT__READY_IN_ORDER = 2 };

typedef struct dt__hooks {
    /* dt_task_create, access list filled: must t's data be where it runs
       before it starts (its weak accesses become strong)? */
    bool (*data_first)(const struct dt__task *parent, const struct dt__task *t);
    /* May t run on another rank than its creator's? */
    bool (*may_leave)(const struct dt__task *t);
    /* t is about to be registered: attach plug-in data (t->ext). */
    void (*task_new)(struct dt__task *t);
    /* Registration: succ waits for pred's release.  Under pred's lock. */
    void (*edge)(const struct dt__task *pred, struct dt__task *succ);
    /* t (with t->ext) is registered and its creator still holds it. */
    void (*submitted)(struct dt__task *t);
    /* t's dependencies are satisfied: taken over, or queued here. */
    int (*ready)(struct dt__task *t);
    /* t (with t->ext) ran here: before and after its accesses are released. */
    void (*ran)(struct dt__task *t);
    void (*ran_released)(void);
    /* An access of a task with t->ext is released. */
    void (*released)(struct dt__access *a);
    /* A task with t->ext completed. */
    void (*completed)(struct dt__task *t);
    void (*task_free)(struct dt__task *t);
    /* The root task waited for its children (acc: the regions of
       dt_taskwait_on, or NULL for all). */
    void (*waited)(const struct dt__access *acc, size_t n);
    /* dt_dfree released [addr, addr + size). */
    void (*freed)(uintptr_t addr, size_t size);
    /* Workers: between tasks and while idle.  True when something happened. */
    bool (*poll)(void);
    void (*task_end)(void);
    /* Core lending (DT_LEND, cluster/lend.c).  lend: configured worker w
       found no work and stops spinning (it yields, then sleeps).  reclaim: worker w is about to
       run a task, or (w = -1) a task became ready here.  want_core: a task
       was queued while no thread here sleeps, or a task ran here. */
    void (*lend)(int w);
    void (*reclaim)(int w);
    void (*want_core)(void);
    /* taskiter: a replayed task (t->iter) completed; its cyclic graph takes
       it (and the reference held for it) over.  Always set. */
    void (*replayed)(struct dt__task *t);
    /* The distributed taskiter (taskiter/dist.c with cluster/iter.c).
       iter_announce (rank 0): every other rank is to run iter_serve with a
       dt__iter_call of these fields (a task of its own, args after it). */
    void (*iter_announce)(int type, const void *args, size_t args_size, long max, long every, unsigned flags);
    void (*iter_serve)(void *call);                 /* set by taskiter */
    /* Post the transfer of a's bytes to (send) or from peer with iteration
       tag `tag`; done(arg) runs (on any thread) when it completed here. */
    void (*iter_xfer)(bool send, int peer, const struct dt__access *a, uint32_t tag, void (*done)(void *),
                      void *arg);
    /* The steady state's transfers: a channel is a pair of persistent MPI
       requests for a's bytes (tags tag and tag + 1, by the parity of the
       producer's iteration), opened once per region; iter_chan_start posts
       one from the calling thread (no outbox, no progress thread) and
       done(arg) runs on whichever thread sees it complete. */
    void *(*iter_chan_open)(bool send, int peer, const struct dt__access *a, uint32_t tag);
    void (*iter_chan_start)(void *chan, unsigned parity, void (*done)(void *), void *arg);
    void (*iter_chan_close)(void *chan);
    /* Rank 0 after a taskiter: it holds every byte, in a new version. */
    void (*iter_reset)(void);
    /* After a taskiter whose results stay where they were written (then
       iter_reset first on rank 0): iter_versions (rank 0) reserves n fresh
       versions, the first returned; iter_held records that rank `holder`
       alone holds a's bytes in version `version` (rank 0: its directory;
       the holder: its version cache; others: nothing). */
    uint64_t (*iter_versions)(int n);
    void (*iter_held)(int holder, uint64_t version, const struct dt__access *a);
    /* Before a distributed taskiter (rank 0): appends to *moves (growing it,
       *n and *cap) the pieces of a that rank `target` lacks, each with the
       rank holding it and its version (the directory counts target among
       its holders from now on).  False when out of memory. */
    bool (*iter_sources)(const struct dt__access *a, int target, struct dt__iter_move **moves, size_t *n,
                         size_t *cap);
    /* This rank received a's bytes in `version` (its version cache). */
    void (*iter_hold)(uint64_t version, const struct dt__access *a);
    /* Collective: rank 0's len bytes at buf on every rank. */
    void (*iter_bcast)(void *buf, size_t len);
} dt__hooks_t;

/* Bytes to move before a distributed taskiter: from src to dst. */
typedef struct dt__iter_move {
    uint64_t addr, size, rows, stride, version;
    int32_t src, dst;
} dt__iter_move;

/* The message of iter_announce as iter_serve receives it. */
typedef struct dt__iter_call {
    int type;
    unsigned flags;
    long max, every;
    size_t args_size;
    unsigned char args[];
} dt__iter_call;
#define DT__ITER_WHILE 1u      /* dt_taskiter_while: rank 0 decides after each round */

extern dt__plugin dt__plug;
extern dt__hooks_t dt__hooks;

#endif
