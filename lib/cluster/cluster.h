/* cluster.h - MPI: peer-to-peer offload of tasks over the common address
 * space, the data directory (rank 0) and the per-rank version caches, and
 * the progress of MPI (a progress thread, and workers between tasks).
 *
 * With one rank nothing here is active and every hook is a cheap test. */
#ifndef DT_CLUSTER_H
#define DT_CLUSTER_H

#include "core/task.h"

/* Initialises MPI (if the program did not) and learns rank, size and the
 * ranks sharing this node.  DT_OK or DT_ESYS. */
int dt__cluster_init(int *argc, char ***argv, int *local_rank, int *local_size);
/* After MPI_Init: DT_ECONFIG, with a message, if MPICH sees nranks == 1
 * while another MPI's launcher started a job of several (launcher.c). */
int dt__cluster_check_launcher(int nranks);
/* DT_SCHEDULE, in the order of runtime.c's names. */
enum { DT__SCHED_LOCALITY, DT__SCHED_BALANCE, DT__SCHED_ROUND_ROBIN, DT__SCHED_LOCAL };
/* Reads the cluster settings of dt__rt, before the workers start. */
void dt__cluster_configure(void);
/* Learns the other ranks' worker counts, opens the doorbells and starts
 * the progress thread (after the workers). */
int dt__cluster_start(void);
/* Workers drive MPI at the end of each task and while they wait for work.
 * True when it did something (a message came or left, a transfer ended). */
bool dt__cluster_poll(void);
void dt__cluster_task_end(void);
/* dt_finalize: rank 0 tells everybody to stop; the others wait for that. */
void dt__cluster_finalize(void);

/* After the trace is written: the labels of offloaded tasks can go. */
void dt__cluster_free_labels(void);
/* Collective helpers for agreeing on the common address space. */
uint64_t dt__cluster_bcast_u64(uint64_t v);
bool dt__cluster_all(bool ok);

/* True when t was taken over (placed on a rank, data on its way). */
bool dt__cluster_intercept(dt__task *t);
/* Namespace, rank 0: succ (being registered) waits for pred's release. */
void dt__cluster_edge(const dt__task *pred, dt__task *succ);
/* Namespace, rank 0: t is registered and not ready, and every predecessor
 * it waits for was placed on one rank: place it there now if the policy
 * picks that rank too, so that it waits there, not here. */
void dt__cluster_place_early(dt__task *t);
/* An access of a placed task is released: record where its data now lives. */
void dt__cluster_released(dt__access *a);
/* Rank 0 ran a task it placed on itself: one task less in flight here
 * (before its accesses are released, so that its successors see it)... */
void dt__cluster_ran_here(dt__task *t);
/* ...and, once they are, room for a waiting task (balance). */
void dt__cluster_slot_freed(void);
/* An offloaded task completed here: tell its creator. */
void dt__cluster_remote_complete(dt__task *t);
/* Rank 0's root task waits: bring back the data of `acc` (all if NULL). */
void dt__cluster_bring_back(const dt__access *acc, size_t n);
/* dt_dfree on rank 0: whatever is allocated there next starts afresh. */
void dt__cluster_forget(uintptr_t addr, size_t size);
/* May a task with these accesses run on another rank? */
bool dt__cluster_offloadable(const dt__task *t);

/* Tests only: sends raw bytes to peer as a control message. */
void dt__cluster_send_raw(int peer, const void *buf, size_t len);

extern bool dt__cluster_active;

#endif
