/* util.h - small internal helpers shared by every module: spinlocks, growable
 * pointer vectors, futex waits, clocks.  Header-only, all static inline. */
#ifndef DT__UTIL_H
#define DT__UTIL_H

#include <limits.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "base/pool.h"

#define DT__LIKELY(x)   __builtin_expect(!!(x), 1)
#define DT__UNLIKELY(x) __builtin_expect(!!(x), 0)
#define DT__CACHELINE 64
/* Hot thread-locals: the initial-exec model is a plain %fs-relative access
 * instead of a call; libdtask is linked, not dlopen'ed, in the normal case,
 * and its thread-local data is small enough for glibc's static TLS reserve. */
#define DT__TLS _Thread_local __attribute__((tls_model("initial-exec")))

/* Array v of *cap elements of elem bytes, with room for element n: grown
 * (doubled, 16 at first) when full.  NULL when out of memory (v is still
 * valid and *cap unchanged then). */
static inline void *dt__grow(void *v, size_t n, size_t *cap, size_t elem)
{
    if (n < *cap) return v;
    size_t c = *cap ? 2 * *cap : 16;
    void *p = realloc(v, c * elem);
    if (p) *cap = c;
    return p;
}

static inline void dt__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* A spinlock for critical sections of a few dozen instructions.  It yields
 * after a while: with more threads than cores the holder may be preempted. */
typedef atomic_int dt__spin_t;
static inline void dt__spin_lock(dt__spin_t *l)
{
    unsigned spins = 0;
    while (atomic_exchange_explicit(l, 1, memory_order_acquire)) {
        while (atomic_load_explicit(l, memory_order_relaxed)) {
            if (++spins < 128) dt__cpu_relax();
            else { sched_yield(); spins = 0; }
        }
    }
}
static inline void dt__spin_unlock(dt__spin_t *l)
{
    atomic_store_explicit(l, 0, memory_order_release);
}

/* Growable vector of pointers with two inline slots: most dependency lists
 * hold one or two entries.  Longer arrays come from the size-class pools:
 * they are filled by a task's creator and freed by whoever releases it. */
typedef struct dt__vec {
    void **v;
    uint32_t n, cap;
    void *inl[2];
} dt__vec;
static inline void dt__vec_init(dt__vec *a) { a->v = a->inl; a->n = 0; a->cap = 2; }
static inline bool dt__vec_push(dt__vec *a, void *p)
{
    if (DT__UNLIKELY(a->n == a->cap)) {
        uint32_t cap = a->cap * 2;
        void **nv = dt__pool_alloc(sizeof(void *) * cap);
        if (!nv) return false;
        for (uint32_t i = 0; i < a->n; i++) nv[i] = a->v[i];
        if (a->v != a->inl) dt__pool_free(a->v, sizeof(void *) * a->cap);
        a->v = nv; a->cap = cap;
    }
    a->v[a->n++] = p;
    return true;
}
static inline void dt__vec_free(dt__vec *a)
{
    if (a->v != a->inl) dt__pool_free(a->v, sizeof(void *) * a->cap);
    dt__vec_init(a);
}
/* Moves the contents of src into dst (dst must be empty) leaving src empty. */
static inline void dt__vec_take(dt__vec *dst, dt__vec *src)
{
    if (src->v == src->inl) {
        dt__vec_init(dst);
        for (uint32_t i = 0; i < src->n; i++) dst->inl[i] = src->inl[i];
        dst->n = src->n;
    } else {
        *dst = *src;
    }
    dt__vec_init(src);
}

/* op: FUTEX_WAIT_PRIVATE, or FUTEX_WAIT for a word other processes may map
   (a private wake reaches only waiters of the same process: waiter and
   waker must use the same kind). */
static inline void dt__futex_wait_op(atomic_int *addr, int val, long timeout_ns, int op)
{
    struct timespec ts = { timeout_ns / 1000000000L, timeout_ns % 1000000000L };
    syscall(SYS_futex, addr, op, val, timeout_ns > 0 ? &ts : NULL, NULL, 0);
}
static inline void dt__futex_wait(atomic_int *addr, int val, long timeout_ns)
{
    dt__futex_wait_op(addr, val, timeout_ns, FUTEX_WAIT_PRIVATE);
}
static inline void dt__futex_wake(atomic_int *addr, int n)
{
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}
static inline void dt__futex_wait_shared(atomic_int *addr, int val, long timeout_ns)
{
    dt__futex_wait_op(addr, val, timeout_ns, FUTEX_WAIT);
}
static inline void dt__futex_wake_shared(atomic_int *addr, int n)
{
    syscall(SYS_futex, addr, FUTEX_WAKE, n, NULL, NULL, 0);
}

static inline uint64_t dt__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
