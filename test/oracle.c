/*
 * oracle.c - randomized oracle for the dependency engine.
 *
 *   oracle --seed S --tasks N [--dump] [--only IDS] [--no-checks] [--cluster [--no-hints]] [--2d P]
 *   oracle --seed S --tasks N --iter I [--dump] [--only IDS] [--2d P]
 *
 * The seed drives a generator that builds a whole program up front: tasks
 * with 1-4 accesses of every mode (strong and weak) over one byte buffer,
 * plain ranges at any byte alignment mixed with 2-D regions (tiles, columns
 * and strided rows of a row-major grid), nested tasks up to three levels
 * deep, parents that touch their data before creating children or after a
 * dt_taskwait, dt_taskwait_on inside tasks and at the top level, children
 * that dt_task_create must refuse, and IF0/FINAL/priority attributes.
 *
 * The program runs twice: sequentially (each body executed where its task is
 * created) on a private buffer, then through libdtask on a dt_dmalloc buffer.
 * A task folds every byte it reads into a hash and derives every byte it
 * writes from that hash, so an ordering error changes some task's hash, a
 * region checked after dt_taskwait_on, or the final buffer.  Modes whose
 * order is free only apply operations that commute (byte adds for
 * commutative, atomic byte adds for concurrent, the zone's reduction
 * operation); a per-byte occupancy counter catches tasks that run at the same
 * time although their accesses exclude each other.
 *
 * The program for N tasks is a prefix of the program for more tasks with the
 * same seed, so a failure can be shrunk by lowering --tasks, then by keeping
 * only some tasks (--only 3,17-20: a child runs if it and its ancestors are
 * listed) and dropping the taskwait/taskwait_on checks (--no-checks).
 * --2d P draws P permille (default 350) of the regions that may be 2-D as
 * 2-D regions (of the grid's stride W, of 2W, or of arbitrary strides).
 * A watchdog turns a hang (no task finishing for HANG_SECONDS) into a report
 * of the tasks still waiting.
 *
 * --cluster (under mpiexec.mpich -n N): every rank builds the same program;
 * rank 0 runs it through dt_main while the others serve offloaded tasks.  A
 * top-level task that may leave rank 0 (no concurrent, commutative or
 * reduction access) gets an attr.node 60% of the time (half of them chosen by
 * its first access's bytes, so that chains stay on one rank), the others the
 * DT_SCHEDULE policy; a nested one gets a random attr.node 35% of the time
 * (it is pushed to that rank with its data); some tasks are first created
 * with a node they may not have, which must give DT_ERANGE (--no-hints: no
 * task gets a node, so that placement and DT_STEAL move them all).  Tasks find the buffer through their args
 * (rank 0 allocates it); each rank keeps its own read hashes and run counts,
 * which rank 0 combines after dt_main (MPI_Reduce) and compares.  Region
 * checks after dt_taskwait/dt_taskwait_on read the data rank 0 got back.
 *
 * --iter I: the program (without its top-level waits, and without IF0 on
 * top-level tasks, which dt_taskiter refuses) is the body of an iteration,
 * run I times: sequentially, through libdtask as a plain loop of task
 * creations, and as dt_taskiter.  Each task adds the hash of every instance
 * to its result (a sum: the order of instances does not matter), so both
 * runs must match the sequential one in run counts, results and the final
 * buffer, byte for byte.
 * Exit status: 0 all checks passed, 1 mismatch or hang, 2 usage or setup error.
 */
#include "dtask.h"

#include <inttypes.h>
#include <mpi.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NONE     UINT32_MAX
#define MAX_KIDS 6
#define MAX_ACC  5             /* 4 accesses and an optional size-0 one */
#define MAX_ARGS 256
#define ALL_MODES 0x7eu        /* bits DT_IN .. DT_REDUCTION */
#define HANG_SECONDS 15        /* a whole run takes about a second */

/* ---- programs --------------------------------------------------------------- */

typedef struct { uint32_t off, size, rows, stride; } reg_t;   /* rows >= 1 */
typedef struct { unsigned mode; reg_t r; } racc_t;

typedef struct {
    uint32_t parent, acc0, kid0;
    uint8_t nacc, nkid, split, depth;
    uint8_t pre;      /* the body touches its strong accesses before any child */
    uint8_t mid;      /* after the first `split` children: taskwait_on(midacc) + touch */
    uint8_t end;      /* after the last child: dt_taskwait + touch again */
    uint8_t bad;      /* tries to create badacc, which must be refused */
    unsigned flags;
    int prio;
    uint32_t argsz;
    racc_t midacc, badacc;
} task_t;

enum { S_TASK, S_WAIT, S_WAITON };
typedef struct {
    int kind;
    uint32_t id;       /* S_TASK: the root task; else the number of tasks created before */
    uint32_t acc0, nacc;
    int write;         /* S_WAITON: the main thread also writes the regions */
    size_t snap;       /* where the sequential run's bytes are in g_snap */
} step_t;

#define GROW(p, n, cap) do { if ((n) >= (cap)) {                              \
        (cap) = (cap) ? 2 * (cap) : 4096;                                     \
        (p) = realloc((p), (size_t)(cap) * sizeof *(p));                      \
        if (!(p)) { perror("oracle"); exit(2); } } } while (0)

static task_t *T;  static uint32_t nT, capT;
static racc_t *A;  static uint32_t nA, capA;
static uint32_t *K; static uint32_t nK, capK;
static step_t *S;  static uint32_t nS, capS;
static uint8_t *g_snap; static size_t nsnap, capsnap;

static uint64_t g_seed;
static uint32_t g_want;         /* --tasks */
static const char *g_only;     /* --only IDS */
static uint8_t *g_listed;       /* the tasks --only names; NULL: every task */
static int g_no_checks;
static int g_no_hints;          /* --no-hints: --cluster without attr.node */
static unsigned g_2d = 350;    /* --2d: permille of regions drawn as 2-D where they can be */
static int g_workers;
static int g_cluster, g_rank, g_ranks = 1;   /* --cluster; this rank, how many */
static uint32_t g_iters;        /* --iter: 0 for the plain program */
static const char *g_run = "";  /* --iter: which run is checked */

/* ---- randomness (generator only: single-threaded) -------------------------------- */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27; x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t g_rng;
static uint64_t rnd64(void) { g_rng += 0x9e3779b97f4a7c15ULL; return mix64(g_rng); }
static uint32_t rnd(uint32_t n) { return n ? (uint32_t)(rnd64() % n) : 0; }
static int chance(unsigned permille) { return rnd(1000) < permille; }

/* ---- buffer layout ---------------------------------------------------------------
 * [0, G): the grid area, a row-major grid W bytes wide; byte-wise data, 2-D regions.
 * [G, B): the float area, whole 8-byte units only, holding small integral floats so
 *         that float reductions and adds are exact and therefore order-free.
 * Every 64-byte block belongs to a zone (a run of blocks) with one reduction
 * operation and element type: reductions on the same bytes never mix operations.
 */
enum { Z_BYTE, Z_INT, Z_FLT };
static uint32_t B, G, W;
static uint8_t *z_cls, *z_es;
static unsigned *z_red;
static uint32_t *z_lo, *z_hi;

static void gen_layout(void)
{
    uint32_t nblk = 64 + rnd(193), fblk = nblk / 8 + rnd(nblk / 4 + 1), gblk;
    gblk = nblk - fblk;
    B = nblk * 64; G = gblk * 64; W = 8 + rnd(185);
    z_cls = malloc(nblk); z_es = malloc(nblk);
    z_red = malloc(nblk * sizeof *z_red);
    z_lo = malloc(nblk * sizeof *z_lo); z_hi = malloc(nblk * sizeof *z_hi);
    if (!z_cls || !z_es || !z_red || !z_lo || !z_hi) { perror("oracle"); exit(2); }
    for (uint32_t b = 0; b < nblk;) {
        uint32_t end = b + 1 + rnd(8);
        if (b < gblk && end > gblk) end = gblk;
        if (end > nblk) end = nblk;
        int flt = b >= gblk;
        uint8_t cls = flt ? Z_FLT : chance(500) ? Z_INT : Z_BYTE;
        unsigned op = chance(400) ? DT_RED_SUM : (1 + rnd(4)) * DT_RED_SUM;
        unsigned ty = flt ? (chance(500) ? DT_RED_F32 : DT_RED_F64)
                          : (chance(500) ? DT_RED_I32 : DT_RED_I64);
        uint8_t es = ty == DT_RED_I32 || ty == DT_RED_F32 ? 4 : 8;
        for (uint32_t i = b; i < end; i++) {
            z_cls[i] = cls; z_es[i] = es; z_red[i] = op | ty;
            z_lo[i] = b * 64; z_hi[i] = end * 64;
        }
        b = end;
    }
}

/* ---- region generation -------------------------------------------------------- */

static reg_t plain(uint32_t off, uint32_t size) { return (reg_t){off, size, 1, 0}; }

static uint32_t pick_len(uint32_t n)
{
    uint32_t r = rnd(100), cap = r < 30 ? 16 : r < 75 ? 128 : r < 95 ? 1024 : n;
    return 1 + rnd(cap < n ? cap : n);
}

/* A tile, a narrow column or every other row of the grid, or rows at an arbitrary pitch. */
static int grid_region(reg_t *r)
{
    uint32_t nc, stride;
    int tile = !chance(100);
    if (tile) { nc = chance(300) ? 1 + rnd(3) : pick_len(W); stride = W * (chance(150) ? 2 : 1); }
    else { nc = 1 + rnd(64); stride = nc + rnd(256); }
    uint32_t maxr = (G - nc) / stride + 1;
    if (maxr > 48) maxr = 48;
    if (maxr < 2) return 0;
    uint32_t nr = 2 + rnd(maxr - 1), span = (nr - 1) * stride + nc, off;
    if (tile) {            /* start on a grid column so that the rows line up */
        uint32_t c0 = rnd(W - nc + 1);
        if (c0 + span > G) return 0;
        off = c0 + W * rnd((G - c0 - span) / W + 1);
    } else {
        off = rnd(G - span + 1);
    }
    *r = (reg_t){off, nc, nr, stride};
    return 1;
}

/* A 2-D region inside the plain range c. */
static int strided_in(const reg_t *c, reg_t *r)
{
    uint32_t L = c->size;
    if (L < 3) return 0;
    uint32_t s = 1 + rnd(L - 1 < 256 ? L - 1 : 256), nc = 1 + rnd(s);
    uint32_t maxr = (L - nc) / s + 1;
    if (maxr < 2) return 0;
    if (maxr > 48) maxr = 48;
    uint32_t nr = 2 + rnd(maxr - 1), span = (nr - 1) * s + nc;
    *r = (reg_t){c->off + rnd(L - span + 1), nc, nr, s};
    return 1;
}

/* A region inside c (an area or a window of it for a top-level task, else a
   parent access). */
static reg_t gen_region(const reg_t *c)
{
    if (c->off >= G) {
        uint32_t n = c->size / 8, k = pick_len(n);
        return plain(c->off + 8 * rnd(n - k + 1), 8 * k);
    }
    if (c->rows > 1) {
        uint32_t nr = 1 + rnd(c->rows), r0 = rnd(c->rows - nr + 1), step = 1;
        if (nr > 2 && chance(150)) step = 2 + rnd(3);
        nr = 1 + (nr - 1) / step;
        uint32_t nc = pick_len(c->size), c0 = rnd(c->size - nc + 1);
        reg_t r = {c->off + r0 * c->stride + c0, nc, nr, nr > 1 ? c->stride * step : 0};
        return r;
    }
    reg_t r;
    int grid = c->off == 0 && c->size == G;
    if (chance(g_2d) && (grid ? grid_region(&r) : strided_in(c, &r))) return r;
    uint32_t k = pick_len(c->size);
    return plain(c->off + rnd(c->size - k + 1), k);
}

/* A reduction: whole elements of one zone, inside one row of c. */
static int gen_red(const reg_t *c, reg_t *r, unsigned *red)
{
    for (int tries = 0; tries < 4; tries++) {
        uint32_t lo = c->off + rnd(c->rows) * c->stride, hi = lo + c->size;
        uint32_t b = (lo + rnd(c->size)) / 64;
        if (z_cls[b] == Z_BYTE) continue;
        uint32_t es = z_es[b];
        if (lo < z_lo[b]) lo = z_lo[b];
        if (hi > z_hi[b]) hi = z_hi[b];
        lo = (lo + es - 1) / es * es; hi = hi / es * es;
        if (hi <= lo) continue;
        uint32_t n = (hi - lo) / es, k = pick_len(n);
        *r = plain(lo + es * rnd(n - k + 1), k * es);
        *red = z_red[b];
        return 1;
    }
    return 0;
}

static int reg_has(const reg_t *r, uint32_t o)
{
    if (r->size == 0 || o < r->off) return 0;
    uint32_t d = o - r->off;
    if (r->rows <= 1) return d < r->size;
    return d / r->stride < r->rows && d % r->stride < r->size;
}

/* The accesses of one task are disjoint, except that reads may overlap reads:
   what a task does on bytes it names twice in different modes is not specified. */
static uint32_t *st_any, *st_wr, g_stamp;

static int stamp_conflict(const reg_t *r, int rd)
{
    for (uint32_t i = 0; i < r->rows; i++)
        for (uint32_t o = r->off + i * r->stride, e = o + r->size; o < e; o++)
            if ((rd ? st_wr[o] : st_any[o]) == g_stamp) return 1;
    return 0;
}

static void stamp_set(const reg_t *r, int rd)
{
    for (uint32_t i = 0; i < r->rows; i++)
        for (uint32_t o = r->off + i * r->stride, e = o + r->size; o < e; o++) {
            st_any[o] = g_stamp;
            if (!rd) st_wr[o] = g_stamp;
        }
}

/* ---- task generation ---------------------------------------------------------- */

static const unsigned mode_w[7] = {0, 24, 14, 20, 14, 12, 16};
static unsigned g_favor;     /* a mode favoured for a while, so that groups of it form */
static reg_t g_focus;        /* a window most top-level tasks use for a while: long chains */

static unsigned pick_mode(unsigned allowed, int top)
{
    if (top && g_favor && (allowed >> g_favor & 1) && chance(450)) return g_favor;
    unsigned tot = 0, m;
    for (m = 1; m <= 6; m++) if (allowed >> m & 1) tot += mode_w[m];
    uint32_t x = rnd(tot);
    for (m = 1; m < 6; m++) {
        if (!(allowed >> m & 1)) continue;
        if (x < mode_w[m]) break;
        x -= mode_w[m];
    }
    return m;
}

/* What a child may do inside a parent access of base mode m. */
static unsigned perm_of(unsigned m)
{
    return m == DT_OUT || m == DT_INOUT ? ALL_MODES : 1u << m;
}

static int gen_access(const reg_t *c, unsigned allowed, int top, unsigned weak_pm, racc_t *out)
{
    for (int tries = 0; tries < 6 && allowed; tries++) {
        unsigned m = pick_mode(allowed, top), red = 0;
        reg_t r;
        if (m == DT_REDUCTION) {
            if (!gen_red(c, &r, &red)) { allowed &= ~(1u << m); continue; }
        } else {
            r = gen_region(c);
        }
        if (stamp_conflict(&r, m == DT_IN)) continue;
        stamp_set(&r, m == DT_IN);
        out->mode = m | red | (chance(weak_pm) ? DT_WEAK : 0);
        out->r = r;
        return 1;
    }
    return 0;
}

static const racc_t *tacc(const task_t *t, unsigned i) { return &A[t->acc0 + i]; }
static unsigned base(unsigned mode) { return mode & 0xff; }
static int strong(const racc_t *a) { return !(a->mode & DT_WEAK) && a->r.size; }

static reg_t area(int flt) { return flt ? plain(G, B - G) : plain(0, G); }

/* A child access that dt_task_create must refuse: a byte outside every access of
   task id, or a write where the task only reads. */
static int gen_bad(uint32_t id, racc_t *out)
{
    const task_t *t = &T[id];
    static const unsigned wmode[4] = {DT_OUT, DT_INOUT, DT_CONCURRENT, DT_COMMUTATIVE};
    if (chance(500)) {
        for (int tries = 0; tries < 8 && t->nacc; tries++) {
            const racc_t *a = tacc(t, rnd(t->nacc));
            if (base(a->mode) != DT_IN || !a->r.size) continue;
            uint32_t o = a->r.off + rnd(a->r.rows) * a->r.stride + rnd(a->r.size), i;
            for (i = 0; i < t->nacc; i++)
                if (base(tacc(t, i)->mode) != DT_IN && reg_has(&tacc(t, i)->r, o)) break;
            if (i < t->nacc) continue;
            *out = (racc_t){wmode[rnd(4)], plain(o, 1)};
            return 1;
        }
    }
    for (int tries = 0; tries < 16; tries++) {
        uint32_t o = rnd(B), i;
        for (i = 0; i < t->nacc; i++)
            if (reg_has(&tacc(t, i)->r, o)) break;
        if (i < t->nacc) continue;
        *out = (racc_t){chance(500) ? DT_IN : wmode[rnd(4)], plain(o, 1)};
        return 1;
    }
    return 0;
}

static uint32_t gen_task(uint32_t parent, unsigned depth)
{
    static const unsigned parent_pm[4] = {120, 110, 80, 0};
    uint32_t id = nT, kids[MAX_KIDS], nk = 0;
    GROW(T, nT, capT);
    nT++;
    task_t t;
    memset(&t, 0, sizeof t);
    t.parent = parent; t.depth = (uint8_t)depth; t.acc0 = nA;
    int is_parent = chance(parent_pm[depth]), top = parent == NONE;
    uint32_t want = is_parent ? 1 + rnd(2) + chance(150) : 1 + rnd(4);
    if (chance(10)) want = 0;
    g_stamp++;
    for (uint32_t i = 0; i < want; i++) {
        reg_t c;
        unsigned allowed = ALL_MODES;
        if (top) {
            c = g_focus.size && chance(700) ? g_focus : area(chance(200));
        } else {
            const task_t *p = &T[parent];
            if (!p->nacc) break;
            const racc_t *pa = tacc(p, rnd(p->nacc));
            if (!pa->r.size) continue;
            c = pa->r;
            allowed = perm_of(base(pa->mode));
        }
        racc_t a;
        if (gen_access(&c, allowed, top, is_parent ? 400 : 40, &a)) {
            GROW(A, nA, capA);
            A[nA++] = a;
        }
    }
    if (chance(30)) {   /* size 0: accepted and ignored, even outside the parent */
        GROW(A, nA, capA);
        A[nA++] = (racc_t){(1 + rnd(5)) | (chance(300) ? DT_WEAK : 0), {rnd(B), 0, 1, 0}};
    }
    t.nacc = (uint8_t)(nA - t.acc0);
    T[id] = t;
    if (is_parent) {
        nk = 1 + rnd(chance(100) ? MAX_KIDS : 4);
        for (uint32_t k = 0; k < nk; k++) kids[k] = gen_task(id, depth + 1);
    }
    task_t *tp = &T[id];
    tp->kid0 = nK;
    for (uint32_t k = 0; k < nk; k++) { GROW(K, nK, capK); K[nK++] = kids[k]; }
    tp->nkid = (uint8_t)nk;
    tp->pre = nk == 0 || chance(600);
    tp->split = (uint8_t)rnd(nk + 1);
    tp->end = nk > 0 && chance(500);
    if (chance(nk ? 200 : 20)) {
        for (int tries = 0; tries < 4 && tp->nacc; tries++) {
            const racc_t *a = tacc(tp, rnd(tp->nacc));
            unsigned m = base(a->mode);
            if (!strong(a) || (m != DT_IN && m != DT_INOUT)) continue;
            tp->mid = 1;
            tp->midacc.r = gen_region(&a->r);
            tp->midacc.mode = m == DT_INOUT && chance(500) ? DT_INOUT : DT_IN;
            break;
        }
    }
    tp->bad = chance(20) && gen_bad(id, &tp->badacc);
    if (nk && chance(30)) tp->flags |= DT_TASK_FINAL;
    if (chance(30)) tp->flags |= DT_TASK_IF0;
    tp->prio = chance(100) ? (int)rnd(5) - 2 : 0;
    tp->argsz = chance(100) ? 8 + rnd(MAX_ARGS - 7) : 8;
    return id;
}

static void gen_waiton(void)
{
    static const unsigned modes[3] = {DT_IN, DT_INOUT, DT_OUT};
    unsigned m = modes[chance(550) ? 0 : 1 + chance(330)];
    uint32_t n = 1 + rnd(3);
    GROW(S, nS, capS);
    S[nS++] = (step_t){S_WAITON, nT, nA, n, m != DT_IN, 0};
    g_stamp++;
    for (uint32_t i = 0; i < n; i++) {
        reg_t c = area(chance(200)), r;
        int tries = 0;
        do r = gen_region(&c);             /* disjoint unless only read, like a task's */
        while (stamp_conflict(&r, m == DT_IN) && ++tries < 8);
        if (tries == 8) { S[nS - 1].nacc--; continue; }
        stamp_set(&r, m == DT_IN);
        GROW(A, nA, capA);
        A[nA++] = (racc_t){m, r};
    }
}

static void gen_program(void)
{
    g_rng = mix64(g_seed ^ 0x6f7261636c65ULL);
    gen_layout();
    st_any = calloc(B, sizeof *st_any); st_wr = calloc(B, sizeof *st_wr);
    if (!st_any || !st_wr) { perror("oracle"); exit(2); }
    for (uint32_t roots = 0; nT < g_want; roots++) {
        if (roots % 32 == 0) {
            g_favor = chance(250) ? 0 : 1 + rnd(6);
            g_focus.size = 0;
            if (chance(300)) {
                reg_t a = area(chance(200));
                uint32_t w = (64 + rnd(449)) / 8 * 8;
                g_focus = plain(a.off + rnd((a.size - w) / 8 + 1) * 8, w);
            }
        }
        if (nT && chance(30) && !g_iters) gen_waiton();
        if (nT && chance(4) && !g_iters) {
            GROW(S, nS, capS);
            S[nS++] = (step_t){S_WAIT, nT, 0, 0, 0, 0};
        }
        uint32_t r = gen_task(NONE, 0);
        if (g_iters) T[r].flags &= ~(unsigned)DT_TASK_IF0;
        GROW(S, nS, capS);
        S[nS++] = (step_t){S_TASK, r, 0, 0, 0, 0};
    }
}

/* In a cluster an out access fetches nothing (dtask(7)): a parent offloaded
   with one holds whatever its rank last had there, so children reading those
   bytes before anything wrote them would see other data than in one process.
   Parents say inout instead (the same order, and the data travels); a leaf
   task writes its strong out accesses whole. */
static void cluster_program(void)
{
    for (uint32_t id = 0; id < nT; id++) {
        const task_t *t = &T[id];
        if (!t->nkid) continue;
        for (unsigned i = 0; i < t->nacc; i++)
            if (base(A[t->acc0 + i].mode) == DT_OUT)
                A[t->acc0 + i].mode = (A[t->acc0 + i].mode & ~0xffu) | DT_INOUT;
    }
}

static int kept(uint32_t id)
{
    for (; id != NONE; id = T[id].parent)
        if (g_listed && !g_listed[id]) return 0;
    return 1;
}

/* ---- printing ----------------------------------------------------------------- */

static const char *mode_name(unsigned m)
{
    static const char *n[7] = {"?", "in", "out", "inout", "concurrent", "commutative", "reduction"};
    return base(m) <= 6 ? n[base(m)] : "?";
}

static void print_acc(FILE *f, const racc_t *a)
{
    static const char *op[5] = {"", "sum", "prod", "min", "max"};
    static const char *ty[5] = {"", "i32", "i64", "f32", "f64"};
    fprintf(f, "%s%s", mode_name(a->mode), a->mode & DT_WEAK ? "|weak" : "");
    if (base(a->mode) == DT_REDUCTION)
        fprintf(f, "(%s.%s)", op[(a->mode >> 12) & 7], ty[(a->mode >> 16) & 7]);
    fprintf(f, " off=%u size=%u", a->r.off, a->r.size);
    if (a->r.rows > 1) fprintf(f, " rows=%u stride=%u", a->r.rows, a->r.stride);
    if (a->r.off < G && a->r.size)
        fprintf(f, " (grid row %u col %u)", a->r.off / W, a->r.off % W);
}

static void print_task(FILE *f, uint32_t id, const char *indent)
{
    const task_t *t = &T[id];
    fprintf(f, "%stask %u", indent, id);
    if (t->parent != NONE) fprintf(f, " (child of %u, depth %u)", t->parent, t->depth);
    fprintf(f, ":%s%s%s%s", t->pre ? " pre" : "", t->flags & DT_TASK_FINAL ? " final" : "",
            t->flags & DT_TASK_IF0 ? " if0" : "", t->end ? " ends-with-taskwait" : "");
    if (t->prio) fprintf(f, " prio=%d", t->prio);
    if (t->nkid) {
        fprintf(f, " kids");
        for (unsigned k = 0; k < t->nkid; k++)
            fprintf(f, "%s%u", k == t->split ? " | " : k ? "," : " ", K[t->kid0 + k]);
        if (t->split == t->nkid) fprintf(f, " |");
    }
    fputc('\n', f);
    for (unsigned i = 0; i < t->nacc; i++) {
        fprintf(f, "%s    ", indent);
        print_acc(f, tacc(t, i));
        fputc('\n', f);
    }
    if (t->mid) {
        fprintf(f, "%s    after kid %u: taskwait_on ", indent, t->split);
        print_acc(f, &t->midacc);
        fputc('\n', f);
    }
    if (t->bad) {
        fprintf(f, "%s    tries a child that must be refused: ", indent);
        print_acc(f, &t->badacc);
        fputc('\n', f);
    }
}

static void dump_program(void)
{
    printf("buffer %u bytes: grid area [0,%u) %u bytes wide, float area [%u,%u)\n", B, G, W, G, B);
    for (uint32_t b = 0; b < B / 64; b = z_hi[b] / 64)
        if (z_cls[b] != Z_BYTE) {
            racc_t z = {DT_REDUCTION | z_red[b], plain(z_lo[b], z_hi[b] - z_lo[b])};
            printf("zone ");
            print_acc(stdout, &z);
            printf("\n");
        }
    for (uint32_t s = 0; s < nS; s++) {
        const step_t *st = &S[s];
        if (st->kind == S_WAIT) { printf("taskwait\n"); continue; }
        if (st->kind == S_WAITON) {
            printf("taskwait_on%s\n", st->write ? " + direct write" : "");
            for (uint32_t i = 0; i < st->nacc; i++) {
                printf("    ");
                print_acc(stdout, &A[st->acc0 + i]);
                printf("\n");
            }
            continue;
        }
        uint32_t end = nT;
        for (uint32_t n = s + 1; n < nS; n++)
            if (S[n].kind == S_TASK) { end = S[n].id; break; }
        for (uint32_t id = st->id; id < end; id++)
            if (kept(id)) print_task(stdout, id, "");
    }
}

/* ---- failure reports ---------------------------------------------------------- */

static int g_failing;

static void fail_begin(void)
{
    if (__atomic_exchange_n(&g_failing, 1, __ATOMIC_SEQ_CST))
        for (;;) pause();            /* another thread is reporting and will exit */
    fflush(stdout);
    /* the watchdog may report while rank 0's main thread sets it; a serving
       rank never sets it */
    int workers = __atomic_load_n(&g_workers, __ATOMIC_RELAXED);
    if (!workers) __atomic_store_n(&g_workers, workers = dt_num_workers(), __ATOMIC_RELAXED);
    fprintf(stderr, "oracle: FAIL (seed %" PRIu64 ", --tasks %u, DT_NUM_WORKERS=%d",
            g_seed, g_want, workers);
    if (g_iters) fprintf(stderr, ", --iter %u, %s", g_iters, g_run);
    if (g_cluster) fprintf(stderr, ", rank %d of %d", g_rank, g_ranks);
    fprintf(stderr, "): ");
}

/* A rank that exits ends the whole job (the MPI launcher kills the others). */
static void fail_end(uint32_t upto)
{
    fprintf(stderr, "  reproduce: DT_NUM_WORKERS=%d ", __atomic_load_n(&g_workers, __ATOMIC_RELAXED));
    if (g_cluster) {
        static const char *env[] = {"DT_SCHEDULE", "DT_PROGRESS", "DT_AGGREGATE", "DT_STEAL", "DT_NESTED"};
        for (unsigned i = 0; i < 5; i++)
            if (getenv(env[i])) fprintf(stderr, "%s=%s ", env[i], getenv(env[i]));
        fprintf(stderr, "mpiexec.mpich -n %d ", g_ranks);
    }
    if (g_iters) upto = g_want;      /* any task of an iteration may matter */
    fprintf(stderr, "oracle%s --seed %" PRIu64 " --tasks %u%s%s%s%s"
            "  (the program up to here; --dump prints it)\n", g_cluster ? " --cluster" : "",
            g_seed, upto < g_want ? upto + 1 : g_want, g_only ? " --only " : "",
            g_only ? g_only : "", g_no_checks ? " --no-checks" : "", g_no_hints ? " --no-hints" : "");
    if (g_iters) fprintf(stderr, "  with --iter %u\n", g_iters);
    fflush(stderr);
    _exit(1);
}

/* The last tasks before `limit` (in sequential order) that access byte o. */
static void print_touching(uint32_t o, uint32_t limit)
{
    unsigned shown = 0;
    fprintf(stderr, "  latest tasks (sequential order) accessing byte %u:\n", o);
    for (uint32_t id = limit; id-- > 0 && shown < 8;)
        for (unsigned i = 0; i < T[id].nacc && kept(id); i++)
            if (reg_has(&tacc(&T[id], i)->r, o)) {
                print_task(stderr, id, "    ");
                shown++;
                break;
            }
}

/* ---- task bodies -------------------------------------------------------------- */

typedef struct { uint8_t *buf; uint64_t *res; int par; } ctx_t;

static uint8_t *g_ref, *g_buf;            /* sequential buffer, runtime buffer */
static uint64_t *g_res_ref, *g_res_par;
static uint32_t *g_runs;
static uint8_t *g_state;                  /* per task: ST_* (runtime run) */
static unsigned long g_finished;
static const char *g_where = "";          /* what the main program is doing */
enum { ST_CREATED = 1, ST_RUNNING, ST_DONE };
static int32_t *g_occ;
static uint32_t *g_holder;
static dt_type_t g_type, g_noop;
static uint32_t g_created;                /* tasks the main program has created so far */
static unsigned g_step;                   /* steps of the main program done so far */

static void where(const char *what) { __atomic_store_n(&g_where, what, __ATOMIC_RELAXED); }

#define FNV 0x100000001b3ULL

static uint8_t bytev(uint64_t key, uint32_t o)
{
    return (uint8_t)(((key + o) * 0x9e3779b97f4a7c15ULL) >> 56);
}

/* A small integer: exact in f32 and f64, and sums of many stay exact. */
static int smallv(uint64_t key, uint32_t o, int lo, unsigned n)
{
    return lo + (int)((((key + o) * 0x9e3779b97f4a7c15ULL) >> 32) % n);
}

static double ld(const uint8_t *p, unsigned es)
{
    if (es == 4) { float f; memcpy(&f, p, 4); return f; }
    double d; memcpy(&d, p, 8); return d;
}

static void st(uint8_t *p, unsigned es, double v)
{
    if (es == 4) { float f = (float)v; memcpy(p, &f, 4); }
    else memcpy(p, &v, 8);
}

static uint64_t seg_read(const uint8_t *b, uint32_t lo, uint32_t hi, uint64_t h)
{
    for (uint32_t o = lo; o < hi; o++) h = (h ^ b[o]) * FNV;
    return h;
}

/* The top byte of an element of an integer zone.  Byte-wise operations keep
   it 0x00 or 0xff and reductions add little, so integer reductions never
   overflow: that would be undefined in the sequential program too. */
static int top_byte(uint32_t o)
{
    uint32_t es = z_es[o / 64];
    if (z_cls[o / 64] != Z_INT) return 0;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return o % es == es - 1;
#else
    return o % es == 0;
#endif
}

static void seg_write(uint8_t *b, uint32_t lo, uint32_t hi, uint64_t key)
{
    if (lo >= G) {
        for (uint32_t o = lo; o < hi; o += z_es[o / 64])
            st(b + o, z_es[o / 64], smallv(key, o, -512, 1024));
        return;
    }
    for (uint32_t o = lo; o < hi; o++) {
        uint8_t v = bytev(key, o);
        b[o] = top_byte(o) ? (uint8_t)-(v & 1) : v;
    }
}

/* commutative: a plain read-modify-write, wrong if two run at once */
static void seg_add(uint8_t *b, uint32_t lo, uint32_t hi, uint64_t key)
{
    if (lo >= G)
        for (uint32_t o = lo; o < hi; o += z_es[o / 64])
            st(b + o, z_es[o / 64], ld(b + o, z_es[o / 64]) + smallv(key, o, 1, 4));
    else
        for (uint32_t o = lo; o < hi; o++)
            if (!top_byte(o)) b[o] = (uint8_t)(b[o] + (bytev(key, o) | 1));
}

/* concurrent: atomic adds, so concurrent tasks may overlap in time */
static void seg_atomic_add(uint8_t *b, uint32_t lo, uint32_t hi, uint64_t key)
{
    if (lo < G) {
        for (uint32_t o = lo; o < hi; o++)
            if (!top_byte(o))
                __atomic_fetch_add(b + o, (uint8_t)(bytev(key, o) | 1), __ATOMIC_RELAXED);
        return;
    }
    for (uint32_t o = lo; o < hi; o += z_es[o / 64]) {
        int v = smallv(key, o, 1, 4);
        if (z_es[o / 64] == 4) {
            uint32_t *p = (uint32_t *)(void *)(b + o), nw;
            uint32_t old = __atomic_load_n(p, __ATOMIC_RELAXED);
            do { float f; memcpy(&f, &old, 4); f += (float)v; memcpy(&nw, &f, 4); }
            while (!__atomic_compare_exchange_n(p, &old, nw, 0, __ATOMIC_RELAXED,
                                                __ATOMIC_RELAXED));
        } else {
            uint64_t *p = (uint64_t *)(void *)(b + o), nw;
            uint64_t old = __atomic_load_n(p, __ATOMIC_RELAXED);
            do { double d; memcpy(&d, &old, 8); d += v; memcpy(&nw, &d, 8); }
            while (!__atomic_compare_exchange_n(p, &old, nw, 0, __ATOMIC_RELAXED,
                                                __ATOMIC_RELAXED));
        }
    }
}

static void red_apply(uint8_t *p, unsigned red, uint64_t c)
{
    unsigned op = red & 0xf000;
    switch (red & 0xf0000) {
    case DT_RED_I32: {
        uint32_t x, v = (uint32_t)c;
        memcpy(&x, p, 4);
        if (op == DT_RED_SUM) x += v & 0xff;
        else if (op == DT_RED_PROD) x *= v & 1 ? 1u : ~0u;
        else if (op == DT_RED_MIN ? (int32_t)v < (int32_t)x : (int32_t)v > (int32_t)x) x = v;
        memcpy(p, &x, 4);
        break;
    }
    case DT_RED_I64: {
        uint64_t x, v = c;
        memcpy(&x, p, 8);
        if (op == DT_RED_SUM) x += v & 0xffffffff;
        else if (op == DT_RED_PROD) x *= v & 1 ? 1u : ~0ull;
        else if (op == DT_RED_MIN ? (int64_t)v < (int64_t)x : (int64_t)v > (int64_t)x) x = v;
        memcpy(p, &x, 8);
        break;
    }
    default: {   /* small integral values only: exact in any order */
        unsigned es = (red & 0xf0000) == DT_RED_F32 ? 4 : 8;
        double x = ld(p, es), v = (double)((int)(c % 1201) - 600);
        if (op == DT_RED_SUM) x += (double)(1 + c % 4);
        else if (op == DT_RED_PROD) x *= c & 1 ? -1.0 : 1.0;
        else if (op == DT_RED_MIN ? v < x : v > x) x = v;
        st(p, es, x);
        break;
    }
    }
}

static void seg_red(const ctx_t *c, uint32_t lo, uint32_t hi, unsigned red, uint64_t key)
{
    unsigned es = (red & 0xf0000) == DT_RED_I32 || (red & 0xf0000) == DT_RED_F32 ? 4 : 8;
    for (uint32_t o = lo; o < hi; o += es) {
        uint8_t *p = c->par ? dt_reduction_ptr(c->buf + o) : c->buf + o;
        red_apply(p, red, mix64(key + o));
    }
}

/* Occupancy per byte of the runtime buffer: readers count in bits 0-9,
   concurrent tasks in bits 10-19, writers from bit 20.  Whoever enters second
   sees the first, so exclusion errors do not depend on a lucky interleaving. */
enum { OCC_R = 1, OCC_C = 1 << 10, OCC_W = 1 << 20 };

static int occ_kind(unsigned mode)
{
    switch (base(mode)) {
    case DT_IN: return OCC_R;
    case DT_CONCURRENT: return OCC_C;
    case DT_REDUCTION: return 0;        /* touches private copies only */
    default: return OCC_W;
    }
}

static void occ(const racc_t *a, int enter, uint32_t who)
{
    int k = occ_kind(a->mode);
    if (!k || !a->r.size) return;
    for (uint32_t i = 0; i < a->r.rows; i++)
        for (uint32_t o = a->r.off + i * a->r.stride, e = o + a->r.size; o < e; o++) {
            if (!enter) { __atomic_sub_fetch(&g_occ[o], k, __ATOMIC_SEQ_CST); continue; }
            int32_t v = __atomic_add_fetch(&g_occ[o], k, __ATOMIC_SEQ_CST);
            int bad = k == OCC_R ? v >> 10 != 0 : k == OCC_C ? (v & 0x3ff) || v >> 20 : v != OCC_W;
            if (bad) {
                uint32_t h = __atomic_load_n(&g_holder[o], __ATOMIC_RELAXED);
                fail_begin();
                fprintf(stderr, "exclusion broken on byte %u: ", o);
                if (who == NONE)
                    fprintf(stderr, "the main program, after dt_taskwait_on, accesses it (");
                else
                    fprintf(stderr, "task %u starts touching it (", who);
                print_acc(stderr, a);
                fprintf(stderr, ") while %d reader(s), %d concurrent task(s), %d writer(s) "
                        "hold it\n", (v & 0x3ff) - (k == OCC_R), ((v >> 10) & 0x3ff) - (k == OCC_C),
                        (v >> 20) - (k == OCC_W));
                if (who != NONE) print_task(stderr, who, "  ");
                if (h < nT) {
                    fprintf(stderr, "  latest writer/concurrent task to enter it:\n");
                    print_task(stderr, h, "  ");
                }
                if (who == NONE) who = __atomic_load_n(&g_created, __ATOMIC_RELAXED);
                fail_end(h < nT && h > who ? h : who);
            }
            if (k != OCC_R) __atomic_store_n(&g_holder[o], who, __ATOMIC_RELAXED);
        }
}

/* One access's effect.  keys derive from what the task has read so far. */
static uint64_t touch(const ctx_t *c, const racc_t *a, uint64_t h, uint64_t key)
{
    for (uint32_t i = 0; i < a->r.rows; i++) {
        uint32_t lo = a->r.off + i * a->r.stride, hi = lo + a->r.size;
        switch (base(a->mode)) {
        case DT_IN: h = seg_read(c->buf, lo, hi, h); break;
        case DT_OUT: seg_write(c->buf, lo, hi, key); break;
        case DT_CONCURRENT: seg_atomic_add(c->buf, lo, hi, key); break;
        case DT_COMMUTATIVE: seg_add(c->buf, lo, hi, key); break;
        case DT_REDUCTION: seg_red(c, lo, hi, a->mode & 0xff000, key); break;
        default: break;
        }
    }
    if (base(a->mode) == DT_INOUT) {   /* read all rows first, then write */
        for (uint32_t i = 0, lo = a->r.off; i < a->r.rows; i++, lo += a->r.stride)
            h = seg_read(c->buf, lo, lo + a->r.size, h);
        key = mix64(key ^ h);
        for (uint32_t i = 0, lo = a->r.off; i < a->r.rows; i++, lo += a->r.stride)
            seg_write(c->buf, lo, lo + a->r.size, key);
    }
    return h;
}

static uint64_t phase(const ctx_t *c, uint32_t id, const task_t *t, uint64_t h, unsigned when)
{
    if (c->par)
        for (unsigned i = 0; i < t->nacc; i++)
            if (strong(tacc(t, i))) occ(tacc(t, i), 1, id);
    for (unsigned i = 0; i < t->nacc; i++)
        if (strong(tacc(t, i)))
            h = touch(c, tacc(t, i), h, mix64(h ^ ((uint64_t)id << 8 | i << 2 | when)));
    if (c->par)
        for (unsigned i = 0; i < t->nacc; i++)
            if (strong(tacc(t, i))) occ(tacc(t, i), 0, id);
    return h;
}

static uint32_t argmagic(uint32_t id) { return (uint32_t)mix64(g_seed * 31 + id); }

static void to_dt(const racc_t *a, dt_access_t *d, uint8_t *buf)
{
    d->mode = a->mode;
    d->addr = buf + a->r.off;
    d->size = a->r.size;
    d->rows = a->r.rows > 1 ? a->r.rows : (a->r.off & 1);   /* a plain range says 0 or 1 */
    d->stride = a->r.rows > 1 ? a->r.stride : 0;
}

static void check_rc(int rc, const char *call, uint32_t id, uint32_t upto)
{
    if (rc == DT_OK) return;
    fail_begin();
    fprintf(stderr, "%s returned %d (%s)\n", call, rc, dt_strerror(rc));
    if (id != NONE) print_task(stderr, id, "  ");
    fail_end(upto);
}

/* In a cluster: 1 if task id may leave rank 0 when created by the root, 0 if
   it has a concurrent, commutative or reduction access, -1 if such accesses
   all have size 0 ("ignored", yet the library pins the task: left untested). */
static int offloadable(const task_t *t)
{
    int r = 1;
    for (unsigned i = 0; i < t->nacc; i++) {
        unsigned m = base(tacc(t, i)->mode);
        if (m == DT_CONCURRENT || m == DT_COMMUTATIVE || m == DT_REDUCTION) {
            if (tacc(t, i)->r.size) return 0;
            r = -1;
        }
    }
    return r;
}

static uint8_t g_outside[8];      /* ordinary memory, outside the common address space */

static void expect_erange(int rc, uint32_t id, int node, const char *why)
{
    if (rc == DT_ERANGE) return;
    fail_begin();
    fprintf(stderr, "dt_task_create with attr.node %d (%s) on rank %d gave %d (%s), "
            "not DT_ERANGE\n", node, why, dt_rank(), rc, dt_strerror(rc));
    print_task(stderr, id, "  ");
    fail_end(id);
}

/* Node hints, derived from the seed and the task id only, so that a failing run
   keeps them when shrunk.  The root's offloadable tasks get a random rank 60%
   of the time; every task may first be created where it may not run. */
static void cluster_attr(uint32_t id, dt_task_attr_t *attr, const void *args, size_t argsz,
                         const dt_access_t *acc)
{
    const task_t *t = &T[id];
    uint64_t h = mix64(g_seed ^ 0x6e6f6465ULL ^ (uint64_t)id << 24);
    unsigned pm = (unsigned)(h % 1000);
    int top = t->parent == NONE, me = dt_rank(), off = offloadable(t), wrong = -1;
    const char *why = "";
    h /= 1000;
    if (top && off == 1) {
        /* half of the hints follow the data (tasks on the same bytes go to
           the same rank, so chains of them are placed early: namespace) */
        if (pm < 300 && t->nacc) attr->node = (int)(mix64(g_seed ^ A[t->acc0].r.off / 64) % (unsigned)g_ranks);
        else if (pm < 600) attr->node = (int)(h % (unsigned)g_ranks);
        else if (pm < 620) { wrong = g_ranks; why = "no such rank"; }
        else if (pm < 640 && g_ranks > 1) {
            dt_access_t o = {DT_INOUT, g_outside, sizeof g_outside, 0, 0};
            dt_task_attr_t a = {0, 1 + (int)(h % (unsigned)(g_ranks - 1)), "outside", 0};
            expect_erange(dt_task_create(g_noop, NULL, 0, &o, 1, &a), id, a.node,
                          "a task on malloc memory");
        }
    } else if (off == 1) {                    /* nested: pushed to another rank */
        if (pm < 350) attr->node = (int)(h % (unsigned)g_ranks);
        else if (pm < 370) { wrong = g_ranks; why = "no such rank"; }
    } else if (off == 0) {
        if (pm < 100) attr->node = me;        /* where it runs anyway: allowed */
        else if (pm < 250 && g_ranks > 1) {
            wrong = (me + 1 + (int)(h % (unsigned)(g_ranks - 1))) % g_ranks;
            why = "concurrent, commutative or reduction access";
        }
    }
    if (wrong >= 0) {
        dt_task_attr_t a = *attr;
        a.node = wrong;
        expect_erange(dt_task_create(g_type, args, argsz, acc, t->nacc, &a), id, wrong, why);
    }
}

static void create(const ctx_t *c, uint32_t id)
{
    const task_t *t = &T[id];
    dt_access_t acc[MAX_ACC];
    uint8_t args[MAX_ARGS];
    uint32_t magic = argmagic(id), argsz = t->argsz, pat = 8;
    for (unsigned i = 0; i < t->nacc; i++) to_dt(tacc(t, i), &acc[i], c->buf);
    memcpy(args, &id, 4);
    memcpy(args + 4, &magic, 4);
    if (g_cluster) {       /* other ranks learn where the buffer is from the args */
        memcpy(args + 8, &c->buf, sizeof c->buf);
        pat = 8 + sizeof c->buf;
        if (argsz < pat) argsz = pat;
    }
    for (uint32_t i = pat; i < argsz; i++) args[i] = (uint8_t)(magic + i);
    dt_task_attr_t attr = {t->prio, DT_NODE_ANY, "oracle", t->flags};
    if (g_cluster && !g_no_hints) cluster_attr(id, &attr, args, argsz, acc);
    int def = !t->prio && !t->flags && (id & 1) && attr.node == DT_NODE_ANY;
    /* a serving rank counts as hung while it has tasks to run: not those
       it pushes to another rank (they never run here) */
    if (!g_rank || attr.node == DT_NODE_ANY || attr.node == g_rank)
        __atomic_store_n(&g_state[id], ST_CREATED, __ATOMIC_RELAXED);
    check_rc(dt_task_create(g_type, args, argsz, acc, t->nacc, def ? NULL : &attr),
             "dt_task_create", id, id);
}

static void run_task(const ctx_t *c, uint32_t id);

static void spawn(const ctx_t *c, uint32_t id)
{
    if (!kept(id)) return;
    if (c->par) create(c, id);
    else run_task(c, id);
}

static void run_task(const ctx_t *c, uint32_t id)
{
    const task_t *t = &T[id];
    uint64_t h = mix64(g_seed ^ (uint64_t)id * 0x2545f4914f6cdd1dULL);
    if (t->pre) h = phase(c, id, t, h, 0);
    for (unsigned k = 0; k < t->split; k++) spawn(c, K[t->kid0 + k]);
    if (t->mid) {
        if (c->par) {
            dt_access_t d;
            to_dt(&t->midacc, &d, c->buf);
            check_rc(dt_taskwait_on(&d, 1), "dt_taskwait_on (inside a task)", id, id);
            occ(&t->midacc, 1, id);
        }
        h = touch(c, &t->midacc, h, mix64(h ^ ((uint64_t)id << 8 | 3)));
        if (c->par) occ(&t->midacc, 0, id);
    }
    if (t->bad && c->par) {
        dt_access_t d;
        to_dt(&t->badacc, &d, c->buf);
        int rc = dt_task_create(g_noop, NULL, 0, &d, 1, NULL);
        if (rc != DT_EINVAL) {
            fail_begin();
            fprintf(stderr, "a child access outside its parent's (or a write under an in) "
                    "gave %d (%s), not DT_EINVAL\n", rc, dt_strerror(rc));
            print_task(stderr, id, "  ");
            fail_end(id);
        }
    }
    for (unsigned k = t->split; k < t->nkid; k++) spawn(c, K[t->kid0 + k]);
    if (t->end) {
        if (c->par) check_rc(dt_taskwait(), "dt_taskwait (inside a task)", id, id);
        h = phase(c, id, t, h, 1);
    }
    if (g_iters) __atomic_add_fetch(&c->res[id], h, __ATOMIC_RELAXED);
    else c->res[id] = h;
    if (c->par) {
        __atomic_add_fetch(&g_runs[id], 1, __ATOMIC_RELAXED);
        __atomic_store_n(&g_state[id], ST_DONE, __ATOMIC_RELAXED);
        __atomic_add_fetch(&g_finished, 1, __ATOMIC_RELAXED);
    }
}

static void body(void *p)
{
    uint32_t id, magic, pat = 8;
    ctx_t c = {g_buf, g_res_par, 1};
    memcpy(&id, p, 4);
    memcpy(&magic, (uint8_t *)p + 4, 4);
    if (g_cluster) {
        memcpy(&c.buf, (uint8_t *)p + 8, sizeof c.buf);
        pat = 8 + sizeof c.buf;
    }
    int ok = id < nT && magic == argmagic(id) && c.buf && (!g_buf || c.buf == g_buf);
    for (uint32_t i = pat; ok && i < T[id].argsz; i++)
        ok = ((uint8_t *)p)[i] == (uint8_t)(magic + i);
    if (!ok) {
        fail_begin();
        fprintf(stderr, "a task got corrupted args (id field %u)\n", id);
        fail_end(id < nT ? id : g_want);
    }
    __atomic_store_n(&g_state[id], ST_RUNNING, __ATOMIC_RELAXED);
    run_task(&c, id);
}

static void noop(void *p) { (void)p; }

/* ---- the two runs ------------------------------------------------------------- */

static uint64_t check_key(uint32_t s)
{
    return mix64(g_seed ^ 0x636865636bULL ^ (uint64_t)s << 20);
}

static void snap_region(const reg_t *r)
{
    for (uint32_t i = 0; i < r->rows; i++) {
        while (nsnap + r->size > capsnap) {
            capsnap = capsnap ? 2 * capsnap : 1 << 20;
            if (!(g_snap = realloc(g_snap, capsnap))) { perror("oracle"); exit(2); }
        }
        memcpy(g_snap + nsnap, g_ref + r->off + i * r->stride, r->size);
        nsnap += r->size;
    }
}

static void run_sequential(void)
{
    ctx_t c = {g_ref, g_res_ref, 0};
    for (uint32_t s = 0; s < nS; s++) {
        step_t *st = &S[s];
        reg_t all = plain(0, B);
        st->snap = nsnap;
        switch (st->kind) {
        case S_TASK: spawn(&c, st->id); break;
        case S_WAIT: snap_region(&all); break;
        default:
            for (uint32_t i = 0; i < st->nacc; i++) snap_region(&A[st->acc0 + i].r);
            for (uint32_t i = 0; st->write && i < st->nacc; i++) {
                racc_t w = {DT_OUT, A[st->acc0 + i].r};
                touch(&c, &w, 0, check_key(s));
            }
        }
    }
}

static void check_region(const reg_t *r, size_t *at, const char *when, uint32_t s)
{
    for (uint32_t i = 0; i < r->rows; i++)
        for (uint32_t o = r->off + i * r->stride, e = o + r->size; o < e; o++, (*at)++) {
            if (g_buf[o] == g_snap[*at]) continue;
            fail_begin();
            fprintf(stderr, "%s: byte %u is 0x%02x, the sequential run has 0x%02x\n",
                    when, o, g_buf[o], g_snap[*at]);
            if (o < G) fprintf(stderr, "  (grid row %u col %u)\n", o / W, o % W);
            print_touching(o, S[s].id);
            fail_end(S[s].id);
        }
}

/* here_only: a cluster before the ranks' results are combined; only the tasks
   that ran on this rank can be checked. */
static void check_results(uint32_t from, uint32_t to, const char *when, int here_only)
{
    for (uint32_t id = from; id < to; id++) {
        uint32_t want = (uint32_t)kept(id) * (g_iters ? g_iters : 1);
        if (here_only && !g_runs[id]) continue;
        if (g_runs[id] == want && g_res_par[id] == g_res_ref[id]) continue;
        fail_begin();
        if (g_runs[id] != want)
            fprintf(stderr, "%s: task %u ran %u times\n", when, id, g_runs[id]);
        else
            fprintf(stderr, "%s: task %u read other data than in the sequential run\n", when, id);
        print_task(stderr, id, "  ");
        for (uint32_t p = T[id].parent; p != NONE; p = T[p].parent) print_task(stderr, p, "  ");
        fail_end(id);
    }
}

static void print_state(uint8_t state, const char *what)
{
    unsigned shown = 0, n = 0;
    for (uint32_t id = 0; id < nT; id++)
        n += __atomic_load_n(&g_state[id], __ATOMIC_RELAXED) == state;
    fprintf(stderr, "  %u tasks %s%s\n", n, what, n > 6 ? ", the first 6:" : n ? ":" : "");
    for (uint32_t id = 0; id < nT && shown < 6; id++)
        if (__atomic_load_n(&g_state[id], __ATOMIC_RELAXED) == state) {
            print_task(stderr, id, "    ");
            shown++;
        }
}

static int has_state(uint8_t state)
{
    for (uint32_t id = 0; id < nT; id++)
        if (__atomic_load_n(&g_state[id], __ATOMIC_RELAXED) == state) return 1;
    return 0;
}

/* Each rank watches only itself.  Rank 0 (or the single process) counts as
   progressing while its tasks finish or its main program advances (in a
   cluster it may wait for other ranks a while); a serving rank is hung when a
   task it started stops progressing there, and reports before rank 0 would.
   A nested task created on a serving rank may start on another one
   (DT_NESTED=spread, DT_STEAL), which this rank does not see: its waiting
   alone is not a hang here (rank 0 still sees the job stop). */
static void *watchdog(void *arg)
{
    unsigned long last = 0;
    unsigned still = 0, limit = g_rank ? HANG_SECONDS - 3 : HANG_SECONDS;
    (void)arg;
    for (;;) {
        sleep(1);
        unsigned long f = __atomic_load_n(&g_finished, __ATOMIC_RELAXED);
        if (g_cluster && !g_rank) f += __atomic_load_n(&g_step, __ATOMIC_RELAXED);
        if (f != last) { last = f; still = 0; continue; }
        if (g_rank && !has_state(ST_RUNNING)) { still = 0; continue; }
        if (++still < limit) continue;
        fail_begin();
        if (g_rank)
            fprintf(stderr, "hang: rank %d serves offloaded tasks, and none finished there "
                    "for %u s\n", g_rank, limit);
        else
            fprintf(stderr, "hang: no task finished%s for %d s; the main program is in %s "
                    "(%u tasks created by then)\n", g_cluster ? " on rank 0" : "", HANG_SECONDS,
                    __atomic_load_n(&g_where, __ATOMIC_RELAXED),
                    __atomic_load_n(&g_created, __ATOMIC_RELAXED));
        print_state(ST_RUNNING, "started, not finished (waiting inside?)");
        print_state(ST_CREATED, g_cluster ? "created here, not run here (offloaded, spread or stolen "
                    "ones may have finished elsewhere)" : "created, never started");
        fail_end(g_rank ? g_want : __atomic_load_n(&g_created, __ATOMIC_RELAXED));
    }
    return NULL;
}

static void run_parallel(void)
{
    static ctx_t c;
    c.buf = g_buf; c.res = g_res_par; c.par = 1;
    uint32_t checked = 0;
    char when[96];
    for (uint32_t s = 0; s < nS; s++) {
        const step_t *st = &S[s];
        size_t at = st->snap;
        reg_t all = plain(0, B);
        __atomic_store_n(&g_created, st->id, __ATOMIC_RELAXED);
        __atomic_store_n(&g_step, s, __ATOMIC_RELAXED);
        switch (st->kind) {
        case S_TASK:
            where("dt_task_create");
            spawn(&c, st->id);
            break;
        case S_WAIT:
            where("dt_taskwait");
            check_rc(dt_taskwait(), "dt_taskwait", NONE, st->id);
            snprintf(when, sizeof when, "after dt_taskwait (step %u, %u tasks created)", s, st->id);
            check_results(checked, st->id, when, g_cluster);
            checked = st->id;
            check_region(&all, &at, when, s);
            break;
        default: {
            dt_access_t d[3];
            for (uint32_t i = 0; i < st->nacc; i++) to_dt(&A[st->acc0 + i], &d[i], g_buf);
            where("dt_taskwait_on");
            check_rc(dt_taskwait_on(d, st->nacc), "dt_taskwait_on", NONE, st->id);
            for (uint32_t i = 0; i < st->nacc; i++) occ(&A[st->acc0 + i], 1, NONE);
            snprintf(when, sizeof when, "after dt_taskwait_on(%s) (step %u, %u tasks created)",
                     mode_name(A[st->acc0].mode), s, st->id);
            for (uint32_t i = 0; i < st->nacc; i++) check_region(&A[st->acc0 + i].r, &at, when, s);
            for (uint32_t i = 0; st->write && i < st->nacc; i++) {
                racc_t w = {DT_OUT, A[st->acc0 + i].r};
                touch(&c, &w, 0, check_key(s));
            }
            for (uint32_t i = 0; i < st->nacc; i++) occ(&A[st->acc0 + i], 0, NONE);
        }
        }
    }
    where("the final dt_taskwait");
    __atomic_store_n(&g_created, nT, __ATOMIC_RELAXED);
    check_rc(dt_taskwait(), "dt_taskwait", NONE, nT);
    check_results(checked, nT, "at the end", g_cluster);
    for (uint32_t o = 0; o < B; o++) {
        if (g_buf[o] == g_ref[o]) continue;
        fail_begin();
        fprintf(stderr, "final buffer: byte %u is 0x%02x, the sequential run has 0x%02x\n",
                o, g_buf[o], g_ref[o]);
        if (o < G) fprintf(stderr, "  (grid row %u col %u)\n", o / W, o % W);
        print_touching(o, nT);
        fail_end(nT);
    }
}

/* ---- --iter: the program as the body of an iteration ----------------------------- */

static uint8_t *g_init;         /* the buffer's initial contents */
static dt_type_t g_body;

static void run_sequential_iter(void)
{
    ctx_t c = {g_ref, g_res_ref, 0};
    for (uint32_t it = 0; it < g_iters; it++)
        for (uint32_t s = 0; s < nS; s++) spawn(&c, S[s].id);
}

/* the body dt_taskiter records: creates the top-level tasks of one iteration */
static void iter_body(void *p)
{
    (void)p;
    ctx_t c = {g_buf, g_res_par, 1};
    for (uint32_t s = 0; s < nS; s++) spawn(&c, S[s].id);
}

static void check_iter_run(void)
{
    check_results(0, nT, g_run, 0);
    for (uint32_t o = 0; o < B; o++) {
        if (g_buf[o] == g_ref[o]) continue;
        fail_begin();
        fprintf(stderr, "final buffer: byte %u is 0x%02x, the sequential run has 0x%02x\n",
                o, g_buf[o], g_ref[o]);
        if (o < G) fprintf(stderr, "  (grid row %u col %u)\n", o / W, o % W);
        print_touching(o, nT);
        fail_end(nT);
    }
}

static void run_parallel_iter(void)
{
    ctx_t c = {g_buf, g_res_par, 1};
    g_run = "as a plain loop";
    where("a plain loop of dt_task_create");
    for (uint32_t it = 0; it < g_iters; it++)
        for (uint32_t s = 0; s < nS; s++) spawn(&c, S[s].id);
    check_rc(dt_taskwait(), "dt_taskwait", NONE, nT);
    check_iter_run();
    memcpy(g_buf, g_init, B);
    memset(g_res_par, 0, nT * sizeof *g_res_par);
    memset(g_runs, 0, nT * sizeof *g_runs);
    g_run = "as dt_taskiter";
    where("dt_taskiter");
    check_rc(dt_taskiter(g_body, NULL, 0, g_iters), "dt_taskiter", NONE, nT);
    check_iter_run();
}

static void usage(void);

static void parse_only(const char *p)
{
    if (!(g_listed = calloc(nT, 1))) { perror("oracle"); exit(2); }
    while (*p) {
        char *end;
        unsigned long a = strtoul(p, &end, 10), b = a;
        if (end == p) usage();
        if (*end == '-') {
            p = end + 1;
            b = strtoul(p, &end, 10);
            if (end == p) usage();
        }
        for (unsigned long id = a; id <= b && id < nT; id++) g_listed[id] = 1;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') usage();
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: oracle --seed S --tasks N [--dump] [--only IDS] [--no-checks] "
            "[--cluster [--no-hints]] [--2d PERMILLE]\n       oracle --seed S --tasks N --iter I [--dump] [--only IDS] [--2d PERMILLE]\n");
    exit(2);
}

static double g_secs;           /* the parallel run's time */

/* Between dt_init and dt_finalize, on rank 0 in a cluster. */
static int run_runtime(void)
{
    __atomic_store_n(&g_workers, dt_num_workers(), __ATOMIC_RELAXED);
    g_buf = dt_dmalloc(B);
    if (!g_buf || (uintptr_t)g_buf % 64) {
        fprintf(stderr, "oracle: dt_dmalloc(%u) gave %p, not a 64-byte aligned block\n",
                B, (void *)g_buf);
        return 1;
    }
    memcpy(g_buf, g_init, B);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (g_iters) run_parallel_iter();
    else run_parallel();
    clock_gettime(CLOCK_MONOTONIC, &t1);
    g_secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    check_rc(dt_dfree(g_buf), "dt_dfree", NONE, nT);
    where("dt_finalize");
    return 0;
}

static int app(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return run_runtime();
}

/* Every slot was written on one rank at most, into zeroed arrays: an or of the
   hashes and a sum of the run counts rebuild them on rank 0. */
static void combine_results(void)
{
    int root = g_rank == 0;
    where("MPI_Reduce (combining the ranks' results)");
    if (MPI_Reduce(root ? MPI_IN_PLACE : g_res_par, g_res_par, (int)nT, MPI_UINT64_T, MPI_BOR,
                   0, MPI_COMM_WORLD) != MPI_SUCCESS ||
        MPI_Reduce(root ? MPI_IN_PLACE : g_runs, g_runs, (int)nT, MPI_UINT32_T, MPI_SUM,
                   0, MPI_COMM_WORLD) != MPI_SUCCESS) {
        fprintf(stderr, "oracle: MPI_Reduce failed\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    if (root) check_results(0, nT, "at the end (all ranks' results combined)", 0);
}

int main(int argc, char **argv)
{
    int dump = 0, have_seed = 0;
    g_want = 20000;
    for (int i = 1; i < argc; i++) {
        char *end;
        if (!strcmp(argv[i], "--dump")) { dump = 1; continue; }
        if (!strcmp(argv[i], "--no-checks")) { g_no_checks = 1; continue; }
        if (!strcmp(argv[i], "--cluster")) { g_cluster = 1; continue; }
        if (!strcmp(argv[i], "--no-hints")) { g_no_hints = 1; continue; }
        if (i + 1 >= argc) usage();
        if (!strcmp(argv[i], "--only")) { g_only = argv[++i]; continue; }
        unsigned long long v = strtoull(argv[i + 1], &end, 10);
        if (*end || !*argv[i + 1]) usage();
        if (!strcmp(argv[i], "--seed")) { g_seed = v; have_seed = 1; }
        else if (!strcmp(argv[i], "--tasks") && v >= 1 && v <= 1000000) g_want = (uint32_t)v;
        else if (!strcmp(argv[i], "--iter") && v >= 1 && v <= 100000) g_iters = (uint32_t)v;
        else if (!strcmp(argv[i], "--2d") && v <= 1000) g_2d = (unsigned)v;
        else usage();
        i++;
    }
    if (!have_seed || (g_iters && (g_cluster || g_no_checks)) || (g_no_hints && !g_cluster)) usage();
    if (g_cluster) {   /* ours, so that the results can be combined after dt_main */
        int prov;
        if (MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &prov) != MPI_SUCCESS ||
            prov < MPI_THREAD_MULTIPLE) {
            fprintf(stderr, "oracle: MPI_Init_thread(MPI_THREAD_MULTIPLE) failed\n");
            return 2;
        }
        MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
        MPI_Comm_size(MPI_COMM_WORLD, &g_ranks);
    }

    gen_program();
    if (g_cluster) cluster_program();
    if (g_only) parse_only(g_only);
    if (g_no_checks) {
        uint32_t n = 0;
        for (uint32_t s = 0; s < nS; s++)
            if (S[s].kind == S_TASK) S[n++] = S[s];
        nS = n;
    }
    if (dump) {
        if (!g_rank) dump_program();
        if (g_cluster) MPI_Finalize();
        return 0;
    }

    g_ref = aligned_alloc(64, B);
    g_res_ref = calloc(nT, sizeof *g_res_ref);
    g_res_par = calloc(nT, sizeof *g_res_par);
    g_runs = calloc(nT, sizeof *g_runs);
    g_state = calloc(nT, 1);
    g_occ = calloc(B, sizeof *g_occ);
    g_holder = malloc(B * sizeof *g_holder);
    if (!g_ref || !g_res_ref || !g_res_par || !g_runs || !g_state || !g_occ || !g_holder) {
        perror("oracle");
        exit(2);
    }
    memset(g_holder, 0xff, B * sizeof *g_holder);
    if (dt_type_register("oracle-task", body, &g_type) != DT_OK ||
        dt_type_register("oracle-noop", noop, &g_noop) != DT_OK ||
        dt_type_register("oracle-iteration", iter_body, &g_body) != DT_OK) {
        fprintf(stderr, "oracle: dt_type_register failed\n");
        return 2;
    }
    pthread_t wd;
    if (pthread_create(&wd, NULL, watchdog, NULL)) { perror("oracle: watchdog"); return 2; }
    if (g_cluster && g_rank) {     /* serve rank 0's tasks, then hand in the results */
        int rc = dt_main(argc, argv, app);
        if (rc) {
            fprintf(stderr, "oracle: rank %d: dt_main: %s\n", g_rank, dt_strerror(rc));
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
        combine_results();
        MPI_Finalize();
        return 0;
    }

    for (uint32_t o = 0; o < G; o++)
        g_ref[o] = top_byte(o) ? (uint8_t)-(rnd64() & 1) : (uint8_t)rnd64();
    for (uint32_t o = G; o < B; o += z_es[o / 64])
        st(g_ref + o, z_es[o / 64], (int)rnd(1025) - 512);

    if (!(g_init = malloc(B))) { perror("oracle"); exit(2); }
    memcpy(g_init, g_ref, B);
    if (g_iters) run_sequential_iter();
    else run_sequential();

    if (g_cluster) {
        int rc = dt_main(argc, argv, app);
        if (rc) {
            fprintf(stderr, "oracle: dt_main: %s\n", rc < 0 ? dt_strerror(rc) : "failed");
            MPI_Abort(MPI_COMM_WORLD, rc < 0 ? 2 : rc);
        }
        combine_results();
        MPI_Finalize();
    } else {
        int rc = dt_init(&argc, &argv);
        if (rc != DT_OK) { fprintf(stderr, "oracle: dt_init: %s\n", dt_strerror(rc)); return 2; }
        if ((rc = run_runtime())) return rc;
        check_rc(dt_finalize(), "dt_finalize", NONE, nT);
    }
    uint32_t parents = 0, waits = 0;
    for (uint32_t id = 0; id < nT; id++) parents += T[id].nkid > 0;
    for (uint32_t s = 0; s < nS; s++) waits += S[s].kind != S_TASK;
    printf("oracle: seed %" PRIu64 ": %u tasks (%u parents), %u checks, %u-byte buffer, "
           "%d workers", g_seed, nT, parents, waits, B, g_workers);
    if (g_iters) printf(", %u iterations as a plain loop and as dt_taskiter", g_iters);
    if (g_cluster)
        printf(" x %d ranks (DT_SCHEDULE=%s)", g_ranks,
               getenv("DT_SCHEDULE") ? getenv("DT_SCHEDULE") : "locality");
    printf(": ok in %.2f s\n", g_secs);
    free(g_init);
    return 0;
}
