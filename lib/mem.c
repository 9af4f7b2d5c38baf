/* mem.c - dt_dmalloc / dt_lmalloc over one reserved virtual range.
 *
 * The range [base, base + dmem + lmem) is reserved at dt_init, preferably at
 * a fixed address so that every rank of a job can map it at the same place
 * (the cluster layer agrees on the address).  Each region is an arena: a
 * first-fit, address-ordered free list with coalescing, and a bump pointer
 * for space never used.  Blocks carry a 64-byte header, so user memory is
 * cache-line aligned and bad or repeated frees are recognised. */
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include "mem.h"
#include "runtime.h"

#define DT_EXPORT __attribute__((visibility("default")))
#define HDR 64
#define MAGIC_USED 0x6474736b75736564ull   /* "dtskused" */
#define MAGIC_FREE 0x6474736b66726565ull   /* "dtskfree" */
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

typedef struct block {
    size_t size;                /* whole block, header included */
    uint64_t magic;
    struct block *next;         /* free blocks only */
} block;

typedef struct arena {
    pthread_mutex_t lock;
    char *base;
    size_t size, brk;
    block *free;
} arena;

static struct {
    char *base;
    size_t size;
    arena d, l;
} M;

static void arena_init(arena *a, char *base, size_t size)
{
    pthread_mutex_init(&a->lock, NULL);
    a->base = base;
    a->size = size;
    a->brk = 0;
    a->free = NULL;
}

int dt__mem_init(size_t dmem, size_t lmem)
{
    dmem = (dmem + 4095) & ~(size_t)4095;
    lmem = (lmem + 4095) & ~(size_t)4095;
    size_t size = dmem + lmem;
    int prot = PROT_READ | PROT_WRITE, flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
    void *p = MAP_FAILED;
#ifndef __SANITIZE_THREAD__   /* TSan only allows its own application ranges */
    /* a fixed spot far from the heap and the usual mmap area */
    void *want = (void *)(uintptr_t)0x200000000000ull;
    p = mmap(want, size, prot, flags | MAP_FIXED_NOREPLACE, -1, 0);
#endif
    if (p == MAP_FAILED) p = mmap(NULL, size, prot, flags, -1, 0);
    if (p == MAP_FAILED) return DT_ENOMEM;
    M.base = p;
    M.size = size;
    arena_init(&M.d, M.base, dmem);
    arena_init(&M.l, M.base + dmem, lmem);
    return DT_OK;
}

void dt__mem_fini(void)
{
    if (M.base) munmap(M.base, M.size);
    memset(&M, 0, sizeof M);
}

bool dt__mem_contains(uintptr_t addr, size_t size)
{
    uintptr_t b = (uintptr_t)M.base;
    return M.base && addr >= b && size <= M.size && addr - b <= M.size - size;
}

static void *arena_alloc(arena *a, size_t size)
{
    if (size == 0 || size > a->size) return NULL;
    size_t need = ((size + HDR - 1) & ~(size_t)(HDR - 1)) + HDR;
    pthread_mutex_lock(&a->lock);
    block **link = &a->free, *b;
    while ((b = *link) && b->size < need) link = &b->next;
    if (b) {
        if (b->size - need >= 2 * HDR) {
            block *rest = (block *)((char *)b + need);
            rest->size = b->size - need;
            rest->magic = MAGIC_FREE;
            rest->next = b->next;
            *link = rest;
            b->size = need;
        } else {
            *link = b->next;
        }
    } else if (a->size - a->brk >= need) {
        b = (block *)(a->base + a->brk);
        b->size = need;
        a->brk += need;
    } else {
        pthread_mutex_unlock(&a->lock);
        return NULL;
    }
    b->magic = MAGIC_USED;
    b->next = NULL;
    pthread_mutex_unlock(&a->lock);
    return (char *)b + HDR;
}

static int arena_free(arena *a, void *ptr, const char *call)
{
    char *p = ptr;
    pthread_mutex_lock(&a->lock);
    if (p < a->base + HDR || p >= a->base + a->brk || (size_t)(p - a->base) % HDR) {
        pthread_mutex_unlock(&a->lock);
        return dt__error(DT_EINVAL, call, NULL, "%p was not allocated by %s", ptr,
                         a == &M.d ? "dt_dmalloc" : "dt_lmalloc");
    }
    block *b = (block *)(p - HDR);
    if (b->magic != MAGIC_USED) {
        pthread_mutex_unlock(&a->lock);
        return dt__error(DT_EINVAL, call, NULL, "%p is not an allocated block (freed twice?)", ptr);
    }
    b->magic = MAGIC_FREE;
    block **link = &a->free, *prev = NULL;
    while (*link && *link < b) { prev = *link; link = &(*link)->next; }
    b->next = *link;
    *link = b;
    if (b->next && (char *)b + b->size == (char *)b->next) {
        b->size += b->next->size;
        b->next->magic = 0;
        b->next = b->next->next;
    }
    if (prev && (char *)prev + prev->size == (char *)b) {
        prev->size += b->size;
        prev->next = b->next;
        b->magic = 0;
        b = prev;
    }
    /* the last block gives its space back to the bump pointer */
    if ((char *)b + b->size == a->base + a->brk) {
        a->brk -= b->size;
        block **l = &a->free;
        while (*l != b) l = &(*l)->next;
        *l = NULL;
        b->magic = 0;
    }
    pthread_mutex_unlock(&a->lock);
    return DT_OK;
}

static void *alloc_checked(arena *a, size_t size, const char *call)
{
    if (dt__check_running(call)) return NULL;
    if (!size) { dt__error(DT_EINVAL, call, NULL, "size 0"); return NULL; }
    void *p = arena_alloc(a, size);
    if (!p) dt__error(DT_ENOMEM, call, NULL, "%zu bytes (see DT_%cMEM_SIZE)", size, a == &M.d ? 'D' : 'L');
    return p;
}

static int free_checked(arena *a, void *p, const char *call)
{
    int r = dt__check_running(call);
    if (r) return r;
    return p ? arena_free(a, p, call) : DT_OK;
}

DT_EXPORT void *dt_dmalloc(size_t size) { return alloc_checked(&M.d, size, "dt_dmalloc"); }
DT_EXPORT void *dt_lmalloc(size_t size) { return alloc_checked(&M.l, size, "dt_lmalloc"); }
DT_EXPORT int dt_dfree(void *p) { return free_checked(&M.d, p, "dt_dfree"); }
DT_EXPORT int dt_lfree(void *p) { return free_checked(&M.l, p, "dt_lfree"); }
