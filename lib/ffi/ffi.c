/* ffi.c - task types described by a C signature, called through libffi.
 *
 * Each type gets one ffi_cif for the function's signature and one entry
 * point of its own from a fixed table of DT__FFI_TYPES small functions, which
 * the core registers as the type's dt_task_fn: the core's call path is
 * unchanged, and a task costs that entry and one ffi_call over argument
 * pointers into the task's args.  (A libffi closure per type would do the
 * same without a limit, but its generic entry costs ~200 instructions per
 * call, a quarter of the whole.) */
#include <dlfcn.h>
#include <ffi.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "core/runtime.h"

#define DT__EXPORT __attribute__((visibility("default")))

typedef struct ffi_rec {
    struct ffi_rec *next;
    char name[DT__TYPE_NAME_MAX];
    void (*fn)(void);
    dt_ffi_type_t ret;
    dt_type_t id;
    unsigned nargs;
    ffi_cif cif;                         /* the function's signature */
    ffi_type *atype[DT_FFI_MAX_ARGS];
    dt_ffi_type_t code[DT_FFI_MAX_ARGS];
    size_t offset[DT_FFI_MAX_ARGS];
} ffi_rec;

/* Types are never unregistered: the records live as long as the process.
 * Entry point i serves recs_by_slot[i]. */
#define DT__FFI_TYPES 256
static ffi_rec *recs;
static ffi_rec *recs_by_slot[DT__FFI_TYPES];
static int nslots;
static pthread_mutex_t recs_lock = PTHREAD_MUTEX_INITIALIZER;

static ffi_type *ffi_of(dt_ffi_type_t t)
{
    switch (t) {
    case DT_FFI_VOID: return &ffi_type_void;
    case DT_FFI_I8: return &ffi_type_sint8;
    case DT_FFI_I16: return &ffi_type_sint16;
    case DT_FFI_I32: return &ffi_type_sint32;
    case DT_FFI_I64: return &ffi_type_sint64;
    case DT_FFI_U8: return &ffi_type_uint8;
    case DT_FFI_U16: return &ffi_type_uint16;
    case DT_FFI_U32: return &ffi_type_uint32;
    case DT_FFI_U64: return &ffi_type_uint64;
    case DT_FFI_INT: return &ffi_type_sint;
    case DT_FFI_UINT: return &ffi_type_uint;
    case DT_FFI_LONG: return &ffi_type_slong;
    case DT_FFI_ULONG: return &ffi_type_ulong;
    case DT_FFI_SIZE: return sizeof(size_t) == 8 ? &ffi_type_uint64 : &ffi_type_uint32;
    case DT_FFI_FLOAT: return &ffi_type_float;
    case DT_FFI_DOUBLE: return &ffi_type_double;
    case DT_FFI_PTR: return &ffi_type_pointer;
    default: return NULL;
    }
}

/* Checks a signature and lays out its arguments like a C struct. */
static int layout(const char *call, const char *label, const dt_ffi_type_t *argtypes, size_t nargs,
                  size_t *offsets, size_t *size)
{
    if (!argtypes && nargs) return dt__error(DT_EFAULT, call, label, "NULL argtypes with count %zu", nargs);
    if (nargs > DT_FFI_MAX_ARGS)
        return dt__error(DT_ESIGNATURE, call, label, "%zu arguments, at most %d", nargs, DT_FFI_MAX_ARGS);
    size_t off = 0, align = 1;
    for (size_t i = 0; i < nargs; i++) {
        ffi_type *t = ffi_of(argtypes[i]);
        if (!t || t == &ffi_type_void)
            return dt__error(DT_ESIGNATURE, call, label, "argument %zu: %s type %d", i,
                             t ? "void is no" : "unknown", argtypes[i]);
        off = (off + t->alignment - 1) / t->alignment * t->alignment;
        if (offsets) offsets[i] = off;
        off += t->size;
        if (t->alignment > align) align = t->alignment;
    }
    *size = (off + align - 1) / align * align;
    return DT_OK;
}

DT__EXPORT int dt_ffi_layout(const dt_ffi_type_t *argtypes, size_t nargs, size_t *offsets, size_t *size)
{
    if (!size) return dt__error(DT_EINVAL, "dt_ffi_layout", NULL, "NULL size");
    return layout("dt_ffi_layout", NULL, argtypes, nargs, offsets, size);
}

static inline void call(const ffi_rec *r, void *args)
{
    void *avalue[DT_FFI_MAX_ARGS];
    for (unsigned i = 0; i < r->nargs; i++) avalue[i] = (char *)args + r->offset[i];
    /* room for any scalar return value, which is discarded */
    union { ffi_arg i; double d; void *p; } rvalue;
    ffi_call((ffi_cif *)&r->cif, r->fn, &rvalue, avalue);
}

/* DT__FFI_TYPES entry points, entry 0xNN calling the type in slot 0xNN */
#define DT__ENTRY(n) static void entry##n(void *args) { call(recs_by_slot[n], args); }
#define DT__ENTRY16(h) DT__ENTRY(0x##h##0) DT__ENTRY(0x##h##1) DT__ENTRY(0x##h##2) DT__ENTRY(0x##h##3) \
    DT__ENTRY(0x##h##4) DT__ENTRY(0x##h##5) DT__ENTRY(0x##h##6) DT__ENTRY(0x##h##7) DT__ENTRY(0x##h##8) \
    DT__ENTRY(0x##h##9) DT__ENTRY(0x##h##a) DT__ENTRY(0x##h##b) DT__ENTRY(0x##h##c) DT__ENTRY(0x##h##d) \
    DT__ENTRY(0x##h##e) DT__ENTRY(0x##h##f)
#define DT__ALL16(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(a) X(b) X(c) X(d) X(e) X(f)
DT__ALL16(DT__ENTRY16)
#define DT__NAME16(h) entry0x##h##0, entry0x##h##1, entry0x##h##2, entry0x##h##3, entry0x##h##4, \
    entry0x##h##5, entry0x##h##6, entry0x##h##7, entry0x##h##8, entry0x##h##9, entry0x##h##a, \
    entry0x##h##b, entry0x##h##c, entry0x##h##d, entry0x##h##e, entry0x##h##f,
static const dt_task_fn entries[DT__FFI_TYPES] = { DT__ALL16(DT__NAME16) };

static bool same_signature(const ffi_rec *r, void (*fn)(void), dt_ffi_type_t ret,
                           const dt_ffi_type_t *argtypes, size_t nargs)
{
    return r->fn == fn && r->ret == ret && r->nargs == nargs &&
           (nargs == 0 || memcmp(r->code, argtypes, nargs * sizeof *argtypes) == 0);
}

static int register_ffi(const char *call, const char *name, void (*fn)(void), dt_ffi_type_t ret,
                        const dt_ffi_type_t *argtypes, size_t nargs, dt_type_t *out)
{
    if (!name || !fn || !out)
        return dt__error(DT_EINVAL, call, NULL, "NULL %s", !name ? "name" : !fn ? "function" : "out");
    if (!ffi_of(ret)) return dt__error(DT_ESIGNATURE, call, name, "unknown return type %d", ret);
    size_t offsets[DT_FFI_MAX_ARGS], size;
    int err = layout(call, name, argtypes, nargs, offsets, &size);
    if (err) return err;
    pthread_mutex_lock(&recs_lock);
    for (ffi_rec *r = recs; r; r = r->next) {
        if (strcmp(r->name, name) != 0) continue;
        pthread_mutex_unlock(&recs_lock);
        if (!same_signature(r, fn, ret, argtypes, nargs))
            return dt__error(DT_EEXIST, call, name, "registered with another function or signature");
        *out = r->id;
        return DT_OK;
    }
    if (nslots == DT__FFI_TYPES) {
        pthread_mutex_unlock(&recs_lock);
        return dt__error(DT_ELIMIT, call, name, "at most %d types from signatures", DT__FFI_TYPES);
    }
    ffi_rec *r = calloc(1, sizeof *r);
    if (!r) {
        pthread_mutex_unlock(&recs_lock);
        return dt__error(DT_ENOMEM, call, name, NULL);
    }
    snprintf(r->name, sizeof r->name, "%s", name);
    r->fn = fn;
    r->ret = ret;
    r->nargs = (unsigned)nargs;
    for (size_t i = 0; i < nargs; i++) {
        r->code[i] = argtypes[i];
        r->atype[i] = ffi_of(argtypes[i]);
        r->offset[i] = offsets[i];
    }
    /* the slot is filled before the type exists: no task can reach it earlier */
    recs_by_slot[nslots] = r;
    if (ffi_prep_cif(&r->cif, FFI_DEFAULT_ABI, r->nargs, ffi_of(ret), r->atype) != FFI_OK)
        err = dt__error(DT_ESIGNATURE, call, name, "libffi refuses the signature");
    else
        err = dt__type_register(call, name, entries[nslots], (long)size, &r->id);
    if (err) {
        recs_by_slot[nslots] = NULL;
        pthread_mutex_unlock(&recs_lock);
        free(r);
        return err;
    }
    nslots++;
    r->next = recs;
    recs = r;
    pthread_mutex_unlock(&recs_lock);
    *out = r->id;
    return DT_OK;
}

DT__EXPORT int dt_type_register_ffi(const char *name, void (*fn)(void), dt_ffi_type_t ret,
                                   const dt_ffi_type_t *argtypes, size_t nargs, dt_type_t *out)
{
    return register_ffi("dt_type_register_ffi", name, fn, ret, argtypes, nargs, out);
}

DT__EXPORT int dt_type_register_symbol(const char *name, const char *symbol, dt_ffi_type_t ret,
                                      const dt_ffi_type_t *argtypes, size_t nargs, dt_type_t *out)
{
    static const char call[] = "dt_type_register_symbol";
    if (!symbol) return dt__error(DT_EINVAL, call, name, "NULL symbol");
    dlerror();
    void *p = dlsym(RTLD_DEFAULT, symbol);
    if (!p) return dt__error(DT_ESYMBOL, call, name, "'%s' is in no loaded library", symbol);
    return register_ffi(call, name, (void (*)(void))p, ret, argtypes, nargs, out);
}
