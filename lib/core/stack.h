/* stack.h - task bodies on a fresh stack when the thread's own runs out
 * (stack.c).
 *
 * A task that waits (dt_taskwait, an undeferred child) runs other tasks on
 * its own thread's stack, under its frame: a chain of tasks that each wait
 * for their child nests one frame group per level, about 0.5 KB, and a
 * depth of 10^5 overflowed the 8 MiB of a thread.  Once less than
 * DT__STACK_MARGIN (or half a smaller stack) is left, the next body runs on a segment of its own
 * (mapped, lazily touched, reused by the thread), so nesting is bounded by
 * memory only. */
#ifndef DT__STACK_H
#define DT__STACK_H

#include <stdint.h>
#include "base/util.h"

/* what a body nested at the limit may still use, at least */
#define DT__STACK_MARGIN ((uintptr_t)1 << 20)
/* the size of each extra segment (address space, touched as used) */
#define DT__STACK_SEGMENT ((size_t)64 << 20)

/* The lowest frame address at which a body still runs on the current stack;
 * UINTPTR_MAX until the thread's first body, which looks its stack up. */
extern DT__TLS uintptr_t dt__stack_limit;

void dt__stack_call_slow(void (*fn)(void *), void *arg);

/* fn(arg), on a fresh stack segment if the current one is nearly used up */
static inline void dt__stack_call(void (*fn)(void *), void *arg)
{
    if (DT__LIKELY((uintptr_t)__builtin_frame_address(0) > dt__stack_limit)) fn(arg);
    else dt__stack_call_slow(fn, arg);
}

/* A thread leaves: unmap the segment it keeps for reuse. */
void dt__stack_thread_exit(void);

#endif
