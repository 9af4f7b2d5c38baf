/* offload.c - the protocol.  Rank 0 runs the program (the root task).
 * When one of the root's children becomes ready, rank 0 places it on a rank
 * (attr.node or DT_SCHEDULE), and works out from its data directory which
 * bytes that rank lacks.  The task travels (type by id and name hash, args,
 * accesses, the versions it needs and where to get them) and the target
 * fetches missing bytes straight from a holder, not through rank 0.  When
 * the task completes, the target reports back and rank 0 releases its
 * accesses as if it had run locally.  Nested tasks bound for another rank
 * are pushed there with their bytes by their creator's rank. */
#include <stdio.h>
#include <string.h>
#include "cluster/internal.h"
#include "deps/deps.h"
#include "mem/mem.h"

static void pushed_done(dt__task *t);

/* The cluster data of t, with room for nback write-back regions. */
dt__cltask *dt__cl_ext_new(dt__task *t, uint32_t nback)
{
    size_t head = sizeof(dt__cltask) + sizeof(uint64_t) * t->nacc;
    head = (head + _Alignof(dt__wire_region) - 1) & ~(_Alignof(dt__wire_region) - 1);
    dt__cltask *x = dt__xmalloc(head + sizeof(dt__wire_region) * nback);
    memset(x, 0, sizeof *x + sizeof(uint64_t) * t->nacc);
    x->nback = nback;
    x->back = nback ? (dt__wire_region *)((char *)x + head) : NULL;
    t->ext = x;
    return x;
}

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
    bool pushed = m->type == DT__MSG_PUSH;
    int ntypes = atomic_load_explicit(&dt__ntypes, memory_order_acquire);
    char label[256];
    memcpy(label, m->label, m->label_len);
    label[m->label_len] = 0;
    if (m->type_id >= (uint32_t)ntypes || dt__hash_name(dt__types[m->type_id].name) != m->type_hash)
        dt__fatal("task '%s' from rank %d has type %u, which this rank does not know by that name: "
            "register the same types, in the same order, on every rank", label, peer, m->type_id);
    dt__task *t = dt__task_alloc(m->nacc, m->args_size);
    memcpy(t->args, m->args, m->args_size);
    dt__cltask *x = dt__cl_ext_new(t, m->nback);
    x->remote = true;
    x->origin = peer;
    x->origin_id = m->task_id;
    x->pinned = m->flags & DT__MSG_F_PINNED;
    /* a sender on this node counted it in our load word when it sent it */
    x->counted = atomic_load_explicit(&dt__cl.spread, memory_order_acquire) && dt__cl.loadw[peer];
    if (m->nback) memcpy(x->back, m->back, sizeof(dt__wire_region) * m->nback);
    for (uint32_t i = 0; i < m->nacc; i++) {
        dt__wire_region r;
        memcpy(&r, m->acc + i, sizeof r);
        dt__access *a = &t->acc[i];
        a->addr = (uintptr_t)r.addr;
        a->size = r.size;
        a->rows = r.rows;
        a->stride = r.stride;
        a->mode = r.mode;
        a->kind = (r.mode & DT__MODE_BASE) == DT_IN ? DT__K_IN : DT__K_EXCL;
        a->weak = false;                     /* its data is here before it starts */
        a->writes = (r.mode & DT__MODE_BASE) != DT_IN;
        x->version[i] = r.version;
    }
    t->fn = dt__types[m->type_id].fn;
    t->type = (int)m->type_id;
    t->label = intern_label(label);
    t->priority = m->priority;
    t->parent = &dt__cl.remote_root;
    atomic_fetch_add_explicit(&dt__cl.n_ran_here, 1, memory_order_relaxed);
    if (dt__cl.steal) dt__cl_steal_got_work(m->flags & DT__MSG_F_STOLEN);
    dt__task_child_created(&dt__cl.remote_root);
    waiter *w = dt__xmalloc(sizeof *w);
    memset(w, 0, sizeof *w);
    w->kind = W_TASK;
    w->task = t;
    dt__vec ready;
    dt__vec_init(&ready);
    pthread_mutex_lock(&dt__cl.lock);
    t->seq = dt__cl.remote_seq++;
    w->count = 1;
    pending *last = NULL;
    for (uint32_t i = 0; i < m->nfetch; i++) {
        dt__wire_region r;
        memcpy(&r, m->fetch + i, sizeof r);
        if (pushed) {
            dt__cl_receive_pushed(r, peer, w, &last);
            continue;
        }
        if (r.source >= dt__cl.nranks) dt__fatal("task '%s' from rank %d names rank %d as a source", label, peer, r.source);
        if (r.mode && r.source != peer)
            dt__fatal("task '%s' from rank %d says rank %d sends its data unasked", label, peer, r.source);
        dt__cl_acquire(&r, r.source == dt__cl.rank ? -1 : r.source, r.mode, w);
    }
    /* Tasks placed here later may read what this one writes before it has
     * run (namespace): the bytes are "arriving" until it completes. */
    for (uint32_t i = 0; i < t->nacc && !pushed; i++) {
        const dt__access *a = &t->acc[i];
        if (!a->writes || !a->size) continue;
        if (!x->written) {
            x->written = dt__cl_pending_new();
            x->written->task_writes = true;
        }
        dt__wire_region r = { a->addr, a->size, a->rows, a->stride, x->version[i], 0, 0 };
        dt__cl_cache_mark(&r, x->version[i], (uint64_t)(uintptr_t)x->written, NULL);
    }
    pthread_mutex_unlock(&dt__cl.lock);
    /* Tasks offloaded here are siblings in one domain, registered in the
     * order they arrive, which respects their order on the creator: a task
     * placed early waits here for the ones placed before it. */
    if (t->nacc && !pushed) dt__deps_register(t);
    atomic_fetch_add_explicit(&t->pending, 1, memory_order_relaxed);   /* its data */
    dt__task_submit(t);
    pthread_mutex_lock(&dt__cl.lock);
    if (--w->count == 0) dt__cl_waiter_fire(w, &ready);
    pthread_mutex_unlock(&dt__cl.lock);
    dt__cl_ready_all(&ready);
}

/* An offloaded task completed here: tell its creator. */
static void remote_complete(dt__task *t)
{
    dt__cltask *x = dt__cl_of(t);
    if (x->written) {
        dt__vec ready;
        dt__vec_init(&ready);
        pthread_mutex_lock(&dt__cl.lock);
        /* Last access first: where two of them overlap, the directory holds
           the later one's version (place() records them in order), and the
           earlier one's set, restricted to bytes still arriving, must leave
           those bytes alone. */
        for (uint32_t i = t->nacc; i-- > 0;) {
            dt__access *a = &t->acc[i];
            if (!a->writes || !a->size) continue;
            dt__wire_region r = { a->addr, a->size, a->rows, a->stride, x->version[i], 0, 0 };
            dt__cl_cache_set(&r, x->version[i], x->written);   /* unless a later task rewrote it */
        }
        dt__cl_pending_done(x->written, &ready);
        x->written = NULL;
        pthread_mutex_unlock(&dt__cl.lock);
        dt__cl_ready_all(&ready);
    }
    /* a pushed task's writes go back first: its creator releases it once
       they and the completion are there */
    for (uint32_t i = 0; i < x->nback; i++) dt__cl_send_data(&x->back[i], x->origin, x->back[i].mode);
    size_t len;
    void *msg_ = dt__msg_done(x->origin_id, &len);
    dt__cl_post_ctrl(x->origin, msg_, len);
}

/* t as an OFFLOAD or PUSH message (accesses carry their write versions). */
static void *encode_task(const dt__task *t, int type, const dt__wire_region *fetch, size_t nfetch,
                         const dt__wire_region *back, size_t nback, size_t *len)
{
    dt__wire_region *acc = dt__xmalloc(sizeof *acc * (t->nacc ? t->nacc : 1));
    for (uint32_t i = 0; i < t->nacc; i++) {
        const dt__access *a = &t->acc[i];
        acc[i] = (dt__wire_region){ a->addr, a->size, a->rows, a->stride, a->writes ? dt__cl_of(t)->version[i] : 0,
                                    a->mode, -1 };
    }
    const dt__cltask *x = dt__cl_of(t);
    uint16_t flags = (uint16_t)((t->node >= 0 || x->relayed ? DT__MSG_F_PINNED : 0) | (x->relayed ? DT__MSG_F_STOLEN : 0));
    dt__msg m = { .type = type, .flags = flags, .task_id = (uint64_t)(uintptr_t)t, .type_id = (uint32_t)t->type,
                  .type_hash = dt__hash_name(dt__types[t->type].name), .args_size = (uint32_t)t->args_size,
                  .nacc = t->nacc, .nfetch = (uint32_t)nfetch, .nback = (uint32_t)nback,
                  .priority = t->priority, .args = t->args,
                  .acc = acc, .fetch = fetch, .back = back, .label = t->label };
    void *msg = dt__msg_offload(&m, len);
    free(acc);
    return msg;
}

/* The directory learns that [a 2-D region] is in `version`, held by `valid`. */
static void dir_record(uintptr_t addr, size_t size, size_t rows, size_t stride, uint64_t version, uint64_t valid)
{
    dt__cl_dir_record(&dt__cl.dir, addr, size, rows, stride, version, valid);
}

/* What placing a task leaves to do once dt__cl.lock is released. */
typedef struct placing {
    dt__task *task;
    int rank;
    plan_ctx plan;
    size_t nsend;               /* regions sent unasked with it */
    dt__vec ready;
} placing;

/* Places t on rank r: works out what r must fetch, records t's writes in
 * the directory (from now on r is where their latest version lives, even
 * before t runs: tasks placed there early wait for it in r's version cache)
 * and sends t off, or here waits for its data.  Under dt__cl.lock; the
 * caller then releases it and calls place_end. */
static void place(dt__task *t, int r, placing *pl)
{
    dt__cltask *x = dt__cl_of(t);
    *pl = (placing){ .task = t, .rank = r,
                     .plan = { .dir = &dt__cl.dir, .hole_version = dt__cl.hole_version, .self = dt__cl.rank, .target = r } };
    dt__vec_init(&pl->ready);
    plan_ctx *p = &pl->plan;
    for (uint32_t i = 0; i < t->nacc; i++) {
        dt__access *a = &t->acc[i];
        if (!a->size) continue;
        p->reads = (a->mode & DT__MODE_BASE) != DT_OUT;
        dt__cl_dir_plan(p, a->addr, a->size, a->rows, a->stride);
    }
    atomic_fetch_add_explicit(&dt__cl.n_fetch_skipped, p->skipped, memory_order_relaxed);
    /* After all the reads (its accesses may overlap each other).  Tasks
     * that run here are recorded when they release their bytes instead:
     * concurrent or commutative siblings placed meanwhile still read the
     * version this rank holds. */
    for (uint32_t i = 0; i < t->nacc; i++) {
        dt__access *a = &t->acc[i];
        if (!a->writes || !a->size) continue;
        x->version[i] = (++dt__cl.next_version << 8) | (uint64_t)r;
        if (r != dt__cl.rank) dir_record(a->addr, a->size, a->rows, a->stride, x->version[i], 1ull << r);
    }
    x->placed_rank = r;                          /* where it runs, for the release hook */
    atomic_store_explicit(&x->where, r + 1, memory_order_release);
    atomic_fetch_add(&dt__cl.load[r], 1);
    if (r != dt__cl.rank) dt__cl_count_sent(r);
    if (r == dt__cl.rank) {
        waiter *w = dt__xmalloc(sizeof *w);
        memset(w, 0, sizeof *w);
        w->kind = W_TASK;
        w->task = t;
        w->count = 1;
        for (size_t i = 0; i < p->n; i++) dt__cl_acquire(&p->items[i], p->items[i].source, 0, w);
        if (--w->count == 0) dt__cl_waiter_fire(w, &pl->ready);
        return;
    }
    dt__task_ref(t);                             /* until the target reports back */
    /* Bytes this rank holds go with the task unasked (a request would wait
     * for a rank whose workers are busy, a round trip per fetch). */
    for (size_t i = 0; i < p->n; i++)
        if (p->items[i].source == dt__cl.rank && dt__cl.eager_send) {
            p->items[i].mode = dt__cl_push_tag();
            pl->nsend++;
        }
    size_t len;
    void *msg = encode_task(t, DT__MSG_OFFLOAD, p->items, p->n, NULL, 0, &len);
    /* Posted under the lock: a task planned after this one (on another
     * thread) may count on what this one brings to rank r, so its message
     * must not overtake this one. */
    dt__cl_post_ctrl(r, msg, len);
}

static void place_end(placing *pl)
{
    plan_ctx *p = &pl->plan;
    if (pl->rank == dt__cl.rank) {
        dt__cl_ready_all(&pl->ready);
    } else {
        for (size_t i = 0; i < p->n && pl->nsend; i++)
            if (p->items[i].mode) dt__cl_send_when_held(&p->items[i], pl->rank, p->items[i].mode);
        atomic_fetch_add_explicit(&dt__cl.n_eager, pl->nsend, memory_order_relaxed);
        atomic_fetch_add_explicit(&dt__cl.n_offloaded, 1, memory_order_relaxed);
    }
    free(p->items);
}

/* Rank 0's state as placement reads it.  Under dt__cl.lock. */
static dt__cl_view view(void)
{
    return (dt__cl_view){ &dt__cl.dir, dt__cl.hole_version, dt__cl.nranks, dt__cl.rank, dt__cl.load,
                          dt__cl.workers, &dt__cl.rr };
}

/* Places pooled tasks while some rank has room for them. */
void dt__cl_drain_pool(void)
{
    for (;;) {
        pthread_mutex_lock(&dt__cl.lock);
        dt__task *t = dt__heap_peek(&dt__cl.pool);
        dt__cl_view v = view();
        int r = t ? dt__cl_room_for(t, &v) : -1;
        if (r < 0) {
            pthread_mutex_unlock(&dt__cl.lock);
            return;
        }
        dt__heap_pop(&dt__cl.pool);
        placing pl;
        place(t, r, &pl);
        pthread_mutex_unlock(&dt__cl.lock);
        place_end(&pl);
    }
}

static void slot_freed(void)
{
    if (dt__cl.policy == DT__SCHED_BALANCE && dt__cl.rank == 0) dt__cl_drain_pool();
    if (atomic_load_explicit(&dt__cl.spread, memory_order_acquire)) dt__cl_spread_drain(false);
}

static void ran_here(dt__task *t) { atomic_fetch_sub(&dt__cl.load[dt__cl_of(t)->placed_rank], 1); }

static void finish_later(dt__task *t)
{
    outmsg *m = dt__cl_out_new(OUT_FINISH, 0);
    m->task = t;
    dt__cl_post(m);
}

static bool placeable(const dt__task *t)
{
    return dt__cl.active && dt__cl.rank == 0 && t->parent == &dt__root && !(t->flags & DT__TF_WAITON);
}

static int place_or_queue(dt__task *t)
{
    dt__cltask *x = dt__cl_of(t);
    bool spread = atomic_load_explicit(&dt__cl.spread, memory_order_acquire);
    if (!x) return spread ? dt__cl_spread_ready(t) : DT__READY_QUEUE;
    if (x->remote || x->spread) {
        /* offloaded here, or a spread candidate the pool handed to this rank */
        if (spread) dt__cl_count(x);
        /* Offloaded tasks run in the order they became ready here, as rank
           0 sent them (it sends the most urgent first).  In the worker's
           own queue, where those made ready by its polls went, they ran
           last-in first-out, ahead of those the progress thread had queued:
           in Cholesky 2x1 a ready task waited there up to 20 ms while rank
           0 counted it as rank 1's queued one and sent it nothing more. */
        return x->remote ? DT__READY_IN_ORDER : DT__READY_QUEUE;
    }
    if (!placeable(t)) {
        /* a nested task bound for another rank (api.c let only such through) */
        dt__cl_push(t, t->node, false);
        return DT__READY_TAKEN;
    }
    pthread_mutex_lock(&dt__cl.lock);
    if (atomic_load(&x->placed)) {
        /* Here: its data has come, run it (in the order placed).  Elsewhere:
         * it was placed early and runs there once its predecessors there
         * are done. */
        bool elsewhere = x->placed_rank != dt__cl.rank;
        pthread_mutex_unlock(&dt__cl.lock);
        /* we may be inside a release here: finish it from the progress path */
        if (elsewhere && (atomic_fetch_or(&x->ns_state, DT__NS_READY) & DT__NS_DONE)) finish_later(t);
        if (!elsewhere && atomic_load_explicit(&dt__cl.spread, memory_order_acquire)) dt__cl_count(x);
        return elsewhere ? DT__READY_TAKEN : DT__READY_IN_ORDER;
    }
    atomic_store(&x->placed, true);
    atomic_store(&x->ns_state, DT__NS_READY);
    dt__cl_view v = view();
    int r = dt__cl_choose_rank(t, -1, &v, dt__cl.policy);
    if (r < 0) {
        dt__heap_push(&dt__cl.pool, t);
        pthread_mutex_unlock(&dt__cl.lock);
        dt__cl_drain_pool();
        return DT__READY_TAKEN;
    }
    placing pl;
    place(t, r, &pl);
    pthread_mutex_unlock(&dt__cl.lock);
    place_end(&pl);
    return DT__READY_TAKEN;
}

/* DT_STEAL: a task about to run here may wait where idle ranks can take it. */
static int ready(dt__task *t)
{
    int how = place_or_queue(t);
    if (how != DT__READY_TAKEN && dt__cl.steal && dt__cl_steal_keep(t)) return DT__READY_TAKEN;
    return how;
}

/* Namespace, rank 0: succ (being registered) waits for pred's release. */
static void edge(const dt__task *pred, dt__task *succ)
{
    dt__cltask *s = dt__cl_of(succ), *p = dt__cl_of(pred);
    if (!s || s->ns_pred < 0 || succ->parent != &dt__root || dt__cl.rank != 0 || !dt__cl.name_space) return;
    int where = p ? atomic_load_explicit(&p->where, memory_order_acquire) : 0;
    /* not placed yet, or placed here: its release comes from this rank */
    if (where <= dt__cl.rank + 1 || (s->ns_pred && s->ns_pred != where)) s->ns_pred = -1;
    else s->ns_pred = where;
}

/* Namespace, rank 0: t is registered, and if it is not ready and every
 * predecessor it waits for was placed on one rank, it is placed there now
 * when the policy picks that rank too, so that it waits there, not here. */
static void submitted(dt__task *t)
{
    dt__cltask *x = dt__cl_of(t);
    int r = x->ns_pred - 1;
    if (r < 0 || !placeable(t)) return;
    pthread_mutex_lock(&dt__cl.lock);
    /* it may have become ready meanwhile (and been placed), or the policy
       may want it elsewhere: then it is placed when it becomes ready */
    dt__cl_view v = view();
    if (atomic_load(&x->placed) || dt__cl_choose_rank(t, r, &v, dt__cl.policy) != r) {
        pthread_mutex_unlock(&dt__cl.lock);
        return;
    }
    atomic_store(&x->placed, true);
    atomic_fetch_add_explicit(&dt__cl.n_early, 1, memory_order_relaxed);
    placing pl;
    place(t, r, &pl);
    pthread_mutex_unlock(&dt__cl.lock);
    place_end(&pl);
}

/* An access of a task placed here is released: record where its data now lives. */
static void released(dt__access *a)
{
    dt__cltask *x = dt__cl_of(a->task);
    /* the directory learnt of other ranks' writes when they were placed */
    if (!a->writes || !a->size || !atomic_load_explicit(&x->placed, memory_order_relaxed) ||
        x->placed_rank != dt__cl.rank)
        return;
    uint64_t v = x->version[a - a->task->acc];
    dt__wire_region reg = { a->addr, a->size, a->rows, a->stride, v, 0, 0 };
    pthread_mutex_lock(&dt__cl.lock);
    dir_record(a->addr, a->size, a->rows, a->stride, v, 1ull << dt__cl.rank);
    dt__cl_cache_set(&reg, v, NULL);
    pthread_mutex_unlock(&dt__cl.lock);
}

/* A task that ran elsewhere is done there and ready here: release it. */
void dt__cl_finish(dt__task *t)
{
    ran_here(t);
    dt__task_body_end(t);
    dt__task_unref(t);
    slot_freed();
}

static void handle_done(const dt__msg *m, int peer)
{
    dt__task *t = (dt__task *)(uintptr_t)m->task_id;
    dt__cltask *x = dt__cl_of(t);
    if (x->pushed) {
        if (x->pushed->target != peer) dt__fatal("rank %d reports the completion of a task it was not given", peer);
        pushed_done(t);
        return;
    }
    if (!atomic_load(&x->placed) || x->placed_rank != peer)
        dt__fatal("rank %d reports the completion of a task it was not given", peer);
    /* A task placed early may be done there before its predecessors'
     * completions have reached us (they released it there before they
     * completed): it is finished once it is ready here too. */
    if (atomic_fetch_or(&x->ns_state, DT__NS_DONE) & DT__NS_READY) dt__cl_finish(t);
}

/* A worker ended a task: send what it posted (its completion, its
 * successors' placement) and answer what came while it ran.  At most every
 * 20 us per thread: a chain of tiny tasks would pay an MPI poll each and
 * send each completion alone (the progress thread, woken then, sends those
 * together). */
static void task_end(void)
{
    static DT__TLS uint64_t last_poll;
    if (dt__cl.steal) dt__cl_steal_busy();
    uint64_t now = dt__now_ns();
    bool poll = now - last_poll >= 20000;
    if (poll) last_poll = now;
    dt__cl_flush_posts(poll);
}

/* Rank 0's root task waits: bring back the data of `acc` (all if NULL). */
static void bring_back(const dt__access *acc, size_t n)
{
    if (dt__cl.rank != 0) return;
    plan_ctx p = { .dir = &dt__cl.dir, .hole_version = dt__cl.hole_version, .self = dt__cl.rank,
                   .target = dt__cl.rank, .reads = true, .only_missing = true };
    atomic_int flag = 0;
    waiter *w = dt__xmalloc(sizeof *w);
    memset(w, 0, sizeof *w);
    w->kind = W_FLAG;
    w->flag = &flag;
    dt__vec ready;
    dt__vec_init(&ready);
    pthread_mutex_lock(&dt__cl.lock);
    if (!acc) {
        dt__cl_dir_plan_all(&p);
    } else {
        for (size_t i = 0; i < n; i++)
            if (acc[i].size) dt__cl_dir_plan(&p, acc[i].addr, acc[i].size, acc[i].rows, acc[i].stride);
    }
    w->count = 1;
    p.n = dt__cl_coalesce_rows(p.items, p.n);
    for (size_t i = 0; i < p.n; i++) dt__cl_acquire(&p.items[i], p.items[i].source, 0, w);
    if (--w->count == 0) dt__cl_waiter_fire(w, &ready);
    pthread_mutex_unlock(&dt__cl.lock);
    free(p.items);
    dt__cl_ready_all(&ready);
    while (!atomic_load(&flag)) {
        dt__cl_poll();
        dt__futex_wait(&flag, 0, dt__cl.progress_thread ? 10 * 1000 * 1000L : 20 * 1000L);
    }
    /* From now on the program may write these bytes directly: they get a
     * version no other rank holds, so nobody trusts an old copy. */
    pthread_mutex_lock(&dt__cl.lock);
    uint64_t v = (++dt__cl.next_version << 8) | DT__ROOT_WROTE;
    if (!acc) {
        dt__cl_tree_free(&dt__cl.dir);
        dt__cl_tree_free(&dt__cl.cache);
        dt__cl.hole_version = v;
    } else {
        for (size_t i = 0; i < n; i++) {
            if (!acc[i].size) continue;
            dir_record(acc[i].addr, acc[i].size, acc[i].rows, acc[i].stride, v, 1ull << dt__cl.rank);
            dt__wire_region reg = { acc[i].addr, acc[i].size, acc[i].rows, acc[i].stride, v, 0, 0 };
            dt__cl_cache_set(&reg, v, NULL);
        }
    }
    pthread_mutex_unlock(&dt__cl.lock);
}

/* dt_dfree on rank 0: whatever is allocated there next starts afresh. */
static void forget(uintptr_t addr, size_t size)
{
    if (dt__cl.rank != 0 || !size) return;
    pthread_mutex_lock(&dt__cl.lock);
    uint64_t v = (++dt__cl.next_version << 8) | DT__ROOT_WROTE;
    dir_record(addr, size, 1, size, v, 1ull << dt__cl.rank);
    dt__wire_region reg = { addr, size, 1, size, v, 0, 0 };
    dt__cl_cache_set(&reg, v, NULL);
    pthread_mutex_unlock(&dt__cl.lock);
}

/* On t's creator's rank, t ready: send it with the bytes it reads. */
void dt__cl_push(dt__task *t, int target, bool claimed)
{
    size_t nin, nout;
    dt__wire_region *in = dt__cl_transfer_list(t, false, &nin), *out = dt__cl_transfer_list(t, true, &nout);
    pushed *pu = dt__xmalloc(sizeof *pu + sizeof *out * nout);
    pu->target = target;
    pu->nback = (uint32_t)nout;
    pu->sent_ns = dt__now_ns();
    pthread_mutex_lock(&dt__cl.lock);
    for (size_t i = 0; i < nin; i++) {
        in[i].mode = dt__cl_push_tag();
        in[i].version = dt__cl_held_version(&in[i]);
    }
    for (size_t i = 0; i < nout; i++) out[i].mode = dt__cl_pull_tag();
    pthread_mutex_unlock(&dt__cl.lock);
    memcpy(pu->back, out, sizeof *out * nout);
    dt__cl_of(t)->pushed = pu;
    dt__task_ref(t);                    /* until it is back */
    if (!claimed) dt__cl_count_sent(target);
    size_t len;
    void *msg = encode_task(t, DT__MSG_PUSH, in, nin, out, nout, &len);
    dt__cl_post_ctrl(pu->target, msg, len);    /* before its data: the target learns the tags from it */
    for (size_t i = 0; i < nin; i++) dt__cl_send_data(&in[i], pu->target, in[i].mode);
    free(in);
    free(out);
    atomic_fetch_add_explicit(&dt__cl.n_pushed, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&dt__cl.n_offloaded, 1, memory_order_relaxed);
}

void dt__cl_pushed_finish(dt__task *t)
{
    dt__cltask *x = dt__cl_of(t);
    dt__cl_far_back(x->pushed->target);
    if (x->relayed) dt__cl_steal_back(t, dt__now_ns() - x->pushed->sent_ns);
    /* rank 0's task placed on itself, then pushed: it leaves this rank's
       load, or if stolen, the thief's (relay() moved it there) */
    bool placed_here = atomic_load(&x->where) == dt__cl.rank + 1;
    if (placed_here && x->relayed) atomic_fetch_sub(&dt__cl.load[x->pushed->target], 1);
    else if (placed_here) ran_here(t);
    free(x->pushed);
    x->pushed = NULL;
    dt__task_body_end(t);
    dt__task_unref(t);
    if (placed_here) slot_freed();
    /* its target has room again: pooled tasks need not wait for one here to end */
    if (atomic_load_explicit(&dt__cl.spread, memory_order_acquire)) dt__cl_spread_drain(false);
}

/* Its target says it completed; its writes were sent before that. */
static void pushed_done(dt__task *t)
{
    pushed *pu = dt__cl_of(t)->pushed;
    if (!pu->nback) {
        dt__cl_pushed_finish(t);
        return;
    }
    atomic_store(&pu->left, pu->nback);
    for (uint32_t i = 0; i < pu->nback; i++) {
        dt__cl_post_recv(pu->target, &pu->back[i], pu->back[i].mode, NULL, t);
    }
}

void dt__cl_handle_ctrl(void *buf, size_t len, int peer)
{
    dt__msg m;
    const char *why;
    if (dt__msg_decode(buf, len, &m, &why)) dt__fatal("malformed message from rank %d: %s", peer, why);
    switch (m.type) {
    case DT__MSG_OFFLOAD:
    case DT__MSG_PUSH: handle_offload(&m, peer); break;
    case DT__MSG_DONE: handle_done(&m, peer); break;
    case DT__MSG_DATA_REQ: dt__cl_handle_data_req(&m, peer); break;
    case DT__MSG_ITER: dt__cl_handle_iter(&m, peer); break;
    case DT__MSG_STEAL: dt__cl_handle_steal(&m, peer); break;
    case DT__MSG_STEAL_REPLY: dt__cl_handle_steal_reply(&m, peer); break;
    default:
        atomic_fetch_add(&dt__cl.shutdown, 1);      /* one per application rank */
        dt__sched_wake_all();
        break;
    }
}

void dt__cl_free_labels(void)
{
    for (size_t i = 0; i < nlabels; i++) free(labels[i]);
    free(labels);
    labels = NULL;
    nlabels = 0;
}

/* ---- the hook table (core/hooks.h) ---- */

/* The root's tasks on rank 0 and nested tasks bound for another rank: their
 * data must be on the rank that runs them (and their children) before they
 * start. */
static bool data_first(const dt__task *parent, const dt__task *t)
{
    (void)t;
    return parent == &dt__root && dt__cl.rank == 0;
}

static void task_new(dt__task *t)
{
    dt__task *parent = dt__current();
    bool mine = parent == &dt__root && dt__cl.rank == 0;
    if (mine || (t->node >= 0 && t->node != dt__cl.rank)) dt__cl_ext_new(t, 0);
}

static void ran(dt__task *t)
{
    /* the completion and the placements it leads to leave in task_end */
    dt__cl_hold_posts();
    dt__cltask *x = dt__cl_of(t);
    if (atomic_load_explicit(&x->placed, memory_order_relaxed)) ran_here(t);
    bool spread = atomic_load_explicit(&dt__cl.spread, memory_order_acquire);
    if (spread || dt__cl.steal) dt__cl_ran(t);
    if (spread) dt__cl_uncount(x);
}

/* A worker here has nothing to do: it takes a task counted here already
 * (waiting in the steal queue), else a pooled nested task. */
static bool poll_idle(void)
{
    bool took = dt__cl.steal && dt__cl_steal_take();
    if (!took && atomic_load_explicit(&dt__cl.spread, memory_order_acquire)) took = dt__cl_spread_drain(true);
    if (!took && dt__cl.steal) dt__cl_steal_idle();
    return dt__cl_poll() || took;
}

static void completed(dt__task *t)
{
    if (dt__cl_of(t)->remote) remote_complete(t);
}

static void task_free(dt__task *t)
{
    free(t->ext);
    t->ext = NULL;
}

/* Fills the cluster's entries of the hook table (the others are other
 * plug-ins'). */
void dt__cl_fill_hooks(dt__hooks_t *h)
{
    h->data_first = data_first;
    h->may_leave = dt__cl_offloadable;
    h->task_new = task_new;
    h->edge = edge;
    h->submitted = submitted;
    h->ready = ready;
    h->ran = ran;
    h->ran_released = slot_freed;
    h->released = released;
    h->completed = completed;
    h->task_free = task_free;
    h->waited = bring_back;
    h->freed = forget;
    h->poll = poll_idle;
    h->task_end = task_end;
    dt__cl_iter_fill_hooks(h);
}
