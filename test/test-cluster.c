/* test-cluster.c - the parts of the cluster layer that need no MPI, fed
 * states made by hand: rank 0's directory planning (which transfers a task
 * needs on a rank), the placement policies, and the version cache (what is
 * fetched, what waits for bytes on their way).  One process, no mpiexec:
 * messages a rank would send stay in the outbox, where the tests read them. */
#include "cluster/internal.h"
#include "test_util.h"

#define V(n, rank) (((uint64_t)(n) << 8) | (rank))
#define BIT(r) (1ull << (r))

static plan_ctx plan_for(dt__rtree *dir, int target)
{
    return (plan_ctx){ .dir = dir, .hole_version = DT__ROOT_WROTE, .self = 0, .target = target, .reads = true };
}

/* ---- directory ----------------------------------------------------------- */

START_TEST(plan_holes_and_holders)
{
    dt__rtree dir = { NULL, 0 };
    /* [100, 200) written on rank 1; [200, 300) written on rank 2 and copied to 3 */
    dt__cl_dir_record(&dir, DT__ROOT_WROTE, 0, 100, 100, 1, 100, V(1, 1), BIT(1));
    dt__cl_dir_record(&dir, DT__ROOT_WROTE, 0, 200, 100, 1, 100, V(2, 2), BIT(2) | BIT(3));
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
    dt__rtree dir = { NULL, 0 };
    /* a 16-row tile of 64-byte rows at stride 1024, written on rank 2 */
    dt__cl_dir_record(&dir, DT__ROOT_WROTE, 0, 4096, 64, 16, 1024, V(7, 2), BIT(2));
    ck_assert_uint_eq(dir.count, 16);        /* exact: only the rows' bytes */
    plan_ctx p = plan_for(&dir, 1);
    dt__cl_dir_plan(&p, 4096, 64, 16, 1024);
    ck_assert_uint_eq(p.n, 1);
    ck_assert_uint_eq(p.items[0].rows, 16);
    ck_assert_uint_eq(p.items[0].stride, 1024);
    ck_assert_int_eq(p.items[0].source, 2);
    free(p.items);
    /* one row rewritten on rank 3: rows no longer share a version, each travels alone */
    dt__cl_dir_record(&dir, DT__ROOT_WROTE, 0, 4096 + 5 * 1024, 64, 1, 64, V(8, 3), BIT(3));
    plan_ctx q = plan_for(&dir, 0);
    dt__cl_dir_plan(&q, 4096, 64, 16, 1024);
    ck_assert_uint_eq(q.n, 16);
    ck_assert_int_eq(q.items[5].source, 3);
    free(q.items);
    dt__cl_tree_free(&dir);
}
END_TEST

START_TEST(plan_missing_for_bring_back)
{
    dt__rtree dir = { NULL, 0 };
    dt__cl_dir_record(&dir, DT__ROOT_WROTE, 0, 0, 64, 8, 128, V(3, 1), BIT(1));
    dt__cl_dir_record(&dir, DT__ROOT_WROTE, 0, 2 * 128, 64, 1, 64, V(4, 0), BIT(0));
    plan_ctx p = plan_for(&dir, 0);
    p.only_missing = true;
    dt__cl_dir_plan_all(&p);
    ck_assert_uint_eq(p.n, 7);                /* the row rank 0 holds is left out */
    for (size_t i = 0; i < p.n; i++) {
        ck_assert_int_eq(p.items[i].source, 1);
        ck_assert_uint_eq(p.items[i].rows, 1);
    }
    ck_assert_uint_eq(dt__cl_coalesce_rows(p.items, p.n), 2);   /* rows 0-1 and 3-7 */
    ck_assert_uint_eq(p.items[0].rows, 2);
    ck_assert_uint_eq(p.items[1].rows, 5);
    ck_assert_uint_eq(p.items[1].addr, 3 * 128);
    free(p.items);
    /* a region whose missing pieces number its rows without being its rows:
       row 0 lacks two pieces, row 1 lacks none (it must not become the region) */
    dt__cl_dir_record(&dir, DT__ROOT_WROTE, 0, 8192, 16, 1, 16, V(5, 1), BIT(1));
    dt__cl_dir_record(&dir, DT__ROOT_WROTE, 0, 8192 + 16, 16, 1, 16, V(5, 1), BIT(1) | BIT(3));
    plan_ctx q = plan_for(&dir, 0);
    q.only_missing = true;
    dt__cl_dir_plan(&q, 8192, 32, 2, 4096);
    ck_assert_uint_eq(q.n, 2);
    ck_assert_uint_eq(q.items[0].size, 16);
    ck_assert_uint_eq(q.items[0].rows, 1);
    ck_assert_uint_eq(q.items[1].addr, 8192 + 16);
    free(q.items);
    dt__cl_tree_free(&dir);
}
END_TEST

/* ---- placement ----------------------------------------------------------- */

static atomic_int load[4];
static int workers[4] = { 1, 1, 1, 1 };
static unsigned rr;

static dt__cl_view view_of(dt__rtree *dir, int nranks)
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
    t->acc[0].kind = mode == DT_IN ? DT_K_IN : DT_K_EXCL;
    t->acc[0].writes = mode != DT_IN;
    return t;
}

START_TEST(policies)
{
    TU_INIT();
    char *d = dt_dmalloc(1 << 16);
    ck_assert_ptr_nonnull(d);
    uintptr_t a = (uintptr_t)d;
    dt__rtree dir = { NULL, 0 };
    dt__cl_dir_record(&dir, DT__ROOT_WROTE, 0, a, 1000, 1, 1000, V(1, 2), BIT(2));
    dt__cl_dir_record(&dir, DT__ROOT_WROTE, 0, a + 1000, 300, 1, 300, V(2, 1), BIT(1) | BIT(3));
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
    dt__rtree dir = { NULL, 0 };
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
            ck_assert_int_eq(last_req->type, DT_MSG_DATA_REQ);
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

static Suite *cluster_suite(void)
{
    Suite *s = suite_create("cluster");
    TCase *tc = tu_tcase(s, "directory");
    tcase_add_test(tc, plan_holes_and_holders);
    tcase_add_test(tc, plan_rows_travel_as_one_region);
    tcase_add_test(tc, plan_missing_for_bring_back);
    tc = tu_tcase(s, "placement");
    tcase_add_test(tc, policies);
    tcase_add_test(tc, balance_room);
    tc = tu_tcase(s, "vcache");
    tcase_add_test(tc, cache_fetches_only_what_is_missing);
    tcase_add_test(tc, cache_waits_for_bytes_on_their_way);
    return s;
}

TU_MAIN(cluster_suite)
