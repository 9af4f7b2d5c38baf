"""Run by test_ranks.py under mpiexec.mpich -n 2: every rank registers the
same types, rank 0 runs app, which sends native and Python tasks to each rank
in turn and checks the results and where the tasks ran."""
import ctypes
import sys
from ctypes import c_double, c_int, c_void_p

import numpy as np

import dtask

ctypes.CDLL("libopenblas.so.0", mode=ctypes.RTLD_GLOBAL)
daxpy = dtask.native("daxpy", symbol="cblas_daxpy", argtypes=[c_int, c_double, c_void_p, c_int, c_void_p, c_int])


@dtask.pytask
def where(w, i, y):
    w[i] = dtask.rank()
    y *= 2  # the same memory as rank 0's view


def app(fail=False):
    if fail:
        raise RuntimeError("app failed on purpose")
    nr = dtask.num_ranks()
    n = 1000
    x, y = dtask.dmalloc(4 * n), dtask.dmalloc(4 * n)
    w_py = dtask.dmalloc(4, dtype=np.int32)
    x[:] = np.arange(4 * n) % 11
    y[:] = 1
    for b in range(4):
        s = slice(b * n, (b + 1) * n)
        daxpy(n, 2.0, x[s], 1, y[s], 1, access=[dtask.IN(x[s]), dtask.INOUT(y[s])], node=b % nr)
        where(w_py, b, y[s], access=[dtask.OUT(w_py[b:b + 1]), dtask.INOUT(y[s])], node=b % nr)
        # native again, so that its result comes after the Python task's
        daxpy(n, 1.0, x[s], 1, y[s], 1, access=[dtask.IN(x[s]), dtask.INOUT(y[s])], node=b % nr)
    dtask.taskwait()
    want = (1 + 2 * x) * 2 + x
    if not np.array_equal(y, want):
        print("ranks_app: WRONG y", flush=True)
        return 1
    print("ranks_app: ok (%d ranks, Python tasks ran on %s)" % (nr, list(w_py)), flush=True)
    return 0


sys.exit(dtask.main(app, sys.argv[1:2]))
