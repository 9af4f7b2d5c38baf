/* steal.c - DT_STEAL=1: lifeline-based stealing between ranks (the APGAS
 * lifeline global load balancing of Saraswat et al., PPoPP 2011).  Rank 0
 * places a task once; without stealing it then waits on its rank for a
 * worker there, however long that rank's queue and however idle the others.
 *
 * What may be stolen: a task ready on this rank that has not started, may
 * run elsewhere (dt__cl_movable: no node hint, strong accesses to the
 * common address space only, not undeferred, final or replayed), and did
 * not come here pinned (placed by a node hint, or stolen once already: no
 * task travels twice).  So: tasks rank 0 placed here (offloaded, or rank
 * 0's own), tasks DT_NESTED=spread pushed here, nested tasks made here.
 * Instead of the scheduler's queues such a task waits in this rank's steal
 * queue (unless its type's tasks ran shorter than DT_STEAL_MIN_US on
 * average here: a relay costs tens of microseconds and delays the task's
 * successors as much), and a worker here with nothing to do takes one from it (hooks.poll;
 * a task entering the queue wakes the idle ones), so local workers never
 * wait while it holds work.
 *
 * Relay, not re-placement.  The victim sends the task on to the thief the
 * way a nested task with a node hint goes (dt__cl_push: its input bytes go
 * with it, its writes come back to the victim before the victim releases
 * it).  For rank 0 and every other rank the task still ran on the victim:
 * rank 0's directory, which recorded the task's writes at the victim when
 * it placed it, stays true once they are back; the victim's version cache
 * marks them present when the task completes there, so readers elsewhere
 * that were told to fetch from the victim wait for exactly that; and the
 * completion rank 0 counts comes once, from the victim, after the thief's.
 * Termination, taskwait and the write versions need no change.  The cost is
 * data: inputs travel victim -> thief and writes back, where handing the
 * task back to rank 0 to re-place it on the thief would fetch inputs once
 * from their holders and leave the writes on the thief.  But re-placing
 * means rank 0 undoing a placement it has already told others about (its
 * directory, fetches planned from the victim, tasks placed early behind it)
 * while those messages travel: a protocol of its own.  A relayed task's
 * inputs are on the victim already (it is ready there): nothing waits on a
 * third rank, and on one node the bytes cost a copy each way.
 *
 * Thief: a worker with nothing to do, on a rank whose steal queue is empty
 * and that has no unfinished task placed on it (work_coming), starts a
 * round unless one is under way: a STEAL request to a random rank, then,
 * if it got nothing, to another (DT__STEAL_RANDOM in all), each answered
 * (the tasks first, then a STEAL_REPLY with their count); if none gave
 * anything, LIFELINE requests (not answered) to its lifelines, the ring
 * successor and the hypercube neighbours, and the rank goes quiet: it sends
 * nothing more until a task reaches it (a lifeline's, or any task placed or
 * pushed here).  An idle job thus sends a few messages per rank, then none;
 * no thread spins.
 *
 * Victim: a STEAL takes up to half of the queue (rounded up, so a lone
 * waiting task may go to the idle rank), less the tasks that would start
 * here before a relay would finish them (give); a LIFELINE request that
 * finds it empty is remembered, and when a task enters the queue while every worker
 * here is busy, one remembered thief gets half of it.
 *
 * The end: every request is answered (a lifeline one with round 0, which
 * only counts it off), and dt_finalize, before the progress threads stop,
 * stops requests, waits for the answers to this rank's, then meets the
 * other ranks in a barrier while still answering theirs: no steal message
 * is left unreceived when MPI ends. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cluster/internal.h"

/* random victims a round asks before it falls back on the lifelines */
#define DT__STEAL_RANDOM 2

enum { WORKING, ASKING, QUIET };

static struct {
    dt__heap queue;             /* tasks here that a thief may take */
    atomic_int state;           /* the thief's: WORKING, ASKING, QUIET */
    atomic_bool on;             /* DT_STEAL and between start and stop: requests may go out */
    atomic_int idle;            /* workers here that found nothing to do since their last task */
    atomic_ullong waiting;      /* thieves whose lifeline request found nothing here */
    atomic_int unanswered;      /* requests of this rank not answered yet */
    uint64_t lifelines;         /* the ranks this one asks when it goes quiet */
    pthread_mutex_t lock;       /* the round below; a leaf (nothing is taken under it) */
    uint32_t round;             /* this rank's rounds, numbered: stale replies are ignored */
    int asked;                  /* random victims asked this round */
    uint64_t tried;             /* ... and which */
    uint64_t rng;
    atomic_ullong n_stolen, n_given, n_requests, n_failed, n_lifeline, n_kept;
    atomic_ullong relay_ns;     /* relay_cost() */
    struct running {            /* per worker: the task it took from the queue, until it ends */
        _Atomic uint64_t since; /* when (0: none) */
        atomic_uint mean_ns;    /* its type's mean run time here */
    } *running;
} S;

static DT__TLS bool tls_idle;

void dt__cl_steal_init(void)
{
    dt__heap_init(&S.queue);
    pthread_mutex_init(&S.lock, NULL);
}

void dt__cl_steal_start(void)
{
    int me = dt__cl.rank, n = dt__cl.nranks;
    size_t nw = dt__rt.nworkers > 0 ? (size_t)dt__rt.nworkers : 1;
    S.running = dt__xmalloc(nw * sizeof *S.running);
    memset(S.running, 0, nw * sizeof *S.running);
    S.lifelines = 0;
    if (n > 1) S.lifelines |= 1ull << ((me + 1) % n);
    for (int b = 1; b < n; b <<= 1)
        if ((me ^ b) < n) S.lifelines |= 1ull << (me ^ b);
    S.rng = 0x9E3779B97F4A7C15ull * (uint64_t)(me + 1);
    S.round = 0;                /* 0 stands for a lifeline request: rounds start at 1 */
    atomic_store(&S.state, WORKING);
    /* An application rank of an SPMD job (helpers.c) whose one worker is
       its main thread does not ask: that thread leaves the runtime after a
       dt_taskwait for the program's own MPI calls, and a task it stole
       meanwhile would wait there while its victim, in the same collective,
       waited for it (test-mpi's helpers with DT_STEAL=1 hung so). */
    bool main_only = dt__cl.helpers && !dt__cl_serves(me) && dt__rt.nworkers < 2;
    atomic_store_explicit(&S.on, dt__cl.steal && !main_only, memory_order_release);
}

/* Polls until *req completes (the progress thread may be off: workers=). */
static void wait_polling(MPI_Request *req)
{
    for (long ns = 1000;; ns = ns < 1000000 ? ns * 2 : ns) {
        int done;
        MPI_Test(req, &done, MPI_STATUS_IGNORE);
        if (done) return;
        if (dt__cl_poll()) ns = 1000;
        nanosleep(&(struct timespec){ 0, ns }, NULL);
    }
}

void dt__cl_steal_drain(void)
{
    atomic_store(&S.on, false);
    for (long ns = 1000; atomic_load(&S.unanswered) > 0; ns = ns < 1000000 ? ns * 2 : ns) {
        if (dt__cl_poll()) ns = 1000;
        nanosleep(&(struct timespec){ 0, ns }, NULL);
    }
    MPI_Request req;
    MPI_Ibarrier(dt__cl.comm, &req);
    wait_polling(&req);
}

void dt__cl_steal_fini(void)
{
    dt__heap_free(&S.queue);
    free(S.running);
    S.running = NULL;
}

/* The next random rank not asked yet this round, or -1.  Under S.lock. */
static int next_victim(void)
{
    int n = dt__cl.nranks, left = n - __builtin_popcountll(S.tried);
    if (S.asked >= DT__STEAL_RANDOM || left <= 0) return -1;
    S.rng ^= S.rng << 13, S.rng ^= S.rng >> 7, S.rng ^= S.rng << 17;
    int k = (int)(S.rng % (uint64_t)left);
    for (int r = 0; r < n; r++)
        if (!(S.tried >> r & 1) && k-- == 0) {
            S.tried |= 1ull << r;
            S.asked++;
            return r;
        }
    return -1;
}

static void send_steal(int type, int peer, uint32_t n, uint32_t round)
{
    if (type == DT__MSG_STEAL) atomic_fetch_add(&S.unanswered, 1);
    size_t len;
    void *msg = dt__msg_steal(type, n, round, &len);
    dt__cl_post_ctrl(peer, msg, len);
}

/* Asks victim v (random), or, with v < 0, the lifelines, and goes quiet. */
static void ask(int v, uint32_t round)
{
    if (v >= 0) {
        atomic_fetch_add_explicit(&S.n_requests, 1, memory_order_relaxed);
        send_steal(DT__MSG_STEAL, v, 0, round);
        return;
    }
    int st = ASKING;
    if (!atomic_compare_exchange_strong(&S.state, &st, QUIET)) return;   /* work came meanwhile */
    for (uint64_t m = S.lifelines; m; m &= m - 1) {
        atomic_fetch_add_explicit(&S.n_lifeline, 1, memory_order_relaxed);
        send_steal(DT__MSG_STEAL, __builtin_ctzll(m), 1, 0);
    }
}

/* Tasks placed here that have not finished: waiting for their data or
 * predecessors, or relayed to a thief.  A rank with such tasks is not out
 * of work: stealing now would take tasks another rank is about to run, and
 * send them back and forth (measured: Cholesky's ranks then stole from each
 * other, each steal two more tile transfers, and ran slower). */
bool dt__cl_work_coming(void)
{
    if (!dt__task_children_done(&dt__cl.remote_root)) return true;
    return dt__cl.rank == 0 && atomic_load_explicit(&dt__cl.load[0], memory_order_relaxed) > 0;
}

static void round_start(void)
{
    int st = WORKING;
    if (atomic_load_explicit(&S.state, memory_order_relaxed) != WORKING || !atomic_load(&S.on) ||
        atomic_load(&dt__cl.shutdown) || dt__cl_work_coming() ||
        !atomic_compare_exchange_strong(&S.state, &st, ASKING))
        return;
    pthread_mutex_lock(&S.lock);
    if (!++S.round) S.round = 1;
    uint32_t round = S.round;
    S.asked = 0;
    S.tried = 1ull << dt__cl.rank;
    int v = next_victim();
    pthread_mutex_unlock(&S.lock);
    ask(v, round);
}

/* The task leaves for thief w: pinned there, out of this rank's load.  On
 * rank 0, a task it placed on itself counts in the thief's load until it is
 * back (dt__cl_pushed_finish): counted here, it kept this rank from
 * placing on itself while its worker was free, and the thief, counted
 * idle, got the next ready tasks on top of it. */
static void relay(dt__task *t, int w)
{
    dt__cltask *x = dt__cl_of(t);
    x->relayed = true;
    if (dt__cl.rank == 0 && atomic_load(&x->where) == 1) {
        atomic_fetch_sub(&dt__cl.load[0], 1);
        atomic_fetch_add(&dt__cl.load[w], 1);
    }
    dt__cl_uncount(x);
    dt__cl_push(t, w, false);
    atomic_fetch_add_explicit(&S.n_given, 1, memory_order_relaxed);
}

/* What a relay costs beyond the task's run, as the victim sees it: its
 * writes are back this much later than if a worker here had started it at
 * once (the inputs' and writes' transfers, the messages, the thief's
 * queue).  An average of the relays that came back; 0 until one has
 * (give() then takes a relay to cost one more run of the task). */
static uint64_t relay_cost(void) { return atomic_load_explicit(&S.relay_ns, memory_order_relaxed); }

void dt__cl_steal_back(const dt__task *t, uint64_t ns)
{
    uint64_t run = (uint64_t)dt__cl_of(t)->relay_ahead_ns + dt__cl_type_mean_ns(t->type);
    uint64_t over = ns > run ? ns - run : 0, c = relay_cost();
    atomic_store_explicit(&S.relay_ns, c ? c - c / 4 + over / 4 : over, memory_order_relaxed);
}

/* The more urgent half of the queue (highest priority, then oldest) stays:
 * the tasks that the queue's order says can wait are the ones that can pay
 * for a relay; those on a critical path (a factorisation's diagonal steps)
 * stay where their data is and start soonest.  Nor does a task go that the
 * workers here would start sooner than a relay costs (busy_ns: what is
 * left of the tasks they run; then the tasks queued before it, by the run
 * times of their types here): stolen, it would finish later than if it
 * stayed (Cholesky's thief took the lone task queued behind a running one,
 * several a run; keeping those took row-major 2x1 with stealing from 0.88
 * to 0.905 of 1x2).  A task of a type not timed here yet may be long: it
 * may go. */
unsigned dt__cl_steal_keep_count(const unsigned *mean_ns, unsigned n, uint64_t busy_ns, uint64_t cost_ns,
                                 unsigned nworkers)
{
    uint64_t nw = nworkers ? nworkers : 1, ahead = busy_ns;   /* work before task `keep` */
    unsigned keep = 0;
    for (; keep < n; keep++) {
        if (keep >= n / 2 && (!mean_ns[keep] || ahead / nw >= cost_ns)) break;
        ahead += mean_ns[keep];
    }
    return keep;
}

/* What is left of the tasks the workers here run, as far as their types'
 * mean times tell: a task taken from the queue was timed from then (before,
 * every running task counted for half of the queue head's mean, whatever
 * was left of it).  A worker running a task that did not come through the
 * queue counts for half of `unknown_ns`; an idle one for nothing. */
static uint64_t busy_left(unsigned unknown_ns)
{
    uint64_t now = dt__now_ns(), left = 0;
    int idle = atomic_load(&S.idle);
    for (int i = 0; i < dt__rt.nworkers; i++) {
        uint64_t since = atomic_load_explicit(&S.running[i].since, memory_order_relaxed);
        unsigned mean = atomic_load_explicit(&S.running[i].mean_ns, memory_order_relaxed);
        if (since) left += since + mean > now ? since + mean - now : 0;
        else if (idle > 0) idle--;
        else left += unknown_ns / 2;
    }
    return left;
}

/* Up to half of the queue, rounded up, to thief w, less what starts sooner
 * here: how many went.  DT_STEAL_MIN_US=0 asks for no cost check.  The cost
 * is learnt from relays only, so each refusal lowers it by an eighth: one
 * slow relay does not end stealing for good. */
static uint32_t give(int w)
{
    /* Rank 0 placed tasks on the thief that have not ended: it asked before
       they reached it, or it runs its last one, and more will be placed
       there as it finishes them.  A relay now doubles what it gets (with
       DT_SCHEDULE=balance, Cholesky 2x1's rank 1, idle while rank 0 ran the
       first potrf, was relayed one of rank 0's two trsm on top of its own
       two, and its first began 3.5-6 ms late). */
    if (dt__cl.rank == 0 && atomic_load(&dt__cl.load[w]) > 0) return 0;
    dt__task *all[256];
    unsigned mean[256], n = 0;
    while (n < 256 && (all[n] = dt__heap_pop(&S.queue))) {
        mean[n] = dt__cl_type_mean_ns(all[n]->type);
        n++;
    }
    unsigned nw = dt__rt.nworkers > 0 ? (unsigned)dt__rt.nworkers : 1;
    uint64_t cost = dt__cl.steal_min_ns ? relay_cost() : 0;
    /* None came back yet: a relay is taken to cost one more run of the
       first task that may go.  At 0, each rank's first relay went whatever
       it cost: in Cholesky 2x1 rank 1's first of a run (a 2.7 ms gemm or a
       4.5 ms trsm) was back 11-20 ms later, its inputs read into pages
       the thief had never touched. */
    if (dt__cl.steal_min_ns && !cost && n) cost = mean[n / 2];
    unsigned keep = dt__cl_steal_keep_count(mean, n, n ? busy_left(mean[0]) : 0, cost, nw);
    if (keep > n / 2) {
        atomic_fetch_add_explicit(&S.n_kept, keep - n / 2, memory_order_relaxed);
        atomic_store_explicit(&S.relay_ns, cost - cost / 8, memory_order_relaxed);
    }
    for (unsigned i = 0; i < keep; i++) dt__heap_push(&S.queue, all[i]);
    uint64_t given = 0;         /* the thief's run time of the tasks given before all[i] */
    for (unsigned i = keep; i < n; i++) {
        dt__cl_of(all[i])->relay_ahead_ns = given > UINT_MAX ? UINT_MAX : (unsigned)given;
        given += mean[i] / nw;
        relay(all[i], w);
    }
    return n - keep;
}

/* Work is queued beyond what idle workers here will take: a thief that
 * left its lifeline request here gets half of it. */
static void serve_lifeline(void)
{
    uint64_t m = atomic_load(&S.waiting);
    while (m) {
        int w = __builtin_ctzll(m);
        if (!atomic_compare_exchange_weak(&S.waiting, &m, m & (m - 1))) continue;
        if (!give(w)) atomic_fetch_or(&S.waiting, 1ull << w);
        return;
    }
}

bool dt__cl_steal_keep(dt__task *t)
{
    dt__cltask *x = dt__cl_of(t);
    if (x && x->run_now) {
        x->run_now = false;
        return false;
    }
    /* Workers that never poll (a helper's: helpers.c) never take from the
       queue: a task kept there would wait for good (a helper's nested
       tasks did, and their parents with them). */
    if (!dt__hooks.poll) return false;
    if ((x && (x->pinned || x->pushed)) || !dt__cl_movable(t)) return false;
    /* a steal costs a relay (bytes out and back, two completions): tasks of
       a type that runs shorter here stay in the scheduler's queues */
    unsigned m = dt__cl_type_mean_ns(t->type);
    if (m && m < dt__cl.steal_min_ns) return false;
    if (!x) {
        /* a nested task made here: handed back, it is queued like one that
           DT_NESTED=spread keeps here */
        x = dt__cl_ext_new(t, 0);
        x->spread = true;
    }
    dt__heap_push(&S.queue, t);
    int idle = atomic_load(&S.idle);
    if (idle > 0) dt__sched_wake_all();
    if (atomic_load(&S.queue.n) > idle) serve_lifeline();
    return true;
}

void dt__cl_steal_busy(void)
{
    int id = dt__worker_id();
    if (id >= 0 && id < dt__rt.nworkers) atomic_store_explicit(&S.running[id].since, 0, memory_order_relaxed);
    if (!tls_idle) return;
    tls_idle = false;
    atomic_fetch_sub(&S.idle, 1);
}

bool dt__cl_steal_take(void)
{
    dt__task *t = dt__heap_pop(&S.queue);
    if (!t) return false;
    int id = dt__worker_id();
    dt__cl_steal_busy();
    if (id >= 0 && id < dt__rt.nworkers) {
        atomic_store_explicit(&S.running[id].mean_ns, dt__cl_type_mean_ns(t->type), memory_order_relaxed);
        atomic_store_explicit(&S.running[id].since, dt__now_ns(), memory_order_relaxed);
    }
    dt__cl_of(t)->run_now = true;
    dt__sched_ready(t);
    return true;
}

void dt__cl_steal_idle(void)
{
    int id = dt__worker_id();
    /* only the workers count: spare threads park for long */
    if (!tls_idle && id >= 0 && id < dt__rt.nworkers) {
        tls_idle = true;
        atomic_fetch_add(&S.idle, 1);
    }
    round_start();
}

void dt__cl_steal_got_work(bool stolen)
{
    if (stolen) atomic_fetch_add_explicit(&S.n_stolen, 1, memory_order_relaxed);
    if (atomic_load_explicit(&S.state, memory_order_relaxed) != WORKING) atomic_store(&S.state, WORKING);
}

void dt__cl_handle_steal(const dt__msg *m, int peer)
{
    uint32_t k = give(peer);
    if (m->steal_n && !k) atomic_fetch_or(&S.waiting, 1ull << peer);
    send_steal(DT__MSG_STEAL_REPLY, peer, k, m->steal_round);
}

/* The victim's answer; the tasks it gave arrived before it. */
void dt__cl_handle_steal_reply(const dt__msg *m, int peer)
{
    (void)peer;
    atomic_fetch_sub(&S.unanswered, 1);
    if (!m->steal_round) return;        /* a lifeline request's */
    if (!m->steal_n) atomic_fetch_add_explicit(&S.n_failed, 1, memory_order_relaxed);
    pthread_mutex_lock(&S.lock);
    bool current = m->steal_round == S.round && atomic_load(&S.state) == ASKING;
    int v = current && !m->steal_n ? next_victim() : -1;
    uint32_t round = S.round;
    pthread_mutex_unlock(&S.lock);
    if (!current) return;
    if (m->steal_n) {
        int st = ASKING;
        atomic_compare_exchange_strong(&S.state, &st, WORKING);
        return;
    }
    ask(v, round);
}

void dt__cl_steal_stats(void)
{
    fprintf(stderr, "dtask stats: rank %d: tasks stolen %llu, given to thieves %llu, steal requests %llu "
            "(failed %llu), lifeline requests %llu, tasks kept as sooner here than by a relay %llu "
            "(relay cost %.2f ms)\n", dt__cl.rank, (unsigned long long)S.n_stolen,
            (unsigned long long)S.n_given, (unsigned long long)S.n_requests, (unsigned long long)S.n_failed,
            (unsigned long long)S.n_lifeline, (unsigned long long)S.n_kept, relay_cost() / 1e6);
}
