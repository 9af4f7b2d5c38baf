/* pool.c - size-class block pools (see pool.h). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include "base/pool.h"
#include "base/util.h"

/* Four classes per power of two (32, 40, 48, 56, 64, 80, ...): a task
 * record of 1760 bytes takes 1792, not 2048 (the memory of a graph created
 * all at once is first-touch page faults, so rounding costs time too). */
#define NCLASSES ((DT__POOL_MAX_SHIFT - DT__POOL_MIN_SHIFT) * 4 + 1)
/* A batch is about 64 KiB of blocks (at most 256 blocks): one lock round
 * trip per batch. */
#define BATCH_BYTES (64u << 10)
#define BATCH_MAX 256u
/* New blocks are carved from 2 MiB slabs that ask for a huge page: a first
 * touch of a 4 KiB page costs 6-12 us on a virtual machine (shadow page
 * tables), and a graph created all at once touches megabytes of new task
 * records (heat's 7680 tasks: 38 ms of creation, 14-27 ms on huge pages).
 * Slab memory never goes back to the system while the process lives: the
 * pools keep the peak, which a program at a steady size reaches once. */
#define SLAB_BYTES ((size_t)2 << 20)

typedef struct node { struct node *next, *next_batch; } node;

typedef struct tls_class {
    node *head;             /* blocks to allocate from */
    node *spill;            /* freed blocks, one batch at most */
    unsigned spill_n;
} tls_class;

typedef struct central {
    dt__spin_t lock;
    _Atomic(node *) batches;    /* stack of full batches */
} central;

static DT__TLS tls_class tls[NCLASSES];
static central cent[NCLASSES];
#ifndef __SANITIZE_ADDRESS__
/* a mutex, not a spinlock: its holder may be in mmap */
static struct { pthread_mutex_t lock; char *cur, *end; } slab = { PTHREAD_MUTEX_INITIALIZER, NULL, NULL };
#endif

static unsigned class_of(size_t size)
{
    if (size <= ((size_t)1 << DT__POOL_MIN_SHIFT)) return 0;
    unsigned long long s = size - 1;
    unsigned k = 63u - (unsigned)__builtin_clzll(s);     /* 2^k <= s < 2^(k+1) */
    return (k - DT__POOL_MIN_SHIFT) * 4 + (unsigned)((s >> (k - 2)) & 3) + 1;
}

static size_t class_size(unsigned c)
{
    if (!c) return (size_t)1 << DT__POOL_MIN_SHIFT;
    unsigned k = (c - 1) / 4 + DT__POOL_MIN_SHIFT, sub = (c - 1) % 4;
    return (size_t)(5 + sub) << (k - 2);
}

static unsigned batch_n(unsigned c)
{
    size_t n = BATCH_BYTES / class_size(c);
    return n > BATCH_MAX ? BATCH_MAX : (unsigned)n;
}

/* batch_n(c) new blocks of class c, linked, or NULL when out of memory */
static node *carve(unsigned c)
{
    size_t stride = (class_size(c) + 15) & ~(size_t)15, n = batch_n(c);
#ifdef __SANITIZE_ADDRESS__
    /* separate blocks, so that AddressSanitizer sees their bounds */
    node *head = NULL;
    for (size_t i = 0; i < n; i++) {
        node *b = malloc(stride);
        if (!b) break;
        b->next = head;
        head = b;
    }
    return head;
#else
    size_t need = stride * n;
    pthread_mutex_lock(&slab.lock);
    if ((size_t)(slab.end - slab.cur) < need) {
        /* twice the size, so that a 2 MiB-aligned slab fits in it */
        char *m = mmap(NULL, 2 * SLAB_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) {
            pthread_mutex_unlock(&slab.lock);
            return NULL;
        }
        char *a = (char *)(((uintptr_t)m + SLAB_BYTES - 1) & ~(uintptr_t)(SLAB_BYTES - 1));
        if (a > m) munmap(m, (size_t)(a - m));
        munmap(a + SLAB_BYTES, (size_t)(m + 2 * SLAB_BYTES - (a + SLAB_BYTES)));
        (void)madvise(a, SLAB_BYTES, MADV_HUGEPAGE);
        slab.cur = a;
        slab.end = a + SLAB_BYTES;
    }
    char *p = slab.cur;
    slab.cur += need;
    pthread_mutex_unlock(&slab.lock);
    for (size_t i = 0; i + 1 < n; i++) ((node *)(p + i * stride))->next = (node *)(p + (i + 1) * stride);
    ((node *)(p + (n - 1) * stride))->next = NULL;
    return (node *)p;
#endif
}

void *dt__pool_alloc(size_t size)
{
    if (size > DT__POOL_MAX) return malloc(size);
    unsigned c = class_of(size);
    tls_class *l = &tls[c];
    node *n;
    if (l->spill) {             /* the last block freed here: still in the cache */
        n = l->spill;
        l->spill = n->next;
        l->spill_n--;
        return n;
    }
    if (DT__UNLIKELY(!l->head)) {
        if (atomic_load_explicit(&cent[c].batches, memory_order_relaxed)) {
            dt__spin_lock(&cent[c].lock);
            if ((l->head = atomic_load_explicit(&cent[c].batches, memory_order_relaxed)))
                atomic_store_explicit(&cent[c].batches, l->head->next_batch, memory_order_relaxed);
            dt__spin_unlock(&cent[c].lock);
        }
        if (!l->head && !(l->head = carve(c))) return NULL;
    }
    n = l->head;
    l->head = n->next;
    return n;
}

static void push_batch(unsigned c, node *b)
{
    dt__spin_lock(&cent[c].lock);
    b->next_batch = atomic_load_explicit(&cent[c].batches, memory_order_relaxed);
    atomic_store_explicit(&cent[c].batches, b, memory_order_relaxed);
    dt__spin_unlock(&cent[c].lock);
}

void dt__pool_free(void *p, size_t size)
{
    if (size > DT__POOL_MAX) { free(p); return; }
    unsigned c = class_of(size);
    tls_class *l = &tls[c];
    node *n = p;
    n->next = l->spill;
    l->spill = n;
    if (DT__LIKELY(++l->spill_n < batch_n(c))) return;
    push_batch(c, l->spill);
    l->spill = NULL;
    l->spill_n = 0;
}

void dt__pool_thread_exit(void)
{
    for (unsigned c = 0; c < NCLASSES; c++) {
        if (tls[c].head) push_batch(c, tls[c].head);
        if (tls[c].spill) push_batch(c, tls[c].spill);
        tls[c] = (tls_class){ 0 };
    }
}
