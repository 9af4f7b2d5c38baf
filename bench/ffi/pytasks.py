#!/usr/bin/python3
"""pytasks.py - tasks per second created from Python, and what a Python task
body costs against a native one (the GIL).

    PYTHONPATH=python /usr/bin/python3 bench/ffi/pytasks.py [N] [rounds]

Each kind of task is created N times in a round, then waited for; rounds
alternate the kinds.  Prints, per kind, the median over the rounds of the
creation rate (tasks/s while creating) and of the time per task until the
wait ends.  Kinds:
  native        memset of 8 bytes through libffi, one inout access each
  native-noacc  the same without accesses
  python        a Python body doing the same 8-byte write (takes the GIL)
"""
import ctypes
import statistics
import sys
import time
from ctypes import c_int, c_size_t, c_void_p

import numpy as np

import dtask

N = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 5

memset = dtask.native("memset", symbol="memset", argtypes=[c_void_p, c_int, c_size_t], restype=c_void_p)


@dtask.pytask
def pyset(a, v):
    a[0] = v


def run(kind, buf):
    slots = [buf[i:i + 1] for i in range(64)]
    acc = [[dtask.INOUT(s)] for s in slots]
    t0 = time.perf_counter()
    if kind == "native":
        for i in range(N):
            memset(slots[i & 63], 1, 8, access=acc[i & 63])
    elif kind == "native-noacc":
        for i in range(N):
            memset(slots[i & 63], 1, 8)
    else:
        for i in range(N):
            pyset(slots[i & 63], 1, access=acc[i & 63])
    t1 = time.perf_counter()
    dtask.taskwait()
    t2 = time.perf_counter()
    return N / (t1 - t0), (t2 - t0) / N * 1e6


def main():
    kinds = ("native", "native-noacc", "python")
    res = {k: [] for k in kinds}
    with dtask.init():
        buf = np.zeros(64)
        run("native", buf)  # warm-up
        for _ in range(ROUNDS):
            for k in kinds:
                buf[:] = 0
                res[k].append(run(k, buf))
                if not np.all(buf.view(np.uint64) != 0):
                    print("pytasks: FAILED: %s tasks did not all run" % k)
                    return 1
        print("pytasks: %d tasks x %d rounds, %d workers, Python %s" %
              (N, ROUNDS, dtask.num_workers(), sys.version.split()[0]))
        for k in kinds:
            rate = statistics.median(r for r, _ in res[k])
            per = statistics.median(p for _, p in res[k])
            print("  %-13s created %8.0f tasks/s, %6.2f us per task until the wait ends" % (k, rate, per))
    return 0


if __name__ == "__main__":
    sys.exit(main())
