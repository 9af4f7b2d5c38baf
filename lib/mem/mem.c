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
#include <unistd.h>
#include "base/env.h"
#include "core/hooks.h"
#include "mem/mem.h"
#include "core/runtime.h"

#define DT__EXPORT __attribute__((visibility("default")))
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

/* live dt_dmalloc blocks, sorted by address, for home ranks */
typedef struct span { uintptr_t start; size_t size; } span;

static struct {
    char *base;
    size_t size, dsize, lsize;
    arena d, l;
    span *spans;
    size_t nspans, capspans;
} M;

static void arena_init(arena *a, char *base, size_t size)
{
    pthread_mutex_init(&a->lock, NULL);
    a->base = base;
    a->size = size;
    a->brk = 0;
    a->free = NULL;
}

static void *map_at(void *want, size_t size)
{
    int prot = PROT_READ | PROT_WRITE, flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
    void *p = mmap(want, size, prot, want ? flags | MAP_FIXED_NOREPLACE : flags, -1, 0);
    if (p == MAP_FAILED) return NULL;
    if (want && p != want) {            /* a kernel without MAP_FIXED_NOREPLACE took it as a hint */
        munmap(p, size);
        return NULL;
    }
    return p;
}

static size_t dmem_setting, lmem_setting;
static int hugepages_setting;

int dt__mem_configure(void)
{
    int r;
    dmem_setting = 1ull << 30;
    lmem_setting = 256ull << 20;
    if ((r = dt__env_size("DT_DMEM_SIZE", &dmem_setting)) < 0) return r;
    if ((r = dt__env_size("DT_LMEM_SIZE", &lmem_setting)) < 0) return r;
    hugepages_setting = 1;
    if ((r = dt__env_bool("DT_HUGEPAGES", &hugepages_setting)) < 0) return r;
    return DT_OK;
}

int dt__mem_init(int rank, int nranks)
{
    size_t dmem = dmem_setting, lmem = lmem_setting;
    dmem = (dmem + 4095) & ~(size_t)4095;
    lmem = (lmem + 4095) & ~(size_t)4095;
    size_t size = dmem + lmem * (size_t)nranks;
    char *p = NULL;
    /* Rank 0 proposes an address, everybody tries to map there; on any
     * failure all let go and rank 0 proposes the next one.  Rank 0 keeps
     * the ranges that failed until the end, so that an address the kernel
     * chooses is not proposed twice (under TSan it always chooses). */
    enum { ATTEMPTS = 64 };
    void *failed[ATTEMPTS];
    int nfailed = 0;
    for (int attempt = 0; attempt < ATTEMPTS && !p; attempt++) {
        uintptr_t want = 0;
        if (rank == 0) {
#ifdef __SANITIZE_THREAD__      /* TSan only allows its own application ranges */
            p = map_at(NULL, size);
#else
            for (; attempt < ATTEMPTS && !p; attempt++)
                p = map_at((void *)(uintptr_t)(0x200000000000ull + (uint64_t)attempt * 0x10000000000ull), size);
            attempt--;
            if (!p) p = map_at(NULL, size);
#endif
            want = (uintptr_t)p;
        }
        if (nranks == 1) break;
        want = (uintptr_t)dt__plug.bcast_u64(want);
        if (!want) return DT_ENOMEM;
        if (rank != 0) p = map_at((void *)want, size);
        if (!dt__plug.all(p != NULL)) {
            if (p && rank == 0) failed[nfailed++] = p;     /* one per attempt at most */
            else if (p) munmap(p, size);
            p = NULL;
        }
    }
    while (nfailed) munmap(failed[--nfailed], size);
    if (!p) return DT_ENOMEM;
    /* Data fetched from another rank lands in pages this rank never
       touched: with 4 KiB pages each costs a fault inside the receive
       (measured: 7.7 us per page, ~1 ms per 512 KiB tile, on the progress
       thread's CPU, taken from the workers).  2 MiB pages fault 512 times
       less often and spare the TLB in the tasks' kernels. */
    if (hugepages_setting) (void)madvise(p, size, MADV_HUGEPAGE);
    M.base = p;
    M.size = size;
    M.dsize = dmem;
    M.lsize = lmem;
    arena_init(&M.d, M.base, dmem);
    arena_init(&M.l, M.base + dmem + lmem * (size_t)rank, lmem);
    return DT_OK;
}

static void spans_add(uintptr_t start, size_t size)
{
    if (M.nspans == M.capspans) {
        M.capspans = M.capspans ? M.capspans * 2 : 64;
        M.spans = realloc(M.spans, sizeof *M.spans * M.capspans);
        if (!M.spans) dt__fatal("out of memory");
    }
    size_t i = M.nspans;
    while (i > 0 && M.spans[i - 1].start > start) { M.spans[i] = M.spans[i - 1]; i--; }
    M.spans[i] = (span){ start, size };
    M.nspans++;
}

static void spans_remove(uintptr_t start)
{
    for (size_t i = 0; i < M.nspans; i++) {
        if (M.spans[i].start != start) continue;
        memmove(&M.spans[i], &M.spans[i + 1], sizeof *M.spans * (M.nspans - i - 1));
        M.nspans--;
        return;
    }
}

int dt__mem_home(uintptr_t addr, int nranks)
{
    uintptr_t b = (uintptr_t)M.base;
    if (!M.base || addr < b || addr - b >= M.size) return 0;
    if (addr - b >= M.dsize) return (int)((addr - b - M.dsize) / M.lsize);
    pthread_mutex_lock(&M.d.lock);
    size_t lo = 0, hi = M.nspans;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (M.spans[mid].start <= addr) lo = mid + 1; else hi = mid;
    }
    int home = 0;
    if (lo > 0 && addr < M.spans[lo - 1].start + M.spans[lo - 1].size) {
        size_t block = (M.spans[lo - 1].size + (size_t)nranks - 1) / (size_t)nranks;
        home = (int)((addr - M.spans[lo - 1].start) / block);
    }
    pthread_mutex_unlock(&M.d.lock);
    return home;
}

void dt__mem_fini(void)
{
    if (M.base) munmap(M.base, M.size);
    free(M.spans);
    memset(&M, 0, sizeof M);
}

bool dt__mem_contains(uintptr_t addr, size_t size)
{
    uintptr_t b = (uintptr_t)M.base;
    return M.base && addr >= b && size <= M.size && addr - b <= M.size - size;
}

bool dt__mem_in_lmem(uintptr_t addr, size_t size)
{
    return dt__mem_contains(addr, size) && addr - (uintptr_t)M.base >= M.dsize;
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
    if (a == &M.d) spans_add((uintptr_t)b + HDR, b->size - HDR);
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
    size_t freed = b->size - HDR;
    if (a == &M.d) spans_remove((uintptr_t)p);
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
    /* outside the arena lock: placement takes the two locks the other way round */
    if (dt__hooks.freed) dt__hooks.freed((uintptr_t)p, freed);
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

DT__EXPORT void *dt_dmalloc(size_t size)
{
    /* the distributed heap's bookkeeping lives with rank 0's program */
    if (dt__offloading() && dt__rt.rank != 0) {
        dt__error(DT_EINVAL, "dt_dmalloc", NULL, "only rank 0's program allocates distributed memory");
        return NULL;
    }
    return alloc_checked(&M.d, size, "dt_dmalloc");
}
DT__EXPORT void *dt_lmalloc(size_t size) { return alloc_checked(&M.l, size, "dt_lmalloc"); }
DT__EXPORT int dt_dfree(void *p) { return free_checked(&M.d, p, "dt_dfree"); }
DT__EXPORT int dt_lfree(void *p) { return free_checked(&M.l, p, "dt_lfree"); }

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
void dt__mem_populate(uintptr_t addr, size_t len)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), s = addr & ~(page - 1), e = (addr + len + page - 1) & ~(page - 1);
    if (e > s) (void)madvise((void *)s, e - s, MADV_POPULATE_WRITE);
}
