/*
 * dtask.h - the whole public API of libdtask, a distributed task library for C.
 *
 * A program registers task types, creates tasks with a list of access
 * descriptors over byte ranges (or 2-D regions), and the library runs them in
 * parallel while honouring the order that sequential execution would give.
 * See dtask(7) for the model and one man page per call in section 3.
 *
 * Every call that can fail returns DT_OK (0) or a negative DT_E* code that
 * dt_strerror() names.
 */
#ifndef DTASK_H
#define DTASK_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DT_VERSION_MAJOR 0
#define DT_VERSION_MINOR 1
#define DT_VERSION_PATCH 0

/* ---- error codes --------------------------------------------------------- */
enum {
    DT_OK          =   0,
    DT_EINVAL      =  -1,  /* invalid argument (NULL name/function/out pointer,
                              bad row layout, child access outside the parent's) */
    DT_ENOMEM      =  -2,  /* out of memory */
    DT_ENOTINIT    =  -3,  /* called before dt_init() */
    DT_EFINALIZED  =  -4,  /* called after dt_finalize() */
    DT_ETYPE       =  -5,  /* task type not registered (or negative) */
    DT_EMODE       =  -6,  /* unknown access mode bits */
    DT_EFAULT      =  -7,  /* NULL pointer given with a non-zero size or count */
    DT_EOVERFLOW   =  -8,  /* region wraps around the end of the address space */
    DT_ERANGE      =  -9,  /* memory outside the common address space, or a
                              rank that does not exist */
    DT_EEXIST      = -10,  /* type name already registered with another function */
    DT_EALREADY    = -11,  /* dt_init() called twice */
    DT_ECONFIG     = -12,  /* bad value in a DT_* environment variable, or
                              started by another MPI's launcher */
    DT_ESYS        = -13,  /* the operating system, hwloc or MPI failed */
    DT_ELIMIT      = -14,  /* a fixed limit was reached (e.g. number of types) */
    DT_EREDUCTION  = -15,  /* bad reduction: unknown operation/type, size not a
                              multiple of the element, or a 2-D reduction */
    DT_ESIGNATURE  = -16,  /* bad signature (unknown or void argument type, too
                              many arguments), or args whose size is not the
                              one the type's signature lays out */
    DT_ESYMBOL     = -17,  /* symbol not found by dlsym */
    DT_ETASKITER   = -18   /* not allowed in a dt_taskiter body: dt_taskwait,
                              dt_taskwait_on, an undeferred task, a nested
                              dt_taskiter */
};

/* ---- lifecycle ----------------------------------------------------------- */
int  dt_init(int *argc, char ***argv);
int  dt_finalize(void);
int  dt_main(int argc, char **argv, int (*app)(int, char **));
int  dt_rank(void);
int  dt_num_ranks(void);
int  dt_num_workers(void);
/* The MPI communicator of the application ranks (all ranks but DT_HELPERS'
   helpers; rank 0 alone under dt_main): writes an MPI_Comm to *comm. */
int  dt_app_comm(void *comm);
const char *dt_strerror(int err);

/* ---- task types ---------------------------------------------------------- */
typedef int dt_type_t;
typedef void (*dt_task_fn)(void *args);
int  dt_type_register(const char *name, dt_task_fn fn, dt_type_t *out);

/* Task types from a plain C function and its signature, called through libffi
   (dt_type_register_ffi(3)).  A task's args hold the argument values laid out
   like a C struct of those types in order (natural alignment, see
   dt_ffi_layout); the return value, if any, is discarded. */
typedef int dt_ffi_type_t;
enum {
    DT_FFI_VOID,                 /* return type only */
    DT_FFI_I8, DT_FFI_I16, DT_FFI_I32, DT_FFI_I64,
    DT_FFI_U8, DT_FFI_U16, DT_FFI_U32, DT_FFI_U64,
    DT_FFI_INT, DT_FFI_UINT, DT_FFI_LONG, DT_FFI_ULONG, DT_FFI_SIZE,
    DT_FFI_FLOAT, DT_FFI_DOUBLE, DT_FFI_PTR
};
#define DT_FFI_MAX_ARGS 32
int  dt_type_register_ffi(const char *name, void (*fn)(void), dt_ffi_type_t ret,
                          const dt_ffi_type_t *argtypes, size_t nargs, dt_type_t *out);
int  dt_type_register_symbol(const char *name, const char *symbol, dt_ffi_type_t ret,
                             const dt_ffi_type_t *argtypes, size_t nargs, dt_type_t *out);
int  dt_ffi_layout(const dt_ffi_type_t *argtypes, size_t nargs, size_t *offsets, size_t *size);

/* ---- accesses ------------------------------------------------------------ */
enum {
    DT_IN          = 1,
    DT_OUT         = 2,
    DT_INOUT       = 3,
    DT_CONCURRENT  = 4,
    DT_COMMUTATIVE = 5,
    DT_REDUCTION   = 6,
    DT_WEAK        = 0x100     /* or-ed with any of the above */
};

/* A reduction or-s one operation and one element type into the mode, e.g.
   DT_REDUCTION | DT_RED_SUM | DT_RED_F64. */
enum {
    DT_RED_SUM  = 0x1000,
    DT_RED_PROD = 0x2000,
    DT_RED_MIN  = 0x3000,
    DT_RED_MAX  = 0x4000,
    DT_RED_I32  = 0x10000,
    DT_RED_I64  = 0x20000,
    DT_RED_F32  = 0x30000,
    DT_RED_F64  = 0x40000
};

typedef struct dt_access {
    unsigned mode;
    void    *addr;
    size_t   size;       /* bytes (of each row, for a 2-D region) */
    size_t   rows;       /* 0 or 1: a plain range; > 1: a 2-D region of `rows` rows */
    size_t   stride;     /* bytes from one row's start to the next (>= size) */
} dt_access_t;           /* {mode, addr, size} alone is a plain range */

void *dt_reduction_ptr(void *addr);

/* ---- tasks --------------------------------------------------------------- */
#define DT_NODE_ANY (-1)

enum {
    DT_TASK_FINAL = 0x1,   /* children of this task run undeferred */
    DT_TASK_IF0   = 0x2    /* the creator waits until this task has completed */
};

typedef struct dt_task_attr {
    int priority;        /* higher first; 0 default */
    int node;            /* DT_NODE_ANY (-1) or a rank: where the task should run */
    const char *label;   /* for errors, traces and graphs */
    unsigned flags;      /* DT_TASK_FINAL, DT_TASK_IF0 */
} dt_task_attr_t;        /* NULL means defaults */

/* args_size above this is refused (DT_ELIMIT) */
#define DT_ARGS_MAX ((size_t)1 << 30)

int  dt_task_create(dt_type_t type, const void *args, size_t args_size,
                    const dt_access_t *acc, size_t n_acc, const dt_task_attr_t *attr);
int  dt_taskwait(void);
int  dt_taskwait_on(const dt_access_t *acc, size_t n_acc);

/* ---- common address space ------------------------------------------------ */
void *dt_dmalloc(size_t size);
int   dt_dfree(void *ptr);
void *dt_lmalloc(size_t size);
int   dt_lfree(void *ptr);

/* ---- taskiter ------------------------------------------------------------ */
int  dt_taskiter(dt_type_t body, const void *args, size_t args_size, long iterations);
/* Replays the body in rounds of `every` iterations, at most max_iterations in
   all, and stops after the first round for which cond(cond_arg) returns 0;
   *iterations_run (if not NULL) gets the number of iterations run. */
int  dt_taskiter_while(dt_type_t body, const void *args, size_t args_size,
                       long max_iterations, long every, int (*cond)(void *cond_arg),
                       void *cond_arg, long *iterations_run);

#ifdef __cplusplus
}
#endif
#endif /* DTASK_H */
