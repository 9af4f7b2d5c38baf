/* stack.c - running a task body on a stack segment of its own once the
 * thread's stack is nearly used up (see stack.h).  The switch is a
 * swapcontext to a mapped segment and back when the body returns; the
 * thread keeps one segment for the next time, so a wait that runs many
 * children at the limit maps only once.  Under ASan and TSan the switches
 * are announced to the sanitizer, which would otherwise take the new stack
 * for a wild one. */
#include <pthread.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>
#include "core/runtime.h"
#include "core/stack.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

DT__TLS uintptr_t dt__stack_limit = UINTPTR_MAX;

typedef struct segment { char *base; size_t size; } segment;

typedef struct call {
    void (*fn)(void *);
    void *arg;
    ucontext_t back, here;
    segment seg;
#if defined(__SANITIZE_ADDRESS__)
    void *asan_fake;
    const void *caller_bottom;
    size_t caller_size;
#endif
#if defined(__SANITIZE_THREAD__)
    void *tsan_caller, *tsan_fiber;
#endif
} call;

static DT__TLS segment spare;       /* the segment of the last call, for the next */
static DT__TLS call *tls_call;      /* makecontext passes only ints: the call goes here */

/* Switch once less than the margin is left (half the stack, for a small
 * one: a body may need as much room as a thread's stack gives). */
static uintptr_t limit_of(uintptr_t lowest, size_t size)
{
    return lowest + (size / 2 < DT__STACK_MARGIN ? size / 2 : DT__STACK_MARGIN);
}

/* The thread's own stack, from glibc (for the main thread, from the stack
 * rlimit); 0 if it cannot say, and then no body ever switches. */
static uintptr_t own_limit(void)
{
    pthread_attr_t a;
    void *addr;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &a)) return 0;
    int r = pthread_attr_getstack(&a, &addr, &size);
    pthread_attr_destroy(&a);
    return r ? 0 : limit_of((uintptr_t)addr, size);
}

static void trampoline(void)
{
    call *c = tls_call;
#if defined(__SANITIZE_ADDRESS__)
    __sanitizer_finish_switch_fiber(NULL, &c->caller_bottom, &c->caller_size);
#endif
    c->fn(c->arg);
#if defined(__SANITIZE_ADDRESS__)
    __sanitizer_start_switch_fiber(NULL, c->caller_bottom, c->caller_size);
#endif
#if defined(__SANITIZE_THREAD__)
    __tsan_switch_to_fiber(c->tsan_caller, 0);
#endif
    /* returning ends the context and resumes uc_link: c->back */
}

static int segment_get(segment *s)
{
    if (spare.base) {
        *s = spare;
        spare.base = NULL;
        return 0;
    }
    long page = sysconf(_SC_PAGESIZE);
    void *p = mmap(NULL, DT__STACK_SEGMENT, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (p == MAP_FAILED) return -1;
    /* a guard page: an overflow of the segment faults instead of writing
       below it */
    if (mprotect(p, (size_t)page, PROT_NONE)) {
        munmap(p, DT__STACK_SEGMENT);
        return -1;
    }
    s->base = p;
    s->size = DT__STACK_SEGMENT;
    return 0;
}

static void segment_put(segment *s)
{
    if (!spare.base) {
        /* keep the address space, give the touched pages back */
        madvise(s->base, s->size, MADV_DONTNEED);
        spare = *s;
    } else {
        munmap(s->base, s->size);
    }
}

void dt__stack_call_slow(void (*fn)(void *), void *arg)
{
    if (dt__stack_limit == UINTPTR_MAX) {
        dt__stack_limit = own_limit();
        if ((uintptr_t)__builtin_frame_address(0) > dt__stack_limit) {
            fn(arg);
            return;
        }
    }
    call c = { .fn = fn, .arg = arg };
    if (segment_get(&c.seg)) dt__fatal("no memory for the stack of a task nested this deep");
    long page = sysconf(_SC_PAGESIZE);
    if (getcontext(&c.here)) dt__fatal("getcontext failed");
    c.here.uc_stack.ss_sp = c.seg.base + page;
    c.here.uc_stack.ss_size = c.seg.size - (size_t)page;
    c.here.uc_link = &c.back;
    makecontext(&c.here, trampoline, 0);
    uintptr_t saved = dt__stack_limit;
    dt__stack_limit = limit_of((uintptr_t)c.seg.base + (uintptr_t)page, c.seg.size - (size_t)page);
    tls_call = &c;
#if defined(__SANITIZE_THREAD__)
    c.tsan_caller = __tsan_get_current_fiber();
    c.tsan_fiber = __tsan_create_fiber(0);
    __tsan_switch_to_fiber(c.tsan_fiber, 0);
#endif
#if defined(__SANITIZE_ADDRESS__)
    __sanitizer_start_switch_fiber(&c.asan_fake, c.here.uc_stack.ss_sp, c.here.uc_stack.ss_size);
#endif
    if (swapcontext(&c.back, &c.here)) dt__fatal("swapcontext failed");
#if defined(__SANITIZE_ADDRESS__)
    __sanitizer_finish_switch_fiber(c.asan_fake, NULL, NULL);
#endif
#if defined(__SANITIZE_THREAD__)
    __tsan_destroy_fiber(c.tsan_fiber);
#endif
    dt__stack_limit = saved;
    segment_put(&c.seg);
}

void dt__stack_thread_exit(void)
{
    if (spare.base) munmap(spare.base, spare.size);
    spare.base = NULL;
}
