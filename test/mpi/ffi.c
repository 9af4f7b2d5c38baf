/* ffi.c - task types from C signatures across ranks (run under mpiexec -n
 * 2..4): every rank registers the same types (one by function pointer, one
 * by symbol), rank 0 sends tasks to the other ranks under dt_main, and their
 * pointer arguments into dt_dmalloc memory work there as they are. */
#include <stdio.h>
#include <string.h>
#include "dtask.h"

#include "check.h"

enum { N = 512, NB = 8 };

static dt_type_t T_axpy, T_memset;

/* y = a*y + x, and where the task ran */
static void axpby_where(long n, double a, const double *x, double *y, int *where)
{
    for (long i = 0; i < n; i++) y[i] = a * y[i] + x[i];
    *where = dt_rank();
}

static int app(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int nranks = dt_num_ranks();
    if (nranks < 2) {
        CHECK(0, "run with 2 or more ranks");
        return 1;
    }
    double *x = dt_dmalloc(sizeof(double) * N * NB), *y = dt_dmalloc(sizeof(double) * N * NB);
    int *where = dt_dmalloc(sizeof(int) * NB * 3);
    char *bytes = dt_dmalloc(NB * 64);
    CHECK(x && y && where && bytes, "dt_dmalloc");
    if (!x || !y || !where || !bytes) return 1;
    for (int i = 0; i < N * NB; i++) { x[i] = i % 13; y[i] = 1; }
    for (int i = 0; i < NB * 3; i++) where[i] = -1;
    double want[N * NB];
    for (int i = 0; i < N * NB; i++) want[i] = 1;
    for (int it = 0; it < 3; it++) {
        for (int b = 0; b < NB; b++) {
            struct { long n; double a; const double *x; double *y; int *w; } a =
                { N, it + 2, x + b * N, y + b * N, where + it * NB + b };
            dt_access_t acc[3] = { { DT_IN, x + b * N, sizeof(double) * N, 0, 0 },
                                   { DT_INOUT, y + b * N, sizeof(double) * N, 0, 0 },
                                   { DT_OUT, a.w, sizeof(int), 0, 0 } };
            /* every block on a rank other than 0, a different one each time */
            dt_task_attr_t at = { 0, 1 + (b + it) % (nranks - 1), "axpby", 0 };
            CHECK(dt_task_create(T_axpy, &a, sizeof a, acc, 3, &at) == DT_OK, "create axpby");
            for (int i = 0; i < N; i++) want[b * N + i] = (it + 2) * want[b * N + i] + x[b * N + i];
        }
    }
    for (int b = 0; b < NB; b++) {
        struct { char *p; int c; size_t n; } m = { bytes + b * 64, 'a' + b, 64 };
        dt_access_t acc = { DT_OUT, m.p, 64, 0, 0 };
        dt_task_attr_t at = { 0, 1 + b % (nranks - 1), "memset", 0 };
        CHECK(dt_task_create(T_memset, &m, sizeof m, &acc, 1, &at) == DT_OK, "create memset");
    }
    /* a wrong args size is refused here, before it travels */
    struct { long n; } shorter = { 1 };
    CHECK(dt_task_create(T_axpy, &shorter, sizeof shorter, NULL, 0, NULL) == DT_ESIGNATURE, "short args");
    CHECK(dt_taskwait() == DT_OK, "taskwait");
    for (int i = 0; i < N * NB; i++)
        if (y[i] != want[i]) { CHECK(0, "y[%d] = %g, want %g", i, y[i], want[i]); break; }
    for (int it = 0; it < 3; it++)
        for (int b = 0; b < NB; b++)
            CHECK(where[it * NB + b] == 1 + (b + it) % (nranks - 1), "axpby %d/%d ran on rank %d", it, b,
                  where[it * NB + b]);
    for (int i = 0; i < NB * 64; i++)
        if (bytes[i] != 'a' + i / 64) { CHECK(0, "bytes[%d] = %d", i, bytes[i]); break; }
    dt_dfree(x);
    dt_dfree(y);
    dt_dfree(where);
    dt_dfree(bytes);
    if (!failures) printf("ffi: %d ranks ok\n", nranks);
    return failures != 0;
}

int main(int argc, char **argv)
{
    const dt_ffi_type_t sig[] = { DT_FFI_LONG, DT_FFI_DOUBLE, DT_FFI_PTR, DT_FFI_PTR, DT_FFI_PTR };
    const dt_ffi_type_t msig[] = { DT_FFI_PTR, DT_FFI_INT, DT_FFI_SIZE };
    if (dt_type_register_ffi("axpby_where", (void (*)(void))axpby_where, DT_FFI_VOID, sig, 5, &T_axpy) ||
        dt_type_register_symbol("memset", "memset", DT_FFI_PTR, msig, 3, &T_memset)) {
        fprintf(stderr, "ffi: registration failed\n");
        return 1;
    }
    int rc = dt_main(argc, argv, app);
    if (rc < 0) fprintf(stderr, "ffi: dt_main: %s\n", dt_strerror(rc));
    return rc != 0;
}
