/* stage.c - contiguous buffers for bytes on their way between a region and
 * MPI: pushed bytes that wait to be applied (vcache.c), and 2-D regions
 * packed for a send or unpacked after a receive (transport.c).
 *
 * Buffers are kept for the next transfer instead of freed: a fresh one
 * costs a page fault per 4 KiB on its first touch (~12 us each on the
 * 2-core VM of bench/RESULTS.md, 1.5 ms per 512 KiB tile, taken inside the
 * receive), and a stolen task waited 5-25 ms for the staged tiles of its
 * relay.  Power-of-two classes, at most STAGE_KEEP bytes kept. */
#include <pthread.h>
#include "cluster/internal.h"
#include "mem/mem.h"

#define STAGE_KEEP ((size_t)64 << 20)

static struct {
    pthread_mutex_t lock;
    void *free[64];             /* by class: the next one is in the first word */
    size_t kept;
} stage = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int stage_class(size_t bytes)
{
    return bytes <= 4096 ? 12 : 64 - __builtin_clzll((unsigned long long)bytes - 1);
}

/* A new buffer, its pages faulted in by one call (a 512 KiB tile's: ~2 ms
 * touched page by page -> ~0.1 ms; a task stolen by rank 0 in Cholesky 2x1
 * waited that long for each of its inputs' first buffers). */
static void *fresh(size_t bytes)
{
    void *p = dt__xmalloc(bytes);
    dt__mem_populate((uintptr_t)p, bytes);
    return p;
}

void *dt__cl_stage_get(size_t bytes)
{
    int c = stage_class(bytes);
    pthread_mutex_lock(&stage.lock);
    void *p = stage.free[c];
    if (p) {
        stage.free[c] = *(void **)p;
        stage.kept -= (size_t)1 << c;
    }
    pthread_mutex_unlock(&stage.lock);
    return p ? p : fresh((size_t)1 << c);
}

void dt__cl_stage_put(void *p, size_t bytes)
{
    int c = stage_class(bytes);
    pthread_mutex_lock(&stage.lock);
    bool keep = stage.kept + ((size_t)1 << c) <= STAGE_KEEP;
    if (keep) {
        *(void **)p = stage.free[c];
        stage.free[c] = p;
        stage.kept += (size_t)1 << c;
    }
    pthread_mutex_unlock(&stage.lock);
    if (!keep) free(p);
}

void dt__cl_stage_free_all(void)
{
    pthread_mutex_lock(&stage.lock);
    for (int c = 0; c < 64; c++)
        while (stage.free[c]) {
            void *p = stage.free[c];
            stage.free[c] = *(void **)p;
            free(p);
        }
    stage.kept = 0;
    pthread_mutex_unlock(&stage.lock);
}
