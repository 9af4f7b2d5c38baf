/* pool.c - size-class block pools (see pool.h). */
#include <stdatomic.h>
#include <stdlib.h>
#include "base/pool.h"
#include "base/util.h"

/* Four classes per power of two (32, 40, 48, 56, 64, 80, ...): a task
 * record of 1760 bytes takes 1792, not 2048 (the memory of a graph created
 * all at once is first-touch page faults, so rounding costs time too). */
#define NCLASSES ((DT__POOL_MAX_SHIFT - DT__POOL_MIN_SHIFT) * 4 + 1)
/* A batch is about 64 KiB of blocks (at most 256 blocks): one lock round
 * trip per batch.  Up to 64 idle batches (4 MiB) are kept per class: enough
 * for a window of several thousand live tasks between taskwaits. */
#define BATCH_BYTES (64u << 10)
#define BATCH_MAX 256u
#define KEEP_BATCHES 64u

typedef struct node { struct node *next, *next_batch; } node;

typedef struct tls_class {
    node *head;             /* blocks to allocate from */
    node *spill;            /* freed blocks, one batch at most */
    unsigned spill_n;
} tls_class;

typedef struct central {
    dt__spin_t lock;
    _Atomic(node *) batches;    /* stack of full batches */
    unsigned n;
} central;

static DT__TLS tls_class tls[NCLASSES];
static central cent[NCLASSES];

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

void *dt__pool_alloc(size_t size)
{
    if (size > DT__POOL_MAX) return malloc(size);
    unsigned c = class_of(size);
    tls_class *l = &tls[c];
    if (DT__UNLIKELY(!l->head)) {
        if (l->spill) {
            l->head = l->spill;
            l->spill = NULL;
            l->spill_n = 0;
        } else if (atomic_load_explicit(&cent[c].batches, memory_order_relaxed)) {
            dt__spin_lock(&cent[c].lock);
            if ((l->head = atomic_load_explicit(&cent[c].batches, memory_order_relaxed))) {
                atomic_store_explicit(&cent[c].batches, l->head->next_batch, memory_order_relaxed);
                cent[c].n--;
            }
            dt__spin_unlock(&cent[c].lock);
        }
        if (!l->head) return malloc(class_size(c));
    }
    node *n = l->head;
    l->head = n->next;
    return n;
}

static void free_list(node *n)
{
    while (n) { node *x = n; n = n->next; free(x); }
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
    dt__spin_lock(&cent[c].lock);
    bool keep = cent[c].n < KEEP_BATCHES;
    if (keep) {
        l->spill->next_batch = atomic_load_explicit(&cent[c].batches, memory_order_relaxed);
        atomic_store_explicit(&cent[c].batches, l->spill, memory_order_relaxed);
        cent[c].n++;
    }
    dt__spin_unlock(&cent[c].lock);
    if (!keep) free_list(l->spill);
    l->spill = NULL;
    l->spill_n = 0;
}

void dt__pool_thread_exit(void)
{
    for (unsigned c = 0; c < NCLASSES; c++) {
        free_list(tls[c].head);
        free_list(tls[c].spill);
        tls[c] = (tls_class){ 0 };
    }
}

void dt__pool_fini(void)
{
    for (unsigned c = 0; c < NCLASSES; c++) {
        node *b;
        while ((b = atomic_load_explicit(&cent[c].batches, memory_order_relaxed))) {
            atomic_store_explicit(&cent[c].batches, b->next_batch, memory_order_relaxed);
            free_list(b);
        }
        cent[c].n = 0;
    }
}
