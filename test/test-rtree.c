/* test-rtree.c - the AVL fragment tree of lib/rtree.h, driven directly and
 * compared with a flat model after every operation. */
#include "base/rtree.h"
#include "test_util.h"

/* The model: slot k may hold one range inside [k*16, k*16+16). */
enum { SLOTS = 512, W = 16 };
static dt__frag *node[SLOTS];
static dt__rtree tree;

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return rng;
}

static dt__frag *mk(uintptr_t s, uintptr_t e)
{
    dt__frag *f = calloc(1, sizeof *f);
    ck_assert_ptr_nonnull(f);
    f->start = s;
    f->end = e;
    /* tags that must travel with the range when remove moves contents */
    f->cur = (struct dt__group *)(s * 2 + 1);
    f->barrier = (struct dt__group *)(e * 2 + 1);
    return f;
}

static void insert_slot(int k)
{
    uintptr_t a = rnd() % W, b = a + 1 + rnd() % (W - a);
    node[k] = mk((uintptr_t)k * W + a, (uintptr_t)k * W + b);
    /* from the root, or next to its in-order neighbour (as walks split) */
    int p = k - 1, n = k + 1;
    while (p >= 0 && !node[p]) p--;
    while (n < SLOTS && !node[n]) n++;
    uint64_t how = rnd() % 3;
    if (how == 1 && p >= 0) dt__rtree_insert_after(&tree, node[p], node[k]);
    else if (how == 2 && n < SLOTS) dt__rtree_insert_before(&tree, node[n], node[k]);
    else dt__rtree_insert(&tree, node[k]);
}

/* Removes slot k's node; the node that left may be another slot's. */
static void remove_slot(int k)
{
    dt__frag *f = node[k], *gone = dt__rtree_remove(&tree, f);
    node[k] = NULL;
    if (gone != f) {
        int moved = (int)(gone->start / W);
        TU_REQUIRE(node[moved] == gone);
        TU_REQUIRE(f->start == gone->start);
        TU_REQUIRE(f->end == gone->end);
        TU_REQUIRE(f->cur == gone->cur);
        TU_REQUIRE(f->barrier == gone->barrier);
        node[moved] = f;
    }
    free(gone);
}

static void check_against_model(void)
{
    TU_REQUIRE(dt__rtree_check(&tree) == 0);
    size_t n = 0;
    dt__frag *f = dt__rtree_first(&tree), *last = NULL;
    for (int k = 0; k < SLOTS; k++) {
        if (!node[k]) continue;
        n++;
        TU_REQUIRE(f == node[k]);
        TU_REQUIRE(f->cur == (struct dt__group *)(f->start * 2 + 1));
        if (last) TU_REQUIRE(dt__rtree_prev(f) == last);
        last = f;
        f = dt__rtree_next(f);
    }
    TU_REQUIRE(!f);
    TU_REQUIRE(tree.count == n);
    if (!n) {
        TU_REQUIRE(!tree.root);
        TU_REQUIRE(!dt__rtree_first(&tree));
    } else {
        TU_REQUIRE(!dt__rtree_prev(dt__rtree_first(&tree)));
    }
}

/* What lookup must answer: the range holding addr, else the next one. */
static dt__frag *model_lookup(uintptr_t addr)
{
    for (int k = (int)(addr / W); k < SLOTS; k++) {
        if (!node[k]) continue;
        if (node[k]->end > addr) return node[k];
    }
    return NULL;
}

static void check_lookups(int n)
{
    for (int i = 0; i < n; i++) {
        uintptr_t addr = rnd() % (SLOTS * W + 32);
        TU_REQUIRE(dt__rtree_lookup(&tree, addr) == model_lookup(addr));
    }
}

START_TEST(random_ops)
{
    rng += (uint64_t)_i * 0x9E3779B97F4A7C15ull;
    for (int op = 0; op < 6000; op++) {
        int k = (int)(rnd() % SLOTS);
        /* grow for a while, then shrink to empty */
        bool grow = op < 3000 ? rnd() % 4 != 0 : rnd() % 4 == 0;
        if (!node[k] && grow) insert_slot(k);
        else if (node[k] && !grow) remove_slot(k);
        else continue;
        check_against_model();
        if (op % 16 == 0) check_lookups(64);
    }
    for (int k = 0; k < SLOTS; k++)
        if (node[k]) {
            remove_slot(k);
            check_against_model();
        }
    ck_assert_uint_eq(tree.count, 0);
    ck_assert_ptr_null(tree.root);
}
END_TEST

/* Increasing and decreasing insertion orders force every rotation. */
START_TEST(sorted_inserts)
{
    for (int k = 0; k < SLOTS; k++) {
        insert_slot(_i ? SLOTS - 1 - k : k);
        check_against_model();
    }
    ck_assert_int_le(tree.root->height, 10);    /* AVL: <= 1.44 log2(512) */
    check_lookups(2000);
    for (int k = 0; k < SLOTS; k++) {
        remove_slot(k);
        check_against_model();
    }
}
END_TEST

START_TEST(lookup_semantics)
{
    ck_assert_ptr_null(dt__rtree_lookup(&tree, 0));
    dt__frag *a = mk(10, 20), *b = mk(20, 25), *c = mk(40, 50);
    dt__rtree_insert(&tree, c);
    dt__rtree_insert(&tree, a);
    dt__rtree_insert(&tree, b);
    ck_assert_int_eq(dt__rtree_check(&tree), 0);
    ck_assert_ptr_eq(dt__rtree_lookup(&tree, 0), a);    /* before all: the first */
    ck_assert_ptr_eq(dt__rtree_lookup(&tree, 9), a);
    ck_assert_ptr_eq(dt__rtree_lookup(&tree, 10), a);
    ck_assert_ptr_eq(dt__rtree_lookup(&tree, 19), a);
    ck_assert_ptr_eq(dt__rtree_lookup(&tree, 20), b);   /* end is exclusive */
    ck_assert_ptr_eq(dt__rtree_lookup(&tree, 24), b);
    ck_assert_ptr_eq(dt__rtree_lookup(&tree, 25), c);   /* in a hole: the next */
    ck_assert_ptr_eq(dt__rtree_lookup(&tree, 39), c);
    ck_assert_ptr_eq(dt__rtree_lookup(&tree, 49), c);
    ck_assert_ptr_null(dt__rtree_lookup(&tree, 50));    /* after all */
    ck_assert_ptr_null(dt__rtree_lookup(&tree, UINTPTR_MAX));
    ck_assert_ptr_eq(dt__rtree_first(&tree), a);
    ck_assert_ptr_eq(dt__rtree_next(a), b);
    ck_assert_ptr_eq(dt__rtree_next(b), c);
    ck_assert_ptr_null(dt__rtree_next(c));
    ck_assert_ptr_eq(dt__rtree_prev(c), b);
    ck_assert_ptr_eq(dt__rtree_prev(b), a);
    ck_assert_ptr_null(dt__rtree_prev(a));
    /* ranges reaching the top of the address space */
    dt__frag *top = mk(UINTPTR_MAX - 10, UINTPTR_MAX);
    dt__rtree_insert(&tree, top);
    ck_assert_int_eq(dt__rtree_check(&tree), 0);
    ck_assert_ptr_eq(dt__rtree_lookup(&tree, 50), top);
    ck_assert_ptr_eq(dt__rtree_lookup(&tree, UINTPTR_MAX - 1), top);
    ck_assert_ptr_null(dt__rtree_lookup(&tree, UINTPTR_MAX));
}
END_TEST

START_TEST(remove_two_children)
{
    dt__frag *m = mk(20, 30), *l = mk(10, 20), *r = mk(30, 40);
    dt__rtree_insert(&tree, m);
    dt__rtree_insert(&tree, l);
    dt__rtree_insert(&tree, r);
    ck_assert_ptr_eq(tree.root, m);
    ck_assert_ptr_eq(m->left, l);
    ck_assert_ptr_eq(m->right, r);
    struct dt__group *rcur = r->cur, *rbar = r->barrier;
    dt__frag *gone = dt__rtree_remove(&tree, m);
    /* the successor's node left; its contents now live in m */
    ck_assert_ptr_eq(gone, r);
    ck_assert_uint_eq(m->start, 30);
    ck_assert_uint_eq(m->end, 40);
    ck_assert_ptr_eq(m->cur, rcur);
    ck_assert_ptr_eq(m->barrier, rbar);
    free(gone);
    ck_assert_int_eq(dt__rtree_check(&tree), 0);
    ck_assert_uint_eq(tree.count, 2);
    ck_assert_ptr_eq(dt__rtree_first(&tree), l);
    ck_assert_ptr_eq(dt__rtree_next(l), m);
    ck_assert_ptr_eq(dt__rtree_lookup(&tree, 35), m);
    ck_assert_ptr_eq(dt__rtree_lookup(&tree, 25), m);
    /* a node with one child or none leaves itself */
    ck_assert_ptr_eq(dt__rtree_remove(&tree, l), l);
    free(l);
    ck_assert_ptr_eq(dt__rtree_remove(&tree, m), m);
    free(m);
    ck_assert_ptr_null(tree.root);
    ck_assert_int_eq(dt__rtree_check(&tree), 0);
}
END_TEST

/* The checker itself must notice broken trees, or the tests above prove nothing. */
START_TEST(check_detects_damage)
{
    for (int k = 0; k < 64; k++) insert_slot(k);
    ck_assert_int_eq(dt__rtree_check(&tree), 0);
    dt__frag *f = tree.root;

    f->height++;
    ck_assert_int_ne(dt__rtree_check(&tree), 0);
    f->height--;

    uintptr_t s = f->start;
    f->start = f->end;                                /* empty range */
    ck_assert_int_ne(dt__rtree_check(&tree), 0);
    f->start = dt__rtree_prev(f)->start;              /* overlaps its neighbour */
    ck_assert_int_ne(dt__rtree_check(&tree), 0);
    f->start = s;

    tree.count++;
    ck_assert_int_ne(dt__rtree_check(&tree), 0);
    tree.count--;

    dt__frag *p = f->left->parent;
    f->left->parent = f->right;
    ck_assert_int_ne(dt__rtree_check(&tree), 0);
    f->left->parent = p;

    /* ordered, heights and count right, but not balanced: a chain of 3 */
    dt__rtree chain = { NULL, 3 };
    dt__frag *a = mk(1, 2), *b = mk(3, 4), *c = mk(5, 6);
    chain.root = a;
    a->right = b; b->parent = a; a->height = 3;
    b->right = c; c->parent = b; b->height = 2;
    c->height = 1;
    ck_assert_int_ne(dt__rtree_check(&chain), 0);
    /* the same three balanced are fine */
    chain.root = b; b->parent = NULL; b->left = a; a->parent = b; a->right = NULL; a->height = 1;
    ck_assert_int_eq(dt__rtree_check(&chain), 0);
    free(a);
    free(b);
    free(c);
}
END_TEST

static Suite *rtree_suite(void)
{
    Suite *s = suite_create("rtree");
    TCase *tc = tu_tcase(s, "rtree");
    tcase_add_loop_test(tc, random_ops, 0, 4);
    tcase_add_loop_test(tc, sorted_inserts, 0, 2);
    tcase_add_test(tc, lookup_semantics);
    tcase_add_test(tc, remove_two_children);
    tcase_add_test(tc, check_detects_damage);
    return s;
}

TU_MAIN(rtree_suite)
