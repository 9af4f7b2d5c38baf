/* pool.h - size-class block pools for the runtime's short-lived objects
 * (task records with their accesses and arguments, dependency-list arrays).
 *
 * Blocks are usually allocated by one thread (the creator) and freed by
 * another (whoever releases or completes), so a plain per-thread cache would
 * fill on one side and stay empty on the other.  Each thread keeps a list to
 * allocate from and a spill list of freed blocks; full spill lists travel as
 * whole batches through one central stack per class.  New blocks come from
 * 2 MiB slabs on huge pages; idle blocks stay in the pools for the life of the
 * process (no trimming and re-faulting while a program runs at a steady size,
 * nor across dt_finalize and dt_init). */
#ifndef DT__POOL_H
#define DT__POOL_H

#include <stddef.h>

#define DT__POOL_MIN_SHIFT 5                    /* smallest class: 32 bytes */
#define DT__POOL_MAX_SHIFT 13                   /* largest class: 8 KiB */
#define DT__POOL_MAX ((size_t)1 << DT__POOL_MAX_SHIFT)

/* A block of at least size bytes (16-byte aligned), or NULL when out of
 * memory.  Sizes above DT__POOL_MAX come from malloc. */
void *dt__pool_alloc(size_t size);
/* Gives back a block; size is the one it was allocated with. */
void dt__pool_free(void *p, size_t size);
/* A thread leaves: its lists go to the central stacks. */
void dt__pool_thread_exit(void);

#endif
