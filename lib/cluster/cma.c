/* cma.c - transfers between ranks of one node by cross memory attach: the
 * receiver reads the sender's bytes straight into its own with
 * process_vm_readv, an iovec per row, instead of MPI moving them.
 *
 * Why: a 2-D region crossing MPI costs two copies more than its bytes
 * (packed into a contiguous buffer by the sender, unpacked by the
 * receiver, besides MPI's own), or MPI's slow strided path; a row-major
 * tile of Cholesky 2x1 arrived a median 0.45 ms after it was sent against
 * 0.24 ms for a contiguous one (bench/RESULTS.md).  Reading the rows where
 * they are is one copy.  Large contiguous regions come this way too.
 *
 * The protocol, on the transfer's own tag: the sender posts an empty
 * "ready" message once it holds the bytes (transport.c decides when, as for
 * any send), the receiver reads them and answers with an empty "ack" on
 * ack_comm, and the sender's transfer ends there (its bytes must not change
 * or go away while they are read).  Both ends choose this path from what
 * both know: the peer, the tag, and the region as the sender holds it (a
 * receive records it: a staged receive lands somewhere else).
 *
 * Whether it works is probed, not assumed: at start each rank of the node
 * reads a word of every other one (ptrace rules, containers and seccomp can
 * forbid it), and a pair uses it only if both directions worked. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include "cluster/internal.h"

/* iovecs per call: the kernel takes up to IOV_MAX (1024) on each side */
#define CMA_IOV 512

/* What a peer reads to prove it can: a value it also finds in our slot. */
static volatile uint64_t probe_word;

void dt__cl_cma_publish(dt__node_slot *mine)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    probe_word = ((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ 1;
    mine->pid = getpid();
    mine->probe_addr = (uint64_t)(uintptr_t)&probe_word;
    mine->probe_value = probe_word;
}

static bool can_read(const dt__node_slot *peer)
{
    uint64_t got = 0;
    struct iovec loc = { &got, sizeof got }, rem = { (void *)(uintptr_t)peer->probe_addr, sizeof got };
    return peer->pid > 0 && process_vm_readv(peer->pid, &loc, 1, &rem, 1, 0) == (ssize_t)sizeof got &&
           got == peer->probe_value;
}

/* After every rank of the node published (a barrier): which of them this
 * rank can read. */
void dt__cl_cma_probe(void **slot)
{
    dt__node_slot *mine = slot[dt__cl.rank];
    for (int r = 0; r < dt__cl.nranks; r++)
        if (r != dt__cl.rank && slot[r] && can_read(slot[r])) mine->cma_reads |= 1ull << r;
}

/* After every rank probed (a barrier): the pairs that can read each other. */
void dt__cl_cma_agree(void **slot)
{
    const dt__node_slot *mine = slot[dt__cl.rank];
    for (int r = 0; r < dt__cl.nranks; r++) {
        const dt__node_slot *peer = slot[r];
        if (r == dt__cl.rank || !peer) continue;
        if ((mine->cma_reads >> r & 1) && (peer->cma_reads >> dt__cl.rank & 1)) dt__cl.cma_pid[r] = peer->pid;
    }
}

/* How many ranks this one reads by CMA (DT_STATS: 0 where the system forbids it). */
int dt__cl_cma_peers(void)
{
    int n = 0;
    for (int r = 0; r < dt__cl.nranks; r++) n += dt__cl.cma_pid[r] != 0;
    return n;
}

/* Does a transfer with peer of the bytes `src` (as the sender holds them)
 * go this way?  Every 2-D region, and contiguous ones from CMA_MIN bytes:
 * MPI sends those by rendezvous, a message each way as here, and with
 * them Cholesky 2x1 in tile layout ran 1.6% faster and a 16 MiB fetch at
 * 1.00-1.19 of MPI's streaming bandwidth instead of 0.80-0.98
 * (bench/RESULTS.md); a small one goes eager, one message.  taskiter's
 * channels keep MPI (persistent requests). */
#define CMA_MIN ((uint64_t)64 << 10)

bool dt__cl_cma_carries(int peer, const dt__wire_region *src, uint32_t tag)
{
    if (!dt__cl.cma_pid[peer] || tag >= DT__MSG_TAG_ITER0) return false;
    return (src->rows > 1 && src->stride != src->size) || src->rows * src->size >= CMA_MIN;
}

/* Reads `src` of peer's memory into `into` of ours (the same bytes, in rows
 * of their own shapes). */
void dt__cl_cma_read(int peer, const dt__wire_region *src, const dt__wire_region *into)
{
    struct iovec loc[CMA_IOV], rem[CMA_IOV];
    uint64_t srow = 0, soff = 0, drow = 0, doff = 0;
    while (srow < src->rows) {
        int n = 0;
        size_t total = 0;
        /* pairs of equal length: a row of one side, or what is left of it */
        while (n < CMA_IOV && srow < src->rows) {
            uint64_t len = src->size - soff, dleft = into->size - doff;
            if (dleft < len) len = dleft;
            rem[n] = (struct iovec){ (void *)(uintptr_t)(src->addr + srow * src->stride + soff), (size_t)len };
            loc[n] = (struct iovec){ (void *)(uintptr_t)(into->addr + drow * into->stride + doff), (size_t)len };
            n++;
            total += len;
            if ((soff += len) == src->size) srow++, soff = 0;
            if ((doff += len) == into->size) drow++, doff = 0;
        }
        ssize_t got = process_vm_readv(dt__cl.cma_pid[peer], loc, (unsigned long)n, rem, (unsigned long)n, 0);
        if (got != (ssize_t)total)
            dt__fatal("reading %zu bytes of [%#llx: %llu rows of %llu bytes, stride %llu] from rank %d (pid %d): %s",
                total, (unsigned long long)src->addr, (unsigned long long)src->rows, (unsigned long long)src->size,
                (unsigned long long)src->stride, peer, (int)dt__cl.cma_pid[peer],
                got < 0 ? strerror(errno) : "short read");
    }
    atomic_fetch_add_explicit(&dt__cl.n_cma, 1, memory_order_relaxed);
}
