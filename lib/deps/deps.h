/* deps.h - dependency domains: registering a task's accesses among its
 * siblings on the fragment map of their parent, reductions' combiners, and
 * the "child inside parent" rule.  Everything here runs on the thread that
 * executes the parent's body (one writer per domain, no domain lock). */
#ifndef DT__DEPS_H
#define DT__DEPS_H

#include "core/task.h"

/* Checks that every access of child lies inside parent's accesses (writes inside
 * writable ones unless check_writes is false) and records which parent accesses
 * the child holds.  DT_OK or DT_EINVAL. */
int dt__deps_check_inside(dt__task *parent, dt__task *child, bool check_writes);
/* Registering accesses of `pieces` rows in all cannot be undone halfway:
 * before it, take the fragments it will need (DT_ENOMEM if memory is out, or
 * if physical memory could not hold them: refused before allocating). */
extern DT__TLS unsigned dt__frag_cache_n;   /* fragments kept by this thread */
int dt__deps_reserve_slow(size_t pieces);
static inline int dt__deps_reserve(size_t pieces)
{
    /* a piece may split a fragment in three: 2 new ones each, at most */
    if (DT__LIKELY(pieces < dt__frag_cache_n / 2)) return DT_OK;
    return dt__deps_reserve_slow(pieces);
}
/* Links child's accesses to its earlier siblings' (child->parent's domain). */
void dt__deps_register(dt__task *child);
/* Creates the combiners of every reduction still open in t's domain. */
void dt__deps_close_reductions(dt__task *t);
/* All children have completed: forget the domain's state (keeps the struct). */
void dt__deps_domain_clear(dt__domain *d);
void dt__deps_domain_free(dt__domain *d);
/* Hands the private copies of a reduction back to memory (combiner body). */
void dt__deps_combine(void *args);
/* Folds every private copy into memory, atomically, and keeps the copies. */
void dt__deps_red_fold(const dt__redbuf *buf);
/* Fills a private copy with the identity of op (DT_RED_*) for type. */
void dt__deps_red_identity(void *p, size_t size, unsigned op, unsigned type);
/* A thread that registered tasks leaves: free its caches. */
void dt__deps_thread_exit(void);

#endif
