/* test-ffi.c - task types from C signatures (dt_type_register_ffi,
 * dt_type_register_symbol, dt_ffi_layout): argument layout, every argument
 * type's value reaching the function, dependencies between such tasks, and
 * every bad signature's code. */
#include <limits.h>
#include <stddef.h>
#include "test_util.h"

/* ---- layout ------------------------------------------------------------- */

struct mixed { int8_t a; double b; int32_t c; void *d; float e; int16_t f; };

START_TEST(layout_is_c_struct)
{
    dt_ffi_type_t sig[] = { DT_FFI_I8, DT_FFI_DOUBLE, DT_FFI_I32, DT_FFI_PTR, DT_FFI_FLOAT, DT_FFI_I16 };
    size_t off[6], size = 0;
    ck_assert_int_eq(dt_ffi_layout(sig, 6, off, &size), DT_OK);
    ck_assert_uint_eq(off[0], offsetof(struct mixed, a));
    ck_assert_uint_eq(off[1], offsetof(struct mixed, b));
    ck_assert_uint_eq(off[2], offsetof(struct mixed, c));
    ck_assert_uint_eq(off[3], offsetof(struct mixed, d));
    ck_assert_uint_eq(off[4], offsetof(struct mixed, e));
    ck_assert_uint_eq(off[5], offsetof(struct mixed, f));
    ck_assert_uint_eq(size, sizeof(struct mixed));
    /* offsets are optional; no arguments lay out as nothing */
    ck_assert_int_eq(dt_ffi_layout(sig, 2, NULL, &size), DT_OK);
    ck_assert_uint_eq(size, 16);
    ck_assert_int_eq(dt_ffi_layout(NULL, 0, NULL, &size), DT_OK);
    ck_assert_uint_eq(size, 0);
}
END_TEST

START_TEST(layout_errors)
{
    dt_ffi_type_t sig[DT_FFI_MAX_ARGS + 1];
    for (int i = 0; i <= DT_FFI_MAX_ARGS; i++) sig[i] = DT_FFI_INT;
    size_t size;
    ck_assert_int_eq(dt_ffi_layout(sig, 1, NULL, NULL), DT_EINVAL);
    ck_assert_int_eq(dt_ffi_layout(NULL, 1, NULL, &size), DT_EFAULT);
    ck_assert_int_eq(dt_ffi_layout(sig, DT_FFI_MAX_ARGS, NULL, &size), DT_OK);
    ck_assert_int_eq(dt_ffi_layout(sig, DT_FFI_MAX_ARGS + 1, NULL, &size), DT_ESIGNATURE);
    sig[3] = DT_FFI_VOID;
    ck_assert_int_eq(dt_ffi_layout(sig, 4, NULL, &size), DT_ESIGNATURE);
    sig[3] = DT_FFI_PTR + 1;
    ck_assert_int_eq(dt_ffi_layout(sig, 4, NULL, &size), DT_ESIGNATURE);
    sig[3] = -1;
    ck_assert_int_eq(dt_ffi_layout(sig, 4, NULL, &size), DT_ESIGNATURE);
}
END_TEST

/* ---- every argument type reaches the function ---------------------------- */

struct seen {
    int8_t i8; int16_t i16; int32_t i32; int64_t i64;
    uint8_t u8; uint16_t u16; uint32_t u32; uint64_t u64;
    int i; unsigned u; long l; unsigned long ul; size_t z;
    float f; double d; int calls;
};

static void all_types(int8_t i8, int16_t i16, int32_t i32, int64_t i64, uint8_t u8, uint16_t u16,
                      uint32_t u32, uint64_t u64, int i, unsigned u, long l, unsigned long ul,
                      size_t z, float f, double d, struct seen *out)
{
    *out = (struct seen){ i8, i16, i32, i64, u8, u16, u32, u64, i, u, l, ul, z, f, d, out->calls + 1 };
}

static const dt_ffi_type_t all_sig[] = {
    DT_FFI_I8, DT_FFI_I16, DT_FFI_I32, DT_FFI_I64, DT_FFI_U8, DT_FFI_U16, DT_FFI_U32, DT_FFI_U64,
    DT_FFI_INT, DT_FFI_UINT, DT_FFI_LONG, DT_FFI_ULONG, DT_FFI_SIZE, DT_FFI_FLOAT, DT_FFI_DOUBLE,
    DT_FFI_PTR
};
enum { ALL_N = sizeof all_sig / sizeof all_sig[0] };

/* the args of all_types, as a C struct: what a C caller writes */
struct all_args {
    int8_t i8; int16_t i16; int32_t i32; int64_t i64;
    uint8_t u8; uint16_t u16; uint32_t u32; uint64_t u64;
    int i; unsigned u; long l; unsigned long ul; size_t z;
    float f; double d; struct seen *out;
};

START_TEST(every_type)
{
    dt_type_t t;
    /* registered before dt_init, like every type in a cluster program */
    ck_assert_int_eq(dt_type_register_ffi("all_types", (void (*)(void))all_types, DT_FFI_VOID, all_sig,
                                          ALL_N, &t), DT_OK);
    size_t off[ALL_N], size;
    ck_assert_int_eq(dt_ffi_layout(all_sig, ALL_N, off, &size), DT_OK);
    ck_assert_uint_eq(size, sizeof(struct all_args));
    ck_assert_uint_eq(off[ALL_N - 1], offsetof(struct all_args, out));
    TU_INIT();
    static struct seen s;
    struct all_args a = { -5, -30000, -2000000000, INT64_MIN + 1, 250, 65000, 4000000000u, UINT64_MAX - 1,
                          -7, 3000000000u, -9000000000L, ULONG_MAX, SIZE_MAX / 3, 1.5f, -2.25e300, &s };
    dt_access_t acc = { DT_INOUT, &s, sizeof s, 0, 0 };
    ck_assert_int_eq(dt_task_create(t, &a, sizeof a, &acc, 1, NULL), DT_OK);
    /* and once without accesses (may run undeferred, on this thread) */
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    ck_assert_int_eq(dt_task_create(t, &a, sizeof a, NULL, 0, NULL), DT_OK);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    ck_assert_int_eq(s.calls, 2);
    ck_assert_int_eq(s.i8, -5);
    ck_assert_int_eq(s.i16, -30000);
    ck_assert_int_eq(s.i32, -2000000000);
    ck_assert(s.i64 == INT64_MIN + 1);
    ck_assert_uint_eq(s.u8, 250);
    ck_assert_uint_eq(s.u16, 65000);
    ck_assert_uint_eq(s.u32, 4000000000u);
    ck_assert(s.u64 == UINT64_MAX - 1);
    ck_assert_int_eq(s.i, -7);
    ck_assert_uint_eq(s.u, 3000000000u);
    ck_assert(s.l == -9000000000L);
    ck_assert(s.ul == ULONG_MAX);
    ck_assert(s.z == SIZE_MAX / 3);
    ck_assert(s.f == 1.5f);
    ck_assert(s.d == -2.25e300);
    TU_FINI();
}
END_TEST

/* ---- a real kernel with dependencies ------------------------------------- */

enum { N = 1000, CHAIN = 60 };
static double x[N], y[N], want[N];

static void daxpy(long n, double a, const double *xs, double *ys)
{
    for (long i = 0; i < n; i++) ys[i] += a * xs[i];
}

static void dscal(long n, double a, double *ys)
{
    for (long i = 0; i < n; i++) ys[i] *= a;
}

/* Scalings and additions on two halves of y: the result depends on their
 * order, which the accesses alone impose. */
START_TEST(chain_in_order)
{
    tu_workers(2);
    TU_INIT();
    dt_type_t taxpy, tscal;
    const dt_ffi_type_t sig[] = { DT_FFI_LONG, DT_FFI_DOUBLE, DT_FFI_PTR, DT_FFI_PTR };
    const dt_ffi_type_t ssig[] = { DT_FFI_LONG, DT_FFI_DOUBLE, DT_FFI_PTR };
    ck_assert_int_eq(dt_type_register_ffi("daxpy", (void (*)(void))daxpy, DT_FFI_VOID, sig, 4, &taxpy), DT_OK);
    ck_assert_int_eq(dt_type_register_ffi("dscal", (void (*)(void))dscal, DT_FFI_VOID, ssig, 3, &tscal), DT_OK);
    for (int i = 0; i < N; i++) { x[i] = i % 7; y[i] = want[i] = 1; }
    enum { H = N / 2 };
    for (int k = 0; k < CHAIN; k++) {
        int h = k % 2;
        double *xs = x + h * H, *ys = y + h * H;
        dt_access_t acc[2] = { { DT_INOUT, ys, sizeof(double) * H, 0, 0 },
                               { DT_IN, xs, sizeof(double) * H, 0, 0 } };
        if (k % 4 < 2) {
            struct { long n; double a; double *y; } s = { H, k % 3 ? 2 : -1, ys };
            ck_assert_int_eq(dt_task_create(tscal, &s, sizeof s, acc, 1, NULL), DT_OK);
            dscal(H, s.a, want + h * H);
        } else {
            struct { long n; double a; const double *x; double *y; } a = { H, k, xs, ys };
            ck_assert_int_eq(dt_task_create(taxpy, &a, sizeof a, acc, 2, NULL), DT_OK);
            daxpy(H, a.a, xs, want + h * H);
        }
        if (k == CHAIN / 2) ck_assert_int_eq(dt_taskwait_on(acc, 1), DT_OK);
    }
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    for (int i = 0; i < N; i++) TU_REQUIRE(y[i] == want[i]);
    TU_FINI();
}
END_TEST

/* ---- return values, no arguments, 32 arguments --------------------------- */

static atomic_int hits;
static double ret_double(double v) { atomic_fetch_add(&hits, 1); return v * 2; }
static int8_t ret_i8(void) { atomic_fetch_add(&hits, 1); return -1; }
static float ret_float(float v) { atomic_fetch_add(&hits, 1); return v; }
static long sum32(long a0, long a1, long a2, long a3, long a4, long a5, long a6, long a7, long a8,
                  long a9, long a10, long a11, long a12, long a13, long a14, long a15, long a16,
                  long a17, long a18, long a19, long a20, long a21, long a22, long a23, long a24,
                  long a25, long a26, long a27, long a28, long a29, long a30, long *out)
{
    *out = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + a12 + a13 + a14 + a15 +
           a16 + a17 + a18 + a19 + a20 + a21 + a22 + a23 + a24 + a25 + a26 + a27 + a28 + a29 + a30;
    return *out;
}

START_TEST(returns_and_counts)
{
    TU_INIT();
    dt_type_t td, ti, tf, ts;
    const dt_ffi_type_t d1[] = { DT_FFI_DOUBLE }, f1[] = { DT_FFI_FLOAT };
    ck_assert_int_eq(dt_type_register_ffi("ret_double", (void (*)(void))ret_double, DT_FFI_DOUBLE, d1, 1, &td), DT_OK);
    ck_assert_int_eq(dt_type_register_ffi("ret_i8", (void (*)(void))ret_i8, DT_FFI_I8, NULL, 0, &ti), DT_OK);
    ck_assert_int_eq(dt_type_register_ffi("ret_float", (void (*)(void))ret_float, DT_FFI_FLOAT, f1, 1, &tf), DT_OK);
    double v = 3;
    float fv = 1;
    for (int i = 0; i < 100; i++) {
        ck_assert_int_eq(dt_task_create(td, &v, sizeof v, NULL, 0, NULL), DT_OK);
        ck_assert_int_eq(dt_task_create(ti, NULL, 0, NULL, 0, NULL), DT_OK);
        ck_assert_int_eq(dt_task_create(tf, &fv, sizeof fv, NULL, 0, NULL), DT_OK);
    }
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    ck_assert_int_eq(tu_get(&hits), 300);

    dt_ffi_type_t sig[DT_FFI_MAX_ARGS];
    long args[DT_FFI_MAX_ARGS], out = 0;
    for (int i = 0; i < DT_FFI_MAX_ARGS; i++) { sig[i] = DT_FFI_LONG; args[i] = i + 1; }
    sig[DT_FFI_MAX_ARGS - 1] = DT_FFI_PTR;
    long *po = &out;
    memcpy(&args[DT_FFI_MAX_ARGS - 1], &po, sizeof po);
    ck_assert_int_eq(dt_type_register_ffi("sum32", (void (*)(void))sum32, DT_FFI_LONG, sig, DT_FFI_MAX_ARGS, &ts), DT_OK);
    dt_access_t acc = { DT_OUT, &out, sizeof out, 0, 0 };
    ck_assert_int_eq(dt_task_create(ts, args, sizeof args, &acc, 1, NULL), DT_OK);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    ck_assert_int_eq(out, 31 * 32 / 2);
    TU_FINI();
}
END_TEST

/* ---- by symbol ----------------------------------------------------------- */

static char buf[64];

START_TEST(by_symbol)
{
    TU_INIT();
    dt_type_t t, t2;
    /* memset from libc, which every program loads */
    const dt_ffi_type_t sig[] = { DT_FFI_PTR, DT_FFI_INT, DT_FFI_SIZE };
    ck_assert_int_eq(dt_type_register_symbol("memset", "memset", DT_FFI_PTR, sig, 3, &t), DT_OK);
    ck_assert_int_eq(dt_type_register_symbol("memset", "memset", DT_FFI_PTR, sig, 3, &t2), DT_OK);
    ck_assert_int_eq(t2, t);
    struct { char *p; int c; size_t n; } a = { buf + 8, 'x', 16 };
    dt_access_t acc = { DT_OUT, buf + 8, 16, 0, 0 };
    ck_assert_int_eq(dt_task_create(t, &a, sizeof a, &acc, 1, NULL), DT_OK);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    for (int i = 0; i < 64; i++) TU_REQUIRE(buf[i] == (i >= 8 && i < 24 ? 'x' : 0));

    ck_assert_int_eq(dt_type_register_symbol("nosuch", "dt_no_such_symbol_anywhere", DT_FFI_VOID, NULL, 0, &t),
                     DT_ESYMBOL);
    ck_assert_int_eq(dt_type_register_symbol("nosym", NULL, DT_FFI_VOID, NULL, 0, &t), DT_EINVAL);
    ck_assert_int_eq(dt_type_register_symbol(NULL, "memset", DT_FFI_PTR, sig, 3, &t), DT_EINVAL);
    /* the same name for another symbol */
    ck_assert_int_eq(dt_type_register_symbol("memset", "memcpy", DT_FFI_PTR, sig, 3, &t), DT_EEXIST);
    tu_assert_alive();
    TU_FINI();
}
END_TEST

/* ---- bad registrations and bad args -------------------------------------- */

static void nop2(int a, double b) { (void)a; (void)b; atomic_fetch_add(&hits, 1); }
static void nop_other(int a, double b) { (void)a; (void)b; }
static void plain_task(void *a) { (void)a; }

START_TEST(register_errors)
{
    dt_type_t t = -1, t2 = -1, tp;
    const dt_ffi_type_t sig[] = { DT_FFI_INT, DT_FFI_DOUBLE };
    const dt_ffi_type_t other[] = { DT_FFI_INT, DT_FFI_FLOAT };
    void (*fn)(void) = (void (*)(void))nop2;
    ck_assert_int_eq(dt_type_register_ffi(NULL, fn, DT_FFI_VOID, sig, 2, &t), DT_EINVAL);
    ck_assert_int_eq(dt_type_register_ffi("nop2", NULL, DT_FFI_VOID, sig, 2, &t), DT_EINVAL);
    ck_assert_int_eq(dt_type_register_ffi("nop2", fn, DT_FFI_VOID, sig, 2, NULL), DT_EINVAL);
    ck_assert_int_eq(dt_type_register_ffi("", fn, DT_FFI_VOID, sig, 2, &t), DT_EINVAL);
    char longname[100];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    ck_assert_int_eq(dt_type_register_ffi(longname, fn, DT_FFI_VOID, sig, 2, &t), DT_EINVAL);
    ck_assert_int_eq(dt_type_register_ffi("nop2", fn, DT_FFI_VOID, NULL, 2, &t), DT_EFAULT);
    ck_assert_int_eq(dt_type_register_ffi("nop2", fn, -3, sig, 2, &t), DT_ESIGNATURE);
    ck_assert_int_eq(dt_type_register_ffi("nop2", fn, DT_FFI_PTR + 1, sig, 2, &t), DT_ESIGNATURE);
    const dt_ffi_type_t bad[] = { DT_FFI_INT, DT_FFI_VOID };
    ck_assert_int_eq(dt_type_register_ffi("nop2", fn, DT_FFI_VOID, bad, 2, &t), DT_ESIGNATURE);
    const dt_ffi_type_t unknown[] = { 99, DT_FFI_INT };
    ck_assert_int_eq(dt_type_register_ffi("nop2", fn, DT_FFI_VOID, unknown, 2, &t), DT_ESIGNATURE);
    dt_ffi_type_t many[DT_FFI_MAX_ARGS + 1];
    for (int i = 0; i <= DT_FFI_MAX_ARGS; i++) many[i] = DT_FFI_INT;
    ck_assert_int_eq(dt_type_register_ffi("nop2", fn, DT_FFI_VOID, many, DT_FFI_MAX_ARGS + 1, &t), DT_ESIGNATURE);
    ck_assert_int_eq(t, -1);

    /* again with the same function and signature: the same type */
    ck_assert_int_eq(dt_type_register_ffi("nop2", fn, DT_FFI_VOID, sig, 2, &t), DT_OK);
    ck_assert_int_eq(dt_type_register_ffi("nop2", fn, DT_FFI_VOID, sig, 2, &t2), DT_OK);
    ck_assert_int_eq(t, t2);
    /* the same name with another function, signature or return type */
    ck_assert_int_eq(dt_type_register_ffi("nop2", (void (*)(void))nop_other, DT_FFI_VOID, sig, 2, &t2), DT_EEXIST);
    ck_assert_int_eq(dt_type_register_ffi("nop2", fn, DT_FFI_VOID, other, 2, &t2), DT_EEXIST);
    ck_assert_int_eq(dt_type_register_ffi("nop2", fn, DT_FFI_VOID, sig, 1, &t2), DT_EEXIST);
    ck_assert_int_eq(dt_type_register_ffi("nop2", fn, DT_FFI_INT, sig, 2, &t2), DT_EEXIST);
    /* a name taken by a plain type, and the other way round */
    ck_assert_int_eq(dt_type_register("plain", plain_task, &tp), DT_OK);
    ck_assert_int_eq(dt_type_register_ffi("plain", fn, DT_FFI_VOID, sig, 2, &t2), DT_EEXIST);
    ck_assert_int_eq(dt_type_register("nop2", plain_task, &t2), DT_EEXIST);

    /* tasks must give the args the signature lays out (16 bytes here) */
    TU_INIT();
    struct { int a; double b; } a = { 1, 2 };
    ck_assert_int_eq(dt_task_create(t, &a, sizeof a, NULL, 0, NULL), DT_OK);
    ck_assert_int_eq(dt_task_create(t, &a, sizeof a - 1, NULL, 0, NULL), DT_ESIGNATURE);
    ck_assert_int_eq(dt_task_create(t, &a, sizeof a + 8, NULL, 0, NULL), DT_ESIGNATURE);
    ck_assert_int_eq(dt_task_create(t, NULL, 0, NULL, 0, NULL), DT_ESIGNATURE);
    ck_assert_int_eq(dt_taskiter(t, &a, 8, 1), DT_ESIGNATURE);
    ck_assert_int_eq(dt_taskiter(t, &a, sizeof a, 3), DT_OK);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    ck_assert_int_eq(tu_get(&hits), 2);      /* the task, and the body once (recorded: it creates no task) */
    /* plain types still take any args */
    ck_assert_int_eq(dt_task_create(tp, &a, 3, NULL, 0, NULL), DT_OK);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    ck_assert_str_eq(dt_strerror(DT_ESIGNATURE), "bad task signature, or args not laid out by it");
    ck_assert_str_eq(dt_strerror(DT_ESYMBOL), "symbol not found");
    tu_assert_alive();
    TU_FINI();
}
END_TEST

/* With DT_VERBOSE=1 a bad signature is one line naming the call and the type. */
START_TEST(verbose_names_call)
{
    setenv("DT_VERBOSE", "1", 1);
    TU_INIT();
    dt_type_t t;
    const dt_ffi_type_t bad[] = { DT_FFI_VOID };
    tu_capture c = tu_stderr_begin();
    int r = dt_type_register_ffi("badsig", (void (*)(void))nop2, DT_FFI_VOID, bad, 1, &t);
    char *out = tu_stderr_end(c);
    ck_assert_int_eq(r, DT_ESIGNATURE);
    ck_assert_int_eq(tu_count_lines(out), 1);
    ck_assert_ptr_nonnull(strstr(out, "dt_type_register_ffi"));
    ck_assert_ptr_nonnull(strstr(out, "badsig"));
    ck_assert_ptr_nonnull(strstr(out, "argument 0"));
    free(out);
    TU_FINI();
}
END_TEST

/* ---- the limit on types from signatures ---------------------------------- */

static int marks[512];
/* two bodies, and 0..4 leading dummy arguments: a type run through another
   type's entry would write another mark, or read its index from elsewhere */
static void mark_odd(long i) { marks[i] = 1; }
static void mark_even(long i) { marks[i] = 2; }
static void mark_odd1(int8_t a, long i) { (void)a; marks[i] = 1; }
static void mark_even1(int8_t a, long i) { (void)a; marks[i] = 2; }
static void mark_odd2(int8_t a, int8_t b, long i) { (void)a; (void)b; marks[i] = 1; }
static void mark_even2(int8_t a, int8_t b, long i) { (void)a; (void)b; marks[i] = 2; }

START_TEST(limit_and_entries)
{
    TU_INIT();
    void (*const odd[3])(void) = { (void (*)(void))mark_odd, (void (*)(void))mark_odd1, (void (*)(void))mark_odd2 };
    void (*const even[3])(void) = { (void (*)(void))mark_even, (void (*)(void))mark_even1,
                                    (void (*)(void))mark_even2 };
    const dt_ffi_type_t sigs[3][3] = { { DT_FFI_LONG }, { DT_FFI_I8, DT_FFI_LONG }, { DT_FFI_I8, DT_FFI_I8, DT_FFI_LONG } };
    dt_type_t t[512];
    int n = 0, r;
    char name[32];
    for (;;) {
        snprintf(name, sizeof name, "mark%d", n);
        int d = n % 3;
        r = dt_type_register_ffi(name, n % 2 ? odd[d] : even[d], DT_FFI_VOID, sigs[d], (size_t)d + 1, &t[n]);
        if (r != DT_OK || n == 511) break;
        n++;
    }
    /* 256 types from signatures per process */
    ck_assert_int_eq(r, DT_ELIMIT);
    ck_assert_int_eq(n, 256);
    for (int i = 0; i < n; i++) {
        struct { int8_t a, b; long i; } a2 = { 0, 0, i };
        struct { int8_t a; long i; } a1 = { 0, i };
        long a0 = i;
        int d = i % 3;
        ck_assert_int_eq(dt_task_create(t[i], d == 0 ? (void *)&a0 : d == 1 ? (void *)&a1 : (void *)&a2,
                                        d == 0 ? sizeof a0 : d == 1 ? sizeof a1 : sizeof a2, NULL, 0, NULL), DT_OK);
    }
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    for (int i = 0; i < n; i++) TU_REQUIRE(marks[i] == (i % 2 ? 1 : 2));
    /* plain types are not limited by it */
    tu_assert_alive();
    TU_FINI();
}
END_TEST

static Suite *ffi_suite(void)
{
    Suite *s = suite_create("ffi");
    TCase *tc = tu_tcase(s, "ffi");
    tcase_add_test(tc, layout_is_c_struct);
    tcase_add_test(tc, layout_errors);
    tcase_add_test(tc, every_type);
    tcase_add_test(tc, chain_in_order);
    tcase_add_test(tc, returns_and_counts);
    tcase_add_test(tc, by_symbol);
    tcase_add_test(tc, register_errors);
    tcase_add_test(tc, verbose_names_call);
    tcase_add_test(tc, limit_and_entries);
    return s;
}

TU_MAIN(ffi_suite)
