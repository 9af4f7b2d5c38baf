/* taskiter.h - dt_taskiter on one rank (taskiter.c): the body runs once to
 * record its top-level tasks, a pairwise analysis of their accesses builds a
 * cyclic graph once, and the graph is replayed with per-task counters only.
 *
 * The core calls in here at a few marked places ("taskiter hook"): the
 * recording thread's dt_task_create / dt_taskwait / dt_taskwait_on, and the
 * end of a replayed task (a task with t->iter set). */
#ifndef DT__TASKITER_H
#define DT__TASKITER_H

#include "core/task.h"

struct dt__iter_rec;
/* Non-NULL while this thread runs a taskiter body to record it. */
extern DT__TLS struct dt__iter_rec *dt__iter_recording;

/* dt_task_create while recording: t is built and checked but not started;
 * the recording keeps it (DT_OK) or refuses it (an undeferred task). */
int dt__taskiter_record(dt__task *t);
/* A call that a body may not make while it is recorded: DT_ETASKITER,
 * reported, and remembered so that dt_taskiter fails too. */
int dt__taskiter_refuse(const char *call);
/* A replayed task completed (body returned, children done).  The caller
 * holds one reference, which this consumes. */
void dt__taskiter_completed(dt__task *t);

/* dt_taskiter (cond NULL, every == max_iterations) and dt_taskiter_while. */
int dt__taskiter_run(const char *call, dt_type_t body, const void *args, size_t args_size,
                     long max_iterations, long every, int (*cond)(void *), void *cond_arg,
                     long *iterations_run);

/* ---- the distributed taskiter (dist.c) ----------------------------------- */
/* Runs the body once on this thread to record its tasks: *out (malloc'ed,
 * the caller's) gets them in creation order. */
int dt__iter_record(const char *call, dt_type_t body, const void *args, size_t args_size, dt__task ***out,
                    uint32_t *n);
/* Builds the cyclic graph of t[0..n) (taking the array and the tasks over)
 * and replays it in rounds of `every` iterations, at most max; after each
 * round, next(ctx, iterations done) says whether to go on. */
int dt__iter_replay(dt__task **t, uint32_t n, long max, long every, bool (*next)(void *, long), void *ctx);
/* The body run every iteration (copy: args_size bytes of room), the caller
 * waiting for its children at the end of every round. */
int dt__iter_plain_loop(dt_type_t body, const void *args, size_t args_size, long max, long every,
                        int (*cond)(void *), void *cond_arg, long *run, void *copy);
/* The root's dt_taskiter in a dt_main job of several ranks. */
int dt__iter_dist_run(const char *call, dt_type_t body, const void *args, size_t args_size, long max,
                      long every, int (*cond)(void *), void *cond_arg, long *run);
/* A transfer (a recorded task without a body) of iteration i of a round of
 * niter is due: it posts its MPI operation and completes when that does. */
void dt__iter_dist_launch(dt__task *t, long i, long niter);
/* hooks.iter_serve: a rank other than 0 takes part in rank 0's taskiter. */
void dt__iter_dist_serve(void *args);

#endif
