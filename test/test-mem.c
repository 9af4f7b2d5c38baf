/* test-mem.c - dt_dmalloc / dt_lmalloc: alignment, live blocks never share
 * bytes, freed space is reused and coalesced, and dt__mem_contains. */
#include "mem/mem.h"
#include "test_util.h"

typedef void *(*alloc_fn)(size_t);
typedef int (*free_fn)(void *);
static const struct arena { const char *env; alloc_fn alloc; free_fn free; } arenas[2] = {
    { "DT_DMEM_SIZE", dt_dmalloc, dt_dfree },
    { "DT_LMEM_SIZE", dt_lmalloc, dt_lfree },
};

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint64_t rnd(void)
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return rng;
}

START_TEST(alignment)
{
    const struct arena *a = &arenas[_i];
    TU_INIT();
    void *p[300];
    for (int i = 0; i < 300; i++) {
        size_t size = i < 200 ? (size_t)i + 1 : 1 + rnd() % 100000;
        p[i] = a->alloc(size);
        TU_REQUIRE(p[i] != NULL);
        TU_REQUIRE((uintptr_t)p[i] % 64 == 0);
        memset(p[i], 0xA5, size);        /* every byte is usable */
    }
    for (int i = 0; i < 300; i += 2) TU_REQUIRE(a->free(p[i]) == DT_OK);
    for (int i = 0; i < 100; i++) {
        void *q = a->alloc(1 + rnd() % 5000);
        TU_REQUIRE(q && (uintptr_t)q % 64 == 0);
    }
    TU_FINI();
}
END_TEST

typedef struct live { unsigned char *p; size_t size; unsigned char tag; } live;

static void check_live(const live *l, int n)
{
    for (int i = 0; i < n; i++) {
        if (!l[i].p) continue;
        for (size_t j = 0; j < l[i].size; j++)
            TU_REQUIRE(l[i].p[j] == l[i].tag);
    }
}

/* Random allocations and frees; each live block is filled with its own tag
 * and checked whole after every step, so a shared byte shows. */
START_TEST(no_overlap)
{
    const struct arena *a = &arenas[_i];
    setenv(a->env, "8M", 1);
    TU_INIT();
    enum { N = 64 };
    live l[N] = { { 0 } };
    for (int step = 0; step < 3000; step++) {
        int k = (int)(rnd() % N);
        if (l[k].p) {
            TU_REQUIRE(a->free(l[k].p) == DT_OK);
            l[k].p = NULL;
        } else {
            size_t size = 1 + (rnd() % 4 ? rnd() % 2000 : rnd() % 200000);
            l[k].p = a->alloc(size);
            TU_REQUIRE(l[k].p != NULL);
            l[k].size = size;
            l[k].tag = (unsigned char)(step | 1);
            memset(l[k].p, l[k].tag, size);
        }
        if (step % 10 == 0) check_live(l, N);
    }
    check_live(l, N);
    /* and the ranges are disjoint as ranges, not just by content */
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            if (i != j && l[i].p && l[j].p)
                TU_REQUIRE(l[i].p + l[i].size <= l[j].p || l[j].p + l[j].size <= l[i].p);
    TU_FINI();
}
END_TEST

/* Fill the arena, free one block in the middle: only that space can take a
 * block of its size, and it does. */
START_TEST(reuse)
{
    const struct arena *a = &arenas[_i];
    setenv(a->env, "1M", 1);
    TU_INIT();
    enum { B = 60000 };
    void *p[64];
    int n = 0;
    while (n < 64 && (p[n] = a->alloc(B))) n++;
    ck_assert_int_ge(n, 10);
    ck_assert_int_lt(n, 64);
    ck_assert_ptr_null(a->alloc(B));
    void *mid = p[n / 2];
    ck_assert_int_eq(a->free(mid), DT_OK);
    ck_assert_ptr_null(a->alloc(B + 4096));      /* larger than the hole */
    ck_assert_ptr_eq(a->alloc(B), mid);
    ck_assert_ptr_null(a->alloc(B));
    /* the last block too */
    void *last = p[n - 1];
    ck_assert_int_eq(a->free(last), DT_OK);
    ck_assert_ptr_eq(a->alloc(B), last);
    TU_FINI();
}
END_TEST

/* Many small blocks freed in a scrambled order must merge back into one
 * space able to hold a block almost as large as the arena. */
START_TEST(coalesce)
{
    const struct arena *a = &arenas[_i];
    setenv(a->env, "1M", 1);
    TU_INIT();
    ck_assert_ptr_null(a->alloc((size_t)1 << 20));
    enum { N = 2000 };
    static void *p[N];
    int n = 0;
    for (; n < N; n++) {
        p[n] = a->alloc(1 + (size_t)(n * 37 % 700));
        if (!p[n]) break;
    }
    ck_assert_int_ge(n, 1000);
    for (int i = n - 1; i > 0; i--) {              /* shuffle */
        int j = (int)(rnd() % (uint64_t)(i + 1));
        void *t = p[i]; p[i] = p[j]; p[j] = t;
    }
    for (int i = 0; i < n; i++) TU_REQUIRE(a->free(p[i]) == DT_OK);
    void *big = a->alloc((1u << 20) - 4096);
    ck_assert_ptr_nonnull(big);
    ck_assert_int_eq(a->free(big), DT_OK);
    /* again with frees that leave holes first (evens, then odds) */
    for (n = 0; n < N && (p[n] = a->alloc(500)); n++) {}
    for (int i = 0; i < n; i += 2) TU_REQUIRE(a->free(p[i]) == DT_OK);
    ck_assert_ptr_null(a->alloc(2000));            /* only 500-byte holes */
    for (int i = 1; i < n; i += 2) TU_REQUIRE(a->free(p[i]) == DT_OK);
    ck_assert_ptr_nonnull(big = a->alloc((1u << 20) - 4096));
    TU_FINI();
}
END_TEST

START_TEST(contains)
{
    char stack_var[64];
    ck_assert(!dt__mem_contains((uintptr_t)stack_var, 1));
    unsetenv("DT_LMEM_SIZE");
    TU_INIT();
    char *d = dt_dmalloc(1000), *l = dt_lmalloc(1000), *m = malloc(1000);
    ck_assert_ptr_nonnull(m);
    ck_assert(dt__mem_contains((uintptr_t)d, 1000));
    ck_assert(dt__mem_contains((uintptr_t)d, 0));
    ck_assert(dt__mem_contains((uintptr_t)l, 1000));
    ck_assert(dt__mem_contains((uintptr_t)d + 999, 1));
    ck_assert(!dt__mem_contains((uintptr_t)m, 1));
    ck_assert(!dt__mem_contains((uintptr_t)stack_var, 64));
    ck_assert(!dt__mem_contains((uintptr_t)d, SIZE_MAX));
    ck_assert(!dt__mem_contains(0, 1));
    ck_assert(!dt__mem_contains(UINTPTR_MAX, 1));
    /* both arenas are one range, from d's header to the end of l's 256M arena
     * (the first block of each arena sits right after its 64-byte header) */
    uintptr_t lo = (uintptr_t)d - 64, hi = (uintptr_t)l - 64 + ((size_t)256 << 20);
    ck_assert(lo < (uintptr_t)l);
    ck_assert(dt__mem_contains(lo, 1));
    ck_assert(!dt__mem_contains(lo - 1, 1));
    ck_assert(!dt__mem_contains(lo - 1, 2));
    ck_assert(dt__mem_contains(hi - 1, 1));
    ck_assert(dt__mem_contains(lo, hi - lo));
    ck_assert(!dt__mem_contains(hi - 1, 2));
    ck_assert(!dt__mem_contains(lo, hi - lo + 1));
    free(m);
    TU_FINI();
    ck_assert(!dt__mem_contains((uintptr_t)d, 1));
}
END_TEST

/* Threads allocating and freeing at once (tasks on two workers). */
static atomic_int alloc_bad;
static void alloc_task(void *args)
{
    int seed;
    memcpy(&seed, args, sizeof seed);
    unsigned char *p[16];
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 16; i++) {
            size_t size = 1 + (size_t)((seed * 131 + i * 17 + round) % 3000);
            p[i] = i % 2 ? dt_dmalloc(size) : dt_lmalloc(size);
            if (!p[i]) { atomic_store(&alloc_bad, 1); return; }
            memset(p[i], seed, 64);
        }
        for (int i = 0; i < 16; i++) {
            for (int j = 0; j < 64; j++)
                if (p[i][j] != (unsigned char)seed) atomic_store(&alloc_bad, 2);
            if ((i % 2 ? dt_dfree(p[i]) : dt_lfree(p[i])) != DT_OK) atomic_store(&alloc_bad, 3);
        }
    }
}

START_TEST(threads)
{
    tu_workers(2);
    TU_INIT();
    dt_type_t t = TU_TYPE(alloc_task);
    for (int i = 0; i < 64; i++)
        ck_assert_int_eq(dt_task_create(t, &i, sizeof i, NULL, 0, NULL), DT_OK);
    ck_assert_int_eq(dt_taskwait(), DT_OK);
    ck_assert_int_eq(tu_get(&alloc_bad), 0);
    TU_FINI();
}
END_TEST

static Suite *mem_suite(void)
{
    Suite *s = suite_create("mem");
    TCase *tc = tu_tcase(s, "mem");
    tcase_add_loop_test(tc, alignment, 0, 2);
    tcase_add_loop_test(tc, no_overlap, 0, 2);
    tcase_add_loop_test(tc, reuse, 0, 2);
    tcase_add_loop_test(tc, coalesce, 0, 2);
    tcase_add_test(tc, contains);
    tcase_add_test(tc, threads);
    return s;
}

TU_MAIN(mem_suite)
