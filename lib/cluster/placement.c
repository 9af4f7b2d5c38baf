/* placement.c - on rank 0, the rank a ready task runs on (DT_SCHEDULE). */
#include <string.h>
#include "cluster/internal.h"
#include "mem/mem.h"

/* Bytes of a task each rank holds, from the directory.  Placement is a
 * guess anyway, and each row costs a tree search: an access of more rows is
 * scored from DT__SCORE_ROWS of them, spread over it, and counted for all (a
 * Cholesky of 256-row tiles spent 10 ms of rank 0's CPU scoring every row). */
#define DT__SCORE_ROWS 8

static void score_bytes(uint64_t *bytes, const dt__cl_view *v, uintptr_t start, uintptr_t end, uint64_t version,
                        uint64_t state)
{
    uint64_t n = end - start;
    if (version & DT__ROOT_WROTE) {             /* not written by a task: count it at home */
        bytes[dt__mem_home(start, v->nranks)] += n;
        return;
    }
    for (uint64_t m = state; m; m &= m - 1) bytes[__builtin_ctzll(m)] += n;
}

/* Who holds [s, e): read only (a walk would split nodes at s and e and
 * merge them back, for every row of a tile). */
static void score_range(uint64_t *bytes, const dt__cl_view *v, uintptr_t s, uintptr_t e)
{
    uintptr_t pos = s;
    for (dt__frag *f = dt__rtree_lookup(v->dir, s); pos < e; f = dt__rtree_next(f)) {
        uintptr_t piece_start = f && f->start < e ? f->start : e;
        if (piece_start > pos) score_bytes(bytes, v, pos, piece_start, v->hole_version, 0);
        if (piece_start == e) break;
        uintptr_t from = f->start > pos ? f->start : pos, to = f->end < e ? f->end : e;
        score_bytes(bytes, v, from, to, f->version, f->state);
        pos = to;
    }
}

void dt__cl_score_task(const dt__task *t, const dt__cl_view *v, uint64_t *bytes)
{
    memset(bytes, 0, sizeof *bytes * (size_t)v->nranks);
    for (uint32_t i = 0; i < t->nacc; i++) {
        const dt__access *a = &t->acc[i];
        if (!a->size) continue;
        size_t n = a->rows < DT__SCORE_ROWS ? a->rows : DT__SCORE_ROWS;
        uint64_t one[DT__MAX_RANKS] = { 0 };
        for (size_t k = 0; k < n; k++) {
            uintptr_t s = a->addr + (n > 1 ? k * (a->rows - 1) / (n - 1) : 0) * a->stride;
            score_range(one, v, s, s + a->size);
        }
        for (int r = 0; r < v->nranks; r++) bytes[r] += one[r] * a->rows / n;
    }
}

bool dt__cl_offloadable(const dt__task *t)
{
    if (t->type < 0 || (t->flags & (DT_TF_WAITON | DT_TF_COMM))) return false;
    for (uint32_t i = 0; i < t->nacc; i++) {
        const dt__access *a = &t->acc[i];
        if (a->kind == DT_K_CONC || a->kind == DT_K_COMM || a->kind == DT_K_RED) return false;
        if (a->size && !dt__mem_contains(a->addr, (a->rows - 1) * a->stride + a->size)) return false;
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
