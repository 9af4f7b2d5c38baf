/* trace.c - DT_TRACE: one line per task run (worker, type, label, start and
 * end in ns since dt_init), kept per thread and written at dt_finalize. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "base/env.h"
#include "core/runtime.h"
#include "instr/trace.h"
#include "sched/sched.h"

static char *trace_path;

/* DT_TRACE, once the rank is known: with several ranks each writes PATH.RANK. */
int dt__trace_open(void)
{
    const char *tp = getenv("DT_TRACE");
    if (!tp) return DT_OK;
    trace_path = malloc(strlen(tp) + 16);
    if (!trace_path) return DT_ENOMEM;
    if (dt__rt.nranks > 1) sprintf(trace_path, "%s.%d", tp, dt__rt.rank);
    else strcpy(trace_path, tp);
    FILE *f = *tp ? fopen(trace_path, "w") : NULL;
    if (!f) return dt__env_bad("DT_TRACE", tp, "a writable file path");
    fclose(f);
    dt__rt.trace = true;
    return DT_OK;
}

void dt__trace_close(void)
{
    free(trace_path);
    trace_path = NULL;
    dt__rt.trace = false;
}

typedef struct trace_rec { uint64_t start, end; const char *label; int type, worker; } trace_rec;
static _Thread_local trace_rec *tr_buf;
static _Thread_local size_t tr_n, tr_cap;
static pthread_mutex_t trace_lock = PTHREAD_MUTEX_INITIALIZER;
static trace_rec *tr_all;
static size_t tr_all_n;

void dt__trace_record(const dt__task *t)
{
    if (tr_n == tr_cap) {
        tr_cap = tr_cap ? tr_cap * 2 : 1024;
        tr_buf = realloc(tr_buf, tr_cap * sizeof *tr_buf);
        if (!tr_buf) dt__fatal("out of memory for the trace");
    }
    tr_buf[tr_n++] = (trace_rec){ t->t_start, t->t_end, t->label, t->type, dt__worker_id() };
}

void dt__trace_flush(void)
{
    if (!tr_n) return;
    pthread_mutex_lock(&trace_lock);
    trace_rec *all = realloc(tr_all, (tr_all_n + tr_n) * sizeof *all);
    if (!all) dt__fatal("out of memory for the trace");
    memcpy(all + tr_all_n, tr_buf, tr_n * sizeof *all);
    tr_all = all;
    tr_all_n += tr_n;
    pthread_mutex_unlock(&trace_lock);
    free(tr_buf);
    tr_buf = NULL;
    tr_n = tr_cap = 0;
}

void dt__trace_write(void)
{
    if (!dt__rt.trace) return;
    FILE *f = fopen(trace_path, "w");
    if (!f) {
        dt__error(DT_ESYS, "dt_finalize", NULL, "cannot write DT_TRACE=%s", trace_path);
    } else {
        fprintf(f, "worker,type,label,start_ns,end_ns\n");
        for (size_t i = 0; i < tr_all_n; i++) {
            const trace_rec *r = &tr_all[i];
            const char *type = r->type >= 0 ? dt__types[r->type].name : "internal";
            fprintf(f, "%d,%s,%s,%llu,%llu\n", r->worker, type, r->label ? r->label : "",
                    (unsigned long long)(r->start - dt__rt.t0), (unsigned long long)(r->end - dt__rt.t0));
        }
        fclose(f);
    }
    free(tr_all);
    tr_all = NULL;
    tr_all_n = 0;
    dt__trace_close();
}
