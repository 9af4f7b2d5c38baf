/* test-errors.c - every bad input returns its own code, and the runtime keeps
 * working afterwards (each test ends by running a task). */
#include <limits.h>
#include "test_util.h"

static void nop_task(void *a) { (void)a; }
static void other_task(void *a) { (void)a; }

static char buf[256] __attribute__((aligned(64)));

static int create1(unsigned mode, void *addr, size_t size)
{
    dt_access_t a = { mode, addr, size, 0, 0 };
    return dt_task_create(TU_TYPE(nop_task), NULL, 0, &a, 1, NULL);
}

static int create2d(unsigned mode, void *addr, size_t size, size_t rows, size_t stride)
{
    dt_access_t a = { mode, addr, size, rows, stride };
    return dt_task_create(TU_TYPE(nop_task), NULL, 0, &a, 1, NULL);
}

/* ---- lifecycle ------------------------------------------------------------- */

/* Every call's answer in a state where none may work. */
static void assert_all_refuse(int code)
{
    dt_type_t t = TU_TYPE(nop_task);
    dt_access_t a = { DT_IN, buf, 8, 0, 0 };
    ck_assert_int_eq(dt_task_create(t, NULL, 0, NULL, 0, NULL), code);
    ck_assert_int_eq(dt_task_create(t, NULL, 0, &a, 1, NULL), code);
    ck_assert_int_eq(dt_taskwait(), code);
    ck_assert_int_eq(dt_taskwait_on(&a, 1), code);
    ck_assert_int_eq(dt_finalize(), code);
    ck_assert_int_eq(dt_num_workers(), code);
    ck_assert_int_eq(dt_rank(), code);
    ck_assert_int_eq(dt_num_ranks(), code);
    char comm[16];
    ck_assert_int_eq(dt_app_comm(comm), code);
    ck_assert_int_eq(dt_taskiter(t, NULL, 0, 1), code);
    ck_assert_ptr_null(dt_dmalloc(64));
    ck_assert_ptr_null(dt_lmalloc(64));
    ck_assert_int_eq(dt_dfree(buf), code);
    ck_assert_int_eq(dt_lfree(buf), code);
}

START_TEST(before_init)
{
    assert_all_refuse(DT_ENOTINIT);
    TU_INIT();
    tu_assert_alive();
    TU_FINI();
}
END_TEST

START_TEST(after_finalize)
{
    TU_INIT();
    void *p = dt_dmalloc(64);
    ck_assert_ptr_nonnull(p);
    TU_FINI();
    assert_all_refuse(DT_EFINALIZED);
    ck_assert_int_eq(dt_init(NULL, NULL), DT_EFINALIZED);
    ck_assert_int_eq(dt_dfree(p), DT_EFINALIZED);
    ck_assert_str_eq(dt_strerror(DT_OK), "success");
}
END_TEST

START_TEST(init_twice)
{
    int argc = 1;
    char *args[] = { "prog", NULL }, **argv = args;
    tu_workers(2);
    ck_assert_int_eq(dt_init(&argc, &argv), DT_OK);
    ck_assert_int_eq(dt_init(NULL, NULL), DT_EALREADY);
    ck_assert_int_eq(dt_init(&argc, &argv), DT_EALREADY);
    ck_assert_int_eq(dt_num_workers(), 2);
    ck_assert_int_eq(dt_rank(), 0);
    ck_assert_int_eq(dt_num_ranks(), 1);
    /* no MPI job to give a communicator of (test/mpi/helpers.c: one) */
    char comm[16];
    ck_assert_int_eq(dt_app_comm(NULL), DT_EINVAL);
    ck_assert_int_eq(dt_app_comm(comm), DT_EINVAL);
    tu_assert_alive();
    TU_FINI();
}
END_TEST

static void finalize_inside(void *a)
{
    int *r = *(int **)a;
    *r = dt_finalize();
}

START_TEST(finalize_inside_task)
{
    TU_INIT();
    int r = 0, *rp = &r;
    ck_assert_int_eq(dt_task_create(TU_TYPE(finalize_inside), &rp, sizeof rp, NULL, 0, NULL), DT_OK);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    ck_assert_int_eq(r, DT_EINVAL);
    tu_assert_alive();
    TU_FINI();
}
END_TEST

static int app_result(int argc, char **argv)
{
    (void)argv;
    tu_assert_alive();
    return 40 + argc;
}

START_TEST(main_errors)
{
    char *argv[] = { "prog", "x", NULL };
    ck_assert_int_eq(dt_main(2, argv, NULL), DT_EINVAL);
    ck_assert_int_eq(dt_main(2, argv, app_result), 42);
    ck_assert_int_eq(dt_main(2, argv, app_result), DT_EFINALIZED);
}
END_TEST

/* ---- types ------------------------------------------------------------------- */

START_TEST(type_register)
{
    dt_type_t t = -7, t2 = -7;
    char name64[65], name63[64];
    memset(name64, 'a', 64);
    name64[64] = 0;
    memset(name63, 'b', 63);
    name63[63] = 0;
    /* before dt_init, like every error below */
    ck_assert_int_eq(dt_type_register(NULL, nop_task, &t), DT_EINVAL);
    ck_assert_int_eq(dt_type_register("x", NULL, &t), DT_EINVAL);
    ck_assert_int_eq(dt_type_register("x", nop_task, NULL), DT_EINVAL);
    ck_assert_int_eq(dt_type_register("", nop_task, &t), DT_EINVAL);
    ck_assert_int_eq(dt_type_register(name64, nop_task, &t), DT_EINVAL);
    ck_assert_int_eq(t, -7);
    ck_assert_int_eq(dt_type_register(name63, nop_task, &t), DT_OK);
    ck_assert_int_eq(dt_type_register("x", nop_task, &t2), DT_OK);
    ck_assert_int_ne(t, t2);
    ck_assert_int_eq(dt_type_register(name63, nop_task, &t2), DT_OK);
    ck_assert_int_eq(t2, t);
    t2 = -7;
    ck_assert_int_eq(dt_type_register(name63, other_task, &t2), DT_EEXIST);
    ck_assert_int_eq(t2, -7);
    TU_INIT();
    ck_assert_int_eq(dt_type_register(name63, nop_task, &t2), DT_OK);
    ck_assert_int_eq(t2, t);
    ck_assert_int_eq(dt_type_register("x", other_task, &t2), DT_EEXIST);
    ck_assert_int_eq(dt_type_register("after-init", other_task, &t2), DT_OK);
    ck_assert_int_eq(dt_task_create(t, NULL, 0, NULL, 0, NULL), DT_OK);
    ck_assert_int_eq(dt_task_create(t2, NULL, 0, NULL, 0, NULL), DT_OK);
    tu_assert_alive();
    TU_FINI();
}
END_TEST

START_TEST(type_limit)
{
    dt_type_t t, first = TU_TYPE(nop_task);
    TU_TYPE(tu_mark_task);      /* tu_assert_alive's, registered while there is room */
    char name[32];
    int n = 2, r = DT_OK;
    for (int i = 0; i < 5000 && r == DT_OK; i++) {
        snprintf(name, sizeof name, "type-%d", i);
        r = dt_type_register(name, other_task, &t);
        n += r == DT_OK;
    }
    ck_assert_int_eq(r, DT_ELIMIT);
    ck_assert_int_eq(n, 4096);
    /* an existing name still answers */
    ck_assert_int_eq(dt_type_register("nop_task", nop_task, &t), DT_OK);
    ck_assert_int_eq(t, first);
    TU_INIT();
    tu_assert_alive();
    TU_FINI();
}
END_TEST

/* ---- dt_task_create ---------------------------------------------------------- */

START_TEST(create_type)
{
    TU_INIT();
    dt_type_t t = TU_TYPE(nop_task);
    ck_assert_int_eq(dt_task_create(-1, NULL, 0, NULL, 0, NULL), DT_ETYPE);
    ck_assert_int_eq(dt_task_create(INT_MIN, NULL, 0, NULL, 0, NULL), DT_ETYPE);
    ck_assert_int_eq(dt_task_create(t + 1, NULL, 0, NULL, 0, NULL), DT_ETYPE);
    ck_assert_int_eq(dt_task_create(4096, NULL, 0, NULL, 0, NULL), DT_ETYPE);
    ck_assert_int_eq(dt_task_create(INT_MAX, NULL, 0, NULL, 0, NULL), DT_ETYPE);
    tu_assert_alive();
    TU_FINI();
}
END_TEST

START_TEST(create_fault)
{
    TU_INIT();
    dt_type_t t = TU_TYPE(nop_task);
    dt_access_t a = { DT_IN, buf, 8, 0, 0 };
    ck_assert_int_eq(dt_task_create(t, NULL, 1, NULL, 0, NULL), DT_EFAULT);
    ck_assert_int_eq(dt_task_create(t, NULL, 0, NULL, 1, NULL), DT_EFAULT);
    ck_assert_int_eq(create1(DT_IN, NULL, 1), DT_EFAULT);
    ck_assert_int_eq(create2d(DT_OUT, NULL, 8, 4, 16), DT_EFAULT);
    /* a NULL address in the second access is found too */
    dt_access_t two[2] = { a, { DT_OUT, NULL, 4, 0, 0 } };
    ck_assert_int_eq(dt_task_create(t, NULL, 0, two, 2, NULL), DT_EFAULT);
    /* size 0 is accepted (and ignored), with or without an address */
    ck_assert_int_eq(create1(DT_OUT, NULL, 0), DT_OK);
    ck_assert_int_eq(dt_task_create(t, &a, 0, &a, 0, NULL), DT_OK);
    tu_assert_alive();
    TU_FINI();
}
END_TEST

START_TEST(create_mode)
{
    TU_INIT();
    static const unsigned bad[] = {
        0, 7, 8, 0xFF, 0x80, 0x200, 0x400, DT_WEAK, DT_IN | 0x80, DT_OUT | 0x200,
        DT_IN | DT_RED_SUM, DT_IN | DT_RED_I32, DT_INOUT | DT_RED_SUM | DT_RED_F64,
        DT_CONCURRENT | DT_RED_MAX, DT_IN | DT_WEAK | DT_RED_I64, 0x100000u | DT_IN,
        0x80000000u | DT_OUT,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(create1(bad[i], buf, 8) == DT_EMODE, "mode 0x%x", bad[i]);
    for (unsigned m = DT_IN; m <= DT_COMMUTATIVE; m++) {
        ck_assert_int_eq(create1(m, buf, 8), DT_OK);
        ck_assert_int_eq(create1(m | DT_WEAK, buf, 8), DT_OK);
    }
    tu_assert_alive();
    TU_FINI();
}
END_TEST

START_TEST(create_overflow)
{
    TU_INIT();
    ck_assert_int_eq(create1(DT_IN, (void *)(UINTPTR_MAX - 8), 10), DT_EOVERFLOW);
    ck_assert_int_eq(create1(DT_OUT, (void *)(UINTPTR_MAX - 8), SIZE_MAX), DT_EOVERFLOW);
    ck_assert_int_eq(create1(DT_IN, buf, SIZE_MAX), DT_EOVERFLOW);
    /* regions are [start, end): the last byte of the address space is refused */
    ck_assert_int_eq(create1(DT_OUT, (void *)(UINTPTR_MAX - 15), 16), DT_EOVERFLOW);
    ck_assert_int_eq(create2d(DT_IN, (void *)(UINTPTR_MAX - 1023), 16, 4, 336), DT_EOVERFLOW);
    ck_assert_int_eq(create1(DT_OUT, (void *)(UINTPTR_MAX - 16), 16), DT_OK);
    /* rows * stride overflows size_t */
    ck_assert_int_eq(create2d(DT_IN, buf, 8, 3, SIZE_MAX / 2), DT_EOVERFLOW);
    /* rows * stride fits but the last row wraps past the end */
    ck_assert_int_eq(create2d(DT_IN, buf, 8, 2, UINTPTR_MAX - (uintptr_t)buf), DT_EOVERFLOW);
    ck_assert_int_eq(create2d(DT_IN, (void *)(UINTPTR_MAX - 4095), 16, 5, 1024), DT_EOVERFLOW);
    tu_assert_alive();
    TU_FINI();
}
END_TEST

START_TEST(create_rows)
{
    TU_INIT();
    ck_assert_int_eq(create2d(DT_IN, buf, 16, 2, 8), DT_EINVAL);
    ck_assert_int_eq(create2d(DT_OUT, buf, 16, 4, 0), DT_EINVAL);
    ck_assert_int_eq(create2d(DT_IN, buf, 16, 2, 15), DT_EINVAL);
    /* stride == size is a plain range; rows 0 or 1 ignore the stride */
    ck_assert_int_eq(create2d(DT_IN, buf, 16, 2, 16), DT_OK);
    ck_assert_int_eq(create2d(DT_IN, buf, 16, 1, 0), DT_OK);
    ck_assert_int_eq(create2d(DT_IN, buf, 16, 0, 3), DT_OK);
    tu_assert_alive();
    TU_FINI();
}
END_TEST

START_TEST(create_reduction)
{
    TU_INIT();
    dt_type_t t = TU_TYPE(nop_task);
    unsigned ok = DT_REDUCTION | DT_RED_SUM | DT_RED_I32;
    ck_assert_int_eq(create1(DT_REDUCTION | DT_RED_I32, buf, 8), DT_EREDUCTION);
    ck_assert_int_eq(create1(DT_REDUCTION | DT_RED_SUM, buf, 8), DT_EREDUCTION);
    ck_assert_int_eq(create1(DT_REDUCTION, buf, 8), DT_EREDUCTION);
    ck_assert_int_eq(create1(DT_REDUCTION | DT_WEAK | DT_RED_F64, buf, 8), DT_EREDUCTION);
    ck_assert_int_eq(create1(DT_REDUCTION | 0x5000 | DT_RED_I32, buf, 8), DT_EREDUCTION);
    ck_assert_int_eq(create1(DT_REDUCTION | DT_RED_SUM | 0x50000, buf, 8), DT_EREDUCTION);
    ck_assert_int_eq(create1(ok, buf, 6), DT_EREDUCTION);
    ck_assert_int_eq(create1(DT_REDUCTION | DT_RED_MAX | DT_RED_F64, buf, 12), DT_EREDUCTION);
    ck_assert_int_eq(create1(ok, buf + 2, 8), DT_EREDUCTION);
    ck_assert_int_eq(create1(DT_REDUCTION | DT_RED_MIN | DT_RED_I64, buf + 4, 8), DT_EREDUCTION);
    ck_assert_int_eq(create2d(ok, buf, 8, 2, 16), DT_EREDUCTION);
    /* a reduction sharing bytes with another access of the same task */
    dt_access_t both[2] = { { ok, buf, 16, 0, 0 }, { DT_IN, buf + 12, 8, 0, 0 } };
    ck_assert_int_eq(dt_task_create(t, NULL, 0, both, 2, NULL), DT_EREDUCTION);
    dt_access_t reds[2] = { { ok, buf, 16, 0, 0 }, { ok, buf + 8, 16, 0, 0 } };
    ck_assert_int_eq(dt_task_create(t, NULL, 0, reds, 2, NULL), DT_EREDUCTION);
    dt_access_t tile[2] = { { ok, buf + 64, 8, 0, 0 }, { DT_OUT, buf + 4, 4, 16, 32 } };
    ck_assert_int_eq(dt_task_create(t, NULL, 0, tile, 2, NULL), DT_EREDUCTION);
    /* next to it is fine */
    dt_access_t apart[2] = { { ok, buf, 16, 0, 0 }, { DT_IN, buf + 16, 8, 0, 0 } };
    ck_assert_int_eq(dt_task_create(t, NULL, 0, apart, 2, NULL), DT_OK);
    ck_assert_int_eq(create1(DT_REDUCTION | DT_RED_PROD | DT_RED_F32 | DT_WEAK, buf + 32, 8), DT_OK);
    tu_assert_alive();
    TU_FINI();
}
END_TEST

START_TEST(create_attr)
{
    TU_INIT();
    dt_type_t t = TU_TYPE(nop_task);
    dt_task_attr_t at = { 0, 5, "five", 0 };
    ck_assert_int_eq(dt_task_create(t, NULL, 0, NULL, 0, &at), DT_ERANGE);
    at.node = -2;
    ck_assert_int_eq(dt_task_create(t, NULL, 0, NULL, 0, &at), DT_ERANGE);
    at.node = 1;
    ck_assert_int_eq(dt_task_create(t, NULL, 0, NULL, 0, &at), DT_ERANGE);
    at.node = INT_MIN;
    ck_assert_int_eq(dt_task_create(t, NULL, 0, NULL, 0, &at), DT_ERANGE);
    at.node = 0;
    at.flags = 0x4;
    ck_assert_int_eq(dt_task_create(t, NULL, 0, NULL, 0, &at), DT_EINVAL);
    at.flags = 0x80000000u | DT_TASK_IF0;
    ck_assert_int_eq(dt_task_create(t, NULL, 0, NULL, 0, &at), DT_EINVAL);
    at.flags = DT_TASK_IF0 | DT_TASK_FINAL;
    ck_assert_int_eq(dt_task_create(t, NULL, 0, NULL, 0, &at), DT_OK);
    at.node = DT_NODE_ANY;
    at.priority = -100;
    ck_assert_int_eq(dt_task_create(t, NULL, 0, NULL, 0, &at), DT_OK);
    tu_assert_alive();
    TU_FINI();
}
END_TEST

/* ---- children outside their parent ------------------------------------------- */

enum { NCHILD = 12 };
static int child_rc[NCHILD];
static atomic_int child_ran;
static int pbuf[16];     /* the parent: inout on [0,8), in on [8,16) */
static int other;

static void count_child(void *a) { (void)a; atomic_fetch_add(&child_ran, 1); }

static int child(unsigned mode, void *addr, size_t size, size_t rows, size_t stride)
{
    dt_access_t a = { mode, addr, size, rows, stride };
    return dt_task_create(TU_TYPE(count_child), NULL, 0, &a, 1, NULL);
}

static void parent_task(void *a)
{
    (void)a;
    int i = 0;
    child_rc[i++] = child(DT_IN, &pbuf[4], 8 * sizeof(int), 0, 0);          /* spans both: ok */
    child_rc[i++] = child(DT_OUT, &pbuf[4], 8 * sizeof(int), 0, 0);         /* writes in the in part */
    child_rc[i++] = child(DT_OUT, &pbuf[0], 8 * sizeof(int), 0, 0);         /* ok */
    child_rc[i++] = child(DT_IN, &pbuf[14], 4 * sizeof(int), 0, 0);         /* sticks out */
    child_rc[i++] = child(DT_IN, &other, sizeof other, 0, 0);               /* elsewhere */
    child_rc[i++] = child(DT_CONCURRENT, &pbuf[9], sizeof(int), 0, 0);      /* writes in the in part */
    child_rc[i++] = child(DT_IN, &pbuf[1], sizeof(int), 4, 4 * sizeof(int)); /* tile inside: ok */
    child_rc[i++] = child(DT_OUT, &pbuf[1], sizeof(int), 4, 4 * sizeof(int)); /* rows 2, 3 in the in part */
    child_rc[i++] = child(DT_IN, &other, 0, 0, 0);                          /* size 0: ignored */
    dt_access_t on_out = { DT_IN, &other, sizeof other, 0, 0 };
    child_rc[i++] = dt_taskwait_on(&on_out, 1);                             /* elsewhere */
    dt_access_t on_in = { DT_IN, &pbuf[8], 8 * sizeof(int), 0, 0 };
    child_rc[i++] = dt_taskwait_on(&on_in, 1);                              /* inside: ok */
    child_rc[i++] = dt_taskwait();
}

START_TEST(child_outside_parent)
{
    TU_INIT();
    dt_access_t pa[2] = { { DT_INOUT, &pbuf[0], 8 * sizeof(int), 0, 0 },
                          { DT_IN, &pbuf[8], 8 * sizeof(int), 0, 0 } };
    static const int want[NCHILD] = { DT_OK, DT_EINVAL, DT_OK, DT_EINVAL, DT_EINVAL, DT_EINVAL,
                                      DT_OK, DT_EINVAL, DT_OK, DT_EINVAL, DT_OK, DT_OK };
    ck_assert_int_eq(dt_task_create(TU_TYPE(parent_task), NULL, 0, pa, 2, NULL), DT_OK);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    for (int i = 0; i < NCHILD; i++)
        ck_assert_msg(child_rc[i] == want[i], "child %d: got %d, want %d", i, child_rc[i], want[i]);
    ck_assert_int_eq(tu_get(&child_ran), 4);
    /* the main program may access anything */
    ck_assert_int_eq(child(DT_OUT, &other, sizeof other, 0, 0), DT_OK);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    ck_assert_int_eq(tu_get(&child_ran), 5);
    tu_assert_alive();
    TU_FINI();
}
END_TEST

static int weak_rc[2];
static void weak_parent_task(void *a)
{
    (void)a;
    weak_rc[0] = child(DT_OUT, &pbuf[0], sizeof(int), 0, 0);
    weak_rc[1] = child(DT_IN, &pbuf[0], sizeof(int), 0, 0);
}

START_TEST(child_write_in_weak_in)
{
    TU_INIT();
    dt_access_t pa = { DT_IN | DT_WEAK, pbuf, sizeof pbuf, 0, 0 };
    ck_assert_int_eq(dt_task_create(TU_TYPE(weak_parent_task), NULL, 0, &pa, 1, NULL), DT_OK);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    ck_assert_int_eq(weak_rc[0], DT_EINVAL);
    ck_assert_int_eq(weak_rc[1], DT_OK);
    ck_assert_int_eq(tu_get(&child_ran), 1);
    tu_assert_alive();
    TU_FINI();
}
END_TEST

/* ---- dt_taskwait_on ---------------------------------------------------------- */

START_TEST(taskwait_on_errors)
{
    TU_INIT();
    dt_access_t a[2] = { { DT_IN, buf, 8, 0, 0 }, { DT_IN, buf, 8, 0, 0 } };
    ck_assert_int_eq(dt_taskwait_on(NULL, 1), DT_EFAULT);
    ck_assert_int_eq(dt_taskwait_on(NULL, 0), DT_OK);
    ck_assert_int_eq(dt_taskwait_on(a, 0), DT_OK);
    a[1].mode = 0;
    ck_assert_int_eq(dt_taskwait_on(a, 2), DT_EMODE);
    a[1].mode = DT_IN | DT_RED_SUM;
    ck_assert_int_eq(dt_taskwait_on(a, 2), DT_EMODE);
    a[1].mode = DT_REDUCTION | DT_RED_SUM;
    ck_assert_int_eq(dt_taskwait_on(a, 2), DT_EREDUCTION);
    a[1] = (dt_access_t){ DT_IN, NULL, 8, 0, 0 };
    ck_assert_int_eq(dt_taskwait_on(a, 2), DT_EFAULT);
    a[1] = (dt_access_t){ DT_IN, (void *)(UINTPTR_MAX - 3), 8, 0, 0 };
    ck_assert_int_eq(dt_taskwait_on(a, 2), DT_EOVERFLOW);
    a[1] = (dt_access_t){ DT_IN, buf, 8, 3, SIZE_MAX / 2 };
    ck_assert_int_eq(dt_taskwait_on(a, 2), DT_EOVERFLOW);
    a[1] = (dt_access_t){ DT_IN, buf, 8, 3, 4 };
    ck_assert_int_eq(dt_taskwait_on(a, 2), DT_EINVAL);
    a[1] = (dt_access_t){ DT_INOUT, buf + 8, 8, 3, 16 };
    ck_assert_int_eq(dt_taskwait_on(a, 2), DT_OK);
    tu_assert_alive();
    TU_FINI();
}
END_TEST

/* ---- memory ------------------------------------------------------------------ */

START_TEST(free_errors)
{
    TU_INIT();
    char *d = dt_dmalloc(256), *l = dt_lmalloc(256), *m = malloc(256);
    ck_assert_ptr_nonnull(d);
    ck_assert_ptr_nonnull(l);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(dt_dfree(NULL), DT_OK);
    ck_assert_int_eq(dt_lfree(NULL), DT_OK);
    ck_assert_int_eq(dt_dfree(m), DT_EINVAL);
    ck_assert_int_eq(dt_lfree(m), DT_EINVAL);
    ck_assert_int_eq(dt_dfree(buf), DT_EINVAL);
    ck_assert_int_eq(dt_dfree(l), DT_EINVAL);      /* the other allocator's */
    ck_assert_int_eq(dt_lfree(d), DT_EINVAL);
    ck_assert_int_eq(dt_dfree(d + 1), DT_EINVAL);  /* interior */
    ck_assert_int_eq(dt_dfree(d + 64), DT_EINVAL);
    ck_assert_int_eq(dt_dfree(d + 128), DT_EINVAL);
    ck_assert_int_eq(dt_dfree(d - 64), DT_EINVAL);
    ck_assert_int_eq(dt_lfree(l + 64), DT_EINVAL);
    ck_assert_int_eq(dt_dfree(d + 4096), DT_EINVAL);  /* past the last block */
    ck_assert_int_eq(dt_dfree(d), DT_OK);
    ck_assert_int_eq(dt_dfree(d), DT_EINVAL);      /* twice */
    ck_assert_int_eq(dt_lfree(l), DT_OK);
    ck_assert_int_eq(dt_lfree(l), DT_EINVAL);
    free(m);
    tu_assert_alive();
    TU_FINI();
}
END_TEST

START_TEST(double_free_after_merge)
{
    TU_INIT();
    char *a = dt_dmalloc(100), *b = dt_dmalloc(100), *c = dt_dmalloc(100);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(dt_dfree(b), DT_OK);
    ck_assert_int_eq(dt_dfree(a), DT_OK);          /* merges with b */
    ck_assert_int_eq(dt_dfree(b), DT_EINVAL);
    ck_assert_int_eq(dt_dfree(a), DT_EINVAL);
    ck_assert_int_eq(dt_dfree(c), DT_OK);          /* the last block */
    ck_assert_int_eq(dt_dfree(c), DT_EINVAL);
    ck_assert_int_eq(dt_dfree(a), DT_EINVAL);
    tu_assert_alive();
    TU_FINI();
}
END_TEST

/* ---- out of memory --------------------------------------------------------
 * Sizes no memory could hold are refused before anything is allocated; an
 * allocation that fails returns DT_ENOMEM with nothing half linked.  Both
 * ended the process ("fatal: out of memory", SIGABRT) before. */

static const char *label = "big";

START_TEST(enomem_absurd)
{
    tu_workers(2);
    TU_INIT();
    dt_type_t t = TU_TYPE(nop_task);
    dt_task_attr_t at = { 0, DT_NODE_ANY, label, 0 };
    ck_assert_int_eq(dt_task_create(t, buf, SIZE_MAX, NULL, 0, &at), DT_ELIMIT);
    ck_assert_int_eq(dt_task_create(t, buf, DT_ARGS_MAX + 1, NULL, 0, &at), DT_ELIMIT);
    dt_access_t a = { DT_INOUT, buf, 8, 0, 0 };
    ck_assert_int_eq(dt_task_create(t, buf, SIZE_MAX, &a, 1, &at), DT_ELIMIT);
    /* 2^30 rows of 8 bytes: 8 GiB of address space, but ~2^30 fragments */
    uint64_t t0 = tu_now_ms();
    ck_assert_int_eq(create2d(DT_INOUT, buf, 8, (size_t)1 << 30, 8), DT_ENOMEM);
    dt_access_t two[2] = { { DT_IN, buf, 8, (size_t)1 << 29, 8 }, { DT_IN, buf, 8, SIZE_MAX / 16, 8 } };
    ck_assert_int_eq(dt_task_create(t, NULL, 0, two, 2, NULL), DT_ENOMEM);
    ck_assert_int_eq(dt_taskwait_on(two, 1), DT_ENOMEM);
    ck_assert_uint_lt(tu_now_ms() - t0, 1000);   /* refused, not attempted */
    tu_assert_alive();
    TU_FINI();
}
END_TEST

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#include <sys/resource.h>

/* The process's address space now, from /proc (VmSize). */
static size_t vm_size(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    ck_assert_ptr_nonnull(f);
    char line[256];
    size_t kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmSize: %zu kB", &kb) == 1) break;
    fclose(f);
    ck_assert_uint_gt(kb, 0);
    return kb << 10;
}

static char *big_args;

/* Allocations that fail for real: the address space is capped 128 MiB above
 * what the running runtime uses (the sanitizers' shadow memory cannot live
 * under such a cap: not run under them).  With 64 MiB, one run in ~15 full
 * suites died of SIGSEGV: an internal allocation of another thread (not one
 * that can return a code) failed under the cap; left in the note. */
START_TEST(enomem_real)
{
    tu_workers(2);
    TU_INIT();
    tu_assert_alive();
    dt_type_t t = TU_TYPE(nop_task);
    big_args = malloc((size_t)256 << 20);       /* before the cap */
    ck_assert_ptr_nonnull(big_args);
    struct rlimit old, cap;
    ck_assert_int_eq(getrlimit(RLIMIT_AS, &old), 0);
    cap = old;
    cap.rlim_cur = vm_size() + ((size_t)128 << 20);
    ck_assert_int_eq(setrlimit(RLIMIT_AS, &cap), 0);
    dt_task_attr_t at = { 0, DT_NODE_ANY, label, 0 };
    /* args: copied into a 256 MiB block that cannot be had */
    ck_assert_int_eq(dt_task_create(t, big_args, (size_t)256 << 20, NULL, 0, &at), DT_ENOMEM);
    dt_access_t a = { DT_INOUT, buf, 8, 0, 0 };
    ck_assert_int_eq(dt_task_create(t, big_args, (size_t)256 << 20, &a, 1, &at), DT_ENOMEM);
    /* 2^23 rows: ~1 GiB of fragments, within physical memory but not the cap */
    ck_assert_int_eq(create2d(DT_INOUT, buf, 8, (size_t)1 << 23, 8), DT_ENOMEM);
    dt_access_t rows = { DT_INOUT, buf, 8, (size_t)1 << 23, 8 };
    ck_assert_int_eq(dt_taskwait_on(&rows, 1), DT_ENOMEM);
    /* the runtime goes on, under the cap too */
    tu_assert_alive();
    ck_assert_int_eq(create2d(DT_INOUT, buf, 8, 16, 8), DT_OK);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    ck_assert_int_eq(setrlimit(RLIMIT_AS, &old), 0);
    ck_assert_int_eq(dt_task_create(t, big_args, (size_t)256 << 20, &a, 1, &at), DT_OK);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    free(big_args);
    TU_FINI();
}
END_TEST
#endif

START_TEST(malloc_errors)
{
    TU_INIT();
    ck_assert_ptr_null(dt_dmalloc(0));
    ck_assert_ptr_null(dt_lmalloc(0));
    ck_assert_ptr_null(dt_dmalloc(SIZE_MAX));
    ck_assert_ptr_null(dt_dmalloc(SIZE_MAX - 63));
    ck_assert_ptr_null(dt_lmalloc(SIZE_MAX));
    ck_assert_ptr_null(dt_dmalloc((size_t)1 << 31));      /* default DT_DMEM_SIZE is 1G */
    ck_assert_ptr_null(dt_dmalloc((size_t)1 << 30));      /* no room for the header */
    ck_assert_ptr_null(dt_lmalloc((size_t)512 << 20));    /* default DT_LMEM_SIZE is 256M */
    void *p = dt_dmalloc(64);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(dt_dfree(p), DT_OK);
    tu_assert_alive();
    TU_FINI();
}
END_TEST

/* ---- dt_taskiter ------------------------------------------------------------- */

START_TEST(taskiter_errors)
{
    TU_INIT();
    dt_type_t t = TU_TYPE(nop_task);
    ck_assert_int_eq(dt_taskiter(t, NULL, 0, -1), DT_EINVAL);
    ck_assert_int_eq(dt_taskiter(t, NULL, 0, LONG_MIN), DT_EINVAL);
    ck_assert_int_eq(dt_taskiter(-1, NULL, 0, 1), DT_ETYPE);
    ck_assert_int_eq(dt_taskiter(t + 1, NULL, 0, 1), DT_ETYPE);
    ck_assert_int_eq(dt_taskiter(t, NULL, 4, 1), DT_EFAULT);
    ck_assert_int_eq(dt_taskiter(t, NULL, 0, 0), DT_OK);
    tu_assert_alive();
    TU_FINI();
}
END_TEST

/* ---- dt_strerror ------------------------------------------------------------- */

START_TEST(strerror_all)
{
    /* before dt_init, on purpose */
    const char *s[19];
    for (int c = 0; c >= DT_ETASKITER; c--) {
        s[-c] = dt_strerror(c);
        ck_assert_ptr_nonnull(s[-c]);
        ck_assert_msg(*s[-c] && strcmp(s[-c], "unknown error"), "code %d: '%s'", c, s[-c]);
        for (int d = 0; d > c; d--)
            ck_assert_msg(strcmp(s[-c], s[-d]), "codes %d and %d share '%s'", c, d, s[-c]);
    }
    static const int unknown[] = { 1, DT_ETASKITER - 1, 100, -1000, INT_MIN, INT_MAX };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        ck_assert_str_eq(dt_strerror(unknown[i]), "unknown error");
    TU_INIT();
    ck_assert_str_eq(dt_strerror(DT_ETYPE), s[-DT_ETYPE]);
    TU_FINI();
    ck_assert_str_eq(dt_strerror(DT_EMODE), s[-DT_EMODE]);
}
END_TEST

/* ---- DT_VERBOSE -------------------------------------------------------------- */

START_TEST(verbose_lines)
{
    setenv("DT_VERBOSE", "1", 1);
    tu_capture c = tu_stderr_begin();
    ck_assert_int_eq(dt_taskwait(), DT_ENOTINIT);
    char *out = tu_stderr_end(c);
    ck_assert_int_eq(tu_count_lines(out), 1);
    ck_assert_ptr_nonnull(strstr(out, "dt_taskwait"));
    free(out);

    TU_INIT();
    dt_task_attr_t at = { 0, DT_NODE_ANY, "my-label", 0 };
    c = tu_stderr_begin();
    ck_assert_int_eq(dt_task_create(-3, NULL, 0, NULL, 0, &at), DT_ETYPE);
    out = tu_stderr_end(c);
    ck_assert_int_eq(tu_count_lines(out), 1);
    ck_assert_ptr_nonnull(strstr(out, "dt_task_create"));
    ck_assert_ptr_nonnull(strstr(out, "my-label"));
    ck_assert_ptr_nonnull(strstr(out, "rank 0"));
    free(out);

    c = tu_stderr_begin();
    ck_assert_int_eq(dt_dfree(buf), DT_EINVAL);
    out = tu_stderr_end(c);
    ck_assert_int_eq(tu_count_lines(out), 1);
    ck_assert_ptr_nonnull(strstr(out, "dt_dfree"));
    free(out);

    /* a valid run says nothing */
    c = tu_stderr_begin();
    tu_assert_alive();
    out = tu_stderr_end(c);
    ck_assert_str_eq(out, "");
    free(out);
    TU_FINI();
}
END_TEST

START_TEST(quiet_by_default)
{
    unsetenv("DT_VERBOSE");
    TU_INIT();
    tu_capture c = tu_stderr_begin();
    ck_assert_int_eq(dt_task_create(-3, NULL, 0, NULL, 0, NULL), DT_ETYPE);
    ck_assert_int_eq(dt_dfree(buf), DT_EINVAL);
    char *out = tu_stderr_end(c);
    ck_assert_str_eq(out, "");
    free(out);
    tu_assert_alive();
    TU_FINI();
}
END_TEST

static Suite *errors_suite(void)
{
    Suite *s = suite_create("errors");
    TCase *tc = tu_tcase(s, "lifecycle");
    tcase_add_test(tc, before_init);
    tcase_add_test(tc, after_finalize);
    tcase_add_test(tc, init_twice);
    tcase_add_test(tc, finalize_inside_task);
    tcase_add_test(tc, main_errors);
    tc = tu_tcase(s, "types");
    tcase_add_test(tc, type_register);
    tcase_add_test(tc, type_limit);
    tc = tu_tcase(s, "create");
    tcase_add_test(tc, create_type);
    tcase_add_test(tc, create_fault);
    tcase_add_test(tc, create_mode);
    tcase_add_test(tc, create_overflow);
    tcase_add_test(tc, create_rows);
    tcase_add_test(tc, create_reduction);
    tcase_add_test(tc, create_attr);
    tcase_add_test(tc, child_outside_parent);
    tcase_add_test(tc, child_write_in_weak_in);
    tcase_add_test(tc, taskwait_on_errors);
    tc = tu_tcase(s, "memory");
    tcase_add_test(tc, free_errors);
    tcase_add_test(tc, double_free_after_merge);
    tcase_add_test(tc, malloc_errors);
    tcase_add_test(tc, enomem_absurd);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    tcase_add_test(tc, enomem_real);
#endif
    tc = tu_tcase(s, "misc");
    tcase_add_test(tc, taskiter_errors);
    tcase_add_test(tc, strerror_all);
    tcase_add_test(tc, verbose_lines);
    tcase_add_test(tc, quiet_by_default);
    return s;
}

TU_MAIN(errors_suite)
