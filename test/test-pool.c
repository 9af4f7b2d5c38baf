/* test-pool.c - the size-class block pools of lib/base/pool.h: every size
 * gets a usable (16-byte aligned) block, freed blocks come back, and blocks
 * freed by another thread reach the allocating thread through the central
 * batches, even those still in the other thread's lists when it left. */
#include <pthread.h>
#include "base/pool.h"
#include "test_util.h"

START_TEST(sizes_are_usable)
{
    /* every size up to the largest class and past it: the whole block is ours */
    for (size_t z = 1; z <= DT__POOL_MAX + 100; z += z < 300 ? 1 : 97) {
        unsigned char *p = dt__pool_alloc(z);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq((uintptr_t)p % 16, 0);
        memset(p, 0xA5, z);
        dt__pool_free(p, z);
    }
    dt__pool_thread_exit();
}
END_TEST

START_TEST(same_thread_reuse)
{
    /* a freed block is the next one of its class, and sizes of one class share */
    void *a = dt__pool_alloc(1760);
    dt__pool_free(a, 1760);
    void *b = dt__pool_alloc(1700);
    ck_assert_ptr_eq(a, b);
    /* a size of another class does not get it */
    dt__pool_free(b, 1700);
    void *c = dt__pool_alloc(1000);
    ck_assert_ptr_ne(c, b);
    dt__pool_free(c, 1000);
    dt__pool_thread_exit();
}
END_TEST

enum { N = 4096 };
static void *blocks[N];

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;
    return (x > y) - (x < y);
}

static void *free_all(void *arg)
{
    (void)arg;
    for (int i = 0; i < N; i++) dt__pool_free(blocks[i], 1000);
    dt__pool_thread_exit();
    return NULL;
}

START_TEST(cross_thread_batches)
{
    /* blocks allocated here and freed by another thread come back here */
    static void *old[N];
    for (int i = 0; i < N; i++) ck_assert_ptr_nonnull(old[i] = blocks[i] = dt__pool_alloc(1000));
    qsort(old, N, sizeof *old, cmp_ptr);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, free_all, NULL), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    /* the other thread passed on all of them: whole batches while it ran,
       its partial lists when it left (pool memory is never given back) */
    int back = 0;
    for (int i = 0; i < N; i++) {
        blocks[i] = dt__pool_alloc(1000);
        back += bsearch(&blocks[i], old, N, sizeof *old, cmp_ptr) != NULL;
    }
    ck_assert_int_eq(back, N);
    for (int i = 0; i < N; i++) dt__pool_free(blocks[i], 1000);
    dt__pool_thread_exit();
}
END_TEST

static Suite *pool_suite(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tu_tcase(s, "pool");
    tcase_add_test(tc, sizes_are_usable);
    tcase_add_test(tc, same_thread_reuse);
    tcase_add_test(tc, cross_thread_batches);
    return s;
}

TU_MAIN(pool_suite)
