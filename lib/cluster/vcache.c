/* vcache.c - every rank's version cache (WriteID): for each byte range the
 * write version this rank holds, or the transfer or task it is arriving
 * through.  Bytes already held in the right version are not fetched again,
 * and whoever needs bytes still arriving waits for them (waiters). */
#include <string.h>
#include "cluster/internal.h"

static uint64_t cache_hole_state(void) { return dt__cl.rank == 0 ? DT__ST_PRESENT : DT__ST_ABSENT; }

typedef struct acquire_ctx {
    uint64_t version;
    waiter *w;
    pending *fetch;             /* pieces to fetch point here (made on demand) */
    pending *last;              /* last pending w was added to */
    bool must_hold;             /* the directory says we hold it: never fetch */
    bool missing;
} acquire_ctx;

pending *dt__cl_pending_new(void)
{
    pending *p = dt__xmalloc(sizeof *p);
    dt__vec_init(&p->waiters);
    p->task_writes = false;
    return p;
}

/* What p stood for is here: fire its waiters and drop it.  Under dt__cl.lock. */
void dt__cl_pending_done(pending *p, dt__vec *ready)
{
    for (uint32_t i = 0; i < p->waiters.n; i++) {
        waiter *w = p->waiters.v[i];
        if (--w->count == 0) dt__cl_waiter_fire(w, ready);
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
    if (f->version == a->version && f->state == DT__ST_PRESENT) {
        if (!a->must_hold) atomic_fetch_add_explicit(&dt__cl.n_fetch_skipped, 1, memory_order_relaxed);
        return;
    }
    if (f->version == a->version && f->state != DT__ST_ABSENT) {
        add_waiter((pending *)(uintptr_t)f->state, a->w, &a->last);
        return;
    }
    if (a->must_hold) {
        a->missing = true;
        return;
    }
    if (!a->fetch) {
        a->fetch = dt__cl_pending_new();
        add_waiter(a->fetch, a->w, &a->last);
    }
    f->version = a->version;
    f->state = (uint64_t)(uintptr_t)a->fetch;
}

/* Receives r's bytes from peer into the contiguous buffer `into`, not into
 * r: the receive keeps r as the sender's region (cma.c reads it there). */
static outmsg *recv_elsewhere(int peer, const dt__wire_region *r, void *into, uint32_t tag, pending *pend)
{
    size_t bytes = (size_t)(r->size * r->rows);
    dt__wire_region buf = { (uintptr_t)into, bytes, 1, bytes, 0, 0, 0 };
    outmsg *m = dt__cl_data_msg(OUT_RECV, peer, &buf, tag);
    m->src = *r;
    m->pend = pend;
    return m;
}

/* Receives bytes sent unasked that this rank turns out to hold or to be
 * receiving already, and drops them (the directory should make this
 * impossible; but a message nobody receives would keep its sender from
 * ever finishing). */
static void discard(int peer, const dt__wire_region *r, uint32_t tag)
{
    size_t bytes = (size_t)(r->size * r->rows);
    void *scratch = dt__xmalloc(bytes ? bytes : 1);
    outmsg *m = recv_elsewhere(peer, r, scratch, tag, dt__cl_pending_new());
    m->buf = scratch;                                   /* freed once received */
    dt__cl_post(m);
}

/* Makes region (version v) arrive here for w: already held, on its way, or
 * fetched now from `source`: asked for, or, with `pushed_tag`, sent by
 * `source` unasked with that tag.  Under dt__cl.lock. */
void dt__cl_acquire(const dt__wire_region *r, int source, uint32_t pushed_tag, waiter *w)
{
    acquire_ctx a = { .version = r->version, .w = w, .must_hold = source < 0 };
    dt__cl_walk(&dt__cl.cache, r, dt__cl.hole_version, cache_hole_state(), acquire_piece, &a);
    if (a.missing)
        dt__fatal("the directory says this rank holds version %llu of [%#llx,+%llu) but it does not",
            (unsigned long long)r->version, (unsigned long long)r->addr, (unsigned long long)r->size);
    if (!a.fetch) {
        if (pushed_tag) discard(source, r, pushed_tag);
        return;
    }
    atomic_fetch_add_explicit(&dt__cl.n_fetch, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&dt__cl.n_fetch_bytes, r->size * r->rows, memory_order_relaxed);
    uint32_t tag = pushed_tag ? pushed_tag : dt__cl_pull_tag();
    dt__cl_post_recv(source, r, tag, a.fetch, NULL);
    if (pushed_tag) return;
    /* one request for the whole region: a tile travels as one message */
    size_t len;
    void *msg_ = dt__msg_data_req(r, tag, &len);
    dt__cl_post_ctrl(source, msg_, len);
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
void dt__cl_cache_mark(const dt__wire_region *r, uint64_t version, uint64_t state, pending *only)
{
    set_ctx c = { version, state, only };
    dt__cl_walk(&dt__cl.cache, r, dt__cl.hole_version, cache_hole_state(), set_piece, &c);
}

/* Bytes written here (or received): region now holds `version`. */
void dt__cl_cache_set(const dt__wire_region *r, uint64_t version, pending *only)
{
    dt__cl_cache_mark(r, version, DT__ST_PRESENT, only);
}

/* Pushed bytes that arrived in a staging buffer, and every transfer into
 * the same bytes that was under way has ended: store only the bytes that
 * differ.  Tasks here may be reading those bytes in the same version: they
 * must not see a store, even of an equal value.  Under dt__cl.lock. */
static void apply_staged(waiter *w, dt__vec *ready)
{
    const unsigned char *src = w->staged;
    DT__FOR_ROWS(&w->region, s, e) {
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
    dt__cl_stage_put(w->staged, (size_t)(w->region.size * w->region.rows));
    dt__cl_cache_set(&w->region, w->region.version, w->mine);
    dt__cl_pending_done(w->mine, ready);
}

/* Under dt__cl.lock: what a waiter does once everything it waits for is here. */
void dt__cl_waiter_fire(waiter *w, dt__vec *ready)
{
    switch (w->kind) {
    case W_TASK: dt__xvec_push(ready, w->task); break;
    case W_SEND: dt__cl_send_data(&w->region, w->peer, w->tag); break;
    case W_APPLY: apply_staged(w, ready); break;
    default:
        atomic_store(w->flag, 1);
        dt__futex_wake(w->flag, INT_MAX);
        break;
    }
    free(w);
}

void dt__cl_ready_all(dt__vec *ready)
{
    for (uint32_t i = 0; i < ready->n; i++) {
        dt__task *t = ready->v[i];
        /* an offloaded task also waits for its dependencies on this rank */
        if (t->ext && dt__cl_of(t)->remote) dt__task_dec_pending(t);
        else dt__sched_ready(t);
    }
    dt__vec_free(ready);
}

/* Sends region r to peer (tag) as soon as this rank holds it. */
void dt__cl_send_when_held(const dt__wire_region *r, int peer, uint32_t tag)
{
    waiter *w = dt__xmalloc(sizeof *w);
    memset(w, 0, sizeof *w);
    w->kind = W_SEND;
    w->region = *r;
    w->peer = peer;
    w->tag = tag;
    dt__vec ready;
    dt__vec_init(&ready);
    pthread_mutex_lock(&dt__cl.lock);
    w->count = 1;                           /* held while we look */
    dt__cl_acquire(r, -1, 0, w);
    if (--w->count == 0) dt__cl_waiter_fire(w, &ready);
    pthread_mutex_unlock(&dt__cl.lock);
    dt__cl_ready_all(&ready);
}

void dt__cl_handle_data_req(const dt__msg *m, int peer)
{ dt__cl_send_when_held(&m->region, peer, m->tag); }

typedef struct push_ctx {
    uint64_t version;
    pending *mine, *last;
    waiter *apply;
    bool absent;
} push_ctx;

static void push_piece(void *ctx, dt__frag *f)
{
    push_ctx *c = ctx;
    if (f->state == DT__ST_ABSENT) {
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
    if (f->state != DT__ST_PRESENT && !p->task_writes) add_waiter(p, c->apply, &c->last);
}

/* Bytes pushed by peer with a nested task for w (r.mode: their tag;
 * r.version: their version, 0 if the sender knew none).  The cache records
 * them, so that tasks here needing that version do not fetch it again.
 * Where this rank may already hold them (tasks here may be reading them),
 * they go through a staging buffer.  Under dt__cl.lock. */
void dt__cl_receive_pushed(dt__wire_region r, int peer, waiter *w, pending **last)
{
    uint32_t tag = r.mode;
    if (!r.version) r.version = (++dt__cl.next_local << 8) | DT__PUSHED_HERE | (uint64_t)dt__cl.rank;
    pending *mine = dt__cl_pending_new();
    add_waiter(mine, w, last);
    waiter *apply = dt__xmalloc(sizeof *apply);
    memset(apply, 0, sizeof *apply);
    apply->kind = W_APPLY;
    apply->region = r;
    apply->mine = mine;
    push_ctx c = { r.version, mine, NULL, apply, true };
    dt__cl_walk(&dt__cl.cache, &r, dt__cl.hole_version, cache_hole_state(), push_piece, &c);
    if (c.absent) {
        free(apply);
        dt__cl_post_recv(peer, &r, tag, mine, NULL);
        return;
    }
    size_t bytes = (size_t)(r.size * r.rows);
    apply->staged = dt__cl_stage_get(bytes);
    pending *got = dt__cl_pending_new(), *none = NULL;
    add_waiter(got, apply, &none);
    dt__cl_post(recv_elsewhere(peer, &r, apply->staged, tag, got));
}

typedef struct held_ctx { uint64_t version; bool first, mixed; } held_ctx;

static void held_piece(void *ctx, dt__frag *f)
{
    held_ctx *h = ctx;
    if (f->state != DT__ST_PRESENT || (!h->first && f->version != h->version)) h->mixed = true;
    h->version = f->version;
    h->first = false;
}

/* The one version this rank's cache says all of r is in, or 0.  Bytes a
 * task here may have rewritten since still carry the version they had: a
 * version that is dead by then (a task writing them is under way), which no
 * one will ask for again.  Under dt__cl.lock. */
uint64_t dt__cl_held_version(const dt__wire_region *r)
{
    held_ctx h = { 0, true, false };
    dt__cl_walk(&dt__cl.cache, r, dt__cl.hole_version, cache_hole_state(), held_piece, &h);
    return h.mixed ? 0 : h.version;
}
