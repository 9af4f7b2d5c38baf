/* test-cluster.c - the parts of the cluster layer that need no MPI, fed
 * states made by hand: rank 0's directory planning (which transfers a task
 * needs on a rank), the placement policies, and the version cache (what is
 * fetched, what waits for bytes on their way).  One process, no mpiexec:
 * messages a rank would send stay in the outbox, where the tests read them. */
#include "cluster/internal.h"
#include "mem/mem.h"
#include "test_util.h"

#define V(n, rank) (((uint64_t)(n) << 8) | (rank))
#define BIT(r) (1ull << (r))

static plan_ctx plan_for(dt__rmap *dir, int target)
{
    return (plan_ctx){ .dir = dir, .hole_version = DT__ROOT_WROTE, .self = 0, .target = target, .reads = true };
}

/* ---- directory ----------------------------------------------------------- */

START_TEST(plan_holes_and_holders)
{
    dt__rmap dir = { 0 };
    /* [100, 200) written on rank 1; [200, 300) written on rank 2 and copied to 3 */
    dt__cl_dir_record(&dir, 100, 100, 1, 100, V(1, 1), BIT(1));
    dt__cl_dir_record(&dir, 200, 100, 1, 100, V(2, 2), BIT(2) | BIT(3));
    plan_ctx p = plan_for(&dir, 3);
    dt__cl_dir_plan(&p, 50, 300, 1, 300);   /* [50, 350) */
    ck_assert_uint_eq(p.n, 4);
    /* a hole: rank 0 holds what nobody wrote */
    ck_assert_uint_eq(p.items[0].addr, 50);
    ck_assert_uint_eq(p.items[0].size, 50);
    ck_assert_int_eq(p.items[0].source, DT__VERSION_RANK(DT__ROOT_WROTE));
    ck_assert_uint_eq(p.items[1].addr, 100);
    ck_assert_int_eq(p.items[1].source, 1);
    ck_assert_uint_eq(p.items[1].version, V(1, 1));
    ck_assert_uint_eq(p.items[2].addr, 200);
    ck_assert_int_eq(p.items[2].source, -1);   /* rank 3 holds it already */
    ck_assert_uint_eq(p.skipped, 1);
    ck_assert_uint_eq(p.items[3].addr, 300);
    /* planning records rank 3 as a holder: a second task fetches nothing more */
    free(p.items);
    plan_ctx again = plan_for(&dir, 3);
    dt__cl_dir_plan(&again, 50, 300, 1, 300);
    for (size_t i = 0; i < again.n; i++) ck_assert_int_eq(again.items[i].source, -1);
    free(again.items);
    dt__cl_tree_free(&dir);
}
END_TEST

START_TEST(plan_rows_travel_as_one_region)
{
    dt__rmap dir = { 0 };
    /* a 16-row tile of 64-byte rows at stride 1024, written on rank 2 */
    dt__cl_dir_record(&dir, 4096, 64, 16, 1024, V(7, 2), BIT(2));
    ck_assert_uint_eq(dt__rmap_count(&dir), 1); /* one rectangle: exactly the rows' bytes */
    ck_assert_ptr_null(dt__rmap_find(&dir, 4096 + 64));
    ck_assert_ptr_nonnull(dt__rmap_find(&dir, 4096 + 15 * 1024 + 63));
    plan_ctx p = plan_for(&dir, 1);
    dt__cl_dir_plan(&p, 4096, 64, 16, 1024);
    ck_assert_uint_eq(p.n, 1);
    ck_assert_uint_eq(p.items[0].rows, 16);
    ck_assert_uint_eq(p.items[0].stride, 1024);
    ck_assert_int_eq(p.items[0].source, 2);
    free(p.items);
    /* one row rewritten on rank 3: three rectangles, each one message */
    dt__cl_dir_record(&dir, 4096 + 5 * 1024, 64, 1, 64, V(8, 3), BIT(3));
    plan_ctx q = plan_for(&dir, 0);
    dt__cl_dir_plan(&q, 4096, 64, 16, 1024);
    ck_assert_uint_eq(q.n, 3);
    ck_assert_uint_eq(q.items[0].rows, 5);
    ck_assert_int_eq(q.items[0].source, 2);
    ck_assert_uint_eq(q.items[1].addr, 4096 + 5 * 1024);
    ck_assert_uint_eq(q.items[1].rows, 1);
    ck_assert_int_eq(q.items[1].source, 3);
    ck_assert_uint_eq(q.items[2].addr, 4096 + 6 * 1024);
    ck_assert_uint_eq(q.items[2].rows, 10);
    ck_assert_uint_eq(q.items[2].stride, 1024);
    free(q.items);
    dt__cl_tree_free(&dir);
}
END_TEST

START_TEST(plan_missing_for_bring_back)
{
    dt__rmap dir = { 0 };
    dt__cl_dir_record(&dir, 0, 64, 8, 128, V(3, 1), BIT(1));
    dt__cl_dir_record(&dir, 2 * 128, 64, 1, 64, V(4, 0), BIT(0));
    plan_ctx p = plan_for(&dir, 0);
    p.only_missing = true;
    dt__cl_dir_plan_all(&p);
    ck_assert_uint_eq(p.n, 2);                /* the row rank 0 holds is left out */
    for (size_t i = 0; i < p.n; i++) ck_assert_int_eq(p.items[i].source, 1);
    ck_assert_uint_eq(dt__cl_coalesce_rows(p.items, p.n), 2);   /* rows 0-1 and 3-7 */
    ck_assert_uint_eq(p.items[0].rows, 2);
    ck_assert_uint_eq(p.items[0].stride, 128);
    ck_assert_uint_eq(p.items[1].rows, 5);
    ck_assert_uint_eq(p.items[1].addr, 3 * 128);
    free(p.items);
    /* a region whose missing pieces number its rows without being its rows:
       row 0 lacks two pieces, row 1 lacks none (it must not become the region) */
    dt__cl_dir_record(&dir, 8192, 16, 1, 16, V(5, 1), BIT(1));
    dt__cl_dir_record(&dir, 8192 + 16, 16, 1, 16, V(5, 1), BIT(1) | BIT(3));
    plan_ctx q = plan_for(&dir, 0);
    q.only_missing = true;
    dt__cl_dir_plan(&q, 8192, 32, 2, 4096);
    ck_assert_uint_eq(q.n, 2);
    ck_assert_uint_eq(q.items[0].size, 16);
    ck_assert_uint_eq(q.items[0].rows, 1);
    ck_assert_uint_eq(q.items[1].addr, 8192 + 16);
    free(q.items);
    dt__cl_tree_free(&dir);
    /* a tile whose rows wrap past the directory's stride, cut into bands by
       a row rewritten in its middle: 8 pieces, brought back as 2 messages */
    dt__rmap d2 = { 0 };
    dt__cl_dir_record(&d2, 1000, 96, 64, 128, V(6, 2), BIT(2));        /* stride 128: 1000 = 7 x 128 + 104 */
    dt__cl_dir_record(&d2, 1000 + 10 * 128, 96, 1, 96, V(7, 0), BIT(0));
    plan_ctx r = plan_for(&d2, 0);
    r.only_missing = true;
    dt__cl_dir_plan_all(&r);
    ck_assert_uint_eq(r.n, 8);
    ck_assert_uint_eq(dt__cl_coalesce_rows(r.items, r.n), 2);          /* rows 0-9 and 11-63 of the tile */
    ck_assert_uint_eq(r.items[0].addr, 1000);
    ck_assert_uint_eq(r.items[0].size, 96);
    ck_assert_uint_eq(r.items[0].rows, 10);
    ck_assert_uint_eq(r.items[0].stride, 128);
    ck_assert_uint_eq(r.items[1].addr, 1000 + 11 * 128);
    ck_assert_uint_eq(r.items[1].rows, 53);
    free(r.items);
    dt__cl_tree_free(&d2);
}
END_TEST

/* ---- placement ----------------------------------------------------------- */

static atomic_int load[4];
static int workers[4] = { 1, 1, 1, 1 };
static unsigned rr;

static dt__cl_view view_of(dt__rmap *dir, int nranks)
{
    return (dt__cl_view){ dir, DT__ROOT_WROTE, nranks, 0, load, workers, &rr };
}

/* A task with one access over [addr, addr + size) (and a 2-D one when rows > 1). */
static dt__task *task_on(uintptr_t addr, size_t size, size_t rows, size_t stride, unsigned mode)
{
    dt__task *t = dt__task_alloc(1, 0);
    t->acc[0].addr = addr;
    t->acc[0].size = size;
    t->acc[0].rows = rows;
    t->acc[0].stride = stride;
    t->acc[0].mode = mode;
    t->acc[0].kind = mode == DT_IN ? DT__K_IN : DT__K_EXCL;
    t->acc[0].writes = mode != DT_IN;
    return t;
}

START_TEST(policies)
{
    TU_INIT();
    char *d = dt_dmalloc(1 << 16);
    ck_assert_ptr_nonnull(d);
    uintptr_t a = (uintptr_t)d;
    dt__rmap dir = { 0 };
    dt__cl_dir_record(&dir, a, 1000, 1, 1000, V(1, 2), BIT(2));
    dt__cl_dir_record(&dir, a + 1000, 300, 1, 300, V(2, 1), BIT(1) | BIT(3));
    dt__cl_view v = view_of(&dir, 4);
    dt__task *t = task_on(a, 1300, 1, 1300, DT_INOUT);
    uint64_t bytes[4];
    dt__cl_score_task(t, &v, bytes);
    ck_assert_uint_eq(bytes[0], 0);
    ck_assert_uint_eq(bytes[1], 300);
    ck_assert_uint_eq(bytes[2], 1000);
    ck_assert_uint_eq(bytes[3], 300);
    ck_assert_int_eq(dt__cl_choose_rank(t, -1, &v, DT__SCHED_LOCALITY), 2);
    ck_assert_int_eq(dt__cl_choose_rank(t, -1, &v, DT__SCHED_LOCAL), 0);
    ck_assert_int_eq(dt__cl_choose_rank(t, -1, &v, DT__SCHED_BALANCE), -1);
    rr = 0;
    ck_assert_int_eq(dt__cl_choose_rank(t, -1, &v, DT__SCHED_ROUND_ROBIN), 0);
    ck_assert_int_eq(dt__cl_choose_rank(t, -1, &v, DT__SCHED_ROUND_ROBIN), 1);
    ck_assert_int_eq(dt__cl_choose_rank(t, 3, &v, DT__SCHED_ROUND_ROBIN), -1);  /* not 3's turn */
    ck_assert_uint_eq(rr, 2);
    /* ties go to the least loaded: ranks 1 and 3 hold the same bytes */
    dt__task *u = task_on(a + 1000, 300, 1, 300, DT_IN);
    atomic_store(&load[1], 2);
    ck_assert_int_eq(dt__cl_choose_rank(u, -1, &v, DT__SCHED_LOCALITY), 3);
    /* a node hint wins; memory outside the common space stays here */
    t->node = 1;
    ck_assert_int_eq(dt__cl_choose_rank(t, -1, &v, DT__SCHED_LOCALITY), 1);
    static char outside[64];
    dt__task *w = task_on((uintptr_t)outside, 64, 1, 64, DT_INOUT);
    ck_assert(!dt__cl_offloadable(w));
    ck_assert_int_eq(dt__cl_choose_rank(w, -1, &v, DT__SCHED_ROUND_ROBIN), 0);
    /* balance: an idle worker first (rank 1 is busy), then the holder */
    atomic_store(&load[0], 1);
    atomic_store(&load[2], 1);
    atomic_store(&load[3], 1);
    ck_assert_int_eq(dt__cl_room_for(u, &v), 3);        /* none idle; of the short queues, the holder */
    dt__task_unref(t);
    dt__task_unref(u);
    dt__task_unref(w);
    dt__cl_tree_free(&dir);
    TU_FINI();
}
END_TEST

START_TEST(balance_room)
{
    dt__rmap dir = { 0 };
    dt__cl_view v = view_of(&dir, 3);
    dt__task *t = task_on(0x1000, 8, 1, 8, DT_IN);
    for (int r = 0; r < 4; r++) atomic_store(&load[r], 1);
    atomic_store(&load[1], 0);
    ck_assert_int_eq(dt__cl_room_for(t, &v), 1);        /* the one idle worker */
    atomic_store(&load[1], 1);
    ck_assert_int_eq(dt__cl_room_for(t, &v), 0);        /* all busy: a queue of one, at the bytes' home */
    for (int r = 0; r < 3; r++) atomic_store(&load[r], 2);
    ck_assert_int_eq(dt__cl_room_for(t, &v), -1);       /* no room: it waits in the pool */
    dt__task_unref(t);
}
END_TEST


/* ---- 2-D regions against a per-byte model -------------------------------- */

/* A space of ROWS rows of S bytes (the stride the first tile gives the
 * maps), and regions in it of four kinds: tiles of stride S, 1-4 byte halo
 * columns of stride S, regions of other strides, plain ranges across rows. */
#define S 64
#define ROWS 40
#define SPACE (S * ROWS)

static unsigned rnd_state;
static unsigned rnd(unsigned n)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (rnd_state >> 8) % n;
}

static dt__wire_region random_region(uintptr_t base, int kind)
{
    uint64_t size, rows, stride;
    switch (kind) {
    case 0: size = 1 + rnd(S); rows = 2 + rnd(12); stride = S; break;          /* tile (may cross S) */
    case 1: size = 1 + rnd(4); rows = 2 + rnd(ROWS - 2); stride = S; break;    /* halo column */
    case 2: stride = (uint64_t[]){ 48, 80, 128 }[rnd(3)]; size = 1 + rnd((unsigned)stride);
            rows = 2 + rnd(6); break;                                          /* another stride */
    default: size = 1 + rnd(3 * S); rows = 1; stride = size; break;            /* plain range */
    }
    uint64_t span = (rows - 1) * stride + size;
    while (span > SPACE) {
        rows--;
        span = (rows - 1) * stride + size;
    }
    return (dt__wire_region){ base + rnd((unsigned)(SPACE - span + 1)), size, rows, stride, 0, 0, 0 };
}

/* in[i]: byte base + i is in r */
static void region_bytes(const dt__wire_region *r, uintptr_t base, bool *in)
{
    memset(in, 0, SPACE);
    for (uint64_t k = 0; k < r->rows; k++)
        for (uint64_t j = 0; j < r->size; j++) in[r->addr + k * r->stride + j - base] = true;
}

static int model_source(uint64_t valid, uint64_t version, int target)
{ return valid & BIT(target) ? -1 : DT__VERSION_RANK(version); }

/* Random records, plans and scores of 2-D regions on a directory, each
 * checked byte by byte against a model of the directory. */
START_TEST(dir_rectangles_against_bytes)
{
    TU_INIT();
    char *mem = dt_dmalloc(SPACE);
    ck_assert_ptr_nonnull(mem);
    uintptr_t base = (uintptr_t)mem;
    static uint64_t mver[SPACE], mvalid[SPACE];
    static bool in[SPACE], got[SPACE];
    for (int seed = 1; seed <= 20; seed++) {
        rnd_state = (unsigned)seed;
        dt__rmap dir = { 0 };
        for (int i = 0; i < SPACE; i++) mver[i] = DT__ROOT_WROTE, mvalid[i] = BIT(0);
        for (int op = 0; op < 150; op++) {
            dt__wire_region r = random_region(base, op == 0 ? 0 : (int)rnd(4));
            region_bytes(&r, base, in);
            unsigned what = rnd(4);
            if (what == 3) {                    /* all rank 0 lacks (bring-back): the whole space */
                memset(in, 1, sizeof in);
            }
            if (what == 0) {                    /* a task's write recorded */
                uint64_t v = rnd(8) ? V(op + 1, rnd(4)) : (V(op + 1, 0) | DT__ROOT_WROTE);
                uint64_t valid = BIT(rnd(4)) | (rnd(2) ? BIT(rnd(4)) : 0);
                dt__cl_dir_record(&dir, r.addr, r.size, r.rows, r.stride, v, valid);
                for (int i = 0; i < SPACE; i++)
                    if (in[i]) mver[i] = v, mvalid[i] = valid;
            } else if (what == 1 || what == 3) {    /* planned for a target */
                plan_ctx p = plan_for(&dir, (int)rnd(4));
                p.reads = rnd(5) != 0;
                p.only_missing = rnd(5) == 0;
                if (what == 3) {
                    p = plan_for(&dir, 0);
                    p.only_missing = true;
                    dt__cl_dir_plan_all(&p);
                    p.n = dt__cl_coalesce_rows(p.items, p.n);   /* as bring-back does */
                } else {
                    dt__cl_dir_plan(&p, r.addr, r.size, r.rows, r.stride);
                }
                memset(got, 0, sizeof got);
                for (size_t k = 0; k < p.n; k++) {
                    const dt__wire_region *it = &p.items[k];
                    for (uint64_t y = 0; y < it->rows; y++)
                        for (uint64_t x = 0; x < it->size; x++) {
                            uintptr_t i = it->addr + y * it->stride + x - base;
                            TU_REQUIRE(i < SPACE && in[i] && !got[i]);
                            got[i] = true;
                            TU_REQUIRE(mver[i] == it->version);
                            TU_REQUIRE(model_source(mvalid[i], mver[i], p.target) == it->source);
                        }
                }
                for (int i = 0; i < SPACE; i++) {
                    bool want = in[i] && p.reads && (!p.only_missing || !(mvalid[i] & BIT(p.target)));
                    TU_REQUIRE(got[i] == want);
                    if (in[i] && p.reads) mvalid[i] |= BIT(p.target);
                }
                free(p.items);
            } else {                            /* scored by placement */
                uint64_t bytes[4], want[4] = { 0 };
                dt__cl_view v = view_of(&dir, 4);
                dt__task *t = task_on(r.addr, r.size, r.rows, r.stride, DT_IN);
                dt__cl_score_task(t, &v, bytes);
                dt__task_unref(t);
                for (int i = 0; i < SPACE; i++) {
                    if (!in[i]) continue;
                    if (mver[i] & DT__ROOT_WROTE) want[dt__mem_home(base + (uintptr_t)i, 4)]++;
                    else
                        for (int k = 0; k < 4; k++) want[k] += (mvalid[i] >> k) & 1;
                }
                for (int k = 0; k < 4; k++) TU_REQUIRE(bytes[k] == want[k]);
            }
            TU_REQUIRE(dt__rmap_check(&dir) == 0);
            for (int i = 0; i < SPACE; i++) {
                dt__frag *f = dt__rmap_find(&dir, base + (uintptr_t)i);
                uint64_t ver = f ? f->version : DT__ROOT_WROTE, valid = f ? f->state : BIT(0);
                TU_REQUIRE(ver == mver[i] && valid == mvalid[i]);
            }
        }
        dt__cl_tree_free(&dir);
    }
    dt_dfree(mem);
    TU_FINI();
}
END_TEST

/* A tile against the halo column of its neighbour: rectangles, not rows. */
START_TEST(dir_tile_and_halo_are_rectangles)
{
    dt__rmap dir = { 0 };
    uintptr_t base = 1 << 20;               /* 256 rows of 2048 bytes; tiles of 256 x 256 */
    dt__cl_dir_record(&dir, base, 256, 256, 2048, V(1, 1), BIT(1));
    dt__cl_dir_record(&dir, base + 256, 256, 256, 2048, V(2, 2), BIT(2));
    ck_assert_uint_eq(dt__rmap_count(&dir), 2);
    /* the neighbour's halo: its first 8 bytes of every row, written on rank 3 */
    dt__cl_dir_record(&dir, base + 256, 8, 256, 2048, V(3, 3), BIT(3));
    ck_assert_uint_eq(dt__rmap_count(&dir), 3);
    /* rank 1 reads its tile and the halo: two pieces, the halo from rank 3 */
    plan_ctx p = plan_for(&dir, 1);
    dt__cl_dir_plan(&p, base, 264, 256, 2048);
    ck_assert_uint_eq(p.n, 2);
    ck_assert_int_eq(p.items[0].source, -1);
    ck_assert_uint_eq(p.items[1].addr, base + 256);
    ck_assert_uint_eq(p.items[1].size, 8);
    ck_assert_uint_eq(p.items[1].rows, 256);
    ck_assert_uint_eq(p.items[1].stride, 2048);
    ck_assert_int_eq(p.items[1].source, 3);
    free(p.items);
    /* a plain range across 3 rows: its partial first row, 1 whole row, partial last row */
    dt__cl_dir_record(&dir, base + 10 * 2048 + 1000, 2 * 2048, 1, 2 * 2048, V(4, 2), BIT(2));
    plan_ctx q = plan_for(&dir, 2);
    q.only_missing = true;
    dt__cl_dir_plan(&q, base + 10 * 2048 + 1000, 2 * 2048, 1, 2 * 2048);
    ck_assert_uint_eq(q.n, 0);
    plan_ctx r = plan_for(&dir, 0);
    dt__cl_dir_plan(&r, base + 10 * 2048 + 1000, 2 * 2048, 1, 2 * 2048);
    ck_assert_uint_eq(r.n, 1);              /* one version, one source: the range itself */
    ck_assert_uint_eq(r.items[0].size, 2 * 2048);
    ck_assert_uint_eq(r.items[0].rows, 1);
    free(r.items);
    dt__cl_tree_free(&dir);
}
END_TEST

/* The bytes a task receives, each once, when its 2-D accesses overlap. */
START_TEST(transfer_list_of_overlapping_rectangles)
{
    static bool in[SPACE], want[SPACE], got[SPACE];
    uintptr_t base = 1 << 16;
    rnd_state = 7;
    for (int round = 0; round < 300; round++) {
        dt__task *t = dt__task_alloc(3, 0);
        memset(want, 0, sizeof want);
        for (int i = 0; i < 3; i++) {
            dt__wire_region r = random_region(base, (int)rnd(4));
            unsigned mode = (unsigned[]){ DT_IN, DT_INOUT, DT_OUT }[rnd(3)];
            dt__access *a = &t->acc[i];
            a->addr = r.addr;
            a->size = r.size;
            a->rows = r.rows;
            a->stride = r.stride;
            a->mode = mode;
            a->writes = mode != DT_IN;
            a->kind = mode == DT_IN ? DT__K_IN : DT__K_EXCL;
            region_bytes(&r, base, in);
            for (int k = 0; k < SPACE; k++) want[k] |= in[k] && mode != DT_OUT;
        }
        size_t n;
        dt__wire_region *v = dt__cl_transfer_list(t, false, &n);
        memset(got, 0, sizeof got);
        for (size_t k = 0; k < n; k++)
            for (uint64_t y = 0; y < v[k].rows; y++)
                for (uint64_t x = 0; x < v[k].size; x++) {
                    uintptr_t i = v[k].addr + y * v[k].stride + x - base;
                    TU_REQUIRE(i < SPACE && want[i] && !got[i]);   /* disjoint */
                    got[i] = true;
                }
        for (int k = 0; k < SPACE; k++) TU_REQUIRE(got[k] == want[k]);
        free(v);
        dt__task_unref(t);
    }
}
END_TEST

/* ---- version cache -------------------------------------------------------- */

/* The state a rank's cache lives in, without MPI. */
static void cache_setup(int rank)
{
    memset(&dt__cl, 0, sizeof dt__cl);
    dt__cl.rank = rank;
    dt__cl.nranks = 4;
    dt__cl.hole_version = DT__ROOT_WROTE;
    dt__cl.mine = &dt__cl.own;
    pthread_mutex_init(&dt__cl.lock, NULL);
    pthread_mutex_init(&dt__cl.out_lock, NULL);
}

/* Takes the outbox: how many data receives and control messages it held. */
static void outbox(int *recvs, int *ctrls, dt__msg *last_req)
{
    *recvs = *ctrls = 0;
    for (outmsg *m = dt__cl.out_head, *n; m; m = n) {
        n = m->next;
        if (m->kind == OUT_RECV) ++*recvs;
        if (m->kind == OUT_CTRL) {
            ++*ctrls;
            const char *why;
            ck_assert_int_eq(dt__msg_decode(m->buf, m->len, last_req, &why), 0);
            ck_assert_int_eq(last_req->type, DT__MSG_DATA_REQ);
        } else if (m->pend) {
            if (m->region.version) dt__cl_cache_set(&m->region, m->region.version, m->pend);
            dt__vec ready;
            dt__vec_init(&ready);
            dt__cl_pending_done(m->pend, &ready);     /* as if it had arrived */
            dt__vec_free(&ready);
        }
        free(m->buf);
        free(m);
    }
    dt__cl.out_head = dt__cl.out_tail = NULL;
}

static waiter *flag_waiter(atomic_int *flag)
{
    waiter *w = calloc(1, sizeof *w);
    w->kind = W_FLAG;
    w->flag = flag;
    w->count = 1;               /* held while acquiring */
    return w;
}

/* acquire as the offload protocol calls it; true if everything was there. */
static bool acquire_now(dt__wire_region r, int source, atomic_int *flag)
{
    waiter *w = flag_waiter(flag);
    dt__vec ready;
    dt__vec_init(&ready);
    dt__cl_acquire(&r, source, 0, w);
    bool at_once = --w->count == 0;
    if (at_once) dt__cl_waiter_fire(w, &ready);
    dt__vec_free(&ready);
    return at_once;
}

START_TEST(cache_fetches_only_what_is_missing)
{
    cache_setup(1);
    atomic_int flag = 0;
    dt__wire_region r = { 0x10000, 256, 1, 256, V(5, 2), 0, 2 };
    int recvs, ctrls;
    dt__msg req;
    ck_assert(!acquire_now(r, 2, &flag));                 /* absent: asked of rank 2 */
    outbox(&recvs, &ctrls, &req);
    ck_assert_int_eq(recvs, 1);
    ck_assert_int_eq(ctrls, 1);
    ck_assert_uint_eq(req.region.addr, 0x10000);
    ck_assert_uint_eq(req.region.version, V(5, 2));
    ck_assert_int_eq(atomic_load(&flag), 1);              /* the arrival fired the waiter */
    /* held now: a second task needing the same version fetches nothing */
    atomic_store(&flag, 0);
    ck_assert(acquire_now(r, 2, &flag));
    outbox(&recvs, &ctrls, &req);
    ck_assert_int_eq(recvs + ctrls, 0);
    /* a newer version of half of it: only that half travels */
    dt__wire_region whole = { 0x10000, 256, 1, 256, V(6, 3), 0, 3 };
    dt__cl_cache_set(&(dt__wire_region){ 0x10000, 128, 1, 128, 0, 0, 0 }, V(6, 3), NULL);
    atomic_store(&flag, 0);
    ck_assert(!acquire_now(whole, 3, &flag));
    outbox(&recvs, &ctrls, &req);
    ck_assert_int_eq(recvs, 1);
    ck_assert_uint_eq(req.region.addr, whole.addr);       /* one request for the region */
    dt__cl_tree_free(&dt__cl.cache);
}
END_TEST

START_TEST(cache_waits_for_bytes_on_their_way)
{
    cache_setup(2);
    /* a task here will write [0, 64) in version v: readers wait for it */
    pending *written = dt__cl_pending_new();
    written->task_writes = true;
    dt__wire_region r = { 0x20000, 64, 1, 64, V(9, 2), 0, -1 };
    dt__cl_cache_mark(&r, r.version, (uint64_t)(uintptr_t)written, NULL);
    atomic_int flag = 0;
    ck_assert(!acquire_now(r, -1, &flag));                /* held here soon: no fetch */
    int recvs, ctrls;
    dt__msg req;
    outbox(&recvs, &ctrls, &req);
    ck_assert_int_eq(recvs + ctrls, 0);
    ck_assert_int_eq(atomic_load(&flag), 0);
    dt__vec ready;
    dt__vec_init(&ready);
    dt__cl_cache_set(&r, r.version, written);
    dt__cl_pending_done(written, &ready);                 /* the writer completed */
    dt__vec_free(&ready);
    ck_assert_int_eq(atomic_load(&flag), 1);
    ck_assert_uint_eq(dt__cl_held_version(&r), V(9, 2));
    dt__cl_tree_free(&dt__cl.cache);
}
END_TEST


/* Random sets, marks, acquires and held versions of 2-D regions on a
 * rank's cache, checked byte by byte against a model of it. */
START_TEST(cache_rectangles_against_bytes)
{
    static uint64_t mver[SPACE], mst[SPACE];
    static bool in[SPACE];
    uintptr_t base = 0x100000 + 24;         /* not aligned to S: rows of the grid start mid-row */
    for (int seed = 1; seed <= 20; seed++) {
        cache_setup(1);
        rnd_state = (unsigned)seed * 77u;
        pending *writer = dt__cl_pending_new();
        writer->task_writes = true;
        uint64_t wst = (uint64_t)(uintptr_t)writer;
        static atomic_int flag;
        for (int i = 0; i < SPACE; i++) mver[i] = DT__ROOT_WROTE, mst[i] = DT__ST_ABSENT;
        for (int op = 0; op < 150; op++) {
            dt__wire_region r = random_region(base, op == 0 ? 0 : (int)rnd(4));
            region_bytes(&r, base, in);
            uint64_t v = V(1 + rnd(3), 2);
            unsigned what = rnd(4);
            if (what == 0 || what == 1) {       /* received or written here; or a writer placed here */
                uint64_t st = what == 0 ? DT__ST_PRESENT : wst;
                dt__cl_cache_mark(&r, v, st, NULL);
                for (int i = 0; i < SPACE; i++)
                    if (in[i]) mver[i] = v, mst[i] = st;
            } else if (what == 2) {
                uint64_t want = 0;
                bool first = true, mixed = false;
                for (int i = 0; i < SPACE; i++) {
                    if (!in[i]) continue;
                    if (mst[i] != DT__ST_PRESENT || (!first && mver[i] != want)) mixed = true;
                    want = mver[i];
                    first = false;
                }
                TU_REQUIRE(dt__cl_held_version(&r) == (mixed ? 0 : want));
            } else {
                r.version = v;
                bool fetch = false, wait = false;
                for (int i = 0; i < SPACE; i++) {
                    if (!in[i]) continue;
                    if (mver[i] == v && mst[i] == wst) wait = true;
                    else if (mver[i] != v || mst[i] == DT__ST_ABSENT) fetch = true;
                }
                TU_REQUIRE(acquire_now(r, 2, &flag) == !(fetch || wait));
                int recvs, ctrls;
                dt__msg req;
                outbox(&recvs, &ctrls, &req);   /* the fetch arrives */
                TU_REQUIRE(recvs == fetch && ctrls == fetch);
                if (fetch) TU_REQUIRE(req.region.addr == r.addr && req.region.rows == r.rows);
                for (int i = 0; i < SPACE; i++)
                    if (in[i] && (mver[i] != v || mst[i] == DT__ST_ABSENT)) mver[i] = v, mst[i] = DT__ST_PRESENT;
            }
            TU_REQUIRE(dt__rmap_check(&dt__cl.cache) == 0);
            for (int i = 0; i < SPACE; i++) {
                dt__frag *f = dt__rmap_find(&dt__cl.cache, base + (uintptr_t)i);
                uint64_t ver = f ? f->version : DT__ROOT_WROTE, st = f ? f->state : DT__ST_ABSENT;
                TU_REQUIRE(ver == mver[i] && st == mst[i]);
            }
        }
        dt__vec ready;
        dt__vec_init(&ready);
        dt__cl_pending_done(writer, &ready);    /* frees the acquires still waiting for it */
        dt__vec_free(&ready);
        dt__cl_tree_free(&dt__cl.cache);
    }
}
END_TEST

/* ---- stealing ------------------------------------------------------------ */

/* What a victim keeps from a thief: the more urgent half, and every task its
 * workers start (what is left of the tasks they run, then the tasks ahead)
 * before a relay of the measured cost would finish it elsewhere. */
START_TEST(steal_keeps_what_starts_sooner_here)
{
    const unsigned ms = 1000000;
    unsigned lone[] = { 4 * ms };
    ck_assert_uint_eq(dt__cl_steal_keep_count(lone, 1, 2 * ms, 0, 1), 0);          /* no relay measured: half, rounded up, goes */
    ck_assert_uint_eq(dt__cl_steal_keep_count(lone, 1, 2 * ms, 1 * ms, 1), 0);     /* starts in 2 ms here: a 1 ms relay pays */
    ck_assert_uint_eq(dt__cl_steal_keep_count(lone, 1, 2 * ms, 3 * ms, 1), 1);     /* a 3 ms relay does not */
    ck_assert_uint_eq(dt__cl_steal_keep_count(lone, 1, 4 * ms, 3 * ms, 2), 1);     /* two workers, 2 ms left each */
    ck_assert_uint_eq(dt__cl_steal_keep_count(lone, 1, 8 * ms, 3 * ms, 2), 0);     /* ... 4 ms left each */
    ck_assert_uint_eq(dt__cl_steal_keep_count(lone, 1, 500000, 1 * ms, 1), 1);     /* the running task ends in 0.5 ms */
    ck_assert_uint_eq(dt__cl_steal_keep_count(lone, 1, 0, 1, 1), 1);               /* a worker here is free */
    unsigned four[] = { 1 * ms, 1 * ms, 1 * ms, 1 * ms };                          /* start here at 0.5, 1.5, 2.5, 3.5 ms */
    ck_assert_uint_eq(dt__cl_steal_keep_count(four, 4, ms / 2, 0, 1), 2);
    ck_assert_uint_eq(dt__cl_steal_keep_count(four, 4, ms / 2, 2 * ms, 1), 2);
    ck_assert_uint_eq(dt__cl_steal_keep_count(four, 4, ms / 2, 3 * ms, 1), 3);
    ck_assert_uint_eq(dt__cl_steal_keep_count(four, 4, ms / 2, 4 * ms, 1), 4);
    ck_assert_uint_eq(dt__cl_steal_keep_count(four, 4, ms / 2, 2 * ms, 2), 4);     /* two workers: 0.25 .. 1.75 ms */
    ck_assert_uint_eq(dt__cl_steal_keep_count(four, 4, ms / 2, 1500000, 2), 3);
    ck_assert_uint_eq(dt__cl_steal_keep_count(four, 4, ms / 2, 1200000, 2), 2);
    unsigned untimed[] = { 1 * ms, 1 * ms, 0, 1 * ms };                             /* a type not timed yet may be long */
    ck_assert_uint_eq(dt__cl_steal_keep_count(untimed, 4, ms / 2, 4 * ms, 1), 2);
    ck_assert_uint_eq(dt__cl_steal_keep_count(NULL, 0, 0, 4 * ms, 1), 0);
}
END_TEST

static Suite *cluster_suite(void)
{
    Suite *s = suite_create("cluster");
    TCase *tc = tu_tcase(s, "directory");
    tcase_add_test(tc, plan_holes_and_holders);
    tcase_add_test(tc, plan_rows_travel_as_one_region);
    tcase_add_test(tc, plan_missing_for_bring_back);
    tcase_add_test(tc, dir_tile_and_halo_are_rectangles);
    tcase_add_test(tc, dir_rectangles_against_bytes);
    tcase_add_test(tc, transfer_list_of_overlapping_rectangles);
    tc = tu_tcase(s, "placement");
    tcase_add_test(tc, policies);
    tcase_add_test(tc, balance_room);
    tc = tu_tcase(s, "vcache");
    tcase_add_test(tc, cache_fetches_only_what_is_missing);
    tcase_add_test(tc, cache_waits_for_bytes_on_their_way);
    tcase_add_test(tc, cache_rectangles_against_bytes);
    tcase_add_test(tc, steal_keeps_what_starts_sooner_here);
    return s;
}

TU_MAIN(cluster_suite)
