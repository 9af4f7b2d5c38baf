/* api.c - the task calls of the public API: validation, creation, waiting,
 * reductions' private copies, taskiter. */
#include <string.h>
#include "core/hooks.h"
#include "core/runtime.h"
#include "core/stack.h"
#include "deps/deps.h"
#include "instr/trace.h"
#include "sched/sched.h"
#include "taskiter/taskiter.h"

#define DT__EXPORT __attribute__((visibility("default")))
#define RED_OP_MASK 0xF000u
#define RED_TYPE_MASK 0xF0000u

static DT__TLS uint64_t tls_seq;

static size_t elem_size(unsigned type)
{
    return (type == DT_RED_I32 || type == DT_RED_F32) ? 4 : 8;
}

static int check_access(const dt_access_t *a, size_t i, const char *call, const char *label)
{
    unsigned base = a->mode & DT__MODE_BASE, red = a->mode & (RED_OP_MASK | RED_TYPE_MASK);
    if (a->mode & ~(DT__MODE_BASE | DT_WEAK | RED_OP_MASK | RED_TYPE_MASK) || base < DT_IN ||
        base > DT_REDUCTION || (base != DT_REDUCTION && red))
        return dt__error(DT_EMODE, call, label, "access %zu: mode 0x%x", i, a->mode);
    if (a->size && !a->addr)
        return dt__error(DT_EFAULT, call, label, "access %zu: NULL address with size %zu", i, a->size);
    size_t rows = a->rows > 1 ? a->rows : 1;
    if (rows > 1 && a->stride < a->size)
        return dt__error(DT_EINVAL, call, label, "access %zu: stride %zu < row size %zu", i,
                         a->stride, a->size);
    if (a->size) {
        size_t span, last;
        /* regions are kept as [start, end): the byte after the last one must
           exist too, so the last byte of the address space is refused */
        if (__builtin_mul_overflow(rows - 1, a->stride, &span) ||
            __builtin_add_overflow(span, a->size, &last) ||
            (uintptr_t)a->addr + last <= (uintptr_t)a->addr)
            return dt__error(DT_EOVERFLOW, call, label, "access %zu at %p", i, a->addr);
    }
    if (base == DT_REDUCTION) {
        unsigned op = a->mode & RED_OP_MASK, type = a->mode & RED_TYPE_MASK;
        if (op < DT_RED_SUM || op > DT_RED_MAX || type < DT_RED_I32 || type > DT_RED_F64)
            return dt__error(DT_EREDUCTION, call, label, "access %zu: needs one DT_RED_ operation and one type", i);
        size_t es = elem_size(type);
        if (rows > 1 || a->size % es || (uintptr_t)a->addr % es)
            return dt__error(DT_EREDUCTION, call, label,
                             "access %zu: a reduction is one aligned range of whole elements", i);
    }
    return DT_OK;
}

/* Checks every access; *pieces: their rows (of those of non-zero size),
 * which registering them enters in the dependency map. */
static int check_accesses(const dt_access_t *acc, size_t n_acc, const char *call, const char *label,
                          size_t *pieces)
{
    int r;
    size_t n = 0;
    for (size_t i = 0; i < n_acc; i++) {
        if ((r = check_access(&acc[i], i, call, label))) return r;
        if (acc[i].size && __builtin_add_overflow(n, acc[i].rows > 1 ? acc[i].rows : 1, &n)) n = SIZE_MAX;
    }
    *pieces = n;
    return DT_OK;
}

/* The fragments for the pieces, taken before the task is linked: DT_ENOMEM
 * then has nothing to undo. */
static int reserve_pieces(size_t pieces, const char *call, const char *label)
{
    if (DT__LIKELY(dt__deps_reserve(pieces) == DT_OK)) return DT_OK;
    return dt__error(DT_ENOMEM, call, label, "%zu rows in the accesses", pieces);
}

static void fill_access(dt__access *x, const dt_access_t *a)
{
    unsigned base = a->mode & DT__MODE_BASE;
    static const uint8_t kinds[] = { 0, DT__K_IN, DT__K_EXCL, DT__K_EXCL, DT__K_CONC, DT__K_COMM, DT__K_RED };
    x->addr = (uintptr_t)a->addr;
    x->size = a->size;
    x->rows = a->rows > 1 ? a->rows : 1;
    x->stride = x->rows > 1 ? a->stride : a->size;
    x->mode = a->mode;
    x->kind = kinds[base];
    x->weak = (a->mode & DT_WEAK) != 0;
    x->writes = base != DT_IN;
}

static bool overlaps(const dt__access *a, const dt__access *b)
{
    for (size_t i = 0; i < a->rows; i++) {
        uintptr_t s = a->addr + i * a->stride;
        for (size_t j = 0; j < b->rows; j++) {
            uintptr_t s2 = b->addr + j * b->stride;
            if (s < s2 + b->size && s2 < s + a->size) return true;
        }
    }
    return false;
}

/* A task's reduction may not share bytes with its other accesses: its
 * combiner would wait for the task and the task for the combiner. */
static int check_reduction_overlap(const dt__task *t, const char *call, const char *label)
{
    for (uint32_t i = 0; i < t->nacc; i++) {
        if (t->acc[i].kind != DT__K_RED || !t->acc[i].size) continue;
        for (uint32_t j = 0; j < t->nacc; j++)
            if (j != i && t->acc[j].size && overlaps(&t->acc[i], &t->acc[j]))
                return dt__error(DT_EREDUCTION, call, label,
                                 "reduction access %u overlaps access %u of the same task", i, j);
    }
    return DT_OK;
}

/* Links t below the current task and lets it go. */
static void start_child(dt__task *p, dt__task *t)
{
    for (uint64_t bits = t->parent_mask; bits; bits &= bits - 1)
        atomic_fetch_add_explicit(&p->acc[__builtin_ctzll(bits)].blockers, 1, memory_order_relaxed);
    dt__task_child_created(p);
    t->parent = p;
    t->seq = tls_seq++;
    if (t->nacc) dt__deps_register(t);
}

static bool children_done(void *arg) { return dt__task_children_done(arg); }

/* Undeferred tasks nested on this thread's stack.  Past DT__INLINE_MAX a task
 * without accesses is queued like any other: a chain of tasks that each
 * create one child would otherwise nest without end (10^5 overflowed). */
#define DT__INLINE_MAX 64
static DT__TLS unsigned tls_inline_depth;

/* Enough tasks are queued to keep the other workers busy: like libgomp, run
 * a task without accesses right here instead of queueing it.  Nothing can
 * depend on it, so it needs no registration; it is complete (children
 * included) when this returns. */
static int run_undeferred(dt__task *p, dt_type_t type, const void *args, size_t args_size,
                          const char *label)
{
    dt__task t;
    memset(&t, 0, sizeof t);
    atomic_init(&t.refs, 1);
    t.parent = p;
    t.fn = dt__types[type].fn;
    t.type = type;
    t.label = label;
    t.flags = (p->flags & DT__TF_FINAL) | DT__TF_IF0;
    char small[256];
    t.args = args_size <= sizeof small ? small : malloc(args_size);
    if (!t.args) return dt__error(DT_ENOMEM, "dt_task_create", label, NULL);
    if (args_size) memcpy(t.args, args, args_size);
    dt__task *prev = dt__current();
    dt__set_current(&t);
    tls_inline_depth++;
    if (DT__UNLIKELY(dt__rt.stats)) atomic_fetch_add_explicit(&dt__rt.n_ran, 1, memory_order_relaxed);
    if (DT__UNLIKELY(dt__rt.trace)) t.t_start = dt__now_ns();
    dt__stack_call(t.fn, t.args);
    if (DT__UNLIKELY(dt__rt.trace)) {
        t.t_end = dt__now_ns();
        dt__trace_record(&t);
    }
    tls_inline_depth--;
    dt__set_current(prev == &dt__root ? NULL : prev);
    /* children point at this frame: it may only end after all of them (with
       or without accesses) have completed and let go of it */
    if (t.dom) dt__deps_close_reductions(&t);
    if (!dt__task_children_done(&t)) {
        atomic_store(&t.waiting, 1);
        dt__sched_wait(children_done, &t, &t);
    }
    dt__deps_domain_free(t.dom);
    while (atomic_load_explicit(&t.refs, memory_order_acquire) != 1) dt__cpu_relax();
    if (t.args != small) free(t.args);
    return DT_OK;
}

static bool task_done(void *arg) { return atomic_load(&((dt__task *)arg)->done) != 0; }

DT__EXPORT int dt_task_create(dt_type_t type, const void *args, size_t args_size,
                             const dt_access_t *acc, size_t n_acc, const dt_task_attr_t *attr)
{
    static const char call[] = "dt_task_create";
    const char *label = attr ? attr->label : NULL;
    int r = dt__check_running(call);
    if (r) return r;
    if (type < 0 || type >= atomic_load_explicit(&dt__ntypes, memory_order_acquire))
        return dt__error(DT_ETYPE, call, label, "type %d", type);
    if ((r = dt__type_check_args(type, args_size, call, label))) return r;
    if (!args && args_size) return dt__error(DT_EFAULT, call, label, "NULL args with size %zu", args_size);
    if (args_size > DT_ARGS_MAX)
        return dt__error(DT_ELIMIT, call, label, "args_size %zu above DT_ARGS_MAX (%zu)", args_size, DT_ARGS_MAX);
    if (!acc && n_acc) return dt__error(DT_EFAULT, call, label, "NULL access list with count %zu", n_acc);
    if (n_acc > UINT32_MAX) return dt__error(DT_EINVAL, call, label, "too many accesses");
    size_t pieces;
    if ((r = check_accesses(acc, n_acc, call, label, &pieces))) return r;
    if (attr) {
        if (attr->node != DT_NODE_ANY && (attr->node < 0 || attr->node >= dt__rt.app_nranks))
            return dt__error(DT_ERANGE, call, label, "node %d of %d ranks", attr->node, dt__rt.app_nranks);
        if (attr->flags & ~(unsigned)(DT_TASK_FINAL | DT_TASK_IF0))
            return dt__error(DT_EINVAL, call, label, "unknown flags 0x%x", attr->flags);
    }
    dt__task *p = dt__current();
    if (!n_acc && !(attr && (attr->priority || (attr->node != DT_NODE_ANY && attr->node != dt__rt.app_rank))) &&
        tls_inline_depth < DT__INLINE_MAX && !dt__iter_recording && dt__sched_saturated())
        return run_undeferred(p, type, args, args_size, label);
    if ((r = reserve_pieces(pieces, call, label))) return r;
    dt__task *t = dt__task_try_alloc((uint32_t)n_acc, args_size);
    if (!t) return dt__error(DT_ENOMEM, call, label, "a task of %zu accesses and %zu bytes of args", n_acc, args_size);
    if (args_size) memcpy(t->args, args, args_size);
    for (size_t i = 0; i < n_acc; i++) {
        fill_access(&t->acc[i], &acc[i]);
        if (t->acc[i].kind == DT__K_COMM && !t->acc[i].weak) t->flags |= DT__TF_COMM;
    }
    /* A task holding commutative bytes must not wait for its weak accesses
     * while it runs (another task may need those bytes to release them), so
     * it waits for them before it starts. */
    /* Likewise the root's tasks in a cluster, and nested tasks bound for
     * another rank: their data must be on the rank that runs them (and their
     * children) before they start. */
    bool leaves = attr && attr->node != DT_NODE_ANY && attr->node != dt__rt.app_rank;
    if ((t->flags & DT__TF_COMM) || (dt__hooks.data_first && (leaves || dt__hooks.data_first(p, t)))) {
        for (size_t i = 0; i < n_acc; i++) {
            /* a weak out writes nothing itself: the bytes its children do not
               write keep their value, so they must travel with it (inout) */
            if (t->acc[i].weak && (t->acc[i].mode & DT__MODE_BASE) == DT_OUT)
                t->acc[i].mode = (t->acc[i].mode & ~(unsigned)DT__MODE_BASE) | DT_INOUT;
            t->acc[i].weak = false;
        }
    }
    t->fn = dt__types[type].fn;
    t->type = type;
    t->label = label;
    if (attr) {
        t->priority = attr->priority;
        t->flags |= attr->flags;
        t->node = attr->node;
    }
    if (p->flags & DT__TF_FINAL) t->flags |= DT__TF_FINAL | DT__TF_IF0;
    if ((r = check_reduction_overlap(t, call, label)) ||
        (n_acc && (r = dt__deps_check_inside(p, t, true)))) {
        dt__task_unref(t);
        return r == DT_EINVAL ? dt__error(r, call, label, "access outside the parent task's accesses") : r;
    }
    if (DT__UNLIKELY(dt__iter_recording)) return dt__taskiter_record(t);   /* kept, not started */
    if (leaves && !(dt__hooks.may_leave && dt__hooks.may_leave(t))) {
        dt__task_unref(t);
        return dt__error(DT_ERANGE, call, label,
                         "only tasks of a dt_main program whose accesses lie in dt_dmalloc/dt_lmalloc "
                         "memory (and are not concurrent, commutative or reductions) can run on rank %d",
                         attr->node);
    }
    if (DT__UNLIKELY(dt__hooks.task_new != NULL)) dt__hooks.task_new(t);
    start_child(p, t);
    if (t->flags & DT__TF_IF0) {
        dt__task_ref(t);
        dt__task_submit(t);
        dt__sched_wait(task_done, t, t);
        dt__task_unref(t);
    } else {
        bool ext = DT__UNLIKELY(t->ext != NULL);
        if (ext) dt__task_ref(t);           /* it may complete before we look at it */
        dt__task_submit(t);
        if (ext) {
            dt__hooks.submitted(t);
            dt__task_unref(t);
        }
        dt__sched_throttle();
    }
    return DT_OK;
}

static int taskwait(bool bring_back)
{
    int r = dt__check_running("dt_taskwait");
    if (r) return r;
    if (DT__UNLIKELY(dt__iter_recording)) return dt__taskiter_refuse("dt_taskwait");   /* taskiter hook */
    dt__task *t = dt__current();
    if (t->dom) dt__deps_close_reductions(t);
    if (!dt__task_children_done(t)) {
        atomic_store(&t->waiting, 1);
        dt__sched_wait(children_done, t, t);
        atomic_store(&t->waiting, 0);
    }
    /* every child has completed: their fragments say nothing any more */
    if (t->dom) dt__deps_domain_clear(t->dom);
    if (bring_back && t == &dt__root && dt__hooks.waited) dt__hooks.waited(NULL, 0);
    if (t == &dt__root) dt__sched_lend_idle();
    return DT_OK;
}

DT__EXPORT int dt_taskwait(void) { return taskwait(true); }

int dt__taskwait_in_place(void) { return taskwait(false); }

static bool marker_ready(void *arg) { return atomic_load(&((dt__task *)arg)->pending) == 0; }

DT__EXPORT int dt_taskwait_on(const dt_access_t *acc, size_t n_acc)
{
    static const char call[] = "dt_taskwait_on";
    int r = dt__check_running(call);
    if (r) return r;
    if (DT__UNLIKELY(dt__iter_recording)) return dt__taskiter_refuse(call);   /* taskiter hook */
    dt__task *p = dt__current();
    if (!acc && n_acc) return dt__error(DT_EFAULT, call, p->label, "NULL access list with count %zu", n_acc);
    if (n_acc > UINT32_MAX) return dt__error(DT_EINVAL, call, p->label, "too many accesses");
    size_t pieces;
    if ((r = check_accesses(acc, n_acc, call, p->label, &pieces))) return r;
    if (!n_acc) return DT_OK;
    if ((r = reserve_pieces(pieces, call, p->label))) return r;
    /* A marker child that waits like an inout on the regions and has no body. */
    dt__task *m = dt__task_try_alloc((uint32_t)n_acc, 0);
    if (!m) return dt__error(DT_ENOMEM, call, p->label, "a marker of %zu accesses", n_acc);
    for (size_t i = 0; i < n_acc; i++) {
        fill_access(&m->acc[i], &acc[i]);
        m->acc[i].mode = DT_INOUT;
        m->acc[i].kind = DT__K_EXCL;
        m->acc[i].weak = false;
    }
    m->flags = DT__TF_WAITON;
    m->type = -1;
    m->label = "taskwait_on";
    if ((r = dt__deps_check_inside(p, m, false))) {
        dt__task_unref(m);
        return dt__error(r, call, p->label, "region outside the current task's accesses");
    }
    start_child(p, m);
    dt__task_ref(m);
    dt__task_submit(m);
    dt__sched_wait(marker_ready, m, p);
    if (p == &dt__root && dt__hooks.waited) dt__hooks.waited(m->acc, m->nacc);
    dt__task_body_end(m);
    dt__task_unref(m);
    return DT_OK;
}

DT__EXPORT void *dt_reduction_ptr(void *addr)
{
    dt__task *t = dt__current();
    uintptr_t a = (uintptr_t)addr;
    for (uint32_t i = 0; i < t->nacc; i++) {
        dt__access *x = &t->acc[i];
        if (x->kind != DT__K_RED || !x->red || a < x->addr || a >= x->addr + x->size) continue;
        dt__redbuf *buf = x->red;
        int slot = dt__worker_id();
        if (slot < 0 || slot >= buf->nslots) slot = buf->nslots - 1;
        if (!buf->slot[slot]) {
            void *copy = malloc(buf->size);
            if (!copy) return NULL;
            dt__deps_red_identity(copy, buf->size, buf->op, buf->type);
            buf->slot[slot] = copy;
        }
        return (char *)buf->slot[slot] + (a - buf->addr);
    }
    return addr;
}

DT__EXPORT int dt_taskiter(dt_type_t body, const void *args, size_t args_size, long iterations)
{
    return dt__taskiter_run("dt_taskiter", body, args, args_size, iterations, iterations, NULL, NULL, NULL);
}

DT__EXPORT int dt_taskiter_while(dt_type_t body, const void *args, size_t args_size, long max_iterations,
                                long every, int (*cond)(void *), void *cond_arg, long *iterations_run)
{
    static const char call[] = "dt_taskiter_while";
    if (iterations_run) *iterations_run = 0;
    int r = dt__check_running(call);
    if (r) return r;
    if (!cond) return dt__error(DT_EFAULT, call, NULL, "NULL condition");
    if (every < 1) return dt__error(DT_EINVAL, call, NULL, "every = %ld (must be at least 1)", every);
    return dt__taskiter_run(call, body, args, args_size, max_iterations, every, cond, cond_arg, iterations_run);
}
