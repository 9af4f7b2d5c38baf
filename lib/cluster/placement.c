/* placement.c - on rank 0, the rank a ready task runs on (DT_SCHEDULE). */
#include <string.h>
#include "cluster/internal.h"
#include "mem/mem.h"

/* Bytes of a task each rank holds, from the directory, read without
 * splitting anything: each rectangle of the directory an access meets
 * counts at once, so a tile costs one or two lookups, not one per row. */

/* Bytes nobody wrote since the last taskwait count at their home: the homes
 * are blocks of an allocation in address order, so a rectangle whose first
 * and last bytes share a home is taken as all there; else it is halved. */
static void score_home(uint64_t *bytes, const dt__cl_view *v, uintptr_t a, uint64_t rows, uint64_t n, uint64_t S)
{
    int h = dt__mem_home(a, v->nranks);
    if (h == dt__mem_home(a + (rows - 1) * S + n - 1, v->nranks)) {
        bytes[h] += rows * n;
    } else if (rows > 1) {
        score_home(bytes, v, a, rows / 2, n, S);
        score_home(bytes, v, a + rows / 2 * S, rows - rows / 2, n, S);
    } else {
        score_home(bytes, v, a, 1, n / 2, S);
        score_home(bytes, v, a + n / 2, 1, n - n / 2, S);
    }
}

typedef struct score_ctx { uint64_t *bytes; const dt__cl_view *v; } score_ctx;

static void score_part(void *ctx, const dt__frag *f, uintptr_t r0, uintptr_t r1, uintptr_t c0, uintptr_t c1)
{
    score_ctx *c = ctx;
    uint64_t S = c->v->dir->stride, rows = r1 - r0, n = c1 - c0;
    uint64_t version = f ? f->version : c->v->hole_version, state = f ? f->state : 0;
    if (version & DT__ROOT_WROTE) {
        score_home(c->bytes, c->v, S ? r0 * S + c0 : c0, rows, n, S);
        return;
    }
    for (uint64_t m = state; m; m &= m - 1) c->bytes[__builtin_ctzll(m)] += rows * n;
}

void dt__cl_score_task(const dt__task *t, const dt__cl_view *v, uint64_t *bytes)
{
    memset(bytes, 0, sizeof *bytes * (size_t)v->nranks);
    score_ctx c = { bytes, v };
    for (uint32_t i = 0; i < t->nacc; i++) {
        const dt__access *a = &t->acc[i];
        if (a->size) dt__rmap_scan(v->dir, a->addr, a->size, a->rows, a->stride, score_part, &c);
    }
}

bool dt__cl_offloadable(const dt__task *t)
{
    if (t->type < 0 || (t->flags & (DT__TF_WAITON | DT__TF_COMM))) return false;
    for (uint32_t i = 0; i < t->nacc; i++) {
        const dt__access *a = &t->acc[i];
        if (a->kind == DT__K_CONC || a->kind == DT__K_COMM || a->kind == DT__K_RED) return false;
        size_t span = (a->rows - 1) * a->stride + a->size;
        /* helpers: each application rank's dt_dmalloc memory is its own at the same addresses */
        if (a->size && !(dt__cl.helpers ? dt__mem_in_lmem(a->addr, span) : dt__mem_contains(a->addr, span))) return false;
    }
    return true;
}

/* Among the ranks in cand: the one holding most of t's bytes, then the
 * least loaded. */
static int most_bytes(const dt__task *t, const dt__cl_view *v, const int *cand, int n)
{
    uint64_t bytes[DT__MAX_RANKS];
    dt__cl_score_task(t, v, bytes);
    int best = cand[0];
    for (int i = 1; i < n; i++) {
        int r = cand[i];
        if (bytes[r] > bytes[best] ||
            (bytes[r] == bytes[best] && atomic_load(&v->load[r]) < atomic_load(&v->load[best])))
            best = r;
    }
    return best;
}

static int locality(const dt__task *t, int early, const dt__cl_view *v)
{
    (void)early;
    int all[DT__MAX_RANKS];
    for (int r = 0; r < v->nranks; r++) all[r] = r;
    return most_bytes(t, v, all, v->nranks);
}

/* balance: every task waits in the pool (dt__cl_room_for places it) */
static int balance(const dt__task *t, int early, const dt__cl_view *v)
{
    (void)t, (void)early, (void)v;
    return -1;
}

/* `early` (the namespace asks before t is ready): only if the turn falls
   on that rank. */
static int round_robin(const dt__task *t, int early, const dt__cl_view *v)
{
    (void)t;
    if (early >= 0 && (int)(*v->rr % (unsigned)v->nranks) != early) return -1;
    return (int)((*v->rr)++ % (unsigned)v->nranks);
}

static int local(const dt__task *t, int early, const dt__cl_view *v)
{
    (void)t, (void)early;
    return v->self;
}

const dt__cl_policy_fn dt__cl_policies[DT__SCHED_COUNT] = {
    [DT__SCHED_LOCALITY] = locality,
    [DT__SCHED_BALANCE] = balance,
    [DT__SCHED_ROUND_ROBIN] = round_robin,
    [DT__SCHED_LOCAL] = local,
};

int dt__cl_choose_rank(const dt__task *t, int early, const dt__cl_view *v, int policy)
{
    if (t->node >= 0) return t->node;
    if (!dt__cl_offloadable(t)) return v->self;
    return dt__cl_policies[policy](t, early, v);
}

/* Balance: a ready task waits on rank 0 until some rank has room for it,
 * a worker with nothing to do first, else a place in a queue of one task
 * per worker (its data travels while the task before it runs).  Tasks
 * committed to a rank cannot move, so a rank whose tasks take longer than
 * expected keeps only what it can start soon, and the others take the
 * rest, highest priority first, as the workers of one process would. */
int dt__cl_room_for(const dt__task *t, const dt__cl_view *v)
{
    for (int queued = 0; queued <= 1; queued++) {
        int cand[DT__MAX_RANKS], n = 0;
        for (int r = 0; r < v->nranks; r++)
            if (atomic_load(&v->load[r]) < v->workers[r] * (1 + queued)) cand[n++] = r;
        if (n == 1) return cand[0];
        if (n) return most_bytes(t, v, cand, n);
    }
    return -1;
}
