/*
 * tb.h - Task-Bench-style task graphs, kernels and the common driver harness.
 *
 * One task graph is a width x steps grid: task (t, p) runs at step t on point
 * (column) p and depends on the outputs of a pattern-defined set of points at
 * step t-1 (the definitions of Task Bench, Slaughter et al., SC'20).  Every
 * driver (libdtask, libgomp, StarPU, MPI, StarPU-MPI) runs the same graphs
 * through tb_execute*(), which checks that each input is exactly the output of
 * the right task, runs the kernel, writes the task's output record and adds
 * its value to a per-thread checksum.  tb_main() is the common main program:
 * option parsing, the K sweep, timing, checks and the result lines.
 */
#ifndef TB_H
#define TB_H

#include <stddef.h>
#include <stdint.h>

enum { TB_TRIVIAL, TB_NO_COMM, TB_STENCIL_1D, TB_NEAREST, TB_SPREAD, TB_FFT, TB_TREE,
       TB_ALL_TO_ALL, TB_NPATTERNS };
enum { TB_EMPTY, TB_COMPUTE, TB_MEMORY, TB_IMBALANCE, TB_NKERNELS };

#define TB_MAX_WIDTH 256    /* also the most dependencies a task can have */

/* One task's output: who wrote it and a value that folds in every input's
   value and the kernel's result, so the checksum covers the whole dataflow. */
typedef struct tb_rec {
    int32_t  step, point;
    uint64_t value;
} tb_rec;

typedef struct tb_graph {
    int  pattern, kernel;
    long width, steps;
    long radix, period;    /* nearest, spread */
    long iters;            /* K: kernel iterations (64-byte lines for memory_bound) */
    long depth;            /* output slots per point: 2 (step parity), steps for trivial */
    int  nsets;            /* fft: ceil(log2(width)) dependence sets */
    int  corrupt;          /* self-test only: feed task (2, 0) a wrong input */
} tb_graph;

/* Points that exist at step t (tree grows 1, 2, 4, ... up to width). */
long tb_width_at(const tb_graph *g, long t);
/* Dependencies of (t, p): points at step t-1, ascending, no duplicates. */
int  tb_deps(const tb_graph *g, long t, long p, long *deps);
/* Index of (t, p)'s output record in a depth x width array. */
static inline long tb_slot(const tb_graph *g, long t, long p)
{
    return (t % g->depth) * g->width + p;
}

/* Run task (t, p) given its inputs in tb_deps order; aborts the process with a
   message if an input is not the output of the expected task. */
void tb_execute(const tb_graph *g, long t, long p, const tb_rec *const *in, int n_in,
                tb_rec *out);
/* Same, for drivers that keep all records in one depth x width array. */
void tb_execute_at(const tb_graph *g, long t, long p, tb_rec *base);

long   tb_num_tasks(const tb_graph *g);
double tb_work(const tb_graph *g);   /* kernel units summed over all tasks */
void   tb_records_clear(tb_rec *base, size_t n);   /* labels no task writes */

/* Per-thread checksum and task count (padded slots claimed on first use). */
void tb_counters_reset(void);
void tb_counters_collect(uint64_t sum_tasks[2]);

/* A runtime under test.  prepare/release run outside the timed region, once per
   timed run; run executes the whole graph and returns when every task of this
   process has completed.  barrier and allreduce are NULL for one process. */
typedef struct tb_system {
    const char *name;
    int   (*init)(int *argc, char ***argv);     /* 0 or an error already printed */
    void  (*fini)(void);
    int   (*rank)(void);
    int   (*nranks)(void);
    int   (*workers)(void);                     /* task-running threads per rank */
    void *(*prepare)(const tb_graph *g);
    void  (*run)(const tb_graph *g, void *state);
    void  (*release)(const tb_graph *g, void *state);
    void  (*barrier)(void);
    void  (*allreduce)(uint64_t v[2]);          /* sum over ranks, in place */
    /* the checksum and task count of every process, before release (NULL:
       this process's counters, then allreduce); for drivers whose other
       ranks run tasks but not tb_main (dt_main) */
    void  (*collect)(void *state, uint64_t sum_tasks[2]);
} tb_system;

int tb_main(int argc, char **argv, const tb_system *sys);

/* Calibration and self-test entry points (tb-calib). */
double tb_calibrate(int kernel, long iters, int reps);
int    tb_selftest(void);

#endif
