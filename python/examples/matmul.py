#!/usr/bin/python3
"""matmul.py - tiled matrix product C += A @ B whose tasks are OpenBLAS's
cblas_dgemm, called by libdtask through libffi (no C glue, no GIL in tasks).

A, B and C are row-major N x N float64 matrices in dt_dmalloc memory. One task
per tile triple (i, j, k) reads the 2-D regions A[i,k] and B[k,j] and updates
C[i,j]; the k updates of one C tile are ordered by their inout accesses. The
result is checked against numpy.

    /usr/bin/python3 python/examples/matmul.py [N] [B]
    mpiexec.mpich -n 2 /usr/bin/python3 python/examples/matmul.py [N] [B]

Every rank registers the task type and calls dtask.main; rank 0 runs app().
With PYTHONPATH=python in the tree (or the installed package on PYTHONPATH).
"""
import ctypes
import os
import sys
import time
from ctypes import c_double, c_int, c_void_p

# one BLAS thread per task: libdtask's workers are the parallelism
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402

import dtask  # noqa: E402

# RTLD_GLOBAL: dlsym(RTLD_DEFAULT, "cblas_dgemm") finds it on every rank
ctypes.CDLL("libopenblas.so.0", mode=ctypes.RTLD_GLOBAL)
ROW_MAJOR, NO_TRANS = 101, 111
# void cblas_dgemm(order, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
dgemm = dtask.native("dgemm", symbol="cblas_dgemm",
                     argtypes=[c_int, c_int, c_int, c_int, c_int, c_int, c_double, c_void_p, c_int,
                               c_void_p, c_int, c_double, c_void_p, c_int])


def multiply(A, B, C, bs):
    """C += A @ B, one dgemm task per tile triple."""
    n = A.shape[0]
    nt = (n + bs - 1) // bs
    tiles = [slice(t * bs, min(n, (t + 1) * bs)) for t in range(nt)]
    for i in tiles:
        for j in tiles:
            c = C[i, j]
            for k in tiles:
                a, b = A[i, k], B[k, j]
                dgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, c.shape[0], c.shape[1], a.shape[1], 1.0,
                      a, n, b, n, 1.0, c, n,
                      access=[dtask.IN(a), dtask.IN(b), dtask.INOUT(c)], label="dgemm")
    dtask.taskwait()


def app(n, bs):
    rng = np.random.default_rng(1)
    A, B, C = dtask.dmalloc((n, n)), dtask.dmalloc((n, n)), dtask.dmalloc((n, n))
    A[:] = rng.uniform(-1, 1, (n, n))
    B[:] = rng.uniform(-1, 1, (n, n))
    C[:] = rng.uniform(-1, 1, (n, n))
    want = C + A @ B
    t0 = time.perf_counter()
    multiply(A, B, C, bs)
    t = time.perf_counter() - t0
    err = np.max(np.abs(C - want)) / max(1.0, np.max(np.abs(want)))
    ok = err < 1e-12 * n
    print("matmul.py: N=%d B=%d %d ranks %d workers: %.3f s, %.2f GFLOP/s, max rel. error %.1e %s"
          % (n, bs, dtask.num_ranks(), dtask.num_workers(), t, 2.0 * n ** 3 / t / 1e9, err,
             "ok" if ok else "WRONG"))
    for M in (A, B, C):
        dtask.dfree(M)
    return 0 if ok else 1


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    n = args[0] if args else 512
    bs = min(n, args[1] if len(args) > 1 else 128)
    sys.exit(dtask.main(app, [n, bs]))
